"""Every file the package writes or reads as a whole, one way: outputs are atomic, inputs are regular files.

**Writing.** Checkpoints, resume files, histories, reports, plots, CSV, JSON and ONNX files all go through
:func:`write_atomic` (bytes or text) or :func:`atomic_path` (a writer that wants a path: matplotlib,
pandas, the ONNX exporter). Both write a temporary file in the destination's folder, fsync it, rename it
over the destination and fsync the folder. So:

* a crash, a kill or a full disk leaves the earlier file complete, never half of a new one;
* a write error is an ``OSError`` naming the destination (``No space left on device: runs/a/report.md``),
  and the temporary file is removed;
* a destination that is a symbolic link is replaced by the new file: the link's target is never written;
* a destination that exists and is not a regular file (a device, a FIFO, a folder) is refused: the rename
  would replace it (as root, ``/dev/full`` itself);
* the new file gets the mode ``open()`` would give it, ``0o666`` less the user's umask, whichever twin
  writes it: the temporary file is created with that mode, as the Rust engine creates its own;
* temporary files are named ``.{name}.tmp-{pid}-{n}``, as the Rust engine names them; one left behind by
  a process that was killed mid-save is removed the next time the same path is saved.

**Reading.** :func:`read_regular_file` reads a regular file and no more than its size, and
:func:`require_regular_file` checks one before a library reads it: a FIFO with no writer (whose open
blocks forever), a device such as ``/dev/zero`` (which never ends) or a folder is an error, never a hang
or a runaway allocation.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_atomic(folder / "notes.txt", "hello\\n")
    >>> read_regular_file(folder / "notes.txt")
    b'hello\\n'
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from neural_trader.errors import ConfigError

__all__ = [
    "atomic_path",
    "read_regular_file",
    "remove_stale_temporaries",
    "require_regular_file",
    "temporary_name",
    "write_atomic",
]

# One counter per process: two threads saving to one path never share a temporary file.
_COUNTER = itertools.count()
_TMP = re.compile(r"\.(?P<name>.+)\.tmp-(?P<pid>\d+)-\d+")


def temporary_name(path: str | os.PathLike) -> Path:
    """A fresh temporary path beside ``path``: ``.{name}.tmp-{pid}-{n}`` (the Rust engine's pattern)."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{next(_COUNTER)}")


def write_atomic(
    path: str | os.PathLike, data: bytes | str, *, not_regular: type[Exception] = ConfigError
) -> None:
    """Writes ``data`` (text is UTF-8) to ``path`` atomically; see the module docstring.

    Args:
        path: the destination file.
        data: its new contents.
        not_regular: the error raised when ``path`` exists and is not a regular file.

    Raises:
        OSError: the write failed (full disk, no permission, missing folder), naming ``path``; the
            earlier file, if any, is unchanged.

    Example:
        >>> write_atomic("report.json", '{"verdict": "no skill"}\\n')  # doctest: +SKIP
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path, not_regular=not_regular) as tmp:
        # The temporary file exists, created with the umask's mode; opening it (not creating it) keeps that.
        flags = os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(tmp, flags)
        with os.fdopen(fd, "wb") as f:
            f.write(payload)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, not_regular: type[Exception] = ConfigError) -> Iterator[Path]:
    """A temporary path to write ``path``'s new contents to; renamed over ``path`` when the block ends.

    The temporary file already exists (empty, with the umask's mode) when the block starts, so a writer
    that opens it with ``"w"`` keeps that mode. When the block raises, the temporary file is removed and
    ``path`` is untouched. Writers that guess a format from the name (matplotlib) must be given the
    format explicitly: the temporary name ends in ``.tmp-{pid}-{n}``.

    Raises:
        OSError: creating, writing, syncing or renaming failed, naming ``path``.

    Example:
        >>> with atomic_path("equity.png") as tmp:                   # doctest: +SKIP
        ...     fig.savefig(tmp, format="png")
    """
    given, path = os.fspath(path), Path(path)
    if not path.name or path.name in (".", ".."):
        raise not_regular(f"{given!r} is not a file path")
    _refuse_non_regular(path, not_regular)
    remove_stale_temporaries(path)
    tmp = _create_temporary(path)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            # The writer saw the temporary name; the user knows the destination.
            raise _named(exc, path) from exc
        raise
    _fsync_folder(path.parent)


def _named(exc: OSError, path: Path) -> OSError:
    # OSError(errno, ...) builds the matching subclass (FileNotFoundError, PermissionError, ...).
    if exc.errno is None:
        return OSError(f"cannot write {path}: {exc}")
    return OSError(exc.errno, exc.strerror or os.strerror(exc.errno), os.fspath(path))


def _refuse_non_regular(path: Path, not_regular: type[Exception]) -> None:
    try:
        # Followed on purpose: a link to a regular file is replaced, a link to /dev/null is refused.
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as exc:
        raise _named(exc, path) from exc
    if not stat.S_ISREG(mode):
        raise not_regular(f"refusing to replace {path}: it exists and is {_kind(mode)}, not a regular file")


def _kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    kinds = [
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((words for test, words in kinds if test(mode)), "not a plain file")


def _create_temporary(path: Path) -> Path:
    """Creates the temporary file with ``O_EXCL`` and mode ``0o666`` (the kernel applies the umask)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(64):
        tmp = temporary_name(path)
        try:
            os.close(os.open(tmp, flags, 0o666))
            return tmp
        except FileExistsError:  # a leftover of a killed process whose id was reused
            continue
        except OSError as exc:
            raise _named(exc, path) from exc
    raise OSError(f"cannot create a temporary file beside {path}: 64 names taken")


def _fsync_file(tmp: Path) -> None:
    fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Persists the rename itself; not every platform can open a folder, so this is best effort."""
    try:
        fd = os.open(folder if str(folder) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Removes the temporary files of ``path`` left by processes that no longer run; returns them.

    A save killed between creating its temporary file and the rename leaves ``.{name}.tmp-{pid}-{n}``
    behind. Files of this process and of live processes are kept (they may be saves in progress).

    Example:
        >>> remove_stale_temporaries("runs/a/best.safetensors")  # doctest: +SKIP
        [PosixPath('runs/a/.best.safetensors.tmp-4242-0')]
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []  # a missing folder: the save itself reports it
    removed = []
    for entry in entries:
        match = _TMP.fullmatch(entry.name)
        if match is None or match["name"] != path.name:
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or _alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry.path)
            removed.append(folder / entry.name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process, or a pid this system cannot name: leave its file alone
    return True


# --------------------------------------------------------------------------------------------- reading
def require_regular_file(path: str | os.PathLike, *, error: type[Exception], what: str = "file") -> None:
    """Raises ``error`` unless ``path`` (links followed) is a regular file; checked without opening it.

    Raises:
        FileNotFoundError: no such file. ``error``: a folder, FIFO, device or socket.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(2, "No such file", os.fspath(path)) from None
    if not stat.S_ISREG(mode):
        raise error(_not_regular(path, mode, what))


def _not_regular(path: str | os.PathLike, mode: int, what: str) -> str:
    return f"{path} is {_kind(mode)}, not a regular file: a {what} must be a regular file"


def read_regular_file(
    path: str | os.PathLike, *, error: type[Exception] = ConfigError, what: str = "file"
) -> bytes:
    """The bytes of a regular file, and no more than its size.

    Opened without blocking and checked on the open descriptor, so a FIFO (whose open would block
    forever), a device such as ``/dev/zero`` (which never ends) or a folder is an ``error``.

    Raises:
        FileNotFoundError: no such file. ``error``: not a regular file.

    Example:
        >>> read_regular_file("/dev/zero", what="split file")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        neural_trader.errors.ConfigError: /dev/zero is a character device, not a regular file: ...
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise error(_not_regular(path, st.st_mode, what))
    with os.fdopen(fd, "rb") as f:
        return f.read(st.st_size)
