"""The installable extension zip (`make package`, tools/package.py): built with Blender's build
rules (checked against Blender's own `blender_ext.py build`/`validate` shipped in the bpy
module), then installed into a clean Blender user profile with the real bpy module (5.0.1; the
file also passes with 4.2 and 4.5), enabled, used (a `sleep` job through the add-on's blocking
path, a library search through its operator), disabled and uninstalled.

The packager is run on the working tree with `allow_untracked`: engineers' uncommitted files
are part of the tree this test checks (the untracked-file refusal itself is tested on a
throw-away git repository).
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

pytestmark = pytest.mark.blender

REPO = Path(__file__).resolve().parents[2]
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
_spec = importlib.util.spec_from_file_location("anima_package_tool", REPO / "tools" / "package.py")
packager = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = packager          # dataclasses look their module up while defining
_spec.loader.exec_module(packager)


def _blender_ext_cli() -> Path:
    """Blender's own extension command line (`blender --command extension` runs it)."""
    path = Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core/bl_pkg/cli/blender_ext.py"
    assert path.is_file(), f"the bpy module ships no {path}"
    return path


def _blender_ext(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(_blender_ext_cli()), *args], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The zip of the working tree, its backend modules imported with the .venv's python."""
    if not VENV_PYTHON.exists():
        pytest.skip("needs the repository's .venv (make venv)")
    out = tmp_path_factory.mktemp("dist")
    start = time.monotonic()
    result = packager.build(REPO, out, allow_untracked=True, python=str(VENV_PYTHON))
    print(f"\npackage: {result.path.name}: {result.files} files, {result.size} bytes, "
          f"{time.monotonic() - start:.1f} s")
    return result


# ----------------------------------------------------------------------------- the zip
def test_zip_layout_contents_and_determinism(built, tmp_path):
    with zipfile.ZipFile(built.path) as zf:
        ours = {i.filename: i.CRC for i in zf.infolist()}
        assert zf.testzip() is None
    names = list(ours)
    assert names == sorted(names)
    assert {"blender_manifest.toml", "__init__.py", "preferences.py"} <= set(names)
    assert not [n for n in names if n.split("/")[0] in {"tests", "tools", "docs", "out", ".venv"}
                or "__pycache__" in n or n.endswith(".pyc")]
    tracked = subprocess.run(["git", "-C", str(REPO), "ls-files"], capture_output=True,
                             text=True, check=True).stdout.split()
    needed = [t for t in tracked if (REPO / t).is_file() and (
        t.startswith(("backend/", "operators/", "panels/")) and t.endswith(".py")
        or t.startswith(("assets/models/", "assets/character/", "assets/library/")))]
    assert needed and not sorted(set(needed) - set(names))

    valid = _blender_ext("validate", str(built.path))
    assert valid.returncode == 0 and "Success" in valid.stdout, valid.stdout + valid.stderr

    # Same content, other dates and paths (the extracted zip): byte-identical zip.
    extracted = tmp_path / "extracted"
    with zipfile.ZipFile(built.path) as zf:
        zf.extractall(extracted)
    again = packager.build(extracted, tmp_path / "again")
    assert again.path.read_bytes() == built.path.read_bytes()


def test_file_selection_matches_blenders_own_build(tmp_path):
    """Blender's `extension build` and ours, back to back on the working tree (retried once:
    other engineers' edits may land between the two builds)."""
    for attempt in range(2):
        ours = packager.build(REPO, tmp_path / f"ours{attempt}", allow_untracked=True)
        reference = tmp_path / f"reference{attempt}.zip"
        made = _blender_ext("build", "--source-dir", str(REPO), "--output-filepath",
                            str(reference))
        assert made.returncode == 0, made.stdout + made.stderr
        names = [zipfile.ZipFile(z).namelist() for z in (ours.path, reference)]
        if set(names[0]) == set(names[1]):
            break
    assert sorted(names[0]) == sorted(names[1])


PATTERNS = ["__pycache__/", "*.pyc", "/tests/", "*.blend[1-9]", ".*", "/assets/stories/",
            "data/**/raw", "MUJOCO_LOG.TXT", "docs/"]


