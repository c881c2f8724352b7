"""Rig zoo, Blender-side conventions: Auto-Rig Pro (exported deform skeleton and the control
rig), MakeHuman / MPFB default skeleton, Blender's Human meta-rig, and a generic rig whose
bones are called Bone, Bone.001, ... numpy only."""
from __future__ import annotations

import numpy as np

from rig_zoo_character_rigs import SIDES, add_hand, foot_points, seed_of
from rig_zoo_geometry import Body, RigBuilder, RigSpec

ARM = ("collar", "shoulder", "elbow", "wrist")


def _hand_end(b: Body, side: str):
    return b.local(f"{side}_wrist", (0.09, 0, 0), side)


def arp_export() -> RigSpec:
    name = "arp_export"
    b = Body(seed_of(name), 1.75, 0.0)
    rb = RigBuilder(name, "auto_rig_pro", b, rolls="lateral", seed=seed_of(name),
                    notes="Auto-Rig Pro export with the limb chains in line, as ARP writes "
                          "them: root.x (pointing down) and spine_01.x share their head; the "
                          "hip and shoulder joints are the twist-named bones thigh_twist.l / "
                          "c_arm_twist_offset.l, the *_stretch bones start mid-thigh / "
                          "mid-upper-arm, leg_twist.l / forearm_twist.l mid-shin / mid-forearm; "
                          ".x/.l/.r suffixes.")
    rb.add("root.x", "", b["pelvis"], b["pelvis"] + [0, 0, -0.12])
    spine = ["spine_01.x", "spine_02.x", "neck.x", "head.x"]
    rb.chain(spine, "root.x", [b.spine(t) for t in (0, 2.2, 4, 5)] + [b.tip("head")])
    for side, s, _ in SIDES:
        x = "." + s
        sh, el, wr = (b[f"{side}_{j}"] for j in ARM[1:])
        hand = rb.chain(["shoulder" + x, "c_arm_twist_offset" + x, "arm_stretch" + x,
                         "forearm_stretch" + x, "forearm_twist" + x, "hand" + x], "spine_02.x",
                        [b[f"{side}_collar"], sh, (sh + el) / 2, el, (el + wr) / 2, wr,
                         _hand_end(b, side)])
        add_hand(rb, side, hand, lambda f, k: f"{f}{k}{x}")
        hip, kn = b[f"{side}_hip"], b[f"{side}_knee"]
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain(["thigh_twist" + x, "thigh_stretch" + x, "leg_stretch" + x, "leg_twist" + x,
                  "foot" + x, "toes_01" + x], "root.x",
                 [hip, (hip + kn) / 2, kn, (kn + ankle) / 2, ankle, ball, tip])
        for joint, bone in (("collar", "shoulder"), ("shoulder", "c_arm_twist_offset"),
                            ("elbow", "forearm_stretch"), ("wrist", "hand"),
                            ("hip", "thigh_twist"), ("knee", "leg_stretch"), ("ankle", "foot"),
                            ("foot", "toes_01")):
            rb.expect(f"{side}_{joint}", bone + x)
    for joint, bone in (("pelvis", "root.x"), ("spine3", "spine_02.x"), ("neck", "neck.x"),
                        ("head", "head.x")):
        rb.expect(joint, bone)
    return rb.spec()


