"""The "Follow Path" sub-panel: make the selected armature walk along a curve or a chain of
empties (operators/path_follow.py). draw() only reads.

The settings shown are the operator's last-used ones (`WindowManager.operator_properties_last`),
as in the Edit Motion panel, so the redo panel and this panel agree.
"""
import bpy

from .main import _AnimaPanel, _armature


class ANIMA_PT_follow_path(_AnimaPanel, bpy.types.Panel):
    bl_idname = "ANIMA_PT_follow_path"
    bl_label = "Follow Path"
    bl_parent_id = "ANIMA_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context):
        return _armature(context) is not None

    def draw(self, context):
        layout = self.layout
        last = context.window_manager.operator_properties_last("anima.follow_path")
        col = layout.column(align=True)
        col.prop_search(last, "path", bpy.data, "objects", text="Path")
        if not last.path:
            picked = [o for o in context.selected_objects if o.type in ("CURVE", "EMPTY")]
            col.label(text=f"Selected: {len(picked)} curve/empty object(s)", icon="INFO")
        col.prop(last, "gait", text="Gait")
        col.label(text="Empties: 'anima_frame' property = arrival frame", icon="EMPTY_AXIS")
        op = col.operator("anima.follow_path", icon="CURVE_PATH")
        op.path = last.path
        op.gait = last.gait


CLASSES = [ANIMA_PT_follow_path]
