"""The Versions sub-panel: the motions Anima made for the selected armature, to switch between
(operators/versions.py). draw() only reads."""
import bpy

from ..operators import versions
from .main import _AnimaPanel, _armature


class ANIMA_PT_versions(_AnimaPanel, bpy.types.Panel):
    bl_idname = "ANIMA_PT_versions"
    bl_label = "Versions"
    bl_parent_id = "ANIMA_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context):
        return _armature(context) is not None

    def draw(self, context):
        arm = _armature(context)
        found = versions.versions_of(arm)
        if not found:
            self.layout.label(text="No motion yet")
            return
        active = arm.animation_data.action if arm.animation_data else None
        col = self.layout.column(align=True)
        for action in reversed(found):           # newest first
            op = col.operator("anima.use_version", text=versions.version_label(action),
                              icon="RADIOBUT_ON" if action == active else "RADIOBUT_OFF",
                              depress=action == active)
            op.action = action.name


CLASSES = [ANIMA_PT_versions]