def arp_controls() -> RigSpec:
    name = "arp_controls"
    b = Body(seed_of(name), 1.66, 0.0)
    rb = RigBuilder(name, "auto_rig_pro_controls", b, rolls="lateral", seed=seed_of(name),
                    notes="Auto-Rig Pro control rig (simplified): c_pos/c_traj at the ground, "
                          "c_root_master.x, FK controls c_*_fk.l, IK controls and poles under "
                          "c_traj; all controls non-deforming; the deforming *_stretch bones "
                          "hang from the FK controls, so a walk is keyed on the controls.")
    rb.add("c_pos", "", [0, 0, 0], [0, -0.3, 0], deform=False)
    rb.add("c_traj", "c_pos", [0, 0, 0], [0, -0.2, 0], deform=False)
    rb.add("c_root_master.x", "c_traj", b["pelvis"], b.spine(0.9), deform=False)
    rb.add("c_root.x", "c_root_master.x", b["pelvis"], b.spine(0.7), deform=False)
    rb.add("root.x", "c_root.x", b["pelvis"], b.spine(0.6))
    spine = ["c_spine_01.x", "c_spine_02.x", "c_spine_03.x", "c_neck.x", "c_head.x"]
    rb.chain(spine, "c_root_master.x", [b.spine(t) for t in (1, 2, 3, 4, 5)] + [b.tip("head")],
             deform=False)
    for side, s, _ in SIDES:
        x = "." + s
        rb.chain(["c_shoulder" + x, "c_arm_fk" + x, "c_forearm_fk" + x, "c_hand_fk" + x],
                 "c_spine_03.x", [b[f"{side}_{j}"] for j in ARM] + [_hand_end(b, side)],
                 deform=False)
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain(["c_thigh_fk" + x, "c_leg_fk" + x, "c_foot_fk" + x, "c_toes_fk" + x], "c_root.x",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip], deform=False)
        for ctrl, deform, a, c in (("c_arm_fk", "arm_stretch", "shoulder", "elbow"),
                                   ("c_forearm_fk", "forearm_stretch", "elbow", "wrist"),
                                   ("c_thigh_fk", "thigh_stretch", "hip", "knee"),
                                   ("c_leg_fk", "leg_stretch", "knee", "ankle")):
            rb.add(deform + x, ctrl + x, b[f"{side}_{a}"], b[f"{side}_{c}"])
        rb.add("c_foot_ik" + x, "c_traj", ankle, ball, deform=False)
        rb.add("c_leg_pole" + x, "c_traj", b.local(f"{side}_knee", (0, -0.4, 0), side),
               b.local(f"{side}_knee", (0, -0.45, 0), side), deform=False)
        rb.add("c_hand_ik" + x, "c_traj", b[f"{side}_wrist"], _hand_end(b, side), deform=False)
        rb.add("c_arms_pole" + x, "c_traj", b.local(f"{side}_elbow", (0, 0.4, 0), side),
               b.local(f"{side}_elbow", (0, 0.45, 0), side), deform=False)
        for joint, bone in (("collar", "c_shoulder"), ("shoulder", "c_arm_fk"),
                            ("elbow", "c_forearm_fk"), ("wrist", "c_hand_fk"),
                            ("hip", "c_thigh_fk"), ("knee", "c_leg_fk"), ("ankle", "c_foot_fk"),
                            ("foot", "c_toes_fk")):
            rb.expect(f"{side}_{joint}", bone + x)
    for joint, bone in zip(("pelvis", "spine1", "spine2", "spine3", "neck", "head"),
                           ["c_root_master.x"] + spine):
        rb.expect(joint, bone)
    return rb.spec()


