"""Geometry for the rig zoo (tools/rig_zoo.py): a re-proportioned, optionally A-posed copy of
the canonical body with landmarks (fingers, toes, eyes, ...), and a builder that turns named
bones placed on that body into a `RigSpec` in armature space.

numpy only. World space is Blender's: metres, Z up, the character faces -Y, its left is +X.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from backend.motion import quat  # noqa: E402
from backend.motion.skeleton import CANONICAL, CANONICAL_NAMES, Skeleton  # noqa: E402

_J = {n: i for i, n in enumerate(CANONICAL_NAMES)}


@dataclass
class ZooBone:
    """One bone in armature space (head/tail (3,), roll in radians, parents-first order)."""
    name: str
    parent: str
    head: np.ndarray
    tail: np.ndarray
    roll: float
    deform: bool = True


@dataclass
class RigSpec:
    """A rig of one convention. `bones` are in armature space; world = R(object_rotation,
    XYZ Euler) @ (object_scale * armature point). `expected`: canonical joint -> bone;
    `anatomical`: bone -> (3, 3) world rotation taking the canonical T-pose segment onto this
    rig's rest segment; `must_move`: deforming bones a walk must key; `height`: metres;
    `alternatives`: joint -> other bones that are an equally valid mapping (only spine3 on
    rigs with more than three spine bones: `expected` names the bone the clavicles and neck
    hang from, the alternative the spine bone whose head is nearest the canonical chest
    height)."""
    name: str
    convention: str
    bones: list
    object_rotation: tuple = (0.0, 0.0, 0.0)
    object_scale: float = 1.0
    expected: dict = field(default_factory=dict)
    must_move: list = field(default_factory=list)
    anatomical: dict = field(default_factory=dict)
    pose: str = "T"
    notes: str = ""
    height: float = 1.7
    alternatives: dict = field(default_factory=dict)

    def names(self) -> list[str]:
        return [b.name for b in self.bones]

    def parent_indices(self) -> list[int]:
        index = {b.name: i for i, b in enumerate(self.bones)}
        return [index[b.parent] if b.parent else -1 for b in self.bones]

    def object_matrix(self) -> np.ndarray:
        """(3, 3) rotation times scale: armature space -> world."""
        return euler_xyz_matrix(self.object_rotation) * float(self.object_scale)

    def world_heads(self) -> np.ndarray:
        """(J, 3) bone heads in world space (metres, Z up)."""
        return np.array([b.head for b in self.bones]) @ self.object_matrix().T

    def world_tails(self) -> np.ndarray:
        return np.array([b.tail for b in self.bones]) @ self.object_matrix().T


def euler_xyz_matrix(angles) -> np.ndarray:
    """Blender's XYZ Euler: R = Rz @ Ry @ Rx."""
    x, y, z = (float(a) for a in angles)
    cx, sx, cy, sy, cz, sz = math.cos(x), math.sin(x), math.cos(y), math.sin(y), math.cos(z), \
        math.sin(z)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def bone_matrix(head, tail, roll: float) -> np.ndarray:
    """(3, 3) bone rotation (columns X, Y, Z; Y along the bone) as Blender builds it from
    head, tail and roll (vec_roll_to_mat3_normalized)."""
    x, y, z = _unit(np.asarray(tail, float) - np.asarray(head, float))
    theta = 1.0 + y
    theta_alt = x * x + z * z
    if theta > 6.1e-3 or theta_alt > 2.5e-4 ** 2:
        if theta <= 6.1e-3:
            theta = theta_alt * 0.5 + theta_alt * theta_alt * 0.125
        b = np.array([[1 - x * x / theta, x, -x * z / theta],
                      [-x, y, -z],
                      [-x * z / theta, z, 1 - z * z / theta]])
    else:
        b = np.diag([-1.0, -1.0, 1.0])
    r = quat.to_matrix(quat.from_axis_angle(np.array([x, y, z]), np.array(roll)))
    return r @ b


