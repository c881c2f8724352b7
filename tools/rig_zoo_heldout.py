"""The HELD-OUT rig set: humanoid rigs of conventions that are not in the rig zoo
(tools/rig_zoo.py), built to test the automatic bone mapper honestly. The mapper was developed
against the zoo; nothing here was tuned to make it pass, and backend/motion/bonemap.py and
topology.py were not read while writing it.

    from rig_zoo_heldout import heldout, heldout_report
    for spec in heldout(): ...                   # list[RigSpec] (tools/rig_zoo_geometry.py)
    .venv/bin/python tools/rig_zoo_heldout.py    # table: what today's auto_map gets right

Conventions: Xsens MVN, OptiTrack Motive, CMU BVH, joint-named BVH, MotionBuilder HumanIK
(tools/rig_zoo_heldout_mocap.py); MMD/PMX, Source ValveBiped, Second Life Bento, Roblox R15
(tools/rig_zoo_heldout_engines.py); Epic MetaHuman body, Daz Genesis 2, a game-asset rig with
a weapon and a cape, Rigify's Basic Human meta-rig turned to face +Y (here).

Rest poses vary (arms 0-50° down, knees slightly bent, head forward, feet turned out), as do
object transforms (FBX import rotation, cm / inch armature space, a world 100x metres, a rig
turned 180° about Z). `expected` follows the zoo's rule: the bone whose head sits at the
canonical joint and whose rotation swings the segment below it (of two on one spot, the one
higher in the hierarchy); pelvis = the bone that moves the whole body; spine3 = the bone the
clavicles/arms and neck hang from; spine1/spine2 only where the rig has exactly three spine
bones; joints a rig has no bone for (Roblox clavicles, neck, toes) are left out.
`alternatives` lists other bones that are equally defensible.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
for _p in (str(_HERE), str(_HERE.parent)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import rig_zoo_heldout_engines  # noqa: E402
import rig_zoo_heldout_mocap  # noqa: E402
from rig_zoo import scrambled  # noqa: E402
from rig_zoo_character_rigs import FBX_IMPORT, SIDES, add_hand, foot_points, seed_of  # noqa: E402
from rig_zoo_geometry import RigBuilder, RigSpec  # noqa: E402
from rig_zoo_heldout_mocap import PosedBody, expect_limbs, turned_around  # noqa: E402

ARM = ("collar", "shoulder", "elbow", "wrist")


def _hand_end(b, side):
    return b.local(f"{side}_wrist", (0.09, 0, 0), side)


def metahuman_body() -> RigSpec:
    name = "metahuman_body"
    b = PosedBody(seed_of(name), 1.77, 40.0, elbow_bend=8.0, knee_bend=3.0)
    rb = RigBuilder(name, "metahuman", b, pose="A", orient="fbx_x", seed=seed_of(name),
                    object_rotation=FBX_IMPORT, object_scale=0.01,
                    notes="Epic MetaHuman body exported from Unreal as FBX (X along the bone): "
                          "root, pelvis, spine_01-05, neck_01/02, head with a FACIAL_ tree; two "
                          "twist bones per limb segment; *_correctiveRoot bones sitting exactly "
                          "on the shoulder / elbow / hip / knee as siblings of the limb bone, "
                          "each with fwd/bck/in/out leaves; metacarpals; ik_* bones under root. "
                          "Slight knee bend. Armature space in cm.")
    rb.add("root", "", [0, 0, 0], [0, -0.1, 0])
    spines = [f"spine_0{i}" for i in range(1, 6)]
    rb.add("pelvis", "root", b["pelvis"], b.spine(0.4))
    rb.chain(spines + ["neck_01", "neck_02", "head"], "pelvis",
             [b.spine(t) for t in (1.2, 1.9, 2.6, 3.2, 3.7, 4.0, 4.5, 5.0)]
             + [b.local("head", (0, -0.12, 0.03))])
    rb.add("FACIAL_C_FacialRoot", "head", b.local("head", (0, -0.04, 0.06)),
           b.local("head", (0, -0.1, 0.06)), deform=False)
    rb.add("FACIAL_C_Jaw", "FACIAL_C_FacialRoot", b.local("head", (0, -0.02, 0.0)),
           b.local("head", (0, -0.09, -0.06)))
    for side, s, _ in SIDES:
        rb.add(f"FACIAL_{s.upper()}_Eye", "FACIAL_C_FacialRoot",
               b.local("head", (0.032, -0.08, 0.07), side),
               b.local("head", (0.032, -0.1, 0.07), side))
    rb.add("ik_foot_root", "root", [0, 0, 0], [0, 0, 0.1], deform=False)
    rb.add("ik_hand_root", "root", [0, 0, 0], [0, 0, 0.1], deform=False)
    for side, s, _ in SIDES:
        w = "_" + s
        rb.add("ik_foot" + w, "ik_foot_root", b[f"{side}_ankle"], b[f"{side}_foot"], False)
        rb.add("ik_hand" + w, "ik_hand_root", b[f"{side}_wrist"], _hand_end(b, side), False)
        hand = rb.chain(["clavicle" + w, "upperarm" + w, "lowerarm" + w, "hand" + w], "spine_05",
                        [b[f"{side}_{j}"] for j in ARM] + [_hand_end(b, side)])
        add_hand(rb, side, hand, lambda f, k: f"{f}_0{k}{w}",
                 metacarpal=lambda f: None if f == "thumb" else f"{f}_metacarpal{w}")
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain(["thigh" + w, "calf" + w, "foot" + w, "ball" + w], "pelvis",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        for seg, a, c in (("upperarm", "shoulder", "elbow"), ("lowerarm", "elbow", "wrist"),
                          ("thigh", "hip", "knee"), ("calf", "knee", "ankle")):
            for k, u in ((1, 0.3), (2, 0.65)):
                rb.add(f"{seg}_twist_0{k}{w}", seg + w, b.between(f"{side}_{a}", f"{side}_{c}", u),
                       b.between(f"{side}_{a}", f"{side}_{c}", u + 0.2))
        for seg, joint, parent, leaves in (
                ("upperarm", "shoulder", "clavicle", ("fwd", "bck", "in", "out")),
                ("lowerarm", "elbow", "upperarm", ("fwd", "bck", "in", "out")),
                ("thigh", "hip", "pelvis", ("fwd", "bck", "in", "out")),
                ("calf", "knee", "thigh", ("knee", "kneeBack"))):
            at = b[f"{side}_{joint}"]
            root = rb.add(f"{seg}_correctiveRoot{w}", parent + (w if parent != "pelvis" else ""),
                          at, at + [0, 0, 0.04], deform=False)
            offsets = {"fwd": (0, -0.05, 0), "bck": (0, 0.05, 0), "in": (-0.04, 0, 0),
                       "out": (0.04, 0, 0), "knee": (0, -0.06, 0), "kneeBack": (0, 0.05, 0)}
            for leaf in leaves:
                p0 = b.local(f"{side}_{joint}", offsets[leaf], side)
                rb.add(f"{seg}_{leaf}{w}", root, p0, p0 + [0, 0, -0.03])
        rb.add("clavicle_pec" + w, "spine_05", b.local("spine3", (0.1, -0.09, 0.15), side),
               b.local("spine3", (0.1, -0.15, 0.12), side))
        rb.add("spine_04_latissimus" + w, "spine_04", b.local("spine3", (0.12, 0.06, 0.05), side),
               b.local("spine3", (0.12, 0.06, -0.08), side))
    seg = {"collar": "clavicle", "shoulder": "upperarm", "elbow": "lowerarm", "wrist": "hand",
           "hip": "thigh", "knee": "calf", "ankle": "foot", "foot": "ball"}
    expect_limbs(rb, lambda side, j: f"{seg[j]}_{side[0]}")
    for joint, bone in (("pelvis", "pelvis"), ("spine3", "spine_05"), ("neck", "neck_01"),
                        ("head", "head")):
        rb.expect(joint, bone)
    return rb.spec()


def daz_genesis2() -> RigSpec:
    name = "daz_genesis2"
    b = PosedBody(seed_of(name), 1.70, 0.0)
    rb = RigBuilder(name, "daz_genesis2", b, seed=seed_of(name),
                    notes="Daz Genesis 2 (legacy, as Diffeomorphic imports it): hip root with "
                          "a downward 'pelvis' carrying the thighs; abdomen, abdomen2, chest, "
                          "neck, head; single lShldr / lForeArm / lThigh / lShin bones (no "
                          "Bend/Twist); lCarpal1/2; face rig bones; lBigToe and lSmallToe1-4 "
                          "under lToe; T-pose.")
    rb.add("hip", "", b["pelvis"], b["pelvis"] + [0, 0, -0.09])
    rb.add("pelvis", "hip", b["pelvis"] + [0, 0, 0.01], b["pelvis"] + [0, 0, -0.15])
    spine = ["abdomen", "abdomen2", "chest", "neck", "head"]
    rb.chain(spine, "hip", [b.spine(t) for t in (0.45, 1.5, 2.6, 4, 5)] + [b.tip("head")])
    rb.add("lowerFaceRig", "head", b.local("head", (0, -0.06, 0.02)),
           b.local("head", (0, -0.1, 0.0)))
    rb.add("lowerJaw", "lowerFaceRig", b.local("head", (0, -0.02, 0.0)),
           b.local("head", (0, -0.09, -0.06)))
    rb.add("upperFaceRig", "head", b.local("head", (0, -0.06, 0.08)),
           b.local("head", (0, -0.1, 0.08)))
    short = {"thumb": "Thumb", "index": "Index", "middle": "Mid", "ring": "Ring",
             "pinky": "Pinky"}
    for side, s, _ in SIDES:
        rb.add(f"{s}Eye", "upperFaceRig", b.local("head", (0.032, -0.08, 0.07), side),
               b.local("head", (0.032, -0.1, 0.07), side))
        rb.add(f"{s}Pectoral", "chest", b.local("spine3", (0.09, -0.08, 0.12), side),
               b.local("spine3", (0.09, -0.15, 0.1), side))
        hand = rb.chain([f"{s}Collar", f"{s}Shldr", f"{s}ForeArm", f"{s}Hand"], "chest",
                        [b[f"{side}_{j}"] for j in ARM] + [_hand_end(b, side)])
        for k, fingers in ((1, ("index", "middle")), (2, ("ring", "pinky"))):
            pts = b.finger(side, fingers[0], 1, metacarpal=True)
            rb.add(f"{s}Carpal{k}", hand, pts[0], pts[1])
        for finger in short:
            parent = hand if finger == "thumb" else \
                f"{s}Carpal{1 if finger in ('index', 'middle') else 2}"
            rb.chain([f"{s}{short[finger]}{k}" for k in (1, 2, 3)], parent,
                     b.finger(side, finger, 4))
        ankle, _, ball, tip = foot_points(b, side)
        toe = rb.chain([f"{s}Thigh", f"{s}Shin", f"{s}Foot", f"{s}Toe"], "pelvis",
                       [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        rb.add(f"{s}BigToe", toe, b.local(f"{side}_foot", (-0.02, -0.02, 0.0), side),
               b.local(f"{side}_foot", (-0.02, -0.06, 0.0), side))
        for k in range(1, 5):
            p0 = b.local(f"{side}_foot", (0.005 + 0.01 * k, -0.015, 0.0), side)
            rb.add(f"{s}SmallToe{k}", toe, p0, p0 + [0, -0.03, 0])
    seg = {"collar": "Collar", "shoulder": "Shldr", "elbow": "ForeArm", "wrist": "Hand",
           "hip": "Thigh", "knee": "Shin", "ankle": "Foot", "foot": "Toe"}
    expect_limbs(rb, lambda side, j: side[0] + seg[j])
    for joint, bone in zip(("pelvis", "spine1", "spine2", "spine3", "neck", "head"),
                           ["hip"] + spine):
        rb.expect(joint, bone)
    return rb.spec()


def game_asset_cape() -> RigSpec:
    name = "game_asset_cape"
    b = PosedBody(seed_of(name), 1.66, 25.0, elbow_bend=10.0, knee_bend=8.0, head_forward=12.0,
                  feet_out=12.0)
    rb = RigBuilder(name, "game_asset", b, pose="A", seed=seed_of(name),
                    notes="An indie game-asset character rigged in Blender: Root at the origin, "
                          "Hips, Spine, Chest, Neck, Head; Shoulder/UpperArm/LowerArm/Hand/"
                          "UpperLeg/LowerLeg/Foot/Toes .L/.R; a 1 m Weapon bone in the right "
                          "hand, a Shield on the left forearm, a Quiver, a five-bone Cape down "
                          "to the calves and two Hair chains; IK_Foot and Pole_Knee controls are "
                          "extra roots; knees bent, head forward, feet turned out, arms 25° "
                          "down.")
    rb.add("Root", "", [0, 0, 0], [0, -0.2, 0], deform=False)
    rb.chain(["Hips", "Spine", "Chest", "Neck", "Head"], "Root",
             [b.spine(t) for t in (0, 1.1, 2.4, 4, 5)] + [b.tip("head")])
    rb.add("Quiver", "Chest", b.local("spine3", (-0.05, 0.14, -0.1)),
           b.local("spine3", (0.1, 0.16, 0.2)))
    rb.chain([f"Cape.00{k}" for k in range(1, 6)], "Chest",
             [b.local("spine3", (0, 0.12, 0.12)) + [0, 0.02 * k, -0.22 * k] for k in range(6)])
    for side, _, S in SIDES:
        x = "." + S
        rb.chain([f"Hair{x}.00{k}" for k in (1, 2, 3)], "Head",
                 [b.local("head", (0.07, 0.03, 0.12 - 0.08 * k), side) for k in range(4)])
        rb.chain([n + x for n in ("Shoulder", "UpperArm", "LowerArm", "Hand")], "Chest",
                 [b[f"{side}_{j}"] for j in ARM] + [_hand_end(b, side)])
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain([n + x for n in ("UpperLeg", "LowerLeg", "Foot", "Toes")], "Hips",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        floor = ankle * [1, 1, 0]
        rb.add("IK_Foot" + x, "", floor + [0, 0.05, 0], floor + [0, -0.1, 0], deform=False)
        rb.add("Pole_Knee" + x, "", b.local(f"{side}_knee", (0, -0.5, 0), side),
               b.local(f"{side}_knee", (0, -0.55, 0), side), deform=False)
    grip = b.local("right_wrist", (0.06, -0.01, -0.02), "right")
    rb.add("Weapon", "Hand.R", grip, grip + [0, -0.35, -0.94], deform=False)
    shield = b.between("left_elbow", "left_wrist", 0.5)
    rb.add("Shield", "LowerArm.L", shield, shield + [0.02, -0.12, 0], deform=False)
    seg = {"collar": "Shoulder", "shoulder": "UpperArm", "elbow": "LowerArm", "wrist": "Hand",
           "hip": "UpperLeg", "knee": "LowerLeg", "ankle": "Foot", "foot": "Toes"}
    expect_limbs(rb, lambda side, j: f"{seg[j]}.{side[0].upper()}")
    for joint, bone in (("pelvis", "Hips"), ("spine3", "Chest"), ("neck", "Neck"),
                        ("head", "Head")):
        rb.expect(joint, bone)
    return rb.spec()


def rigify_basic_human_turned() -> RigSpec:
    name = "rigify_basic_human_turned"
    b = PosedBody(seed_of(name), 1.75, 30.0, elbow_bend=8.0)
    rb = RigBuilder(name, "rigify_basic_human", b, pose="A", seed=seed_of(name),
                    notes="Rigify 'Basic Human' meta-rig (no face, no finger bones): spine .. "
                          "spine.006, pelvis.L/R and thighs on 'spine', breast.L/R, heel.02.L/R "
                          "sideways under the feet.")
    spine = ["spine"] + [f"spine.00{i}" for i in range(1, 7)]
    rb.chain(spine, "", [b.spine(t) for t in (0, 1, 2, 3, 4, 4.5, 5)] + [b.tip("head")])
    for side, _, S in SIDES:
        x = "." + S
        rb.add("breast" + x, "spine.003", b.local("spine3", (0.09, -0.08, 0.12), side),
               b.local("spine3", (0.09, -0.15, 0.1), side))
        rb.add("pelvis" + x, "spine", b["pelvis"], b.local(f"{side}_hip", (0.05, -0.1, 0.12),
                                                           side))
        rb.chain(["shoulder" + x, "upper_arm" + x, "forearm" + x, "hand" + x], "spine.003",
                 [b[f"{side}_{j}"] for j in ARM] + [_hand_end(b, side)])
        ankle, _, ball, tip = foot_points(b, side)
        rb.chain(["thigh" + x, "shin" + x, "foot" + x, "toe" + x], "spine",
                 [b[f"{side}_hip"], b[f"{side}_knee"], ankle, ball, tip])
        heel = b.local(f"{side}_ankle", (-0.03, 0.055, -0.065), side)
        rb.add("heel.02" + x, "foot" + x, heel, heel + [0.06 if side == "left" else -0.06, 0, 0])
    seg = {"collar": "shoulder", "shoulder": "upper_arm", "elbow": "forearm", "wrist": "hand",
           "hip": "thigh", "knee": "shin", "ankle": "foot", "foot": "toe"}
    expect_limbs(rb, lambda side, j: f"{seg[j]}.{side[0].upper()}")
    for joint, bone in zip(("pelvis", "spine1", "spine2", "spine3", "neck", "head"),
                           spine[:5] + spine[6:]):
        rb.expect(joint, bone)
    return turned_around(rb.spec(), "the user spun the object to face the other way")


_BUILDERS = (rig_zoo_heldout_mocap.SPECS + rig_zoo_heldout_engines.SPECS
             + [metahuman_body, daz_genesis2, game_asset_cape, rigify_basic_human_turned])


def heldout() -> list[RigSpec]:
    """Every held-out rig (fresh objects each call)."""
    return [make() for make in _BUILDERS]


# ------------------------------------------------------------------------ mapping report
def map_heldout(spec: RigSpec) -> dict:
    """Run today's auto_map on `spec`: {correct: [joint], wrong: {joint: (chosen, expected)},
    error: "" or the exception, confidence: BoneMap.overall_confidence or None}."""
    from backend.motion.bonemap import auto_map
    try:
        result = auto_map(spec.names(), spec.parent_indices(), spec.world_heads(),
                          spec.world_tails())
    except Exception as exc:  # a MappingError (or a crash) is a failed mapping
        return dict(correct=[], wrong={j: (None, b) for j, b in spec.expected.items()},
                    error=f"{type(exc).__name__}: {exc}", confidence=None)
    correct, wrong = [], {}
    for joint, bone in spec.expected.items():
        got = result.bones.get(joint)
        if got == bone or got in spec.alternatives.get(joint, []):
            correct.append(joint)
        else:
            wrong[joint] = (got, bone)
    return dict(correct=correct, wrong=wrong, error="",
                confidence=float(result.overall_confidence))


def heldout_report(seed: int = 0, verbose: bool = True) -> list[dict]:
    """Map every held-out rig, named and scrambled (rig_zoo.scrambled); print a table; return
    one row per rig and variant: {rig, variant, total, correct, wrong, error, confidence}."""
    rows = []
    for spec in heldout():
        for variant, s in (("named", spec), ("scrambled", scrambled(spec, seed))):
            m = map_heldout(s)
            if variant == "scrambled":  # report the original bone names
                back = dict(zip(s.names(), spec.names()))
                m["wrong"] = {j: (back.get(g, g), back[w]) for j, (g, w) in m["wrong"].items()}
            rows.append(dict(rig=spec.name, variant=variant, total=len(spec.expected),
                             correct=len(m["correct"]), **{k: m[k] for k in
                                                          ("wrong", "error", "confidence")}))
    if verbose:
        print(f"{'rig':27s} {'variant':9s} {'joints':>6s} {'conf':>5s}  "
              "wrong joint: chosen (expected)")
        for r in rows:
            conf = "-" if r["confidence"] is None else f"{r['confidence']:.2f}"
            what = r["error"] or "; ".join(f"{j}: {g} ({w})" for j, (g, w)
                                            in sorted(r["wrong"].items())) or "-"
            print(f"{r['rig']:27s} {r['variant']:9s} {r['correct']:>2d}/{r['total']:<3d} "
                  f"{conf:>5s}  {what}")
        for variant in ("named", "scrambled"):
            got = [r for r in rows if r["variant"] == variant]
            exact = sum(r["correct"] == r["total"] for r in got)
            print(f"{variant}: {exact}/{len(got)} rigs mapped exactly ({exact / len(got):.0%})")
    return rows


if __name__ == "__main__":
    np.set_printoptions(precision=3, suppress=True)
    heldout_report()
