"""Retargeting: move motion from one skeleton to another, numpy only.

The same code imports mocap (a BVH skeleton onto the canonical one) and applies canonical
motion to a user's armature. Method, per frame t:

1. Source world rotation deltas: D_s(t, j) = Q_s(t, j) R_s(j)^-1 (posed world rotation times
   the inverse of the rest world rotation), i.e. how each body segment turned away from rest.
2. Rest alignment per mapped joint c: A(c) rotates the target's rest segment frame onto the
   source's (built from the segment direction, plus a left-right axis for pelvis, spine, neck
   and head), so A-pose and T-pose rigs both end up in the source's pose.
3. Target world rotation of mapped bone k: W(t, k) R_t(k) with W(t, k) = D_s(t, j) A(c);
   unmapped bones keep their parent's delta (twist bones, extra spine bones follow along).
4. The pelvis travels on the source's path scaled by the ratio of leg lengths, and two-bone IK
   on each leg puts the ankles where the source's (scaled) ankles are, so planted feet stay
   planted whatever the target's proportions.
5. World rotations -> pose-bone local rotations (Blender's rotation_quaternion) and pose-bone
   locations for the bones that translate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import quat
from .bonemap import BoneMap
from .clip import Clip
from .skeleton import CANONICAL_NAMES, Skeleton
from .footik import (LEG_LENGTH, hip_drop, leg_length, lock_contacts, rolling_min, smooth,
                     two_bone_ik)
from .rest_align import (alignments, body_alignment, chain_alignments, rest_positions,
                         segment_frames)
from .twist import apply_twist, limb_twist_bones, twist_plan

ROOT_MODES = ("hips", "root_bone", "in_place")
# Window of the moving average that separates travel from sway for in-place / root-bone modes.
TRAJECTORY_SMOOTHING_SECONDS = 0.5
# Percentile of the feet's lowest heights over time taken as the ground (robust to jumps).
FLOOR_PERCENTILE = 5.0
# Window over which the lowest foot is taken as touching the ground when a source's floor is
# estimated (longer than any stride; a jump longer than this lifts the floor estimate).
FLOOR_WINDOW_SECONDS = 1.5

_LEGS = (("left_hip", "left_knee", "left_ankle"), ("right_hip", "right_knee", "right_ankle"))


class RetargetError(ValueError):
    pass


@dataclass
class RigPose:
    """Per-bone pose channels for a target rig.

    rotations: (T, K, 4) pose-bone rotation_quaternion (wxyz), K = all bones of the rig.
    locations: (T, K, 3) pose-bone location.
    rot_keyed / loc_keyed: (K,) bool, which bones get rotation / location keys.
    """
    bone_names: list[str]
    rotations: np.ndarray
    locations: np.ndarray
    rot_keyed: np.ndarray
    loc_keyed: np.ndarray
    fps: float

    def expanded(self, skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray]:
        """Rotations (T, J, 4) and locations (T, J, 3) over all of `skeleton`'s joints; the
        bones this pose does not mention stay at rest."""
        T = self.rotations.shape[0]
        rotations = quat.identity((T, len(skeleton)))
        locations = np.zeros((T, len(skeleton), 3))
        idx = [skeleton.index(n) for n in self.bone_names]
        rotations[:, idx] = self.rotations
        locations[:, idx] = self.locations
        return rotations, locations


# ----------------------------------------------------------------------------- helpers
# ------------------------------------------------------------------------------ core
def _static_plan(src: Skeleton, src_map: dict, tgt: Skeleton, tgt_map: dict,
                 root_mode: str, root_bone: str | None, followers: tuple = (),
                 twist: bool = False) -> dict:
    """Everything that depends only on the two skeletons and the mappings (cached)."""
    try:
        s_idx = {c: src.index(n) for c, n in src_map.items() if n}
        t_idx = {c: tgt.index(n) for c, n in tgt_map.items() if n}
    except KeyError as e:
        raise RetargetError(f"bone mapping names a bone that is not in the skeleton: {e}") from None
    shared = set(s_idx) & set(t_idx)
    needed = {"pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
              "right_ankle"}
    if not needed <= shared or not ({"spine3", "neck", "head"} & shared):
        missing = sorted((needed - shared) | ({"spine3"} if not ({"spine3", "neck", "head"}
                                                                  & shared) else set()))
        raise RetargetError(f"cannot retarget: joints missing from the mapping: {missing}")

    s_rest_rot, s_rest_pos, _ = rest_positions(src)

    # Bones that matter: mapped ones and everything on the way up to a root. Everything
    # below works on that sub-skeleton only (a generated Rigify rig has ~900 bones, of which
    # ~50 carry the motion); the other bones get no keys.
    full_tgt = tgt
    keep = np.zeros(len(tgt), dtype=bool)
    for c in shared:
        k = t_idx[c]
        while k >= 0 and not keep[k]:
            keep[k] = True
            k = tgt.parents[k]
    if twist:          # twist bones hanging off a limb get keys too
        keep[limb_twist_bones(tgt.parents, tgt.rest_world()[1], t_idx)] = True
    if root_mode == "root_bone":
        if not root_bone:
            raise RetargetError("root motion on a root bone needs a root bone: this rig has no "
                                "parentless bone above the hips; use 'hips' or 'in place'")
        if root_bone not in tgt.names:
            raise RetargetError(f"root bone {root_bone!r} is not in the rig")
        if tgt.index(root_bone) not in _ancestor_set(tgt, t_idx["pelvis"]):
            raise RetargetError(f"root bone {root_bone!r} is not an ancestor of the hips bone "
                                f"{tgt.names[t_idx['pelvis']]!r}")
    tgt = tgt.subset(np.nonzero(keep)[0])
    t_idx = {c: tgt.index(full_tgt.names[k]) for c, k in t_idx.items() if keep[k]}
    root_idx = tgt.index(root_bone) if root_mode == "root_bone" else None
    K = len(tgt)

    # Rest alignment.
    s_frames = segment_frames(src, s_idx, shared)
    t_frames = segment_frames(tgt, t_idx, shared)
    t_rest_rot, t_rest_pos, t_rest_tail = rest_positions(tgt)

    mapped_of = {t_idx[c]: c for c in shared}
    mapped_k = np.array(sorted(mapped_of), dtype=np.int64)
    # Each unmapped bone turns with its nearest mapped ancestor (-1: none, it stays at rest).
    leader = np.full(K, -1, dtype=np.int64)
    # Bones that copy another bone's world transform (a rig's constraints: Rigify's ORG
    # bones copy their controls) turn with that bone, not with their parent.
    follow = {tgt.index(f): tgt.index(g) for f, g in followers
              if f in tgt.names and g in tgt.names and tgt.index(f) not in mapped_of}
    for _ in range(len(follow) + 1):
        before = leader.copy()
        for k in range(K):
            p = tgt.parents[k]
            if k in mapped_of:
                leader[k] = k
            elif k in follow:
                leader[k] = leader[follow[k]]
            elif p >= 0:
                leader[k] = leader[p]
        if np.array_equal(before, leader):
            break
    unmapped = np.nonzero(leader != np.arange(K))[0]
    led = unmapped[leader[unmapped] >= 0]
    twists = twist_plan(tgt.parents, tgt.rest_world()[1], t_idx, leader, unmapped)

    body = body_alignment(s_frames["pelvis"], t_frames["pelvis"])
    align = alignments([s_frames[mapped_of[k]] for k in mapped_k],
                       [t_frames[mapped_of[k]] for k in mapped_k], body)    # (M, 4)
    chain_alignments(align, [mapped_of[k] for k in mapped_k], s_frames, t_frames)
    pelvis_k = t_idx["pelvis"]
    # Positions are only needed at "anchors" (mapped bones, roots, the root bone). An unmapped
    # bone turns with its leader, so the rest vector from an anchor's nearest anchor ancestor
    # `a` to it simply turns by a's world delta: pos[k] = pos[a] + W[a] (rest[k] - rest[a]).
    anchor = np.zeros(K, dtype=bool)
    anchor[mapped_k] = True
    anchor[tgt.parents < 0] = True
    anchor[list(follow)] = True      # their children hang from them, not from their parent
    if root_idx is not None:
        anchor[root_idx] = True
    up = np.full(K, -1, dtype=np.int64)          # nearest anchor strictly above each bone
    for k in range(K):
        p = tgt.parents[k]
        if p >= 0:
            up[k] = p if anchor[p] else up[p]
    depth = np.zeros(K, dtype=np.int64)
    for k in np.nonzero(anchor)[0]:
        depth[k] = depth[up[k]] + 1 if up[k] >= 0 else 0
    anchor_levels = [np.nonzero(anchor & (depth == d))[0] for d in range(int(depth.max()) + 1)]
    # The rest vector from each anchor's upper anchor, and the delta that turns it.
    rest_vec = np.where((up >= 0)[:, None], t_rest_pos - t_rest_pos[np.maximum(up, 0)], 0.0)

    return dict(s_idx=s_idx, shared=shared, tgt=tgt, t_idx=t_idx, root_idx=root_idx, K=K,
                s_rest_rot=s_rest_rot, s_rest_pos=s_rest_pos,
                t_rest_rot=t_rest_rot, t_rest_pos=t_rest_pos, t_rest_tail=t_rest_tail,
                mapped_of=mapped_of, mapped_k=mapped_k, leader=leader, led=led, align=align,
                twists=twists,
                s_rest_identity=bool(np.allclose(s_rest_rot, quat.identity(), atol=1e-12)),
                pelvis_k=pelvis_k, anchor_levels=anchor_levels, up=up, rest_vec=rest_vec)


_PLAN_CACHE: dict = {}
_PLAN_CACHE_SIZE = 8


def _signature(skel: Skeleton) -> int:
    """Content hash of a skeleton (memoised on it: skeletons are not modified once built)."""
    sig = skel.__dict__.get("_signature_cache")
    if sig is None:
        sig = hash((tuple(skel.names), skel.parents.tobytes(), skel.offsets.tobytes(),
                    skel.rest_rotations.tobytes(), skel.tails.tobytes()))
        skel.__dict__["_signature_cache"] = sig
    return sig


def _cached_plan(src, src_map, tgt, tgt_map, root_mode, root_bone, followers=(),
                 twist=False) -> dict:
    followers = tuple(sorted(dict(followers).items()))
    key = (_signature(src), _signature(tgt), tuple(sorted(src_map.items())),
           tuple(sorted(tgt_map.items())), root_mode, root_bone, followers, twist)
    plan = _PLAN_CACHE.get(key)
    if plan is None:
        plan = _static_plan(src, src_map, tgt, tgt_map, root_mode, root_bone, followers, twist)
        if len(_PLAN_CACHE) >= _PLAN_CACHE_SIZE:
            _PLAN_CACHE.pop(next(iter(_PLAN_CACHE)))
        _PLAN_CACHE[key] = plan
    return plan


def retarget(src: Skeleton, src_rotations: np.ndarray, src_root: np.ndarray,
             src_map: dict[str, str], tgt: Skeleton, tgt_map: dict[str, str], *,
             root_mode: str = "hips", root_bone: str | None = None, foot_ik: bool = True,
             fps: float = 30.0, scale: float | None = None,
             src_floor: float | None = None, foot_lock: bool = True,
             src_world: tuple | None = None, followers: dict | None = None,
             twist_share: float = 0.0) -> RigPose:
    """Retarget motion between any two skeletons.

    src_rotations: (T, Js, 4) local rotations on `src`; src_root: (T, 3) world position of src
    joint 0. src_world: instead of those two, the posed world rotations (T, Js, 4) and positions
    (T, Js, 3) of every joint of `src` (e.g. an evaluated armature, where bones may translate).
    followers: {bone: bone it copies} for target bones that a constraint makes copy another
    bone's world transform (operators.retarget.constraint_followers reads them).
    twist_share: 0..1, how much of a limb's twist the rig's twist bones take (twist.py). src_map / tgt_map: canonical joint name -> joint/bone name in each skeleton.
    src_floor: height of the source's ground (None: estimated from its feet).
    foot_lock: pin each ankle while the source's foot is planted (slow and low), so mocap
        foot roll and resampling do not make planted feet slide.
    Returns a RigPose over the bones of `tgt` that carry the motion (the mapped bones and
    their ancestors); other bones are left alone.
    """
    if root_mode not in ROOT_MODES:
        raise RetargetError(f"root_mode must be one of {ROOT_MODES}, got {root_mode!r}")
    if src_world is not None:
        s_rot = np.asarray(src_world[0], dtype=np.float64)
        s_pos = np.asarray(src_world[1], dtype=np.float64)
        if s_rot.shape[1:] != (len(src), 4) or s_pos.shape != s_rot.shape[:2] + (3,):
            raise RetargetError(f"src_world shapes {s_rot.shape} / {s_pos.shape} do not fit a "
                                f"{len(src)}-joint source skeleton")
    else:
        src_rotations = np.asarray(src_rotations, dtype=np.float64)
        s_rot, s_pos = src.fk(src_rotations, src_root)
    T = s_rot.shape[0]
    if T == 0:
        raise RetargetError("the clip has no frames")
    plan = _cached_plan(src, {c: n for c, n in src_map.items() if n}, tgt,
                        {c: n for c, n in tgt_map.items() if n}, root_mode, root_bone,
                        followers or {}, twist_share > 0)
    s_idx, shared, tgt, t_idx = plan["s_idx"], plan["shared"], plan["tgt"], plan["t_idx"]
    root_idx, K = plan["root_idx"], plan["K"]
    s_rest_rot, s_rest_pos = plan["s_rest_rot"], plan["s_rest_pos"]
    t_rest_rot, t_rest_pos, t_rest_tail = plan["t_rest_rot"], plan["t_rest_pos"], \
        plan["t_rest_tail"]
    mapped_of, mapped_k, leader, led = plan["mapped_of"], plan["mapped_k"], plan["leader"], \
        plan["led"]
    align, pelvis_k, anchor_levels = plan["align"], plan["pelvis_k"], plan["anchor_levels"]
    up, rest_vec = plan["up"], plan["rest_vec"]

    # Source world motion (a canonical source's rest orientations are all identity).
    s_delta = s_rot if plan["s_rest_identity"] else \
        quat.mul(s_rot, quat.conjugate(s_rest_rot)[None])               # (T, Js, 4)

    def follow_parents(world_delta):
        """Unmapped bones (twist segments, extra spine bones) keep their leader's delta."""
        world_delta[:, led] = world_delta[:, leader[led]]

    world_delta = np.empty((T, K, 4))
    world_delta[:] = quat.identity()
    world_delta[:, mapped_k] = quat.mul(
        s_delta[:, [s_idx[mapped_of[k]] for k in mapped_k]], align[None])
    follow_parents(world_delta)

    # Root path: scale by leg length, keep the target's floor and start point.
    t_leg = leg_length(t_rest_pos, t_idx)
    if scale is None:
        scale = t_leg / max(leg_length(s_rest_pos, s_idx), 1e-6)
    foot_names = [n for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")
                  if n in t_idx]
    t_floor = min(min(t_rest_pos[t_idx[n], 2], t_rest_tail[t_idx[n], 2]) for n in foot_names)
    floor_known = src_floor is not None
    if src_floor is None:
        # Where is the source's floor? Assume that at its lowest moments the source's feet
        # touch the ground the way the target's feet do at rest.
        feet = [n for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")
                if n in shared]
        lows = np.stack([s_pos[:, s_idx[n], 2] - (t_rest_pos[t_idx[n], 2] - t_floor) / scale
                         for n in feet], axis=1).min(axis=1)
        # Mocap floors drift and slope: follow the lower envelope of the feet over time.
        window = max(1, int(round(FLOOR_WINDOW_SECONDS * fps)))
        src_floor = smooth(rolling_min(lows, window)[:, None], window | 1)[:, 0]
    s_floor = np.broadcast_to(np.asarray(src_floor, dtype=np.float64), (T,))
    # Start where the target stands: the source's first mid-hip point maps onto the target's
    # rest mid-hip point (horizontally).
    origin_s = 0.5 * (s_pos[0, s_idx["left_hip"]] + s_pos[0, s_idx["right_hip"]])
    t_pelvis_rest = 0.5 * (t_rest_pos[t_idx["left_hip"]] + t_rest_pos[t_idx["right_hip"]])

    def to_target(p: np.ndarray, dz: float = 0.0) -> np.ndarray:
        out = np.empty_like(p)
        out[..., 0] = t_pelvis_rest[0] + scale * (p[..., 0] - origin_s[0])
        out[..., 1] = t_pelvis_rest[1] + scale * (p[..., 1] - origin_s[1])
        out[..., 2] = t_floor + scale * (p[..., 2] - s_floor) + dz
        return out

    # Ankle heights: the source's standing ankle (scaled) may sit higher or lower than the
    # target's own; shift legs and pelvis together so the target stands on its ankles.
    leg_dz = {}
    for hip, knee, ankle in _LEGS:
        t_clear = t_rest_pos[t_idx[ankle], 2] - t_floor
        if floor_known:   # the source's rest pose stands on its floor
            s_clear = s_rest_pos[s_idx[ankle], 2] - s_floor[0]
            leg_dz[ankle] = t_clear - scale * s_clear
        else:             # standing ankle height seen in the motion
            raw = to_target(s_pos[:, s_idx[ankle]])[:, 2]
            leg_dz[ankle] = t_floor + t_clear - float(np.percentile(raw, FLOOR_PERCENTILE))
    # The legs hang from the hip joints, so place the pelvis by where the source's hip joints
    # are (their midpoint), not by the pelvis joint, whose height above the hips varies a lot
    # between skeletons.
    s_mid_hips = 0.5 * (s_pos[:, s_idx["left_hip"]] + s_pos[:, s_idx["right_hip"]])
    hips_goal = to_target(s_mid_hips, float(np.mean(list(leg_dz.values()))))
    travel = hips_goal[:, :2] - hips_goal[0, :2]
    window = max(1, int(round(TRAJECTORY_SMOOTHING_SECONDS * fps)) | 1)
    smooth_travel = smooth(travel, window)
    root_travel = np.zeros((T, 3))
    if root_mode == "in_place":
        hips_goal[:, :2] -= smooth_travel
        shift = np.concatenate([smooth_travel, np.zeros((T, 1))], axis=1)
    else:
        shift = np.zeros((T, 3))
        if root_mode == "root_bone":
            root_travel[:, :2] = smooth_travel

    # World rotations and positions of the target.
    def turning(world_delta, k):
        """World delta acting on the segment above bone(s) k: that of the leader of up[k]."""
        lead = leader[up[k]]
        q = world_delta[:, np.maximum(lead, 0)]
        return np.where((lead >= 0)[None, :, None], q, quat.identity())

    def world_pose(world_delta, pelvis_pos, with_rot=True):
        rot = quat.mul(world_delta, t_rest_rot[None]) if with_rot else None
        pos = np.zeros((T, K, 3))
        for level in anchor_levels:
            roots = up[level] < 0
            r = level[roots]
            if r.size:
                pos[:, r] = t_rest_pos[r]
                if root_idx is not None and root_idx in r:
                    pos[:, root_idx] += root_travel
            kids = level[~roots]
            if kids.size:
                pos[:, kids] = pos[:, up[kids]] + quat.rotate(turning(world_delta, kids),
                                                              rest_vec[kids])
            if pelvis_k in level:
                pos[:, pelvis_k] = pelvis_pos
        return rot, pos

    # Pose with the pelvis at the origin, then move the pelvis's subtree into place.
    rot, pos = world_pose(world_delta, np.zeros((T, 3)), with_rot=not foot_ik)
    t_mid_rel = 0.5 * (pos[:, t_idx["left_hip"]] + pos[:, t_idx["right_hip"]])
    pelvis_t = hips_goal - t_mid_rel
    pos[:, tgt.subtree(pelvis_k)] += pelvis_t[:, None]

    if foot_ik:
        # Both legs in one vectorised solve: (T, 2, ...) arrays.
        kh = np.array([t_idx[h] for h, _, _ in _LEGS])
        kk = np.array([t_idx[k] for _, k, _ in _LEGS])
        ka = np.array([t_idx[a] for _, _, a in _LEGS])
        goals = []
        for (hip, knee, ankle), k in zip(_LEGS, ka):
            goal = to_target(s_pos[:, s_idx[ankle]], leg_dz[ankle]) - shift
            if foot_lock:
                goal = lock_contacts(goal, fps, t_rest_pos[k, 2], t_leg / LEG_LENGTH)
            goals.append(goal)
        goal = np.stack(goals, axis=1)                                     # (T, 2, 3)
        # Lower the hips where a leg could not reach its ankle goal (a straight leg on a
        # rig whose hips sit wider or higher than the source's, scaled): a planted foot
        # would otherwise be dragged along.
        drop = hip_drop(pos[:, kh], pos[:, kk], pos[:, ka], goal, fps)
        if drop.any():
            pelvis_t = pelvis_t.copy()
            pelvis_t[:, 2] -= drop
            pos[:, tgt.subtree(pelvis_k), 2] -= drop[:, None]
        # Knees bend forward: for a straight leg the bend plane's normal is the rig's -X
        # (its right-to-left axis, negated), carried along by the shin.
        hint = quat.rotate(world_delta[:, kk], np.array([-1.0, 0.0, 0.0]))
        thigh, shin = two_bone_ik(pos[:, kh], pos[:, kk], pos[:, ka], goal,
                                   world_delta[:, kh], world_delta[:, kk], hint)
        world_delta[:, kh], world_delta[:, kk] = thigh, shin
        follow_parents(world_delta)
        rot, pos = world_pose(world_delta, pelvis_t)

    if twist_share > 0 and plan["twists"]:
        def parent_delta(k):
            return world_delta[:, max(int(leader[tgt.parents[k]]), 0)] \
                if tgt.parents[k] >= 0 and leader[tgt.parents[k]] >= 0 \
                else quat.identity((T,))
        apply_twist(world_delta, plan["twists"], parent_delta, float(twist_share))
        rot, pos = world_pose(world_delta, pelvis_t)

    # Locals and locations.
    rotations = tgt.locals_from_world(rot)
    rotations = quat.unroll(rotations, axis=0)
    locations = np.zeros((T, K, 3))
    loc_keyed = np.zeros(K, dtype=bool)
    movers = [t_idx["pelvis"]] + ([root_idx] if root_idx is not None else [])
    for k in movers:
        p = tgt.parents[k]
        if p < 0:
            frame = np.broadcast_to(tgt.rest_rotations[k], (T, 4))
            base = np.broadcast_to(tgt.offsets[k], (T, 3))
        else:
            frame = quat.mul(rot[:, p], tgt.rest_rotations[k][None])
            base = pos[:, up[k]] + quat.rotate(turning(world_delta, np.array([k]))[:, 0],
                                               rest_vec[k])
        locations[:, k] = quat.inv_rotate(frame, pos[:, k] - base)
        loc_keyed[k] = True
    return RigPose(list(tgt.names), rotations, locations, np.ones(K, dtype=bool), loc_keyed, fps)


