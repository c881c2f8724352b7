"""Where the backend keeps user data when no cache folder is given (command line use).
The add-on passes its own folder (under Blender's extension user directory) instead."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA_DEFAULT = REPO_ROOT.parent / "shared" / "data"


def user_data_dir() -> Path:
    """$ANIMA_HOME, else $XDG_DATA_HOME/anima, else ~/.local/share/anima."""
    if os.environ.get("ANIMA_HOME"):
        return Path(os.environ["ANIMA_HOME"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "anima"


def user_library_dir() -> Path:
    return user_data_dir() / "library"
