"""The second held-out rig set (tools/rig_zoo_heldout2.py): its specs are sound (hierarchy,
geometry, anatomical frames, the shapes, poses, transforms and clutter it promises) and
today's automatic bone mapper maps at least 90% of these rigs exactly, named and scrambled.
The mapping test prints a table (rig, joints right, confidence, wrong joints with the bone
chosen instead); run with -s to see it when it passes."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import rig_zoo  # noqa: E402
import rig_zoo_heldout  # noqa: E402
import rig_zoo_heldout2  # noqa: E402

from backend.motion.skeleton import CANONICAL, CANONICAL_NAMES  # noqa: E402

HELDOUT2 = rig_zoo_heldout2.heldout2()
BY_NAME = {s.name: s for s in HELDOUT2}
IDS = [s.name for s in HELDOUT2]
_, CANON_POS = CANONICAL.rest_world()
CANON = dict(zip(CANONICAL_NAMES, CANON_POS))
SIDES = ("left", "right")
MUST_MAP = ["pelvis", "spine3", "neck", "head"] + [
    f"{s}_{j}" for s in SIDES for j in ("collar", "shoulder", "elbow", "wrist", "hip", "knee",
                                        "ankle")]
LIMB_SEGMENTS = {f"{s}_{a}": f"{s}_{b}" for s in SIDES for a, b in
                 (("hip", "knee"), ("knee", "ankle"), ("ankle", "foot"), ("shoulder", "elbow"),
                  ("elbow", "wrist"))}
SCRAMBLE_SEED = 5


def _frame(spec):
    """(3, 3) world rotation of the character (its pelvis frame): columns left, back, up."""
    return spec.anatomical[spec.expected["pelvis"]]


def _heads(spec):
    heads = spec.world_heads()
    return {j: heads[spec.names().index(b)] for j, b in spec.expected.items()}


def _head_of(spec, bone):
    return spec.world_heads()[spec.names().index(bone)]


def _body_relative(spec, joint):
    return _frame(spec).T @ spec.anatomical[spec.expected[joint]]


def _arm_down_degrees(spec):
    upper_arm = _body_relative(spec, "left_shoulder")
    return float(np.degrees(np.arcsin(-(upper_arm @ [1.0, 0, 0])[2])))


# ---------------------------------------------------------------------------- spec sanity
def test_set_is_new_conventions():
    older = rig_zoo.zoo() + rig_zoo_heldout.heldout()
    assert len(HELDOUT2) >= 10 and len(set(IDS)) == len(IDS)
    conventions = {s.convention for s in HELDOUT2}
    assert len(conventions) == len(HELDOUT2)
    assert not conventions & {s.convention for s in older}
    assert not set(IDS) & {s.name for s in older}


def test_set_has_the_promised_variety():
    assert {s.pose for s in HELDOUT2} == {"T", "A"}
    downs = {s.name: _arm_down_degrees(s) for s in HELDOUT2}
    assert downs["tall_ik_controls"] == pytest.approx(60.0, abs=0.5)
    elbow = _body_relative(BY_NAME["tall_ik_controls"], "left_elbow") @ [1.0, 0, 0]
    upper = _body_relative(BY_NAME["tall_ik_controls"], "left_shoulder") @ [1.0, 0, 0]
    assert np.degrees(np.arccos(np.dot(elbow, upper))) == pytest.approx(20.0, abs=0.5)
    assert BY_NAME["tall_ik_controls"].height > 2.0
    def heads_tall(spec, top_bone):  # height over (head joint to crown)
        return spec.height / np.linalg.norm(_head_of(spec, top_bone) - _heads(spec)["head"])
    adult = heads_tall(BY_NAME["ready_player_me"], "HeadTop_End")
    assert heads_tall(BY_NAME["maya_child_jnt"], "C_head_END") < 0.65 * adult  # big head
    fbx_cm = [s for s in HELDOUT2 if s.object_scale == pytest.approx(0.01)
              and s.object_rotation[0] == pytest.approx(np.pi / 2)]
    assert len(fbx_cm) >= 2
    assert any(s.object_scale == pytest.approx(0.0254) for s in HELDOUT2)  # inches
    assert any(s.height > 100 for s in HELDOUT2)                      # world in centimetres
    assert [s.name for s in HELDOUT2 if "left_foot" not in s.expected] == [
        "perception_neuron_bvh"]                                      # no toe joints
    turned = [s for s in HELDOUT2 if np.isclose(s.object_rotation[2], np.pi)]
    assert turned and all(_frame(s)[0, 0] < -0.99 for s in turned)  # left is -X
    assert all(b.name.startswith("Armature|") for b in BY_NAME["armature_prefixed_fbx"].bones)


def test_clutter_the_set_promises():
    toon = BY_NAME["toon_three_fingers"]
    hand_kids = [b for b in toon.bones if b.parent == "hand.L"]
    assert len(hand_kids) == 3                                # three fingers
    tops = toon.world_tails()[:, 2]
    assert tops.max() > 1.2 * toon.height                     # ears far above the head
    tail_end = toon.world_tails()[toon.names().index("tail_08")]
    assert tail_end[2] < 0.1 and tail_end[1] > _heads(toon)["left_ankle"][1] + 0.15
    cats = BY_NAME["cats_vrchat_avatar"]
    assert sum(b.parent == "Hips" for b in cats.bones) >= 10  # skirt chains beside the legs
    assert len(cats.bones) > 100
    roots = [b.name for b in BY_NAME["german_sword_two_roots"].bones if not b.parent]
    assert roots == ["Becken", "Schwert_Wurzel"]
    tall = BY_NAME["tall_ik_controls"]
    for real, decoy in (("DEF_hand_L", "IK_hand_L"), ("DEF_forearm_L", "POLE_elbow_L"),
                        ("DEF_foot_R", "IK_foot_R"), ("DEF_shin_R", "POLE_knee_R"),
                        ("DEF_pelvis", "CTRL_torso"), ("DEF_thigh_L", "MCH_thigh_ik_L")):
        np.testing.assert_allclose(_head_of(tall, real), _head_of(tall, decoy), atol=1e-9)
        assert not tall.bones[tall.names().index(decoy)].deform


@pytest.mark.parametrize("name", IDS)
def test_spec_hierarchy_and_expectations(name):
    spec = BY_NAME[name]
    assert not rig_zoo.spec_problems(spec, MUST_MAP), rig_zoo.spec_problems(spec, MUST_MAP)
    assert {spec.expected[j] for j in ("left_hip", "right_knee")} <= set(spec.must_move)
    # the expected pelvis bone carries the whole body: every expected bone descends from it
    parent = {b.name: b.parent for b in spec.bones}
    for bone in spec.expected.values():
        while bone and bone != spec.expected["pelvis"]:
            bone = parent[bone]
        assert bone == spec.expected["pelvis"]


@pytest.mark.parametrize("name", IDS)
def test_spec_geometry_is_a_standing_human(name):
    spec = BY_NAME[name]
    heads, tails = spec.world_heads() / spec.height, spec.world_tails() / spec.height
    assert heads[:, 2].min() >= -0.006
    assert np.linalg.norm(tails - heads, axis=1).min() > 0.002  # no degenerate bones
    at = {j: p / spec.height for j, p in _heads(spec).items()}
    assert max(p[2] for p in at.values()) <= 1.0
    assert at["head"][2] > 0.7 and at["left_ankle"][2] < 0.1
    left, back = _frame(spec)[:, 0], _frame(spec)[:, 1]
    assert np.dot(at["left_shoulder"] - at["right_shoulder"], left) > 0.1
    assert np.dot(at["left_hip"] - at["right_hip"], left) > 0.04
    if "left_foot" in at:  # the ball of the foot is in front of the ankle
        assert np.dot(at["left_foot"] - at["left_ankle"], -back) > 0.03
    for joint, child in LIMB_SEGMENTS.items():
        if child not in at:
            continue
        seg, canon = at[child] - at[joint], CANON[child] - CANON[joint]
        want = spec.anatomical[spec.expected[joint]] @ canon
        np.testing.assert_allclose(seg / np.linalg.norm(seg), want / np.linalg.norm(want),
                                   atol=1e-6, err_msg=f"{name}: {joint} -> {child}")


@pytest.mark.parametrize("name", IDS)
def test_pose_is_recorded_in_the_anatomical_frames(name):
    spec = BY_NAME[name]
    down = _arm_down_degrees(spec)
    assert -1e-6 <= down <= 60.5
    assert (spec.pose == "A") == (down >= 20), (spec.pose, down)


@pytest.mark.parametrize("name", ["cats_vrchat_avatar", "german_sword_two_roots"])
def test_scrambled_keeps_structure(name):
    spec = BY_NAME[name]
    s = rig_zoo.scrambled(spec, seed=SCRAMBLE_SEED)
    assert s.parent_indices() == spec.parent_indices()
    np.testing.assert_array_equal(s.world_heads(), spec.world_heads())
    index = {n: i for i, n in enumerate(spec.names())}
    for joint, bone in spec.expected.items():
        assert s.names()[index[bone]] == s.expected[joint]


# ---------------------------------------------------------------------------- mapping
def _failures(rows):
    return {f"{r['rig']} ({r['variant']})": (
        f"{r['correct']}/{r['total']}, confidence "
        f"{'-' if r['confidence'] is None else round(r['confidence'], 3)}: "
        + (r["error"] or ", ".join(f"{j} got {g!r} want {w!r}"
                                   for j, (g, w) in sorted(r["wrong"].items()))))
        for r in rows if r["correct"] < r["total"]}


# First measurement, with no change to the mapper: 12 of 13 rigs exactly, named and scrambled
# (92%). The one failure: the three-fingered toon whose tail runs from the pelvis to the floor
# behind the heels has the tail taken for the right leg, its legs and arms then swapped left
# for right (4/20 joints, confidence 0.00). With 13 rigs one more failure drops the share to
# 85%: then record the figures here and in the report rather than tune the mapper to the set.
def test_second_heldout_rigs_map_exactly():
    rows = rig_zoo_heldout2.heldout2_report(seed=SCRAMBLE_SEED, verbose=True)
    assert len(rows) == 2 * len(HELDOUT2)
    for r in rows:
        if r["confidence"] is not None:
            assert 0.0 <= r["confidence"] <= 1.0
    messages = []
    for variant in ("named", "scrambled"):
        got = [r for r in rows if r["variant"] == variant]
        share = sum(r["correct"] == r["total"] for r in got) / len(got)
        print(f"{variant}: {share:.0%} of {len(got)} second held-out rigs mapped exactly")
        if share < 0.9:
            messages.append(f"{variant}: {share:.0%}")
    assert not messages, (messages, _failures(rows))
