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

        # Generator edits (operators/edit_ops.py): frames from the preview range / markers.
        rng = _range_text(context.scene)
        box = layout.box()
        box.label(text=f"Frames: {rng}", icon="PREVIEW_RANGE")
        last = context.window_manager.operator_properties_last("anima.inbetween")
        col = box.column(align=True)
        col.row(align=True).prop(last, "mode", expand=True)
        col.prop(last, "method", text="")
        op = col.operator("anima.inbetween", icon="IPO_EASE_IN_OUT")
        op.mode, op.method, op.text = last.mode, last.method, last.text
        last = context.window_manager.operator_properties_last("anima.join_clips")
        col = box.column(align=True)
        row = col.row(align=True)
        row.prop(last, "other", text="")
        row.prop(last, "gap_frames", text="Gap")
        op = col.operator("anima.join_clips", icon="LINKED")
        op.gap_frames, op.text = last.gap_frames, last.text
        if last.other:
            op.other = last.other
        last = context.window_manager.operator_properties_last("anima.regenerate_range")
        col = box.column(align=True)
        col.prop(last, "text", text="")
        op = col.operator("anima.regenerate_range", icon="FILE_REFRESH")
        op.text, op.seed = last.text, last.seed
        last = context.window_manager.operator_properties_last("anima.continue_motion")
        col = box.column(align=True)
        row = col.row(align=True)
        row.prop(last, "text", text="")
        row.prop(last, "seconds", text="")
        op = col.operator("anima.continue_motion", icon="FF")
        op.text, op.seconds, op.seed = last.text, last.seconds, last.seed
        last = context.window_manager.operator_properties_last("anima.edit_body_part")
        col = box.column(align=True)
        col.prop(last, "part", text="")
        col.prop(last, "text", text="")
        op = col.operator("anima.edit_body_part", icon="BONE_DATA")
        op.part, op.text, op.seed = last.part, last.text, last.seed

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


def _range_text(scene) -> str:
    if scene.use_preview_range:
        return f"preview range {scene.frame_preview_start}-{scene.frame_preview_end}"
    marked = sorted(m.frame for m in scene.timeline_markers if m.select)
    if len(marked) == 2:
        return f"markers {marked[0]}-{marked[1]}"
    return "none (preview range or two markers)"


CLASSES = [ANIMA_PT_edit_motion]
