"""Second held-out rig set (tools/rig_zoo_heldout2.py), part 1: rigs named and built the way
engines, avatar platforms and older tools make them: Godot 4 SkeletonProfileHumanoid, a
Blender-made Unity/Mecanim FBX with "Armature|" prefixes, Ready Player Me, Meta's OVR
full-body (Movement SDK) skeleton, a Poser figure's BVH export, and Blender 2.6x-2.77's
legacy Rigify "Human (Meta-Rig)".

Written without reading backend/motion/bonemap.py, bonenames.py, topology.py or
docs/retargeting.md. numpy only; world space is Blender's (Z up, faces -Y, left is +X).
"""
from __future__ import annotations

import numpy as np

from rig_zoo_character_rigs import FBX_IMPORT, SIDES, add_hand, foot_points, seed_of
from rig_zoo_geometry import Body, RigBuilder, RigSpec
from rig_zoo_heldout_mocap import PosedBody, add_bvh_skeleton, expect_limbs

ARM = ("collar", "shoulder", "elbow", "wrist")
LEG = ("hip", "knee", "ankle", "foot")


def hand_end(b: Body, side: str):
    return b.local(f"{side}_wrist", (0.09, 0, 0), side)


def godot_humanoid() -> RigSpec:
    name = "godot_humanoid"
    b = PosedBody(seed_of(name), 1.74, 0.0, feet_out=5.0)
    rb = RigBuilder(name, "godot_skeleton_profile", b, rolls="random", seed=seed_of(name),
                    notes="Godot 4 SkeletonProfileHumanoid names (Root, Hips, Spine, Chest, "
                          "UpperChest, Neck, Head, LeftEye/RightEye/Jaw, LeftShoulder, "
                          "LeftUpperArm, LeftLowerArm, LeftHand, LeftThumbMetacarpal/Proximal/"
                          "Distal, LeftIndexProximal/Intermediate/Distal, ..., LeftLittle*, "
                          "LeftUpperLeg, LeftLowerLeg, LeftFoot, LeftToes) exported as glTF and "
                          "imported into Blender (bones point at their child, rolls as the "
                          "importer guesses them); T-pose, feet slightly out.")
    rb.add("Root", "", [0, 0, 0], [0, 0, 0.1], deform=False)
    spine = ["Hips", "Spine", "Chest", "UpperChest", "Neck", "Head"]
    rb.chain(spine, "Root", [b.spine(t) for t in range(6)] + [b.tip("head")])
    rb.add("Jaw", "Head", b.local("head", (0, -0.02, 0.0)), b.local("head", (0, -0.09, -0.05)))
    phal = {"thumb": ("Metacarpal", "Proximal", "Distal")}
    fname = {"thumb": "Thumb", "index": "Index", "middle": "Middle", "ring": "Ring",
             "pinky": "Little"}
    for side, _, _ in SIDES:
        S = side.capitalize()
        rb.add(f"{S}Eye", "Head", b.local("head", (0.032, -0.08, 0.07), side),
               b.local("head", (0.032, -0.1, 0.07), side))
        hand = rb.chain([S + n for n in ("Shoulder", "UpperArm", "LowerArm", "Hand")],
                        "UpperChest", [b[f"{side}_{j}"] for j in ARM] + [hand_end(b, side)])
        add_hand(rb, side, hand, lambda f, k: S + fname[f] + phal.get(
            f, ("Proximal", "Intermediate", "Distal"))[k - 1])
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain([S + n for n in ("UpperLeg", "LowerLeg", "Foot", "Toes")], "Hips",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
    seg = dict(zip(ARM + LEG, ("Shoulder", "UpperArm", "LowerArm", "Hand", "UpperLeg",
                               "LowerLeg", "Foot", "Toes")))
    expect_limbs(rb, lambda side, j: side.capitalize() + seg[j])
    for joint, bone in zip(("pelvis", "spine1", "spine2", "spine3", "neck", "head"), spine):
        rb.expect(joint, bone)
    return rb.spec()


def armature_prefixed_fbx() -> RigSpec:
    name = "armature_prefixed_fbx"
    b = PosedBody(seed_of(name), 1.69, 10.0, elbow_bend=3.0)
    p = "Armature|"
    rb = RigBuilder(name, "armature_prefixed_mecanim", b, orient="fbx_x", seed=seed_of(name),
                    object_rotation=FBX_IMPORT, object_scale=0.01,
                    notes="A Blender character exported for Unity Mecanim and re-imported: every "
                          "bone carries the 'Armature|' prefix, Unity-humanoid-like names with "
                          "_L/_R suffixes (Hips, Spine, Chest, Neck, Head, Shoulder_L, UpperArm_L, "
                          "LowerArm_L, Hand_L, UpperLeg_L, LowerLeg_L, Foot_L, Toes_L, three-bone "
                          "fingers, Thumb/Index/Middle/Ring/Little), a Root bone at the origin "
                          "lying along the floor; FBX axes (X along the bone), object rotated "
                          "90° about X and scaled 0.01. Arms 10° down.")
    rb.add(p + "Root", "", [0, 0, 0], [0, 0.25, 0.0], deform=False)
    spine = [p + n for n in ("Hips", "Spine", "Chest", "Neck", "Head")]
    rb.chain(spine, p + "Root", [b.spine(t) for t in (0, 1.2, 2.5, 4, 5)] + [b.tip("head")])
    fname = {"thumb": "Thumb", "index": "Index", "middle": "Middle", "ring": "Ring",
             "pinky": "Little"}
    for side, _, S in SIDES:
        x = "_" + S
        hand = rb.chain([p + n + x for n in ("Shoulder", "UpperArm", "LowerArm", "Hand")],
                        p + "Chest", [b[f"{side}_{j}"] for j in ARM] + [hand_end(b, side)])
        add_hand(rb, side, hand, lambda f, k: f"{p}{fname[f]}{k}{x}")
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain([p + n + x for n in ("UpperLeg", "LowerLeg", "Foot", "Toes")], p + "Hips",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
    seg = dict(zip(ARM + LEG, ("Shoulder", "UpperArm", "LowerArm", "Hand", "UpperLeg",
                               "LowerLeg", "Foot", "Toes")))
    expect_limbs(rb, lambda side, j: f"{p}{seg[j]}_{side[0].upper()}")
    for joint, bone in (("pelvis", "Hips"), ("spine3", "Chest"), ("neck", "Neck"),
                        ("head", "Head")):
        rb.expect(joint, p + bone)
    return rb.spec()


def ready_player_me() -> RigSpec:
    name = "ready_player_me"
    b = PosedBody(seed_of(name), 1.72, 45.0, elbow_bend=5.0)
    rb = RigBuilder(name, "ready_player_me", b, pose="A", rolls="random", seed=seed_of(name),
                    notes="Ready Player Me full-body avatar (.glb, A-pose variant) imported with "
                          "Blender's glTF importer: Mixamo names without the mixamorig: prefix "
                          "(Hips, Spine, Spine1, Spine2, Neck, Head, HeadTop_End, LeftEye, "
                          "RightEye, LeftShoulder, LeftArm, LeftForeArm, LeftHand, "
                          "LeftHandIndex1..4, LeftUpLeg, LeftLeg, LeftFoot, LeftToeBase, "
                          "LeftToe_End); bones point at their child, importer rolls.")
    spine = ["Hips", "Spine", "Spine1", "Spine2", "Neck", "Head"]
    rb.chain(spine, "", [b.spine(t) for t in (0, 1, 2, 3, 4, 5)] + [b.tip("head")])
    top = b.tip("head")
    rb.add("HeadTop_End", "Head", top, top + [0, 0, 0.02 * b.height])
    for side, _, _ in SIDES:
        S = side.capitalize()
        rb.add(f"{S}Eye", "Head", b.local("head", (0.031, -0.08, 0.07), side),
               b.local("head", (0.031, -0.1, 0.07), side))
        hand = rb.chain([S + n for n in ("Shoulder", "Arm", "ForeArm", "Hand")], "Spine2",
                        [b[f"{side}_{j}"] for j in ARM] + [hand_end(b, side)])
        add_hand(rb, side, hand, lambda f, k: f"{S}Hand{f.capitalize()}{k}",
                 end=lambda f: f"{S}Hand{f.capitalize()}4")
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain([S + n for n in ("UpLeg", "Leg", "Foot", "ToeBase")], "Hips",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        rb.add(f"{S}Toe_End", f"{S}ToeBase", tip, tip + [0, -0.015, 0])
    seg = dict(zip(ARM + LEG, ("Shoulder", "Arm", "ForeArm", "Hand", "UpLeg", "Leg", "Foot",
                               "ToeBase")))
    expect_limbs(rb, lambda side, j: side.capitalize() + seg[j])
    for joint, bone in zip(("pelvis", "spine1", "spine2", "spine3", "neck", "head"), spine):
        rb.expect(joint, bone)
    return rb.spec()


def meta_ovr_fullbody() -> RigSpec:
    name = "meta_ovr_fullbody"
    b = PosedBody(seed_of(name), 1.76, 0.0, knee_bend=2.0)
    p = "FullBody_"
    rb = RigBuilder(name, "meta_ovr_fullbody", b, orient="fbx_x", seed=seed_of(name),
                    object_rotation=FBX_IMPORT,
                    notes="Meta Movement SDK / OVRPlugin full-body skeleton (BoneId names with "
                          "the FullBody_ prefix): Root at the floor, Hips, SpineLower, "
                          "SpineMiddle, SpineUpper, Chest, Neck, Head; LeftShoulder with a "
                          "LeftScapula leaf; LeftArmUpper, LeftArmLower, a LeftHandWristTwist "
                          "leaf on the forearm, LeftHandWrist, LeftHandPalm, four-bone fingers "
                          "with Metacarpal and a Tip; LeftUpperLeg, LeftLowerLeg, a "
                          "LeftFootAnkleTwist leaf, LeftFootAnkle, LeftFootSubtalar, "
                          "LeftFootTransverse, LeftFootBall. FBX from Unity, metres.")
    rb.add(p + "Root", "", [0, 0, 0], [0, 0, 0.1], deform=False)
    spine = [p + n for n in ("Hips", "SpineLower", "SpineMiddle", "SpineUpper", "Chest",
                             "Neck", "Head")]
    rb.chain(spine, p + "Root", [b.spine(t) for t in (0, 0.8, 1.6, 2.4, 3.1, 4, 5)]
             + [b.tip("head")])
    fname = {"thumb": "Thumb", "index": "Index", "middle": "Middle", "ring": "Ring",
             "pinky": "Little"}
    for side, _, _ in SIDES:
        q = p + side.capitalize()
        sh, el, wr = (b[f"{side}_{j}"] for j in ARM[1:])
        rb.add(q + "Shoulder", p + "Chest", b[f"{side}_collar"], sh)
        rb.add(q + "Scapula", q + "Shoulder", b.local(f"{side}_collar", (0.05, 0.06, -0.02), side),
               b.local(f"{side}_collar", (0.08, 0.07, -0.12), side))
        rb.chain([q + "ArmUpper", q + "ArmLower"], q + "Shoulder", [sh, el, wr])
        rb.add(q + "HandWristTwist", q + "ArmLower", b.between(f"{side}_elbow", f"{side}_wrist",
                                                               0.75), wr)
        hand = rb.add(q + "HandWrist", q + "ArmLower", wr, hand_end(b, side))
        rb.add(q + "HandPalm", hand, b.local(f"{side}_wrist", (0.01, 0, 0), side),
               b.local(f"{side}_wrist", (0.05, 0, 0), side))
        for finger, f in fname.items():
            pts = b.finger(side, finger, 4, metacarpal=finger != "thumb")
            names = (["Metacarpal", "Proximal", "Distal"] if finger == "thumb"
                     else ["Metacarpal", "Proximal", "Intermediate", "Distal"])
            last = rb.chain([f"{q}Hand{f}{n}" for n in names], hand, pts)
            d = pts[-1] - pts[-2]
            rb.add(f"{q}Hand{f}Tip", last, pts[-1], pts[-1] + d / np.linalg.norm(d) * 0.01)
        ankle, mid, ball, tip = foot_points(b, side)
        rb.chain([q + "UpperLeg", q + "LowerLeg"], p + "Hips",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle])
        rb.add(q + "FootAnkleTwist", q + "LowerLeg", b.between(f"{side}_knee", f"{side}_ankle",
                                                               0.75), ankle)
        sub = ankle + [0, 0.01, -0.035]
        rb.add(q + "FootAnkle", q + "LowerLeg", ankle, sub)
        rb.chain([q + "FootSubtalar", q + "FootTransverse", q + "FootBall"], q + "FootAnkle",
                 [sub, mid, ball, tip])
    seg = dict(zip(ARM + LEG, ("Shoulder", "ArmUpper", "ArmLower", "HandWrist", "UpperLeg",
                               "LowerLeg", "FootAnkle", "FootBall")))
    expect_limbs(rb, lambda side, j: p + side.capitalize() + seg[j])
    for joint, bone in (("pelvis", "Hips"), ("spine3", "Chest"), ("neck", "Neck"),
                        ("head", "Head")):
        rb.expect(joint, p + bone)
    return rb.spec()


def poser_figure_bvh() -> RigSpec:
    name = "poser_figure_bvh"
    b = PosedBody(seed_of(name), 1.75, 0.0, head_forward=4.0)
    rb = RigBuilder(name, "poser", b, rolls="random", seed=seed_of(name), object_scale=0.0254,
                    notes="A Poser figure exported as BVH (inches) and imported with Blender's "
                          "BVH importer: hip root, abdomen, chest, neck, head; lCollar, lShldr, "
                          "lForeArm, lHand, lThumb1-3, lIndex1-3, lMid1-3, lRing1-3, lPinky1-3; "
                          "lThigh, lShin, lFoot, lToe. Each bone points at its child (the mean of "
                          "several). T-pose.")
    joints = [("hip", "", b["pelvis"]), ("abdomen", "hip", b.spine(0.9)),
              ("chest", "abdomen", b.spine(2.2)), ("neck", "chest", b["neck"]),
              ("head", "neck", b["head"])]
    ends = {"head": b.tip("head")}
    fname = {"thumb": "Thumb", "index": "Index", "middle": "Mid", "ring": "Ring",
             "pinky": "Pinky"}
    for side, s, _ in SIDES:
        parent = "chest"
        for j, n in zip(ARM, ("Collar", "Shldr", "ForeArm", "Hand")):
            joints.append((s + n, parent, b[f"{side}_{j}"]))
            parent = s + n
        for finger, f in fname.items():
            pts = b.finger(side, finger, 4)
            parent = s + "Hand"
            for k in range(3):
                joints.append((f"{s}{f}{k + 1}", parent, pts[k]))
                parent = f"{s}{f}{k + 1}"
            ends[parent] = pts[3]
        ankle, _, ball, tip = foot_points(b, side)
        parent = "hip"
        for n, at in zip(("Thigh", "Shin", "Foot", "Toe"), (b[f"{side}_hip"], b[f"{side}_knee"],
                                                           ankle, ball)):
            joints.append((s + n, parent, at))
            parent = s + n
        ends[parent] = tip
    add_bvh_skeleton(rb, joints, ends)  # world metres; the spec stores inches
    seg = dict(zip(ARM + LEG, ("Collar", "Shldr", "ForeArm", "Hand", "Thigh", "Shin", "Foot",
                               "Toe")))
    expect_limbs(rb, lambda side, j: side[0] + seg[j])
    for joint, bone in (("pelvis", "hip"), ("spine3", "chest"), ("neck", "neck"),
                        ("head", "head")):
        rb.expect(joint, bone)
    return rb.spec()


def blender_legacy_metarig() -> RigSpec:
    name = "blender_legacy_metarig"
    b = PosedBody(seed_of(name), 1.80, 15.0, elbow_bend=5.0)
    rb = RigBuilder(name, "blender_legacy_human_metarig", b, seed=seed_of(name),
                    notes="Blender 2.6x-2.77 'Human (Meta-Rig)' (legacy Rigify): hips (from the "
                          "pelvis up), spine, chest, neck, head; shoulder.L, upper_arm.L, "
                          "forearm.L, hand.L, palm.01-04.L, thumb.01-03.L, f_index/f_middle/"
                          "f_ring/f_pinky.01-03.L; thigh.L on hips, shin.L, foot.L, toe.L, "
                          "heel.L lying sideways under the ankle (on shin.L) with heel.02.L.")
    spine = ["hips", "spine", "chest", "neck", "head"]
    rb.chain(spine, "", [b.spine(t) for t in (0, 1, 2.3, 4, 5)] + [b.tip("head")])
    fname = {"thumb": "thumb", "index": "f_index", "middle": "f_middle", "ring": "f_ring",
             "pinky": "f_pinky"}
    for side, _, S in SIDES:
        x = "." + S
        hand = rb.chain([n + x for n in ("shoulder", "upper_arm", "forearm", "hand")], "chest",
                        [b[f"{side}_{j}"] for j in ARM] + [hand_end(b, side)])
        add_hand(rb, side, hand, lambda f, k: f"{fname[f]}.0{k}{x}",
                 metacarpal=lambda f: None if f == "thumb" else
                 f"palm.0{['index', 'middle', 'ring', 'pinky'].index(f) + 1}{x}")
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain([n + x for n in ("thigh", "shin", "foot", "toe")], "hips",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        sign = 1.0 if side == "left" else -1.0
        heel = b.local(f"{side}_ankle", (-0.035, 0.05, -0.07), side)
        rb.add("heel" + x, "shin" + x, heel, heel + [sign * 0.07, 0, 0])
        rb.add("heel.02" + x, "heel" + x, heel + [0, 0.01, 0], heel + [sign * 0.05, 0.01, 0])
    seg = dict(zip(ARM + LEG, ("shoulder", "upper_arm", "forearm", "hand", "thigh", "shin",
                               "foot", "toe")))
    expect_limbs(rb, lambda side, j: f"{seg[j]}.{side[0].upper()}")
    for joint, bone in (("pelvis", "hips"), ("spine3", "chest"), ("neck", "neck"),
                        ("head", "head")):
        rb.expect(joint, bone)
    return rb.spec()


SPECS = [godot_humanoid, armature_prefixed_fbx, ready_player_me, meta_ovr_fullbody,
         poser_figure_bvh, blender_legacy_metarig]
