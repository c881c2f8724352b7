"""What a user sees of a retarget, as numbers: joint positions, segment directions, the way
end bones (head, hands, feet, toes) face, planted feet and bones left behind.

Pure numpy, shared by `tools/retarget_accuracy.py` (which measures rigs evaluated by Blender)
and the tests. Conventions: source = the canonical clip, target = the rig; positions (T, J, 3)
of the J compared joints in world metres, Z up; rotations wxyz.
"""
from __future__ import annotations

import numpy as np

from ..motion import quat
from ..motion.retarget import contact_segments
from ..motion.skeleton import CANONICAL, CANONICAL_NAMES

# Canonical segments whose direction is compared: (joint, the joint it points to).
SEGMENTS = [("spine3", "neck"), ("neck", "head"),
            ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
            ("left_ankle", "left_foot"), ("right_hip", "right_knee"),
            ("right_knee", "right_ankle"), ("right_ankle", "right_foot"),
            ("left_collar", "left_shoulder"), ("left_shoulder", "left_elbow"),
            ("left_elbow", "left_wrist"), ("right_collar", "right_shoulder"),
            ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist")]
# Segments whose orientation no child joint shows (the end segments), and the trunk's.
LEAVES = ["pelvis", "spine3", "head", "left_wrist", "right_wrist", "left_ankle", "right_ankle",
          "left_foot", "right_foot"]
# Joints that sit at the same anatomical place on every rig (the pelvis and spine joints do
# not: rigs put their pelvis bone's head anywhere between the crotch and the navel, and split
# the spine differently), compared by position.
POSITION_JOINTS = ["left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
                   "right_ankle", "neck", "head", "left_shoulder", "right_shoulder",
                   "left_elbow", "right_elbow", "left_wrist", "right_wrist"]


def joint_height(rest_positions: np.ndarray, joints: list[str]) -> float:
    """Height of a skeleton measured from its joints (not its end bones, and not the head
    joint, which conventions put anywhere from the chin to the skull base): the shoulder
    joints' height above the ankle joints. rest_positions: (J, 3) of `joints`."""
    z = {j: float(p[2]) for j, p in zip(joints, np.asarray(rest_positions))}
    return 0.5 * (z["left_shoulder"] + z["right_shoulder"] - z["left_ankle"] - z["right_ankle"])


def _normalise(p: np.ndarray, height: float, hips) -> np.ndarray:
    q = np.array(p, dtype=np.float64)
    if hips is None:
        q -= q[0].mean(axis=0)
    else:
        q -= 0.5 * (q[:, hips[0]] + q[:, hips[1]])[:, None]
    return q / height


def position_errors(src: np.ndarray, src_height: float, tgt: np.ndarray, tgt_height: float,
                    hips: tuple[int, int] | None = None) -> np.ndarray:
    """(T, J) distance between matched joints, each side divided by its own height, in units
    of height. hips=None: both starts (the mean of the joints in the first frame) at the
    origin; the indices of the two hip joints:
    positions relative to the mid-hip point in every frame (the pelvis trajectory removed:
    the pose alone)."""
    return np.linalg.norm(_normalise(src, src_height, hips) -
                          _normalise(tgt, tgt_height, hips), axis=-1)


def segment_angles(src: np.ndarray, tgt: np.ndarray, pairs: list[tuple[int, int]]
                   ) -> np.ndarray:
    """(T, S) angle in degrees between the source's and the target's direction of each
    segment (joint a -> joint b) in `pairs`."""
    if not pairs:
        return np.zeros((src.shape[0], 0))
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])

    def unit(p):
        d = p[:, b] - p[:, a]
        return d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-12)
    cos = np.clip(np.sum(unit(src) * unit(tgt), axis=-1), -1.0, 1.0)
    return np.degrees(np.arccos(cos))


