"""Kills a process with SIGKILL while it saves checkpoints, many times, and checks what is left on disk.

Run as a script (``python rel_kill_saves.py ITERATIONS SEED``); prints one JSON line per writer:

* ``torch``: ``model.save`` (the PyTorch twin), ``native``: ``NativeModel.save`` (the Rust engine), and
  ``naive``: a plain ``open(path, "wb").write`` in chunks, the control that shows the check can fail.

For each iteration a child is forked that saves two versions (A, B) of a model to the same path in a
loop, as fast as it can; the parent waits a random time (up to three save durations, so kills land in
every phase of a save), kills the child with SIGKILL and reads the file. It must be exactly version A
or B, tensor for tensor: never a partial file, never a mix. A temporary file left beside it shows the
kill landed inside a save (between creating the temporary file and the rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

import neural_trader as nt


def digest(data: bytes) -> str | None:
    """A digest of the tensors (names, shapes, values) of safetensors bytes, or None if unreadable."""
    try:
        ck = nt.Checkpoint.from_bytes(data)
    except Exception:  # noqa: BLE001 (any failure to parse is a corrupt file here)
        return None
    h = hashlib.sha256()
    for name in sorted(ck.tensors):
        t = ck.tensors[name].contiguous()
        h.update(name.encode() + str(tuple(t.shape)).encode() + t.numpy().tobytes())
    return h.hexdigest()


def writers(
    a: nt.BiLSTMClassifier, b: nt.BiLSTMClassifier
) -> dict[str, tuple[Callable[[Path], None], Callable[[Path], None]]]:
    ea, eb = a.to_native(threads=1), b.to_native(threads=1)
    ba, bb = a.to_checkpoint().to_bytes(), b.to_checkpoint().to_bytes()

    def naive(data: bytes) -> Callable[[Path], None]:
        def write(path: Path) -> None:
            with open(path, "wb") as f:
                for i in range(0, len(data), 1 << 16):
                    f.write(data[i : i + (1 << 16)])
                    f.flush()
                os.fsync(f.fileno())

        return write

    return {
        "torch": (a.save, b.save),
        "native": (ea.save, eb.save),
        "naive": (naive(ba), naive(bb)),
    }


def trial(
    kind: str,
    save_a: Callable,
    save_b: Callable,
    path: Path,
    iterations: int,
    rng: random.Random,
    want: dict[str, str],
) -> dict:
    save_a(path)
    t0 = time.perf_counter()
    for _ in range(3):
        save_b(path)
        save_a(path)
    save_s = (time.perf_counter() - t0) / 6
    counts = {"A": 0, "B": 0, "corrupt": 0, "mid_save": 0}
    bad: list[str] = []
    for i in range(iterations):
        pid = os.fork()
        if pid == 0:  # child: save B, A, B, ... until killed
            try:
                while True:
                    save_b(path)
                    save_a(path)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, 3 * save_s))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        leftovers = [p for p in path.parent.iterdir() if p.name != path.name]
        counts["mid_save"] += bool(leftovers)
        for p in leftovers:
            p.unlink()
        got = digest(path.read_bytes())
        version = next((k for k, v in want.items() if v == got), None)
        if version is None:
            counts["corrupt"] += 1
            bad.append(f"iteration {i}: {path.stat().st_size} bytes, not version A or B")
            save_a(path)  # start the next iteration from a complete file
        else:
            counts[version] += 1
    # The surviving file also loads in both twins (after the last fork: the engine starts threads).
    if counts["corrupt"] == 0:
        nt.load(path)
        nt.native.load(path, threads=1)
    return {
        "writer": kind,
        "iterations": iterations,
        "save_ms": round(save_s * 1e3, 2),
        **counts,
        "bad": bad[:5],
    }


def main() -> int:
    iterations, seed = int(sys.argv[1]), int(sys.argv[2])
    out_dir = Path(sys.argv[3])
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    cfg = nt.BiLSTMClassifierConfig(input_size=8, hidden_size=256, num_layers=2)
    a, b = nt.BiLSTMClassifier(cfg), nt.BiLSTMClassifier(cfg)
    want = {"A": digest(a.to_checkpoint().to_bytes()), "B": digest(b.to_checkpoint().to_bytes())}
    rng = random.Random(seed)
    for kind, (save_a, save_b) in writers(a, b).items():
        folder = out_dir / kind
        folder.mkdir(parents=True, exist_ok=True)
        result = trial(kind, save_a, save_b, folder / "model.safetensors", iterations, rng, want)
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
