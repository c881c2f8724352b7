"""Make Physically Plausible (issue 11): a simulated humanoid in the backend (job kind
`physics`, ``backend/models/physics/job.py``) performs the active Action of the active
armature, on any rig through the canonical skeleton, and the motion it managed comes back as a
NEW Action version, one undo step, through the machinery of the generator edits
(``edit_motion.apply_edit`` -> ``splice.write_edit_version``): frames outside the simulated
range keep their values to the last bit, the original Action is kept.

On the new version the per-frame foot contacts are keyed as two custom properties of the
armature object, `anima_contact_left` / `anima_contact_right` (0 or 1, constant
interpolation: visible in the Graph Editor and Dope Sheet), and the backend's report (tracking
error, root help, penetration / floating / foot skating before and after, fell or not) is
stored on the Action as `anima_physics_*` custom properties; the Physics panel shows it.
Bad input raises ValueError with a message for the user before anything changes.

Scripting (blocking in background mode)::

    from anima.operators import physics
    physics.run_physics(rig)                                  # the whole Action
    physics.run_physics(rig, start=40, end=80, assistance=0.2, friction=0.6,
                        push={"frame": 55, "force": (0, 300, 0), "seconds": 0.1})
"""
from __future__ import annotations

import math

import bpy
import numpy as np
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, FloatVectorProperty,
                       IntProperty)

from ..backend.motion.skeleton import CANONICAL_NAMES
from ..backend.motion.wire import clip_to_wire
from . import edit_motion, jobs, keys, rig_motion
from .edit_ops import scene_range

# The job's bounds (backend/models/physics/job.py), checked here first for a clear message.
ASSISTANCE = (0.0, 1.0)
FRICTION = (0.05, 3.0)
GRAVITY = (0.1, 30.0)              # m/s^2
PUSH_MAX_N = 5000.0
PUSH_SECONDS = (0.01, 2.0)
DEFAULTS = {"assistance": 0.5, "friction": 0.9, "gravity": 9.81, "planner": False,
            "recover": True}

CONTACT_PROPS = {"left_foot": "anima_contact_left", "right_foot": "anima_contact_right"}
CONTACT_GROUP = "Anima Contacts"
REPORT_PREFIX = "anima_physics_"
REPORT_KEYS = ("mpjpe_mm_mean", "mpjpe_mm_max", "success", "fell", "fell_frame",
               "residual_n_mean", "residual_n_max", "residual_pct_weight_mean",
               "penetration_before", "penetration_after", "floating_before", "floating_after",
               "skate_before", "skate_after", "needed_force_pct_weight", "push_steps")
LABEL = "physics"
PUSH_BODIES = [("spine3", "Chest", "Push the upper chest"),
               ("pelvis", "Hips", "Push the hips"),
               ("head", "Head", "Push the head"),
               ("left_shoulder", "Left Shoulder", "Push the left shoulder"),
               ("right_shoulder", "Right Shoulder", "Push the right shoulder")]


def _number(name: str, value, lo: float, hi: float, unit: str = "", hint: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo:g} and {hi:g}{unit}{hint}, got "
                         f"{value:g}{unit}")
    return value


def check_options(assistance, friction, gravity, planner=False, recover=True) -> dict:
    """The simulation settings, checked (ValueError with the reason)."""
    if isinstance(gravity, (int, float)) and not isinstance(gravity, bool) and gravity <= 0:
        raise ValueError(f"Gravity must be above 0 m/s² (Earth: 9.81), got {gravity:g}: the "
                         f"body needs weight to stand on its feet")
    if isinstance(friction, (int, float)) and not isinstance(friction, bool) and friction <= 0:
        raise ValueError(f"Friction must be above 0 (dry ground: about 0.9), got {friction:g}: "
                         f"without it the feet cannot push off")
    return {"assistance": _number("Root assistance", assistance, *ASSISTANCE,
                                  hint=" (0: no help, 1: enough to hold any motion)"),
            "friction": _number("Friction", friction, *FRICTION),
            "gravity": _number("Gravity", gravity, *GRAVITY, unit=" m/s²"),
            "planner": bool(planner), "recover": bool(recover)}


