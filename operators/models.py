"""The model manager's operators: import a checkpoint file, download a listed model, cancel,
remove one of the user's models (backend/modelstore.py and modeldownload.py do the work; panels/models.py draws).

Import and download run on a worker thread; a `bpy.app.timers` pump (`pump`) redraws the
progress and reports the end. In background mode (no timers) the operators block until the
task ends. The torch check of an imported file runs in the backend's Python
(`python -m backend.models.store_job verify`), never in Blender; without a configured
backend Python the file gets the standard-library checks only, and the report says so.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import bpy
from bpy.props import StringProperty

from .. import preferences
from ..backend import modeldownload, modelstore

ADDON_DIR = Path(preferences.ADDON_DIR)
SHIPPED_DIR = ADDON_DIR / "assets" / "models"
MANIFEST_PATH = SHIPPED_DIR / "available.json"
VERIFY_TIMEOUT_S = 300
PUMP_INTERVAL_S = 0.2

_TASK = None                       # the running ImportTask or Download (one at a time)
LAST_RESULT = {"level": "", "text": ""}     # the last finished task's outcome (panel)


def user_models_dir() -> Path:
    """The user's checkpoints: <extension user dir>/models when installed as an extension;
    loaded from a checkout, <user data>/models (backend/paths.py: where `python -m backend
    train text2motion` writes fine-tuned models and the Generate panel looks)."""
    try:
        return Path(bpy.utils.extension_path_user(preferences.ADDON_PACKAGE, path="models",
                                                  create=True))
    except (ValueError, AttributeError, OSError):
        from ..backend.paths import user_data_dir
        folder = user_data_dir() / "models"
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def online_access() -> bool:
    """Blender's *Allow Online Access* (Preferences > System > Network)."""
    return bool(getattr(bpy.app, "online_access", True))


def catalogue() -> list:
    return modelstore.catalogue(SHIPPED_DIR, user_models_dir())


def available() -> tuple[list, str]:
    """(manifest entries not installed yet, error message or "")."""
    try:
        entries = modeldownload.load_manifest(MANIFEST_PATH)
    except modelstore.ModelStoreError as e:
        return [], str(e)
    folder = user_models_dir()
    return [e for e in entries if not (folder / f"{e.id}.pt").exists()], ""


def current_task():
    return _TASK