def roll_for_x(head, tail, x_wanted) -> float:
    """The roll that turns the bone's X axis as close as possible to `x_wanted`."""
    m0 = bone_matrix(head, tail, 0.0)
    y = m0[:, 1]
    xw = np.asarray(x_wanted, float) - y * float(np.dot(x_wanted, y))
    if np.linalg.norm(xw) < 1e-9:
        return 0.0
    xw = _unit(xw)
    return float(math.atan2(np.dot(np.cross(m0[:, 0], xw), y), np.dot(m0[:, 0], xw)))


# ---------------------------------------------------------------------------------- body
# Proportion groups: canonical joints whose offset from their parent scales together.
_GROUPS = {"hips": ["left_hip", "right_hip"], "thigh": ["left_knee", "right_knee"],
           "shin": ["left_ankle", "right_ankle"], "foot": ["left_foot", "right_foot"],
           "spine": ["spine1", "spine2", "spine3"], "neck": ["neck", "head"],
           "collar": ["left_collar", "right_collar", "left_shoulder", "right_shoulder"],
           "upper_arm": ["left_elbow", "right_elbow"], "forearm": ["left_wrist", "right_wrist"]}
# Leaf tails (head top, hand tip, toe tip) scale with their own joint's group.
_LEAF_GROUP = {"head": "neck", "left_wrist": "forearm", "right_wrist": "forearm",
               "left_foot": "foot", "right_foot": "foot"}

# Left-hand finger landmarks relative to the wrist (canonical T-pose, metres): knuckle
# position, direction, phalanx lengths. Thumb's first length is its metacarpal.
FINGERS = {
    "thumb": ((0.022, -0.026, -0.012), (0.62, -0.74, -0.25), (0.042, 0.032, 0.028)),
    "index": ((0.088, -0.026, 0.0), (1.0, -0.05, 0.0), (0.042, 0.026, 0.021)),
    "middle": ((0.090, -0.007, 0.002), (1.0, 0.0, 0.0), (0.045, 0.027, 0.021)),
    "ring": ((0.086, 0.012, 0.0), (1.0, 0.05, 0.0), (0.042, 0.026, 0.020)),
    "pinky": ((0.078, 0.029, -0.004), (1.0, 0.12, -0.02), (0.032, 0.020, 0.018)),
}


