"""Synthetic SMPL-family data for tests: AMASS-layout motion, an SMPL-like rest skeleton and
model files in the SMPL / SMPL-H / SMPL-X layouts. Nothing here comes from the real models
(their licence forbids shipping them): shapes and key names follow the published layouts, the
numbers are made up (a box-ish body around the canonical skeleton's joints).

Tests load this by path (pytest runs with --import-mode=importlib):
    spec = importlib.util.spec_from_file_location("smplx_synthetic", PATH)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.motion import axes, quat
from backend.motion.skeleton import CANONICAL, CANONICAL_NAMES, CANONICAL_PARENTS

# Joint counts / pose sizes of the family (SMPL: 24 joints, SMPL-H: 52, SMPL-X: 55).
LAYOUTS = {"smpl": 24, "smplh": 52, "smplx": 55}
_TILTS_DEG = {   # synthetic rest-pose differences from the canonical T-pose, (axis, degrees)
    "left_knee": ((0, 0, 1), -6.0), "right_knee": ((0, 0, 1), 6.0),        # thighs splayed
    "left_ankle": ((0, 0, 1), 3.0), "right_ankle": ((0, 0, 1), -3.0),      # shins back in
    "left_elbow": ((0, 0, 1), -4.0), "right_elbow": ((0, 0, 1), 4.0),      # arms a bit down
    "left_wrist": ((0, 1, 0), 3.0), "right_wrist": ((0, 1, 0), -3.0),      # forearms forward
    "spine2": ((1, 0, 0), -5.0), "spine3": ((1, 0, 0), 4.0),               # spine curve
}
# Where the model frame's origin is relative to the pelvis (the real models are not
# pelvis-centred either); model frame, Y up.
PELVIS_IN_MODEL_FRAME = np.array([0.002, -0.31, 0.015])


def smpl_like_rest_joints() -> np.ndarray:
    """(22, 3) rest joints in an SMPL-style model frame (Y up, facing +Z, left +X): the
    canonical T-pose with the synthetic tilts of _TILTS_DEG, pelvis at PELVIS_IN_MODEL_FRAME."""
    rest = axes.blender_to_y_up_points(CANONICAL.rest_world()[1])
    out = np.zeros_like(rest)
    out[0] = PELVIS_IN_MODEL_FRAME
    for j in range(1, len(rest)):
        seg = rest[j] - rest[CANONICAL_PARENTS[j]]
        tilt = _TILTS_DEG.get(CANONICAL_NAMES[j])
        if tilt is not None:
            q = quat.from_axis_angle(np.array(tilt[0], float), np.radians(tilt[1]))
            seg = quat.rotate(q, seg)
        out[j] = out[CANONICAL_PARENTS[j]] + seg
    return out


def random_amass_poses(frames: int, seed: int = 0, joints: int = 55):
    """Smooth random motion in the AMASS layout: poses (T, 3 * joints), trans (T, 3).
    The body stands up (root_orient ~ +90 deg about X), turns about Z and walks along."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None] / 30.0
    freq = rng.uniform(0.3, 1.5, (1, joints * 3))
    phase = rng.uniform(0, 2 * np.pi, (1, joints * 3))
    amp = rng.uniform(0.05, 0.45, (1, joints * 3))
    poses = amp * np.sin(2 * np.pi * freq * t + phase)
    up = quat.from_axis_angle(np.array([1.0, 0, 0]), np.array(np.pi / 2))
    yaw = quat.from_axis_angle(np.array([0, 0, 1.0]), 0.8 * np.sin(t[:, 0]))
    lean = quat.from_axis_angle(np.array([1.0, 0, 0]), 0.15 * np.sin(2 * t[:, 0]))
    root = quat.mul(yaw, quat.mul(lean, up[None]))
    axis, angle = quat.to_axis_angle(root)
    poses[:, :3] = axis * angle[:, None]
    trans = np.stack([0.4 * t[:, 0], -0.6 * t[:, 0], 0.6 + 0.03 * np.sin(5 * t[:, 0])], 1)
    return poses, trans


