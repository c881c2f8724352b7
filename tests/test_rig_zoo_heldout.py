"""The held-out rig set (tools/rig_zoo_heldout.py): its specs are sound (hierarchy, geometry,
anatomical frames, the pose and transform variety it promises), and today's automatic bone
mapper maps at least 90% of these rigs it was never tuned on exactly, named and scrambled.
The mapping tests print a table (rig, joints right, confidence, wrong joints and the bone
chosen instead); run with -s to see it when they pass."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import rig_zoo  # noqa: E402
import rig_zoo_heldout  # noqa: E402

from backend.motion.skeleton import CANONICAL, CANONICAL_NAMES  # noqa: E402

HELDOUT = rig_zoo_heldout.heldout()
BY_NAME = {s.name: s for s in HELDOUT}
IDS = [s.name for s in HELDOUT]
_, CANON_POS = CANONICAL.rest_world()
CANON = dict(zip(CANONICAL_NAMES, CANON_POS))
SIDES = ("left", "right")
MUST_MAP = ["pelvis", "spine3", "head"] + [f"{s}_{j}" for s in SIDES for j in
                                           ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")]
LIMB_SEGMENTS = {f"{s}_{a}": f"{s}_{b}" for s in SIDES for a, b in
                 (("hip", "knee"), ("knee", "ankle"), ("ankle", "foot"), ("shoulder", "elbow"),
                  ("elbow", "wrist"))}
SCRAMBLE_SEED = 3


def _frame(spec):
    """(3, 3) world rotation of the character (its pelvis frame): columns left, back, up."""
    return spec.anatomical[spec.expected["pelvis"]]


def _heads(spec):
    heads = spec.world_heads()
    return {j: heads[spec.names().index(b)] for j, b in spec.expected.items()}


# ---------------------------------------------------------------------------- spec sanity
def test_heldout_is_new_conventions_with_variety():
    zoo = rig_zoo.zoo()
    assert len(HELDOUT) >= 12 and len(set(IDS)) == len(IDS)
    conventions = {s.convention for s in HELDOUT}
    assert len(conventions) == len(HELDOUT)
    assert not conventions & {s.convention for s in zoo}
    assert not set(IDS) & {s.name for s in zoo}
    assert {s.pose for s in HELDOUT} == {"T", "A"}
    turned = [s for s in HELDOUT if np.isclose(s.object_rotation[2], np.pi)]
    assert turned and all(_frame(s)[0, 0] < -0.99 for s in turned)  # left is -X
    assert any(s.height > 100 for s in HELDOUT)                      # world in centimetres
    assert any(s.object_scale == pytest.approx(0.0254) for s in HELDOUT)  # inches
    def is_index_finger(bone):
        return "index" in bone.lower() or "finger" in bone.lower() or "人指" in bone
    with_fingers = [s for s in HELDOUT if sum(is_index_finger(b.name) for b in s.bones) >= 4]
    assert len(with_fingers) >= 6


@pytest.mark.parametrize("name", IDS)
def test_spec_hierarchy_and_expectations(name):
    spec = BY_NAME[name]
    assert not rig_zoo.spec_problems(spec, MUST_MAP), rig_zoo.spec_problems(spec, MUST_MAP)
    assert set(spec.alternatives) <= set(spec.expected)
    assert {spec.expected[j] for j in ("left_hip", "right_knee")} <= set(spec.must_move)


@pytest.mark.parametrize("name", IDS)
def test_spec_geometry_is_a_standing_human(name):
    spec = BY_NAME[name]
    heads, tails = spec.world_heads() / spec.height, spec.world_tails() / spec.height
    assert np.concatenate([heads, tails])[:, 2].max() <= 1.06 and heads[:, 2].min() >= -0.006
    assert np.linalg.norm(tails - heads, axis=1).min() > 0.002  # no degenerate bones
    at = {j: p / spec.height for j, p in _heads(spec).items()}
    assert at["head"][2] > 0.8 and at["left_ankle"][2] < 0.1
    left, back = _frame(spec)[:, 0], _frame(spec)[:, 1]
    assert np.dot(at["left_shoulder"] - at["right_shoulder"], left) > 0.15
    assert np.dot(at["left_hip"] - at["right_hip"], left) > 0.05
    if "left_foot" in at:  # the ball of the foot is in front of the ankle
        assert np.dot(at["left_foot"] - at["left_ankle"], -back) > 0.03
    ratios = []
    for joint, child in LIMB_SEGMENTS.items():
        if joint not in at or child not in at:
            continue
        seg, canon = at[child] - at[joint], CANON[child] - CANON[joint]
        want = spec.anatomical[spec.expected[joint]] @ canon
        np.testing.assert_allclose(seg / np.linalg.norm(seg), want / np.linalg.norm(want),
                                   atol=1e-6, err_msg=f"{name}: {joint} -> {child}")
        ratios.append(np.linalg.norm(seg) / np.linalg.norm(canon))
    assert np.ptp(ratios) > 0.02  # proportions differ from the canonical skeleton


def _body_relative(spec, joint):
    return _frame(spec).T @ spec.anatomical[spec.expected[joint]]


def _degrees(m, axis, vector):
    """Angle (degrees) by which rotation m turns `vector` about `axis`, projected."""
    v = m @ vector
    v = v - axis * np.dot(v, axis)
    return np.degrees(np.arctan2(np.dot(np.cross(vector, v), axis), np.dot(vector, v)))


@pytest.mark.parametrize("name", IDS)
def test_pose_is_recorded_in_the_anatomical_frames(name):
    spec = BY_NAME[name]
    upper_arm = _body_relative(spec, "left_shoulder")
    down = np.degrees(np.arcsin(-(upper_arm @ [1.0, 0, 0])[2]))
    assert -1e-6 <= down <= 50.5
    assert (spec.pose == "A") == (down >= 20), (spec.pose, down)


def test_rest_poses_vary_beyond_t_and_a():
    x, z = np.array([1.0, 0, 0]), np.array([0, 0, 1.0])
    knee = {s.name: -_degrees(_body_relative(s, "left_hip"), x, np.array([0, 0, -1.0]))
            for s in HELDOUT}
    toes = {s.name: _degrees(_body_relative(s, "left_ankle"), z, np.array([0, -1.0, 0]))
            for s in HELDOUT}
    downs = [np.degrees(np.arcsin(-(_body_relative(s, "left_shoulder") @ x)[2]))
             for s in HELDOUT]
    assert sum(k > 2 for k in knee.values()) >= 3, knee       # thighs swung forward
    assert sum(t > 4 for t in toes.values()) >= 3, toes       # left toes turned outwards
    assert max(toes.values()) < 15 and max(knee.values()) < 10
    assert min(downs) < 1 and max(downs) > 45 and len({round(d) for d in downs}) >= 5
    neck = [s for s in HELDOUT if "neck" in s.expected]
    forward = [s.name for s in neck if (_body_relative(s, "neck") @ z)[1] < -0.05]
    assert len(forward) >= 2, forward


def test_decoys_share_joint_spots_with_the_real_bones():
    """The set tests the 'which bone of several on one spot' rule: D bones, folded spines,
    corrective roots and helper bones sit exactly where the expected bones do."""
    def head(spec, bone):
        return spec.world_heads()[spec.names().index(bone)]
    pairs = [("mmd_pmx", "左足", "左足D"), ("mmd_pmx", "左足首", "左足ＩＫ"),
             ("second_life_bento", "mChest", "mSpine3"),
             ("second_life_bento", "mPelvis", "mSpine2"),
             ("metahuman_body", "upperarm_l", "upperarm_correctiveRoot_l"),
             ("metahuman_body", "calf_r", "calf_correctiveRoot_r"),
             ("valve_biped", "ValveBiped.Bip01_L_Forearm", "ValveBiped.Bip01_L_Elbow"),
             ("cmu_mocap_bvh", "Neck", "LeftShoulder"), ("cmu_mocap_bvh", "Hips", "LHipJoint"),
             ("roblox_r15", "HumanoidRootNode", "LowerTorso")]
    for rig, real, decoy in pairs:
        spec = BY_NAME[rig]
        np.testing.assert_allclose(head(spec, real), head(spec, decoy), atol=1e-9,
                                   err_msg=f"{rig}: {real} / {decoy}")
    roblox = BY_NAME["roblox_r15"]
    assert not {"left_collar", "neck", "left_foot"} & set(roblox.expected)


@pytest.mark.parametrize("name", ["mmd_pmx", "roblox_r15", "rigify_basic_human_turned"])
def test_scrambled_keeps_structure(name):
    spec = BY_NAME[name]
    s = rig_zoo.scrambled(spec, seed=SCRAMBLE_SEED)
    assert s.parent_indices() == spec.parent_indices()
    np.testing.assert_array_equal(s.world_heads(), spec.world_heads())
    index = {n: i for i, n in enumerate(spec.names())}
    assert s.alternatives == {j: [s.names()[index[b]] for b in bs]
                              for j, bs in spec.alternatives.items()}
    for joint, bone in spec.expected.items():
        assert s.names()[index[bone]] == s.expected[joint]


# ---------------------------------------------------------------------------- mapping
@pytest.fixture(scope="module")
def report():
    return rig_zoo_heldout.heldout_report(seed=SCRAMBLE_SEED, verbose=True)


def _failures(rows):
    return {r["rig"]: (f"{r['correct']}/{r['total']}, confidence "
                       f"{'-' if r['confidence'] is None else round(r['confidence'], 3)}: "
                       + (r["error"] or ", ".join(f"{j} got {g!r} want {w!r}"
                                                  for j, (g, w) in sorted(r["wrong"].items()))))
            for r in rows if r["correct"] < r["total"]}


# First measurement on this set, before anyone looked at it: 9 of 13 rigs exactly, named and
# scrambled (69%). The mapper was then fixed for the failures it showed (a prop or grip bone
# past a finger-less hand, a head with no neck bone, extra leg-like chains: legs are the
# mirrored pair), and now maps 13 of 13; from then on the set is no longer held out (the
# honest figure is the second held-out set's, tests/test_rig_zoo_heldout2.py).
@pytest.mark.parametrize("variant", ["named", "scrambled"])
def test_heldout_rigs_map_exactly(report, variant):
    rows = [r for r in report if r["variant"] == variant]
    assert len(rows) == len(HELDOUT)
    for r in rows:
        if r["confidence"] is not None:
            assert 0.0 <= r["confidence"] <= 1.0
    share = sum(r["correct"] == r["total"] for r in rows) / len(rows)
    print(f"\n{variant}: {share:.0%} of {len(rows)} held-out rigs mapped exactly")
    assert share >= 0.9, _failures(rows)