class Body:
    """A canonical body with per-segment length factors (+-8%), scaled to `height` metres,
    standing on Z=0, arms posed down by `a_angle` degrees about the forward axis for an
    A-pose (elbows flexed forward by `elbow_bend` degrees). `R[joint]` is the joint's world
    rest rotation relative to the canonical T-pose; `local()` places landmarks."""

    def __init__(self, seed: int, height: float, a_angle: float = 0.0,
                 elbow_bend: float = 0.0):
        rng = np.random.default_rng(seed)
        self.factors = {g: float(rng.uniform(0.92, 1.08)) for g in _GROUPS}
        offsets = CANONICAL.offsets.copy()
        tails = CANONICAL.tails.copy()
        for group, joints in _GROUPS.items():
            for j in joints:
                offsets[_J[j]] *= self.factors[group]
        for j, group in _LEAF_GROUP.items():
            tails[_J[j]] *= self.factors[group]
        skel = Skeleton(list(CANONICAL_NAMES), CANONICAL.parents.copy(), offsets, None, tails)
        local = quat.identity((1, len(CANONICAL_NAMES)))
        a, b = math.radians(a_angle), math.radians(elbow_bend)
        for side, sign in (("left", 1.0), ("right", -1.0)):
            local[0, _J[f"{side}_shoulder"]] = quat.from_axis_angle(np.array([0, 1.0, 0]),
                                                                     np.array(sign * a))
            local[0, _J[f"{side}_elbow"]] = quat.from_axis_angle(np.array([0, 0, 1.0]),
                                                                  np.array(-sign * b))
        rots, pos = skel.fk(local)
        rots, pos = rots[0], pos[0]
        feet = [_J["left_foot"], _J["right_foot"]]
        pos[:, 2] -= pos[feet, 2].min() - 0.007
        leaf = pos + quat.rotate(rots, skel.tails)
        k = height / leaf[_J["head"], 2]
        self.height = float(height)
        self.pos = pos * k
        self.leaf = leaf * k
        self.R = {n: quat.to_matrix(rots[i]) for i, n in enumerate(CANONICAL_NAMES)}
        self.scale = {n: k * self._segment_factor(n) for n in CANONICAL_NAMES}
        self.a_angle = a_angle

    def _segment_factor(self, joint: str) -> float:
        """Length factor of the segment that starts at `joint` (its leaf or first child)."""
        if joint in _LEAF_GROUP:
            return self.factors[_LEAF_GROUP[joint]]
        for group, joints in _GROUPS.items():
            if any(CANONICAL.parents[_J[c]] == _J[joint] for c in joints):
                return self.factors[group]
        return 1.0

    def __getitem__(self, joint: str) -> np.ndarray:
        return self.pos[_J[joint]].copy()

    def tip(self, joint: str) -> np.ndarray:
        """Leaf tail of head / wrist / foot: head top, hand tip, toe tip."""
        return self.leaf[_J[joint]].copy()

    def local(self, joint: str, offset, side: str = "left") -> np.ndarray:
        """World point at `offset` (canonical T-pose, left-side coordinates; mirrored for
        side='right') from `joint`, rotated and scaled with the joint's segment."""
        off = np.asarray(offset, float) * (np.array([-1.0, 1, 1]) if side == "right" else 1.0)
        return self.pos[_J[joint]] + self.R[joint] @ (off * self.scale[joint])

    def spine(self, t: float) -> np.ndarray:
        """Along pelvis(0) - spine1(1) - spine2(2) - spine3(3) - neck(4) - head(5)."""
        knots = ["pelvis", "spine1", "spine2", "spine3", "neck", "head"]
        i = min(int(t), 4)
        return self[knots[i]] * (1 - (t - i)) + self[knots[i + 1]] * (t - i)

    def between(self, a: str, b: str, u: float) -> np.ndarray:
        return self[a] * (1 - u) + self[b] * u

    def finger(self, side: str, finger: str, n_points: int = 4, metacarpal: bool = False):
        """Points along one finger: [metacarpal start,] knuckle, joints..., tip."""
        base, direction, lengths = FINGERS[finger]
        d = _unit(direction)
        pts = [np.asarray(base, float)]
        for length in lengths:
            pts.append(pts[-1] + d * length)
        pts = pts[:n_points]
        if metacarpal:
            pts.insert(0, np.array([0.012, base[1] * 0.5, base[2] * 0.5]))
        return [self.local(f"{side}_wrist", p, side) for p in pts]