def _frames_edited(frames: np.ndarray, start, end) -> np.ndarray:
    """(T,) bool: the scene frames to simulate (every frame when start and end are None)."""
    first, last = int(frames[0]), int(frames[-1])
    if start is None and end is None:
        if len(frames) < 2:
            raise ValueError(f"The Action has a single frame ({first}): physics needs motion, "
                             f"at least two frames")
        return np.ones(len(frames), bool)
    if start is None or end is None:
        raise ValueError("Give both the first and the last frame to simulate")
    start, end = int(round(start)), int(round(end))
    if end < start:
        raise ValueError(f"The range {start}-{end} is empty: its end is before its start")
    if start < first or end > last:
        raise ValueError(f"The range {start}-{end} is outside the Action's frames "
                         f"{first}-{last}")
    if end == start:
        raise ValueError(f"The range {start}-{end} is a single frame: physics needs motion, "
                         f"give at least two frames")
    return (frames >= start) & (frames <= end)


def _push_param(push: dict, frames: np.ndarray, edited: np.ndarray) -> dict:
    """One push of the job's params from {"frame": scene frame, "force": (3,) N world axes,
    "seconds", "body"} (ValueError)."""
    frame = push.get("frame")
    if isinstance(frame, bool) or not isinstance(frame, (int, float)) or \
            not math.isfinite(frame) or frame != int(frame):
        raise ValueError(f"The push frame must be a whole frame, got {frame!r}")
    frame = int(frame)
    sim = frames[edited]
    if not sim[0] <= frame <= sim[-1]:
        raise ValueError(f"The push at frame {frame} is outside the simulated frames "
                         f"{int(sim[0])}-{int(sim[-1])}")
    force = np.asarray(push.get("force", ()), dtype=np.float64).ravel()
    if force.shape != (3,) or not np.all(np.isfinite(force)):
        raise ValueError("The push force must be three numbers (newtons, world X Y Z)")
    strength = float(np.linalg.norm(force))
    if strength <= 0.0:
        raise ValueError("The push has no strength: give it a direction and newtons above 0")
    if strength > PUSH_MAX_N:
        raise ValueError(f"A push of {strength:.0f} N is more than {PUSH_MAX_N:g} N: that is "
                         f"a crash, not a push")
    seconds = _number("The push duration", push.get("seconds", 0.1), *PUSH_SECONDS, unit=" s")
    body = push.get("body", "spine3")
    if body not in CANONICAL_NAMES:
        raise ValueError(f"Push a body part of the canonical skeleton, not {body!r}")
    return {"frame": frame - int(frames[0]), "force": [float(v) for v in force],
            "seconds": seconds, "body": body}


def plan_physics(clip, first_frame: int, *, start=None, end=None, push=None,
                 **settings) -> edit_motion.EditPlan:
    """The job and how its answer lands, for `clip` (the Action read back, canonical, one
    pose per scene frame from `first_frame`); start, end: scene frames (None: whole Action);
    push: None or {"frame" (scene frame), "force" (3,) N, "seconds", "body"}. ValueError."""
    options = check_options(**{**DEFAULTS, **settings})
    frames = np.arange(clip.num_frames, dtype=np.float64) + int(first_frame)
    edited = _frames_edited(frames, start, end)
    idx = np.flatnonzero(edited)
    whole = bool(edited.all())
    params = {"clip": clip_to_wire(clip), "start": None if whole else int(idx[0]),
              "end": None if whole else int(idx[-1]), **options,
              "pushes": [_push_param(push, frames, edited)] if push else [],
              "first_frame": int(frames[0])}
    label = LABEL if whole else f"{LABEL} {int(frames[idx[0]])}-{int(frames[idx[-1]])}"
    return edit_motion.EditPlan(frames, edited, np.flatnonzero(~edited), None, params, label)


