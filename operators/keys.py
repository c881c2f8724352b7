"""Bulk keyframe writing for an armature, on Blender 4.2 (legacy actions) to 5.0 (slotted actions).

One entry point, `write_rig_pose`. It always creates a NEW Action; the user's existing
animation is never modified:

* push_to_nla=False (default): the new action becomes the armature's active action. An action
  that was active before is left exactly as it was, gets a fake user so it survives saving
  even with no other users, and its name is recorded on the new action as the custom property
  `anima_previous_action` (switch back from the Action editor at any time).
* push_to_nla=True: the new action goes into a new NLA track ("Anima") as a strip starting at
  `frame_start`; the active action (the user's, or none) is not changed at all.

What *is* changed on the armature object: the keyed pose bones' rotation_mode becomes
QUATERNION (the channels written are rotation_quaternion), and the object gets animation data
if it had none.

The layout of the new action is chosen by feature detection, not by version number:
`action.layers`/`action.slots` present -> slotted action (Blender 4.4+, the only kind in 5.0):
slot -> layer -> keyframe strip -> `strip.channelbag(slot, ensure=True).fcurves`;
otherwise the legacy `action.fcurves`.
"""
from __future__ import annotations

import bpy
import numpy as np

from ..backend.motion import quat

# Keyframe.interpolation enum values, for foreach_set.
_INTERP = {"CONSTANT": 0, "LINEAR": 1, "BEZIER": 2}

ACTION_NAME_MAX = 60     # Blender truncates ID names (63 bytes before 5.0); keep room for .001


def is_slotted(action) -> bool:
    return hasattr(action, "layers") and hasattr(action, "slots")


def action_name_for(text: str) -> str:
    """A readable action name from a prompt / caption ("Anima: a person waves")."""
    text = " ".join(str(text).split()) or "motion"
    name = "Anima: " + text
    if len(name.encode("utf-8")) > ACTION_NAME_MAX:
        while len((name + "...").encode("utf-8")) > ACTION_NAME_MAX:
            name = name[:-1]
        name = name.rstrip() + "..."
    return name


class _Channels:
    """Creates F-curves in a new action for one target object, whatever the action layout."""

    def __init__(self, action, obj, existing: bool = False):
        """existing: add to `action`'s own layout (its slot for `obj`, else its first; its
        first layer and strip) instead of a new slot, layer and strip."""
        self.action = action
        self.slot = None
        # New keys take the user's default interpolation; with the straight-line handles set
        # below, Bezier keys interpolate exactly like linear ones, so only set it otherwise.
        prefs = getattr(bpy.context, "preferences", None)
        default = prefs.edit.keyframe_new_interpolation_type if prefs else "BEZIER"
        self.default_interpolation = "LINEAR" if default in ("LINEAR", "BEZIER") else default
        if is_slotted(action):
            if existing and len(action.slots):
                self.slot = next((s for s in action.slots if s.identifier == "OB" + obj.name),
                                 action.slots[0])
                layer = action.layers[0] if len(action.layers) else action.layers.new("Layer")
                strip = layer.strips[0] if len(layer.strips) else \
                    layer.strips.new(type="KEYFRAME")
            else:
                self.slot = action.slots.new(id_type="OBJECT", name=obj.name)
                layer = action.layers.new("Layer")
                strip = layer.strips.new(type="KEYFRAME")
            bag = strip.channelbag(self.slot, ensure=True)
            self._fcurves = bag.fcurves
            groups = {}

            def new(path, index, group):
                try:
                    return self._fcurves.new(path, index=index, group_name=group)
                except TypeError:            # an fcurves.new without group_name (4.4)
                    fc = self._fcurves.new(path, index=index)
                    if group and hasattr(bag, "groups"):
                        grp = groups.get(group) or bag.groups.get(group) \
                            or bag.groups.new(group)
                        groups[group] = grp
                        fc.group = grp
                    return fc

            self._new = new
        else:
            self._fcurves = action.fcurves
            self._new = lambda path, index, group: self._fcurves.new(
                path, index=index, action_group=group)

    def remove(self, fcurve) -> None:
        self._fcurves.remove(fcurve)

    def write(self, data_path: str, index: int, group: str, frames: np.ndarray,
              values: np.ndarray, interpolation: str = "LINEAR"):
        fc = self._new(data_path, index, group)
        n = len(frames)
        co = np.empty((n, 2), dtype=np.float32)
        co[:, 0] = frames
        co[:, 1] = values
        kp = fc.keyframe_points
        kp.add(n)
        kp.foreach_set("co", co.ravel())
        if interpolation != self.default_interpolation:
            kp.foreach_set("interpolation", np.full(n, _INTERP[interpolation], dtype=np.int32))
        # Keys arrive sorted, so instead of fc.update() (sort + handle recalculation, 60% of
        # the cost here) set handles a third of the way to each neighbour: correct for linear
        # keys and a sensible start if the user switches them to Bezier.
        step = np.diff(co, axis=0) / 3.0
        left, right = co.copy(), co.copy()
        if n > 1:
            left[1:] -= step
            left[0] -= step[0]
            right[:-1] += step
            right[-1] += step[-1]
        kp.foreach_set("handle_left", left.ravel())
        kp.foreach_set("handle_right", right.ravel())
        return fc


