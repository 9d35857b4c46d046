"""Side-by-side benchmarks that print ratios (Rust kernels and native engine vs numpy, PyTorch, memcpy)."""
