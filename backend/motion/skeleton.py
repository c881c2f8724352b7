"""Skeletons and forward kinematics.

A `Skeleton` describes any hierarchy: the canonical 22-joint body, a BVH file's joints, or a
Blender armature's bones. Each joint has

- `parents[j]`: index of the parent joint, -1 for a root. Parents always come before children.
- `offsets[j]` (3,): rest position of the joint relative to its parent, in the parent's rest
  frame (for a root: its rest position in the world).
- `rest_rotations[j]` (4,): rest orientation of the joint frame relative to the parent's frame
  (identity for BVH-style skeletons whose joint frames are all world-aligned; a Blender bone's
  `parent.matrix_local^-1 @ bone.matrix_local` rotation for armatures).
- `tails[j]` (3,): where the bone points at rest, in the joint's own frame (its main child's
  offset, an End Site, or a Blender bone's (0, length, 0)). Used to align rest poses.

A pose is a local rotation per joint *relative to the rest orientation* (what Blender calls the
pose bone's rotation_quaternion), plus the root's world translation. All units are metres, and
after import everything is Z-up in Blender's world space (see `axes.py`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import quat


@dataclass
class Skeleton:
    names: list[str]
    parents: np.ndarray            # (J,) int
    offsets: np.ndarray            # (J, 3) metres, in parent rest frame
    rest_rotations: np.ndarray = None  # (J, 4) wxyz, relative to the parent frame
    tails: np.ndarray = None       # (J, 3) bone end in the joint's own rest frame

    def __post_init__(self):
        self.names = list(self.names)
        self.parents = np.asarray(self.parents, dtype=np.int64)
        self.offsets = np.asarray(self.offsets, dtype=np.float64).reshape(-1, 3)
        n = len(self.names)
        if self.parents.shape != (n,) or self.offsets.shape != (n, 3):
            raise ValueError(f"skeleton arrays disagree: {n} names, parents {self.parents.shape}, "
                             f"offsets {self.offsets.shape}")
        for j, p in enumerate(self.parents):
            if p >= j:
                raise ValueError(f"joint {self.names[j]!r} comes before its parent (index {p})")
        if self.rest_rotations is None:
            self.rest_rotations = quat.identity((n,))
        self.rest_rotations = np.asarray(self.rest_rotations, dtype=np.float64).reshape(n, 4)
        if self.tails is None:
            self.tails = default_tails(self.parents, self.offsets)
        self.tails = np.asarray(self.tails, dtype=np.float64).reshape(n, 3)

    # ----------------------------------------------------------------- basics
    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no joint named {name!r} in skeleton") from None

    def children(self, j: int) -> list[int]:
        return [int(c) for c in np.nonzero(self.parents == j)[0]]

    def copy(self) -> "Skeleton":
        return Skeleton(list(self.names), self.parents.copy(), self.offsets.copy(),
                        self.rest_rotations.copy(), self.tails.copy())

    # ------------------------------------------------------------------- rest
    def rest_world(self) -> tuple[np.ndarray, np.ndarray]:
        """World rest orientations (J, 4) and positions (J, 3) (cached; treat as read-only)."""
        cached = self.__dict__.get("_rest_cache")
        if cached is None:
            rots, pos = self.fk(quat.identity((1, len(self))))
            cached = (rots[0], pos[0])
            self.__dict__["_rest_cache"] = cached
        return cached

    def rest_tails_world(self) -> np.ndarray:
        """World rest position of each bone's tail (J, 3)."""
        rots, pos = self.rest_world()
        return pos + quat.rotate(rots, self.tails)

    # ------------------------------------------------------------------- FK
    def fk(self, local_rotations: np.ndarray, root_translation: np.ndarray | None = None,
           locations: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Forward kinematics.

        local_rotations: (T, J, 4) pose rotations relative to rest.
        root_translation: (T, 3) world position of joint 0 (None: its rest offset).
        locations: (T, J, 3) optional per-joint pose translations in the joint's rest frame
            (Blender's pose-bone `location`), applied before root_translation.
        Returns world rotations (T, J, 4) and world positions (T, J, 3).
        """
        local_rotations = np.asarray(local_rotations, dtype=np.float64)
        T, J = local_rotations.shape[:2]
        if J != len(self):
            raise ValueError(f"pose has {J} joints, skeleton has {len(self)}")
        rots = np.empty((T, J, 4))
        pos = np.empty((T, J, 3))
        full = local_rotations if self._rest_is_identity() else \
            quat.mul(self.rest_rotations[None], local_rotations)      # (T, J, 4)
        # Joints of one depth are independent: process the hierarchy level by level.
        for level in self._levels():
            if self.parents[level[0]] < 0:
                rots[:, level] = full[:, level]
                pos[:, level] = self.offsets[level]
                if locations is not None:
                    pos[:, level] += quat.rotate(self.rest_rotations[level], locations[:, level])
                continue
            par = self.parents[level]
            rots[:, level] = quat.mul(rots[:, par], full[:, level])
            pos[:, level] = pos[:, par] + quat.rotate(rots[:, par], self.offsets[level])
            if locations is not None:
                frame = quat.mul(rots[:, par], self.rest_rotations[level][None])
                pos[:, level] += quat.rotate(frame, locations[:, level])
        if root_translation is not None:
            delta = np.asarray(root_translation, dtype=np.float64) - pos[:, 0]
            # Move every joint in root 0's tree by the same amount.
            in_tree = self.subtree(0)
            pos[:, in_tree] += delta[:, None, :]
        return rots, pos

    def _rest_is_identity(self) -> bool:
        """All rest orientations are identity (BVH-style and canonical skeletons); cached."""
        flag = self.__dict__.get("_rest_identity_cache")
        if flag is None:
            flag = bool(np.all(self.rest_rotations == quat.identity()))
            self.__dict__["_rest_identity_cache"] = flag
        return flag

    def subset(self, indices) -> "Skeleton":
        """The joints `indices` (sorted, closed under taking parents) as a skeleton of their
        own, with the same rest pose."""
        indices = np.asarray(indices, dtype=np.int64)
        remap = {int(j): i for i, j in enumerate(indices)}
        parents = []
        for j in indices:
            p = int(self.parents[j])
            if p >= 0 and p not in remap:
                raise ValueError(f"subset leaves out {self.names[p]!r}, the parent of "
                                 f"{self.names[j]!r}")
            parents.append(remap[p] if p >= 0 else -1)
        return Skeleton([self.names[j] for j in indices], parents, self.offsets[indices],
                        self.rest_rotations[indices], self.tails[indices])

    def _levels(self) -> list[np.ndarray]:
        """Joint indices grouped by depth: roots first, then their children, and so on.
        Cached: a Skeleton is not modified after construction."""
        cached = self.__dict__.get("_levels_cache")
        if cached is None:
            depth = np.zeros(len(self), dtype=np.int64)
            for j, p in enumerate(self.parents):
                depth[j] = depth[p] + 1 if p >= 0 else 0
            cached = [np.nonzero(depth == d)[0] for d in range(int(depth.max()) + 1)] \
                if len(self) else []
            self.__dict__["_levels_cache"] = cached
        return cached

    def subtree(self, j: int) -> np.ndarray:
        mask = np.zeros(len(self), dtype=bool)
        mask[j] = True
        for k in range(j + 1, len(self)):
            if self.parents[k] >= 0 and mask[self.parents[k]]:
                mask[k] = True
        return np.nonzero(mask)[0]

    def locals_from_world(self, world_rotations: np.ndarray) -> np.ndarray:
        """Inverse of fk for rotations: world (T, J, 4) -> local pose rotations (T, J, 4)."""
        world_rotations = np.asarray(world_rotations, dtype=np.float64)
        parent_world = world_rotations[:, np.maximum(self.parents, 0)].copy()
        parent_world[:, self.parents < 0] = quat.identity()
        full = quat.inv_mul(parent_world, world_rotations)
        return quat.normalize(quat.inv_mul(self.rest_rotations[None], full))

    def height(self) -> float:
        """Rest height: top of the highest tail minus the lowest joint/tail (metres)."""
        _, pos = self.rest_world()
        pts = np.concatenate([pos, self.rest_tails_world()])
        return float(pts[:, 2].max() - pts[:, 2].min())

    # ------------------------------------------------------------- serialise
    def to_arrays(self, prefix: str = "skeleton_") -> dict:
        return {
            prefix + "names": np.array(self.names),
            prefix + "parents": self.parents,
            prefix + "offsets": self.offsets,
            prefix + "rest_rotations": self.rest_rotations,
            prefix + "tails": self.tails,
        }

    @classmethod
    def from_arrays(cls, arrays, prefix: str = "skeleton_") -> "Skeleton":
        return cls([str(n) for n in arrays[prefix + "names"]], arrays[prefix + "parents"],
                   arrays[prefix + "offsets"], arrays[prefix + "rest_rotations"],
                   arrays[prefix + "tails"])

    @classmethod
    def from_rest_matrices(cls, names, parents, matrices, lengths=None) -> "Skeleton":
        """Build from world rest matrices (J, 4, 4), like Blender's `bone.matrix_local`
        (bone Y axis along the bone, translation = head). `lengths` (J,) gives each bone's
        length so the tail sits at (0, length, 0) in its frame."""
        m = np.asarray(matrices, dtype=np.float64)
        parents = np.asarray(parents, dtype=np.int64)
        world_rot = quat.from_matrix(m[:, :3, :3])
        heads = m[:, :3, 3]
        n = len(names)
        has_parent = parents >= 0
        par = np.maximum(parents, 0)
        offsets = np.where(has_parent[:, None],
                           quat.inv_rotate(world_rot[par], heads - heads[par]), heads)
        rest = np.where(has_parent[:, None], quat.inv_mul(world_rot[par], world_rot), world_rot)
        tails = np.zeros((n, 3))
        if lengths is not None:
            tails[:, 1] = np.asarray(lengths, dtype=np.float64)
        return cls(list(names), parents, offsets, quat.normalize(rest), tails)


def default_tails(parents: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Tail = offset of the first child (or, for a leaf, 0: no direction known)."""
    tails = np.zeros_like(offsets)
    seen = np.zeros(len(parents), dtype=bool)
    for j, p in enumerate(parents):
        if p >= 0 and not seen[p]:
            tails[p] = offsets[j]
            seen[p] = True
    return tails


# --------------------------------------------------------------------------------------
# The canonical skeleton: the 22 SMPL / HumanML3D joints in their order, in a T-pose,
# Blender world axes (Z up, the character faces -Y, its left side is +X), metres.
# --------------------------------------------------------------------------------------
CANONICAL_NAMES = [
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
]
NUM_JOINTS = len(CANONICAL_NAMES)
CANONICAL_PARENTS = np.array([-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17,
                              18, 19])
# Kinematic chains as HumanML3D lists them: right leg, left leg, spine, right arm, left arm.
KINEMATIC_CHAINS = [[0, 2, 5, 8, 11], [0, 1, 4, 7, 10], [0, 3, 6, 9, 12, 15],
                    [9, 14, 17, 19, 21], [9, 13, 16, 18, 20]]
LEFT_RIGHT_PAIRS = [(1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21)]
FOOT_JOINTS = {"left_ankle": 7, "left_foot": 10, "right_ankle": 8, "right_foot": 11}

# Rest world positions (metres, Z up, facing -Y) of the CC0 MakeHuman adult that is Anima's
# default character (assets/character, 1.67 m), straightened into a T-pose: legs vertical,
# arms horizontal, segment lengths kept. Using the default character's proportions means
# motion on the canonical skeleton needs no re-proportioning to land on it.
_CANONICAL_REST = np.array([
    [0.000, -0.014, 0.899],   # pelvis
    [0.110, -0.012, 0.875],   # left_hip
    [-0.110, -0.012, 0.875],  # right_hip
    [0.000, 0.010, 0.945],    # spine1
    [0.105, -0.012, 0.454],   # left_knee
    [-0.105, -0.012, 0.454],  # right_knee
    [0.000, -0.015, 1.013],   # spine2
    [0.100, 0.000, 0.072],    # left_ankle
    [-0.100, 0.000, 0.072],   # right_ankle
    [0.000, -0.026, 1.106],   # spine3
    [0.100, -0.122, 0.007],   # left_foot (ball of the foot)
    [-0.100, -0.122, 0.007],  # right_foot
    [0.000, -0.007, 1.416],   # neck
    [0.027, -0.069, 1.346],   # left_collar
    [-0.027, -0.069, 1.346],  # right_collar
    [0.000, -0.016, 1.524],   # head
    [0.168, -0.015, 1.351],   # left_shoulder
    [-0.168, -0.015, 1.351],  # right_shoulder
    [0.396, -0.015, 1.351],   # left_elbow
    [-0.396, -0.015, 1.351],  # right_elbow
    [0.622, -0.015, 1.351],   # left_wrist
    [-0.622, -0.015, 1.351],  # right_wrist
])
# Where each leaf bone points (world, rest): top of the head, hand tips, toe tips.
_CANONICAL_LEAF_TAILS = {15: [0.000, -0.008, 1.667], 20: [0.799, -0.015, 1.351],
                         21: [-0.799, -0.015, 1.351], 10: [0.100, -0.193, 0.017],
                         11: [-0.100, -0.193, 0.017]}
# Bones whose tail is a particular child (the others: the first child).
_CANONICAL_MAIN_CHILD = {0: 3, 9: 12}


def _make_canonical() -> Skeleton:
    offsets = _CANONICAL_REST.copy()
    for j, p in enumerate(CANONICAL_PARENTS):
        if p >= 0:
            offsets[j] = _CANONICAL_REST[j] - _CANONICAL_REST[p]
    tails = np.zeros((NUM_JOINTS, 3))
    for j in range(NUM_JOINTS):
        if j in _CANONICAL_LEAF_TAILS:
            tails[j] = np.array(_CANONICAL_LEAF_TAILS[j]) - _CANONICAL_REST[j]
        else:
            child = _CANONICAL_MAIN_CHILD.get(j, int(np.nonzero(CANONICAL_PARENTS == j)[0][0]))
            tails[j] = _CANONICAL_REST[child] - _CANONICAL_REST[j]
    return Skeleton(list(CANONICAL_NAMES), CANONICAL_PARENTS.copy(), offsets, None, tails)


CANONICAL = _make_canonical()


def canonical() -> Skeleton:
    """A fresh copy of the canonical skeleton."""
    return CANONICAL.copy()
