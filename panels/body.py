"""The "SMPL-X Body" sub-panel: add a body from the user's own SMPL-X files (or say how to get
them) and export motion as SMPL-X parameters."""
from __future__ import annotations

import bpy

from .. import preferences
from ..operators.body import DOWNLOAD_STEPS
from .main import _AnimaPanel, _wrap_label


class ANIMA_PT_smplx(_AnimaPanel, bpy.types.Panel):
    bl_idname = "ANIMA_PT_smplx"
    bl_label = "SMPL-X Body"
    bl_parent_id = "ANIMA_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        folder = getattr(preferences.get_prefs(context), "smplx_folder", "")
        if folder:
            layout.operator_menu_enum("anima.add_smplx_body", "gender", text="Add SMPL-X Body",
                                      icon="OUTLINER_OB_ARMATURE")
            col = layout.column(align=True)
            col.scale_y = 0.7
            col.label(text=f"Models: {folder}")
        else:
            box = layout.box()
            box.label(text="SMPL-X model files needed", icon="INFO")
            for i, step in enumerate(DOWNLOAD_STEPS):
                _wrap_label(box, f"{i + 1}. {step}", width=44)
            box.label(text="(licence: they cannot come with Anima)")
        row = layout.row()
        obj = context.active_object
        row.enabled = obj is not None and obj.type == "ARMATURE"
        row.operator("anima.export_smplx", text="Export SMPL-X Motion...", icon="EXPORT")


CLASSES = [ANIMA_PT_smplx]