# The tracker's own report keys (backend/models/physics/track.py), read when the job passes
# them on: {report key: (path in the tracker's report, scale to metres / fractions)}.
_NATIVE = {"mpjpe_mm_mean": (("tracking_error_mm_mean",), 1.0),
           "mpjpe_mm_max": (("tracking_error_mm_max",), 1.0),
           "residual_n_mean": (("residual_force_N_mean",), 1.0),
           "residual_n_max": (("residual_force_N_max",), 1.0),
           "residual_pct_weight_mean": (("residual_force_pct_weight_mean",), 1.0),
           "needed_force_pct_weight": (("needed_force_pct_weight_mean",), 1.0),
           **{f"{name}_{when}": ((when, key), scale) for when in ("before", "after")
              for name, key, scale in (("penetration", "penetration_cm", 0.01),
                                       ("floating", "floating_cm", 0.01),
                                       ("skate", "foot_skating", 1.0))}}


def _checked_report(result: dict) -> dict:
    """{REPORT_KEYS: value}: penetration / floating in metres, skating a fraction of frames,
    fell_frame a clip frame; keys the result lacks are left out (ValueError: no report)."""
    report = result.get("report")
    if not isinstance(report, dict):
        raise ValueError("The backend's physics result has no report; the motion was not "
                         "applied")
    out = {}
    for key in REPORT_KEYS:
        value = report.get(key)
        if value is None and key in _NATIVE:
            path, scale = _NATIVE[key]
            value = report
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = value * scale
        if isinstance(value, bool) or (isinstance(value, (int, float)) and
                                       math.isfinite(value)):
            out[key] = value
    return out


def _checked_contacts(result: dict, T: int) -> dict[str, np.ndarray]:
    contacts = result.get("contacts")
    if not isinstance(contacts, dict):
        raise ValueError("The backend's physics result has no foot contacts; the motion was "
                         "not applied")
    out = {}
    for name in CONTACT_PROPS:
        row = contacts.get(name)
        if not isinstance(row, list) or len(row) != T or \
                not all(isinstance(v, (int, float)) and v in (0, 1) for v in row):
            raise ValueError(f"The backend's {name.replace('_', ' ')} contacts are not one 0/1 "
                             f"per frame ({T} frames); the motion was not applied")
        out[name] = np.asarray(row, dtype=np.float64)
    return out


def write_contacts(arm_obj, action, frames: np.ndarray, contacts: dict) -> None:
    """Key `anima_contact_left` / `_right` (0/1, constant) on the armature object in `action`
    (replacing such curves the action was copied with)."""
    for prop in CONTACT_PROPS.values():
        if prop not in arm_obj.keys():
            arm_obj[prop] = 0
        arm_obj.id_properties_ui(prop).update(
            min=0, max=1, description="1 where the simulated foot touches the ground "
                                      "(Anima physics)")
    ch = keys._Channels(action, arm_obj, existing=True)
    paths = {f'["{p}"]' for p in CONTACT_PROPS.values()}
    for fc in list(keys.fcurves_of(action, arm_obj)):
        if fc.data_path in paths:
            ch.remove(fc)
    for name, prop in CONTACT_PROPS.items():
        ch.write(f'["{prop}"]', 0, CONTACT_GROUP, frames, contacts[name],
                 interpolation="CONSTANT")


def store_report(action, report: dict, plan, warnings) -> None:
    """The report (fell_frame as a scene frame) and the settings on `action`."""
    for key in list(action.keys()):
        if key.startswith(REPORT_PREFIX):
            del action[key]
    for key, value in report.items():
        if key == "fell_frame":
            value = int(round(value + plan.frames[0]))
        action[REPORT_PREFIX + key] = value
    for key in ("assistance", "friction", "gravity"):
        action[REPORT_PREFIX + key] = float(plan.params[key])
    idx = np.flatnonzero(plan.edited)
    action[REPORT_PREFIX + "frames"] = f"{int(plan.frames[idx[0]])}-{int(plan.frames[idx[-1]])}"
    action[REPORT_PREFIX + "pushes"] = len(plan.params["pushes"])
    if warnings:
        action[REPORT_PREFIX + "warnings"] = "; ".join(str(w) for w in warnings)[:1000]