def _bone_path(bone_name: str, prop: str) -> str:
    return f'pose.bones["{bpy.utils.escape_identifier(bone_name)}"].{prop}'


def _frames(n: int, frame_start: float, src_fps: float, frame_step: float | None) -> np.ndarray:
    if frame_step is None:
        scene = bpy.context.scene
        scene_fps = scene.render.fps / scene.render.fps_base if scene else src_fps
        frame_step = scene_fps / src_fps if src_fps else 1.0
    return frame_start + np.arange(n, dtype=np.float64) * frame_step


def write_rig_pose(arm_obj, rig_pose, action_name: str, frame_start: float,
                   push_to_nla: bool = False, *, frame_step: float | None = None,
                   fk_switch=(), meta: dict | None = None):
    """Key a RigPose (backend.motion.retarget.RigPose) on `arm_obj` in a new Action.

    rig_pose: bone_names (K), rotations (T, K, 4) wxyz, locations (T, K, 3), rot_keyed (K,),
        loc_keyed (K,), fps. Rotations are written as rotation_quaternion (sign-unrolled over
        time so interpolation takes the short way), locations as location.
    action_name: base name; Blender makes it unique (".001") so nothing is overwritten.
    frame_start: scene frame of the first pose. Frames are spaced by scene fps / rig_pose.fps
        (1 when the clip was already resampled to the scene rate) unless frame_step is given.
    push_to_nla: put the action in a new NLA track instead of making it the active action.
    fk_switch: (bone, property, value) custom properties (e.g. Rigify IK/FK switches) to set
        on pose bones and key once at frame_start, so the action is self-contained.
    meta: extra values stored as custom properties on the action (caption, source, licence).
    Returns the new action. Raises ValueError (nothing created) if a bone is missing or the
    armature is in NLA tweak mode.
    """
    if arm_obj is None or arm_obj.type != "ARMATURE":
        raise ValueError("write_rig_pose needs an armature object")
    names = list(rig_pose.bone_names)
    rot = np.asarray(rig_pose.rotations, dtype=np.float64)
    loc = np.asarray(rig_pose.locations, dtype=np.float64)
    rot_keyed = np.asarray(rig_pose.rot_keyed, dtype=bool)
    loc_keyed = np.asarray(rig_pose.loc_keyed, dtype=bool)
    T, K = rot.shape[:2]
    if rot.shape != (T, K, 4) or loc.shape != (T, K, 3) or len(names) != K:
        raise ValueError(f"RigPose arrays disagree: {K} bones, rotations {rot.shape}, "
                         f"locations {loc.shape}")
    if T == 0:
        raise ValueError("RigPose has no frames")
    missing = [n for n in names if arm_obj.pose.bones.get(n) is None]
    missing += [b for b, _p, _v in fk_switch if arm_obj.pose.bones.get(b) is None]
    if missing:
        raise ValueError(f"Armature {arm_obj.name!r} has no bone(s) "
                         f"{', '.join(sorted(set(missing)))}")
    anim = arm_obj.animation_data
    if anim is not None and anim.use_tweak_mode:
        raise ValueError(f"Armature {arm_obj.name!r} is in NLA tweak mode: exit it first")

    frames = _frames(T, frame_start, float(rig_pose.fps), frame_step)
    rot = quat.unroll(quat.normalize(rot), axis=0)

    action = bpy.data.actions.new(action_name)
    try:
        channels = _Channels(action, arm_obj)
        for k, name in enumerate(names):
            if rot_keyed[k]:
                path = _bone_path(name, "rotation_quaternion")
                for i in range(4):
                    channels.write(path, i, name, frames, rot[:, k, i])
            if loc_keyed[k]:
                path = _bone_path(name, "location")
                for i in range(3):
                    channels.write(path, i, name, frames, loc[:, k, i])
        for bone, prop, value in fk_switch:
            path = _bone_path(bone, "")[:-1] + f'["{bpy.utils.escape_identifier(prop)}"]'
            channels.write(path, 0, bone, np.array([frames[0]]), np.array([float(value)]),
                           interpolation="CONSTANT")
    except Exception:
        bpy.data.actions.remove(action)
        raise

    # Only now that the action is complete: the bones the channels drive.
    for k, name in enumerate(names):
        if rot_keyed[k]:
            arm_obj.pose.bones[name].rotation_mode = "QUATERNION"
    for bone, prop, value in fk_switch:
        arm_obj.pose.bones[bone][prop] = value

    for key, value in (meta or {}).items():
        if isinstance(value, (str, int, float, bool)):
            action[key] = value
    action["anima_frame_start"] = float(frame_start)
    action["anima_armature"] = arm_obj.name       # whose version it is (the Versions panel)

    anim = arm_obj.animation_data or arm_obj.animation_data_create()
    if push_to_nla:
        track = anim.nla_tracks.new()
        track.name = "Anima"
        strip = track.strips.new(action.name, int(round(frame_start)), action)
        if channels.slot is not None and hasattr(strip, "action_slot"):
            strip.action_slot = channels.slot
        # The strip is a user; keep the action also when the track is deleted later.
        action.use_fake_user = True
    else:
        previous = anim.action
        if previous is not None and previous != action:
            previous.use_fake_user = True
            action["anima_previous_action"] = previous.name
        anim.action = action
        if channels.slot is not None and hasattr(anim, "action_slot"):
            anim.action_slot = channels.slot
    return action