# ------------------------------------------------------------------------------- builder
# Canonical joints a walk always swings: their bones must receive keys.
WALK_JOINTS = ["pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
               "right_ankle", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow"]


class RigBuilder:
    """Collects bones placed in world space on a `Body`, then writes a `RigSpec`.

    orient: "child"  - tail at the given point (usually the child's head);
            "fbx_x"  - the tail argument only gives the direction of the node's X axis (as in
                       3ds Max Biped / UE4: X along the bone); the Blender bone then points
                       along the node's Y axis, as an FBX import without Automatic Bone
                       Orientation shows it, and its X axis points at the child;
            "world_x" - every tail points along world +X (length kept).
    rolls:  "lateral" (X axis left-right where possible) or "random".
    """

    def __init__(self, name: str, convention: str, body: Body, *, pose: str = "T",
                 orient: str = "child", rolls: str = "lateral", object_rotation=(0.0, 0, 0),
                 object_scale: float = 1.0, seed: int = 0, notes: str = ""):
        self.name, self.convention, self.body, self.pose = name, convention, body, pose
        self.orient, self.rolls, self.notes = orient, rolls, notes
        self.object_rotation = tuple(float(a) for a in object_rotation)
        self.object_scale = float(object_scale)
        self.rng = np.random.default_rng(seed)
        self._bones: list[tuple] = []
        self._index: dict[str, int] = {}
        self.expected: dict[str, str] = {}
        self.anatomical: dict[str, np.ndarray] = {}
        self.must_move: list[str] = []

    def __contains__(self, name: str) -> bool:
        return name in self._index

    def add(self, name: str, parent: str, head, tail, deform: bool = True,
            roll: float | None = None) -> str:
        """Add a bone (world head/tail, metres); returns its name for chaining."""
        if name in self._index:
            raise ValueError(f"{self.name}: bone {name!r} added twice")
        if parent and parent not in self._index:
            raise ValueError(f"{self.name}: parent {parent!r} of {name!r} not added yet")
        head, tail = np.asarray(head, float), np.asarray(tail, float)
        if np.linalg.norm(tail - head) < 1e-3:
            raise ValueError(f"{self.name}: bone {name!r} is shorter than 1 mm")
        self._index[name] = len(self._bones)
        self._bones.append((name, parent, head, tail, bool(deform), roll))
        return name

    def chain(self, names, parent: str, points, deform: bool = True) -> str:
        """Bones names[i] from points[i] to points[i+1], each the parent of the next."""
        for name, a, b in zip(names, points[:-1], points[1:]):
            parent = self.add(name, parent, a, b, deform)
        return parent

    def expect(self, joint: str, bone: str):
        """`bone` is the rig's bone for canonical `joint`."""
        if bone not in self._index:
            raise ValueError(f"{self.name}: expected bone {bone!r} does not exist")
        self.expected[joint] = bone
        self.anatomical[bone] = self.body.R[joint].copy()

    def _orient(self, head, tail, roll):
        """World tail and the world X axis wanted (None: use `roll` or the rig's roll style)."""
        d = tail - head
        length = float(np.linalg.norm(d))
        x_axis = _unit(d)
        if self.orient == "fbx_x":
            ref = np.array([0, -1.0, 0]) if abs(x_axis[2]) > 0.7 else np.array([0, 0, 1.0])
            z_axis = _unit(ref - x_axis * float(np.dot(ref, x_axis)))
            y_axis = np.cross(z_axis, x_axis)
            return head + y_axis * length, x_axis
        if self.orient == "world_x":
            return head + np.array([length, 0, 0]), None
        if roll is not None or self.rolls == "random":
            return tail, None
        hint = np.array([0, -1.0, 0]) if abs(x_axis[0]) > 0.8 else np.array([1.0, 0, 0])
        return tail, hint

    def spec(self, extra_must_move=()) -> RigSpec:
        m = euler_xyz_matrix(self.object_rotation)
        to_arm = m.T / self.object_scale
        bones = []
        for name, parent, head, tail, deform, roll in self._bones:
            tail_w, x_world = self._orient(head, tail, roll)
            h, t = to_arm @ head, to_arm @ tail_w
            if x_world is not None:
                r = roll_for_x(h, t, m.T @ x_world)
            elif roll is not None:
                r = float(roll)
            else:
                r = float(self.rng.uniform(-math.pi, math.pi))
            bones.append(ZooBone(name, parent, h, t, r, deform))
        alternatives = {}
        if "spine3" in self.expected and "spine2" not in self.expected:
            nearest = self._nearest_chest_bone()
            if nearest != self.expected["spine3"]:
                alternatives["spine3"] = [nearest]
                self.anatomical[nearest] = self.body.R["spine3"].copy()
        deforming = {b.name for b in bones if b.deform}
        must = [self.expected[j] for j in WALK_JOINTS
                if j in self.expected and self.expected[j] in deforming]
        must += [b for b in extra_must_move if b not in must]
        return RigSpec(self.name, self.convention, bones, self.object_rotation,
                       self.object_scale, dict(self.expected), must,
                       {k: v.copy() for k, v in self.anatomical.items()}, self.pose,
                       self.notes, self.body.height, alternatives)

    def _nearest_chest_bone(self) -> str:
        """Of the spine bones from the pelvis bone (excluded) up to the expected spine3 bone,
        the one whose head is nearest the canonical spine3 joint's height."""
        chain, name = [], self.expected["spine3"]
        while name and name != self.expected["pelvis"]:
            chain.append(name)
            name = self._bones[self._index[name]][1]
        z = self.body["spine3"][2]
        return min(chain, key=lambda n: abs(self._bones[self._index[n]][2][2] - z))
