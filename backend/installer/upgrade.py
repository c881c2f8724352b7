"""Does an installed backend environment still fit this add-on? (issue 14, item 4)

STANDARD LIBRARY ONLY, and cheap (no subprocess): the preferences call it while drawing.

    reasons = update_needed(target)   # [] when up to date, else one line per difference
    describe_status(target)           # "not installed" | "ready" | "needs update: ..." | ...

The fix is the same install run again ("Update backend"): steps whose recorded inputs still
match are skipped, so an add-on update with unchanged requirements only re-checks the
handshake, and changed requirements re-run `pip install -r` and the check.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..protocol import PROTOCOL_VERSION
from .plan import (ADDON_DIR, REQUIREMENTS_NAME, STEPS, addon_version, file_sha256,
                   venv_python)
from .state import load_state


def update_needed(target: str | os.PathLike, addon_dir: str | os.PathLike = ADDON_DIR,
                  requirements: str | os.PathLike | None = None) -> list[str]:
    """What differs between the environment under `target` and this add-on ([] when it
    fits, or when nothing was ever installed there)."""
    state = load_state(target)
    if state.status != "ready":
        return []
    reasons = []
    recorded, current = state.data.get("addon_version", ""), addon_version(addon_dir)
    if recorded != current:
        newer = _version_tuple(current) > _version_tuple(recorded)
        reasons.append(f"the add-on was {'updated' if newer else 'changed back'} from "
                       f"{recorded or '?'} to {current or '?'}")
    if requirements is None:      # the file it was installed from, else the add-on's own
        recorded_file = Path(state.data.get("requirements") or "")
        requirements = (recorded_file if recorded_file.name and recorded_file.is_file()
                        else Path(addon_dir) / REQUIREMENTS_NAME)
    requirements = Path(requirements)
    try:
        if requirements.is_file() and file_sha256(requirements) != state.data.get(
                "requirements_sha256"):
            reasons.append("the backend's requirements changed")
    except OSError:
        pass
    protocol = (state.data.get("backend") or {}).get("protocol")
    if protocol is not None and protocol != PROTOCOL_VERSION:
        reasons.append(f"the installed backend speaks protocol {protocol}, the add-on "
                       f"{PROTOCOL_VERSION}")
    if not venv_python(target).exists():
        reasons.append("its Python environment was deleted")
    return reasons


def describe_status(target: str | os.PathLike, running: tuple[int, int, str] | None = None,
                    addon_dir: str | os.PathLike = ADDON_DIR,
                    requirements: str | os.PathLike | None = None) -> str:
    """The status line of the Install box. running: (step index, count, title) of an install
    in progress in this Blender."""
    if running is not None:
        index, count, title = running
        return f"installing: step {min(index + 1, count)} of {count}: {title}"
    state = load_state(target)
    status = state.status
    if status == "ready":
        reasons = update_needed(target, addon_dir, requirements)
        return "needs update: " + "; ".join(reasons) if reasons else "ready"
    if status == "running":      # recorded as running but no install runs: interrupted
        step = state.first_unfinished({s: (state.marker(s) or {}).get("key", "")
                                       for s, _ in STEPS})
        title = dict(STEPS).get(step or "", "")
        return f"interrupted{' during ' + repr(title) if title else ''}: Retry resumes there"
    if status in ("failed", "cancelled"):
        return f"{status}: {state.error}"
    return "not installed"


def _version_tuple(text: str) -> tuple[int, ...]:
    out = []
    for part in (text or "").split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)
