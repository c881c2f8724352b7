"""Motion back from a rig: read an armature's evaluated pose, turn it into a canonical clip.

- `evaluated_world_pose(arm_obj, frames)`: posed world rotations and positions of every bone
  (constraints, drivers and NLA included), in `armature_skeleton(arm_obj)` order and axes, so
  that they can be fed to `retarget(..., src_world=...)` or `clip_from_rig`.
- `canonical_clip_from_armature(arm_obj)`: the inverse retarget, any mapped rig's Action ->
  canonical Clip (what motion editing, physics and the canonical BVH export work on).
"""
from __future__ import annotations

import bpy
import numpy as np

from ..backend.motion import quat
from ..backend.motion.clip import Clip
from . import retarget


def _view_layer_of(scene):
    """The view layer whose depsgraph evaluates `scene` (the context's one when it is the
    context scene, else the scene's first)."""
    ctx = bpy.context
    if ctx.scene == scene and ctx.view_layer is not None:
        return ctx.view_layer
    return scene.view_layers[0]


def _scene_of(arm_obj):
    """A scene that shows `arm_obj`: the context scene if it does, else the first that does."""
    ctx_scene = bpy.context.scene
    if ctx_scene is not None and ctx_scene.objects.get(arm_obj.name) == arm_obj:
        return ctx_scene
    for scene in bpy.data.scenes:
        if scene.objects.get(arm_obj.name) == arm_obj:
            return scene
    raise ValueError(f"Armature {arm_obj.name!r} is in no scene: cannot evaluate its pose")


def _bone_order(arm_obj, names: list[str]) -> np.ndarray:
    """Indices into arm_obj.pose.bones of the bones `names` (skeleton order)."""
    index = {n: i for i, n in enumerate(arm_obj.pose.bones.keys())}
    try:
        return np.array([index[n] for n in names], dtype=np.int64)
    except KeyError as e:                      # pragma: no cover - pose and data agree
        raise ValueError(f"Armature {arm_obj.name!r} has no pose bone {e}") from None


def evaluated_world_pose(arm_obj, frames, scene=None) -> tuple[np.ndarray, np.ndarray]:
    """Posed world rotations (T, K, 4) wxyz and head positions (T, K, 3) of all K bones.

    frames: scene frames to evaluate, (T,) floats (fractions are evaluated as subframes).
    Bones come in `retarget.armature_skeleton(arm_obj)` order, in the same space: world axes,
    object rotation and translation applied, object scale in the positions only (rotations
    are orthonormalised, so scaled bones and objects give pure rotations). The scene (by
    default the one showing the armature) is stepped with `frame_set`; its current frame is
    restored afterwards.
    """
    if arm_obj is None or arm_obj.type != "ARMATURE":
        raise ValueError("evaluated_world_pose needs an armature object")
    frames = np.asarray(frames, dtype=np.float64).reshape(-1)
    if frames.size == 0:
        raise ValueError("no frames to evaluate")
    scene = scene or _scene_of(arm_obj)
    skel = retarget.armature_skeleton(arm_obj)
    order = _bone_order(arm_obj, skel.names)
    K, T = len(order), len(frames)
    depsgraph = _view_layer_of(scene).depsgraph
    flat = np.empty(len(arm_obj.pose.bones) * 16, dtype=np.float32)
    mats = np.empty((T, K, 4, 4), dtype=np.float64)
    obj_mats = np.empty((T, 4, 4), dtype=np.float64)
    current = (scene.frame_current, scene.frame_subframe)
    try:
        for t, f in enumerate(frames):
            whole = int(np.floor(f))
            scene.frame_set(whole, subframe=float(f - whole))
            ev = arm_obj.evaluated_get(depsgraph)
            ev.pose.bones.foreach_get("matrix", flat)
            # foreach_get gives column-major matrices: transpose to row-major.
            mats[t] = flat.reshape(-1, 4, 4).transpose(0, 2, 1)[order]
            obj_mats[t] = np.array(ev.matrix_world, dtype=np.float64)
    finally:
        scene.frame_set(current[0], subframe=current[1])
    lin = obj_mats[:, None, :3, :3] @ mats[..., :3, :3]                  # (T, K, 3, 3)
    pos = (obj_mats[:, None, :3, :3] @ mats[..., :3, 3, None])[..., 0] + obj_mats[:, None, :3, 3]
    # Remove scale (object and bone): unit columns (exact without shear, which only a
    # non-uniformly scaled parent can introduce; from_matrix then takes the nearest rotation).
    rot = lin / np.maximum(np.linalg.norm(lin, axis=-2, keepdims=True), 1e-12)
    return quat.normalize(quat.from_matrix(rot)), pos


def action_frame_range(arm_obj) -> tuple[float, float]:
    """First and last frame of the armature's active action (ValueError without one)."""
    anim = arm_obj.animation_data
    action = anim.action if anim is not None else None
    if action is None:
        raise ValueError(f"Armature {arm_obj.name!r} has no action to read motion from")
    start, end = (float(x) for x in action.frame_range)
    return start, end


def canonical_clip_from_armature(arm_obj, frame_start: float | None = None,
                                 frame_end: float | None = None, scene=None) -> Clip:
    """The armature's motion (its evaluated pose, frame_start..frame_end inclusive, one pose
    per scene frame; default: the active action's frame range) as a canonical Clip at the
    scene frame rate, through the armature's bone mapping (an automatic one when it has none;
    it is not stored). Raises ValueError / bonemap.MappingError with a message for the user.
    """
    from ..backend.motion.inverse import clip_from_rig
    if arm_obj is None or arm_obj.type != "ARMATURE":
        raise ValueError("Select an armature to read motion from")
    scene = scene or _scene_of(arm_obj)
    if frame_start is None or frame_end is None:
        a, b = action_frame_range(arm_obj)
        frame_start = a if frame_start is None else frame_start
        frame_end = b if frame_end is None else frame_end
    first, last = int(round(frame_start)), int(round(frame_end))
    if last < first:
        raise ValueError(f"Empty frame range {frame_start}..{frame_end}")
    bm, _detected = retarget.ensure_mapping(arm_obj, store=False)
    skel = retarget.armature_skeleton(arm_obj)
    world_rot, world_pos = evaluated_world_pose(arm_obj, np.arange(first, last + 1), scene)
    anim = arm_obj.animation_data
    action = anim.action if anim is not None else None
    meta = {"source": f"Blender armature {arm_obj.name}"}
    if action is not None:
        meta["action"] = action.name
        for key in ("anima_caption", "anima_prompt", "anima_licence", "anima_attribution"):
            if key in action and isinstance(action[key], str):
                meta[key[len("anima_"):]] = action[key]
    return clip_from_rig(skel, world_rot, world_pos, bm, retarget.scene_fps(scene), meta=meta)