def apply_physics(result: dict, target: str, action_name: str, plan, options: dict,
                  scene_name: str | None = None):
    """Write a `physics` job's answer onto armature `target` as a new version of
    `action_name` (returned): the motion, the contacts, the report. ValueError, then nothing
    has changed."""
    report = _checked_report(result or {})
    contacts = _checked_contacts(result or {}, len(plan.frames))
    obj = bpy.data.objects.get(target)
    old = bpy.data.actions.get(action_name)
    new = edit_motion.apply_edit(result, target, action_name, plan, options, scene_name)
    try:
        write_contacts(obj, new, plan.frames, contacts)
        store_report(new, report, plan, result.get("warnings") or [])
    except Exception:
        keys.assign_action(obj, old)
        bpy.data.actions.remove(new)
        raise
    return new


def run_physics(arm_obj, *, scene=None, start=None, end=None, push=None,
                options: dict | None = None, block: bool | None = None, context=None,
                **settings):
    """Check, submit and (blocking: at once, else when the job ends) apply. Returns the
    jobs.JobRecord. ValueError / jobs.JobFailed for the user; nothing changes then."""
    scene = scene or bpy.context.scene
    action = edit_motion.current_action(arm_obj)
    check_options(**{**DEFAULTS, **settings})
    edit_motion._check_idle(arm_obj)
    first, last = rig_motion.action_frame_range(arm_obj)
    frames = np.arange(round(first), round(last) + 1, dtype=np.float64)
    edited = _frames_edited(frames, start, end)          # a bad range before the slow read
    if push:
        _push_param(push, frames, edited)
    clip = rig_motion.canonical_clip_from_armature(arm_obj, round(first), round(last), scene)
    plan = plan_physics(clip, round(first), start=start, end=end, push=push, **settings)
    options = dict(options or {"root_mode": "hips", "foot_ik": True})
    target, action_name, scene_name = arm_obj.name, action.name, scene.name

    def on_result(result):
        return apply_physics(result, target, action_name, plan, options, scene_name)

    return jobs.get_session().submit(
        "physics", plan.params, label=f"physics on {target}", on_result=on_result,
        undo_message=f"Anima: {plan.label}", context=context, block=block)


def report_of(action) -> dict | None:
    """The physics report stored on `action` ({key: value} without the prefix), or None when
    the action is not a physics version (or an edit made from one)."""
    if action is None or not str(action.get("anima_edit", "")).startswith(LABEL):
        return None
    out = {k[len(REPORT_PREFIX):]: action[k] for k in action.keys()
           if k.startswith(REPORT_PREFIX)}
    return out or None


