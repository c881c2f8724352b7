"""Rig zoo, character-platform conventions: Daz Genesis 3 / 8 / 9, Character Creator
(Reallusion CC3/CC4, iClone), VRoid Studio and VRM-humanoid names. numpy only."""
from __future__ import annotations

import math
import zlib

import numpy as np

from rig_zoo_geometry import FINGERS, Body, RigBuilder, RigSpec

SIDES = (("left", "l", "L"), ("right", "r", "R"))
FBX_IMPORT = (math.pi / 2, 0.0, 0.0)  # FBX (Y up) imported into Blender: object rotated 90° X


def seed_of(name: str) -> int:
    return zlib.crc32(name.encode())


def add_hand(rb: RigBuilder, side: str, hand: str, name_of, metacarpal=None, end=None,
             n: int = 3):
    """Five finger chains under `hand`: name_of(finger, k) names phalanx k (1..n);
    metacarpal(finger) names a palm bone before the knuckle (None: none); end(finger) names
    a 1 cm leaf bone past the tip (FBX 'Nub'/'_End' bones)."""
    for finger in FINGERS:
        mc = metacarpal(finger) if metacarpal else None
        pts = rb.body.finger(side, finger, n + 1, metacarpal=bool(mc))
        parent = hand
        if mc:
            parent = rb.add(mc, hand, pts[0], pts[1])
            pts = pts[1:]
        last = rb.chain([name_of(finger, k) for k in range(1, n + 1)], parent, pts)
        if end:
            d = pts[-1] - pts[-2]
            rb.add(end(finger), last, pts[-1], pts[-1] + d / np.linalg.norm(d) * 0.01, False)


def foot_points(b: Body, side: str):
    """ankle, mid-foot (metatarsals), ball, toe tip."""
    ankle, ball = b[f"{side}_ankle"], b[f"{side}_foot"]
    mid = ankle * 0.55 + ball * 0.45 + np.array([0, 0, -0.02])
    return ankle, mid, ball, b.tip(f"{side}_foot")


def _daz(name: str, generation: int, height: float, a_angle: float) -> RigSpec:
    b = Body(seed_of(name), height, a_angle, elbow_bend=8.0 if a_angle else 0.0)
    rb = RigBuilder(name, f"daz_genesis{generation}", b, pose="A" if a_angle else "T",
                    rolls="lateral", seed=seed_of(name),
                    notes="Daz Genesis 3/8 as imported by Diffeomorphic: 'hip' is the body "
                          "root, 'pelvis' only carries the legs and points down; Bend/Twist "
                          "pairs in line (the Twist bone's head mid-segment).")
    down = np.array([0, 0, -0.1]) * height / 1.7
    rb.add("hip", "", b["pelvis"], b["pelvis"] + down)
    rb.add("pelvis", "hip", b["pelvis"] + [0, 0, 0.01], b["pelvis"] + 1.6 * down)
    rb.chain(["abdomenLower", "abdomenUpper", "chestLower", "chestUpper", "neckLower",
              "neckUpper", "head"], "hip",
             [b.spine(t) for t in (0.3, 1.2, 2.1, 2.9, 4.0, 4.5, 5.0)] + [b.tip("head")])
    rb.add("lowerJaw", "head", b.local("head", (0, -0.02, 0.0)),
           b.local("head", (0, -0.09, -0.06)))
    for side, s, _ in SIDES:
        rb.add(f"{s}Eye", "head", b.local("head", (0.032, -0.08, 0.07), side),
               b.local("head", (0.032, -0.1, 0.07), side))
        rb.add(f"{s}Pectoral", "chestUpper", b.local("spine3", (0.09, -0.08, 0.12), side),
               b.local("spine3", (0.09, -0.15, 0.1), side))
        mid_arm = b.between(f"{side}_shoulder", f"{side}_elbow", 0.5)
        mid_fore = b.between(f"{side}_elbow", f"{side}_wrist", 0.5)
        mid_thigh = b.between(f"{side}_hip", f"{side}_knee", 0.5)
        hand = rb.chain([f"{s}Collar", f"{s}ShldrBend", f"{s}ShldrTwist", f"{s}ForearmBend",
                         f"{s}ForearmTwist", f"{s}Hand"], "chestUpper",
                        [b[f"{side}_collar"], b[f"{side}_shoulder"], mid_arm, b[f"{side}_elbow"],
                         mid_fore, b[f"{side}_wrist"], b.local(f"{side}_wrist", (0.09, 0, 0),
                                                                 side)])
        # Genesis 3: lCarpal1 (index+middle), lCarpal2 (ring+pinky); Genesis 8: four carpals.
        carpal = ({"index": 1, "middle": 1, "ring": 2, "pinky": 2} if generation == 3 else
                  {"index": 1, "middle": 2, "ring": 3, "pinky": 4})
        short = {"thumb": "Thumb", "index": "Index", "middle": "Mid", "ring": "Ring",
                 "pinky": "Pinky"}
        for finger, k in carpal.items():
            if f"{s}Carpal{k}" not in rb:
                pts = b.finger(side, finger, 1, metacarpal=True)
                rb.add(f"{s}Carpal{k}", hand, pts[0], pts[1])
        for finger in FINGERS:
            pts = b.finger(side, finger, 4)
            parent = hand if finger == "thumb" else f"{s}Carpal{carpal[finger]}"
            rb.chain([f"{s}{short[finger]}{k}" for k in (1, 2, 3)], parent, pts)
        ankle, mid, ball, tip = foot_points(b, side)
        toe = rb.chain([f"{s}ThighBend", f"{s}ThighTwist", f"{s}Shin", f"{s}Foot",
                        f"{s}Metatarsals", f"{s}Toe"], "pelvis",
                       [b[f"{side}_hip"], mid_thigh, b[f"{side}_knee"], ankle, mid, ball, tip])
        rb.add(f"{s}BigToe", toe, b.local(f"{side}_foot", (-0.02, -0.02, 0.0), side),
               b.local(f"{side}_foot", (-0.02, -0.06, 0.0), side))
        rb.add(f"{s}SmallToe4", toe, b.local(f"{side}_foot", (0.035, -0.01, 0.0), side),
               b.local(f"{side}_foot", (0.04, -0.04, 0.0), side))
        for joint, bone in (("collar", "Collar"), ("shoulder", "ShldrBend"),
                            ("elbow", "ForearmBend"), ("wrist", "Hand"), ("hip", "ThighBend"),
                            ("knee", "Shin"), ("ankle", "Foot"), ("foot", "Toe")):
            rb.expect(f"{side}_{joint}", f"{s}{bone}")
    for joint, bone in (("pelvis", "hip"), ("spine3", "chestUpper"), ("neck", "neckLower"),
                        ("head", "head")):
        rb.expect(joint, bone)
    return rb.spec()


