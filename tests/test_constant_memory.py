"""Windows in constant memory: ``neural-trader train`` on a generated panel holds the feature rows, never
every window, so its peak memory is bounded by the data's rows times columns, whatever the window length.

The peak resident memory of the ``train`` subprocess is read from its own ``/proc/self/status`` (``VmHWM``)
by ``scripts/memory_study.py``; the bound adds to the peak of a subprocess that only imports what ``train``
imports (the package, torch, torch._dynamo) a multiple of the data's size and a constant for the model,
its optimiser and a few batches. Nothing here is timed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import neural_trader

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "scripts" / "memory_study.py"
SYMBOLS, BARS, WINDOW = 50, 4000, 64
#: Float64 columns per row that ``train`` keeps: 28 features, 5 OHLCV bars, 3 labels.
COLUMNS = 28 + 5 + 3
#: Bound = baseline + FACTOR x rows x COLUMNS x 8 bytes + SLACK_MB (the model, optimiser, the activations
#: of a batch and allocator slack, which do not grow with the data).
FACTOR, SLACK_MB = 3.0, 150.0


def _study():
    spec = importlib.util.spec_from_file_location("memory_study", STUDY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak from /proc (Linux)")
def test_train_peak_memory_grows_with_rows_times_columns_not_with_the_window(tmp_path):
    study = _study()
    folder = study.write_panel(tmp_path / "panel", SYMBOLS, BARS)
    code = str(Path(neural_trader.__file__).resolve().parents[1])  # the package under test
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    baseline_mb, _, _ = study.peak_rss_mb(study.BASELINE, code=code, env=env)
    args = [
        "neural_trader.cli",
        "train",
        "--model",
        "bilstm_classifier",
        "--data",
        str(folder),
        "--out",
        str(tmp_path / "run"),
        "--epochs",
        "1",
        "--window",
        str(WINDOW),
        "--hidden-size",
        "8",
        "--num-layers",
        "1",
        "--batch-size",
        "512",
        "--device",
        "cpu",
        "--no-progress",
    ]
    peak_mb, _, out = study.peak_rss_mb(args, code=code, env=env)
    assert (tmp_path / "run" / "best.safetensors").exists(), out
    data_mb = SYMBOLS * BARS * COLUMNS * 8 / 2**20
    bound_mb = baseline_mb + FACTOR * data_mb + SLACK_MB
    # What materialising every window would add (about 195k windows of 64 x 28 float32: 1.4 GB).
    windows_mb = SYMBOLS * (BARS - 49 - WINDOW) * WINDOW * 28 * 4 / 2**20
    assert bound_mb < baseline_mb + windows_mb / 2  # the bound could not hold the windows
    assert peak_mb <= bound_mb, (
        f"train peaked at {peak_mb:.0f} MB: more than the {baseline_mb:.0f} MB of the imports plus "
        f"{FACTOR} x {data_mb:.0f} MB of data plus {SLACK_MB:.0f} MB ({bound_mb:.0f} MB)"
    )
