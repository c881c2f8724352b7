"""AMASS / SMPL-family motion files <-> Anima clips on the canonical skeleton. Numpy only.

An AMASS file is an ``.npz`` with

- ``poses`` (T, 3 * J) axis-angle rotations: J = 24 (SMPL, 72 values), 52 (SMPL-H, 156) or
  55 (SMPL-X, 165). The first 22 joints are the body joints in the canonical order
  (``skeleton.CANONICAL_NAMES``); joint 0's rotation is the global orientation.
- ``trans`` (T, 3) metres, ``mocap_framerate`` (SMPL-H files) or ``mocap_frame_rate``
  (SMPL-X files), ``betas`` (B,) body shape, ``gender`` ("male" / "female" / "neutral").
- SMPL-X files also split ``poses`` into ``root_orient`` (T, 3), ``pose_body`` (T, 63),
  ``pose_jaw`` (T, 3), ``pose_eye`` (T, 6), ``pose_hand`` (T, 90), and name the model in
  ``surface_model_type``.

Axes (see ``axes.py``): the model is Y-up facing +Z; ``root_orient`` turns it into the Z-up
capture world, so joint 0 becomes ``root_orient C^-1`` (C: Y-up -> Blender) and every other
joint's rotation is conjugated by C. The model places the pelvis at ``trans + J0``, J0 being
the pelvis of the shaped model at rest, which only the (unshipped) model files know.

Two ways onto the canonical skeleton:

- Without the model (default): rotations transfer joint by joint, the pelvis follows
  ``trans`` and the clip is put on the floor (``normalize.ground``). This assumes the model's
  zero pose has the canonical T-pose's segment directions; where it does not, each segment is
  off by the difference of the rest directions (``rest_direction_errors``, docs/smplx.md).
- With the shaped model's rest joints (``rest_joints``, from ``backend.body.smplx_body``):
  the motion is retargeted rest-aware (``retarget.retarget``), the same code that imports BVH
  mocap, so segment directions match whatever the rest poses, and the pelvis is at trans + J0.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..fileio import atomic_write
from . import axes, quat
from .clip import Clip
from .normalize import ground as ground_clip
from .skeleton import CANONICAL, CANONICAL_NAMES, CANONICAL_PARENTS, Skeleton

BODY_JOINTS = 22
# Values per frame in ``poses`` -> (model, joints).
POSE_LAYOUTS = {72: ("SMPL", 24), 156: ("SMPL-H", 52), 165: ("SMPL-X", 55)}
GENDERS = ("neutral", "male", "female")
FRAMERATE_KEYS = ("mocap_framerate", "mocap_frame_rate")
SMPLX_POSE_VALUES = 165
SMPLX_DEFAULT_BETAS = 16           # what AMASS's SMPL-X files carry
MAX_BETAS = 400                    # SMPL-X v1.1: 300 shape + 100 expression components
IDENTITY_MAP = {n: n for n in CANONICAL_NAMES}
_LEAVES = {"head": "neck", "left_wrist": "left_elbow", "right_wrist": "right_elbow",
           "left_foot": "left_ankle", "right_foot": "right_ankle"}


# ------------------------------------------------------------------------ axis-angle
def axis_angle_to_quat(aa: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle vectors (angle = length, radians) -> (..., 4) wxyz."""
    aa = np.asarray(aa, dtype=np.float64)
    return quat.from_axis_angle(aa, np.linalg.norm(aa, axis=-1))


def quat_to_axis_angle(q: np.ndarray) -> np.ndarray:
    """(..., 4) wxyz -> (..., 3) axis-angle with angles in [0, pi]."""
    axis, angle = quat.to_axis_angle(q)
    return axis * angle[..., None]


