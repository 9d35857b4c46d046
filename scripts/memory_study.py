"""Peak memory and time of ``neural-trader train`` on generated data (issue 15, windows in constant memory).

Two studies, each generating its data once (cached under ``--data-dir``) and running the command in a
subprocess whose peak resident memory is read from its own ``/proc/self/status`` (``VmHWM``) as it exits:

* ``panel``: a folder of ``--symbols`` files of ``--bars`` daily bars each (default 200 x 5,000 = 1M rows);
  runs ``train`` for one epoch and reports peak RSS, the epoch's seconds (``history.json``) and the wall time.
* ``minute``: one CSV file of ``--rows`` minute bars (default 10M); reports loading the bars alone, then
  the bars with features and labels (``load_series``, what ``train`` does first), each in a child of its
  own with its seconds and peak RSS, then ``train`` for one epoch as above.

* ``batches``: the data path alone on the panel: seconds to draw one epoch of shuffled training batches
  gathered per batch, materialised, and materialised in a ``TensorDataset`` (how ``train`` read windows
  before they were gathered); needs this checkout's code (``--code`` is ignored).

A baseline child that only imports what every run imports (:data:`BASELINE`) is measured too, so the
table shows what the data adds. Run it against another checkout with ``--code /path/to/python``.

Example::

    PYTHONPATH=python python scripts/memory_study.py panel
    PYTHONPATH=python python scripts/memory_study.py panel --code /work/main/python   # the code before
    PYTHONPATH=python python scripts/memory_study.py minute --rows 10000000 --window 32 --hidden-size 16

``VmHWM`` is the high-water mark of the child's own address space, which starts afresh at ``exec``: unlike
``getrusage(RUSAGE_CHILDREN)``, it never includes the parent's memory (a ``vfork``-ed child inherits the
parent's high-water mark in ``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

# Runs a module as ``python -m`` would and, as the process exits, writes the peak RSS (kB) of its own
# address space to the file named by NT_PEAK_RSS_FILE.
_LAUNCHER = """
import atexit, os, runpy, sys
def _report():
    with open('/proc/self/status') as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith('VmHWM:'))
    with open(os.environ['NT_PEAK_RSS_FILE'], 'w') as f:
        f.write(str(kb))
atexit.register(_report)
if sys.argv[1] == '-c':
    exec(sys.argv[2])
else:
    sys.argv = sys.argv[1:]
    runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)
"""

#: What every ``train`` run loads before it reads any data: the package, torch, and torch._dynamo, which
#: torch imports when the first optimiser is built (about 150 MB).
BASELINE = ["-c", "import neural_trader.workflows, torch._dynamo"]

# Loads one bar file as ``train`` does, in two children: the bars alone (``load_ohlcv``), then the bars
# with their features and labels (``load_series``); each reports its seconds and peak RSS (MB).
_PHASE = """
import json, sys, time
import neural_trader.data as d
t = time.perf_counter()
getattr(d, sys.argv[1])(sys.argv[2], **json.loads(sys.argv[3]))
seconds = time.perf_counter() - t
with open('/proc/self/status') as f:
    peak = next(int(line.split()[1]) for line in f if line.startswith('VmHWM:')) / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak}))
"""


# Draws one epoch of shuffled training batches of a bars folder, without a model, three ways: gathered per
# batch (what ``train`` does with large data), the same windows materialised (what it does with small
# data), and materialised in a TensorDataset with DataLoader(shuffle=True), what ``train`` did before.
_BATCHES = """
import json, sys, time
import numpy as np, torch
from torch.utils.data import DataLoader, TensorDataset
from neural_trader.data import DataSpec, WindowBatches, batch_loader, fit_scaler, load_series
from neural_trader.workflows import choose_splits
from neural_trader.workflows.train import part_windows, pool
path, window, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
series = load_series(path, 5)
splits, _ = choose_splits(series, horizon=5, split_file=None, fold=None)
spec = DataSpec(window=window, horizon=5)
scaler = fit_scaler(series, {k: s.train for k, s in splits.items()}, spec)
train = pool({"train": part_windows(series, spec, scaler, splits)["train"]}, gather=True)["train"]
def epoch(loader):
    t = time.perf_counter()
    for x, y in loader:
        pass
    return time.perf_counter() - t
out = {"windows": len(train), "gathered_s": epoch(batch_loader(train, batch, seed=0))}
x = np.asarray(train.x)
out["materialised_s"] = epoch(batch_loader(WindowBatches(x, train.y), batch, seed=0))
tensors = TensorDataset(torch.from_numpy(x), torch.from_numpy(train.y))
generator = torch.Generator().manual_seed(0)
out["tensor_dataset_s"] = epoch(DataLoader(tensors, batch_size=batch, shuffle=True, generator=generator))
print(json.dumps(out))
"""


def synthetic_bars(
    n_rows: int, *, freq: str = "B", start: str = "2000-01-03", vol: float = 0.01, seed: int = 0
) -> pd.DataFrame:
    """A driftless geometric random walk of valid OHLCV bars (``low <= min(open, close)``,
    ``high >= max(open, close)``), ``vol`` the standard deviation of one bar's log return.

    Example:
        >>> synthetic_bars(3).columns.tolist()
        ['open', 'high', 'low', 'close', 'volume']
    """
    rng = np.random.default_rng(seed)
    log_close = np.log(100.0) + np.cumsum(rng.normal(0.0, vol, n_rows))
    close = np.exp(log_close)
    open_ = np.exp(np.concatenate([[log_close[0]], log_close[:-1]]) + rng.normal(0, vol / 5, n_rows))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, vol / 2, n_rows)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, vol / 2, n_rows)))
    volume = np.round(rng.lognormal(12.0, 0.5, n_rows))
    index = pd.date_range(start, periods=n_rows, freq=freq, name="timestamp")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index)


def write_panel(folder: Path, symbols: int, bars: int, seed: int = 0) -> Path:
    """``symbols`` CSV files of ``bars`` daily bars in ``folder`` (kept when already complete)."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(symbols):
        path = folder / f"sym{k:04d}.csv"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            synthetic_bars(bars, seed=seed + k).to_csv(tmp, float_format="%.6f")
            tmp.rename(path)
    return folder