def assign_action(arm_obj, action) -> None:
    """Make `action` the armature's active action (its slot for this object too, on slotted
    actions); the action that was active keeps a fake user so it is never lost."""
    anim = arm_obj.animation_data or arm_obj.animation_data_create()
    if anim.use_tweak_mode:
        raise ValueError(f"Armature {arm_obj.name!r} is in NLA tweak mode: exit it first")
    previous = anim.action
    if previous is not None and previous != action:
        previous.use_fake_user = True
    anim.action = action
    if is_slotted(action) and hasattr(anim, "action_slot") and len(action.slots):
        slot = next((s for s in action.slots if s.identifier == "OB" + arm_obj.name),
                    action.slots[0])
        anim.action_slot = slot


def fcurves_of(action, obj=None):
    """All F-curves of `action` (for `obj`'s slot on slotted actions; all slots if None)."""
    if not is_slotted(action):
        return list(action.fcurves)
    out = []
    slot = None
    if obj is not None and obj.animation_data is not None:
        slot = obj.animation_data.action_slot if obj.animation_data.action == action else None
    for layer in action.layers:
        for strip in layer.strips:
            for s in action.slots:
                if slot is not None and s != slot:
                    continue
                bag = strip.channelbag(s)
                if bag is not None:
                    out.extend(bag.fcurves)
    return out
