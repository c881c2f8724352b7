"""Checkpoint files of every model family: read with the checks every loader needs, write
atomically. Each family keeps its own format name, versions and content checks.

``read_checkpoint(path, what, fmt, versions, error, hint)``: the dict saved at `path`, or
`error` (the family's exception class) naming the file when it is missing (`hint` appended),
unreadable, of another format or of a version outside `versions` (min, max).
``write_checkpoint(obj, path)``: torch.save into a temporary file beside `path`, flushed to
disk, then renamed over it, so a failed write never leaves a truncated checkpoint behind.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..fileio import atomic_write


def read_checkpoint(path, what: str, fmt: str, versions: tuple[int, int], error,
                    hint: str = "") -> dict:
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: {what} checkpoint not found{hint}")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure of the unpickler means "corrupt"
        raise error(f"{path}: not a readable {what} checkpoint "
                    f"({type(e).__name__}: {str(e)[:200]})") from None
    if not isinstance(ck, dict) or ck.get("format") != fmt:
        found = ck.get("format") if isinstance(ck, dict) else type(ck).__name__
        raise error(f"{path}: not an Anima {what} checkpoint (format {found!r})")
    version = ck.get("version")
    low, high = versions
    if not isinstance(version, int) or not low <= version <= high:
        readable = f"version {high}" if low == high else f"versions {low}..{high}"
        raise error(f"{path}: checkpoint version {version!r}; this Anima reads {readable} "
                    f"(retrain or update Anima)")
    return ck


def write_checkpoint(obj, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        torch.save(obj, f)
    return path