def write_minute_file(path: Path, rows: int, seed: int = 0, chunk: int = 1_000_000) -> Path:
    """One CSV file of ``rows`` minute bars, written in chunks (kept when it exists)."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    bars = synthetic_bars(rows, freq="min", vol=0.0005, seed=seed)
    tmp = path.with_suffix(".tmp")
    for lo in range(0, rows, chunk):
        bars.iloc[lo : lo + chunk].to_csv(tmp, float_format="%.6f", mode="a" if lo else "w", header=lo == 0)
    tmp.rename(path)
    return path


def peak_rss_mb(
    module_args: list[str], *, code: str | None = None, env: dict[str, str] | None = None
) -> tuple[float, float, str]:
    """Runs ``python -m <module_args>`` (or ``python -c CODE`` for ``["-c", CODE]``) in a child; returns
    ``(peak RSS in MB, wall seconds, output)``.

    ``code`` is the ``PYTHONPATH`` of the package to measure (default: the current one).

    Raises:
        RuntimeError: the child failed (its output is in the message).
    """
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "peak_kb"
        child_env = {**os.environ, **(env or {}), "NT_PEAK_RSS_FILE": str(report)}
        if code is not None:
            child_env["PYTHONPATH"] = code
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, *module_args],
            env=child_env,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0 or not report.exists():
            raise RuntimeError(f"{' '.join(module_args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return int(report.read_text()) / 1024, seconds, done.stdout


def train_args(data: Path, out: Path, a: argparse.Namespace) -> list[str]:
    """The ``neural-trader train`` command line of a study."""
    return [
        "neural_trader.cli",
        "train",
        "--model",
        a.model,
        "--data",
        str(data),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--window",
        str(a.window),
        "--hidden-size",
        str(a.hidden_size),
        "--num-layers",
        str(a.num_layers),
        "--batch-size",
        str(a.batch_size),
        "--device",
        "cpu",
        "--no-progress",
    ]


def run_train(data: Path, a: argparse.Namespace) -> dict[str, float | str]:
    """Peak RSS and times of one ``train`` run."""
    with tempfile.TemporaryDirectory() as out:
        peak, wall, stdout = peak_rss_mb(train_args(data, Path(out), a), code=a.code)
        epoch = json.loads((Path(out) / "history.json").read_text())
        records = epoch["records"] if isinstance(epoch, dict) else epoch
    windows = next((ln.split(None, 1)[1] for ln in stdout.splitlines() if ln.startswith("windows")), "")
    return {"peak_mb": peak, "wall_s": wall, "epoch_s": float(records[0]["seconds"]), "windows": windows}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("study", choices=("panel", "minute", "batches"))
    p.add_argument("--symbols", type=int, default=200)
    p.add_argument("--bars", type=int, default=5000)
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--model", default="bilstm_classifier")
    p.add_argument("--window", type=int, default=64)
    p.add_argument("--hidden-size", type=int, default=32)
    p.add_argument("--num-layers", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--code", help="PYTHONPATH of the package to measure (default: this one)")
    p.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "nt_memory_study"))
    p.add_argument("--skip-train", action="store_true", help="minute: measure load and features only")
    a = p.parse_args(argv)
    root = Path(a.data_dir)
    result: dict[str, object] = {"study": a.study, "code": a.code or os.environ.get("PYTHONPATH", "")}
    if a.study == "batches":
        data = write_panel(root / f"panel_{a.symbols}x{a.bars}", a.symbols, a.bars)
        command = [sys.executable, "-c", _BATCHES, str(data), str(a.window), str(a.batch_size)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        result.update(json.loads(done.stdout.strip().splitlines()[-1]))
        result["sizes"] = f"window {a.window}, batch {a.batch_size}"
        print(json.dumps(result, indent=1))
        return 0
    result["baseline_mb"] = peak_rss_mb(BASELINE, code=a.code)[0]
    if a.study == "panel":
        data = write_panel(root / f"panel_{a.symbols}x{a.bars}", a.symbols, a.bars)
        result["rows"] = a.symbols * a.bars
    else:
        data = write_minute_file(root / f"minute_{a.rows}.csv", a.rows)
        result["rows"] = a.rows
        env = {**os.environ, **({"PYTHONPATH": a.code} if a.code else {})}
        for phase, function, kwargs in (("load", "load_ohlcv", {}), ("rows", "load_series", {"horizon": 5})):
            command = [sys.executable, "-c", _PHASE, function, str(data), json.dumps(kwargs)]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            for key, value in json.loads(done.stdout.strip().splitlines()[-1]).items():
                result[f"{phase}_{key}"] = value
    if not a.skip_train:
        result.update(run_train(data, a))
    result["sizes"] = (
        f"{a.model}, window {a.window}, hidden {a.hidden_size}, layers {a.num_layers}, batch {a.batch_size}"
    )
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
