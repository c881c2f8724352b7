"""Registration, the extension manifest and the Blender side's import wall."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

pytestmark = pytest.mark.blender

REPO = Path(__file__).resolve().parents[2]


def _registered() -> bool:
    return all(hasattr(bpy.types, c) for c in (
        "ANIMA_OT_generate", "ANIMA_OT_cancel", "ANIMA_PT_main", "ANIMA_PT_mapping")) \
        and hasattr(bpy.types.Scene, "anima") and hasattr(bpy.types.WindowManager, "anima")


def test_register_unregister_twice(anima, fresh_scene):
    assert _registered()
    anima.unregister()
    assert not hasattr(bpy.types, "ANIMA_OT_generate") and not hasattr(bpy.types, "ANIMA_PT_main")
    assert not hasattr(bpy.types.Scene, "anima")
    assert not hasattr(bpy.types.Armature, "anima_mapping")
    anima.unregister()                     # a second unregister is harmless
    anima.register()
    anima.register()                       # registering twice in a row works
    assert _registered()
    anima.unregister()
    anima.register()
    assert _registered()
    # The properties work after all that.
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.anima.prompt = "wave"
    assert bpy.context.window_manager.anima.state == "STOPPED"


def _blender_ext() -> str:
    path = Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core" / "bl_pkg" / "cli" / \
        "blender_ext.py"
    if not path.exists():
        pytest.skip("blender_ext.py not shipped with this bpy")
    return str(path)


def test_manifest_validates_and_build_leaves_out_dev_files(tmp_path):
    tool = _blender_ext()
    out = subprocess.run([sys.executable, tool, "validate", str(REPO)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    out = subprocess.run([sys.executable, tool, "build", "--source-dir", str(REPO),
                          "--output-dir", str(tmp_path)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    (archive,) = tmp_path.glob("anima-*.zip")
    names = zipfile.ZipFile(archive).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {"__init__.py", "blender_manifest.toml", "preferences.py", "operators", "panels",
            "backend"} <= tops
    assert not tops & {"tests", ".venv", ".git", "docs", "tools", ".ci", "out"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_blender_side_never_imports_torch():
    """Loading, registering and using the add-on imports no torch / scipy (subprocess, so
    other tests' imports do not count)."""
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import bpy, conftest
        mod = conftest._load_addon_package()
        mod.register()
        bpy.ops.wm.read_factory_settings(use_empty=True)
        conftest.enable_prefs()
        arm = conftest._make_armature()
        bpy.ops.anima.mapping_auto()
        from anima.operators import retarget, jobs, generate, keys
        import anima.backend.motion.retarget, anima.backend.motion.resample
        bad = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "scipy",
                     "sentence_transformers", "mujoco"))
        mod.unregister()
        print("BAD", bad)
        sys.exit(1 if bad else 0)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=str(REPO.parent))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


def test_preferences_defaults(anima, fresh_scene):
    from anima import preferences
    prefs = bpy.context.preferences.addons["anima"].preferences
    venv_python = os.path.join(preferences.ADDON_DIR, ".venv", "bin", "python")
    if os.name != "nt" and os.path.exists(venv_python):
        assert prefs.python_path == venv_python
    assert preferences.resolve_python(prefs) == prefs.python_path
    prefs.cache_dir = ""
    cache = preferences.resolve_cache_dir(prefs)   # extension folder, or temp fallback here
    assert os.path.isdir(cache)
    assert prefs.bl_rna.properties["token"].subtype == "PASSWORD"
