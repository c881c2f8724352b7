"""Clean Keys: reduce an armature Action's dense per-frame keys to a sparse, editable set
within a tolerance (what other tools call unbaking), as a NEW Action version.

`clean_action` samples the Action's pose-bone `rotation_quaternion` and `location` curves on
every frame of its range, picks one shared set of key frames with fitted Bezier handles
(`backend.motion.keyreduce`: every frame stays within `position_mm` on the rig's joints and
`rotation_deg` per bone, as Blender evaluates the new curves), and writes them into a copy of
the Action named "<original> (clean)". Every other F-curve (custom properties, Euler
rotations, scale...) is copied unchanged. The original is untouched and keeps a fake user;
the copy becomes the active action and records `anima_version_of` = the original's name.

Scripting::

    from anima.operators import clean_keys
    new_action = clean_keys.clean_action(rig, rig.animation_data.action, 1.0, 0.5)
"""
from __future__ import annotations

import re

import bpy
import numpy as np
from bpy.props import FloatProperty

from ..backend.motion import keyreduce
from . import keys, retarget

MAX_POSITION_MM = 100.0
MAX_ROTATION_DEG = 45.0
_CHANNEL = re.compile(r'^pose\.bones\["((?:[^"\\]|\\.)*)"\]\.(rotation_quaternion|location)$')
_KEY_HANDLE_FREE = 0          # Keyframe.handle_*_type enum value of "FREE", for foreach_set
_KEY_BEZIER = 2               # Keyframe.interpolation enum value of "BEZIER"


class AlreadySparse(ValueError):
    """Cleaning would not remove keys: the action is already sparse (nothing created)."""


def _unescape(name: str) -> str:
    return re.sub(r"\\(.)", r"\1", name)


def _check_input(arm_obj, action, position_mm, rotation_deg):
    if arm_obj is None or arm_obj.type != "ARMATURE":
        raise ValueError("Select an armature whose keys to clean")
    if action is None:
        raise ValueError(f"Armature {arm_obj.name!r} has no action to clean")
    if not (0.0 < position_mm <= MAX_POSITION_MM):
        raise ValueError(f"Position tolerance must be above 0 and at most {MAX_POSITION_MM:g} "
                         f"mm, got {position_mm:g} mm")
    if not (0.0 < rotation_deg <= MAX_ROTATION_DEG):
        raise ValueError(f"Rotation tolerance must be above 0 and at most "
                         f"{MAX_ROTATION_DEG:g} degrees, got {rotation_deg:g} degrees")
    anim = arm_obj.animation_data
    if anim is not None and anim.use_tweak_mode:
        raise ValueError(f"Armature {arm_obj.name!r} is in NLA tweak mode: exit it first")


def _bone_curves(arm_obj, action):
    """{(bone, prop, index): F-curve} of the pose-bone channels we reduce, in the armature's
    slot. Raises ValueError for an action without keys or for bones the armature lacks."""
    fcurves = [fc for fc in keys.fcurves_of(action, arm_obj) if len(fc.keyframe_points)]
    if not fcurves:
        raise ValueError(f"Action {action.name!r} has no keys")
    curves, missing = {}, set()
    for fc in fcurves:
        m = _CHANNEL.match(fc.data_path)
        bone = _unescape(m.group(1)) if m else None
        if m is None:
            head = re.match(r'^pose\.bones\["((?:[^"\\]|\\.)*)"\]', fc.data_path)
            if head and arm_obj.pose.bones.get(_unescape(head.group(1))) is None:
                missing.add(_unescape(head.group(1)))
            continue
        if arm_obj.pose.bones.get(bone) is None:
            missing.add(bone)
            continue
        curves[(bone, m.group(2), fc.array_index)] = fc
    if missing:
        shown = ", ".join(sorted(missing)[:5]) + (" ..." if len(missing) > 5 else "")
        raise ValueError(f"Action {action.name!r} animates {len(missing)} bone(s) that "
                         f"{arm_obj.name!r} does not have ({shown}): is it another rig's?")
    if not curves:
        raise ValueError(f"Action {action.name!r} has no bone rotation_quaternion or location "
                         f"keys to clean")
    return curves