# ----------------------------------------------------------------------------- reading
def read_npz(path) -> dict:
    """All arrays of an .npz (no pickles), ValueError for anything unreadable."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise ValueError(f"{path.name}: not a readable .npz file ({e})") from None
    if not hasattr(archive, "files"):
        raise ValueError(f"{path.name}: a single .npy array, not an AMASS .npz archive")
    out = {}
    with archive:
        for key in archive.files:
            try:
                out[key] = archive[key]
            except ValueError:
                raise ValueError(f"{path.name}: field {key!r} is stored as a pickled Python "
                                 f"object, which Anima does not load") from None
    return out


def _text(value) -> str:
    v = np.asarray(value)
    if v.size != 1:
        raise ValueError(f"expected one string, got an array of shape {v.shape}")
    v = v.reshape(()).item()
    return (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)).strip().lower()


def _framerate(data: dict, name: str) -> float:
    key = next((k for k in FRAMERATE_KEYS if k in data), None)
    if key is None:
        raise ValueError(f"{name}: missing the frame rate ({' or '.join(FRAMERATE_KEYS)})")
    v = np.asarray(data[key])
    if v.size != 1 or not np.issubdtype(v.dtype, np.number):
        raise ValueError(f"{name}: {key} must be one number, got shape {v.shape} {v.dtype}")
    fps = float(v.reshape(()))
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"{name}: {key} must be a positive frame rate, got {fps:g}")
    return fps


def check_amass(data: dict, name: str = "file") -> dict:
    """Validate AMASS arrays; returns {poses (T, P), trans (T, 3), fps, gender, betas (B,),
    model}. Raises ValueError with a message naming the field at fault."""
    for key in ("poses", "trans"):
        if key not in data:
            raise ValueError(f"{name}: missing the {key!r} array (not an AMASS motion file; "
                             f"it has {', '.join(sorted(data)) or 'no arrays'})")
    poses = np.asarray(data["poses"])
    trans = np.asarray(data["trans"])
    if not np.issubdtype(poses.dtype, np.number) or not np.issubdtype(trans.dtype, np.number):
        raise ValueError(f"{name}: poses and trans must be numbers")
    if poses.ndim != 2 or poses.shape[1] not in POSE_LAYOUTS:
        layouts = ", ".join(f"T x {n} ({m})" for n, (m, _) in POSE_LAYOUTS.items())
        raise ValueError(f"{name}: poses has shape {poses.shape}; expected {layouts}")
    T = poses.shape[0]
    if T == 0:
        raise ValueError(f"{name}: the motion has no frames")
    if trans.shape != (T, 3):
        raise ValueError(f"{name}: trans has shape {trans.shape}, expected ({T}, 3) to match "
                         f"poses")
    for key, arr in (("poses", poses), ("trans", trans)):
        if not np.isfinite(arr).all():
            bad = int(np.nonzero(~np.isfinite(arr).all(axis=1))[0][0])
            raise ValueError(f"{name}: {key} has NaN or infinite values (first at frame {bad})")
    fps = _framerate(data, name)
    gender = "neutral"
    if "gender" in data:
        try:
            gender = _text(data["gender"])
        except ValueError as e:
            raise ValueError(f"{name}: gender: {e}") from None
        if gender not in GENDERS:
            raise ValueError(f"{name}: unknown gender {gender!r}; expected one of "
                             f"{', '.join(GENDERS)}")
    betas = np.zeros(0)
    if "betas" in data:
        raw = np.asarray(data["betas"])
        if not np.issubdtype(raw.dtype, np.number) or raw.ndim > 2 or \
                not np.isfinite(raw).all():
            raise ValueError(f"{name}: betas must be finite numbers, (B,) or (T, B)")
        # Some tools store one row per frame; the body shape is the first.
        betas = (raw[0] if raw.ndim == 2 and len(raw) else raw).astype(np.float64).reshape(-1)
    return {"poses": poses.astype(np.float64), "trans": trans.astype(np.float64), "fps": fps,
            "gender": gender, "betas": betas, "model": POSE_LAYOUTS[poses.shape[1]][0]}


def amass_rotations(poses: np.ndarray) -> np.ndarray:
    """(T, P) AMASS poses -> (T, 22, 4) canonical-frame local rotations (joint by joint)."""
    q = axis_angle_to_quat(poses[:, :3 * BODY_JOINTS].reshape(-1, BODY_JOINTS, 3))
    rots = np.empty_like(q)
    rots[:, 0] = axes.smpl_root_to_blender(q[:, 0])
    rots[:, 1:] = axes.y_up_to_blender_rotations(q[:, 1:])
    return quat.normalize(rots)


def load_amass(path, rest_joints: np.ndarray | None = None, ground: bool = True) -> Clip:
    """Read an AMASS-style .npz into a Clip on the canonical skeleton (22 joints, Z up,
    facing -Y, metres) at the file's frame rate.

    rest_joints: optional (>= 22, 3) rest joint positions of the file's shaped model in the
        model's own Y-up frame (metres); given, the motion is retargeted rest-aware and the
        pelvis placed at trans + J0, otherwise rotations transfer joint by joint.
    ground: stand the clip on z = 0 (canonical clips do).
    Raises ValueError with a specific message for anything malformed.
    """
    name = Path(path).name
    a = check_amass(read_npz(path), name)
    rots = amass_rotations(a["poses"])
    meta = {"source": "AMASS", "file": name, "model": a["model"], "gender": a["gender"],
            "betas": [round(float(b), 6) for b in a["betas"][:MAX_BETAS]],
            "source_fps": a["fps"]}
    if rest_joints is None:
        meta["rest_alignment"] = "joint-by-joint"
        clip = Clip(rots, a["trans"], a["fps"], CANONICAL.copy(), meta)
    else:
        meta["rest_alignment"] = "model rest joints"
        clip = _rest_aligned(rots, a["trans"], a["fps"], rest_joints, meta)
    return ground_clip(clip) if ground else clip


# ------------------------------------------------------------------------ rest-aware
def smpl_rest_skeleton(rest_joints: np.ndarray) -> Skeleton:
    """The 22 body joints of an SMPL-family model at rest (model frame, Y up) as a Skeleton
    in Blender axes with world-aligned joint frames. Leaf bones point along their parent
    segment (the model has no tails)."""
    j = np.asarray(rest_joints, dtype=np.float64)
    if j.ndim != 2 or j.shape[0] < BODY_JOINTS or j.shape[1] != 3 or not np.isfinite(j).all():
        raise ValueError(f"rest_joints must be finite (>= {BODY_JOINTS}, 3), got {j.shape}")
    pos = axes.y_up_to_blender_points(j[:BODY_JOINTS])
    offsets = pos.copy()
    offsets[1:] -= pos[CANONICAL_PARENTS[1:]]
    skel = Skeleton(list(CANONICAL_NAMES), CANONICAL_PARENTS.copy(), offsets)
    tails = skel.tails.copy()
    for leaf, parent in _LEAVES.items():
        k, p = CANONICAL_NAMES.index(leaf), CANONICAL_NAMES.index(parent)
        tails[k] = 0.5 * (pos[k] - pos[p])
    return Skeleton(skel.names, skel.parents, skel.offsets, None, tails)


def _rest_aligned(rots, trans, fps, rest_joints, meta) -> Clip:
    from .retarget import retarget
    skel = smpl_rest_skeleton(rest_joints)
    pelvis = trans + np.asarray(rest_joints, dtype=np.float64)[0]     # raw J0: see docstring
    pose = retarget(skel, rots, pelvis, IDENTITY_MAP, CANONICAL, IDENTITY_MAP,
                    root_mode="hips", foot_ik=True, fps=fps)
    rotations, locations = pose.expanded(CANONICAL)
    positions = CANONICAL.fk(rotations, None, locations)[1]
    return Clip(rotations, positions[:, 0], fps, CANONICAL.copy(), meta)


def rest_direction_errors(rest_joints: np.ndarray) -> np.ndarray:
    """(22,) degrees between each bone parent(j) -> j of a model's rest pose (model frame,
    Y up) and the canonical T-pose's: the error joint-by-joint transfer makes in that
    segment's direction, whatever the pose (index 0, the root, is 0)."""
    src = smpl_rest_skeleton(rest_joints).rest_world()[1]
    tgt = CANONICAL.rest_world()[1]
    par = CANONICAL_PARENTS[1:]
    a = src[1:] - src[par]
    b = tgt[1:] - tgt[par]
    cos = np.sum(a * b, -1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1),
                                         1e-12)
    return np.concatenate([[0.0], np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))])


