"""A rig's rest pose as the shape mapper sees it (backend/motion/topology.py): the hierarchy,
bone heads and ends, heights as shares of the rig's height, and small tree helpers. numpy only.
"""
from __future__ import annotations

import numpy as np

SAME_PLACE = 0.012         # heads closer than this (share of height) are one joint


class TopologyError(ValueError):
    """The rig does not have the shape of a standing humanoid; the message says what is
    missing."""


def children(parents: np.ndarray) -> list[list[int]]:
    kids: list[list[int]] = [[] for _ in parents]
    for i, p in enumerate(parents):
        if p >= 0:
            kids[p].append(i)
    return kids


def path_up(i: int, parents) -> list[int]:
    out = [i]
    while parents[out[-1]] >= 0:
        out.append(int(parents[out[-1]]))
    return out


def subtree(i: int, kids) -> list[int]:
    out, stack = [], [i]
    while stack:
        b = stack.pop()
        out.append(b)
        stack.extend(kids[b])
    return out


def conf(deviation: float, scale: float) -> float:
    return float(np.exp(-(deviation / scale) ** 2))


class Rig:
    def __init__(self, parents, heads, tails):
        self.parents = np.asarray(parents, dtype=np.int64)
        self.heads = np.asarray(heads, dtype=np.float64).reshape(-1, 3)
        n = len(self.parents)
        self.kids = children(self.parents)
        if tails is None:
            tails = self.heads.copy()
            for i in range(n):
                if self.kids[i]:
                    tails[i] = self.heads[self.kids[i][0]]
        self.tails = np.asarray(tails, dtype=np.float64).reshape(-1, 3)
        self.leaf = np.array([not k for k in self.kids])
        # End point of each bone used for reach: leaves count with their tails.
        self.ends = np.where(self.leaf[:, None], self.tails, self.heads)
        pts = np.concatenate([self.heads, self.ends])
        self.z0 = float(pts[:, 2].min())
        self.H = float(pts[:, 2].max() - self.z0)
        if self.H < 1e-6:
            raise TopologyError("the rig is flat (all bones at one height): not a standing "
                                "humanoid")

    def z(self, i) -> float:           # height of a bone's head as a share of the rig height
        return (self.heads[i, 2] - self.z0) / self.H

    def top_z(self, i) -> float:
        return (max(self.heads[i, 2], self.ends[i, 2]) - self.z0) / self.H

    def low_z(self, i) -> float:
        return (min(self.heads[i, 2], self.ends[i, 2]) - self.z0) / self.H

    def horiz(self, i, origin) -> float:
        d = self.heads[i, :2] - origin[:2]
        return float(np.hypot(*d)) / self.H


def topmost_same_place(rig: Rig, path: list[int], k: int) -> int:
    """Within `path` (top to bottom), the first bone whose head is where path[k]'s is."""
    for j in range(k):
        if np.linalg.norm(rig.heads[path[j]] - rig.heads[path[k]]) < SAME_PLACE * rig.H:
            return j
    return k


def nearest_on(rig: Rig, path: list[int], lo: int, hi: int, start: np.ndarray,
                end: np.ndarray, share: float):
    """Index in path[lo:hi] whose head, projected on the line start -> end, lies nearest
    `share` of the way (topmost of bones at one place), and how far off it is (in shares)."""
    if hi <= lo:
        return None, np.inf
    axis = end - start
    t = (rig.heads[path[lo:hi]] - start) @ axis / max(float(axis @ axis), 1e-12)
    d = np.abs(t - share)
    k = lo + int(np.argmin(d))
    k = max(lo, topmost_same_place(rig, path, k))
    return k, float(d.min())
