"""Rig zoo, DCC / game-engine conventions: 3ds Max Biped (standard and triangle pelvis), CAT,
Mixamo (FBX import), Unreal 4 mannequin and Unreal 5 Manny. numpy only."""
from __future__ import annotations

import numpy as np

from rig_zoo_character_rigs import FBX_IMPORT, SIDES, add_hand, foot_points, seed_of
from rig_zoo_geometry import Body, RigBuilder, RigSpec


def _biped(name: str, root: str, height: float, triangle_pelvis: bool, spine_links: int,
           scale: float) -> RigSpec:
    b = Body(seed_of(name), height, 0.0)
    layout = ("triangle pelvis: thighs under the lowest spine link" if triangle_pelvis
              else "thighs under the Pelvis")
    rb = RigBuilder(name, "3dsmax_biped", b, orient="fbx_x", seed=seed_of(name),
                    object_rotation=FBX_IMPORT, object_scale=scale,
                    notes=f"3ds Max Biped via FBX without Automatic Bone Orientation: every node "
                          f"has X along the limb, so Blender tails point along the node's Y, "
                          f"not at the child. COM root '{root}', clavicles under the Neck, "
                          f"{layout}; Nub leaf bones, Footsteps, twist links. "
                          f"Armature space in 1/{1 / scale:.4g} m.")
    p = root + " "
    up = np.array([0, 0, 0.1])
    rb.add(root, "", b["pelvis"], b["pelvis"] + [0, -0.1, 0])
    rb.add(p + "Footsteps", root, [0, 0, 0], [0, -0.1, 0], deform=False)
    rb.add(p + "Pelvis", root, b["pelvis"], b["pelvis"] + up)
    ts = np.linspace(0.6, 3.0, spine_links) if spine_links != 3 else [1.0, 2.0, 3.0]
    spines = [p + "Spine" + (str(i) if i else "") for i in range(spine_links)]
    top = rb.chain(spines + [p + "Neck", p + "Head"], p + "Pelvis",
                   [b.spine(t) for t in ts] + [b["neck"], b["head"], b.tip("head")])
    rb.add(p + "HeadNub", top, b.tip("head"), b.tip("head") + up * 0.5, deform=False)
    for side, _, S in SIDES:
        q = f"{p}{S} "
        hand = rb.chain([q + "Clavicle", q + "UpperArm", q + "Forearm", q + "Hand"], p + "Neck",
                        [b[f"{side}_{j}"] for j in ("collar", "shoulder", "elbow", "wrist")]
                        + [b.local(f"{side}_wrist", (0.09, 0, 0), side)])
        rb.add(f"{p}{S}UpArmTwist", q + "UpperArm",
               b.between(f"{side}_shoulder", f"{side}_elbow", 0.5), b[f"{side}_elbow"])
        rb.add(q + "ForeTwist", q + "Forearm", b.between(f"{side}_elbow", f"{side}_wrist", 0.5),
               b[f"{side}_wrist"])
        index = {"thumb": "0", "index": "1", "middle": "2", "ring": "3", "pinky": "4"}
        add_hand(rb, side, hand, lambda f, k: f"{q}Finger{index[f]}{'' if k == 1 else k - 1}",
                 end=lambda f: f"{q}Finger{index[f]}Nub")
        ankle, _, ball, tip = foot_points(b, side)
        toe = rb.chain([q + "Thigh", q + "Calf", q + "Foot", q + "Toe0"],
                       spines[0] if triangle_pelvis else p + "Pelvis",
                       [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        rb.add(q + "Toe0Nub", toe, tip, tip + [0, -0.01, 0], deform=False)
        for joint, bone in (("collar", "Clavicle"), ("shoulder", "UpperArm"),
                            ("elbow", "Forearm"), ("wrist", "Hand"), ("hip", "Thigh"),
                            ("knee", "Calf"), ("ankle", "Foot"), ("foot", "Toe0")):
            rb.expect(f"{side}_{joint}", q + bone)
    rb.expect("pelvis", p + "Pelvis")
    if spine_links == 3:
        rb.expect("spine1", spines[0])
        rb.expect("spine2", spines[1])
    for joint, bone in (("spine3", spines[-1]), ("neck", p + "Neck"), ("head", p + "Head")):
        rb.expect(joint, bone)
    return rb.spec(extra_must_move=[p + "Pelvis"])


def biped_standard() -> RigSpec:
    return _biped("biped_standard", "Bip01", 1.80, False, 4, 0.0254)


def biped_triangle_pelvis() -> RigSpec:
    return _biped("biped_triangle_pelvis", "Bip001", 1.71, True, 3, 0.01)


def cat_base_human() -> RigSpec:
    name = "cat_base_human"
    b = Body(seed_of(name), 1.86, 0.0)
    rb = RigBuilder(name, "3dsmax_cat", b, orient="world_x", seed=seed_of(name),
                    object_rotation=FBX_IMPORT, object_scale=0.01,
                    notes="3ds Max CAT 'Base Human' via FBX: every bone's tail along world X; "
                          "the IK platforms are extra roots at the feet; clavicles and neck on "
                          "the Ribcage. Armature space in cm.")
    p = "Base Human"
    rb.add(p + "Pelvis", "", b["pelvis"], b["pelvis"] + [0, 0, 0.1])
    rb.chain([p + "Spine1", p + "Spine2", p + "Ribcage", p + "NeckLink1", p + "NeckLink2",
              p + "Head"], p + "Pelvis",
             [b.spine(t) for t in (1, 2, 3, 4, 4.5, 5)] + [b.tip("head")])
    for side, _, S in SIDES:
        q = f"{p}{S}"
        rb.add(q + "LegPlatform", "", b.local(f"{side}_ankle", (0, -0.03, -0.07), side),
               b.local(f"{side}_ankle", (0, -0.15, -0.07), side), deform=False)
        hand = rb.chain([q + "ArmCollarbone", q + "Arm1", q + "Arm2", q + "ArmPalm"],
                        p + "Ribcage",
                        [b[f"{side}_{j}"] for j in ("collar", "shoulder", "elbow", "wrist")]
                        + [b.local(f"{side}_wrist", (0.09, 0, 0), side)])
        rb.add(q + "Arm2Twist1", q + "Arm2", b.between(f"{side}_elbow", f"{side}_wrist", 0.5),
               b[f"{side}_wrist"])
        digit = {"thumb": 1, "index": 2, "middle": 3, "ring": 4, "pinky": 5}
        add_hand(rb, side, hand, lambda f, k: f"{q}ArmDigit{digit[f]}{k}")
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain([q + "Leg1", q + "Leg2", q + "LegAnkle", q + "LegDigit11"], p + "Pelvis",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        for joint, bone in (("collar", "ArmCollarbone"), ("shoulder", "Arm1"),
                            ("elbow", "Arm2"), ("wrist", "ArmPalm"), ("hip", "Leg1"),
                            ("knee", "Leg2"), ("ankle", "LegAnkle"), ("foot", "LegDigit11")):
            rb.expect(f"{side}_{joint}", q + bone)
    for joint, bone in (("pelvis", "Pelvis"), ("spine1", "Spine1"), ("spine2", "Spine2"),
                        ("spine3", "Ribcage"), ("neck", "NeckLink1"), ("head", "Head")):
        rb.expect(joint, p + bone)
    return rb.spec()


def mixamo_fbx() -> RigSpec:
    name = "mixamo_fbx"
    b = Body(seed_of(name), 1.78, 0.0)
    rb = RigBuilder(name, "mixamo", b, rolls="random", seed=seed_of(name),
                    object_rotation=FBX_IMPORT, object_scale=0.01,
                    notes="Mixamo character FBX imported into Blender: object rotated 90° about "
                          "X, scale 0.01, armature space in cm; mixamorig: prefix; _End / 4 "
                          "leaf bones.")
    p = "mixamorig:"
    spine = [p + n for n in ("Hips", "Spine", "Spine1", "Spine2", "Neck", "Head")]
    head = rb.chain(spine, "", [b.spine(t) for t in range(6)] + [b.tip("head")])
    rb.add(p + "HeadTop_End", head, b.tip("head"), b.tip("head") + [0, 0, 0.05], deform=False)
    for side, _, _ in SIDES:
        q = p + side.capitalize()
        rb.add(q + "Eye", head, b.local("head", (0.032, -0.08, 0.07), side),
               b.local("head", (0.032, -0.1, 0.07), side))
        hand = rb.chain([q + "Shoulder", q + "Arm", q + "ForeArm", q + "Hand"], p + "Spine2",
                        [b[f"{side}_{j}"] for j in ("collar", "shoulder", "elbow", "wrist")]
                        + [b.local(f"{side}_wrist", (0.09, 0, 0), side)])
        add_hand(rb, side, hand, lambda f, k: f"{q}Hand{f.capitalize()}{k}",
                 end=lambda f: f"{q}Hand{f.capitalize()}4")
        ankle, _, ball, tip = foot_points(b, side)
        toe = rb.chain([q + "UpLeg", q + "Leg", q + "Foot", q + "ToeBase"], p + "Hips",
                       [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        rb.add(q + "Toe_End", toe, tip, tip + [0, -0.02, 0], deform=False)
        for joint, bone in (("collar", "Shoulder"), ("shoulder", "Arm"), ("elbow", "ForeArm"),
                            ("wrist", "Hand"), ("hip", "UpLeg"), ("knee", "Leg"),
                            ("ankle", "Foot"), ("foot", "ToeBase")):
            rb.expect(f"{side}_{joint}", q + bone)
    for joint, bone in zip(("pelvis", "spine1", "spine2", "spine3", "neck", "head"), spine):
        rb.expect(joint, bone)
    return rb.spec()


def _unreal(name: str, ue5: bool) -> RigSpec:
    b = Body(seed_of(name), 1.80 if ue5 else 1.83, 45.0 if ue5 else 38.0, 10.0 if ue5 else 4.0)
    kw = (dict(rolls="random") if ue5 else
          dict(orient="fbx_x", object_rotation=FBX_IMPORT, object_scale=0.01))
    rb = RigBuilder(name, "unreal5" if ue5 else "unreal4", b, pose="A", seed=seed_of(name),
                    notes=("UE5 Manny: five spine bones, two neck bones, two twist bones per "
                           "segment, metacarpals, corrective bones, ik_* bones and "
                           "center_of_mass/interaction under root; head bone points forward."
                           if ue5 else
                           "UE4 mannequin FBX (X along the bone, so Blender tails point along "
                           "the node's Y); ik_foot_* and ik_hand_* bones sit exactly on the "
                           "feet and hands but hang from root. Armature space in cm."),
                    **kw)
    rb.add("root", "", [0, 0, 0], [0, -0.1 if ue5 else 0.1, 0])
    spines = [f"spine_0{i}" for i in range(1, 6 if ue5 else 4)]
    necks = ["neck_01", "neck_02"] if ue5 else ["neck_01"]
    # Unreal's spine sits higher than SMPL's: spine_01 well above the pelvis.
    ts = (1.2, 1.9, 2.6, 3.2, 3.7) if ue5 else (1.5, 2.6, 3.3)
    rb.add("pelvis", "root", b["pelvis"], b.spine(0.4))
    rb.chain(spines + necks, "pelvis", [b.spine(t) for t in ts] + [b.spine(t) for t in
                                                                     (4, 4.5)[:len(necks)]]
             + [b["head"]])
    head_tail = b.local("head", (0, -0.12, 0.02)) if ue5 else b.tip("head")
    rb.add("head", necks[-1], b["head"], head_tail)
    if ue5:
        rb.add("center_of_mass", "root", b["pelvis"], b["pelvis"] + [0, -0.1, 0], False)
        rb.add("interaction", "root", [0, 0, 0], [0, -0.1, 0], deform=False)
    rb.add("ik_foot_root", "root", [0, 0, 0], [0, 0, 0.1], deform=False)
    rb.add("ik_hand_root", "root", [0, 0, 0], [0, 0, 0.1], deform=False)
    rb.add("ik_hand_gun", "ik_hand_root", b["right_wrist"], b.local("right_wrist", (0.09, 0, 0),
                                                                   "right"), deform=False)
    for side, s, _ in SIDES:
        w = f"_{s}"
        rb.add("ik_foot" + w, "ik_foot_root", b[f"{side}_ankle"], b[f"{side}_foot"], False)
        rb.add("ik_hand" + w, "ik_hand_gun", b[f"{side}_wrist"],
               b.local(f"{side}_wrist", (0.09, 0, 0), side), False)
        hand = rb.chain(["clavicle" + w, "upperarm" + w, "lowerarm" + w, "hand" + w],
                        spines[-1],
                        [b[f"{side}_{j}"] for j in ("collar", "shoulder", "elbow", "wrist")]
                        + [b.local(f"{side}_wrist", (0.09, 0, 0), side)])
        add_hand(rb, side, hand, lambda f, k: f"{f}_0{k}{w}",
                 metacarpal=(lambda f: None if f == "thumb" else f"{f}_metacarpal{w}")
                 if ue5 else None)
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain(["thigh" + w, "calf" + w, "foot" + w, "ball" + w], "pelvis",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        twists = (1, 2) if ue5 else (1,)
        for seg, a, c in (("upperarm", "shoulder", "elbow"), ("lowerarm", "elbow", "wrist"),
                          ("thigh", "hip", "knee"), ("calf", "knee", "ankle")):
            for k in twists:
                u = (k - 0.5) / len(twists)
                rb.add(f"{seg}_twist_0{k}{w}", seg + w, b.between(f"{side}_{a}", f"{side}_{c}", u),
                       b.between(f"{side}_{a}", f"{side}_{c}", u + 0.4 / len(twists)))
        if ue5:
            rb.add("clavicle_pec" + w, spines[-1], b.local("spine3", (0.1, -0.09, 0.15), side),
                   b.local("spine3", (0.1, -0.15, 0.12), side))
            rb.add("clavicle_out" + w, "clavicle" + w,
                   b.between(f"{side}_collar", f"{side}_shoulder", 0.8),
                   b.between(f"{side}_collar", f"{side}_shoulder", 0.8) + [0, 0, 0.05])
            rb.add("clavicle_scap" + w, "clavicle" + w,
                   b.between(f"{side}_collar", f"{side}_shoulder", 0.5) + [0, 0.08, 0],
                   b.between(f"{side}_collar", f"{side}_shoulder", 0.5) + [0, 0.12, -0.03])
            rb.add("spine_04_latissimus" + w, "spine_04",
                   b.local("spine3", (0.12, 0.06, 0.05), side),
                   b.local("spine3", (0.12, 0.06, -0.08), side))
        for joint, bone in (("collar", "clavicle"), ("shoulder", "upperarm"),
                            ("elbow", "lowerarm"), ("wrist", "hand"), ("hip", "thigh"),
                            ("knee", "calf"), ("ankle", "foot"), ("foot", "ball")):
            rb.expect(f"{side}_{joint}", bone + w)
    rb.expect("pelvis", "pelvis")
    if not ue5:
        rb.expect("spine1", "spine_01")
        rb.expect("spine2", "spine_02")
    for joint, bone in (("spine3", spines[-1]), ("neck", "neck_01"), ("head", "head")):
        rb.expect(joint, bone)
    return rb.spec()


def unreal4_mannequin() -> RigSpec:
    return _unreal("ue4_mannequin", ue5=False)


def unreal5_manny() -> RigSpec:
    return _unreal("ue5_manny", ue5=True)


SPECS = [biped_standard, biped_triangle_pelvis, cat_base_human, mixamo_fbx, unreal4_mannequin,
         unreal5_manny]
