"""Bone mapping by skeleton shape (backend/motion/topology.py via bonemap.auto_map): what it
refuses and why, what it reports, and that it does not depend on names or facing."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import rig_zoo  # noqa: E402

from backend.motion import quat  # noqa: E402
from backend.motion.bonemap import LOW_CONFIDENCE, BoneMap, MappingError, auto_map  # noqa: E402
from backend.motion.skeleton import CANONICAL, CANONICAL_NAMES  # noqa: E402
from backend.motion.topology import TopologyError, geometric_map  # noqa: E402

ZOO = {s.name: s for s in rig_zoo.zoo()}


def _canonical_rig():
    _, heads = CANONICAL.rest_world()
    return list(CANONICAL_NAMES), list(CANONICAL.parents), heads.copy(), \
        CANONICAL.rest_tails_world().copy()


def test_canonical_skeleton_maps_onto_itself():
    names, parents, heads, tails = _canonical_rig()
    idx, conf, notes, root = geometric_map(parents, heads, tails)
    assert {j: names[i] for j, i in idx.items()} == {n: n for n in CANONICAL_NAMES}
    assert min(conf.values()) > 0.5


@pytest.mark.parametrize("turn_deg", [90.0, 180.0, -90.0])
def test_facing_any_direction(turn_deg):
    """A rig standing facing +Y or +-X maps the same (left stays the character's left)."""
    spec = ZOO["vrm_humanoid"]
    q = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.radians(turn_deg))
    heads = quat.rotate(q, spec.world_heads())
    tails = quat.rotate(q, spec.world_tails())
    bm = auto_map(spec.names(), spec.parent_indices(), heads, tails)
    assert all(bm.bones[j] == b for j, b in spec.expected.items())


def test_quadruped_is_refused_with_a_reason():
    """A four-legged rig: spine horizontal, legs at both ends."""
    names, parents, heads = rig_zoo.quadruped()
    with pytest.raises(TopologyError):
        geometric_map(parents, heads)
    with pytest.raises(MappingError, match="not a humanoid"):
        auto_map(names, parents, heads)


def test_rig_missing_an_arm_is_refused():
    spec = ZOO["generic_bones"]
    names, parents = spec.names(), spec.parent_indices()
    drop = set()
    arm = spec.expected["right_collar"]
    for i, n in enumerate(names):       # the right arm and everything below it
        j = i
        while j >= 0:
            if names[j] == arm:
                drop.add(i)
                break
            j = parents[j]
    keep = [i for i in range(len(names)) if i not in drop]
    pos = {old: new for new, old in enumerate(keep)}
    kept_parents = [pos[parents[i]] if parents[i] >= 0 else -1 for i in keep]
    with pytest.raises(MappingError, match="right"):
        auto_map([names[i] for i in keep], kept_parents, spec.world_heads()[keep],
                 spec.world_tails()[keep])


def test_mapping_reports_confidence_and_notes():
    spec = ZOO["biped_triangle_pelvis"]
    bm = auto_map(spec.names(), spec.parent_indices(), spec.world_heads(), spec.world_tails())
    assert set(bm.confidence) == set(bm.bones)
    assert 0.5 < bm.overall_confidence <= 1.0
    assert any("pelvis" in n for n in bm.notes)      # the Biped pelvis rule is explained
    report = bm.report()
    assert "Bip001 Pelvis" in report and "confidence" in report


def test_names_that_contradict_the_shape_lower_confidence():
    """A rig whose names say left where the bones are on the right: the shape wins, the
    mapping says it is unsure, and the panel / log warn."""
    spec = ZOO["ue4_mannequin"]
    names = [n[:-2] + ("_r" if n.endswith("_l") else "_l") if n.endswith(("_l", "_r")) else n
             for n in spec.names()]
    bm = auto_map(names, spec.parent_indices(), spec.world_heads(), spec.world_tails())
    assert bm.bones["left_hip"] == "thigh_r"          # geometry: the bone on the left side
    assert bm.low_confidence(), bm.report()
    assert bm.overall_confidence < LOW_CONFIDENCE


def test_names_alone_still_work_without_rest_positions():
    spec = ZOO["mixamo_fbx"]
    bm = auto_map(spec.names(), spec.parent_indices())
    assert bm.method == "names"
    assert bm.bones["left_shoulder"] == spec.expected["left_shoulder"]


def test_preset_round_trip_keeps_the_mapping_only():
    bm = BoneMap("x", {"pelvis": "hips"}, None, {}, {"pelvis": 0.3}, ["note"], "shape")
    back = BoneMap.from_json(bm.to_json())
    assert back.bones == bm.bones and back.confidence == {}