def verify_with_backend(path, python: str) -> dict:
    """The torch check of `path` in the backend's interpreter (store_job.py); raises
    ModelStoreError with its message."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHOME"}
    try:
        done = subprocess.run([python, "-m", "backend.models.store_job", "verify", str(path)],
                              cwd=ADDON_DIR, env=env, capture_output=True, text=True,
                              timeout=VERIFY_TIMEOUT_S,
                              creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
    except (OSError, subprocess.TimeoutExpired) as e:
        raise modelstore.ModelStoreError(f"the backend's Python could not check the file: "
                                         f"{e}") from None
    lines = done.stdout.strip().splitlines()
    try:
        out = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise modelstore.ModelStoreError(f"the backend's Python could not check the file "
                                         f"({tail})") from None
    if not out.get("ok"):
        raise modelstore.ModelStoreError(out.get("error") or "the checkpoint did not load")
    return out


class ImportTask:
    """Import `src` as `name` into `folder` (the Download interface: state, message,
    progress, start, run, cancel)."""

    progress = None                                 # no measure: an indeterminate task
    cancellable = False                             # a copy and a check: seconds

    def __init__(self, src, folder: Path, name: str, python: str | None, note: str = ""):
        self.src, self.folder, self.name, self.python, self.note = src, folder, name, python, note
        self.state, self.message, self.thread = "waiting", "", None
        self.label = f"Importing {Path(src).name}"

    def cancel(self) -> None:
        pass

    def start(self) -> "ImportTask":
        self.thread = threading.Thread(target=self.run, name="anima-model-import", daemon=True)
        self.thread.start()
        return self

    def run(self) -> None:
        self.state = "running"
        self.message = "checking the file"
        verify = (lambda p: verify_with_backend(p, self.python)) if self.python else None
        try:
            entry, copied = modelstore.import_checkpoint(self.src, self.folder,
                                                         self.name or None, SHIPPED_DIR, verify)
        except modelstore.ModelStoreError as e:
            self.state, self.message = "failed", str(e)
            return
        what = "imported" if copied else "already installed (same file)"
        self.state = "done"
        self.message = (f"{entry.id} ({entry.family}, licence {entry.licence}) {what}"
                        f"{self.note}")


def _finish(task) -> tuple[str, str]:
    """Level and text of a finished task, remembered for the panel."""
    global _TASK
    level = "INFO" if task.state == "done" else ("WARNING" if task.state == "cancelled"
                                                  else "ERROR")
    if task.state == "done" and isinstance(task, modeldownload.Download):
        entry = getattr(task, "entry", None)
        try:
            info = modelstore.inspect_checkpoint(task.dest, getattr(entry, "family", None))
            if entry is not None:
                info.licence = entry.licence
            modelstore.write_summary(task.dest, info, task.sha256, f"downloaded from {task.url}")
        except (modelstore.ModelStoreError, OSError) as e:
            level, task.message = "WARNING", f"{task.message}, but: {e}"
    LAST_RESULT.update(level=level, text=task.message)
    _TASK = None
    return level, task.message


def _redraw() -> None:
    for window in getattr(bpy.context.window_manager, "windows", []):
        for area in window.screen.areas:
            area.tag_redraw()


def pump():
    """Timer: redraw while the task runs; report its end."""
    task = _TASK
    if task is None:
        return None
    if task.state in ("waiting", "running"):
        _redraw()
        return PUMP_INTERVAL_S
    _finish(task)
    _redraw()
    return None


def _launch(op, task) -> set:
    """Start `task`: on a thread with a UI, else here, blocking (background mode)."""
    global _TASK
    _TASK = task
    LAST_RESULT.update(level="", text="")
    if bpy.app.background:
        task.run()
        level, text = _finish(task)
        op.report({level}, text)
        return {"FINISHED"} if level != "ERROR" else {"CANCELLED"}
    task.start()
    bpy.app.timers.register(pump, first_interval=PUMP_INTERVAL_S)
    return {"FINISHED"}


def _busy(op) -> bool:
    if _TASK is not None:
        op.report({"ERROR"}, f"{getattr(_TASK, 'label', 'A model task')} is still running: "
                             f"wait for it or cancel it")
        return True
    return False


class ANIMA_OT_model_import(bpy.types.Operator):
    """Install a model checkpoint (.pt) from disk into your models folder, after checking
    that it is a complete Anima checkpoint this version can load"""
    bl_idname = "anima.model_import"
    bl_label = "Import Model"

    filepath: StringProperty(name="File", subtype="FILE_PATH", options={"SKIP_SAVE"})
    filter_glob: StringProperty(default="*.pt", options={"HIDDEN"})
    name: StringProperty(name="Name", options={"SKIP_SAVE"},
                         description="Name of the installed model (empty: the file's name)")

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        if _busy(self):
            return {"CANCELLED"}
        src = bpy.path.abspath(self.filepath) if self.filepath else ""
        if not src or not os.path.isfile(src):
            self.report({"ERROR"}, f"No checkpoint file at {src!r}")
            return {"CANCELLED"}
        try:
            python, note = preferences.resolve_python(), ""
        except preferences.ConfigError as e:
            python = None
            note = f"; its weights were not loaded by torch ({e})"
        try:
            folder = user_models_dir()
        except OSError as e:
            self.report({"ERROR"}, f"The models folder cannot be created: {e}")
            return {"CANCELLED"}
        return _launch(self, ImportTask(src, folder, self.name.strip(), python, note))


class ANIMA_OT_model_download(bpy.types.Operator):
    """Download a listed model into your models folder (resumable; checked against its
    SHA-256 before it is installed). Needs Blender's online access"""
    bl_idname = "anima.model_download"
    bl_label = "Download Model"

    model_id: StringProperty(name="Model", options={"SKIP_SAVE"})

    def execute(self, context):
        if not online_access():
            self.report({"ERROR"}, "Online access is disabled (Preferences > System > Network "
                                   "> Allow Online Access): nothing was downloaded. Download "
                                   "the file yourself and use Import Model")
            return {"CANCELLED"}
        if _busy(self):
            return {"CANCELLED"}
        try:
            listed = {e.id: e for e in modeldownload.load_manifest(MANIFEST_PATH)}
        except modelstore.ModelStoreError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        entry = listed.get(self.model_id)
        if entry is None:
            self.report({"ERROR"}, f"No model {self.model_id!r} in the model list")
            return {"CANCELLED"}
        try:
            dest = user_models_dir() / f"{entry.id}.pt"
            task = modeldownload.Download(entry.url, dest, entry.sha256, entry.size,
                                       online_access=True)
        except (OSError, modelstore.ModelStoreError) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        task.label, task.entry = f"Downloading {entry.id}", entry
        return _launch(self, task)


class ANIMA_OT_model_cancel(bpy.types.Operator):
    """Stop the running download (the part already received is kept to resume)"""
    bl_idname = "anima.model_cancel"
    bl_label = "Cancel"

    def execute(self, context):
        if _TASK is None:
            self.report({"INFO"}, "Nothing to cancel")
            return {"CANCELLED"}
        _TASK.cancel()
        return {"FINISHED"}


class ANIMA_OT_model_remove(bpy.types.Operator):
    """Delete one of your installed models (its checkpoint, card and summary)"""
    bl_idname = "anima.model_remove"
    bl_label = "Remove Model"

    model_id: StringProperty(name="Model", options={"SKIP_SAVE"})

    def invoke(self, context, event):
        return context.window_manager.invoke_confirm(self, event)

    def execute(self, context):
        if _busy(self):
            return {"CANCELLED"}
        try:
            modelstore.remove_user_model(user_models_dir(), self.model_id)
        except (OSError, modelstore.ModelStoreError) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Removed {self.model_id}")
        return {"FINISHED"}


CLASSES = [ANIMA_OT_model_import, ANIMA_OT_model_download, ANIMA_OT_model_cancel,
           ANIMA_OT_model_remove]
PROPS = []


def shutdown() -> None:
    """Stop a running download when the add-on is disabled."""
    if _TASK is not None:
        _TASK.cancel()
    if bpy.app.timers.is_registered(pump):
        bpy.app.timers.unregister(pump)