class ANIMA_OT_make_physical(bpy.types.Operator):
    """Let a simulated humanoid perform the active armature's motion (the whole Action, or the
    preview range / two selected markers) and keep what it managed: no floating, sinking or
    sliding feet; writes a new Action version with the foot contacts keyed"""
    bl_idname = "anima.make_physical"
    bl_label = "Make Physically Plausible"
    bl_options = {"REGISTER"}

    frames: EnumProperty(name="Frames", items=[
        ("ALL", "Whole Action", "Simulate every frame of the Action"),
        ("RANGE", "Frame Range", "Simulate the preview range (or between two selected markers); "
                                 "the frames outside stay exactly as they are")],
        default="ALL")
    start: IntProperty(name="Start", default=-1, options={"SKIP_SAVE"},
                       description="First frame to simulate (-1: the preview range or markers)")
    end: IntProperty(name="End", default=-1, options={"SKIP_SAVE"},
                     description="Last frame to simulate (-1: the preview range or markers)")
    # Soft limits only: a value out of bounds gets a clear error instead of a silent clamp.
    assistance: FloatProperty(name="Root Assistance", default=DEFAULTS["assistance"],
                              soft_min=0.0, soft_max=1.0, subtype="FACTOR",
                              description="How much an invisible hand on the hips may help "
                                          "(0: none, the body may fall; 1: enough for any "
                                          "motion)")
    friction: FloatProperty(name="Friction", default=DEFAULTS["friction"], soft_min=0.05,
                            soft_max=3.0, description="Grip of the feet on the ground "
                                                      "(0.9: dry ground, 0.1: ice)")
    gravity: FloatProperty(name="Gravity", default=DEFAULTS["gravity"], soft_min=0.1,
                           soft_max=30.0, unit="ACCELERATION",
                           description="m/s² (Earth 9.81, Moon 1.62)")
    planner: BoolProperty(name="Balance Planner", default=DEFAULTS["planner"],
                          description="Search short futures for a balancing correction (about "
                                      "6x slower; helps hard clips at low root assistance, "
                                      "docs/physics.md)")
    use_push: BoolProperty(name="Push", default=False,
                           description="Shove the character at a frame: it reacts, recovers "
                                       "(or falls) and returns to the motion")
    push_frame: IntProperty(name="Push Frame", default=1, description="Scene frame of the push")
    push_direction: FloatVectorProperty(name="Push Direction", size=3, default=(0.0, 1.0, 0.0),
                                        subtype="XYZ",
                                        description="World direction of the push (+Y: from "
                                                    "the front, the character faces -Y)")
    push_strength: FloatProperty(name="Push Strength", default=300.0, soft_min=0.0,
                                 soft_max=PUSH_MAX_N, description="Newtons")
    push_seconds: FloatProperty(name="Push Seconds", default=0.1, soft_min=0.01, soft_max=2.0,
                                unit="TIME_ABSOLUTE")
    push_body: EnumProperty(name="Push At", items=PUSH_BODIES, default="spine3")
    push_recover: BoolProperty(name="Step to Recover", default=DEFAULTS["recover"],
                               description="A shoved body steps to catch itself and the root "
                                           "help does not push back against the shove; off: "
                                           "the feet stay where the motion has them and the "
                                           "help holds the body on its path")

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return obj is not None and obj.type == "ARMATURE"

    def _request(self, context) -> dict:
        kwargs = {"assistance": self.assistance, "friction": self.friction,
                  "gravity": self.gravity, "planner": self.planner,
                  "recover": self.push_recover}
        if self.start >= 0 and self.end >= 0:
            kwargs.update(start=self.start, end=self.end)
        elif self.frames == "RANGE":
            found = scene_range(context.scene)
            if found is None:
                raise ValueError("Set the frames to simulate: turn on the preview range "
                                 "(Ctrl+P in the timeline) or select two markers")
            kwargs.update(start=found[0], end=found[1])
        if self.use_push:
            direction = np.asarray(self.push_direction, dtype=np.float64)
            norm = float(np.linalg.norm(direction))
            if norm < 1e-9:
                raise ValueError("Give the push a direction (X, Y, Z not all 0)")
            kwargs["push"] = {"frame": self.push_frame, "seconds": self.push_seconds,
                              "force": direction / norm * float(self.push_strength),
                              "body": self.push_body}
        return kwargs

    def execute(self, context):
        from .edit_ops import submit_and_report
        from .generate import options_from_settings

        def run():
            kwargs = self._request(context)
            opts = options_from_settings(context.scene.anima, context.scene)
            return run_physics(context.active_object, scene=context.scene,
                               options={"root_mode": opts["root_mode"],
                                        "foot_ik": opts["foot_ik"]},
                               context=context, **kwargs)
        return submit_and_report(self, run)


CLASSES = [ANIMA_OT_make_physical]