@pytest.mark.parametrize("path", [
    "tests/", "tests/test_a.py", "backend/tests/", "a/__pycache__/", "__pycache__/", "x.pyc",
    "backend/m.pyc", "scene.blend1", "scene.blend", "scene.blend12", ".git/", "a/.hidden",
    "assets/stories/", "assets/stories/x.json", "x/assets/stories/", "data/raw", "data/a/b/raw",
    "xdata/raw", "backend/MUJOCO_LOG.TXT", "docs/", "backend/docs/", "docs", "backend/x.py"])
def test_exclude_patterns_read_like_blenders(path):
    blender_ext = _load_blender_ext()
    expected = blender_ext.PathPatternMatch(PATTERNS).test_path(path)
    ours = packager.is_excluded([packager.ExcludePattern(p) for p in PATTERNS],
                                path.rstrip("/"), path.endswith("/"))
    assert ours == expected


def _load_blender_ext():
    """Blender's blender_ext.py as a module (standard library only; loaded once)."""
    name = "blender_ext_reference"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _blender_ext_cli())
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# ----------------------------------------------------------------------------- bad input
GOOD_MANIFEST = {
    "schema_version": '"1.0.0"', "id": '"tiny"', "version": '"1.2.3"', "name": '"Tiny"',
    "tagline": '"A tiny add-on"', "maintainer": '"Someone"', "type": '"add-on"',
    "blender_version_min": '"4.2.0"', "license": '["SPDX:GPL-3.0-or-later"]',
}


def _tiny_addon(folder: Path, manifest: dict, permissions: str = "", init: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__init__.py").write_text(init or "def register():\n    pass\n\n\n"
                                                 "def unregister():\n    pass\n")
    lines = [f"{k} = {v}" for k, v in manifest.items() if v is not None]
    (folder / "blender_manifest.toml").write_text("\n".join(lines) + "\n" + permissions)
    return folder


@pytest.mark.parametrize("field, value, permissions, blender_rejects", [
    ("id", None, "", True),
    ("id", '"my-addon"', "", True),
    ("version", '"1.0"', "", True),
    ("schema_version", '"one"', "", True),
    ("blender_version_min", '"4.2"', "", True),
    ("tagline", '"Ends with a full stop."', "", True),
    ("license", '["GPL"]', "", False),                       # SPDX: the Extensions Platform's rule
    ("tags", '["Animations"]', "", False),           # Blender's list: `blender --command` only
    ("permissions.network", None, '[permissions]\nnetwork = ""\n', True),
    ("permissions.files", None, '[permissions]\nfiles = "Reads files."\n', True),
    ("platforms", None, 'wheels = ["./wheels/numpy-2.0.0-cp311-cp311-linux_x86_64.whl"]\n', False),
])
def test_bad_manifest_names_the_field_and_writes_nothing(tmp_path, field, value, permissions,
                                                         blender_rejects):
    manifest = dict(GOOD_MANIFEST)
    if field in manifest or value is not None:
        manifest[field] = value                 # None: the field is left out
    source = _tiny_addon(tmp_path / "src", manifest, permissions)
    before = sorted(p.name for p in source.iterdir())
    out = tmp_path / "dist"
    with pytest.raises(packager.PackageError) as err:
        packager.build(source, out)
    assert f"{field}:" in str(err.value)
    assert not out.exists() and sorted(p.name for p in source.iterdir()) == before
    if blender_rejects:
        assert _blender_ext("validate", str(source)).returncode != 0


