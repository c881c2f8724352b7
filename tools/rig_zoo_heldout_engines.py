"""Held-out rig set (tools/rig_zoo_heldout.py), part 2: MikuMikuDance PMX (Japanese names, IK
and D bones), Source engine ValveBiped, Second Life Bento and Roblox R15.

Written from how those tools name and build their skeletons, independently of
backend/motion/bonemap.py and backend/motion/topology.py. numpy only.
"""
from __future__ import annotations

import numpy as np

from rig_zoo_character_rigs import FBX_IMPORT, SIDES, add_hand, foot_points, seed_of
from rig_zoo_geometry import RigBuilder, RigSpec
from rig_zoo_heldout_mocap import PosedBody, accept_also, expect_limbs

ARM = ("collar", "shoulder", "elbow", "wrist")
WIDE = "０１２３"  # MMD writes finger numbers with full-width digits


def _hand_end(b, side):
    return b.local(f"{side}_wrist", (0.09, 0, 0), side)


def mmd_pmx() -> RigSpec:
    name = "mmd_pmx"
    b = PosedBody(seed_of(name), 1.58, 37.0, elbow_bend=4.0)
    rb = RigBuilder(name, "mmd_pmx", b, pose="A", seed=seed_of(name),
                    notes="MikuMikuDance PMX model as mmd_tools imports it (Japanese names): "
                          "全ての親 at the origin, センター well below the hips with グルーブ and "
                          "腰 under it, 上半身/上半身2 up and 下半身 down from one spot, twist bones "
                          "腕捩/手捩 inside the arm chain, 足ＩＫ/つま先ＩＫ hanging from the root at "
                          "the ankles and toe tips, D bones (足D, ひざD, 足首D, 足先EX) doubling "
                          "the legs, twin tails down to the thighs and a skirt; A-pose.")
    h = b.height
    rb.add("全ての親", "", [0, 0, 0], [0, 0, 0.08 * h], deform=False)
    centre = np.array([0.0, b["pelvis"][1], 0.42 * h])
    rb.add("センター", "全ての親", centre, centre + [0, 0, -0.05], deform=False)
    rb.add("グルーブ", "センター", centre, centre + [0, 0, 0.05], deform=False)
    rb.add("腰", "グルーブ", b.spine(0.3) + [0, 0.02, 0], b.spine(0.75))
    rb.chain(["上半身", "上半身2", "首", "頭"], "腰",
             [b.spine(0.75), b.spine(2.0), b["neck"], b["head"], b.tip("head")])
    rb.add("下半身", "腰", b.spine(0.75), b["pelvis"] + [0, 0, -0.06])
    rb.add("両目", "頭", b.local("head", (0, -0.09, 0.12)), b.local("head", (0, -0.09, 0.16)),
           deform=False)
    for side, _, _ in SIDES:
        L = "左" if side == "left" else "右"
        rb.add(L + "目", "頭", b.local("head", (0.03, -0.08, 0.07), side),
               b.local("head", (0.03, -0.08, 0.11), side))
        rb.chain([f"髪{L}{k}" for k in range(1, 6)], "頭",
                 [b.local("head", (0.09, 0.03, 0.1), side) + [0, 0.02 * k, -0.17 * k * h / 1.6]
                  for k in range(6)])
        sh, el, wr = (b[f"{side}_{j}"] for j in ARM[1:])
        hand = rb.chain([L + n for n in ("肩", "腕", "腕捩", "ひじ", "手捩", "手首")], "上半身2",
                        [b[f"{side}_collar"], sh, (sh + el) / 2, el, (el + wr) / 2, wr,
                         _hand_end(b, side)])
        finger = {"thumb": "親指", "index": "人指", "middle": "中指", "ring": "薬指",
                  "pinky": "小指"}
        add_hand(rb, side, hand, lambda f, k: f"{L}{finger[f]}{WIDE[k - 1 if f == 'thumb' else k]}")
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain([L + "足", L + "ひざ", L + "足首", L + "つま先"], "下半身",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, tip, tip + [0, -0.02, -0.01]])
        rb.chain([L + "足D", L + "ひざD", L + "足首D", L + "足先EX"], "下半身",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        ik = rb.add(L + "足ＩＫ", "全ての親", ankle, ankle + [0, -0.08, 0], deform=False)
        rb.add(L + "つま先ＩＫ", ik, tip, tip + [0, 0, -0.05], deform=False)
        expect_limbs(rb, lambda s, j: None if s != side else
                     {"collar": L + "肩", "shoulder": L + "腕", "elbow": L + "ひじ",
                      "wrist": L + "手首", "hip": L + "足", "knee": L + "ひざ",
                      "ankle": L + "足首", "foot": L + "足先EX"}[j])
    for k, (dx, dy) in enumerate(((0, -1), (1, 0), (0, 1), (-1, 0))):
        rb.chain([f"スカート_{k}_{i}" for i in range(3)], "下半身",
                 [b["pelvis"] + [0.13 * dx, 0.11 * dy, -0.02 - 0.13 * i] for i in range(4)])
    for joint, bone in (("pelvis", "センター"), ("spine3", "上半身2"), ("neck", "首"),
                        ("head", "頭")):
        rb.expect(joint, bone)
    spec = accept_also(rb.spec(), "pelvis", "グルーブ", "腰")
    for L in "左右":
        side = "left" if L == "左" else "right"
        for joint, d_bone in (("hip", "足D"), ("knee", "ひざD"), ("ankle", "足首D")):
            spec = accept_also(spec, f"{side}_{joint}", L + d_bone)
    return spec


def valve_biped() -> RigSpec:
    name = "valve_biped"
    b = PosedBody(seed_of(name), 1.83, 10.0, elbow_bend=5.0)
    p = "ValveBiped.Bip01_"
    rb = RigBuilder(name, "source_valvebiped", b, rolls="random", seed=seed_of(name),
                    object_scale=0.0254,
                    notes="Source engine (Half-Life 2 / Garry's Mod) ValveBiped skeleton via "
                          "Blender Source Tools: Bip01_Pelvis is the root, Spine, Spine1, Spine2, "
                          "Spine4 (no Spine3), Neck1, Head1; procedural helper bones "
                          "(Trapezius, Shoulder, Bicep, Elbow, Ulna, Wrist) beside the arm "
                          "chain, some exactly on a joint; weapon_bone and Anim_Attachment "
                          "bones on the hands. Armature space in inches (Source units).")
    spine = [p + n for n in ("Pelvis", "Spine", "Spine1", "Spine2", "Spine4", "Neck1", "Head1")]
    rb.chain(spine, "", [b.spine(t) for t in (0, 0.55, 1.2, 2.0, 2.9, 4, 5)] + [b.tip("head")])
    digit = {"thumb": 0, "index": 1, "middle": 2, "ring": 3, "pinky": 4}
    for side, _, S in SIDES:
        q = f"{p}{S}_"
        sh, el, wr = (b[f"{side}_{j}"] for j in ARM[1:])
        hand = rb.chain([q + n for n in ("Clavicle", "UpperArm", "Forearm", "Hand")], p + "Spine4",
                        [b[f"{side}_{j}"] for j in ARM] + [_hand_end(b, side)])
        add_hand(rb, side, hand, lambda f, k: f"{q}Finger{digit[f]}{'' if k == 1 else k - 1}")
        trapezius = b.between(f"{side}_collar", f"{side}_shoulder", 0.4)
        rb.add(q + "Trapezius", q + "Clavicle", trapezius, trapezius + [0, 0, 0.05], deform=False)
        rb.add(q + "Shoulder", q + "Clavicle", sh, b.between(f"{side}_shoulder", f"{side}_elbow",
                                                            0.2), deform=False)
        rb.add(q + "Bicep", q + "UpperArm",
               (sh + el) / 2, (sh + el) / 2 + [0, -0.03, 0.02], deform=False)
        rb.add(q + "Elbow", q + "UpperArm", el, b.between(f"{side}_elbow", f"{side}_wrist", 0.15),
               deform=False)
        rb.add(q + "Ulna", q + "Forearm", (el + wr) / 2, b.between(f"{side}_elbow",
                                                                   f"{side}_wrist", 0.9),
               deform=False)
        rb.add(q + "Wrist", q + "Forearm", wr, b.local(f"{side}_wrist", (0.03, 0, 0), side),
               deform=False)
        rb.add(f"ValveBiped.Anim_Attachment_{S}H", hand,
               b.local(f"{side}_wrist", (0.06, -0.01, -0.03), side),
               b.local(f"{side}_wrist", (0.06, -0.06, -0.03), side), deform=False)
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain([q + n for n in ("Thigh", "Calf", "Foot", "Toe0")], p + "Pelvis",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
    rb.add("ValveBiped.weapon_bone", p + "R_Hand",
           b.local("right_wrist", (0.07, 0, -0.02), "right"),
           b.local("right_wrist", (0.07, -0.25, -0.02), "right"), deform=False)
    seg = {"collar": "Clavicle", "shoulder": "UpperArm", "elbow": "Forearm", "wrist": "Hand",
           "hip": "Thigh", "knee": "Calf", "ankle": "Foot", "foot": "Toe0"}
    expect_limbs(rb, lambda side, j: f"{p}{side[0].upper()}_{seg[j]}")
    for joint, bone in (("pelvis", "Pelvis"), ("spine3", "Spine4"), ("neck", "Neck1"),
                        ("head", "Head1")):
        rb.expect(joint, p + bone)
    return rb.spec()


def second_life_bento() -> RigSpec:
    name = "second_life_bento"
    b = PosedBody(seed_of(name), 1.85, 0.0, feet_out=5.0)
    rb = RigBuilder(name, "second_life", b, seed=seed_of(name),
                    notes="Second Life Bento skeleton (Avastar / Collada): mPelvis root; the "
                          "spine is folded as Bento ships it (mSpine1 at the torso pointing back "
                          "down to mSpine2 at the pelvis, mTorso, mSpine3 at the chest down to "
                          "mSpine4 at the torso, mChest), so four bones share two spots; "
                          "mHindLimb* legs 40 cm behind the real ones down to the floor, a "
                          "straight mTail1-6 backwards, mWing* from the chest, "
                          "mGroin, mFaceRoot; mAnkle/mFoot(ball)/mToe. Offsets of the extra "
                          "chains from the viewer's avatar_skeleton.xml (hind feet on the "
                          "floor, wings level, 45° back and out).")
    torso, chest = b.spine(1.3), b.spine(2.6)
    rb.add("mPelvis", "", b["pelvis"], b["pelvis"] + [0, 0, 0.08])
    rb.chain(["mSpine1", "mSpine2", "mTorso", "mSpine3", "mSpine4", "mChest", "mNeck", "mHead"],
             "mPelvis", [torso, b["pelvis"], torso, chest, torso, chest, b["neck"], b["head"],
                         b.tip("head")])
    rb.add("mSkull", "mHead", b["head"] + [0, 0, 0.079], b.tip("head"))
    rb.add("mFaceRoot", "mHead", b.local("head", (0, -0.05, 0.06)),
           b.local("head", (0, -0.1, 0.06)))
    rb.add("mFaceJaw", "mFaceRoot", b.local("head", (0, -0.02, 0.0)),
           b.local("head", (0, -0.09, -0.05)))
    rb.add("mFaceNoseBase", "mFaceRoot", b.local("head", (0, -0.1, 0.04)),
           b.local("head", (0, -0.12, 0.04)))
    rb.add("mGroin", "mPelvis", b["pelvis"] + [0, -0.06, -0.1], b["pelvis"] + [0, -0.07, -0.16])
    # Tail, hind limbs and wings from the Bento avatar_skeleton offsets (SL axes: X forward,
    # Y left -> Blender: -Y forward, +X left), metres for the default avatar (mPelvis 1.067 m
    # up), scaled with this body's pelvis height.
    sl = b["pelvis"][2] / 1.067
    tail = np.cumsum([b["pelvis"]] + [sl * np.array(o) for o in (
        [0, 0.116, 0.047], [0, 0.197, 0], [0, 0.168, 0], [0, 0.142, 0], [0, 0.112, 0],
        [0, 0.094, 0], [0, 0.05, 0])], axis=0)
    rb.chain([f"mTail{k}" for k in range(1, 7)], "mPelvis", list(tail[1:]))
    hind_root = b["pelvis"] + sl * np.array([0, 0.2, 0.084])
    rb.add("mHindLimbsRoot", "mPelvis", hind_root, hind_root + [0, 0, 0.08])
    rb.add("mWingsRoot", "mChest", chest + [0, sl * 0.014, 0], chest + [0, sl * 0.014, 0.08])
    for side, _, _ in SIDES:
        S, sign = side.capitalize(), (1.0 if side == "left" else -1.0)
        rb.add(f"mEye{S}", "mHead", b.local("head", (0.033, -0.08, 0.07), side),
               b.local("head", (0.033, -0.1, 0.07), side))
        hand = rb.chain([f"m{n}{S}" for n in ("Collar", "Shoulder", "Elbow", "Wrist")], "mChest",
                        [b[f"{side}_{j}"] for j in ARM] + [_hand_end(b, side)])
        name_of = {"thumb": "Thumb", "index": "Index", "middle": "Middle", "ring": "Ring",
                   "pinky": "Pinky"}
        add_hand(rb, side, hand, lambda f, k: f"mHand{name_of[f]}{k}{S}")
        ankle, _, ball, tip = foot_points(b, side)
        toe = rb.chain([f"m{n}{S}" for n in ("Hip", "Knee", "Ankle", "Foot")], "mPelvis",
                       [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        rb.add(f"mToe{S}", toe, tip, tip + [0, -0.02, 0])
        m = np.array([sign, 1.0, 1.0]) * sl
        hind = np.cumsum([hind_root, m * [0.129, 0.204, -0.125], m * [-0.046, -0.002, -0.491],
                          m * [-0.003, 0.030, -0.468], m * [0, -0.112, -0.061],
                          m * [0, -0.05, 0]], axis=0)
        rb.chain([f"mHindLimb{k}{S}" for k in range(1, 5)], "mHindLimbsRoot", list(hind[1:]))
        wing = np.cumsum([chest + [0, sl * 0.014, 0], m * [0.105, 0.099, 0.181],
                          m * [0.169, 0.168, 0.067], m * [0.183, 0.181, 0], m * [0.173, 0.171, 0],
                          m * [0.07, 0.07, 0]], axis=0)
        rb.chain([f"mWing{k}{S}" for k in range(1, 5)], "mWingsRoot", list(wing[1:]))
        rb.add(f"mWing4Fan{S}", f"mWing3{S}", wing[4], wing[4] + m * [0.05, 0.08, -0.04])
    expect_limbs(rb, lambda side, j: "m" + {"collar": "Collar", "shoulder": "Shoulder",
                                            "elbow": "Elbow", "wrist": "Wrist", "hip": "Hip",
                                            "knee": "Knee", "ankle": "Ankle",
                                            "foot": "Foot"}[j] + side.capitalize())
    for joint, bone in (("pelvis", "mPelvis"), ("spine3", "mChest"), ("neck", "mNeck"),
                        ("head", "mHead")):
        rb.expect(joint, bone)
    return rb.spec()


def roblox_r15() -> RigSpec:
    name = "roblox_r15"
    b = PosedBody(seed_of(name), 1.62, 50.0)
    rb = RigBuilder(name, "roblox_r15", b, pose="A", rolls="random", seed=seed_of(name),
                    object_rotation=FBX_IMPORT, object_scale=0.01,
                    notes="Roblox R15 (Rthro proportions) exported as FBX: HumanoidRootNode at "
                          "the root joint, LowerTorso, UpperTorso (includes the neck), Head, "
                          "Left/RightUpperArm, LowerArm, Hand, UpperLeg, LowerLeg, Foot - no "
                          "clavicles, neck or toe bones; accessory *Attachment bones (collar, "
                          "grip, hat, waist...). Arms hang 50° down. Armature space in cm.")
    rb.add("HumanoidRootNode", "", b["pelvis"], b["pelvis"] + [0, 0, 0.1], deform=False)
    rb.chain(["LowerTorso", "UpperTorso", "Head"], "HumanoidRootNode",
             [b["pelvis"], b.spine(1.0), b["head"], b.tip("head")])

    def attach(name_, parent, at, direction=(0, 0, 0.03)):
        rb.add(name_, parent, at, np.asarray(at) + direction, deform=False)

    attach("HairAttachment", "Head", b.tip("head"))
    attach("HatAttachment", "Head", b.tip("head") + [0, 0, -0.02])
    attach("FaceFrontAttachment", "Head", b.local("head", (0, -0.1, 0.08)), (0, -0.03, 0))
    attach("NeckAttachment", "UpperTorso", b["neck"])
    attach("BodyFrontAttachment", "UpperTorso", b.local("spine3", (0, -0.12, 0)), (0, -0.03, 0))
    attach("BodyBackAttachment", "UpperTorso", b.local("spine3", (0, 0.1, 0)), (0, 0.03, 0))
    for at, k in (("Center", 0.0), ("Front", -0.11), ("Back", 0.1)):
        attach(f"Waist{at}Attachment", "LowerTorso", b["pelvis"] + [0, k, 0.02])
    for side, _, _ in SIDES:
        S = side.capitalize()
        hand = rb.chain([S + n for n in ("UpperArm", "LowerArm", "Hand")], "UpperTorso",
                        [b[f"{side}_{j}"] for j in ARM[1:]] + [_hand_end(b, side)])
        attach(f"{S}CollarAttachment", "UpperTorso", b[f"{side}_collar"] + [0, 0, 0.06])
        attach(f"{S}ShoulderAttachment", S + "UpperArm", b[f"{side}_shoulder"] + [0, 0, 0.06])
        attach(f"{S}GripAttachment", hand, b.local(f"{side}_wrist", (0.05, 0, -0.03), side),
               (0, -0.03, 0))
        ankle, _, _, tip = foot_points(b, side)
        foot = rb.chain([S + n for n in ("UpperLeg", "LowerLeg", "Foot")], "LowerTorso",
                        [b[f"{side}_hip"], b[f"{side}_knee"], ankle, tip])
        attach(f"{S}FootAttachment", foot, b[f"{side}_ankle"] * [1, 1, 0] + [0, 0, 0.005])
    expect_limbs(rb, lambda side, j: None if j in ("collar", "foot") else side.capitalize() + {
        "shoulder": "UpperArm", "elbow": "LowerArm", "wrist": "Hand", "hip": "UpperLeg",
        "knee": "LowerLeg", "ankle": "Foot"}[j])
    for joint, bone in (("pelvis", "HumanoidRootNode"), ("spine3", "UpperTorso"),
                        ("head", "Head")):
        rb.expect(joint, bone)
    return accept_also(rb.spec(), "pelvis", "LowerTorso")


SPECS = [mmd_pmx, valve_biped, second_life_bento, roblox_r15]
