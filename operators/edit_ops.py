"""The Edit Motion operators (buttons) for the generator edits of `edit_motion.py`.

The frames to edit come from the operator's Start / End when set, else the scene's preview
range when it is on, else the two selected timeline markers. Every operator submits one job
and returns at once (blocking in background mode); the new Action version lands when the job
ends, as one undo step.
"""
from __future__ import annotations

import bpy
from bpy.props import EnumProperty, FloatProperty, IntProperty, StringProperty

from . import edit_motion, jobs


def submit_and_report(op, run) -> set:
    """Call `run()` (it submits a job that makes a new Action version and returns its
    JobRecord) and report the outcome on operator `op` as every edit does."""
    try:
        rec = run()
    except (ValueError, jobs.JobFailed) as e:
        op.report({"ERROR"}, str(e))
        return {"CANCELLED"}
    except Exception as e:  # noqa: BLE001 - every failure becomes a report
        op.report({"ERROR"}, jobs.user_message(e))
        return {"CANCELLED"}
    if rec.done:
        if rec.error:
            op.report({"ERROR"}, rec.error)
            return {"CANCELLED"}
        op.report({"INFO"}, f"New version {rec.applied_name!r}")
    return {"FINISHED"}


def scene_range(scene) -> tuple[int, int] | None:
    """(start, end) of the preview range when on, else of the two selected markers."""
    if scene.use_preview_range:
        return scene.frame_preview_start, scene.frame_preview_end
    marked = sorted(m.frame for m in scene.timeline_markers if m.select)
    if len(marked) == 2:
        return marked[0], marked[1]
    if len(marked) > 2:
        raise ValueError(f"{len(marked)} markers are selected: select two to mark the range")
    return None


METHOD_ITEMS = [
    ("auto", "Automatic", "The generator when there is text, else the learned in-betweener"),
    ("learned", "Learned", "The in-betweening network"),
    ("slerp", "Interpolate", "Plain rotation interpolation (the baseline)"),
    ("generator", "Generator", "The text-to-motion generator (steered by the text)")]


class _EditJob:
    bl_options = {"REGISTER"}

    text: StringProperty(name="Text", description="What the new motion shows")
    seed: IntProperty(name="Seed", min=0, default=0)
    start: IntProperty(name="Start", default=-1, options={"SKIP_SAVE"},
                       description="First frame to edit (-1: the preview range or markers)")
    end: IntProperty(name="End", default=-1, options={"SKIP_SAVE"},
                     description="Last frame to edit (-1: the preview range or markers)")

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return obj is not None and obj.type == "ARMATURE"

    def _range(self, context, required: bool):
        if self.start >= 0 and self.end >= 0:
            return self.start, self.end
        found = scene_range(context.scene)
        if found is None and required:
            raise ValueError("Set the frames to edit: turn on the preview range (Ctrl+P in "
                             "the timeline) or select two markers")
        return found or (None, None)

    def submit(self, context, edit: str, **kwargs):
        from .generate import options_from_settings
        opts = options_from_settings(context.scene.anima, context.scene)
        return submit_and_report(self, lambda: edit_motion.run_edit(
            context.active_object, edit, scene=context.scene,
            options={"root_mode": opts["root_mode"], "foot_ik": opts["foot_ik"]},
            context=context, **kwargs))


class ANIMA_OT_inbetween(_EditJob, bpy.types.Operator):
    """Fill the motion between the poses you keyed on the active armature (or re-make a frame
    range between the frames around it), passing exactly through every keyed pose; writes a
    new Action version"""
    bl_idname = "anima.inbetween"
    bl_label = "In-between"

    mode: EnumProperty(name="Fill", items=[
        ("KEYS", "Between Keys", "Fill every gap between the keyed frames"),
        ("RANGE", "Frame Range", "Re-make the frames of the preview range (or between two "
                                 "selected markers) from the frames around them")],
        default="KEYS")
    method: EnumProperty(name="Method", items=METHOD_ITEMS, default="auto")

    def execute(self, context):
        try:
            start, end = self._range(context, self.mode == "RANGE") if self.mode == "RANGE" \
                else (None, None)
        except ValueError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        return self.submit(context, "inbetween", start=start, end=end, text=self.text,
                           seed=self.seed, method=self.method)


class ANIMA_OT_regenerate_range(_EditJob, bpy.types.Operator):
    """Re-make a frame range (preview range or two selected markers) of the active
    armature's motion from new text; the frames outside stay exactly as they are"""
    bl_idname = "anima.regenerate_range"
    bl_label = "Regenerate Range"

    def execute(self, context):
        try:
            start, end = self._range(context, True)
        except ValueError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        return self.submit(context, "regenerate", start=start, end=end, text=self.text,
                           seed=self.seed)


class ANIMA_OT_continue_motion(_EditJob, bpy.types.Operator):
    """Continue the active armature's motion by a few seconds, optionally as the text says"""
    bl_idname = "anima.continue_motion"
    bl_label = "Continue"

    seconds: FloatProperty(name="Seconds", default=2.0, min=0.1, max=30.0)

    def execute(self, context):
        return self.submit(context, "continue", seconds=self.seconds, text=self.text,
                           seed=self.seed)


class ANIMA_OT_edit_body_part(_EditJob, bpy.types.Operator):
    """Re-make one body part of the active armature's motion from text (e.g. the upper body
    waving), keeping the rest exactly; in the preview range only when it is on"""
    bl_idname = "anima.edit_body_part"
    bl_label = "Edit Body Part"

    part: EnumProperty(name="Part", items=edit_motion.PART_ITEMS, default="upper_body")

    def execute(self, context):
        try:
            start, end = self._range(context, False)
            kwargs = {}
            if self.part == "SELECTED":
                names = [pb.name for pb in (context.selected_pose_bones or [])]
                if not names:
                    raise ValueError("Select the pose bones to edit (Pose Mode)")
                kwargs["bones"] = names
            else:
                kwargs["parts"] = [self.part]
        except ValueError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        return self.submit(context, "body_part", start=start, end=end, text=self.text,
                           seed=self.seed, **kwargs)


def _action_items(self, context):
    obj = context.active_object if context else None
    current = obj.animation_data.action if obj is not None and obj.animation_data else None
    items = [(a.name, a.name, "") for a in bpy.data.actions
             if a != current and a.get("anima_armature") in (None, getattr(obj, "name", None))]
    _action_items.cache = items or [("", "(no other Action)", "")]
    return _action_items.cache


class ANIMA_OT_join_clips(_EditJob, bpy.types.Operator):
    """Join another Action after the active armature's motion: it is placed where this one
    ends and the gap between them is filled by in-betweening; writes a new Action version"""
    bl_idname = "anima.join_clips"
    bl_label = "Join Clips"

    other: EnumProperty(name="Then", items=_action_items,
                        description="The Action that plays after the active one")
    gap_frames: IntProperty(name="Gap", default=10, min=1, max=600,
                            description="Frames to fill between the two")
    method: EnumProperty(name="Method", items=METHOD_ITEMS, default="auto")

    def execute(self, context):
        if not self.other:
            self.report({"ERROR"}, "Pick the Action to join after this one")
            return {"CANCELLED"}
        return self.submit(context, "join", other=self.other, gap_frames=self.gap_frames,
                           text=self.text, seed=self.seed, method=self.method)


CLASSES = [ANIMA_OT_inbetween, ANIMA_OT_join_clips, ANIMA_OT_regenerate_range, ANIMA_OT_continue_motion,
           ANIMA_OT_edit_body_part]
