"""Clip <-> MuJoCo state conversions for the physics humanoid. Numpy + mujoco only.

Each MuJoCo body frame is world-aligned in the rest pose, so a body's world orientation is
``B_j = W_j * R_j^-1`` where ``W_j`` is the skeleton joint's FK world rotation and ``R_j`` its
rest world rotation; ball joint j holds ``B_parent^-1 * B_j`` (the clip's local rotation when
the skeleton's rest rotations are identity, as for CANONICAL).
"""
from __future__ import annotations

import numpy as np

from ...motion import quat
from .mjcf import Humanoid

GROUND_WINDOW_S = 1.5       # window of the rolling floor estimate (longer than a jump)
GROUND_PERCENTILE = 20      # a low percentile: the frames where the body stands
START_TOLERANCE = 0.02      # m: a first frame further than this off the floor is reported


def qpos_from_pose(humanoid: Humanoid, world_rotations: np.ndarray,
                   root_positions: np.ndarray) -> np.ndarray:
    """World joint rotations (T, 22, 4) and pelvis positions (T, 3) -> qpos (T, nq)."""
    body = quat.normalize(quat.mul_inv(world_rotations, humanoid.rest_world_rotations[None]))
    parents = humanoid.skeleton.parents
    qpos = np.zeros((len(body), humanoid.model.nq))
    a = humanoid.qpos_address
    qpos[:, a[0]:a[0] + 3] = root_positions
    qpos[:, a[0] + 3:a[0] + 7] = body[:, 0]
    local = quat.inv_mul(body[:, np.maximum(parents, 0)], body)
    local = quat.unroll(quat.normalize(local), axis=0)
    for j in range(1, len(parents)):
        qpos[:, a[j]:a[j] + 4] = local[:, j]
    qpos[:, a[0] + 3:a[0] + 7] = quat.unroll(qpos[:, a[0] + 3:a[0] + 7], axis=0)
    return qpos


def qpos_from_clip(humanoid: Humanoid, local_rotations: np.ndarray,
                   root_translation: np.ndarray) -> np.ndarray:
    """Clip arrays (T, 22, 4), (T, 3) on humanoid.skeleton -> qpos (T, nq)."""
    world, pos = humanoid.skeleton.fk(local_rotations, root_translation)
    return qpos_from_pose(humanoid, world, pos[:, 0])


