"""HumanML3D's 263-dim motion features <-> joint positions <-> Anima clips. Numpy only.

The representation (Guo et al., CVPR 2022) describes a 22-joint SMPL body at 20 fps, Y up,
one row per frame *transition*: T+1 frames of joints give T rows. Per row:

=================  ======  ===========================================================
block              dims    meaning
=================  ======  ===========================================================
ROOT_ROT_VEL       1       yaw change of the heading about Y, a half angle in rad/frame
ROOT_LIN_VEL       2       root XZ displacement t -> t+1 in frame t+1's heading frame
ROOT_HEIGHT        1       root (pelvis) Y in metres
RIC                21 x 3  joints 1..21 relative to the root: XZ root-relative and rotated
                           into the heading frame (facing +Z), Y absolute
ROT6D              21 x 6  "continuous 6D" swing rotations of joints 1..21 (see below)
LOCAL_VEL          22 x 3  joint displacement t -> t+1 in frame t's heading frame
FOOT_CONTACT       4       1.0 where a foot joint barely moves: L ankle, L foot, R ankle, R foot
=================  ======  ===========================================================

The *heading* rotation of a frame (``recover_root``) rotates world vectors into the frame
where the body faces +Z. Conventions reproduced from the reference pre-processing (they are
what trained models expect):

- The heading comes from the "across" vector of hips and shoulders, smoothed over time with a
  Gaussian (sigma 20 frames, edges held). In the reference inverse kinematics the hip pair is
  unpacked in swapped order, so the across vector is (L hip - R hip) + (R shoulder - L shoulder)
  (hips and shoulders partly cancel). We do the same, otherwise ROOT_ROT_VEL, ROOT_LIN_VEL,
  RIC and LOCAL_VEL would not match the data set. The heading of frame 0 is the identity
  (the clip was already turned to face +Z with the un-swapped, un-smoothed across vector).
- ROT6D: for each kinematic chain, the shortest-arc rotation taking a fixed "raw offset" rest
  direction onto the posed bone direction, relative to the previous bone of the chain; the
  first bone of every chain (including both arm chains, which start at spine3) is relative to
  the heading rotation. The rotation of the bone parent(j) -> j is stored at joint j. There is
  no twist information. The matrix's first two columns are stored, column 0 first.
- FOOT_CONTACT: squared per-frame displacement below a threshold (0.002 m^2 at 20 fps).

One deliberate difference: the reference takes ``arcsin`` of the y component of the frame-to-
frame heading quaternion without making its w positive, which gets the sign wrong when the
heading crosses 180 degrees from the start. We make w >= 0 first; elsewhere this is identical.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import axes, quat
from .skeleton import (CANONICAL, CANONICAL_NAMES, CANONICAL_PARENTS, KINEMATIC_CHAINS,
                       Skeleton)

# ------------------------------------------------------------------------------------ layout
NUM_JOINTS = 22
FPS = 20.0

_BLOCK_SIZES = (
    ("ROOT_ROT_VEL", 1),
    ("ROOT_LIN_VEL", 2),
    ("ROOT_HEIGHT", 1),
    ("RIC", (NUM_JOINTS - 1) * 3),
    ("ROT6D", (NUM_JOINTS - 1) * 6),
    ("LOCAL_VEL", NUM_JOINTS * 3),
    ("FOOT_CONTACT", 4),
)


def _make_blocks() -> dict[str, slice]:
    blocks, start = {}, 0
    for name, size in _BLOCK_SIZES:
        blocks[name] = slice(start, start + size)
        start += size
    return blocks


BLOCKS: dict[str, slice] = _make_blocks()
ROOT_ROT_VEL = BLOCKS["ROOT_ROT_VEL"]    # 0:1
ROOT_LIN_VEL = BLOCKS["ROOT_LIN_VEL"]    # 1:3
ROOT_HEIGHT = BLOCKS["ROOT_HEIGHT"]      # 3:4
RIC = BLOCKS["RIC"]                      # 4:67
ROT6D = BLOCKS["ROT6D"]                  # 67:193
LOCAL_VEL = BLOCKS["LOCAL_VEL"]          # 193:259
FOOT_CONTACT = BLOCKS["FOOT_CONTACT"]    # 259:263
FEATURE_DIM = FOOT_CONTACT.stop
assert FEATURE_DIM == 263, FEATURE_DIM

# ------------------------------------------------------------------ pre-processing constants
# Facing joints (R hip, L hip, R shoulder, L shoulder) as the reference lists them.
FACE_JOINTS = (2, 1, 17, 16)
# Foot-contact joints in feature order: (left ankle, left foot), (right ankle, right foot).
FOOT_CONTACT_JOINTS = ((7, 10), (8, 11))
# Squared displacement per frame (m^2) below which a foot joint is in contact (at 20 fps).
FEET_THRESHOLD = 0.002
# Gaussian smoothing of the heading, in frames; the kernel reaches 4 sigma each side.
HEADING_SMOOTH_SIGMA = 20.0
_GAUSS_TRUNCATE = 4.0
# Rest direction of the bone parent(j) -> j used by HumanML3D's IK for ROT6D (Y up, +Z fwd).
HUMANML3D_REST_DIRECTIONS = np.array([
    [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, -1, 0],
    [0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1],
    [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0]], dtype=np.float64)

_Y = np.array([0.0, 1.0, 0.0])


def canonical_rest_directions() -> np.ndarray:
    """Unit rest directions (22, 3) of the bones parent(j) -> j of Anima's canonical T-pose
    skeleton, in HumanML3D's Y-up axes (row 0, the root, is zero)."""
    _, pos = CANONICAL.rest_world()
    d = np.zeros((NUM_JOINTS, 3))
    d[1:] = pos[1:] - pos[CANONICAL_PARENTS[1:]]
    d = axes.blender_to_y_up_points(d)
    return d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), quat.EPS)


