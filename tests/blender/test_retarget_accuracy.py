"""Retargeting as a user sees it, measured in real Blender on the shipped rigs and on the rig
zoo built by code (tools/rig_zoo.py: Daz, Biped, CAT, CC, VRoid/VRM, Mixamo FBX, Unreal,
Auto-Rig Pro, MakeHuman, the Human meta-rig, meaningless names), on a walk and on an arm-heavy
clip: mapping, joint positions, segment directions, the way end bones face, planted feet,
bones that must move; and the round trip canonical -> rig -> canonical.
Figures and method: docs/retargeting.md (tools/retarget_accuracy.py prints them all)."""
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import retarget_accuracy as RA  # noqa: E402
import rig_zoo  # noqa: E402

pytestmark = pytest.mark.blender

# The targets, for every rig and both clips.
MEAN_ERROR_PCT = 2.0
P95_ERROR_PCT = 5.0
SEGMENT_DEG = 3.0           # mean segment direction error
LEAF_DEG = 5.0              # mean end-bone orientation error (rigs with known anatomy)
MAX_SLIDE_M = 0.02
ROUND_TRIP_PCT = 1.0
ROUND_TRIP_DEG = 2.0

ZOO = {s.name: s for s in rig_zoo.zoo()}
# Rigs over the mean-position target today, with what they measure (docs/retargeting.md):
# their shoulders sit lower or higher on the neck than the source's, a rest-shape difference
# that the position figure counts on every frame (segments and end bones are within target).
OVER_TARGET_MEAN_PCT = {"rigify_generated": 2.6, "ue5_manny": 2.3}
# A rig with two spine bones cannot bend where the canonical spine2 bends: after the round
# trip the chest sits 1.3% of the height off (docs/retargeting.md).
OVER_TARGET_ROUND_TRIP_PCT = {"arp_export": 1.4}


@pytest.fixture(scope="module")
def clips(anima):
    return {c: RA.library_clip(c) for c in RA.CLIPS}


def _check(r, mean_pct=MEAN_ERROR_PCT, leaf=True):
    assert "error" not in r, r
    assert r["mean_err_pct"] <= mean_pct, r
    assert r["p95_err_pct"] <= P95_ERROR_PCT, r
    assert r["seg_mean_deg"] <= SEGMENT_DEG, r
    if leaf:
        assert r["leaf_mean_deg"] <= LEAF_DEG, r
    assert r["plants"] >= 1, r
    assert r["max_slide_m"] <= MAX_SLIDE_M, r


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_rig_maps_and_follows_the_source(anima, clips, name):
    for caption, clip in clips.items():
        r = RA.measure_zoo(ZOO[name], clip)
        assert r["mapping_ok"], r
        assert r.get("unmoved", "-") == "-", r
        _check(r, OVER_TARGET_MEAN_PCT.get(name, MEAN_ERROR_PCT))


@pytest.mark.parametrize("rig", RA.RIGS)
def test_shipped_rigs_follow_the_source(anima, clips, rig):
    for caption, clip in clips.items():
        r = RA.measure(rig, clip)
        # Shipped rigs carry no anatomical frames: their end-bone figure is a model's guess.
        _check(r, OVER_TARGET_MEAN_PCT.get(rig, MEAN_ERROR_PCT), leaf=False)


@pytest.mark.parametrize("name", ["daz_g8_apose", "biped_triangle_pelvis", "cat_base_human",
                                  "mixamo_fbx", "ue5_manny", "generic_bones"])
def test_scrambled_names_map_by_shape_in_blender(anima, clips, name):
    """The operator path (auto_map_armature) on a rig whose bones have random names."""
    spec = rig_zoo.scrambled(ZOO[name], 11)
    r = RA.measure_zoo(spec, clips["walk"])
    assert r["mapping_ok"], r
    _check(r, OVER_TARGET_MEAN_PCT.get(name, MEAN_ERROR_PCT))


@pytest.mark.parametrize("name", sorted(ZOO))
def test_round_trip_canonical_rig_canonical(anima, clips, name):
    """canonical clip -> zoo rig -> canonical clip (inverse retarget through Blender's
    evaluated pose): positions within 1% of height, segments within 2 degrees (mean; the
    forward foot locking and leg IK change the legs a little on purpose)."""
    from anima.backend.eval import retarget_metrics as M
    from anima.backend.motion.skeleton import CANONICAL
    from anima.operators import retarget, rig_motion
    clip = clips["punch/strike"].slice(0, 90)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = int(round(clip.fps)), 1.0
    arm = rig_zoo.build_rig(ZOO[name])
    retarget.apply_clip_to_armature(arm, clip, frame_start=1, scene=scene)
    back = rig_motion.canonical_clip_from_armature(arm, 1, clip.num_frames)
    a, b = clip.positions(), back.positions()
    start = lambda p: p - p[:1].mean(axis=1, keepdims=True)  # noqa: E731
    err = np.linalg.norm(start(a) - start(b), axis=-1) / CANONICAL.height()
    pairs = [(CANONICAL.index(x), CANONICAL.index(y)) for x, y in M.SEGMENTS]
    seg = M.segment_angles(a, b, pairs)
    limit = OVER_TARGET_ROUND_TRIP_PCT.get(name, ROUND_TRIP_PCT)
    assert 100 * err.mean() <= limit, (100 * err.mean(), 100 * err.max())
    assert seg.mean() <= ROUND_TRIP_DEG, (seg.mean(), seg.max())


def build_tpose_rig():
    """A T-pose armature with the canonical joints and Mixamo-style names, rotated so that
    its bones have arbitrary rolls (a rig built by someone else)."""
    from anima.backend.motion.skeleton import CANONICAL
    _, heads = CANONICAL.rest_world()
    tails = CANONICAL.rest_tails_world()
    arm_data = bpy.data.armatures.new("TPose")
    obj = bpy.data.objects.new("TPose", arm_data)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    rng = np.random.default_rng(3)
    for j, n in enumerate(CANONICAL.names):
        eb = arm_data.edit_bones.new("mixamorig:" + n)
        eb.head, eb.tail = heads[j], tails[j]
        eb.roll = float(rng.uniform(-np.pi, np.pi))
        p = CANONICAL.parents[j]
        if p >= 0:
            eb.parent = arm_data.edit_bones["mixamorig:" + CANONICAL.names[p]]
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def test_tpose_rig_with_random_rolls(anima, clips, monkeypatch):
    """The canonical skeleton itself with random bone rolls: rolls change nothing (what is
    left is foot locking, which pins planted ankles on purpose)."""
    monkeypatch.setattr(RA, "build_rig", lambda rig: build_tpose_rig())
    r = RA.measure("tpose", clips["walk"])
    assert r["mean_err_pct"] < 1.5, r
    assert r["seg_mean_deg"] < 1.0, r
    assert r["leaf_mean_deg"] < 0.5, r
    assert r["max_slide_m"] <= MAX_SLIDE_M, r