def daz_genesis3() -> RigSpec:
    return _daz("daz_g3_tpose", 3, 1.83, 0.0)


def daz_genesis8() -> RigSpec:
    return _daz("daz_g8_apose", 8, 1.69, 45.0)


def daz_genesis9() -> RigSpec:
    name = "daz_g9_apose"
    b = Body(seed_of(name), 1.76, 43.0, elbow_bend=6.0)
    rb = RigBuilder(name, "daz_genesis9", b, pose="A", rolls="random", seed=seed_of(name),
                    notes="Genesis 9: figure root bone 'Genesis9' at the origin, snake_case "
                          "names, two twist bones per segment as children of the bend bone "
                          "(parallel to the chain), metacarpals for four fingers.")
    rb.add("Genesis9", "", [0, 0, 0], [0, 0, 0.2], deform=False)
    rb.add("hip", "Genesis9", b["pelvis"], b["pelvis"] + [0, 0, -0.1])
    rb.add("pelvis", "hip", b["pelvis"], b["pelvis"] + [0, 0.02, -0.14])
    rb.chain(["spine1", "spine2", "spine3", "spine4", "neck1", "neck2", "head"], "hip",
             [b.spine(t) for t in (0.25, 1.2, 2.0, 2.8, 4.0, 4.5, 5.0)] + [b.tip("head")])
    for side, s, _ in SIDES:
        rb.add(f"{s}_eye", "head", b.local("head", (0.032, -0.08, 0.07), side),
               b.local("head", (0.032, -0.1, 0.07), side))
        rb.add(f"{s}_pectoral", "spine4", b.local("spine3", (0.09, -0.08, 0.12), side),
               b.local("spine3", (0.09, -0.15, 0.1), side))
        for upper, lower, seg_from, seg_to, parent in (
                ("shoulder", "upperarm", "collar", "shoulder", "spine4"),
                ("upperarm", "forearm", "shoulder", "elbow", f"{s}_shoulder"),
                ("forearm", "hand", "elbow", "wrist", f"{s}_upperarm"),
                ("thigh", "shin", "hip", "knee", "pelvis"),
                ("shin", "foot", "knee", "ankle", f"{s}_thigh")):
            rb.add(f"{s}_{upper}", parent, b[f"{side}_{seg_from}"], b[f"{side}_{seg_to}"])
        for seg, a, c in (("upperarm", "shoulder", "elbow"), ("forearm", "elbow", "wrist"),
                          ("thigh", "hip", "knee")):
            rb.chain([f"{s}_{seg}_twist1", f"{s}_{seg}_twist2"], f"{s}_{seg}",
                     [b.between(f"{side}_{a}", f"{side}_{c}", u) for u in (0.25, 0.6, 0.95)])
        rb.add(f"{s}_hand", f"{s}_forearm", b[f"{side}_wrist"],
               b.local(f"{side}_wrist", (0.09, 0, 0), side))
        add_hand(rb, side, f"{s}_hand", lambda f, k: f"{s}_{f.replace('middle', 'mid')}{k}",
                 metacarpal=lambda f: None if f == "thumb" else
                 f"{s}_{f.replace('middle', 'mid')}_metacarpal")
        ankle, mid, ball, tip = foot_points(b, side)
        rb.chain([f"{s}_foot", f"{s}_metatarsals", f"{s}_toes"], f"{s}_shin",
                 [ankle, mid, ball, tip])
        for joint, bone in (("collar", "shoulder"), ("shoulder", "upperarm"),
                            ("elbow", "forearm"), ("wrist", "hand"), ("hip", "thigh"),
                            ("knee", "shin"), ("ankle", "foot"), ("foot", "toes")):
            rb.expect(f"{side}_{joint}", f"{s}_{bone}")
    for joint, bone in (("pelvis", "hip"), ("spine3", "spine4"), ("neck", "neck1"),
                        ("head", "head")):
        rb.expect(joint, bone)
    return rb.spec()


