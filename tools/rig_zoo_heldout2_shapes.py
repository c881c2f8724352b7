"""Second held-out rig set (tools/rig_zoo_heldout2.py), part 2: rigs that differ in shape,
rest pose and clutter rather than in naming tool: a VRChat avatar as the CATS plugin leaves it
(joint-named bones, many hair / skirt / breast chains), a toon with three fingers, long ears
and a tail, a child-proportioned Maya rig (_JNT names, big head), a very tall thin rig with
arms 60° down and bent elbows whose IK / pole / mechanism bones sit exactly on the joints,
and a German-named rig with a sword prop as a second root beside the body.

Written without reading backend/motion/bonemap.py, bonenames.py, topology.py or
docs/retargeting.md. numpy only; world space is Blender's (Z up, faces -Y, left is +X).
"""
from __future__ import annotations

import numpy as np

from rig_zoo_character_rigs import FBX_IMPORT, SIDES, add_hand, foot_points, seed_of
from rig_zoo_geometry import Body, RigBuilder, RigSpec
from rig_zoo_heldout2_engines import ARM, LEG, hand_end
from rig_zoo_heldout_mocap import PosedBody, expect_limbs

from backend.motion.skeleton import CANONICAL, CANONICAL_NAMES

_J = {n: i for i, n in enumerate(CANONICAL_NAMES)}


def reproportion(b: Body, factors: dict, height: float) -> Body:
    """Scale the subtree below each canonical joint in `factors` ({joint: k}) about that
    joint (directions and rest rotations kept), then stand the body on Z=0 again and scale it
    to `height` metres. Changes `b` in place and returns it."""
    for joint, k in factors.items():
        j = _J[joint]
        centre = b.pos[j].copy()
        for i, name in enumerate(CANONICAL_NAMES):
            a = i
            while a != -1 and a != j:
                a = int(CANONICAL.parents[a])
            if a != j:
                continue
            if i != j:
                b.pos[i] = centre + (b.pos[i] - centre) * k
            b.leaf[i] = centre + (b.leaf[i] - centre) * k
            b.scale[name] *= k
    drop = b.pos[[_J["left_foot"], _J["right_foot"]], 2].min() - 0.007
    b.pos[:, 2] -= drop
    b.leaf[:, 2] -= drop
    s = height / b.leaf[_J["head"], 2]
    b.pos *= s
    b.leaf *= s
    b.scale = {n: v * s for n, v in b.scale.items()}
    b.height = float(height)
    return b