def _sample_times(curves) -> np.ndarray:
    """Every frame of the curves' common range (step 1, or as close as fits the range)."""
    ranges = np.array([fc.range() for fc in curves.values()], dtype=np.float64)
    start, end = float(ranges[:, 0].min()), float(ranges[:, 1].max())
    steps = max(int(round(end - start)), 1) if end > start else 0
    return np.linspace(start, end, steps + 1)


def _curve_samples(fc, times: np.ndarray) -> np.ndarray:
    """fc's values at `times`: read in bulk where it has a key on every one of them (dense
    generated keys), else evaluated frame by frame."""
    kp = fc.keyframe_points
    if len(kp) == len(times):
        co = np.empty(2 * len(kp), dtype=np.float32)
        kp.foreach_get("co", co)
        co = co.reshape(-1, 2)
        if np.allclose(co[:, 0], times, atol=1e-4):
            return co[:, 1].astype(np.float64)
    return np.array([fc.evaluate(t) for t in times])


def _read_samples(arm_obj, curves, times, skeleton):
    """Dense samples: bone names (K), rotations (T, K, 4), locations (T, K, 3) (armature
    units); components without a curve hold the pose bone's current value."""
    keyed = {bone for bone, _prop, _i in curves}
    bones = [n for n in skeleton.names if n in keyed]
    T, K = len(times), len(bones)
    rot = np.empty((T, K, 4))
    loc = np.empty((T, K, 3))
    for k, name in enumerate(bones):
        pb = arm_obj.pose.bones[name]
        for prop, out, size in (("rotation_quaternion", rot, 4), ("location", loc, 3)):
            current = tuple(getattr(pb, prop))
            for i in range(size):
                fc = curves.get((name, prop, i))
                out[:, k, i] = _curve_samples(fc, times) if fc is not None else current[i]
    return bones, rot, loc


def _copy_name(name: str) -> str:
    base = name
    while len((base + " (clean)").encode("utf-8")) > keys.ACTION_NAME_MAX:
        base = base[:-1]
    return base + " (clean)"


def _write_curve(fc, co, handle_left, handle_right):
    """Replace fc's keys by the (N, 2) keys and FREE handles, Bezier interpolation."""
    kp = fc.keyframe_points
    kp.clear()
    n = len(co)
    kp.add(n)
    kp.foreach_set("co", np.ascontiguousarray(co, dtype=np.float32).ravel())
    kp.foreach_set("interpolation", np.full(n, _KEY_BEZIER, dtype=np.int32))
    kp.foreach_set("handle_left_type", np.full(n, _KEY_HANDLE_FREE, dtype=np.int32))
    kp.foreach_set("handle_right_type", np.full(n, _KEY_HANDLE_FREE, dtype=np.int32))
    kp.foreach_set("handle_left", np.ascontiguousarray(handle_left, dtype=np.float32).ravel())
    kp.foreach_set("handle_right", np.ascontiguousarray(handle_right, dtype=np.float32).ravel())


