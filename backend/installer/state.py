"""The install's record of finished steps: `<target>/install-state.json`.

STANDARD LIBRARY ONLY. Every change is written atomically (temporary file in the same folder,
fsync, os.replace), so an interrupted install leaves either the old or the new record, never a
broken one; a re-run resumes at the first step without a matching marker.

    {"format": 1, "status": "ready" | "running" | "failed" | "cancelled",
     "error": "...", "error_kind": "...", "failed_step": "torch",
     "addon_version": "0.1.0", "requirements_sha256": "...", "variant": "cpu",
     "python": "/…/venv/bin/python",
     "steps": {"venv": {"key": "python 3.11", "done_at": 1765000000.0, "note": "..."}, ...},
     "backend": {"server_version": ..., "protocol": 2, "device": "cpu", ...}}
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import fileio
from .plan import STATE_NAME, STEP_IDS

FORMAT = 1


@dataclass
class InstallState:
    path: Path
    data: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ reading
    @property
    def status(self) -> str:
        """not_installed | running | failed | cancelled | ready."""
        return self.data.get("status", "not_installed")

    @property
    def error(self) -> str:
        return self.data.get("error", "")

    def marker(self, step: str) -> dict | None:
        return self.data.get("steps", {}).get(step)

    def done(self, step: str, key: str) -> bool:
        marker = self.marker(step)
        return marker is not None and marker.get("key") == key

    def first_unfinished(self, keys: dict[str, str]) -> str | None:
        """The step a run starts at: the first whose marker is missing or stale."""
        for step in STEP_IDS:
            if not self.done(step, keys[step]):
                return step
        return None

    # ------------------------------------------------------------------ writing
    def mark_done(self, step: str, key: str, note: str = "") -> None:
        self.data.setdefault("steps", {})[step] = {"key": key, "done_at": time.time(),
                                                   "note": note}
        self.save()

    def forget_from(self, step: str) -> None:
        """Drop the markers of `step` and every later step (they must run again)."""
        steps = self.data.setdefault("steps", {})
        for later in STEP_IDS[STEP_IDS.index(step):]:
            steps.pop(later, None)
        self.save()

    def set_status(self, status: str, error: str = "", kind: str = "", step: str = "",
                   **extra) -> None:
        self.data.update(status=status, error=error, error_kind=kind, failed_step=step,
                         updated_at=time.time(), **extra)
        self.save()

    def save(self) -> None:
        self.data["format"] = FORMAT
        write_json_atomic(self.path, self.data)


def load_state(target: str | os.PathLike) -> InstallState:
    """The record under `target` (empty when there is none or it cannot be read)."""
    path = Path(target) / STATE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            data = {}
    except (OSError, ValueError):
        data = {}
    return InstallState(path, data)


def write_json_atomic(path: Path, data: dict) -> None:
    """Write `data` as JSON to `path` so that readers see the old or the new file only."""
    fileio.write_text(path, json.dumps(data, indent=1, sort_keys=True))