def clip_arrays_from_qpos(humanoid: Humanoid, qpos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """qpos (T, nq) -> (local_rotations (T, 22, 4), root_translation (T, 3)) on the skeleton."""
    parents = humanoid.skeleton.parents
    a = humanoid.qpos_address
    T = len(qpos)
    body = np.empty((T, len(parents), 4))
    body[:, 0] = qpos[:, a[0] + 3:a[0] + 7]
    for j in range(1, len(parents)):          # parents come first
        body[:, j] = quat.mul(body[:, parents[j]], qpos[:, a[j]:a[j] + 4])
    world = quat.mul(body, humanoid.rest_world_rotations[None])
    local = humanoid.skeleton.locals_from_world(world)
    return quat.unroll(local, axis=0), qpos[:, a[0]:a[0] + 3].copy()


def velocities(model, qpos: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference qvel (T, nv) and qacc (T, nv) of a qpos trajectory (T, nq)."""
    import mujoco

    T = len(qpos)
    dt = 1.0 / fps
    step = np.zeros((T - 1, model.nv))
    for t in range(T - 1):
        mujoco.mj_differentiatePos(model, step[t], dt, qpos[t], qpos[t + 1])
    qvel = np.empty((T, model.nv))
    qvel[0], qvel[-1] = step[0], step[-1]
    qvel[1:-1] = (step[:-1] + step[1:]) / 2
    qacc = np.zeros((T, model.nv))
    if T > 2:
        qacc[1:-1] = (step[1:] - step[:-1]) / dt
        qacc[0], qacc[-1] = qacc[1], qacc[-2]
    # A light [1 2 1] smoothing: upsampled mocap has kinks at the source frames.
    if T > 3:
        qacc[1:-1] = (qacc[:-2] + 2 * qacc[1:-1] + qacc[2:]) / 4
    return qvel, qacc


def sole_heights(humanoid: Humanoid, local_rotations: np.ndarray,
                 root_translation: np.ndarray, heels: bool = False) -> np.ndarray:
    """Height (m) of each sole per frame (T, 2: left, right): the lower of the ball-of-foot
    joint and the toe tip, less the sole's thickness below the ball (what the foot box is
    built on). With `heels`, the foot box's heel edge counts too (a heel strike touches the
    floor with the ball and toes up)."""
    from .mjcf import REFERENCE_HEIGHT, SOLE_PAD, foot_box_edges

    skeleton = humanoid.skeleton
    scale = humanoid.height / REFERENCE_HEIGHT
    world, pos = skeleton.fk(local_rotations, root_translation)
    balls = [skeleton.index("left_foot"), skeleton.index("right_foot")]
    tips = pos[:, balls] + quat.rotate(world[:, balls], skeleton.tails[balls][None])
    low = np.minimum(pos[:, balls, 2], tips[..., 2]) - SOLE_PAD * scale
    if heels:
        _, rest = skeleton.rest_world()
        rest_tips = skeleton.rest_tails_world()
        for side, name in enumerate(("left_ankle", "right_ankle")):
            ankle = skeleton.index(name)
            heel = foot_box_edges(rest, rest_tips, ankle, scale)[2] - rest[ankle]
            point = pos[:, ankle] + quat.rotate(world[:, ankle], heel[None])
            low[:, side] = np.minimum(low[:, side], point[:, 2])
    return low


FLAT_BELOW = 0.02           # m: a sole this low is laid flat on the floor
FREE_ABOVE = 0.06           # m: a sole this high keeps its pose (blend between)


def flatten_feet(humanoid: Humanoid, qpos: np.ndarray, soles: np.ndarray) -> np.ndarray:
    """Lay the feet flat (keeping their heading) where the sole is near the floor, so the
    box feet stand on their soles instead of an edge. qpos (T, nq), soles (T, 2) heights of
    the left and right sole. Returns a new qpos."""
    import mujoco

    m = humanoid.model
    d = mujoco.MjData(m)
    out = qpos.copy()
    weight = np.clip((FREE_ABOVE - soles) / (FREE_ABOVE - FLAT_BELOW), 0.0, 1.0)
    names = humanoid.skeleton.names
    a = humanoid.qpos_address
    for side, prefix in enumerate(("left_", "right_")):
        ankle, toe = names.index(prefix + "ankle"), names.index(prefix + "foot")
        knee_body = humanoid.body_ids[names.index(prefix + "knee")]
        ankle_body, toe_body = humanoid.body_ids[ankle], humanoid.body_ids[toe]
        for t in np.nonzero(weight[:, side] > 0)[0]:
            d.qpos[:] = qpos[t]
            mujoco.mj_kinematics(m, d)
            foot = d.xquat[ankle_body].copy()
            # heading: where the foot's rest forward (-Y) points, on the floor
            ahead = quat.rotate(foot, np.array([0.0, -1.0, 0.0]))
            yaw = np.arctan2(-ahead[0], -ahead[1])
            flat = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.array(-yaw))
            new_foot = quat.slerp(foot, flat, np.array(weight[t, side]))
            new_toe = quat.slerp(d.xquat[toe_body], flat, np.array(weight[t, side]))
            out[t, a[ankle]:a[ankle] + 4] = quat.inv_mul(d.xquat[knee_body], new_foot)
            out[t, a[toe]:a[toe] + 4] = quat.inv_mul(new_foot, new_toe)
    for j in (names.index("left_ankle"), names.index("right_ankle"),
              names.index("left_foot"), names.index("right_foot")):
        out[:, a[j]:a[j] + 4] = quat.unroll(quat.normalize(out[:, a[j]:a[j] + 4]), axis=0)
    return out


def ground_offsets(lowest: np.ndarray, fps: float) -> np.ndarray:
    """Per-frame height (T,) to subtract so the body stands on the floor: a rolling low
    percentile of the lowest point, so slow float / sink goes away but jumps stay."""
    T = len(lowest)
    half = max(1, int(round(GROUND_WINDOW_S * fps / 2)))
    out = np.empty(T)
    for t in range(T):
        out[t] = np.percentile(lowest[max(0, t - half):t + half + 1], GROUND_PERCENTILE)
    # Smooth the offset itself so the correction adds no jitter.
    kernel = np.hanning(2 * half + 3)[1:-1]
    kernel /= kernel.sum()
    padded = np.pad(out, half, mode="edge")
    return np.convolve(padded, kernel, mode="valid")[:T]


def describe_start(first_lowest: float) -> str:
    """A sentence for the report about where frame 0 is relative to the floor."""
    if first_lowest > START_TOLERANCE:
        return (f"the clip starts {first_lowest * 100:.1f} cm in the air; it was put on the "
                "floor")
    if first_lowest < -START_TOLERANCE:
        return (f"the clip starts {-first_lowest * 100:.1f} cm inside the floor; it was put on "
                "the floor")
    return "the clip starts on the floor"


CONTACT_TOLERANCE = 0.03    # m: a reference sole this close to the floor may push on it


def unphysical_wrenches(humanoid: Humanoid, qpos: np.ndarray, qvel: np.ndarray,
                        qacc: np.ndarray, soles: np.ndarray, friction: float) -> np.ndarray:
    """The root wrench (T, 6) the reference needs that no floor contact can give: inverse
    dynamics without contacts gives the external wrench at the root (force in world axes,
    torque in the pelvis frame); while a sole (soles (T,) heights) is within
    CONTACT_TOLERANCE of the floor, the part of the force inside the friction cone and all of
    the torque are taken as the feet's, otherwise everything is unphysical."""
    import mujoco

    m = humanoid.model
    d = mujoco.MjData(m)
    root = slice(humanoid.dof_address[0], humanoid.dof_address[0] + 6)
    flags = int(m.opt.disableflags)
    out = np.zeros((len(qpos), 6))
    m.opt.disableflags = flags | int(mujoco.mjtDisableBit.mjDSBL_CONSTRAINT)
    try:
        for t in range(len(qpos)):
            d.qpos[:], d.qvel[:], d.qacc[:] = qpos[t], qvel[t], qacc[t]
            mujoco.mj_inverse(m, d)
            out[t] = d.qfrc_inverse[root]
    finally:
        m.opt.disableflags = flags
    touching = soles < CONTACT_TOLERANCE
    out[touching, :3] -= cone_projection(out[touching, :3], friction)
    out[touching, 3:] = 0.0
    return out


def cone_projection(force: np.ndarray, friction: float) -> np.ndarray:
    """Closest forces (N, 3) inside the friction cone |f_xy| <= friction * f_z."""
    horizontal = np.linalg.norm(force[:, :2], axis=1)
    inside = horizontal <= friction * force[:, 2]
    out = np.zeros_like(force)
    out[inside] = force[inside]
    direction = np.where(horizontal[:, None] > 1e-12,
                         force[:, :2] / np.maximum(horizontal, 1e-12)[:, None], 0.0)
    edge = np.concatenate([direction * friction, np.ones((len(force), 1))], axis=1)
    edge /= np.linalg.norm(edge, axis=1, keepdims=True)
    along = np.maximum(np.sum(force * edge, axis=1), 0.0)
    rest = ~inside
    out[rest] = along[rest, None] * edge[rest]
    return out