def test_cli_reports_a_bad_manifest_in_one_clear_message(tmp_path):
    source = _tiny_addon(tmp_path / "src", {**GOOD_MANIFEST, "version": '"v1"'})
    run = subprocess.run([sys.executable, str(REPO / "tools" / "package.py"), "--source",
                          str(source), "--out", str(tmp_path / "dist")], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 1 and not (tmp_path / "dist").exists()
    assert "version: must be a semantic version like 1.0.0, found 'v1'" in run.stderr


def test_missing_module_slipped_in_path_and_untracked_file_are_refused(tmp_path):
    source = _tiny_addon(tmp_path / "src", GOOD_MANIFEST,
                         init="from . import helpers\nfrom .core.engine import run\n")
    (source / "helpers.py").write_text("import backend.gone\n")
    (source / "backend").mkdir()
    (source / "backend" / "__init__.py").write_text("")
    with pytest.raises(packager.PackageError) as err:
        packager.build(source, tmp_path / "dist")
    assert "__init__.py:2: imports .core.engine, which is not in the package" in str(err.value)
    assert "helpers.py:1: imports backend.gone, which is not in the package" in str(err.value)

    (source / "__init__.py").write_text("def register():\n    pass\n")
    (source / "helpers.py").write_text("X = 1\n")
    (source / "tests").mkdir()
    (source / "tests" / "test_x.py").write_text("")
    with open(source / "blender_manifest.toml", "a") as fh:
        fh.write('[build]\npaths = ["__init__.py", "helpers.py", "tests/test_x.py"]\n')
    with pytest.raises(packager.PackageError, match="tests/test_x.py: excluded path"):
        packager.build(source, tmp_path / "dist")

    # Imports that only fail when run (a name the module does not have): the import check.
    (source / "tests" / "test_x.py").unlink()
    (source / "blender_manifest.toml").write_text(
        (source / "blender_manifest.toml").read_text().split("[build]")[0])
    (source / "backend" / "broken.py").write_text("from json import no_such_name\n")
    with pytest.raises(packager.PackageError) as err:
        packager.build(source, tmp_path / "dist", python=sys.executable)
    assert "backend.broken ImportError: cannot import name 'no_such_name'" in str(err.value)
    assert not (tmp_path / "dist").exists()
    (source / "backend" / "broken.py").unlink()
    (source / "tests").rmdir()
    git = ["git", "-C", str(source), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "__init__.py", "blender_manifest.toml", "backend"], check=True)
    with pytest.raises(packager.PackageError, match="helpers.py: not tracked by git"):
        packager.build(source, tmp_path / "dist")
    assert not (tmp_path / "dist").exists()
    assert packager.build(source, tmp_path / "dist", allow_untracked=True).files == 4


# ----------------------------------------------------------------------------- install
INSTALL_SCRIPT = r'''
import json, os, sys, time
import bpy, addon_utils

zip_path, profile, python_path = sys.argv[1:4]
report = {"steps": []}
t0 = time.monotonic()


def step(name, **data):
    report["steps"].append(name)
    report[name] = dict(data, at_s=round(time.monotonic() - t0, 2))


def done(code=0):
    print("REPORT " + json.dumps(report))
    sys.stdout.flush()
    os._exit(code)          # the add-on is gone: nothing left for Blender's exit to unregister


# Never touch a real profile: stop unless Blender reads this one.
user = os.path.realpath(bpy.utils.resource_path("USER"))
repo = next(r for r in bpy.context.preferences.extensions.repos if r.module == "user_default")
step("profile", user=user, repo=os.path.realpath(repo.directory), background=bpy.app.background)
if user != os.path.realpath(profile) or not os.path.realpath(repo.directory).startswith(user):
    done(3)

result = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                                  enable_on_install=True)
pkg = "bl_ext.user_default.anima"
mod = sys.modules.get(pkg)
classes = mod._classes() if mod else []
step("install", result=sorted(result), enabled=list(addon_utils.check(pkg)),
     module_file=getattr(mod, "__file__", ""),
     operators=sorted(c.bl_idname for c in classes if issubclass(c, bpy.types.Operator)),
     panels=sorted(c.__name__ for c in classes if issubclass(c, bpy.types.Panel)),
     unregistered=sorted(c.__name__ for c in classes if not c.is_registered),
     ops_anima=sorted(dir(bpy.ops.anima)))
if mod is None:
    done(4)

prefs = bpy.context.preferences.addons[pkg].preferences
prefs.python_path = python_path
prefs.cache_dir = ""                      # the extension's user folder
jobs = sys.modules[pkg + ".operators.jobs"]
result = jobs.run_blocking("sleep", {"seconds": 0.2, "steps": 4, "artifact": True})
session = jobs.get_session()
backend_cwd = os.path.realpath(f"/proc/{session.client.process.pid}/cwd")
step("use", result=result, backend_cwd=backend_cwd, state=session.state,
     user_folder=bpy.utils.extension_path_user(pkg, create=False),
     cache_files=sorted(os.listdir(bpy.utils.extension_path_user(pkg, path="cache"))))
process = session.client.process

# The user's path: a shipped rig (assets/character), a library search (assets/library and the
# text encoder in the backend), the clip retargeted onto the rig by the operator.
character = sys.modules[pkg + ".operators.character"]
arm = character.build_armature(bpy.context.scene.collection, "game_engine", "Rig")
bpy.context.view_layer.objects.active = arm
arm.select_set(True)
result = bpy.ops.anima.generate(prompt="a person walks forward", source="LIBRARY")
action = arm.animation_data.action if arm.animation_data else None
step("search", result=sorted(result), action=action.name if action else "",
     frames=list(action.frame_range) if action else [], source=action.get("anima_source", "")
     if action else "", backend_pid_same=session.client.process is process)

bpy.ops.preferences.addon_disable(module=pkg)
step("disable", enabled=list(addon_utils.check(pkg)), backend_exit=process.poll(),
     still_registered=sorted(c.__name__ for c in classes if c.is_registered),
     ops_anima=sorted(dir(bpy.ops.anima)))

result = bpy.ops.extensions.package_uninstall(repo_directory=repo.directory, pkg_id="anima")
step("uninstall", result=sorted(result), installed=os.path.exists(os.path.dirname(mod.__file__)),
     addons=sorted(bpy.context.preferences.addons.keys()))
done()
'''


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() + ("/" if p.is_dir() else "")
                  for p in root.rglob("*"))


