"""Faults injected into a ``neural-trader`` subprocess by the tests, and only by them: this folder is put
on the child's ``PYTHONPATH`` so Python imports this file at start-up.

``NT_TEST_KILL_AFTER_EPOCH=N``: the process kills itself with SIGKILL right after the trainer wrote the
resume file of epoch ``N``, as a user's ``kill -9`` (or the machine's out-of-memory killer) would.
"""

from __future__ import annotations

import os
import signal

_EPOCH = os.environ.get("NT_TEST_KILL_AFTER_EPOCH")

if _EPOCH:
    from neural_trader.training import trainer as _trainer

    _save_state = _trainer.Trainer.save_state

    def _save_then_die(self, path, train_loader=None):  # type: ignore[no-untyped-def]
        _save_state(self, path, train_loader)
        if self.epoch == int(_EPOCH):
            os.kill(os.getpid(), signal.SIGKILL)

    _trainer.Trainer.save_state = _save_then_die  # type: ignore[method-assign]