def segment_directions(positions: np.ndarray) -> np.ndarray:
    """(T, 22, 3) joint positions -> (T, 21, 3) unit directions of the bones parent -> j."""
    seg = positions[:, 1:] - positions[:, CANONICAL_PARENTS[1:]]
    return seg / np.linalg.norm(seg, axis=-1, keepdims=True)


# ----------------------------------------------------------------------- model files
def _parents(joints: int) -> np.ndarray:
    """Body tree for the first 22 joints, then the extra joints (jaw, eyes, fingers) in
    chains of three hanging off the wrists / head: enough for the layout."""
    parents = list(CANONICAL_PARENTS)
    left_wrist, right_wrist, head = 20, 21, 15
    if joints == 24:
        return np.array(parents + [left_wrist, right_wrist])
    extra = []
    if joints == 55:
        extra += [head, head, head]                     # jaw, left eye, right eye
    for wrist in (left_wrist, right_wrist):
        for _finger in range(5):
            start = len(parents) + len(extra)
            extra += [wrist, start, start + 1]
    return np.array(parents + extra)


def model_arrays(kind: str = "smplx", seed: int = 0, shape_dims: int = 20,
                 verts_per_joint: int = 8) -> dict:
    """Arrays of a synthetic body model in the layout smplx.create expects for `kind`:
    v_template (V, 3), f (F, 3), J_regressor (J, V), weights (V, J), kintree_table (2, J),
    shapedirs (V, 3, shape_dims), posedirs (V, 3, 9 (J - 1)) and, for SMPL-H / SMPL-X, the hand
    PCA arrays; for SMPL-X the landmark arrays. A small cluster of vertices sits around each
    joint, so the regressor (mean of each cluster) puts joint j at its rest position."""
    J = LAYOUTS[kind]
    rng = np.random.default_rng(seed)
    parents = _parents(J)
    rest = np.zeros((J, 3))
    rest[:22] = smpl_like_rest_joints()
    for j in range(22, J):                              # extra joints: small steps outward
        rest[j] = rest[parents[j]] + rng.normal(0.0, 0.02, 3)
    V = J * verts_per_joint
    offsets = rng.normal(0.0, 0.02, (J, verts_per_joint, 3))
    offsets -= offsets.mean(axis=1, keepdims=True)     # cluster mean = the joint
    v_template = (rest[:, None, :] + offsets).reshape(V, 3)
    owner = np.repeat(np.arange(J), verts_per_joint)
    regressor = np.zeros((J, V))
    regressor[owner, np.arange(V)] = 1.0 / verts_per_joint
    weights = np.zeros((V, J))
    weights[np.arange(V), owner] = 0.7
    weights[np.arange(V), np.maximum(parents[owner], 0)] += 0.3
    faces = np.array([[j * verts_per_joint + a, j * verts_per_joint + a + 1,
                       j * verts_per_joint + a + 2]
                      for j in range(J) for a in range(verts_per_joint - 2)], dtype=np.int64)
    kintree = np.stack([np.where(parents < 0, 2**32 - 1, parents), np.arange(J)]).astype(np.int64)
    out = {
        "v_template": v_template, "f": faces, "J_regressor": regressor, "weights": weights,
        "kintree_table": kintree,
        "shapedirs": rng.normal(0.0, 0.01, (V, 3, shape_dims)),
        "posedirs": np.zeros((V, 3, 9 * (J - 1))),
    }
    if kind in ("smplh", "smplx"):
        out.update(hands_componentsl=np.eye(45), hands_componentsr=np.eye(45),
                   hands_meanl=np.zeros(45), hands_meanr=np.zeros(45))
    if kind == "smplx":
        out.update(lmk_faces_idx=np.zeros(51, dtype=np.int64),
                   lmk_bary_coords=np.full((51, 3), 1.0 / 3.0))
    return out


def write_model(folder, kind: str = "smplx", gender: str = "neutral", seed: int = 0,
                **kwargs) -> Path:
    """Write <folder>/<KIND>_<GENDER>.npz (e.g. smplx/SMPLX_NEUTRAL.npz under `folder`) in
    the official file naming; returns its path."""
    prefix = {"smpl": "SMPL", "smplh": "SMPLH", "smplx": "SMPLX"}[kind]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{prefix}_{gender.upper()}.npz"
    np.savez(path, **model_arrays(kind, seed, **kwargs))
    return path
