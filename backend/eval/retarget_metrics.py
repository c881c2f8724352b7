"""What a user sees of a retarget, as numbers: joint positions, segment directions, the way
end bones (head, hands, feet, toes) face, planted feet and bones left behind.

Pure numpy, shared by `tools/retarget_accuracy.py` (which measures rigs evaluated by Blender)
and the tests. Conventions: source = the canonical clip, target = the rig; positions (T, J, 3)
of the J compared joints in world metres, Z up; rotations wxyz.
"""
from __future__ import annotations

import numpy as np

from ..motion import quat
from ..motion.footik import contact_segments, leg_length
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
# Joints compared by position (the pelvis and spine joints are not: rigs put their pelvis
# bone's head anywhere between the crotch and the navel, and split the spine differently).
POSITION_JOINTS = ["left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
                   "right_ankle", "neck", "head", "left_shoulder", "right_shoulder",
                   "left_elbow", "right_elbow", "left_wrist", "right_wrist"]


# How the compared joints hang together: each joint's parent in this chain ("mid" is the
# point between the hip joints).
POSITION_CHAIN = {"left_hip": "mid", "right_hip": "mid", "left_knee": "left_hip",
                  "right_knee": "right_hip", "left_ankle": "left_knee",
                  "right_ankle": "right_knee", "neck": "mid", "head": "neck",
                  "left_shoulder": "neck", "right_shoulder": "neck",
                  "left_elbow": "left_shoulder", "right_elbow": "right_shoulder",
                  "left_wrist": "left_elbow", "right_wrist": "right_elbow"}
# The canonical skeleton's height over its head joint's height above the ankles.
_HEIGHT_PER_HEAD = 1.667 / (1.524 - 0.072)


def leg_height(rest: dict) -> float:
    """Leg length from the joints (footik.leg_length: what a stride, and so travel, scales
    by). rest: {joint: (3,)}."""
    return leg_length(rest, {j: j for j in rest})


def stature(rest: dict) -> float:
    """A rig's height estimated from its joints (the head joint above the ankles, scaled as on
    the canonical skeleton), not from its end bones."""
    ankles = 0.5 * (rest["left_ankle"][2] + rest["right_ankle"][2])
    if "head" in rest:
        return (rest["head"][2] - ankles) * _HEIGHT_PER_HEAD
    shoulders = 0.5 * (rest["left_shoulder"][2] + rest["right_shoulder"][2])
    return (shoulders - ankles) * 1.667 / (1.351 - 0.072)


def metres_per_unit(height: float) -> float:
    """A rig's scene units in metres, guessed from its height (a human is 1.5-1.9 m): 1 for
    rigs in metres, 0.01 for a rig in centimetres imported unscaled."""
    return float(10.0 ** -np.round(np.log10(max(height, 1e-9) / 1.7)))


def expected_positions(src: dict, src_rest: dict, tgt_rest: dict, tgt_start_mid: np.ndarray,
                       tgt_mid: np.ndarray | None = None) -> dict:
    """Where the target's joints should be: the source's segment directions (T, 3) with the
    target's own segment lengths, hung from the target's mid-hip point. That point travels
    like the source's, scaled by the ratio of leg heights, from `tgt_start_mid` (3,); or, for
    the pose alone, is given per frame as `tgt_mid` (T, 3).
    src: {joint: (T, 3)} source positions; src_rest / tgt_rest: {joint: (3,)} rest
    positions."""
    def mid(d):
        return 0.5 * (np.asarray(d["left_hip"]) + np.asarray(d["right_hip"]))
    s_mid, t_mid_rest = mid(src), mid(tgt_rest)
    if tgt_mid is None:
        scale = leg_height(tgt_rest) / leg_height(src_rest)
        tgt_mid = tgt_start_mid + scale * (s_mid - s_mid[0])
    out = {"mid": tgt_mid}
    s_all, t_all = dict(src, mid=s_mid), dict(tgt_rest, mid=t_mid_rest)
    for j, p in POSITION_CHAIN.items():
        while p not in out and p != "mid":      # a rig without a neck bone: from the hips
            p = POSITION_CHAIN[p]
        if j not in src:
            continue
        d = s_all[j] - s_all[p]
        d = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-12)
        out[j] = out[p] + d * np.linalg.norm(t_all[j] - t_all[p])
    out.pop("mid")
    return out


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
    rig_rest (J, 3): an upper arm / thigh turns by the shortest arc from the canonical
    T-pose's direction to the rig's, a forearm / shin by that followed by the swing at the
    elbow / knee, a hand as its forearm, a foot by the heading of its toes; the head and
    trunk stand upright. (A rig zoo built by code knows its own.)"""
    c_pos = CANONICAL.rest_world()[1]
    pos = {j: rig_rest[i] for i, j in enumerate(joints)}
    cpos = {j: c_pos[CANONICAL.index(j)] for j in CANONICAL_NAMES}
    child = dict(SEGMENTS)
    found: dict = {}

    def rot(j):
        if j in found:
            return found[j]
        r = quat.identity()
        nxt = child.get(j) if j not in ("pelvis", "spine3", "neck") else None
        if nxt is not None and j in pos and nxt in pos:
            a, b = cpos[nxt] - cpos[j], pos[nxt] - pos[j]
            if j.endswith("_ankle"):            # feet: heading only
                a, b = a * [1, 1, 0], b * [1, 1, 0]
                r = quat.between(a, b)
            elif j.endswith(("_elbow", "_knee")):
                up = rot(j.replace("_elbow", "_shoulder").replace("_knee", "_hip"))
                r = quat.mul(quat.between(quat.rotate(up, a), b), up)
            else:
                r = quat.between(a, b)
        found[j] = r
        return r

    out = quat.identity((len(joints),))
    for i, j in enumerate(joints):
        src = j.replace("wrist", "elbow") if j.endswith("wrist") else j
        out[i] = rot(src.replace("_foot", "_ankle") if src.endswith("_foot") else src)
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
