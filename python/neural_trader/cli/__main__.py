"""``python -m neural_trader.cli``: the same as the ``neural-trader`` script."""

import sys

from neural_trader.cli import main

sys.exit(main())
