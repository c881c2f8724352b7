"""The "Edit Motion" sub-panel: edits of the selected armature's Action, each written as a new
Action version (the original is kept; see the Versions panel). draw() only reads.

One block per edit: its settings, then its button. The settings shown are the operator's
last-used ones (`WindowManager.operator_properties_last`), so no scene property is needed and
the redo panel and this panel agree.
"""
import bpy

from .main import _AnimaPanel, _armature


class ANIMA_PT_edit_motion(_AnimaPanel, bpy.types.Panel):
    bl_idname = "ANIMA_PT_edit_motion"
    bl_label = "Edit Motion"
    bl_parent_id = "ANIMA_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context):
        return _armature(context) is not None

    def draw(self, context):
        layout = self.layout
        arm = _armature(context)
        if arm.animation_data is None or arm.animation_data.action is None:
            layout.label(text="No motion to edit", icon="INFO")
            return

        # Clean Keys: per-frame keys -> sparse keys within the two tolerances.
        last = context.window_manager.operator_properties_last("anima.clean_keys")
        col = layout.column(align=True)
        col.prop(last, "position_mm", text="Position (mm)")
        col.prop(last, "rotation_deg", text="Rotation (deg)")
        op = col.operator("anima.clean_keys", icon="IPO_BEZIER")
        op.position_mm = last.position_mm
        op.rotation_deg = last.rotation_deg

        # Change Speed (by a factor or to a duration) and Make Loop (operators/timing.py).
        last = context.window_manager.operator_properties_last("anima.retime")
        col = layout.column(align=True)
        col.row(align=True).prop(last, "by", expand=True)
        field = "factor" if last.by == "SPEED" else "seconds"
        col.prop(last, field)
        op = col.operator("anima.retime", icon="TIME")
        op.by = last.by
        setattr(op, field, getattr(last, field))
        last = context.window_manager.operator_properties_last("anima.make_loop")
        col = layout.column(align=True)
        col.prop(last, "blend_seconds")
        op = col.operator("anima.make_loop", icon="FILE_REFRESH")
        op.blend_seconds = last.blend_seconds


CLASSES = [ANIMA_PT_edit_motion]