def cats_vrchat_avatar() -> RigSpec:
    name = "cats_vrchat_avatar"
    b = PosedBody(seed_of(name), 1.52, 35.0, elbow_bend=5.0)
    rb = RigBuilder(name, "cats_vrchat", b, pose="A", seed=seed_of(name),
                    notes="An anime VRChat avatar after the CATS plugin's 'Fix Model': Hips, "
                          "Spine, Chest, Neck, Head, Eye_L/R; 'Left shoulder', 'Left arm', "
                          "'Left elbow' (the forearm), 'Left wrist', Thumb0_L..2_L, "
                          "IndexFinger1_L..3_L, ..., LittleFinger1_L..3_L; 'Left leg', 'Left "
                          "knee' (the shin), 'Left ankle', 'Left toe'; plus five hair chains "
                          "(twin tails down to the thighs), eight three-bone skirt chains from "
                          "the hips to the knees, Breast_L/R, a head ribbon and sleeve ribbons. "
                          "A-pose 35°.")
    spine = ["Hips", "Spine", "Chest", "Neck", "Head"]
    rb.chain(spine, "", [b.spine(t) for t in (0, 1.2, 2.4, 4, 5)] + [b.tip("head")])
    h = b.height
    for k, (x, y) in enumerate(((0, -0.09), (0.05, -0.08), (-0.05, -0.08))):
        start = b.local("head", (x, y, 0.14))
        rb.chain([f"Hair_Front_{k}_{i}" for i in (1, 2, 3)], "Head",
                 [start + [0, -0.01 * i, -0.04 * i] for i in range(4)])
    rb.add("Ribbon", "Head", b.local("head", (0.05, 0.04, 0.17)),
           b.local("head", (0.12, 0.06, 0.2)))
    for side, _, S in SIDES:
        x, word = "_" + S, side.capitalize()
        rb.add("Eye" + x, "Head", b.local("head", (0.03, -0.08, 0.07), side),
               b.local("head", (0.03, -0.08, 0.1), side))
        rb.chain([f"TwinTail{x}_{i}" for i in range(1, 7)], "Head",
                 [b.local("head", (0.1, 0.05, 0.12), side) + [0, 0.015 * i, -0.09 * i * h / 1.5]
                  for i in range(7)])
        rb.add("Breast" + x, "Chest", b.local("spine3", (0.08, -0.07, 0.08), side),
               b.local("spine3", (0.09, -0.14, 0.06), side))
        hand = rb.chain([f"{word} {n}" for n in ("shoulder", "arm", "elbow", "wrist")], "Chest",
                        [b[f"{side}_{j}"] for j in ARM] + [hand_end(b, side)])
        el = b.between(f"{side}_elbow", f"{side}_wrist", 0.6)
        rb.chain([f"Sleeve{x}_{i}" for i in (1, 2)], f"{word} elbow",
                 [el + [0, 0.03, -0.02], el + [0, 0.05, -0.08], el + [0, 0.06, -0.14]])
        fname = {"thumb": "Thumb", "index": "IndexFinger", "middle": "MiddleFinger",
                 "ring": "RingFinger", "pinky": "LittleFinger"}
        add_hand(rb, side, hand, lambda f, k: f"{fname[f]}{k - 1 if f == 'thumb' else k}{x}")
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain([f"{word} {n}" for n in ("leg", "knee", "ankle", "toe")], "Hips",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
    for k in range(8):  # skirt: eight chains round the hips down to the knees
        a = 2 * np.pi * k / 8
        ring = np.array([np.sin(a), -np.cos(a), 0.0])
        top = b["pelvis"] + ring * 0.13 * h / 1.5 + [0, 0, 0.03]
        knee_z = b["left_knee"][2] + 0.05
        pts = [top + ring * 0.04 * i + [0, 0, (knee_z - top[2]) * i / 3] for i in range(4)]
        rb.chain([f"Skirt_{k}_{i}" for i in (1, 2, 3)], "Hips", pts)
    seg = dict(zip(ARM + LEG, ("shoulder", "arm", "elbow", "wrist", "leg", "knee", "ankle",
                               "toe")))
    expect_limbs(rb, lambda side, j: f"{side.capitalize()} {seg[j]}")
    for joint, bone in (("pelvis", "Hips"), ("spine3", "Chest"), ("neck", "Neck"),
                        ("head", "Head")):
        rb.expect(joint, bone)
    return rb.spec()


def toon_three_fingers() -> RigSpec:
    name = "toon_three_fingers"
    b = reproportion(PosedBody(seed_of(name), 1.3, 22.0, elbow_bend=6.0, knee_bend=4.0),
                     {"head": 1.3, "left_shoulder": 0.9, "right_shoulder": 0.9}, 1.2)
    rb = RigBuilder(name, "toon_three_fingers", b, pose="A", seed=seed_of(name),
                    notes="A cartoon animal rigged by hand in Blender: root, hips, spine_01, "
                          "spine_02, neck, head, jaw; ear_01-04.L/R standing 35 cm above the "
                          "head; tail_01-08 from the pelvis curling down to the floor behind "
                          "the heels; clavicle, upperarm, forearm, hand with a two-bone thumb "
                          "and two three-bone fingers (finger_a, finger_b); thigh, calf, foot, "
                          "toe; big head, short arms, arms 22° down.")
    rb.add("root", "", [0, 0, 0], [0, 0.15, 0], deform=False)
    spine = ["hips", "spine_01", "spine_02", "neck", "head"]
    rb.chain(spine, "root", [b.spine(t) for t in (0, 1, 2.2, 4, 5)] + [b.tip("head")])
    rb.add("jaw", "head", b.local("head", (0, -0.02, 0.0)), b.local("head", (0, -0.09, -0.05)))
    top = b.tip("head")[2]
    for side, _, S in SIDES:
        x = "." + S
        base = b.local("head", (0.06, 0.01, 0.13), side)
        sign = 1 if side == "left" else -1
        rb.chain([f"ear_0{i}{x}" for i in range(1, 5)], "head",
                 [base + [sign * 0.02 * i, 0.01 * i, (top + 0.35 - base[2]) * i / 4]
                  for i in range(5)])
        hand = rb.chain([n + x for n in ("clavicle", "upperarm", "forearm", "hand")],
                        "spine_02", [b[f"{side}_{j}"] for j in ARM] + [hand_end(b, side)])
        thumb = b.finger(side, "thumb", 3)
        rb.chain([f"thumb_0{i}{x}" for i in (1, 2)], hand, thumb)
        for tag, finger in (("a", "index"), ("b", "ring")):
            rb.chain([f"finger_{tag}_0{i}{x}" for i in (1, 2, 3)], hand,
                     b.finger(side, finger, 4))
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain([n + x for n in ("thigh", "calf", "foot", "toe")], "hips",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
    start = b.local("pelvis", (0, 0.1, -0.03))
    heel_y = b["left_ankle"][1] + 0.25
    pts = [start + [0, (heel_y - start[1]) * i / 8 + 0.02 * i, -(start[2] - 0.03) *
                    np.sin(np.pi / 2 * i / 8)] for i in range(9)]
    rb.chain([f"tail_0{i}" for i in range(1, 9)], "hips", pts)
    seg = dict(zip(ARM + LEG, ("clavicle", "upperarm", "forearm", "hand", "thigh", "calf",
                               "foot", "toe")))
    expect_limbs(rb, lambda side, j: f"{seg[j]}.{side[0].upper()}")
    for joint, bone in (("pelvis", "hips"), ("spine3", "spine_02"), ("neck", "neck"),
                        ("head", "head")):
        rb.expect(joint, bone)
    return rb.spec()


def maya_child_jnt() -> RigSpec:
    name = "maya_child_jnt"
    b = reproportion(PosedBody(seed_of(name), 1.2, 0.0),
                     {"head": 2.0, "neck": 0.8, "left_hip": 0.78, "right_hip": 0.78,
                      "left_shoulder": 0.85, "right_shoulder": 0.85}, 1.05)
    rb = RigBuilder(name, "maya_jnt_suffix", b, orient="fbx_x", seed=seed_of(name),
                    object_rotation=FBX_IMPORT, object_scale=0.01,
                    notes="A child (about 4.5 heads tall, 1.05 m) rigged in Maya with the "
                          "common side_name_JNT convention: C_root_JNT at the origin, "
                          "C_pelvis_JNT, C_spine_01..03_JNT, C_neck_01_JNT, C_head_JNT, "
                          "C_head_END; L_clavicle_JNT, L_shoulder_JNT (upper arm), L_elbow_JNT, "
                          "L_wrist_JNT, L_thumb/index/middle/ring/pinky_01..03_JNT; L_hip_JNT, "
                          "L_knee_JNT, L_ankle_JNT, L_ball_JNT, L_toe_END. Joints orient X down "
                          "the bone; FBX in cm.")
    rb.add("C_root_JNT", "", [0, 0, 0], [0, 0, 0.08], deform=False)
    spine = ["C_pelvis_JNT", "C_spine_01_JNT", "C_spine_02_JNT", "C_spine_03_JNT",
             "C_neck_01_JNT", "C_head_JNT"]
    rb.chain(spine, "C_root_JNT", [b.spine(t) for t in range(6)] + [b.tip("head")])
    top = b.tip("head")
    rb.add("C_head_END", "C_head_JNT", top, top + [0, 0, 0.02], deform=False)
    rb.add("C_jaw_JNT", "C_head_JNT", b.local("head", (0, -0.02, 0)),
           b.local("head", (0, -0.09, -0.05)))
    for side, _, S in SIDES:
        s = S + "_"
        hand = rb.chain([f"{s}{n}_JNT" for n in ("clavicle", "shoulder", "elbow", "wrist")],
                        "C_spine_03_JNT", [b[f"{side}_{j}"] for j in ARM] + [hand_end(b, side)])
        add_hand(rb, side, hand, lambda f, k: f"{s}{f}_0{k}_JNT")
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain([f"{s}{n}_JNT" for n in ("hip", "knee", "ankle", "ball")], "C_pelvis_JNT",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        rb.add(f"{s}toe_END", f"{s}ball_JNT", tip, tip + [0, -0.01, 0], deform=False)
    seg = dict(zip(ARM + LEG, ("clavicle", "shoulder", "elbow", "wrist", "hip", "knee",
                               "ankle", "ball")))
    expect_limbs(rb, lambda side, j: f"{side[0].upper()}_{seg[j]}_JNT")
    for joint, bone in zip(("pelvis", "spine1", "spine2", "spine3", "neck", "head"), spine):
        rb.expect(joint, bone)
    return rb.spec()


def tall_ik_controls() -> RigSpec:
    name = "tall_ik_controls"
    b = reproportion(PosedBody(seed_of(name), 2.0, 60.0, elbow_bend=20.0),
                     {"left_hip": 1.15, "right_hip": 1.15, "left_shoulder": 1.1,
                      "right_shoulder": 1.1}, 2.1)
    rb = RigBuilder(name, "def_ik_pole_prefixes", b, pose="A", seed=seed_of(name),
                    notes="A very tall thin creature (2.1 m, long legs and arms) rigged by hand "
                          "with DEF_/IK_/POLE_/MCH_/CTRL_ prefixes and _L/_R suffixes; arms 60° "
                          "down with elbows bent 20° in rest. Non-deforming controls under "
                          "CTRL_root sit exactly on the joints: IK_hand at the wrist, "
                          "POLE_elbow at the elbow, IK_foot at the ankle, POLE_knee at the "
                          "knee, CTRL_torso at the pelvis, and a MCH_ IK leg chain duplicating "
                          "the thigh and shin.")
    rb.add("CTRL_root", "", [0, 0, 0], [0, 0.3, 0], deform=False)
    spine = ["DEF_pelvis", "DEF_spine_1", "DEF_spine_2", "DEF_spine_3", "DEF_neck", "DEF_head"]
    rb.chain(spine, "CTRL_root", [b.spine(t) for t in range(6)] + [b.tip("head")])
    rb.add("CTRL_torso", "CTRL_root", b["pelvis"], b["pelvis"] + [0, 0.25, 0], deform=False)
    for side, _, S in SIDES:
        x = "_" + S
        hand = rb.chain([f"DEF_{n}{x}" for n in ("clavicle", "upperarm", "forearm", "hand")],
                        "DEF_spine_3", [b[f"{side}_{j}"] for j in ARM] + [hand_end(b, side)])
        add_hand(rb, side, hand, lambda f, k: f"DEF_{f}_{k}{x}")
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain([f"DEF_{n}{x}" for n in ("thigh", "shin", "foot", "toe")], "DEF_pelvis",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        rb.add("IK_hand" + x, "CTRL_root", b[f"{side}_wrist"], hand_end(b, side), False)
        rb.add("POLE_elbow" + x, "CTRL_root", b[f"{side}_elbow"],
               b[f"{side}_elbow"] + [0, 0.2, 0], False)
        rb.add("IK_foot" + x, "CTRL_root", ankle, ball, False)
        rb.add("POLE_knee" + x, "CTRL_root", b[f"{side}_knee"],
               b[f"{side}_knee"] + [0, -0.2, 0], False)
        rb.chain([f"MCH_thigh_ik{x}", f"MCH_shin_ik{x}"], "CTRL_root",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle], deform=False)
    seg = dict(zip(ARM + LEG, ("clavicle", "upperarm", "forearm", "hand", "thigh", "shin",
                               "foot", "toe")))
    expect_limbs(rb, lambda side, j: f"DEF_{seg[j]}_{side[0].upper()}")
    for joint, bone in zip(("pelvis", "spine1", "spine2", "spine3", "neck", "head"), spine):
        rb.expect(joint, bone)
    return rb.spec()


def german_sword_two_roots() -> RigSpec:
    name = "german_sword_two_roots"
    b = PosedBody(seed_of(name), 1.83, 5.0, knee_bend=5.0, feet_out=10.0)
    rb = RigBuilder(name, "german_names_prop_root", b, seed=seed_of(name),
                    notes="A hobbyist rig with German bone names (Becken, Wirbelsäule, Brust, "
                          "Hals, Kopf, Schulter.L, Oberarm.L, Unterarm.L, Hand.L, Daumen/"
                          "Zeigefinger/Mittelfinger/Ringfinger/Kleiner_Finger.01-03.L, "
                          "Oberschenkel.L, Unterschenkel.L, Fuß.L, Zehen.L) and a second root "
                          "beside the body: a sword on its stand (Schwert_Wurzel, Schwert_Griff, "
                          "Schwert_Klinge, 1.1 m upright, 60 cm to the character's right). "
                          "Knees bent 5°, feet out.")
    spine = ["Becken", "Wirbelsäule", "Brust", "Hals", "Kopf"]
    rb.chain(spine, "", [b.spine(t) for t in (0, 1.1, 2.4, 4, 5)] + [b.tip("head")])
    fname = {"thumb": "Daumen", "index": "Zeigefinger", "middle": "Mittelfinger",
             "ring": "Ringfinger", "pinky": "Kleiner_Finger"}
    for side, _, S in SIDES:
        x = "." + S
        hand = rb.chain([n + x for n in ("Schulter", "Oberarm", "Unterarm", "Hand")], "Brust",
                        [b[f"{side}_{j}"] for j in ARM] + [hand_end(b, side)])
        add_hand(rb, side, hand, lambda f, k: f"{fname[f]}.0{k}{x}")
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain([n + x for n in ("Oberschenkel", "Unterschenkel", "Fuß", "Zehen")], "Becken",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
    stand = np.array([b["right_hip"][0] - 0.6, b["pelvis"][1], 0.0])
    rb.chain(["Schwert_Wurzel", "Schwert_Griff", "Schwert_Klinge"], "",
             [stand, stand + [0, 0, 0.1], stand + [0, 0, 0.3], stand + [0, 0, 1.1]])
    seg = dict(zip(ARM + LEG, ("Schulter", "Oberarm", "Unterarm", "Hand", "Oberschenkel",
                               "Unterschenkel", "Fuß", "Zehen")))
    expect_limbs(rb, lambda side, j: f"{seg[j]}.{side[0].upper()}")
    for joint, bone in (("pelvis", "Becken"), ("spine3", "Brust"), ("neck", "Hals"),
                        ("head", "Kopf")):
        rb.expect(joint, bone)
    return rb.spec()


SPECS = [cats_vrchat_avatar, toon_three_fingers, maya_child_jnt, tall_ik_controls,
         german_sword_two_roots]
