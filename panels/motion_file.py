"""Anima > Motion Files: apply a motion file to the active armature, export its action."""
from __future__ import annotations

import bpy

from .main import _AnimaPanel, _armature


class ANIMA_PT_motion_files(_AnimaPanel, bpy.types.Panel):
    bl_idname = "ANIMA_PT_motion_files"
    bl_label = "Motion Files"
    bl_parent_id = "ANIMA_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        arm = _armature(context)
        col = layout.column(align=True)
        col.operator("anima.apply_motion_file", text="Apply Motion File...",
                     icon="FILEBROWSER")
        col.operator("anima.export_motion", text="Export...", icon="EXPORT")
        if arm is None:
            layout.label(text="Select an armature", icon="INFO")
            return
        anim = arm.animation_data
        action = anim.action if anim is not None else None
        layout.label(text=f"Action: {action.name}" if action is not None else "No action",
                     icon="ACTION")
        layout.label(text="Root motion and start frame: Retarget Options")


CLASSES = [ANIMA_PT_motion_files]
