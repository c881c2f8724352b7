"""The model manager in real Blender: its panel, Import Model (with the torch check in the
backend's Python), Download Model (refused while online access is off; from a real HTTP
server on 127.0.0.1 when allowed; the thread + timer pump), Remove Model."""
from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("fresh_scene")]
REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "assets" / "models"


class Recorder:
    """A stand-in UILayout that records labels and operators (background Blender draws
    nothing); attributes such as `enabled` are accepted."""

    def __init__(self, log):
        object.__setattr__(self, "log", log)

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)

    def _child(self, *args, **kwargs):
        return Recorder(self.log)

    row = column = box = _child

    def label(self, text="", icon="NONE"):
        self.log.append(("label", text))

    def progress(self, factor=0.0, type="BAR", text=""):
        assert 0.0 <= factor <= 1.0
        self.log.append(("progress", factor))

    def operator(self, idname, **kwargs):
        module, name = idname.split(".")
        rna = getattr(getattr(bpy.ops, module), name).get_rna_type()   # must be registered
        self.log.append(("operator", idname))
        return type("Props", (), {"__setattr__": lambda s, k, v: self._set(rna, k, v)})()

    def _set(self, rna, key, value):
        assert key in rna.properties, f"{rna.identifier} has no {key!r}"
        self.log.append(("set", key, value))


def draw(context=None):
    from anima.panels.models import draw_model_manager
    log = []
    draw_model_manager(Recorder(log), context or bpy.context)
    return log


def texts(log):
    return "\n".join(str(item[-1]) for item in log)


@pytest.fixture()
def store(anima, tmp_path, monkeypatch):
    """operators/models.py with the user's models folder in tmp_path/models."""
    from anima.operators import models
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setattr(models, "user_models_dir", lambda: folder)
    models.LAST_RESULT.update(level="", text="")
    yield models, folder
    if models._TASK is not None:
        models._TASK.cancel()
        models._TASK = None


def test_models_folder_outside_an_extension_is_the_user_data_folder(anima, tmp_path,
                                                                    monkeypatch):
    from anima.operators import models
    monkeypatch.setenv("ANIMA_HOME", str(tmp_path))     # loaded as a package, not installed
    assert models.user_models_dir() == tmp_path / "models" and (tmp_path / "models").is_dir()


def test_panel_lists_the_shipped_models_with_licence_and_card(store):
    log = draw()
    text = texts(log)
    assert ("operator", "anima.model_import") in log
    for stem in ("text2motion_starter", "text2motion_clean", "inbetween", "camera_next_pose"):
        assert f"{stem}  (" in text
    assert "licence CC-BY-NC-4.0 (commercial use NOT allowed)" in text
    assert "| bandai | CC-BY-NC-4.0 | no |" in text                 # its data card
    assert "anima.model_remove" not in text                         # shipped: not removable
    assert "Available to download" not in text                      # the shipped list is empty


def test_import_checks_with_the_backend_and_installs(store, tmp_path):
    models, folder = store
    src = tmp_path / "fill.pt"
    shutil.copy(SHIPPED / "inbetween.pt", src)
    assert bpy.ops.anima.model_import(filepath=str(src), name="my_fill") == {"FINISHED"}
    assert sorted(p.name for p in folder.iterdir()) == ["my_fill.json", "my_fill.pt"]
    assert "my_fill (inbetween, licence CMU) imported" in models.LAST_RESULT["text"]
    assert "not loaded by torch" not in models.LAST_RESULT["text"]
    log = draw()
    assert ("set", "model_id", "my_fill") in log                    # its Remove button
    assert "No model card (.md) beside the file" in texts(log)
    assert bpy.ops.anima.model_remove(model_id="my_fill") == {"FINISHED"}
    assert list(folder.iterdir()) == []


def test_an_imported_generator_is_offered_by_generate_and_an_inbetweener_is_not(store,
                                                                              tmp_path):
    from anima.operators import generate
    models, folder = store
    for shipped, name in (("text2motion_clean.pt", "my_gen"), ("inbetween.pt", "my_fill")):
        shutil.copy(SHIPPED / shipped, tmp_path / shipped)
        assert bpy.ops.anima.model_import(filepath=str(tmp_path / shipped),
                                          name=name) == {"FINISHED"}
    offered = [item[0] for item in generate.model_items(None, bpy.context)]
    assert str(folder / "my_gen.pt") in offered
    assert str(folder / "my_fill.pt") not in offered
    assert generate.model_licence(str(folder / "my_gen.pt"))[0] != "licence unknown"


