"""What the commands write, as a user runs them: a failed write (a full disk) is a non-zero exit with one
line naming the file and the earlier file survives; a symbolic link at an output path is replaced, never
written through; an output path that is one of the command's inputs is refused before anything runs; an
ONNX export that fails verification never replaces a good file; outputs get the umask's mode.

A full disk is made portable with the child's file-size limit (``RLIMIT_FSIZE``): every write past it fails
with ``EFBIG`` exactly where ``ENOSPC`` would. As root, one test also fills a real (tiny) tmpfs.
"""

from __future__ import annotations

import os
import resource
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cli_helpers import TINY, assert_user_error, run_cli

import neural_trader as nt


def run_limited(
    *args: str, max_file_bytes: int | None = None, umask: int | None = None
) -> subprocess.CompletedProcess:
    """The CLI in a subprocess whose writes past ``max_file_bytes`` fail (what a full disk does), with
    the given umask."""
    import matplotlib.font_manager  # noqa: F401 (its cache exists before the limited child starts)

    def limit() -> None:
        if max_file_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
        if umask is not None:
            os.umask(umask)

    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "neural_trader.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=limit,
        check=False,
    )


def _temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".tmp" in p.name]


def _failed_write(proc: subprocess.CompletedProcess, path: Path) -> None:
    """Exit 2 with one line naming the file that could not be written."""
    assert_user_error(proc, "File too large", str(path))