def rotation_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in degrees between rotations a and b (..., 4)."""
    d = np.abs(np.sum(quat.normalize(a) * quat.normalize(b), axis=-1))
    return np.degrees(2.0 * np.arccos(np.clip(d, 0.0, 1.0)))


def orientation_errors(src_delta: np.ndarray, tgt_delta: np.ndarray,
                       anatomical: np.ndarray) -> np.ndarray:
    """(T, J) degrees between where a segment faces in the source and in the target.

    src_delta / tgt_delta: (T, J, 4) world rotation of each segment away from its rest
    orientation (posed world rotation times the inverse of the rest world rotation);
    anatomical: (J, 4) rotation taking the canonical T-pose's segment onto the rig's rest
    segment (identity for a T-pose rig standing like the canonical one). The target's
    anatomical frame, tgt_delta * anatomical, must equal the source's, src_delta.
    """
    return rotation_angle(quat.mul(tgt_delta, np.asarray(anatomical)[None]), src_delta)


def foot_slides(src_ankles: np.ndarray, tgt_ankles: np.ndarray, fps: float,
                rest_ankle_height: float, scale: float) -> tuple[list[float], list[float]]:
    """For every stretch where a source ankle is planted (slow and low: the retargeter's own
    contact test), how far the rig's ankle slides (metres) and how far the source's own does
    (scaled to the rig). src_ankles / tgt_ankles: (T, 2, 3)."""
    slides, src_slides = [], []
    for s in range(src_ankles.shape[1]):
        for a, b in contact_segments(src_ankles[:, s], fps, rest_ankle_height):
            seg_t, seg_s = tgt_ankles[a:b, s], src_ankles[a:b, s]
            slides.append(float(np.linalg.norm(seg_t - seg_t[0], axis=-1).max()))
            src_slides.append(scale * float(np.linalg.norm(seg_s - seg_s[0], axis=-1).max()))
    return slides, src_slides


def default_anatomical(joints: list[str], rig_rest: np.ndarray) -> np.ndarray:
    """Anatomical rest rotations (J, 4) for a rig known only by its joint positions
    rig_rest (J, 3): limb segments turn by the shortest arc from the canonical T-pose's
    direction to the rig's, a hand by its forearm's, a foot by the heading of its toes;
    the head and trunk stand upright. (A rig zoo built by code knows its own.)"""
    c_pos = CANONICAL.rest_world()[1]
    pos = {j: rig_rest[i] for i, j in enumerate(joints)}
    cpos = {j: c_pos[CANONICAL.index(j)] for j in CANONICAL_NAMES}
    out = quat.identity((len(joints),))
    child = dict(SEGMENTS)
    for i, j in enumerate(joints):
        src = j.replace("wrist", "elbow") if j.endswith("wrist") else j
        if src.endswith("_foot"):
            src = src.replace("_foot", "_ankle")
        nxt = child.get(src) if src not in ("pelvis", "spine3", "neck") else None
        if nxt is None or src not in pos or nxt not in pos:
            continue
        a, b = cpos[nxt] - cpos[src], pos[nxt] - pos[src]
        if src.endswith("_ankle"):      # feet: heading only
            a, b = a * [1, 1, 0], b * [1, 1, 0]
        out[i] = quat.between(a, b)
    return out


def summarise(pos_err, local_err, seg_deg, leaf_deg, slides) -> dict:
    """The figures of one rig and clip (percent of height, degrees, metres)."""
    def pct(x, q=None):
        return 100.0 * float(np.mean(x) if q is None else np.percentile(x, q))
    out = {"mean_err_pct": pct(pos_err), "p95_err_pct": pct(pos_err, 95),
           "local_mean_err_pct": pct(local_err), "local_p95_err_pct": pct(local_err, 95),
           "seg_mean_deg": float(np.mean(seg_deg)) if seg_deg.size else 0.0,
           "seg_p95_deg": float(np.percentile(seg_deg, 95)) if seg_deg.size else 0.0,
           "leaf_mean_deg": float(np.mean(leaf_deg)) if leaf_deg.size else 0.0,
           "leaf_p95_deg": float(np.percentile(leaf_deg, 95)) if leaf_deg.size else 0.0,
           "plants": len(slides),
           "max_slide_m": float(max(slides)) if slides else float("nan")}
    return out