CC_FINGER = {"thumb": "Thumb", "index": "Index", "middle": "Mid", "ring": "Ring",
             "pinky": "Pinky"}


def character_creator() -> RigSpec:
    name = "cc4_apose"
    b = Body(seed_of(name), 1.72, 42.0, elbow_bend=5.0)
    rb = RigBuilder(name, "character_creator", b, pose="A", rolls="random", seed=seed_of(name),
                    object_rotation=FBX_IMPORT, object_scale=0.01,
                    notes="Reallusion CC3/CC4 FBX: CC_Base_BoneRoot at the origin, CC_Base_Hip "
                          "is the body root, CC_Base_Pelvis carries the legs; twist and "
                          "ShareBone helpers are children of the limb bones; the neck bone is "
                          "CC_Base_NeckTwist01. Armature space in cm.")
    rb.add("CC_Base_BoneRoot", "", [0, 0, 0], [0, 0, 0.1], deform=False)
    rb.add("CC_Base_Hip", "CC_Base_BoneRoot", b["pelvis"], b["pelvis"] + [0, 0, 0.08])
    rb.add("CC_Base_Pelvis", "CC_Base_Hip", b["pelvis"], b["pelvis"] + [0, 0, -0.1])
    rb.chain(["CC_Base_Waist", "CC_Base_Spine01", "CC_Base_Spine02", "CC_Base_NeckTwist01",
              "CC_Base_NeckTwist02", "CC_Base_Head"], "CC_Base_Hip",
             [b.spine(t) for t in (1.0, 2.0, 3.0, 4.0, 4.5, 5.0)] + [b.tip("head")])
    rb.add("CC_Base_FacialBone", "CC_Base_Head", b.local("head", (0, -0.03, 0.05)),
           b.local("head", (0, -0.1, 0.05)))
    rb.add("CC_Base_JawRoot", "CC_Base_FacialBone", b.local("head", (0, -0.02, 0)),
           b.local("head", (0, -0.09, -0.06)))
    for side, _, S in SIDES:
        p = f"CC_Base_{S}_"
        rb.add(p + "Eye", "CC_Base_FacialBone", b.local("head", (0.032, -0.08, 0.07), side),
               b.local("head", (0.032, -0.1, 0.07), side))
        rb.add(p + "RibsTwist", "CC_Base_Spine02", b.local("spine3", (0.06, -0.04, 0.08), side),
               b.local("spine3", (0.08, -0.1, 0.08), side))
        rb.add(p + "Breast", p + "RibsTwist", b.local("spine3", (0.09, -0.09, 0.12), side),
               b.local("spine3", (0.09, -0.16, 0.1), side))
        rb.chain([p + "Clavicle", p + "Upperarm", p + "Forearm", p + "Hand"], "CC_Base_Spine02",
                 [b[f"{side}_{j}"] for j in ("collar", "shoulder", "elbow", "wrist")]
                 + [b.local(f"{side}_wrist", (0.09, 0, 0), side)])
        for seg, a, c in (("Upperarm", "shoulder", "elbow"), ("Forearm", "elbow", "wrist")):
            for k, (u0, u1) in enumerate(((0.0, 0.5), (0.5, 0.95)), start=1):
                rb.add(f"{p}{seg}Twist0{k}", p + seg, b.between(f"{side}_{a}", f"{side}_{c}", u0),
                       b.between(f"{side}_{a}", f"{side}_{c}", u1))
        rb.add(p + "ElbowShareBone", p + "Forearm", b.local(f"{side}_elbow", (0, 0.03, 0), side),
               b.local(f"{side}_elbow", (0, 0.07, 0), side))
        add_hand(rb, side, p + "Hand", lambda f, k: f"{p}{CC_FINGER[f]}{k}")
        ankle, mid, ball, tip = foot_points(b, side)
        rb.chain([p + "Thigh", p + "Calf", p + "Foot", p + "ToeBase"], "CC_Base_Pelvis",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        for seg, a, c in (("Thigh", "hip", "knee"), ("Calf", "knee", "ankle")):
            for k, (u0, u1) in enumerate(((0.05, 0.5), (0.5, 0.95)), start=1):
                rb.add(f"{p}{seg}Twist0{k}", p + seg, b.between(f"{side}_{a}", f"{side}_{c}", u0),
                       b.between(f"{side}_{a}", f"{side}_{c}", u1))
        rb.add(p + "KneeShareBone", p + "Calf", b.local(f"{side}_knee", (0, -0.04, 0), side),
               b.local(f"{side}_knee", (0, -0.08, 0), side))
        rb.add(p + "BigToe1", p + "ToeBase", b.local(f"{side}_foot", (-0.02, -0.02, 0), side),
               b.local(f"{side}_foot", (-0.02, -0.06, 0), side))
        for joint, bone in (("collar", "Clavicle"), ("shoulder", "Upperarm"),
                            ("elbow", "Forearm"), ("wrist", "Hand"), ("hip", "Thigh"),
                            ("knee", "Calf"), ("ankle", "Foot"), ("foot", "ToeBase")):
            rb.expect(f"{side}_{joint}", p + bone)
    for joint, bone in (("pelvis", "CC_Base_Hip"), ("spine1", "CC_Base_Waist"),
                        ("spine2", "CC_Base_Spine01"), ("spine3", "CC_Base_Spine02"),
                        ("neck", "CC_Base_NeckTwist01"), ("head", "CC_Base_Head")):
        rb.expect(joint, bone)
    return rb.spec()


def vroid() -> RigSpec:
    name = "vroid_tpose"
    b = Body(seed_of(name), 1.54, 0.0)
    rb = RigBuilder(name, "vroid", b, rolls="lateral", seed=seed_of(name),
                    notes="VRoid Studio export: J_Bip_* humanoid bones, J_Sec_* spring bones "
                          "(hair, bust, skirt chains hanging from the hips like extra legs), "
                          "J_Adj_* adjust bones; a non-deforming 'Root' at the origin.")
    rb.add("Root", "", [0, 0, 0], [0, 0, 0.1], deform=False)
    names = ["J_Bip_C_Hips", "J_Bip_C_Spine", "J_Bip_C_Chest", "J_Bip_C_UpperChest",
             "J_Bip_C_Neck", "J_Bip_C_Head"]
    rb.chain(names, "Root", [b.spine(t) for t in range(6)] + [b.tip("head")])
    for side, _, S in SIDES:
        rb.add(f"J_Adj_{S}_FaceEye", "J_Bip_C_Head", b.local("head", (0.03, -0.08, 0.07), side),
               b.local("head", (0.03, -0.1, 0.07), side))
        rb.chain([f"J_Sec_{S}_Bust1", f"J_Sec_{S}_Bust2"], "J_Bip_C_UpperChest",
                 [b.local("spine3", (0.08, -0.06, 0.1 - 0.01 * i), side) + [0, -0.04 * i, 0]
                  for i in range(3)])
        rb.chain([f"J_Sec_Hair{k}_{S}" for k in (1, 2, 3)], "J_Bip_C_Head",
                 [b.local("head", (0.07, 0.02, 0.1 - 0.12 * i), side) for i in range(4)])
        rb.chain([f"J_Sec_{S}_SkirtBack0_0{k}" for k in (1, 2, 3)], "J_Bip_C_Hips",
                 [b.local(f"{side}_hip", (0.02, 0.08, -0.08 - 0.1 * i), side)
                  for i in range(4)])
        hand = rb.chain([f"J_Bip_{S}_Shoulder", f"J_Bip_{S}_UpperArm", f"J_Bip_{S}_LowerArm",
                         f"J_Bip_{S}_Hand"], "J_Bip_C_UpperChest",
                        [b[f"{side}_{j}"] for j in ("collar", "shoulder", "elbow", "wrist")]
                        + [b.local(f"{side}_wrist", (0.09, 0, 0), side)])
        vname = {"thumb": "Thumb", "index": "Index", "middle": "Middle", "ring": "Ring",
                 "pinky": "Little"}
        add_hand(rb, side, hand, lambda f, k: f"J_Bip_{S}_{vname[f]}{k}")
        ankle, mid, ball, tip = foot_points(b, side)
        rb.chain([f"J_Bip_{S}_UpperLeg", f"J_Bip_{S}_LowerLeg", f"J_Bip_{S}_Foot",
                  f"J_Bip_{S}_ToeBase"], "J_Bip_C_Hips",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        for joint, bone in (("collar", "Shoulder"), ("shoulder", "UpperArm"),
                            ("elbow", "LowerArm"), ("wrist", "Hand"), ("hip", "UpperLeg"),
                            ("knee", "LowerLeg"), ("ankle", "Foot"), ("foot", "ToeBase")):
            rb.expect(f"{side}_{joint}", f"J_Bip_{S}_{bone}")
    for joint, bone in zip(("pelvis", "spine1", "spine2", "spine3", "neck", "head"), names):
        rb.expect(joint, bone)
    return rb.spec()


def vrm_humanoid() -> RigSpec:
    name = "vrm_humanoid"
    b = Body(seed_of(name), 1.63, 0.0)
    rb = RigBuilder(name, "vrm", b, rolls="random", seed=seed_of(name),
                    notes="Bones named after the VRM 1.0 humanoid bone names (hips, upperChest, "
                          "leftUpperArm, leftThumbMetacarpal, ...), random rolls, no root bone.")
    names = ["hips", "spine", "chest", "upperChest", "neck", "head"]
    rb.chain(names, "", [b.spine(t) for t in range(6)] + [b.tip("head")])
    rb.add("jaw", "head", b.local("head", (0, -0.02, 0)), b.local("head", (0, -0.09, -0.06)))
    for side, _, _ in SIDES:
        rb.add(f"{side}Eye", "head", b.local("head", (0.032, -0.08, 0.07), side),
               b.local("head", (0.032, -0.1, 0.07), side))
        hand = rb.chain([f"{side}Shoulder", f"{side}UpperArm", f"{side}LowerArm", f"{side}Hand"],
                        "upperChest",
                        [b[f"{side}_{j}"] for j in ("collar", "shoulder", "elbow", "wrist")]
                        + [b.local(f"{side}_wrist", (0.09, 0, 0), side)])
        thumb = ("Metacarpal", "Proximal", "Distal")
        other = ("Proximal", "Intermediate", "Distal")
        vname = {"thumb": "Thumb", "index": "Index", "middle": "Middle", "ring": "Ring",
                 "pinky": "Little"}
        add_hand(rb, side, hand, lambda f, k: f"{side}{vname[f]}"
                 f"{(thumb if f == 'thumb' else other)[k - 1]}")
        ankle, mid, ball, tip = foot_points(b, side)
        rb.chain([f"{side}UpperLeg", f"{side}LowerLeg", f"{side}Foot", f"{side}Toes"], "hips",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        for joint, bone in (("collar", "Shoulder"), ("shoulder", "UpperArm"),
                            ("elbow", "LowerArm"), ("wrist", "Hand"), ("hip", "UpperLeg"),
                            ("knee", "LowerLeg"), ("ankle", "Foot"), ("foot", "Toes")):
            rb.expect(f"{side}_{joint}", f"{side}{bone}")
    for joint, bone in zip(("pelvis", "spine1", "spine2", "spine3", "neck", "head"), names):
        rb.expect(joint, bone)
    return rb.spec()


SPECS = [daz_genesis3, daz_genesis8, daz_genesis9, character_creator, vroid, vrm_humanoid]