def makehuman_default() -> RigSpec:
    name = "makehuman_default"
    b = Body(seed_of(name), 1.67, 50.0, 30.0)
    rb = RigBuilder(name, "makehuman", b, pose="A", rolls="lateral", seed=seed_of(name),
                    notes="MakeHuman / MPFB 'default' skeleton: 'root' (head 9 cm behind the "
                          "pelvis) carries spine05 (lowest) .. spine01 (top, carries the "
                          "clavicles) and the pelvis.L/R hip helpers; neck01..03; two bones per "
                          "limb segment; breast.L/R on the midline at spine01's head; A-pose "
                          "with bent elbows; five toe chains (the ball-of-foot joint is left "
                          "out of expected: no single toe bone); metacarpals.")
    rb.add("root", "", b["pelvis"] + [0, 0.09, -0.016], b.spine(1.0) + [0, 0.08, 0])
    spine = ["spine05", "spine04", "spine03", "spine02", "spine01", "neck01", "neck02",
             "neck03", "head"]
    rb.chain(spine, "root", [b.spine(t) for t in (0, 1, 2, 3, 3.46, 4.0, 4.3, 4.55, 5.0)]
             + [b.tip("head")])
    rb.add("jaw", "head", b.local("head", (0, -0.02, 0)), b.local("head", (0, -0.09, -0.06)))
    for side, _, S in SIDES:
        x = "." + S
        rb.add("eye" + x, "head", b.local("head", (0.032, -0.08, 0.07), side),
               b.local("head", (0.032, -0.1, 0.07), side))
        rb.add("breast" + x, "spine02", b.spine(3.46),
               b.local("spine3", (0.09, -0.15, 0.1), side))
        sh, el, wr = (b[f"{side}_{j}"] for j in ARM[1:])
        rb.chain(["clavicle" + x, "shoulder01" + x, "upperarm01" + x, "upperarm02" + x,
                  "lowerarm01" + x, "lowerarm02" + x, "wrist" + x], "spine01",
                 [b[f"{side}_collar"], b.between(f"{side}_collar", f"{side}_shoulder", 0.75),
                  sh, (sh + el) / 2, el, (el + wr) / 2, wr, _hand_end(b, side)])
        add_hand(rb, side, "wrist" + x,
                 lambda f, k: f"finger{['thumb', 'index', 'middle', 'ring', 'pinky'].index(f) + 1}"
                              f"-{k}{x}",
                 metacarpal=lambda f: None if f == "thumb" else
                 f"metacarpal{['index', 'middle', 'ring', 'pinky'].index(f) + 1}{x}")
        hip, kn = b[f"{side}_hip"], b[f"{side}_knee"]
        ankle, _, ball, _ = foot_points(b, side)
        foot = rb.chain(["pelvis" + x, "upperleg01" + x, "upperleg02" + x, "lowerleg01" + x,
                         "lowerleg02" + x, "foot" + x], "root",
                        [b["pelvis"], hip, (hip + kn) / 2, kn,
                         (kn + ankle) / 2, ankle, ball])
        for toe, dx in enumerate((-0.025, -0.01, 0.005, 0.02, 0.035), start=1):
            pts = [b.local(f"{side}_foot", (dx, -0.028 * i, 0), side) for i in range(4)]
            rb.chain([f"toe{toe}-{k}{x}" for k in (1, 2, 3)][: 2 if toe == 1 else 3], foot,
                     pts[: 3 if toe == 1 else 4])
        for joint, bone in (("collar", "clavicle"), ("shoulder", "upperarm01"),
                            ("elbow", "lowerarm01"), ("wrist", "wrist"), ("hip", "upperleg01"),
                            ("knee", "lowerleg01"), ("ankle", "foot")):
            rb.expect(f"{side}_{joint}", bone + x)
    for joint, bone in (("pelvis", "root"), ("spine3", "spine01"), ("neck", "neck01"),
                        ("head", "head")):
        rb.expect(joint, bone)
    return rb.spec()