def _rest_directions(rest_directions) -> np.ndarray:
    if isinstance(rest_directions, str):
        if rest_directions == "humanml3d":
            return HUMANML3D_REST_DIRECTIONS
        if rest_directions == "canonical":
            return canonical_rest_directions()
        raise ValueError(f"rest_directions must be 'humanml3d', 'canonical' or a (22, 3) array, "
                         f"got {rest_directions!r}")
    d = np.asarray(rest_directions, dtype=np.float64)
    if d.shape != (NUM_JOINTS, 3):
        raise ValueError(f"rest_directions has shape {d.shape}, expected ({NUM_JOINTS}, 3)")
    return d


def _check_features(features) -> np.ndarray:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim not in (2, 3) or f.shape[-1] != FEATURE_DIM:
        raise ValueError(f"features must have shape (T, {FEATURE_DIM}) or (B, T, {FEATURE_DIM}), "
                         f"got {f.shape}")
    return f


def _yaw_quat(half_angle: np.ndarray) -> np.ndarray:
    """Rotation about +Y by 2 * half_angle: (cos a, 0, sin a, 0)."""
    q = np.zeros(np.shape(half_angle) + (4,))
    q[..., 0] = np.cos(half_angle)
    q[..., 2] = np.sin(half_angle)
    return q


