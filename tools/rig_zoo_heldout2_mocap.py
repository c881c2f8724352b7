"""Second held-out rig set (tools/rig_zoo_heldout2.py), part 3: skeletons from capture
devices as a BVH converter writes them and Blender's BVH importer makes bones of them: a
Noitom Perception Neuron (Axis Neuron) BVH and an Azure Kinect body-tracking skeleton.

Written without reading backend/motion/bonemap.py, bonenames.py, topology.py or
docs/retargeting.md. numpy only; world space is Blender's (Z up, faces -Y, left is +X).
"""
from __future__ import annotations

from rig_zoo_character_rigs import SIDES, foot_points, seed_of
from rig_zoo_geometry import RigBuilder, RigSpec
from rig_zoo_heldout2_engines import ARM, LEG
from rig_zoo_heldout_mocap import PosedBody, add_bvh_skeleton, expect_limbs, in_world_units


def perception_neuron_bvh() -> RigSpec:
    name = "perception_neuron_bvh"
    b = PosedBody(seed_of(name), 1.71, 0.0, knee_bend=2.0, feet_out=6.0)
    rb = RigBuilder(name, "perception_neuron", b, rolls="random", seed=seed_of(name),
                    object_scale=0.01,
                    notes="Noitom Perception Neuron BVH (Axis Neuron, centimetres) imported with "
                          "Blender's BVH importer at scale 1: Hips, then the legs first and the "
                          "right side before the left (RightUpLeg, RightLeg, RightFoot), Spine, "
                          "Spine1, Spine2, Spine3, Neck, Head, RightShoulder, RightArm, "
                          "RightForeArm, RightHand, RightHandThumb1-3, RightInHandIndex .. "
                          "RightInHandPinky (metacarpals) with RightHandIndex1-3 etc.; no toe "
                          "joints (the ball-of-foot joint is left out of expected).")
    joints = [("Hips", "", b["pelvis"])]
    ends = {"Head": b.tip("head")}
    fname = {"thumb": "Thumb", "index": "Index", "middle": "Middle", "ring": "Ring",
             "pinky": "Pinky"}
    order = (("right", "Right"), ("left", "Left"))
    for side, S in order:
        ankle, _, ball, _ = foot_points(b, side)
        joints += [(S + "UpLeg", "Hips", b[f"{side}_hip"]), (S + "Leg", S + "UpLeg",
                                                             b[f"{side}_knee"]),
                   (S + "Foot", S + "Leg", ankle)]
        ends[S + "Foot"] = ball
    spine = ["Spine", "Spine1", "Spine2", "Spine3", "Neck", "Head"]
    parent = "Hips"
    for n, t in zip(spine, (0.5, 1.3, 2.1, 2.9, 4, 5)):
        joints.append((n, parent, b.spine(t)))
        parent = n
    for side, S in order:
        parent = "Spine3"
        for j, n in zip(ARM, ("Shoulder", "Arm", "ForeArm", "Hand")):
            joints.append((S + n, parent, b[f"{side}_{j}"]))
            parent = S + n
        for finger, f in fname.items():
            pts = b.finger(side, finger, 4, metacarpal=finger != "thumb")
            parent = S + "Hand"
            if finger != "thumb":
                joints.append((f"{S}InHand{f}", parent, pts[0]))
                parent, pts = f"{S}InHand{f}", pts[1:]
            for k in range(3):
                joints.append((f"{S}Hand{f}{k + 1}", parent, pts[k]))
                parent = f"{S}Hand{f}{k + 1}"
            ends[parent] = pts[3]
    add_bvh_skeleton(rb, joints, ends)
    seg = dict(zip(ARM + LEG, ("Shoulder", "Arm", "ForeArm", "Hand", "UpLeg", "Leg", "Foot",
                               None)))
    expect_limbs(rb, lambda side, j: seg[j] and side.capitalize() + seg[j])
    for joint, bone in (("pelvis", "Hips"), ("spine3", "Spine3"), ("neck", "Neck"),
                        ("head", "Head")):
        rb.expect(joint, bone)
    return in_world_units(rb.spec(), 100.0, "a centimetre BVH imported at scale 1")