@pytest.mark.skipif(not VENV_PYTHON.exists(), reason="needs the repository's .venv (make venv)")
def test_install_enable_use_disable_uninstall_in_a_clean_profile(built, tmp_path):
    profile, home = tmp_path / "profile", tmp_path / "home"
    profile.mkdir()
    home.mkdir()
    script = tmp_path / "install_check.py"
    script.write_text(INSTALL_SCRIPT)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BLENDER_", "XDG_", "ANIMA_", "PYTHONPATH"))}
    env.update(BLENDER_USER_RESOURCES=str(profile), HOME=str(home))
    start = time.monotonic()
    run = subprocess.run([sys.executable, str(script), str(built.path), str(profile),
                          str(VENV_PYTHON)], capture_output=True, text=True, timeout=180,
                         env=env, cwd=tmp_path)
    took = time.monotonic() - start
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("REPORT ")]
    assert lines, f"no report (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    report = json.loads(lines[-1][len("REPORT "):])
    print(f"\ninstall/use/uninstall in {took:.1f} s: " + json.dumps(
        {k: report[k]["at_s"] for k in report["steps"]}))
    assert run.returncode == 0, (report, run.stderr[-3000:])

    assert report["profile"]["user"] == str(profile.resolve())
    installed = report["install"]
    assert installed["result"] == ["FINISHED"] and installed["enabled"] == [True, True]
    addon_dir = profile.resolve() / "extensions" / "user_default" / "anima"
    assert installed["module_file"] == str(addon_dir / "__init__.py")      # not the checkout
    assert len(installed["operators"]) > 20 and installed["panels"]
    assert installed["unregistered"] == []
    assert {op.split(".")[1] for op in installed["operators"]} <= set(installed["ops_anima"])

    used = report["use"]
    assert used["result"]["slept"] == 0.2 and used["result"]["steps"] == 4
    assert used["backend_cwd"] == str(addon_dir)          # the packed backend code ran
    assert used["user_folder"].startswith(str(profile.resolve()))
    assert "backend.log" in used["cache_files"]
    clip = used["result"]["artifacts"]["clip"]
    assert clip.startswith(used["user_folder"])

    searched = report["search"]
    assert searched["result"] == ["FINISHED"], searched
    assert searched["action"] == "Anima: a person walks forward"
    assert searched["frames"][1] - searched["frames"][0] >= 30 and searched["source"]
    assert searched["backend_pid_same"]

    disabled = report["disable"]
    assert disabled["enabled"] == [False, False] and disabled["still_registered"] == []
    assert disabled["backend_exit"] is not None                   # the backend was stopped
    assert disabled["ops_anima"] == []

    removed = report["uninstall"]
    assert removed["result"] == ["FINISHED"] and not removed["installed"]
    assert "bl_ext.user_default.anima" not in removed["addons"]

    # Left behind: Blender's own repository bookkeeping and, at most, the user cache folder.
    user_folder = Path(used["user_folder"]).relative_to(profile.resolve()).as_posix()
    left = [p for p in _tree(profile) if not p.startswith(user_folder)]
    blender_own = [p for p in left if p.endswith("/") or p.startswith("extensions/.cache/")
                   or "/.blender_ext/" in p]
    assert left == blender_own and not [p for p in left if "anima" in p], left
    # Nothing in the home folder but the empty thumbnail folders Blender makes at start-up.
    assert [p for p in _tree(home) if not p.startswith(".cache/thumbnails")] == [".cache/"]
    assert [p for p in _tree(home) if not p.endswith("/")] == []
