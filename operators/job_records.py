"""What the session keeps of a job and how it words failures for the user (no bpy).

`JobRecord` is one submitted job; `JobFailed` the exception operators and scripts see;
`user_message` turns any failure into one line for a report or the panel.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..backend import client as client_mod
from ..backend.protocol import ARTIFACTS_KEY, ErrorCode

# Session states (WindowManager.anima.state shows them).
STOPPED, STARTING, READY, DEAD, ERROR = "STOPPED", "STARTING", "READY", "DEAD", "ERROR"
# Why a DEAD backend is dead (WindowManager.anima.failure): the client's error codes.
LOSS_CODES = (ErrorCode.BACKEND_DIED, ErrorCode.BACKEND_HUNG)
OUT_OF_MEMORY_HINT = "possibly out of memory"


class JobFailed(Exception):
    """A job could not be run or failed; str() is a message for the user."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


@dataclass
class JobRecord:
    kind: str
    params: dict
    label: str = ""
    on_result: Callable[[dict], Any] | None = None
    undo_message: str = ""
    job_id: str | None = None
    progress: float = 0.0
    message: str = ""
    done: bool = False
    result: dict | None = None
    error: str = ""
    code: str = ""
    applied_name: str = ""
    ahead: int = 0                 # jobs the backend runs before this one (`queued` events)
    started: float = field(default_factory=time.monotonic)


def user_message(exc: BaseException) -> str:
    """One readable line for a report or the panel."""
    if isinstance(exc, client_mod.BackendError):
        code, msg = exc.code, (exc.message or "").strip()
        first = msg.splitlines()[0] if msg else code
        if code == ErrorCode.INTERPRETER_NOT_FOUND:
            return (f"{first}. Set the Python interpreter in the Anima add-on preferences")
        if code == ErrorCode.BACKEND_DIED:
            return _death_message(first, msg)
        if code == ErrorCode.BACKEND_HUNG:
            return ("The Anima backend stopped answering (no message, not even a heartbeat: it "
                    "is stopped, frozen or unreachable). Press Restart Backend; your scene was "
                    "not changed")
        if code == ErrorCode.CANCELLED:
            return "Cancelled"
        if code == ErrorCode.CACHE_NOT_WRITABLE:
            return f"{first}. Choose another cache folder in the Anima add-on preferences"
        if code in (ErrorCode.BACKEND_START_FAILED, ErrorCode.HANDSHAKE_TIMEOUT):
            return f"The Anima backend did not start: {first} (see backend.log in the cache folder)"
        if code == ErrorCode.CONNECT_FAILED:
            return f"{first}. Check the remote host, port and that the backend is running"
        if code == ErrorCode.UNAUTHORIZED:
            return f"The remote backend refused the token: {first}"
        if code == ErrorCode.JOB_FAILED:
            return f"The backend failed: {first}"
        return first
    msg = str(exc).strip() or type(exc).__name__
    return msg.splitlines()[0]


def _death_message(first: str, full: str) -> str:
    """The panel's line for a backend that died; `first` is the first line of the client's
    message ("the backend process exited with code -9 (killed by SIGKILL: ...); log ...")."""
    if OUT_OF_MEMORY_HINT in full:
        signal_name = re.search(r"killed by (SIG[A-Z0-9]+)", full)
        how = f" by {signal_name.group(1)}" if signal_name else ""
        return (f"The Anima backend stopped unexpectedly: it was killed{how}, "
                f"{OUT_OF_MEMORY_HINT}. Press Restart Backend; your scene was not changed")
    cause = first
    for cut in ("; log ", "; its log "):
        cause = cause.split(cut)[0]
    return (f"The Anima backend stopped unexpectedly ({cause}). Press Restart Backend; your "
            f"scene was not changed")


def local_path(path, result: dict | None = None) -> str:
    """A result's file path as a local file: itself if it exists, else the artifact of the same
    name (remote backends ship artifacts into the cache; `result['artifacts']` has their local
    paths). Empty string if neither exists."""
    if not path:
        return ""
    path = os.fspath(path)
    if os.path.isfile(path):
        return path
    base = os.path.basename(path.replace("\\", "/"))
    for local in ((result or {}).get(ARTIFACTS_KEY) or {}).values():
        if isinstance(local, str) and os.path.basename(local) == base and os.path.isfile(local):
            return local
    return ""


def queue_text(ahead: int) -> str:
    """"1 job ahead" / "2 jobs ahead"."""
    return f"{ahead} job{'s' if ahead != 1 else ''} ahead"
