"""Reproducible measurements on real data (run as ``python -m neural_trader.experiments.<name>``)."""