def test_import_refuses_bad_files_and_leaves_the_folder_alone(store, tmp_path):
    models, folder = store
    data = (SHIPPED / "inbetween.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 3])
    with pytest.raises(RuntimeError, match="truncated"):
        bpy.ops.anima.model_import(filepath=str(tmp_path / "cut.pt"))
    hollow = tmp_path / "hollow.pt"           # a right header, no network: only torch sees it
    subprocess.run([sys.executable, "-c", "import sys, torch; torch.save({'format': "
                    "'anima-text2motion', 'version': 2}, sys.argv[1])", str(hollow)],
                   check=True, timeout=120)
    with pytest.raises(RuntimeError, match="lacks 'model_config'"):
        bpy.ops.anima.model_import(filepath=str(hollow))
    with pytest.raises(RuntimeError, match="No checkpoint file"):
        bpy.ops.anima.model_import(filepath=str(tmp_path / "missing.pt"))
    assert list(folder.iterdir()) == []
    assert "lacks 'model_config'" in texts(draw()) and models._TASK is None  # the last error


def test_import_without_a_backend_python_says_the_weights_were_not_loaded(store, tmp_path):
    models, folder = store
    from anima import preferences
    preferences.get_prefs().python_path = str(tmp_path / "no-python")
    shutil.copy(SHIPPED / "camera_next_pose.pt", tmp_path / "cam.pt")
    assert bpy.ops.anima.model_import(filepath=str(tmp_path / "cam.pt")) == {"FINISHED"}
    assert "not loaded by torch" in models.LAST_RESULT["text"]
    assert (folder / "cam.pt").is_file()


@pytest.fixture()
def http_models(tmp_path, monkeypatch, store):
    """A local HTTP server serving the camera checkpoint, listed in a manifest."""
    models, folder = store
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(SHIPPED / "camera_next_pose.pt", served / "cam.pt")
    log = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, fmt, *args):
            log.append(self.path)

    srv = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(served)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    data = (served / "cam.pt").read_bytes()
    manifest = tmp_path / "available.json"
    manifest.write_text(json.dumps({"format": "anima-model-manifest", "models": [{
        "id": "cam_dl", "family": "camera_next_pose", "licence": "CC0-1.0", "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "url": f"http://127.0.0.1:{srv.server_address[1]}/cam.pt"}]}))
    monkeypatch.setattr(models, "MANIFEST_PATH", manifest)
    yield models, folder, log, data
    srv.shutdown()
    srv.server_close()


def test_download_is_refused_while_online_access_is_off(http_models):
    models, folder, log, _ = http_models
    assert bpy.app.online_access is False          # the bpy module's default here
    assert "Online access is disabled" in texts(draw())
    with pytest.raises(RuntimeError, match="Online access is disabled"):
        bpy.ops.anima.model_download(model_id="cam_dl")
    assert log == [] and list(folder.iterdir()) == []


def test_download_with_online_access_installs_the_checked_file(http_models, monkeypatch):
    models, folder, log, data = http_models
    monkeypatch.setattr(models, "online_access", lambda: True)
    assert ("set", "model_id", "cam_dl") in draw()                  # listed, downloadable
    assert bpy.ops.anima.model_download(model_id="cam_dl") == {"FINISHED"}
    assert (folder / "cam_dl.pt").read_bytes() == data and log == ["/cam.pt"]
    summary = json.loads((folder / "cam_dl.json").read_text())
    assert summary["licence"] == "CC0-1.0" and summary["family"] == "camera_next_pose"
    assert "cam_dl  (camera_next_pose, user)" in texts(draw())
    with pytest.raises(RuntimeError, match="No model 'nope'"):
        bpy.ops.anima.model_download(model_id="nope")


def test_threaded_download_is_pumped_by_the_timer_function(http_models):
    models, folder, _, data = http_models
    entry = models.modeldownload.load_manifest(models.MANIFEST_PATH)[0]
    task = models.modeldownload.Download(entry.url, folder / "cam_dl.pt", entry.sha256,
                                      entry.size, online_access=True)
    task.label, task.entry = "Downloading cam_dl", entry
    models._TASK = task.start()
    with pytest.raises(RuntimeError, match="still running"):           # one task at a time
        bpy.ops.anima.model_import(filepath=str(SHIPPED / "inbetween.pt"))
    assert ("operator", "anima.model_cancel") in draw()
    deadline = time.monotonic() + 60
    while models.pump() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert models._TASK is None and models.LAST_RESULT["level"] == "INFO"
    assert (folder / "cam_dl.pt").read_bytes() == data
    assert (folder / "cam_dl.json").is_file()


def test_threaded_import_is_pumped_by_the_timer_function(store, tmp_path):
    models, folder = store
    from anima import preferences
    task = models.ImportTask(SHIPPED / "inbetween.pt", folder, "fill",
                             preferences.resolve_python())
    models._TASK = task.start()
    log = draw()
    assert ("label", "Importing inbetween.pt") in log
    assert ("operator", "anima.model_cancel") not in log          # an import is not cancelled
    deadline = time.monotonic() + 120
    while models.pump() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert models._TASK is None and "fill (inbetween, licence CMU) imported" in \
        models.LAST_RESULT["text"]
    assert (folder / "fill.pt").read_bytes() == (SHIPPED / "inbetween.pt").read_bytes()