@pytest.fixture(scope="module")
def predictions(trained: Path, goog_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A good predictions CSV, written once (each test copies it)."""
    out = tmp_path_factory.mktemp("pred") / "pred.csv"
    proc = run_cli("predict", "--checkpoint", str(trained), "--data", str(goog_csv), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


# ------------------------------------------------------------------------------------- full disk
def test_predict_on_a_full_disk_keeps_the_earlier_csv(
    trained: Path, goog_csv: Path, predictions: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pred.csv"
    out.write_text("timestamp,p_up\n2007-01-02,0.5\n")  # an earlier result, smaller than the new one
    earlier = out.read_bytes()
    args = ["predict", "--checkpoint", str(trained), "--data", str(goog_csv), "--output", str(out)]
    proc = run_limited(*args, max_file_bytes=4096)
    assert out.read_bytes() == earlier
    _failed_write(proc, out)
    assert _temporaries(tmp_path) == []


def test_evaluate_on_a_full_disk_keeps_the_earlier_report(
    report, trained: Path, goog_csv: Path, tmp_path: Path
):
    earlier_dir, _ = report
    out = tmp_path / "report"
    shutil.copytree(earlier_dir, out)
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}
    args = ["evaluate", "--checkpoint", str(trained), "--data", str(goog_csv), "--out", str(out)]
    proc = run_limited(*args, "--n-bootstrap", "50", "--no-progress", max_file_bytes=4096)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier
    _failed_write(proc, out / "scores.png")  # the first file the report writes
    assert _temporaries(out) == []


def test_splits_on_a_full_disk_fails_and_keeps_the_earlier_split_file(goog_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "folds.json"
    proc = run_cli("splits", "--data", str(goog_csv), "--out", str(out), "--folds", "2")
    assert proc.returncode == 0, proc.stderr
    earlier = out.read_bytes()
    proc = run_limited(
        "splits", "--data", str(goog_csv), "--out", str(out), "--folds", "3", max_file_bytes=200
    )
    assert out.read_bytes() == earlier
    _failed_write(proc, out)
    assert _temporaries(tmp_path) == []


def _mount_tiny_tmpfs(where: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    where.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)], capture_output=True
    )
    return proc.returncode == 0


def test_predict_on_a_really_full_file_system(trained: Path, goog_csv: Path, tmp_path: Path) -> None:
    """The same as the file-size limit, on a real full file system (needs root for the mount)."""
    disk = tmp_path / "disk"
    if not _mount_tiny_tmpfs(disk):
        pytest.skip("mounting a tmpfs needs root")
    try:
        out = disk / "pred.csv"
        out.write_text("timestamp,p_up\n2007-01-02,0.5\n")
        earlier = out.read_bytes()
        fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        try:  # fill the file system to the last block
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        proc = run_cli("predict", "--checkpoint", str(trained), "--data", str(goog_csv), "--output", str(out))
        assert out.read_bytes() == earlier
        assert_user_error(proc, "No space left on device", str(out))
        assert _temporaries(disk) == []
    finally:
        subprocess.run(["umount", str(disk)], check=False)


# --------------------------------------------------------------------------------- symbolic links
def _victim(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_text(f"{name}: a file the user owns, which no command may write")
    return path


def _replaced(link: Path, victim: Path) -> None:
    assert victim.read_text() == f"{victim.name}: a file the user owns, which no command may write"
    assert not link.is_symlink() and link.stat().st_size > 0


def test_train_replaces_links_at_its_outputs_and_gives_them_the_umask_mode(goog_csv: Path, tmp_path: Path):
    out = tmp_path / "run"
    out.mkdir()
    links = {name: out / name for name in ("best.safetensors", "history.png", "history.json")}
    victims = {name: _victim(tmp_path, f"victim-{name}") for name in links}
    for name, link in links.items():
        link.symlink_to(victims[name])
    args = ["train", "--model", "bilstm_classifier", "--data", str(goog_csv), "--out", str(out), *TINY]
    proc = run_limited(*args, umask=0o027)
    assert proc.returncode == 0, proc.stderr
    for name, link in links.items():
        _replaced(link, victims[name])
    nt.load(links["best.safetensors"])
    # One mode policy, like open(): 0o666 less the umask, for the checkpoint as for the plot.
    modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in out.iterdir()}
    assert modes == dict.fromkeys(
        ["best.safetensors", "last.safetensors", "history.json", "history.png"], "0o640"
    )


def test_evaluate_and_predict_replace_links_at_their_outputs(trained: Path, goog_csv: Path, tmp_path: Path):
    out = tmp_path / "report"
    out.mkdir()
    links = {name: out / name for name in ("report.md", "report.json", "scores.png")}
    links["pred.csv"] = tmp_path / "pred.csv"
    victims = {name: _victim(tmp_path, f"victim-{name}") for name in links}
    for name, link in links.items():
        link.symlink_to(victims[name])
    proc = run_cli(
        "evaluate", "--checkpoint", str(trained), "--data", str(goog_csv), "--out", str(out),
        "--n-bootstrap", "50", "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    args = ["--checkpoint", str(trained), "--data", str(goog_csv), "--output", str(links["pred.csv"])]
    proc = run_cli("predict", *args)
    assert proc.returncode == 0, proc.stderr
    for name, link in links.items():
        _replaced(link, victims[name])


# ------------------------------------------------------------------------------ outputs = inputs
def test_predict_refuses_to_overwrite_its_checkpoint_or_its_data(
    trained: Path, goog_csv: Path, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "model.safetensors"
    shutil.copy(trained, checkpoint)
    data = tmp_path / "bars" / "goog.csv"
    data.parent.mkdir()
    shutil.copy(goog_csv, data)
    link = tmp_path / "pred.csv"
    link.symlink_to(checkpoint)
    before = {p: p.read_bytes() for p in (checkpoint, data)}
    cases = {
        str(checkpoint): ("--checkpoint", str(data)),  # the same path
        str(tmp_path / "bars" / ".." / "bars" / "goog.csv"): ("--data", str(data)),  # another spelling
        str(link): ("--checkpoint", str(data)),  # a link to it
        str(data): ("--data", str(data.parent)),  # a file of the --data folder
    }
    for output, (option, data_arg) in cases.items():
        proc = run_cli("predict", "--checkpoint", str(checkpoint), "--data", data_arg, "--output", output)
        assert_user_error(proc, f"--output {output} is the {option} file")
    assert {p: p.read_bytes() for p in before} == before


def test_splits_export_and_pretrain_refuse_to_overwrite_their_inputs(
    trained: Path, goog_csv: Path, tmp_path: Path
) -> None:
    data = tmp_path / "goog.csv"
    shutil.copy(goog_csv, data)
    checkpoint = tmp_path / "model.safetensors"
    shutil.copy(trained, checkpoint)
    before = {p: p.read_bytes() for p in (data, checkpoint)}
    proc = run_cli("splits", "--data", str(data), "--out", str(data))
    assert_user_error(proc, f"--out {data} is the --data file")
    proc = run_cli("export", "--checkpoint", str(checkpoint), "--onnx", str(checkpoint))
    assert_user_error(proc, f"--onnx {checkpoint} is the --checkpoint file")
    proc = run_cli("pretrain", "--input", str(data), "--output", str(data), "--no-progress")
    assert_user_error(proc, f"--output {data} is the --input file")
    assert {p: p.read_bytes() for p in before} == before


def test_train_and_evaluate_refuse_an_output_folder_holding_their_inputs(
    trained: Path, goog_csv: Path, tmp_path: Path
) -> None:
    """A split file kept as ``history.json`` in the run folder, a checkpoint named ``report.json`` in the
    report folder: the command would overwrite them."""
    run = tmp_path / "run"
    run.mkdir()
    split = run / "history.json"
    proc = run_cli("splits", "--data", str(goog_csv), "--out", str(split))
    assert proc.returncode == 0, proc.stderr
    split_bytes = split.read_bytes()
    proc = run_cli("train", "--model", "bilstm_classifier", "--data", str(goog_csv), "--split", str(split),
                   "--out", str(run), *TINY)  # fmt: skip
    assert_user_error(proc, f"--out {split} is the --split file")
    assert split.read_bytes() == split_bytes
    report = tmp_path / "report"
    report.mkdir()
    checkpoint = report / "report.json"
    shutil.copy(trained, checkpoint)
    proc = run_cli("evaluate", "--checkpoint", str(checkpoint), "--data", str(goog_csv), "--out", str(report))
    assert_user_error(proc, f"--out {checkpoint} is the --checkpoint file")
    assert checkpoint.read_bytes() == trained.read_bytes()


# -------------------------------------------------------------------------------------------- ONNX
@pytest.mark.skipif(
    any(__import__("importlib").util.find_spec(m) is None for m in ("onnx", "onnxscript", "onnxruntime")),
    reason="needs onnx, onnxscript and onnxruntime",
)
def test_an_export_that_fails_verification_leaves_the_earlier_onnx_file(
    trained: Path, tmp_path: Path
) -> None:
    onnx = tmp_path / "good.onnx"
    proc = run_cli("export", "--checkpoint", str(trained), "--onnx", str(onnx))
    assert proc.returncode == 0, proc.stderr
    good = onnx.read_bytes()
    torch.manual_seed(7)  # another model: its export differs from the good file
    other = tmp_path / "other.safetensors"
    nt.BiLSTMClassifier(nt.BiLSTMClassifierConfig(input_size=28, hidden_size=8, num_layers=1)).save(other)
    proc = run_cli("export", "--checkpoint", str(other), "--onnx", str(onnx), "--tolerance", "1e-30")
    assert_user_error(proc, "not faithful", f"{onnx} was not written")
    assert onnx.read_bytes() == good
    assert _temporaries(tmp_path) == []
