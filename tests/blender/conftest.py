"""Fixtures for tests that run the add-on in real Blender (the `bpy` module, headless).

The add-on is loaded the way Blender loads an extension: as a *package* (here named `anima`;
installed it is `bl_ext.<repo>.anima`), so its package-relative imports
(`from ..backend import client`) are exercised. The repository root is symlinked as
`<tmp>/anima` and `<tmp>` is put on sys.path; then `import anima; anima.register()`.

Blender's preferences system does not know a package registered this way, so `fresh_scene`
adds the `anima` entry to `preferences.addons` after every factory reset; that instantiates
the add-on's AddonPreferences, which tests can then change.

At session end what the tests added to Blender is unregistered and unloaded
(`addon_loader.shutdown`: the add-on, Rigify, a generated rig's UI classes): otherwise the bpy
module crashes (4.2) or hangs (4.5) at exit; see docs/blender_versions.md.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
import addon_loader  # noqa: E402  (tools/addon_loader.py: the one way to load the add-on)

PACKAGE = addon_loader.PACKAGE


def _load_addon_package():
    return addon_loader.load_addon()


@pytest.fixture(scope="session")
def anima():
    """The add-on package, registered once for the test session."""
    mod = _load_addon_package()
    mod.register()
    yield mod
    mod.unregister()


@pytest.hookimpl(trylast=True)     # after the session fixtures' teardown (the `anima` fixture)
def pytest_sessionfinish(session, exitstatus):
    addon_loader.shutdown()


def enable_prefs():
    return addon_loader.enable_preferences()


@pytest.fixture()
def fresh_scene(anima, tmp_path_factory):
    """Empty factory scene, add-on preferences present (cache in a per-session temp dir)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    prefs = enable_prefs()
    prefs.cache_dir = str(tmp_path_factory.getbasetemp() / "anima-cache")
    yield bpy.context.scene


@pytest.fixture()
def session(anima, fresh_scene):
    """The add-on's backend session (a local backend from the repository's .venv)."""
    from anima.operators import jobs
    s = jobs.get_session()
    yield s
    if s.busy:
        s.cancel()
        s.stop()


def _make_armature(rig: str = "game_engine", name: str | None = None):
    """One of the shipped rigs (operators/character.py), selected and active."""
    from anima.operators import character
    obj = character.build_armature(bpy.context.scene.collection, rig, name)
    if bpy.context.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")
    for o in bpy.context.view_layer.objects:
        o.select_set(False)
    obj.select_set(True)
    bpy.context.view_layer.objects.active = obj
    return obj


@pytest.fixture()
def make_armature(fresh_scene):
    """Factory: make_armature(rig="game_engine", name=None) -> a selected, active armature."""
    return _make_armature
