"""The model manager: installed checkpoints (name, family, size, licence, data card, SHA-256),
Import Model, the running import/download with its progress and Cancel, and the models that
can be downloaded. `draw_model_manager(layout, context)` draws it into any layout (the add-on
preferences call it); ANIMA_PT_models shows it in the Anima sidebar. draw() only reads."""
import bpy

from ..operators import models
from .main import _AnimaPanel

CARD_LINES = 3                       # lines of a data card shown under a model


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


def _draw_entry(layout, entry) -> None:
    box = layout.box()
    row = box.row()
    title = f"{entry.id}  ({entry.family}, {entry.source})"
    row.label(text=title, icon="ERROR" if entry.problem else "FILE_BLEND")
    if entry.source == "user":
        row.operator("anima.model_remove", text="", icon="TRASH").model_id = entry.id
    col = box.column(align=True)
    use = "commercial use allowed" if entry.commercial_ok else "commercial use NOT allowed"
    col.label(text=f"{_size(entry.size)} · licence {entry.licence} ({use})")
    if entry.problem:
        col.label(text=f"Not usable: {entry.problem}", icon="ERROR")
    card = [line for line in entry.data_card.splitlines() if line.strip()][:CARD_LINES]
    for line in card:
        col.label(text=line[:120])
    if not card:
        col.label(text="No model card (.md) beside the file")
    col.label(text=f"SHA-256 {entry.sha256[:16]}...")


def draw_model_manager(layout, context) -> None:
    task = models.current_task()
    if task is not None:
        box = layout.box()
        row = box.row()
        row.label(text=getattr(task, "label", "Working"), icon="TIME")
        if getattr(task, "cancellable", True):
            row.operator("anima.model_cancel", text="Cancel", icon="CANCEL")
        progress = task.progress
        if progress is not None:
            box.progress(factor=progress, type="BAR", text=f"{progress * 100:.0f} %")
        if task.message:
            box.label(text=task.message)
    elif models.LAST_RESULT["text"]:
        icon = {"ERROR": "ERROR", "WARNING": "ERROR"}.get(models.LAST_RESULT["level"], "INFO")
        layout.label(text=models.LAST_RESULT["text"], icon=icon)

    row = layout.row()
    row.enabled = task is None
    row.operator("anima.model_import", text="Import Model...", icon="IMPORT")
    try:
        entries = models.catalogue()
    except OSError as e:
        layout.label(text=f"Models folder unavailable: {e}", icon="ERROR")
        entries = []
    for entry in entries:
        _draw_entry(layout, entry)

    listed, error = models.available()
    if error:
        layout.label(text=error, icon="ERROR")
    if listed:
        box = layout.box()
        box.label(text="Available to download")
        online = models.online_access()
        if not online:
            box.label(text="Online access is disabled (Preferences > System > Network)",
                      icon="ERROR")
        for entry in listed:
            row = box.row()
            row.label(text=f"{entry.id} ({entry.family}, {_size(entry.size)}, "
                           f"licence {entry.licence})")
            sub = row.row()
            sub.enabled = online and task is None
            sub.operator("anima.model_download", text="Download",
                         icon="IMPORT").model_id = entry.id


class ANIMA_PT_models(_AnimaPanel, bpy.types.Panel):
    bl_idname = "ANIMA_PT_models"
    bl_label = "Models"
    bl_parent_id = "ANIMA_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        draw_model_manager(self.layout, context)


CLASSES = [ANIMA_PT_models]
