"""Write an edit back onto the user's rig as a NEW Action version, keeping what was not edited
exactly (issue 8): frames outside the edit and bones outside the edited body part keep the
original's values to the last bit; the edited frames meet the kept ones (and every anchor,
e.g. the user's keyed poses) exactly, whatever the retarget's round-trip error
(``backend.motion.seams.match_anchors``).

How: the new Action is a copy of the original (every curve, group, custom property and the
user's key layout on bones that were not edited survive as they were). On each edited bone
its rotation and location curves are rewritten with one key per frame over the Action's
frames: the original values, evaluated from its own curves, outside the edit, and the new
ones inside. Rotations keep the bone's channel: quaternion curves stay quaternions, Euler
curves stay Euler in the bone's order (continuous with the previous frame).
"""
from __future__ import annotations

import bpy
import numpy as np
from mathutils import Euler, Quaternion

from ..backend.motion.seams import follow_signs, match_anchors
from . import keys

_ROT_PATHS = ("rotation_quaternion", "rotation_euler", "rotation_axis_angle")


def _bone_of(data_path: str) -> tuple[str, str] | None:
    """(bone name, property) of a pose-bone channel path, else None."""
    head = 'pose.bones["'
    if not data_path.startswith(head):
        return None
    end = data_path.find('"]', len(head))
    if end < 0:
        return None
    name = data_path[len(head):end].replace('\\"', '"').replace("\\\\", "\\")
    return name, data_path[end + 3:]


def bone_curves(action, arm_obj) -> dict[str, dict[str, dict[int, object]]]:
    """{bone: {property: {index: fcurve}}} of the pose-bone channels of `action`."""
    out: dict = {}
    for fc in keys.fcurves_of(action, arm_obj):
        owner = _bone_of(fc.data_path)
        if owner is not None:
            out.setdefault(owner[0], {}).setdefault(owner[1], {})[fc.array_index] = fc
    return out


def keyed_frames(action, arm_obj, bones=None) -> dict[str, np.ndarray]:
    """{bone: sorted key frames (float)} over the bones' rotation and location curves."""
    out = {}
    for bone, props in bone_curves(action, arm_obj).items():
        if bones is not None and bone not in bones:
            continue
        frames = [k.co[0] for p, idx in props.items() if p in _ROT_PATHS + ("location",)
                  for fc in idx.values() for k in fc.keyframe_points]
        if frames:
            out[bone] = np.unique(np.asarray(frames, dtype=np.float64))
    return out


def _evaluate(fc, frames: np.ndarray) -> np.ndarray:
    return np.array([fc.evaluate(float(f)) for f in frames], dtype=np.float64)


def read_channels(arm_obj, action, bone_names, frames) -> tuple[np.ndarray, np.ndarray]:
    """The original's channel values on `frames` (T,): rotations (T, K, 4) as quaternions
    (Euler / axis-angle curves converted in the bone's mode) and locations (T, K, 3); a
    channel without curves holds the pose bone's current value."""
    curves = bone_curves(action, arm_obj)
    T, K = len(frames), len(bone_names)
    rot = np.zeros((T, K, 4))
    loc = np.zeros((T, K, 3))
    for k, name in enumerate(bone_names):
        pb = arm_obj.pose.bones[name]
        props = curves.get(name, {})
        mode = pb.rotation_mode
        q_static = pb.rotation_quaternion
        if mode == "QUATERNION" or "rotation_quaternion" in props:
            chans = props.get("rotation_quaternion", {})
            for i in range(4):
                rot[:, k, i] = _evaluate(chans[i], frames) if i in chans else q_static[i]
        elif mode == "AXIS_ANGLE":
            chans = props.get("rotation_axis_angle", {})
            aa = np.stack([_evaluate(chans[i], frames) if i in chans else
                           np.full(T, pb.rotation_axis_angle[i]) for i in range(4)], -1)
            for t in range(T):
                rot[t, k] = Quaternion(aa[t, 1:], aa[t, 0])
        else:
            chans = props.get("rotation_euler", {})
            eu = np.stack([_evaluate(chans[i], frames) if i in chans else
                           np.full(T, pb.rotation_euler[i]) for i in range(3)], -1)
            for t in range(T):
                rot[t, k] = Euler(eu[t], mode).to_quaternion()
        chans = props.get("location", {})
        for i in range(3):
            loc[:, k, i] = _evaluate(chans[i], frames) if i in chans else pb.location[i]
    return rot, loc


