"""Twist bones: how much of a limb's twist the rig's extra bones along the limb carry.

Rigs split limbs into a bone that swings and bones that twist, so that skin does not wrap
like a sweet wrapper when the forearm turns: Daz's `lShldrBend` + `lShldrTwist`, Unreal's
`upperarm_l` + `upperarm_twist_01_l`, `lowerarm_twist_01_l`. The retargeter maps a joint to
the bone that carries the swing; by default every other bone of the limb just follows it
(share 0). With a share s in (0, 1]:

* upper limbs (upper arm, thigh): the part of the segment near the body carries only
  (1 - s) of the segment's own twist. When the rig has a twist bone *in* the chain (Daz), the
  swing bone keeps (1 - s) of the twist and the twist bone below it the whole; when the
  twist bones hang off the swing bone near its root (Unreal), they keep (1 - s);
* lower limbs (forearm, shin): twist bones along the segment take s of the hand's (foot's)
  twist about the forearm (shin), as a radius turning with the wrist does.

Mapped bones' world orientations other than an in-chain upper swing bone's are unchanged,
so the limb's joints stay where they were; only how the twist is spread changes. numpy only.
"""
from __future__ import annotations

import numpy as np

from . import quat
from .bonenames import ancestors

_UPPER = {"left_shoulder": "left_elbow", "right_shoulder": "right_elbow",
          "left_hip": "left_knee", "right_hip": "right_knee"}
_LOWER = {"left_elbow": "left_wrist", "right_elbow": "right_wrist",
          "left_knee": "left_ankle", "right_knee": "right_ankle"}
# A twist bone's head lies on its segment: within this share of the segment's length of the
# line, and between its ends.
ON_SEGMENT = 0.15


def twist_plan(parents: np.ndarray, rest_pos: np.ndarray, t_idx: dict, leader: np.ndarray,
               unmapped: np.ndarray) -> list[dict]:
    """For each limb segment of the rig: which bones share its twist and how.

    parents, rest_pos (K, 3), leader (K,): the retargeter's sub-skeleton; t_idx: canonical
    joint -> bone index of the mapped joints; unmapped: indices of the unmapped bones.
    Returns entries {"kind": "upper"|"lower", "bone", "end", "axis" (3,), "chain" [...],
    "off" [...]}: the segment's mapped bone and the mapped bone at its end, the rest
    direction of the segment, unmapped bones in the chain between them and unmapped bones
    hanging off the segment."""
    plan = []
    free = set(int(u) for u in unmapped)
    for kind, table in (("upper", _UPPER), ("lower", _LOWER)):
        for joint, end_joint in table.items():
            if joint not in t_idx or end_joint not in t_idx:
                continue
            k, end = t_idx[joint], t_idx[end_joint]
            a, b = rest_pos[k], rest_pos[end]
            seg = b - a
            length = float(np.linalg.norm(seg))
            if length < 1e-6:
                continue
            axis = seg / length
            chain = [u for u in ancestors(end, parents) if u in free
                     and k in ancestors(u, parents)]
            off = []
            for u in free:
                if leader[u] != k or u in chain:
                    continue
                d = rest_pos[u] - a
                t = float(d @ axis) / length
                if -0.01 <= t <= 1.0 and np.linalg.norm(d - t * length * axis) \
                        < ON_SEGMENT * length:
                    off.append(int(u))
            if chain or off:
                plan.append({"kind": kind, "bone": k, "end": end, "axis": axis,
                             "chain": chain, "off": off})
    return plan


def limb_twist_bones(parents: np.ndarray, rest_pos: np.ndarray, t_idx: dict) -> list[int]:
    """Bones hanging straight off a mapped limb bone with their head on its segment (the
    twist bones a share can move), on a whole rig."""
    kids: dict[int, list[int]] = {}
    for k, p in enumerate(parents):
        kids.setdefault(int(p), []).append(k)
    mapped = set(t_idx.values())
    out = []
    for joint, end_joint in {**_UPPER, **_LOWER}.items():
        if joint not in t_idx or end_joint not in t_idx:
            continue
        k, a, b = t_idx[joint], rest_pos[t_idx[joint]], rest_pos[t_idx[end_joint]]
        length = float(np.linalg.norm(b - a))
        if length < 1e-6:
            continue
        axis = (b - a) / length
        for u in kids.get(k, []):
            d = rest_pos[u] - a
            t = float(d @ axis) / length
            if u not in mapped and -0.01 <= t <= 1.0 and \
                    np.linalg.norm(d - t * length * axis) < ON_SEGMENT * length:
                out.append(int(u))
    return out


def _twist_about(q: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Twist part (T, 4) of rotations q (T, 4) about a fixed axis (3,)."""
    proj = (q[:, 1:] @ axis)[:, None] * axis[None]
    t = np.concatenate([q[:, :1], proj], axis=1)
    n = np.linalg.norm(t, axis=1, keepdims=True)
    return np.where(n > 1e-9, t / np.maximum(n, 1e-12), quat.identity((q.shape[0],)))


def _power(q: np.ndarray, f: float) -> np.ndarray:
    q = quat.unroll(q, axis=0) * np.sign(q[:, :1] + 1e-12)
    axis, angle = quat.to_axis_angle(q)
    return quat.from_axis_angle(axis, angle * f)


def apply_twist(world_delta: np.ndarray, plan: list[dict], parent_delta, share: float
                ) -> None:
    """Spread the twist of each planned segment (in place). world_delta: (T, K, 4) world
    rotations away from rest; parent_delta(k) -> (T, 4) the delta of the bone k hangs from."""
    if share <= 0.0:
        return
    for e in plan:
        k, axis = e["bone"], e["axis"]
        full = world_delta[:, k].copy()
        if e["kind"] == "upper":
            rel = quat.mul(quat.conjugate(parent_delta(k)), full)
            reduced = quat.mul(full, _power(quat.conjugate(_twist_about(rel, axis)), share))
            if e["chain"]:
                world_delta[:, k] = reduced
                for u in e["chain"]:
                    world_delta[:, u] = full
            for u in e["off"]:
                world_delta[:, u] = reduced
        else:
            rel = quat.mul(quat.conjugate(full), world_delta[:, e["end"]])
            turned = quat.mul(full, _power(_twist_about(rel, axis), share))
            for u in e["chain"] + e["off"]:
                world_delta[:, u] = turned
