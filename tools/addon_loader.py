"""Load the repository as the Blender add-on package `anima` inside a `bpy` process (tests,
demo, benchmarks), the way Blender loads an extension: as a package, so its package-relative
imports (`from ..backend import client`) work. The repository root is symlinked as
`<tmp>/anima` (copied where symlinks are unavailable) and `<tmp>` is put on sys.path."""
from __future__ import annotations

import atexit
import importlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "anima"


def load_addon(register: bool = False):
    if PACKAGE in sys.modules:
        mod = sys.modules[PACKAGE]
    else:
        parent = tempfile.mkdtemp(prefix="anima-addon-")
        # rmtree removes the link itself, never what it points to.
        atexit.register(shutil.rmtree, parent, True)
        link = os.path.join(parent, PACKAGE)
        try:
            os.symlink(REPO, link, target_is_directory=True)
        except (OSError, NotImplementedError):
            shutil.copytree(REPO, link, ignore=shutil.ignore_patterns(
                ".git", ".venv", "tests", "out", "__pycache__", ".cache"))
        sys.path.insert(0, parent)
        mod = importlib.import_module(PACKAGE)
    if register:
        mod.register()
    return mod


def enable_preferences():
    """Make Blender's preferences know the package (instantiates its AddonPreferences)."""
    import bpy
    addons = bpy.context.preferences.addons
    if addons.get(PACKAGE) is None:
        addons.new().module = PACKAGE
    return addons[PACKAGE].preferences