def azure_kinect_bvh() -> RigSpec:
    name = "azure_kinect_bvh"
    b = PosedBody(seed_of(name), 1.68, 15.0, elbow_bend=6.0, knee_bend=3.0, head_forward=8.0,
                  feet_out=10.0)
    rb = RigBuilder(name, "azure_kinect", b, rolls="random", seed=seed_of(name),
                    notes="Azure Kinect body-tracking skeleton written to BVH by a converter and "
                          "imported into Blender: the 32 K4ABT joints in capitals, each bone "
                          "named after the joint at its head (SHOULDER_LEFT is the upper arm, "
                          "HIP_LEFT the thigh, ANKLE_LEFT the foot, FOOT_LEFT the toes); "
                          "PELVIS, SPINE_NAVAL, SPINE_CHEST, NECK, HEAD with NOSE, EYE_*, EAR_*; "
                          "CLAVICLE_*, WRIST_* carrying HAND_* (-> HANDTIP_*) and THUMB_*. "
                          "Arms 15° down, head forward, feet out.")
    joints = [("PELVIS", "", b["pelvis"]), ("SPINE_NAVAL", "PELVIS", b.spine(1.1)),
              ("SPINE_CHEST", "SPINE_NAVAL", b.spine(2.4)), ("NECK", "SPINE_CHEST", b["neck"]),
              ("HEAD", "NECK", b["head"]), ("NOSE", "HEAD", b.local("head", (0, -0.1, 0.04)))]
    ends = {"NOSE": b.local("head", (0, -0.12, 0.03))}
    for side, _, _ in SIDES:
        S = side.upper()
        for part, off in (("EYE", (0.032, -0.085, 0.07)), ("EAR", (0.075, 0.0, 0.05))):
            joints.append((f"{part}_{S}", "HEAD", b.local("head", off, side)))
            ends[f"{part}_{S}"] = b.local("head", (off[0], off[1] - 0.02, off[2]), side)
        parent = "SPINE_CHEST"
        for j in ARM:
            n = {"collar": "CLAVICLE", "shoulder": "SHOULDER", "elbow": "ELBOW",
                 "wrist": "WRIST"}[j] + "_" + S
            joints.append((n, parent, b[f"{side}_{j}"]))
            parent = n
        joints += [(f"HAND_{S}", f"WRIST_{S}", b.local(f"{side}_wrist", (0.06, 0, 0), side)),
                   (f"HANDTIP_{S}", f"HAND_{S}", b.local(f"{side}_wrist", (0.16, 0, 0), side)),
                   (f"THUMB_{S}", f"WRIST_{S}", b.finger(side, "thumb", 4)[2])]
        ends[f"HANDTIP_{S}"] = b.local(f"{side}_wrist", (0.18, 0, 0), side)
        ends[f"THUMB_{S}"] = b.finger(side, "thumb", 4)[3]
        ankle, _, ball, tip = foot_points(b, side)
        joints += [(f"HIP_{S}", "PELVIS", b[f"{side}_hip"]),
                   (f"KNEE_{S}", f"HIP_{S}", b[f"{side}_knee"]),
                   (f"ANKLE_{S}", f"KNEE_{S}", ankle), (f"FOOT_{S}", f"ANKLE_{S}", ball)]
        ends[f"FOOT_{S}"] = tip
    add_bvh_skeleton(rb, joints, ends)
    seg = dict(zip(ARM + LEG, ("CLAVICLE", "SHOULDER", "ELBOW", "WRIST", "HIP", "KNEE",
                               "ANKLE", "FOOT")))
    expect_limbs(rb, lambda side, j: f"{seg[j]}_{side.upper()}")
    for joint, bone in (("pelvis", "PELVIS"), ("spine3", "SPINE_CHEST"), ("neck", "NECK"),
                        ("head", "HEAD")):
        rb.expect(joint, bone)
    return rb.spec()


SPECS = [perception_neuron_bvh, azure_kinect_bvh]