# ----------------------------------------------------------------------------- writing
def smplx_arrays(clip: Clip, gender: str = "neutral", betas=None) -> dict:
    """The SMPL-X / AMASS arrays for a canonical clip (see save_smplx)."""
    if list(clip.skeleton.names) != list(CANONICAL_NAMES):
        raise ValueError("only clips on the canonical 22-joint skeleton can be written as "
                         "SMPL-X parameters")
    gender = str(gender).strip().lower()
    if gender not in GENDERS:
        raise ValueError(f"unknown gender {gender!r}; expected one of {', '.join(GENDERS)}")
    betas = np.zeros(SMPLX_DEFAULT_BETAS) if betas is None else \
        np.asarray(betas, dtype=np.float64).reshape(-1)
    if not (1 <= betas.size <= MAX_BETAS) or not np.isfinite(betas).all():
        raise ValueError(f"betas must be 1 to {MAX_BETAS} finite numbers, got {betas.size}")
    T = clip.num_frames
    if T == 0:
        raise ValueError("the clip has no frames")
    if not (np.isfinite(clip.local_rotations).all() and np.isfinite(clip.root_translation).all()):
        raise ValueError("the clip has NaN or infinite values")
    rots = quat.normalize(clip.local_rotations)
    q = np.empty_like(rots)
    q[:, 0] = axes.blender_root_to_smpl(rots[:, 0])
    q[:, 1:] = axes.blender_to_y_up_rotations(rots[:, 1:])
    body = quat_to_axis_angle(q).reshape(T, 3 * BODY_JOINTS)
    poses = np.zeros((T, SMPLX_POSE_VALUES))
    poses[:, :3 * BODY_JOINTS] = body
    fps = float(clip.fps)
    return {
        "poses": poses, "trans": clip.root_translation.astype(np.float64),
        "root_orient": poses[:, 0:3], "pose_body": poses[:, 3:66], "pose_jaw": poses[:, 66:69],
        "pose_eye": poses[:, 69:75], "pose_hand": poses[:, 75:165],
        "betas": betas, "num_betas": np.int64(betas.size), "gender": np.array(gender),
        "surface_model_type": np.array("smplx"),
        "mocap_framerate": np.float64(fps), "mocap_frame_rate": np.float64(fps),
        "mocap_time_length": np.float64(T / fps),
    }


def save_smplx(clip: Clip, path, gender: str = "neutral", betas=None) -> Path:
    """Write a canonical clip as an AMASS-style SMPL-X .npz: ``poses`` (T, 165) axis-angle
    (body joints 0-21; jaw, eyes and hands at zero), its split ``root_orient`` / ``pose_body``
    / ``pose_jaw`` / ``pose_eye`` / ``pose_hand``, ``trans`` (T, 3, the pelvis position: the
    model's own J0 is not subtracted, since it depends on model files Anima does not have),
    ``betas`` (default 16 zeros), ``gender``, ``surface_model_type`` = "smplx" and the frame
    rate under both AMASS spellings. Everything is checked before the file is written."""
    arrays = smplx_arrays(clip, gender, betas)
    path = Path(path)
    if path.suffix.lower() != ".npz":
        path = path.with_name(path.name + ".npz")
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return path
