"""Retargeting accuracy measured in real Blender, on every shipped rig plus a T-pose rig:
mapped joint positions (normalised by height) within 3% of the source on average, and feet that
are planted in the source slide at most 2 cm on the rig. The rig is evaluated by Blender
(constraints included: a generated Rigify rig is measured on its deforming bones)."""
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import retarget_accuracy as RA  # noqa: E402

pytestmark = pytest.mark.blender

MEAN_ERROR_PCT = 3.0
MAX_SLIDE_M = 0.02


@pytest.fixture(scope="module")
def walk(anima):
    return RA.library_clip("walk")


@pytest.mark.parametrize("rig", RA.RIGS)
def test_shipped_rigs_follow_the_source(anima, walk, rig):
    r = RA.measure(rig, walk)
    assert r["mean_err_pct"] < MEAN_ERROR_PCT, r
    assert r["plants"] >= 2, r
    assert r["max_slide_m"] <= MAX_SLIDE_M, r


def build_tpose_rig():
    """A T-pose armature with the canonical joints and Mixamo-style names, rotated so that
    its bones have arbitrary rolls (a rig built by someone else)."""
    from anima.backend.motion.skeleton import CANONICAL
    _, heads = CANONICAL.rest_world()
    tails = CANONICAL.rest_tails_world()
    names = {n: "mixamorig:" + "".join(w.capitalize() for w in n.split("_")) for n in
             CANONICAL.names}
    names.update({"pelvis": "mixamorig:Hips", "left_hip": "mixamorig:LeftUpLeg",
                  "right_hip": "mixamorig:RightUpLeg", "left_knee": "mixamorig:LeftLeg",
                  "right_knee": "mixamorig:RightLeg", "left_ankle": "mixamorig:LeftFoot",
                  "right_ankle": "mixamorig:RightFoot", "left_foot": "mixamorig:LeftToeBase",
                  "right_foot": "mixamorig:RightToeBase", "spine1": "mixamorig:Spine",
                  "spine2": "mixamorig:Spine1", "spine3": "mixamorig:Spine2",
                  "left_collar": "mixamorig:LeftShoulder",
                  "right_collar": "mixamorig:RightShoulder",
                  "left_shoulder": "mixamorig:LeftArm", "right_shoulder": "mixamorig:RightArm",
                  "left_elbow": "mixamorig:LeftForeArm", "right_elbow": "mixamorig:RightForeArm",
                  "left_wrist": "mixamorig:LeftHand", "right_wrist": "mixamorig:RightHand",
                  "neck": "mixamorig:Neck", "head": "mixamorig:Head"})
    arm_data = bpy.data.armatures.new("TPose")
    obj = bpy.data.objects.new("TPose", arm_data)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    rng = np.random.default_rng(3)
    for j, n in enumerate(CANONICAL.names):
        eb = arm_data.edit_bones.new(names[n])
        eb.head, eb.tail = heads[j], tails[j]
        eb.roll = float(rng.uniform(-np.pi, np.pi))
        p = CANONICAL.parents[j]
        if p >= 0:
            eb.parent = arm_data.edit_bones[names[CANONICAL.names[p]]]
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def test_tpose_rig_with_random_rolls(anima, walk, monkeypatch):
    monkeypatch.setattr(RA, "build_rig", lambda rig: build_tpose_rig())
    r = RA.measure("tpose", walk)
    assert r["mean_err_pct"] < 1.0, r
    assert r["max_slide_m"] <= MAX_SLIDE_M, r