def write_edit_version(arm_obj, action, pose, frames, edited, anchors, bones,
                       name: str, info: dict, ref_from_new=None):
    """The new Action `name` (returned, made active; the original keeps a fake user).

    pose: the edited motion on the rig (retarget.rig_pose_for_clip) with one pose per frame of
    `frames` (T,) (scene frames, whole numbers); edited (T,) bool: frames whose values change;
    anchors: indices into frames where the original must be met exactly; bones: names of the
    bones that may change (None: every bone the pose keys); ref_from_new (T,) bool: kept
    frames whose values are the new motion's rather than the original's (a joined clip).
    Raises ValueError; then nothing has changed."""
    names = list(pose.bone_names)
    rot_keyed = np.asarray(pose.rot_keyed, bool)
    loc_keyed = np.asarray(pose.loc_keyed, bool)
    chosen = [k for k, n in enumerate(names) if (rot_keyed[k] or loc_keyed[k])
              and (bones is None or n in bones)]
    if not chosen:
        raise ValueError("The edit changes no bone of this rig")
    sub = [names[k] for k in chosen]
    frames = np.asarray(frames, dtype=np.float64)
    ref_rot, ref_loc = read_channels(arm_obj, action, sub, frames)
    if ref_from_new is not None and np.any(ref_from_new):
        ref_rot[ref_from_new] = np.asarray(pose.rotations)[:, chosen][ref_from_new]
        ref_loc[ref_from_new] = np.asarray(pose.locations)[:, chosen][ref_from_new]
    rot, loc = match_anchors(np.asarray(pose.rotations)[:, chosen],
                             np.asarray(pose.locations)[:, chosen], ref_rot, ref_loc,
                             edited, anchors)
    convert = np.asarray(edited, bool).copy()        # frames whose values are new
    if ref_from_new is not None and np.any(ref_from_new):
        convert |= ref_from_new
        rot = follow_signs(rot, np.flatnonzero(ref_from_new))
    curves = bone_curves(action, arm_obj)
    new = action.copy()
    try:
        new.name = name
        ch = keys._Channels(new, arm_obj, existing=True)
        _drop_derived(new, arm_obj, ch)
        new_curves = bone_curves(new, arm_obj)
        euler_bones = []
        for j, (k, bone) in enumerate(zip(chosen, sub)):
            props = curves.get(bone, {})
            pb = arm_obj.pose.bones[bone]
            if rot_keyed[k]:
                if pb.rotation_mode not in ("QUATERNION", "AXIS_ANGLE") and \
                        "rotation_euler" in props and "rotation_quaternion" not in props:
                    chans = props["rotation_euler"]
                    fixed = np.stack([_evaluate(chans[i], frames) if i in chans else
                                      np.full(len(frames), pb.rotation_euler[i])
                                      for i in range(3)], -1)
                    values = _to_euler(rot[:, j], pb.rotation_mode, fixed, convert)
                    path = "rotation_euler"
                    euler_bones.append(bone)
                else:
                    values, path = rot[:, j], "rotation_quaternion"
                for fc in list(new_curves.get(bone, {}).get(path, {}).values()):
                    ch.remove(fc)
                for i in range(values.shape[1]):
                    ch.write(keys._bone_path(bone, path), i, bone, frames, values[:, i])
            if loc_keyed[k]:
                for fc in list(new_curves.get(bone, {}).get("location", {}).values()):
                    ch.remove(fc)
                for i in range(3):
                    ch.write(keys._bone_path(bone, "location"), i, bone, frames, loc[:, j, i])
    except Exception:
        bpy.data.actions.remove(new)
        raise
    for j, (k, bone) in enumerate(zip(chosen, sub)):
        if rot_keyed[k] and bone not in euler_bones:
            arm_obj.pose.bones[bone].rotation_mode = "QUATERNION"
    for key, value in info.items():
        if isinstance(value, (str, int, float, bool)):
            new[key] = value
    new["anima_armature"] = arm_obj.name
    new["anima_version_of"] = action.name
    new.use_fake_user = False
    keys.assign_action(arm_obj, new)
    return new


DERIVED_CURVES = '["anima_contact_'      # physics foot contacts: true of that motion only
DERIVED_PROPS = "anima_physics_"           # ... and its report


def _drop_derived(action, arm_obj, ch) -> None:
    """Remove from a new version what described the old motion only (a physics run's foot
    contacts and report); a physics edit writes its own afterwards."""
    for fc in list(keys.fcurves_of(action, arm_obj)):
        if fc.data_path.startswith(DERIVED_CURVES):
            ch.remove(fc)
    for key in [k for k in action.keys() if k.startswith(DERIVED_PROPS)]:
        del action[key]


def _to_euler(q: np.ndarray, order: str, fixed: np.ndarray, edited: np.ndarray) -> np.ndarray:
    """Euler angles (T, 3) in `order`: the original `fixed` values where not edited (to the
    bit), the quaternions (T, 4) converted where edited, continuous with the frame before."""
    out = np.array(fixed, dtype=np.float64)
    prev = None
    for t in range(len(q)):
        if edited[t]:
            e = Quaternion(q[t]).to_euler(order, prev) if prev is not None else \
                Quaternion(q[t]).to_euler(order)
            out[t] = e
        prev = Euler(out[t], order)
    return out
