"""Inverse retargeting: motion on any mapped rig -> a canonical clip.

The input motion editing, physics and export need. The rig's posed bones are given in world
space (an evaluated armature: constraints, IK and bones that translate all included), then the
same retargeter that applies canonical motion to a rig runs the other way, with the canonical
skeleton as the target: rest-pose aware per segment, root travel scaled by leg length, ankles
put where the rig's ankles are (no foot locking: the rig's own contacts are kept as they are).
"""
from __future__ import annotations

import numpy as np

from .bonemap import BoneMap
from .clip import Clip
from .footik import leg_length
from .retarget import RetargetError, retarget
from .skeleton import CANONICAL, CANONICAL_NAMES, Skeleton


def rig_floor(rig: Skeleton, bonemap: BoneMap) -> float:
    """Height of the ground a rig stands on at rest: its lowest foot point (heads and tails
    of the mapped ankle and toe bones)."""
    rots, pos = rig.rest_world()
    tails = rig.rest_tails_world()
    feet = [rig.index(bonemap.bones[j]) for j in ("left_ankle", "right_ankle", "left_foot",
                                                   "right_foot") if bonemap.bones.get(j)]
    if not feet:
        raise RetargetError("the mapping has no ankle bones")
    return float(min(pos[feet, 2].min(), tails[feet, 2].min()))


def clip_from_rig(rig: Skeleton, world_rotations: np.ndarray, world_positions: np.ndarray,
                  bonemap: BoneMap, fps: float, meta: dict | None = None) -> Clip:
    """Canonical clip from a rig's posed bones.

    rig: the rig's rest skeleton in world axes (operators.retarget.armature_skeleton);
    world_rotations (T, K, 4) wxyz and world_positions (T, K, 3): each bone's posed world
    orientation and head position, bones in `rig`'s order; bonemap: canonical joint -> bone.
    The clip starts where the canonical skeleton stands (its first mid-hip point over the
    rest mid-hip point) and stands on z = 0; where the rig started is kept in
    meta["rig_start"] (x, y of its first mid-hip point) and meta["rig_scale"] (rig leg length
    / canonical leg length), so a later retarget back onto the rig can put it back.
    """
    world_rotations = np.asarray(world_rotations, dtype=np.float64)
    world_positions = np.asarray(world_positions, dtype=np.float64)
    if world_rotations.ndim != 3 or world_rotations.shape[1:] != (len(rig), 4):
        raise RetargetError(f"world_rotations has shape {world_rotations.shape}, expected "
                            f"(T, {len(rig)}, 4)")
    canonical_map = {n: n for n in CANONICAL_NAMES}
    pose = retarget(rig, None, None, bonemap.bones, CANONICAL, canonical_map,
                    root_mode="hips", foot_ik=True, fps=fps, src_floor=rig_floor(rig, bonemap),
                    foot_lock=False, src_world=(world_rotations, world_positions))
    # Canonical joints the rig has no bone for (toes, a spine joint) keep their rest pose
    # relative to their parent.
    T = world_rotations.shape[0]
    rotations = np.zeros((T, len(CANONICAL_NAMES), 4))
    rotations[..., 0] = 1.0
    for j, name in enumerate(CANONICAL_NAMES):
        if name in pose.bone_names:
            rotations[:, j] = pose.rotations[:, pose.bone_names.index(name)]
    pelvis = CANONICAL.index("pelvis")
    # Floors: the retargeter maps the rig's ground onto the canonical skeleton's lowest foot
    # point and places the hips by the ankles' clearance above it, which together put the
    # clip exactly where a canonical clip stands (the forward retarget inverts it).
    root = CANONICAL.offsets[pelvis][None] + pose.locations[:, pose.bone_names.index("pelvis")]
    s_idx = {j: rig.index(b) for j, b in bonemap.bones.items() if b}
    start = 0.5 * (world_positions[0, s_idx["left_hip"]] + world_positions[0, s_idx["right_hip"]])
    info = dict(meta or {})
    info.setdefault("rig_start", [float(start[0]), float(start[1])])
    r_idx = {j: rig.index(b) for j, b in bonemap.bones.items() if b}
    info.setdefault("rig_scale", leg_length(rig.rest_world()[1], r_idx) /
                    leg_length(CANONICAL.rest_world()[1], {j: CANONICAL.index(j)
                                                           for j in CANONICAL_NAMES}))
    return Clip(rotations, root, fps, CANONICAL.copy(), info)
