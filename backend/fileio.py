"""Atomic file writes: every file the project writes goes through here.

STANDARD LIBRARY ONLY (the add-on uses it inside Blender too).

    with atomic_write(path) as f:          # binary; atomic_write(path, "w") for text
        np.savez_compressed(f, **arrays)

The content goes to a temporary file in the target's folder, is flushed and fsynced, and only
then renamed over the target (``os.replace``: atomic on POSIX and Windows). A failure at any
point — a full disk, a file-size limit, an exception in the writer, Ctrl-C — removes the
temporary file and leaves the old target exactly as it was. The new file gets the old file's
permission bits, or the usual ones (0666 less the umask) when it is new.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Iterator

TMP_SUFFIX = ".tmp"


class WriteError(OSError):
    """A file could not be written; the message names the file and the reason, and says that
    an existing file at that path was left unchanged."""


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_target(path: str | os.PathLike) -> Path:
    """``path`` as a Path, or ``WriteError`` when it cannot be a file we write: a folder, or a
    file in a folder that does not exist."""
    path = Path(path)
    if path.is_dir():
        raise WriteError(f"cannot write {path}: it is a folder; give a file name")
    if not path.parent.is_dir():
        raise WriteError(f"cannot write {path}: the folder {path.parent} does not exist")
    return path


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, encoding: str | None = None,
                 newline: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; on a clean exit it replaces ``path``.

    mode: ``"wb"`` or ``"w"`` (text; ``encoding`` defaults to UTF-8)."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', got {mode!r}")
    path = check_target(path)
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX,
                                        dir=path.parent)
    except OSError as e:
        raise WriteError(f"cannot write {path}: {e.strerror or e}") from e
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        kept = " (the existing file was left unchanged)" if path.exists() else ""
        raise WriteError(f"cannot write {path}: {e.strerror or e}{kept}") from e
    except BaseException:
        _remove(tmp)
        raise
    _fsync_dir(path.parent)


def _remove(tmp: Path) -> None:
    try:
        tmp.unlink()
    except OSError:
        pass


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as f:
        f.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (``\\n`` line ends on every platform)."""
    with atomic_write(path, "w", encoding=encoding, newline="\n") as f:
        f.write(text)
    return Path(path)


def leftover_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Temporary files an interrupted ``atomic_write`` (a killed process) left in ``folder``."""
    folder = Path(folder)
    return sorted(p for p in folder.glob(f".*{TMP_SUFFIX}") if p.is_file())
