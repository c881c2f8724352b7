"""Rest-pose alignment for retargeting: how each target segment turns onto the source's.

Frames are built from joint positions only, never from a bone's own axes, so bone rolls and
tails that do not point at their child change nothing (backend/motion/retarget.py uses them).
numpy only.
"""
from __future__ import annotations

import numpy as np

from . import quat
from .skeleton import Skeleton

# For each canonical joint, the canonical joint its segment points to (None: use the tail).
SEGMENT_CHILD = {
    "pelvis": None, "spine1": None, "spine2": None, "spine3": None, "neck": "head",
    "head": None,
    "left_hip": "left_knee", "left_knee": "left_ankle", "left_ankle": "left_foot",
    "left_foot": None,
    "right_hip": "right_knee", "right_knee": "right_ankle", "right_ankle": "right_foot",
    "right_foot": None,
    "left_collar": "left_shoulder", "left_shoulder": "left_elbow", "left_elbow": "left_wrist",
    "left_wrist": None,
    "right_collar": "right_shoulder", "right_shoulder": "right_elbow",
    "right_elbow": "right_wrist", "right_wrist": None,
}
FOOT_SEGMENTS = ("left_ankle", "right_ankle", "left_foot", "right_foot")

def rest_positions(skel: Skeleton) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rots, pos = skel.rest_world()
    tails = pos + quat.rotate(rots, skel.tails)
    return rots, pos, tails


def segment_frames(skel: Skeleton, idx: dict[str, int], shared: set[str]) -> dict:
    """Rest alignment frame of each shared canonical joint: (primary, secondary or None).

    Frames are built from joint positions only, never from a bone's own axes or tail, so the
    result does not depend on how a rig's bones point or roll. End segments (head, hands,
    toes), whose direction no child joint gives, take the frame of the body part they belong
    to: the head the body's (up, left-right), a hand its forearm's, the toes their foot's; a
    foot without toes the body's heading. Rest poses stand upright and look forward, so
    that is where these segments point on every rig.
    """
    _, pos, _tails = rest_positions(skel)

    def p(name):
        return pos[idx[name]]

    def has(name):
        return name in shared

    hip_lat = p("left_hip") - p("right_hip")
    sh_lat = (p("left_shoulder") - p("right_shoulder")) if has("left_shoulder") and \
        has("right_shoulder") else hip_lat
    mid_hips = 0.5 * (p("left_hip") + p("right_hip"))
    top = next(n for n in ("head", "neck", "spine3") if has(n))
    body_up = p(top) - mid_hips
    up = np.array([0.0, 0.0, 1.0])
    heading = np.cross(hip_lat, up)                   # forward, level
    order = ["spine1", "spine2", "spine3", "neck", "head"]
    frames = {}
    for c in shared:
        second = None
        if c == "pelvis":
            prim, second = body_up, hip_lat
        elif c in ("spine1", "spine2", "spine3", "neck"):
            above = [n for n in order[order.index(c) + 1:] if has(n)]
            prim = p(above[0]) - p(c) if above else body_up
            if np.linalg.norm(prim) < 1e-4:
                prim = body_up
            second = hip_lat if c in ("spine1", "spine2") else sh_lat
        elif c == "head":
            prim, second = body_up, sh_lat
        elif c in ("left_wrist", "right_wrist"):
            elbow = c.replace("wrist", "elbow")
            prim = p(c) - p(elbow) if has(elbow) else p(c) - mid_hips
        elif c in ("left_ankle", "right_ankle"):
            toe = c.replace("ankle", "foot")
            # Rest poses all stand on flat ground, but a foot's neutral pitch differs
            # (shoes, ankle placement): match feet by heading only, so that standing in
            # the source means standing flat on the target's own feet.
            prim = p(toe) - p(c) if has(toe) else heading
            prim = np.array([prim[0], prim[1], 0.0])
            if np.linalg.norm(prim) < 0.25 * np.linalg.norm(p(toe) - p(c) if has(toe)
                                                            else heading):
                prim = heading
        elif c in ("left_foot", "right_foot"):
            continue                                   # the toes: their foot's frame below
        else:
            prim = p(SEGMENT_CHILD[c]) - p(c) if has(SEGMENT_CHILD[c]) else \
                _tails[idx[c]] - p(c)
        frames[c] = (prim, second)
    for toe, ankle in (("left_foot", "left_ankle"), ("right_foot", "right_ankle")):
        if toe in shared:
            frames[toe] = frames.get(ankle, (heading, None))
    return frames