def blender_metarig() -> RigSpec:
    name = "blender_metarig"
    b = Body(seed_of(name), 1.81, 40.0, 6.0)
    rb = RigBuilder(name, "blender_metarig", b, pose="A", rolls="lateral", seed=seed_of(name),
                    notes="Blender's Human meta-rig (Rigify): spine .. spine.006 (spine = "
                          "pelvis, spine.004/.005 neck, spine.006 head), thighs and pelvis.L on "
                          "'spine', palm.01-04 metacarpals, heel.02 pointing sideways, breasts.")
    spine = ["spine"] + [f"spine.00{i}" for i in range(1, 7)]
    rb.chain(spine, "", [b.spine(t) for t in (0, 1, 2, 3, 4, 4.5, 5)] + [b.tip("head")])
    for side, _, S in SIDES:
        x = "." + S
        rb.add("breast" + x, "spine.003", b.local("spine3", (0.09, -0.08, 0.12), side),
               b.local("spine3", (0.09, -0.15, 0.1), side))
        rb.add("pelvis" + x, "spine", b["pelvis"], b.local(f"{side}_hip", (0.05, -0.1, 0.12),
                                                           side))
        hand = rb.chain(["shoulder" + x, "upper_arm" + x, "forearm" + x, "hand" + x],
                        "spine.003", [b[f"{side}_{j}"] for j in ARM] + [_hand_end(b, side)])
        palm = {"index": "palm.01", "middle": "palm.02", "ring": "palm.03", "pinky": "palm.04"}
        for finger, pname in palm.items():
            pts = b.finger(side, finger, 4, metacarpal=True)
            parent = rb.add(pname + x, hand, pts[0], pts[1])
            rb.chain([f"f_{finger}.0{k}{x}" for k in (1, 2, 3)], parent, pts[1:])
        rb.chain([f"thumb.0{k}{x}" for k in (1, 2, 3)], "palm.01" + x,
                 b.finger(side, "thumb", 4))
        ankle, _, ball, tip = foot_points(b, side)
        foot = rb.chain(["thigh" + x, "shin" + x, "foot" + x, "toe" + x], "spine",
                        [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        heel = b.local(f"{side}_ankle", (-0.03, 0.055, -0.065), side)
        rb.add("heel.02" + x, "foot" + x, heel, heel + [0.06 if side == "left" else -0.06, 0, 0])
        del foot
        for joint, bone in (("collar", "shoulder"), ("shoulder", "upper_arm"),
                            ("elbow", "forearm"), ("wrist", "hand"), ("hip", "thigh"),
                            ("knee", "shin"), ("ankle", "foot"), ("foot", "toe")):
            rb.expect(f"{side}_{joint}", bone + x)
    for joint, bone in zip(("pelvis", "spine1", "spine2", "spine3", "neck", "head"),
                           spine[:5] + spine[6:]):
        rb.expect(joint, bone)
    return rb.spec()


def generic_bones() -> RigSpec:
    name = "generic_bones"
    b = Body(seed_of(name), 1.58, 48.0, 12.0)
    rb = RigBuilder(name, "generic", b, pose="A", rolls="random", seed=seed_of(name),
                    notes="A hand-made rig extruded in Blender: names Bone, Bone.001, ... in "
                          "creation order (spine, left arm, right arm, legs), random rolls, "
                          "hands pointing down and toes pointing up.")
    counter = iter(range(1000))

    def nxt() -> str:
        i = next(counter)
        return "Bone" if i == 0 else f"Bone.{i:03d}"

    names = {}
    pts = [b.spine(t) for t in (0, 1, 2, 3, 4, 5)] + [b.tip("head")]
    parent = ""
    for joint, a, c in zip(("pelvis", "spine1", "spine2", "spine3", "neck", "head"), pts, pts[1:]):
        parent = names[joint] = rb.add(nxt(), parent, a, c)
    for side in ("left", "right"):
        parent = names["spine3"]
        for joint, nxt_joint in zip(ARM, ARM[1:] + ("",)):
            tail = b[f"{side}_{nxt_joint}"] if nxt_joint else b[f"{side}_wrist"] + [0, 0, -0.15]
            parent = names[f"{side}_{joint}"] = rb.add(nxt(), parent, b[f"{side}_{joint}"], tail)
    for side in ("left", "right"):
        ankle, _, ball, tip = foot_points(b, side)
        parent = names["pelvis"]
        for joint, head, tail in (("hip", b[f"{side}_hip"], b[f"{side}_knee"]),
                                  ("knee", b[f"{side}_knee"], ankle), ("ankle", ankle, ball),
                                  ("foot", ball, ball + np.array([0, 0, 0.06]))):
            parent = names[f"{side}_{joint}"] = rb.add(nxt(), parent, head, tail)
    for joint, bone in names.items():
        rb.expect(joint, bone)
    return rb.spec()


SPECS = [arp_export, arp_controls, makehuman_default, blender_metarig, generic_bones]