def _heading_from_forward(forward: np.ndarray) -> np.ndarray:
    """Pure-yaw rotation taking the horizontal direction `forward` (..., 3) onto +Z, w >= 0
    (the shortest arc, as the reference's qbetween gives for horizontal vectors)."""
    yaw = np.arctan2(forward[..., 0], forward[..., 2])
    return _yaw_quat(-0.5 * yaw)


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """1-D Gaussian filter along axis 0, edges held ('nearest'), kernel truncated at 4 sigma:
    the same numbers as scipy.ndimage.gaussian_filter1d(x, sigma, axis=0, mode='nearest')."""
    if sigma <= 0:
        return x.copy()
    radius = int(_GAUSS_TRUNCATE * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    idx = np.clip(np.arange(-radius, len(x) + radius), 0, len(x) - 1)
    padded = x[idx]
    out = np.zeros_like(x)
    for i, w in enumerate(k):
        out += w * padded[i:i + len(x)]
    return out


# ---------------------------------------------------------------------------- recovery
def recover_root(features) -> tuple[np.ndarray, np.ndarray]:
    """Heading rotations and root positions from features (T, 263) or (B, T, 263).

    Returns ``(heading (..., T, 4), root_positions (..., T, 3))``. ``heading`` is pure yaw
    (w, x, y, z) and rotates world (Y-up) vectors into the frame where the body faces +Z;
    its inverse is the body's facing rotation. Frame 0 has the identity heading and root XZ
    at the origin (the HumanML3D convention); the root's Y is the ROOT_HEIGHT block.
    """
    f = _check_features(features)
    rot_vel = f[..., ROOT_ROT_VEL.start]
    half = np.zeros_like(rot_vel)
    half[..., 1:] = rot_vel[..., :-1]
    heading = _yaw_quat(np.cumsum(half, axis=-1))

    step = np.zeros(f.shape[:-1] + (3,))
    step[..., 1:, 0] = f[..., :-1, ROOT_LIN_VEL.start]
    step[..., 1:, 2] = f[..., :-1, ROOT_LIN_VEL.start + 1]
    root = np.cumsum(quat.inv_rotate(heading, step), axis=-2)
    root[..., 1] = f[..., ROOT_HEIGHT.start]
    return heading, root


def recover_joints(features) -> np.ndarray:
    """Joint positions (..., T, 22, 3), metres, HumanML3D axes (Y up, frame 0 facing +Z),
    from the root and RIC blocks: the numpy equivalent of HumanML3D's ``recover_from_ric``."""
    f = _check_features(features)
    heading, root = recover_root(f)
    ric = f[..., RIC].reshape(f.shape[:-1] + (NUM_JOINTS - 1, 3))
    joints = quat.inv_rotate(heading[..., None, :], ric)
    joints[..., 0] += root[..., None, 0]
    joints[..., 2] += root[..., None, 2]
    return np.concatenate([root[..., None, :], joints], axis=-2)


# ------------------------------------------------------------------------- forward direction
def normalize_joints(joints) -> np.ndarray:
    """HumanML3D's placement of a joint sequence (N, 22, 3), Y up: the lowest joint of the
    whole clip on y = 0, the root's XZ at the origin at frame 0, and the body facing +Z at
    frame 0 (across vector of FACE_JOINTS)."""
    p = np.array(joints, dtype=np.float64)
    p[..., 1] -= p[..., 1].min()
    p -= p[0, 0] * np.array([1.0, 0.0, 1.0])
    r_hip, l_hip, r_sdr, l_sdr = FACE_JOINTS
    across = (p[0, r_hip] - p[0, l_hip]) + (p[0, r_sdr] - p[0, l_sdr])
    forward = np.cross(_Y, across)
    return quat.rotate(_heading_from_forward(forward), p)


def heading_rotations(joints, smooth_sigma: float = HEADING_SMOOTH_SIGMA) -> np.ndarray:
    """Per-frame heading (N, 4) of joints (N, 22, 3) as HumanML3D's IK computes it (swapped hip
    pair, Gaussian-smoothed forward, identity at frame 0; see the module notes)."""
    p = np.asarray(joints, dtype=np.float64)
    r_hip, l_hip, r_sdr, l_sdr = FACE_JOINTS
    across = (p[:, l_hip] - p[:, r_hip]) + (p[:, r_sdr] - p[:, l_sdr])
    across /= np.maximum(np.linalg.norm(across, axis=-1, keepdims=True), quat.EPS)
    forward = gaussian_smooth(np.cross(_Y, across), smooth_sigma)
    heading = _heading_from_forward(forward)
    heading[0] = quat.identity()
    return heading


def swing_rotations(joints, heading, rest_directions="humanml3d") -> np.ndarray:
    """HumanML3D's IK: per-joint local swing rotations (N, 22, 4); joint 0 holds the heading.
    Joint j holds the shortest arc taking rest_directions[j] onto the posed bone parent(j)->j,
    relative to the previous bone of its chain (the heading for a chain's first bone)."""
    p = np.asarray(joints, dtype=np.float64)
    rest = _rest_directions(rest_directions)
    n = p.shape[0]
    local = np.empty((n, NUM_JOINTS, 4))
    local[:, 0] = heading
    for chain in KINEMATIC_CHAINS:
        parent_world = heading
        for a, b in zip(chain[:-1], chain[1:]):
            world = quat.between(np.broadcast_to(rest[b], (n, 3)), p[:, b] - p[:, a])
            local[:, b] = quat.inv_mul(parent_world, world)
            parent_world = world
    return local


def features_from_joints(joints, *, feet_threshold: float = FEET_THRESHOLD,
                         rest_directions="humanml3d",
                         smooth_sigma: float = HEADING_SMOOTH_SIGMA,
                         normalize_pose: bool = True) -> np.ndarray:
    """HumanML3D features (N-1, 263) from joint positions (N, 22, 3), metres, Y up.

    The function works per frame and knows nothing of time; HumanML3D data is 20 fps, and
    `feet_threshold` (squared displacement per frame, m^2) and `smooth_sigma` (frames) are
    the values for that rate. Resample first (``backend.motion.resample``) for other rates.

    normalize_pose: put the clip on the floor, root XZ at the origin and facing +Z at frame 0
        (``normalize_joints``), as HumanML3D's pre-processing does. The joints are *not*
        retargeted to HumanML3D's reference skeleton (its "uniform skeleton" step).
    rest_directions: rest bone directions for the ROT6D block: "humanml3d" (the data set's
        own, so the block matches HumanML3D data), "canonical" (Anima's T-pose skeleton in
        Y-up axes) or a (22, 3) array.
    """
    p = np.asarray(joints, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"joints must have shape (N, {NUM_JOINTS}, 3), got {p.shape}")
    if p.shape[0] < 2:
        raise ValueError("need at least 2 frames of joints to make 1 row of features")
    if not np.all(np.isfinite(p)):
        raise ValueError("joints contain NaN or infinite values")
    if normalize_pose:
        p = normalize_joints(p)
    n = p.shape[0]

    heading = heading_rotations(p, smooth_sigma)
    d_heading = quat.abs_w(quat.mul_inv(heading[1:], heading[:-1]))
    root_rot_vel = np.arcsin(np.clip(d_heading[:, 2], -1.0, 1.0))
    root_lin_vel = quat.rotate(heading[1:], p[1:, 0] - p[:-1, 0])[:, [0, 2]]

    ric = p.copy()
    ric[..., [0, 2]] -= p[:, :1, [0, 2]]
    ric = quat.rotate(heading[:, None], ric)

    rot = swing_rotations(p, heading, rest_directions)
    rot6d = quat.to_6d(rot[:, 1:])

    local_vel = quat.rotate(heading[:-1, None], p[1:] - p[:-1])

    contacts = []
    for pair in FOOT_CONTACT_JOINTS:
        disp2 = np.sum((p[1:, pair] - p[:-1, pair]) ** 2, axis=-1)
        contacts.append((disp2 < feet_threshold).astype(np.float64))

    out = np.empty((n - 1, FEATURE_DIM))
    out[:, ROOT_ROT_VEL] = root_rot_vel[:, None]
    out[:, ROOT_LIN_VEL] = root_lin_vel
    out[:, ROOT_HEIGHT] = ric[:-1, 0, 1:2]
    out[:, RIC] = ric[:-1, 1:].reshape(n - 1, -1)
    out[:, ROT6D] = rot6d[:-1].reshape(n - 1, -1)
    out[:, LOCAL_VEL] = local_vel.reshape(n - 1, -1)
    out[:, FOOT_CONTACT] = np.concatenate(contacts, axis=-1)
    return out


# --------------------------------------------------------------------- Anima clips
def _check_canonical_topology(skeleton: Skeleton) -> None:
    if list(skeleton.names) != list(CANONICAL_NAMES) or not np.array_equal(
            skeleton.parents, CANONICAL_PARENTS):
        raise ValueError("HumanML3D conversion needs a clip on the canonical 22-joint skeleton "
                         "(names and parents of backend.motion.skeleton.CANONICAL); retarget "
                         "it first")


def clip_to_features(clip, **kwargs) -> np.ndarray:
    """HumanML3D features (T-1, 263) of an Anima clip on the canonical skeleton.

    The clip's joint positions (FK, Blender axes) are turned to Y up and passed to
    ``features_from_joints`` (keyword arguments go there). The clip is not resampled: give it
    at 20 fps for features that match HumanML3D's time scale.
    """
    _check_canonical_topology(clip.skeleton)
    joints = axes.blender_to_y_up_points(clip.positions())
    return features_from_joints(joints, **kwargs)


def bone_directions_from_rot6d(features, rest_directions="humanml3d") -> np.ndarray:
    """Unit bone directions parent(j) -> j (..., T, 22, 3), Y up, decoded from the ROT6D block
    and the heading (row 0 is zero). Inverse of ``swing_rotations`` for directions."""
    f = _check_features(features)
    rest = _rest_directions(rest_directions)
    rest = rest / np.maximum(np.linalg.norm(rest, axis=-1, keepdims=True), quat.EPS)
    heading, _ = recover_root(f)
    local = quat.from_6d(f[..., ROT6D].reshape(f.shape[:-1] + (NUM_JOINTS - 1, 6)))
    dirs = np.zeros(f.shape[:-1] + (NUM_JOINTS, 3))
    for chain in KINEMATIC_CHAINS:
        world = heading
        for b in chain[1:]:
            world = quat.mul(world, local[..., b - 1, :])
            dirs[..., b, :] = quat.rotate(world, np.broadcast_to(rest[b], world.shape[:-1] + (3,)))
    return dirs


def _kabsch(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rotations (T, 4) best taking directions src (K, 3) onto dst (T, K, 3)."""
    h = np.einsum("tki,kj->tij", dst, src)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(u @ vt))
    u[..., :, -1] *= d[..., None]
    return quat.from_matrix(u @ vt)


def solve_rotations(skeleton: Skeleton, directions: np.ndarray) -> np.ndarray:
    """Local pose rotations (T, J, 4) on `skeleton` (canonical topology, Blender axes) whose
    bones parent(j) -> j point along `directions` (T, J, 3, Blender axes; row 0 ignored).

    A joint with several children (pelvis, spine3) gets the rotation that best fits all of
    their directions (least squares); a joint with one child gets the shortest swing on top of
    its parent's rotation (no twist: the 22 joint positions do not determine one); a leaf
    joint (wrists, feet, head) keeps its parent's orientation.
    """
    dirs = np.asarray(directions, dtype=np.float64)
    T = dirs.shape[0]
    rest_rot, rest_pos = skeleton.rest_world()
    parents = skeleton.parents
    rest_dirs = np.zeros((len(skeleton), 3))
    rest_dirs[1:] = rest_pos[1:] - rest_pos[parents[1:]]
    rest_dirs /= np.maximum(np.linalg.norm(rest_dirs, axis=-1, keepdims=True), quat.EPS)
    # delta[j]: world rotation of joint j relative to its rest orientation.
    delta = np.empty((T, len(skeleton), 4))
    for j in range(len(skeleton)):
        p = parents[j]
        base = quat.identity((T,)) if p < 0 else delta[:, p]
        kids = skeleton.children(j)
        if len(kids) >= 2:
            delta[:, j] = _kabsch(rest_dirs[kids], dirs[:, kids])
        elif len(kids) == 1:
            c = kids[0]
            swing = quat.between(quat.rotate(base, np.broadcast_to(rest_dirs[c], (T, 3))),
                                 dirs[:, c])
            delta[:, j] = quat.mul(swing, base)
        else:
            delta[:, j] = base
    world = quat.mul(delta, rest_rot[None])
    return quat.unroll(skeleton.locals_from_world(world))


def features_to_clip(features, fps: float = FPS, *, skeleton: Skeleton | None = None,
                     rotations: str = "ik", rest_directions="humanml3d", meta=None):
    """An Anima clip (T frames, Blender axes) from HumanML3D features (T, 263).

    The root translation is the recovered root position (RIC/root blocks), turned to Blender
    axes. Local rotations come from the bone directions of either the recovered positions
    (``rotations="ik"``, the default: robust, and what models' RIC outputs define) or the ROT6D
    block (``rotations="rot6d"``, decoded with `rest_directions`). They are solved on
    `skeleton` (default: a copy of the canonical skeleton) by ``solve_rotations``; that
    skeleton's bone lengths are not HumanML3D's, so FK positions differ from RIC by the length
    differences (directions match).
    """
    from .clip import Clip

    f = _check_features(features)
    if f.ndim != 2:
        raise ValueError(f"features_to_clip takes one clip (T, {FEATURE_DIM}), got {f.shape}")
    skeleton = CANONICAL.copy() if skeleton is None else skeleton
    _check_canonical_topology(skeleton)
    joints = axes.y_up_to_blender_points(recover_joints(f))
    if rotations == "ik":
        dirs = np.zeros_like(joints)
        dirs[:, 1:] = joints[:, 1:] - joints[:, CANONICAL_PARENTS[1:]]
    elif rotations == "rot6d":
        dirs = axes.y_up_to_blender_points(bone_directions_from_rot6d(f, rest_directions))
    else:
        raise ValueError(f"rotations must be 'ik' or 'rot6d', got {rotations!r}")
    local = solve_rotations(skeleton, dirs)
    info = {"source": "humanml3d"}
    info.update(meta or {})
    return Clip(local, joints[:, 0].copy(), fps, skeleton, info)


# ------------------------------------------------------------------------ normalisation
def load_mean_std(folder) -> tuple[np.ndarray, np.ndarray]:
    """Mean.npy and Std.npy (263,) from a HumanML3D-style folder, as float64."""
    folder = Path(folder)
    out = []
    for name in ("Mean.npy", "Std.npy"):
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing (expected HumanML3D {name})")
        a = np.load(path, allow_pickle=False).astype(np.float64)
        if a.shape != (FEATURE_DIM,):
            raise ValueError(f"{path}: shape {a.shape}, expected ({FEATURE_DIM},)")
        out.append(a)
    return out[0], out[1]


def normalize(features, mean, std, eps: float = 0.0) -> np.ndarray:
    """(features - mean) / (std + eps), the form the generators consume."""
    return (np.asarray(features, dtype=np.float64) - mean) / (np.asarray(std) + eps)


def denormalize(features, mean, std, eps: float = 0.0) -> np.ndarray:
    """Inverse of ``normalize``: features * (std + eps) + mean."""
    return np.asarray(features, dtype=np.float64) * (np.asarray(std) + eps) + mean
