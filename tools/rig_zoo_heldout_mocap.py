"""Held-out rig set (tools/rig_zoo_heldout.py), part 1: pose/transform helpers shared by the
held-out rigs, and the motion-capture skeletons (Xsens MVN, OptiTrack Motive, the CMU BVH
conversion, a joint-named Motion-Analysis-style BVH) plus a MotionBuilder HumanIK character.

Written from how those tools name and build their skeletons, independently of
backend/motion/bonemap.py and backend/motion/topology.py (never read while writing this).
numpy only; world space is Blender's (metres unless a rig says otherwise, Z up, faces -Y).
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from rig_zoo_character_rigs import FBX_IMPORT, SIDES, add_hand, foot_points, seed_of
from rig_zoo_geometry import Body, RigBuilder, RigSpec, euler_xyz_matrix

from backend.motion.skeleton import CANONICAL, CANONICAL_NAMES

_J = {n: i for i, n in enumerate(CANONICAL_NAMES)}
_X, _Z = np.array([1.0, 0, 0]), np.array([0, 0, 1.0])


def _axis_angle(axis, degrees: float) -> np.ndarray:
    """(3, 3) rotation about a unit `axis` by `degrees` (right hand)."""
    a = math.radians(degrees)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(a) * k + (1 - math.cos(a)) * k @ k


class PosedBody(Body):
    """A `Body` with more rest-pose variety (degrees): knees slightly bent (feet kept flat),
    head tipped forward, feet turned out. Still standing on Z=0."""

    def __init__(self, seed: int, height: float, a_angle: float = 0.0, elbow_bend: float = 0.0,
                 knee_bend: float = 0.0, head_forward: float = 0.0, feet_out: float = 0.0):
        super().__init__(seed, height, a_angle, elbow_bend)
        for side, sign in (("left", 1.0), ("right", -1.0)):
            self._turn(f"{side}_hip", _X, -knee_bend)       # knee forward (-Y)
            self._turn(f"{side}_knee", _X, 2 * knee_bend)   # shin back
            self._turn(f"{side}_ankle", _X, -knee_bend)     # foot flat again
            self._turn(f"{side}_ankle", _Z, sign * feet_out)  # toes outward
        self._turn("neck", _X, head_forward)                 # head towards -Y
        feet = [_J["left_foot"], _J["right_foot"]]
        drop = self.pos[feet, 2].min() - 0.007
        self.pos[:, 2] -= drop
        self.leaf[:, 2] -= drop

    def _turn(self, joint: str, axis, degrees: float):
        """Rotate the subtree from `joint` (its own segment included) about the joint, in
        world axes."""
        if not degrees:
            return
        q = _axis_angle(axis, degrees)
        j = _J[joint]
        centre = self.pos[j].copy()
        for i, name in enumerate(CANONICAL_NAMES):
            k = i
            while k != -1 and k != j:
                k = int(CANONICAL.parents[k])
            if k == j:
                self.pos[i] = centre + q @ (self.pos[i] - centre)
                self.leaf[i] = centre + q @ (self.leaf[i] - centre)
                self.R[name] = q @ self.R[name]


def add_bvh_skeleton(rb: RigBuilder, joints, end_sites: dict) -> None:
    """Add BVH joints as Blender's BVH importer makes bones of them. `joints`: (name, parent,
    head) parents first; `end_sites`: leaf joint -> End Site point. Tail: the only child's
    head, the mean of several children's heads, or the End Site; a bone that comes out shorter
    than 1 mm points along its parent bone (a root: along +Y) instead."""
    heads = {name: np.asarray(head, float) for name, _, head in joints}
    kids: dict[str, list[str]] = {}
    for name, parent, _ in joints:
        kids.setdefault(parent, []).append(name)
    tails: dict[str, np.ndarray] = {}
    lengths = []
    for name, parent, _ in joints:
        children = kids.get(name, [])
        tail = (np.mean([heads[c] for c in children], axis=0) if children
                else np.asarray(end_sites[name], float))
        tails[name] = tail
        lengths.append(float(np.linalg.norm(tail - heads[name])))
    average = float(np.mean([v for v in lengths if v > 1e-3]))
    for name, parent, _ in joints:
        head, tail = heads[name], tails[name]
        if np.linalg.norm(tail - head) < 1e-3:
            along = tails[parent] - heads[parent] if parent else np.array([0, average, 0])
            tail = tails[name] = head + along
        rb.add(name, parent, head, tail)


def turned_around(spec: RigSpec, why: str) -> RigSpec:
    """The rig with its object turned 180° about world Z (the character faces +Y, its left is
    -X): adding pi to the Z Euler angle left-multiplies Rz(pi)."""
    rx, ry, rz = spec.object_rotation
    turn = euler_xyz_matrix((0.0, 0.0, math.pi))
    return replace(spec, object_rotation=(rx, ry, rz + math.pi),
                   anatomical={b: turn @ m for b, m in spec.anatomical.items()},
                   notes=f"{spec.notes} Object turned 180° about Z ({why}): faces +Y.")


def in_world_units(spec: RigSpec, units_per_metre: float, why: str) -> RigSpec:
    """The rig with object scale 1, its world in the armature's units (e.g. 100 for a
    centimetre BVH imported at scale 1). `height` becomes world units too."""
    factor = units_per_metre * spec.object_scale
    return replace(spec, object_scale=1.0, height=spec.height * units_per_metre,
                   notes=f"{spec.notes} World {factor:g}x metres ({why}); height in world "
                         f"units.")


def accept_also(spec: RigSpec, joint: str, *bones: str) -> RigSpec:
    """Add equally valid bones for `joint` (same rest frame as the expected bone)."""
    alternatives = {j: list(bs) for j, bs in spec.alternatives.items()}
    alternatives.setdefault(joint, []).extend(bones)
    anatomical = dict(spec.anatomical)
    for bone in bones:
        anatomical[bone] = spec.anatomical[spec.expected[joint]].copy()
    return replace(spec, alternatives=alternatives, anatomical=anatomical)


def expect_limbs(rb: RigBuilder, bone_of) -> None:
    """rb.expect for both sides: bone_of(side, joint) -> bone name or None (joint absent)."""
    for side, _, _ in SIDES:
        for joint in ("collar", "shoulder", "elbow", "wrist", "hip", "knee", "ankle", "foot"):
            bone = bone_of(side, joint)
            if bone:
                rb.expect(f"{side}_{joint}", bone)


# ------------------------------------------------------------------------------ mocap rigs
def xsens_mvn_bvh() -> RigSpec:
    name = "xsens_mvn_bvh"
    b = PosedBody(seed_of(name), 1.79, 0.0, feet_out=8.0)
    rb = RigBuilder(name, "xsens_mvn", b, seed=seed_of(name), object_scale=0.01,
                    notes="Xsens MVN BVH export: the 23 MVN segments (Pelvis, L5, L3, T12, T8, "
                          "Neck, Head, Left/RightShoulder, UpperArm, ForeArm, Hand, UpperLeg, "
                          "LowerLeg, Foot, Toe), no fingers; bones as Blender's BVH importer "
                          "makes them (Pelvis points at the mean of L5 and the hips); "
                          "centimetres imported at scale 1; feet turned out.")
    joints = [("Pelvis", "", b["pelvis"])]
    for seg, parent, t in (("L5", "Pelvis", 0.45), ("L3", "L5", 1.05), ("T12", "L3", 1.75),
                           ("T8", "T12", 2.6), ("Neck", "T8", 4.0), ("Head", "Neck", 5.0)):
        joints.append((seg, parent, b.spine(t)))
    ends = {"Head": b.tip("head")}
    for side, _, _ in SIDES:
        S = side.capitalize()
        for seg, parent, joint in (
                ("Shoulder", "T8", "collar"), ("UpperArm", "Shoulder", "shoulder"),
                ("ForeArm", "UpperArm", "elbow"), ("Hand", "ForeArm", "wrist"),
                ("UpperLeg", "Pelvis", "hip"), ("LowerLeg", "UpperLeg", "knee"),
                ("Foot", "LowerLeg", "ankle"), ("Toe", "Foot", "foot")):
            joints.append((S + seg, S + parent if parent not in ("T8", "Pelvis") else parent,
                           b[f"{side}_{joint}"]))
        ends[S + "Hand"] = b.local(f"{side}_wrist", (0.09, 0, 0), side)
        ends[S + "Toe"] = b.tip(f"{side}_foot")
    add_bvh_skeleton(rb, joints, ends)
    segment = {"collar": "Shoulder", "shoulder": "UpperArm", "elbow": "ForeArm", "wrist": "Hand",
               "hip": "UpperLeg", "knee": "LowerLeg", "ankle": "Foot", "foot": "Toe"}
    expect_limbs(rb, lambda side, j: side.capitalize() + segment[j])
    for joint, bone in (("pelvis", "Pelvis"), ("spine3", "T8"), ("neck", "Neck"), ("head", "Head")):
        rb.expect(joint, bone)
    return in_world_units(rb.spec(), 100.0, "a centimetre BVH imported at scale 1.0")


def optitrack_motive_fbx() -> RigSpec:
    name = "optitrack_motive_fbx"
    b = PosedBody(seed_of(name), 1.74, 8.0, head_forward=8.0)
    p = "Skeleton1_"
    rb = RigBuilder(name, "optitrack_motive", b, rolls="random", seed=seed_of(name),
                    object_rotation=FBX_IMPORT, object_scale=0.01,
                    notes="OptiTrack Motive skeleton exported as FBX: asset-name prefix, "
                          "segments Hip, Ab, Chest, Neck, Head, LShoulder, LUArm, LFArm, LHand, "
                          "LThigh, LShin, LFoot, LToe; no fingers; head tipped forward. "
                          "Armature space in cm.")
    rb.chain([p + n for n in ("Hip", "Ab", "Chest", "Neck", "Head")], "",
             [b.spine(t) for t in (0, 1.2, 2.5, 4, 5)] + [b.tip("head")])
    short = {"collar": "Shoulder", "shoulder": "UArm", "elbow": "FArm", "wrist": "Hand",
             "hip": "Thigh", "knee": "Shin", "ankle": "Foot", "foot": "Toe"}
    for side, _, S in SIDES:
        q = p + S
        rb.chain([q + short[j] for j in ("collar", "shoulder", "elbow", "wrist")], p + "Chest",
                 [b[f"{side}_{j}"] for j in ("collar", "shoulder", "elbow", "wrist")]
                 + [b.local(f"{side}_wrist", (0.09, 0, 0), side)])
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain([q + short[j] for j in ("hip", "knee", "ankle", "foot")], p + "Hip",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
    expect_limbs(rb, lambda side, j: p + side[0].upper() + short[j])
    for joint, bone in (("pelvis", "Hip"), ("spine3", "Chest"), ("neck", "Neck"),
                        ("head", "Head")):
        rb.expect(joint, p + bone)
    return rb.spec()


def cmu_mocap_bvh() -> RigSpec:
    name = "cmu_mocap_bvh"
    b = PosedBody(seed_of(name), 1.72, 0.0, knee_bend=4.0)
    rb = RigBuilder(name, "cmu_bvh", b, seed=seed_of(name),
                    notes="CMU motion-capture database as converted to BVH (cgspeed): Hips has "
                          "zero-offset children LHipJoint/RHipJoint (Hips -> hip) and LowerBack; "
                          "LowerBack, Spine, Spine1, Neck, Neck1, Head; LeftShoulder starts at "
                          "the neck base on the midline (same spot as Neck); LeftFingerBase, "
                          "LeftHandIndex1, LThumb; knees slightly bent; BVH-importer tails.")
    joints = [("Hips", "", b["pelvis"]), ("LowerBack", "Hips", b["pelvis"]),
              ("Spine", "LowerBack", b.spine(1.4)), ("Spine1", "Spine", b.spine(2.6)),
              ("Neck", "Spine1", b["neck"]), ("Neck1", "Neck", b.spine(4.5)),
              ("Head", "Neck1", b["head"])]
    ends = {"Head": b.tip("head")}
    for side, s, S in SIDES:
        C = side.capitalize()
        fingers = b.finger(side, "middle", 2)
        thumb = b.finger(side, "thumb", 3)
        ankle, _, ball, tip = foot_points(b, side)
        wrist = b[f"{side}_wrist"]
        joints += [(f"{S}HipJoint", "Hips", b["pelvis"]),
                   (C + "UpLeg", f"{S}HipJoint", b[f"{side}_hip"]),
                   (C + "Leg", C + "UpLeg", b[f"{side}_knee"]), (C + "Foot", C + "Leg", ankle),
                   (C + "ToeBase", C + "Foot", ball), (C + "Shoulder", "Spine1", b["neck"]),
                   (C + "Arm", C + "Shoulder", b[f"{side}_shoulder"]),
                   (C + "ForeArm", C + "Arm", b[f"{side}_elbow"]),
                   (C + "Hand", C + "ForeArm", wrist),
                   (C + "FingerBase", C + "Hand", wrist + 0.6 * (fingers[0] - wrist)),
                   (C + "HandIndex1", C + "FingerBase", fingers[0]),
                   (f"{S}Thumb", C + "Hand", thumb[1])]
        ends.update({C + "ToeBase": tip, C + "HandIndex1": fingers[1], f"{S}Thumb": thumb[2]})
    add_bvh_skeleton(rb, joints, ends)
    expect_limbs(rb, lambda side, j: side.capitalize() + {
        "collar": "Shoulder", "shoulder": "Arm", "elbow": "ForeArm", "wrist": "Hand",
        "hip": "UpLeg", "knee": "Leg", "ankle": "Foot", "foot": "ToeBase"}[j])
    for joint, bone in (("pelvis", "Hips"), ("spine3", "Spine1"), ("neck", "Neck"),
                        ("head", "Head")):
        rb.expect(joint, bone)
    return rb.spec()


def joint_named_bvh() -> RigSpec:
    name = "joint_named_bvh"
    b = PosedBody(seed_of(name), 1.68, 0.0, feet_out=6.0)
    rb = RigBuilder(name, "bvh_joint_names", b, seed=seed_of(name),
                    notes="Motion-Analysis-style BVH named after joints, not segments: Hips, "
                          "Chest, Chest2, Chest3, Chest4, Neck, Head, LeftCollar, LeftShoulder "
                          "(= the upper arm), LeftElbow, LeftWrist, LeftHip (= the thigh), "
                          "LeftKnee, LeftAnkle, LeftToe; BVH-importer tails; feet turned out.")
    chest = ["Chest", "Chest2", "Chest3", "Chest4"]
    joints = [("Hips", "", b["pelvis"])]
    parent = "Hips"
    for n, t in zip(chest + ["Neck", "Head"], (0.6, 1.3, 2.0, 2.75, 4, 5)):
        joints.append((n, parent, b.spine(t)))
        parent = n
    ends = {"Head": b.tip("head")}
    named = {"collar": "Collar", "shoulder": "Shoulder", "elbow": "Elbow", "wrist": "Wrist",
             "hip": "Hip", "knee": "Knee", "ankle": "Ankle", "foot": "Toe"}
    for side, _, _ in SIDES:
        C = side.capitalize()
        ankle, _, ball, tip = foot_points(b, side)
        parent = "Chest4"
        for j in ("collar", "shoulder", "elbow", "wrist"):
            joints.append((C + named[j], parent, b[f"{side}_{j}"]))
            parent = C + named[j]
        parent = "Hips"
        for j, at in (("hip", b[f"{side}_hip"]), ("knee", b[f"{side}_knee"]), ("ankle", ankle),
                      ("foot", ball)):
            joints.append((C + named[j], parent, at))
            parent = C + named[j]
        ends.update({C + "Wrist": b.local(f"{side}_wrist", (0.09, 0, 0), side), C + "Toe": tip})
    add_bvh_skeleton(rb, joints, ends)
    expect_limbs(rb, lambda side, j: side.capitalize() + named[j])
    for joint, bone in (("pelvis", "Hips"), ("spine3", "Chest4"), ("neck", "Neck"),
                        ("head", "Head")):
        rb.expect(joint, bone)
    return rb.spec()


def humanik_motionbuilder() -> RigSpec:
    name = "humanik_motionbuilder"
    b = PosedBody(seed_of(name), 1.81, 0.0, head_forward=5.0)
    p = "Character1_"
    rb = RigBuilder(name, "humanik", b, orient="fbx_x", seed=seed_of(name),
                    object_rotation=FBX_IMPORT, object_scale=0.01,
                    notes="MotionBuilder HumanIK character via FBX (no Automatic Bone "
                          "Orientation: X along the limb): Character1_ prefix, non-deforming "
                          "Character1_Reference root at the origin, Spine/Spine1/Spine2, "
                          "*Roll bones as children of the limb bones, four-bone fingers ending "
                          "in *4. Armature space in cm.")
    rb.add(p + "Reference", "", [0, 0, 0], [0, 0, 0.12], deform=False)
    spine = [p + n for n in ("Hips", "Spine", "Spine1", "Spine2", "Neck", "Head")]
    rb.chain(spine, p + "Reference", [b.spine(t) for t in range(6)] + [b.tip("head")])
    seg = {"collar": "Shoulder", "shoulder": "Arm", "elbow": "ForeArm", "wrist": "Hand",
           "hip": "UpLeg", "knee": "Leg", "ankle": "Foot", "foot": "ToeBase"}
    for side, _, _ in SIDES:
        q = p + side.capitalize()
        hand = rb.chain([q + seg[j] for j in ("collar", "shoulder", "elbow", "wrist")],
                        p + "Spine2", [b[f"{side}_{j}"] for j in ("collar", "shoulder", "elbow",
                                                                  "wrist")]
                        + [b.local(f"{side}_wrist", (0.09, 0, 0), side)])
        add_hand(rb, side, hand, lambda f, k: f"{q}Hand{f.capitalize()}{k}",
                 end=lambda f: f"{q}Hand{f.capitalize()}4")
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain([q + seg[j] for j in ("hip", "knee", "ankle", "foot")], p + "Hips",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        for limb, a, c in (("Arm", "shoulder", "elbow"), ("ForeArm", "elbow", "wrist"),
                           ("UpLeg", "hip", "knee"), ("Leg", "knee", "ankle")):
            rb.add(q + limb + "Roll", q + limb, b.between(f"{side}_{a}", f"{side}_{c}", 0.5),
                   b.between(f"{side}_{a}", f"{side}_{c}", 0.9))
    expect_limbs(rb, lambda side, j: p + side.capitalize() + seg[j])
    for joint, bone in zip(("pelvis", "spine1", "spine2", "spine3", "neck", "head"), spine):
        rb.expect(joint, bone)
    return rb.spec()


SPECS = [xsens_mvn_bvh, optitrack_motive_fbx, cmu_mocap_bvh, joint_named_bvh,
         humanik_motionbuilder]
