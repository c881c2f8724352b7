"""Timing edits of the active armature's Action: play it faster / slower (or fit it to a
duration) without feet sliding, and make it loop. Each edit reads the Action back as a
canonical clip (`rig_motion.canonical_clip_from_armature`), edits it
(`backend.motion.timing`) and writes the result as a NEW Action, "<original> (x1.5)" /
"<original> (loop)", with the custom property `anima_version_of` = the original's name; the
original is kept (fake user) and can be brought back in the Versions panel. One undo step;
on any error the scene is left as it was.

Scripting::

    from anima.operators import timing
    timing.retime_action(rig, factor=1.5)      # or seconds=2.0
    timing.loop_action(rig, blend_seconds=0.3)
"""
from __future__ import annotations

import bpy
from bpy.props import EnumProperty, FloatProperty

from ..backend.motion import timing as timing_core
from . import retarget, rig_motion
from .edit_motion import current_action


def _write_version(arm_obj, action, clip, suffix: str, edit: str, scene, root_mode: str,
                   foot_ik: bool):
    """Key `clip` on the armature as the new Action "<action> <suffix>"."""
    start = float(action.frame_range[0])
    info = {"anima_version_of": action.name, "anima_edit": edit}
    return retarget.apply_clip_to_armature(
        arm_obj, clip, root_mode=root_mode, foot_ik=foot_ik, frame_start=start,
        action_name=f"{action.name} {suffix}", scene=scene, info=info)


def _read(arm_obj, scene):
    action = current_action(arm_obj)
    start, end = rig_motion.action_frame_range(arm_obj)
    clip = rig_motion.canonical_clip_from_armature(arm_obj, start, end, scene=scene)
    return action, clip


def retime_action(arm_obj, factor: float | None = None, seconds: float | None = None, *,
                  scene=None, root_mode: str = "hips", foot_ik: bool = True):
    """The armature's Action played `factor` times as fast (or in `seconds`) as a new Action
    (returned). Raises ValueError with a message for the user; nothing changes then."""
    scene = scene or bpy.context.scene
    action, clip = _read(arm_obj, scene)
    edited = timing_core.retime(clip, factor=factor, seconds=seconds)
    if factor is not None:
        suffix, edit = f"(x{factor:g})", f"retime x{factor:g}"
    else:
        suffix, edit = f"({seconds:g} s)", f"retime to {seconds:g} s"
    return _write_version(arm_obj, action, edited, suffix, edit, scene, root_mode, foot_ik)


def loop_action(arm_obj, blend_seconds: float = 0.3, cycle: float | None = None, *,
                scene=None, root_mode: str = "hips", foot_ik: bool = False):
    """The armature's Action made into a seamless cycle as a new Action (returned). Foot IK
    is off by default for the loop: its contact locking looks at neighbouring frames, which
    makes the first and last frames differ. Raises ValueError; nothing changes then."""
    scene = scene or bpy.context.scene
    action, clip = _read(arm_obj, scene)
    edited = timing_core.make_loop(clip, blend_seconds=blend_seconds, cycle=cycle)
    return _write_version(arm_obj, action, edited, "(loop)",
                          f"loop, {blend_seconds:g} s blend", scene, root_mode, foot_ik)


def _scene_options(context) -> dict:
    from .generate import options_from_settings
    return options_from_settings(context.scene.anima, context.scene)


def _report_error(op, e: Exception):
    from .jobs import user_message
    op.report({"ERROR"}, user_message(e))
    return {"CANCELLED"}


class _EditOperator:
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return obj is not None and obj.type == "ARMATURE"


class ANIMA_OT_retime(_EditOperator, bpy.types.Operator):
    """Play the active armature's motion faster or slower (or fit it to a duration) as a new
    Action, keeping planted feet planted; the original Action is kept"""
    bl_idname = "anima.retime"
    bl_label = "Change Speed"

    by: EnumProperty(name="By", items=[("SPEED", "Speed", "Multiply the speed"),
                                       ("DURATION", "Duration", "Fit to a duration")],
                     default="SPEED")
    factor: FloatProperty(name="Speed", default=1.5, soft_min=0.25, soft_max=4.0,
                          description="2 plays twice as fast, 0.5 at half speed")
    seconds: FloatProperty(name="Duration", default=2.0, soft_min=0.1, soft_max=60.0,
                           unit="TIME_ABSOLUTE", description="New length in seconds")

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "by", expand=True)
        layout.prop(self, "factor" if self.by == "SPEED" else "seconds")

    def execute(self, context):
        opts = _scene_options(context)
        try:
            kwargs = {"factor": self.factor} if self.by == "SPEED" else {"seconds": self.seconds}
            action = retime_action(context.active_object, scene=context.scene,
                                   root_mode=opts["root_mode"], foot_ik=opts["foot_ik"],
                                   **kwargs)
        except Exception as e:  # noqa: BLE001 - every failure becomes a report
            return _report_error(self, e)
        self.report({"INFO"}, f"New version {action.name!r}")
        return {"FINISHED"}


class ANIMA_OT_make_loop(_EditOperator, bpy.types.Operator):
    """Make the active armature's motion a seamless cycle (first and last frames match, the
    root's travel carries over) as a new Action; the original Action is kept"""
    bl_idname = "anima.make_loop"
    bl_label = "Make Loop"

    blend_seconds: FloatProperty(name="Blend", default=0.3, soft_min=0.05, soft_max=1.0,
                                 unit="TIME_ABSOLUTE",
                                 description="How long each end of the loop blends over")

    def execute(self, context):
        opts = _scene_options(context)
        try:
            action = loop_action(context.active_object, self.blend_seconds,
                                 scene=context.scene, root_mode=opts["root_mode"])
        except Exception as e:  # noqa: BLE001 - every failure becomes a report
            return _report_error(self, e)
        self.report({"INFO"}, f"New version {action.name!r}")
        return {"FINISHED"}


CLASSES = [ANIMA_OT_retime, ANIMA_OT_make_loop]
