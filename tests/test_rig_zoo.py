"""The rig zoo (tools/rig_zoo.py): the specs are sound (hierarchy, geometry, anatomical frames,
conventions), and the automatic bone mapper maps every zoo rig, named and with its names
scrambled, onto the canonical joints the rig's convention says."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import rig_zoo  # noqa: E402
from rig_zoo_geometry import bone_matrix, roll_for_x  # noqa: E402

from backend.motion.skeleton import CANONICAL, CANONICAL_NAMES  # noqa: E402

ZOO = rig_zoo.zoo()
BY_NAME = {s.name: s for s in ZOO}
IDS = [s.name for s in ZOO]
_, CANON_POS = CANONICAL.rest_world()
CANON = dict(zip(CANONICAL_NAMES, CANON_POS))
SIDES = ("left", "right")
# Limb segments whose both ends are bone heads in every rig: joint -> next joint.
LIMB_SEGMENTS = {f"{s}_{a}": f"{s}_{b}" for s in SIDES for a, b in
                 (("hip", "knee"), ("knee", "ankle"), ("ankle", "foot"), ("collar", "shoulder"),
                  ("shoulder", "elbow"), ("elbow", "wrist"))}
MUST_MAP = ["pelvis", "spine3", "neck", "head"] + [f"{s}_{j}" for s in SIDES for j in
                                                   ("hip", "knee", "ankle", "collar",
                                                    "shoulder", "elbow", "wrist")]


def test_zoo_covers_the_conventions():
    conventions = {s.convention for s in ZOO}
    assert len(ZOO) >= 16 and len(conventions) >= 12, conventions
    assert len(set(IDS)) == len(IDS)
    for needed in ("daz_genesis3", "daz_genesis8", "daz_genesis9", "3dsmax_biped", "3dsmax_cat",
                   "character_creator", "vroid", "vrm", "mixamo", "unreal4", "unreal5",
                   "auto_rig_pro", "makehuman", "blender_metarig", "generic"):
        assert needed in conventions
    assert {s.pose for s in ZOO} == {"T", "A"}
    with_fingers = [s for s in ZOO if sum("index" in b.name.lower() or "finger" in b.name.lower()
                                          or "digit" in b.name.lower() for b in s.bones) >= 6]
    assert len(with_fingers) >= 8


@pytest.mark.parametrize("name", IDS)
def test_spec_hierarchy_and_expectations(name):
    spec = BY_NAME[name]
    assert not rig_zoo.spec_problems(spec, MUST_MAP), rig_zoo.spec_problems(spec, MUST_MAP)
    assert set(spec.alternatives) <= {"spine3"}
    if spec.convention != "auto_rig_pro_controls":
        assert {spec.expected[j] for j in ("pelvis", "left_hip", "right_knee")} \
            <= set(spec.must_move)


@pytest.mark.parametrize("name", IDS)
def test_spec_geometry_is_a_standing_human(name):
    spec = BY_NAME[name]
    heads, tails = spec.world_heads(), spec.world_tails()
    assert 1.5 <= spec.height <= 1.9
    pts = np.concatenate([heads, tails])
    assert pts[:, 2].max() <= spec.height + 0.1 and heads[:, 2].min() >= -0.01
    assert np.linalg.norm(tails - heads, axis=1).min() > 0.004  # no degenerate bones
    at = {j: heads[spec.names().index(b)] for j, b in spec.expected.items()}
    assert at["head"][2] > 0.8 * spec.height and at["left_ankle"][2] < 0.1 * spec.height
    assert at["left_shoulder"][0] > 0.1 and at["right_shoulder"][0] < -0.1  # left is +X
    if "left_foot" in at:  # the ball of the foot is in front of the ankle (-Y)
        assert at["left_foot"][1] < at["left_ankle"][1] - 0.05
    # Limb segments point where the anatomical frame says, and proportions differ from the
    # canonical skeleton (nothing matches it by accident).
    ratios = []
    for joint, child in LIMB_SEGMENTS.items():
        if joint not in at or child not in at:
            continue
        seg = at[child] - at[joint]
        canon = CANON[child] - CANON[joint]
        want = spec.anatomical[spec.expected[joint]] @ canon
        np.testing.assert_allclose(seg / np.linalg.norm(seg), want / np.linalg.norm(want),
                                   atol=1e-6, err_msg=f"{name}: {joint} -> {child}")
        ratios.append(np.linalg.norm(seg) / np.linalg.norm(canon))
    assert np.ptp(ratios) > 0.02


@pytest.mark.parametrize("name", IDS)
def test_pose_is_recorded_in_the_anatomical_frames(name):
    spec = BY_NAME[name]
    upper_arm = spec.anatomical[spec.expected["left_shoulder"]]
    down = np.degrees(np.arcsin(-(upper_arm @ [1.0, 0, 0])[2]))
    if spec.pose == "A":
        assert 35 <= down <= 55
    else:
        assert abs(down) < 1e-6
        np.testing.assert_allclose(spec.anatomical[spec.expected["left_knee"]], np.eye(3),
                                   atol=1e-9)


def test_bone_axis_conventions_differ_between_rigs():
    """Blender-style rigs point each limb bone at its child; Biped/UE4 FBX imports (no
    Automatic Bone Orientation) point them sideways; CAT points every bone along world X."""
    def angle_to_child(spec, joint, child):
        i, c = spec.names().index(spec.expected[joint]), spec.names().index(spec.expected[child])
        heads, tails = spec.world_heads(), spec.world_tails()
        a, b = tails[i] - heads[i], heads[c] - heads[i]
        cos = np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b)
        return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    for name in ("biped_standard", "biped_triangle_pelvis", "ue4_mannequin"):
        for joint, child in LIMB_SEGMENTS.items():
            assert angle_to_child(BY_NAME[name], joint, child) > 60, (name, joint)
    # Daz's Bend bones end at the Twist bone's head and lFoot at lMetatarsals, not the child.
    daz_split = ("hip", "shoulder", "elbow", "ankle")
    for name in ("daz_g8_apose", "mixamo_fbx", "vroid_tpose", "blender_metarig"):
        for joint, child in LIMB_SEGMENTS.items():
            if not (name.startswith("daz") and joint.endswith(daz_split)):
                assert angle_to_child(BY_NAME[name], joint, child) < 1e-3, (name, joint)
    # Biped / UE4 nodes have X along the limb: the Blender bone's X axis points at the child.
    for name in ("biped_standard", "ue4_mannequin"):
        spec = BY_NAME[name]
        rot = spec.object_matrix() / spec.object_scale
        for joint, child in LIMB_SEGMENTS.items():
            bone = spec.bones[spec.names().index(spec.expected[joint])]
            x_world = rot @ bone_matrix(bone.head, bone.tail, bone.roll)[:, 0]
            heads = spec.world_heads()
            to_child = heads[spec.names().index(spec.expected[child])] - \
                heads[spec.names().index(bone.name)]
            np.testing.assert_allclose(x_world, to_child / np.linalg.norm(to_child), atol=1e-9)
    cat = BY_NAME["cat_base_human"]
    d = cat.world_tails() - cat.world_heads()
    np.testing.assert_allclose(d[:, 1:], 0, atol=1e-9)
    assert (d[:, 0] > 0).all()


def test_ik_and_control_bones_hang_from_the_root_not_the_limbs():
    for name in ("ue4_mannequin", "ue5_manny"):
        spec = BY_NAME[name]
        parents = dict(zip(spec.names(), (b.parent for b in spec.bones)))
        heads = dict(zip(spec.names(), spec.world_heads()))
        for side in ("l", "r"):
            chain, bone = [], f"ik_foot_{side}"
            while bone:
                chain.append(bone)
                bone = parents[bone]
            assert chain[-1] == "root" and not {f"thigh_{side}", "pelvis"} & set(chain)
            np.testing.assert_allclose(heads[f"ik_foot_{side}"], heads[f"foot_{side}"])
            np.testing.assert_allclose(heads[f"ik_hand_{side}"], heads[f"hand_{side}"])


def test_fbx_imports_are_rotated_and_in_centimetres():
    for name in ("mixamo_fbx", "cc4_apose", "ue4_mannequin", "biped_triangle_pelvis"):
        spec = BY_NAME[name]
        assert spec.object_scale == 0.01
        np.testing.assert_allclose(spec.object_rotation, (np.pi / 2, 0, 0))
        arm = np.array([b.head for b in spec.bones])
        assert arm[:, 1].max() > 100  # Y up in armature space, centimetres


def test_bone_matrix_and_roll():
    rng = np.random.default_rng(3)
    for _ in range(50):
        head, tail = rng.normal(size=3), rng.normal(size=3)
        roll = rng.uniform(-np.pi, np.pi)
        m = bone_matrix(head, tail, roll)
        np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-9)
        np.testing.assert_allclose(m[:, 1], (tail - head) / np.linalg.norm(tail - head),
                                   atol=1e-9)
        assert roll_for_x(head, tail, m[:, 0]) == pytest.approx(roll, abs=1e-7)
    # Blender's roll-0 frame of a bone along +Z has X = +X (so Z = -Y); along +X, X = -Y.
    np.testing.assert_allclose(bone_matrix([0, 0, 0], [0, 0, 1], 0.0),
                               [[1, 0, 0], [0, 0, -1], [0, 1, 0]], atol=1e-12)
    np.testing.assert_allclose(bone_matrix([0, 0, 0], [1, 0, 0], 0.0)[:, 0], [0, -1, 0],
                               atol=1e-12)


@pytest.mark.parametrize("name", IDS[:4] + ["biped_standard", "ue5_manny"])
def test_scrambled_keeps_structure(name):
    spec = BY_NAME[name]
    s = rig_zoo.scrambled(spec, seed=5)
    assert s.parent_indices() == spec.parent_indices()
    np.testing.assert_array_equal(s.world_heads(), spec.world_heads())
    assert s.alternatives == {j: [s.names()[spec.names().index(b)] for b in bs]
                              for j, bs in spec.alternatives.items()}
    assert not set(s.names()) & set(spec.names()) and len(set(s.names())) == len(s.names())
    index = {n: i for i, n in enumerate(spec.names())}
    for joint, bone in spec.expected.items():
        assert s.names()[index[bone]] == s.expected[joint]
        np.testing.assert_array_equal(s.anatomical[s.expected[joint]], spec.anatomical[bone])
    assert [s.names()[index[b]] for b in spec.must_move] == s.must_move
    assert rig_zoo.scrambled(spec, seed=5).names() == s.names()
    assert rig_zoo.scrambled(spec, seed=6).names() != s.names()


# ---------------------------------------------------------------------------- mapping
@pytest.mark.parametrize("name", IDS)
def test_named_rig_maps_exactly(name):
    correct, wrong, error = rig_zoo.map_spec(BY_NAME[name])
    assert not error, error
    assert not wrong, {j: f"got {g!r}, want {w!r}" for j, (g, w) in wrong.items()}


def test_scrambled_zoo_maps_by_topology():
    """With meaningless names, at least 90% of the zoo still maps exactly."""
    rows = rig_zoo.zoo_mapping_report(seed=11, verbose=True)
    exact = [r["rig"] for r in rows if r["scrambled_ok"] == r["total"]]
    assert len(exact) >= 0.9 * len(rows), f"only {len(exact)}/{len(rows)} map exactly: {exact}"