def _ancestor_set(skel: Skeleton, k: int) -> set[int]:
    out = set()
    p = skel.parents[k]
    while p >= 0:
        out.add(int(p))
        p = skel.parents[p]
    return out


# ------------------------------------------------------------------------ conveniences
def retarget_to_rig(clip: Clip, rig: Skeleton, bonemap: BoneMap, root_mode: str = "hips",
                    foot_ik: bool = True, followers: dict | None = None,
                    twist_share: float = 0.0) -> RigPose:
    """Apply a canonical clip to a rig (a Skeleton built from the armature's rest pose)."""
    canonical_map = {n: n for n in CANONICAL_NAMES} if clip.skeleton.names == \
        list(CANONICAL_NAMES) else clip.meta.get("joint_map")
    if canonical_map is None:
        raise RetargetError("clip is not on the canonical skeleton and carries no joint map")
    # Canonical clips stand on z = 0 (the importer and the generators ground them).
    return retarget(clip.skeleton, clip.local_rotations, clip.root_translation, canonical_map,
                    rig, bonemap.bones, root_mode=root_mode, root_bone=bonemap.root_bone,
                    foot_ik=foot_ik, fps=clip.fps, src_floor=0.0, followers=followers,
                    twist_share=twist_share)


def rig_positions(rig: Skeleton, pose: RigPose) -> np.ndarray:
    """World (armature-space) head positions (T, J, 3) of all of `rig`'s bones for a RigPose
    (bones the pose does not mention stay in their rest pose)."""
    rotations, locations = pose.expanded(rig)
    return rig.fk(rotations, None, locations)[1]


def position_error(src_positions: np.ndarray, src_height: float, tgt_positions: np.ndarray,
                   tgt_height: float) -> np.ndarray:
    """Per-frame, per-joint distance between matched joints after normalising each side by its
    height and putting both starts at the origin: (T, J) in units of height."""
    def norm(p, h):
        start = p[0, :, :2].mean(axis=0)
        q = p.copy()
        q[..., :2] -= start
        return q / h
    return np.linalg.norm(norm(src_positions, src_height) - norm(tgt_positions, tgt_height),
                          axis=-1)