def frame_matrices(prim: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Orthonormal frames (M, 3, 3) with columns: prim, second made orthogonal, their cross."""
    e1 = prim / np.maximum(np.linalg.norm(prim, axis=-1, keepdims=True), 1e-9)
    e2 = second - np.sum(second * e1, axis=-1, keepdims=True) * e1
    e2 = e2 / np.maximum(np.linalg.norm(e2, axis=-1, keepdims=True), 1e-9)
    return np.stack([e1, e2, np.cross(e1, e2)], axis=-1)


def body_alignment(src_frame: tuple, tgt_frame: tuple) -> np.ndarray:
    """Rotation (4,) taking the target's body (its pelvis frame: up, left-right) onto the
    source's: a half turn for a rig that faces +Y where the source faces -Y."""
    m = frame_matrices(np.asarray(src_frame[0], float)[None], np.asarray(src_frame[1], float)
                       [None]) @ np.swapaxes(frame_matrices(
                           np.asarray(tgt_frame[0], float)[None],
                           np.asarray(tgt_frame[1], float)[None]), -1, -2)
    return quat.from_matrix(m)[0]


def alignments(src_frames: list, tgt_frames: list, body: np.ndarray | None = None
               ) -> np.ndarray:
    """Rotations (M, 4) taking each target rest segment onto the source's: two-axis frames
    where both sides have a secondary axis; otherwise the body's turn (body_alignment)
    followed by the shortest arc, so a limb of a rig facing the other way does not take the
    (undefined) shortest arc between opposite directions."""
    sp = np.array([f[0] for f in src_frames], dtype=np.float64)
    tp = np.array([f[0] for f in tgt_frames], dtype=np.float64)
    two = np.array([s[1] is not None and t[1] is not None
                    for s, t in zip(src_frames, tgt_frames)])
    if body is None:
        out = quat.between(tp, sp)
    else:
        body = np.broadcast_to(np.asarray(body, dtype=np.float64), (len(tp), 4))
        out = quat.mul(quat.between(quat.rotate(body, tp), sp), body)
    if two.any():
        ss = np.array([f[1] for f, t in zip(src_frames, two) if t], dtype=np.float64)
        ts = np.array([f[1] for f, t in zip(tgt_frames, two) if t], dtype=np.float64)
        m = frame_matrices(sp[two], ss) @ np.swapaxes(frame_matrices(tp[two], ts), -1, -2)
        out[two] = quat.from_matrix(m)
    degenerate = (np.linalg.norm(sp, axis=-1) < 1e-6) | (np.linalg.norm(tp, axis=-1) < 1e-6)
    out[degenerate] = quat.identity()
    return out


# Limb segments whose rest twist follows the segment above (parent joint, joint): a forearm
# bent at rest is the upper arm's frame swung at the elbow, not a fresh shortest arc.
CHAINED = [("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
            ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
            ("left_hip", "left_knee"), ("right_hip", "right_knee")]


def chain_alignments(align: np.ndarray, joints: list[str], s_frames: dict,
                      t_frames: dict) -> None:
    """Re-derive the alignment of chained limb segments (in place): the rotation R taking a
    source rest segment onto the target's (R = A^-1) is the parent's R followed by the
    shortest arc from the parent-turned source direction to the target direction, so the
    twist of an A-pose arm with a bent elbow carries down to the forearm and the hand."""
    pos = {j: i for i, j in enumerate(joints)}
    for parent, child in CHAINED:
        if parent not in pos or child not in pos:
            continue
        r_parent = quat.conjugate(align[pos[parent]])
        s_dir = np.asarray(s_frames[child][0], dtype=np.float64)
        t_dir = np.asarray(t_frames[child][0], dtype=np.float64)
        if np.linalg.norm(s_dir) < 1e-6 or np.linalg.norm(t_dir) < 1e-6:
            continue
        r = quat.mul(quat.between(quat.rotate(r_parent, s_dir), t_dir), r_parent)
        align[pos[child]] = quat.conjugate(quat.normalize(r))