def clean_action(arm_obj, action=None, position_mm: float = 1.0, rotation_deg: float = 0.5):
    """Write `action` (default: the armature's active one) with reduced keys as a new Action,
    made active, and return it. Raises ValueError (AlreadySparse when cleaning would not
    remove keys) with a message for the user; nothing in the scene changes then."""
    if action is None and arm_obj is not None and arm_obj.type == "ARMATURE" \
            and arm_obj.animation_data is not None:
        action = arm_obj.animation_data.action
    _check_input(arm_obj, action, position_mm, rotation_deg)
    curves = _bone_curves(arm_obj, action)
    times = _sample_times(curves)
    skeleton = retarget.armature_skeleton(arm_obj)
    bones, rot, loc = _read_samples(arm_obj, curves, times, skeleton)
    scale = retarget.object_scale(arm_obj)
    reduced = keyreduce.reduce_keys(
        rot, loc * scale, skeleton, [skeleton.index(b) for b in bones],
        position_tol=position_mm / 1000.0, rotation_tol=rotation_deg)
    old_keys = max(len(fc.keyframe_points) for fc in curves.values())
    if len(reduced.frames) >= old_keys:
        raise AlreadySparse(f"Action {action.name!r} is already sparse ({old_keys} keys per "
                            f"curve at most; cleaning would keep {len(reduced.frames)}): "
                            f"nothing to clean")
    step = (times[-1] - times[0]) / max(len(times) - 1, 1)
    co, hl, hr = reduced.to_frames(float(times[0]), float(step))
    K = len(bones)
    column = {(b, "rotation_quaternion", i): 4 * k + i for k, b in enumerate(bones)
              for i in range(4)}
    column.update({(b, "location", i): 4 * K + 3 * k + i for k, b in enumerate(bones)
                   for i in range(3)})
    loc_columns = slice(4 * K, None)
    co[:, loc_columns, 1] /= scale      # locations back to armature units
    hl[:, loc_columns, 1] /= scale
    hr[:, loc_columns, 1] /= scale

    anim = arm_obj.animation_data
    old_slot = getattr(anim, "action_slot", None) if anim and anim.action == action else None
    all_old = keys.fcurves_of(action)
    position = {fc.as_pointer(): i for i, fc in enumerate(all_old)}
    new = action.copy()
    try:
        new.name = _copy_name(action.name)
        all_new = keys.fcurves_of(new)
        for key, fc in curves.items():
            c = column[key]
            _write_curve(all_new[position[fc.as_pointer()]], co[:, c], hl[:, c], hr[:, c])
        new["anima_version_of"] = action.name
        new["anima_armature"] = arm_obj.name
        new["anima_previous_action"] = action.name
        new["anima_edit"] = f"clean keys, {position_mm:g} mm / {rotation_deg:g} deg"
        new["anima_clean_keys"] = f"{old_keys} -> {len(reduced.frames)} keys per curve"
        new.use_fake_user = False
    except Exception:
        bpy.data.actions.remove(new)
        raise
    # Only now that the new version is complete: switch to it, keeping the original.
    action.use_fake_user = True
    anim = anim or arm_obj.animation_data_create()
    anim.action = new
    if keys.is_slotted(new) and hasattr(anim, "action_slot") and len(new.slots):
        ident = old_slot.identifier if old_slot is not None else "OB" + arm_obj.name
        anim.action_slot = next((s for s in new.slots if s.identifier == ident), new.slots[0])
    return new


class ANIMA_OT_clean_keys(bpy.types.Operator):
    """Reduce the active armature's per-frame keys to a sparse, editable set within the
    tolerances, as a new Action (the original is kept)"""
    bl_idname = "anima.clean_keys"
    bl_label = "Clean Keys"
    bl_options = {"REGISTER", "UNDO"}

    position_mm: FloatProperty(
        name="Position Tolerance", default=1.0, min=0.01, max=MAX_POSITION_MM,
        soft_max=10.0, precision=2,
        description="Largest change of any joint position, in millimetres")
    rotation_deg: FloatProperty(
        name="Rotation Tolerance", default=0.5, min=0.01, max=MAX_ROTATION_DEG,
        soft_max=5.0, precision=2,
        description="Largest change of any bone's rotation, in degrees")

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return (obj is not None and obj.type == "ARMATURE" and obj.animation_data is not None
                and obj.animation_data.action is not None)

    def execute(self, context):
        arm = context.active_object
        action = arm.animation_data.action
        before = max((len(fc.keyframe_points) for fc in keys.fcurves_of(action, arm)),
                     default=0)
        try:
            new = clean_action(arm, action, self.position_mm, self.rotation_deg)
        except AlreadySparse as e:
            self.report({"INFO"}, str(e))
            return {"CANCELLED"}
        except Exception as e:  # noqa: BLE001 - every failure becomes a report
            from .jobs import user_message
            self.report({"ERROR"}, user_message(e))
            return {"CANCELLED"}
        after = max(len(fc.keyframe_points) for fc in keys.fcurves_of(new, arm))
        self.report({"INFO"}, f"New version {new.name!r}: {before} -> {after} keys per curve")
        return {"FINISHED"}


CLASSES = [ANIMA_OT_clean_keys]
