"""Shipped rigs, the default character and contact sheets, with real bpy (headless).

Frame convention checked here: Z up, metres, the character faces -Y, its left side is +X,
feet on the floor (z ~ 0), height ~1.67 m.
"""
from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

pytestmark = pytest.mark.blender

ROOT = Path(__file__).resolve().parents[2]

# rig -> (bone count, left thigh, right thigh, left foot, left toe, head)
RIGS = {
    "default": (163, "upperleg01.L", "upperleg01.R", "foot.L", "toe1-1.L", "head"),
    "game_engine": (53, "thigh_l", "thigh_r", "foot_l", "ball_l", "head"),
    "mixamo": (52, "mixamorig:LeftUpLeg", "mixamorig:RightUpLeg", "mixamorig:LeftFoot",
               "mixamorig:LeftToeBase", "mixamorig:Head"),
    "cmu_mb": (31, "LeftUpLeg", "RightUpLeg", "LeftFoot", "LeftToeBase", "Head"),
    "rigify": (185, "thigh.L", "thigh.R", "foot.L", "toe.L", "spine.006"),
    "rigify_toes": (213, "thigh.L", "thigh.R", "foot.L", "toe.L", "spine.006"),
}


def _load_module():
    # by file path: the module has no package-relative imports
    spec = importlib.util.spec_from_file_location(
        "anima_operators_character", ROOT / "operators" / "character.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def ch():
    return _load_module()


@pytest.fixture()
def fresh():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield bpy.context.scene


def _bone_world(obj, name):
    b = obj.data.bones[name]
    mw = obj.matrix_world
    return np.array(mw @ b.head_local), np.array(mw @ b.tail_local)


def test_rig_names(ch):
    assert set(RIGS) <= set(ch.rig_names())


@pytest.mark.parametrize("rig_name", list(RIGS))
def test_build_armature_orientation(ch, fresh, rig_name):
    count, thigh_l, thigh_r, foot_l, toe_l, head = RIGS[rig_name]
    obj = ch.build_armature(bpy.context, rig_name)
    assert obj.type == "ARMATURE"
    assert obj.name in fresh.collection.objects or obj.users_collection
    assert len(obj.data.bones) == count == len(ch.rig_data(rig_name)["bones"])
    # hierarchy as in the asset
    for b in ch.rig_data(rig_name)["bones"]:
        parent = obj.data.bones[b["name"]].parent
        assert (parent.name if parent else "") == b["parent"]

    lh, _ = _bone_world(obj, thigh_l)
    rh, _ = _bone_world(obj, thigh_r)
    assert lh[0] > 0.05 and rh[0] < -0.05, "left side must be +X"
    assert 0.7 < lh[2] < 1.0, "hips about 0.85 m above the floor"
    fh, ft = _bone_world(obj, foot_l)
    th, tt = _bone_world(obj, toe_l)
    assert ft[1] < fh[1] - 0.05, "the foot points to -Y (character faces -Y)"
    assert tt[1] < fh[1] - 0.1, "toes in front (-Y) of the ankle"
    assert fh[2] < 0.15 and min(ft[2], tt[2]) > -0.02, "feet on the floor"
    hh, ht = _bone_world(obj, head)
    assert 1.4 < hh[2] < 1.65 and ht[2] > hh[2], "head up (Z)"
    assert abs(hh[0]) < 0.005, "head on the mid-plane"

    if rig_name.startswith("rigify"):
        pb = obj.pose.bones
        assert pb["spine"].rigify_type == "spines.basic_spine"
        assert pb["upper_arm.L"].rigify_type == "limbs.super_limb"
        assert pb["thigh.L"].rigify_parameters.limb_type == "leg"
        assert "Arm.L (FK)" in obj.data.collections


def test_build_armature_into_collection(ch, fresh):
    coll = bpy.data.collections.new("Rigs")
    fresh.collection.children.link(coll)
    obj = ch.build_armature(coll, "cmu_mb", name="CMU")
    assert obj.name == "CMU" and obj.users_collection[0] is coll
    assert obj.mode == "OBJECT"


def test_generate_rigify(ch, fresh):
    meta = ch.build_armature(fresh.collection, "rigify", name="metarig")
    t0 = time.perf_counter()
    rig = ch.generate_rigify(meta)
    dt = time.perf_counter() - t0
    assert rig is not meta and rig.type == "ARMATURE"
    names = set(rig.data.bones.keys())
    for n in ("root", "torso", "hips", "chest", "neck", "head",
              "upper_arm_fk.L", "forearm_fk.L", "hand_fk.L", "hand_ik.L",
              "thigh_fk.R", "shin_fk.R", "foot_fk.R", "foot_ik.R", "toe_fk.R",
              "DEF-spine", "DEF-spine.006", "DEF-upper_arm.L", "DEF-forearm.L", "DEF-hand.L",
              "DEF-thigh.L", "DEF-shin.L", "DEF-foot.L", "DEF-toe.L",
              # bones named by the MPFB Rigify weights that are not in the meta-rig
              "DEF-upper_arm.L.001", "DEF-forearm.R.001", "DEF-thigh.L.001", "DEF-shin.R.001"):
        assert n in names, n
    # IK/FK switch on the limb parent bones, 0.0 = IK (Rigify default), 1.0 = FK
    for n in ("upper_arm_parent.L", "upper_arm_parent.R", "thigh_parent.L", "thigh_parent.R"):
        assert rig.pose.bones[n]["IK_FK"] == 0.0
    assert not [c for pb in rig.pose.bones for c in pb.constraints if not c.is_valid]
    lh, _ = _bone_world(rig, "DEF-thigh.L")
    assert lh[0] > 0.05
    assert dt < 20.0


def test_build_character(ch, fresh):
    t0 = time.perf_counter()
    arm, mesh = ch.build_character()
    dt = time.perf_counter() - t0
    assert dt < 3.0, f"build_character took {dt:.2f} s"
    assert arm.type == "ARMATURE" and mesh.type == "MESH"
    assert mesh.parent is arm
    mods = [m for m in mesh.modifiers if m.type == "ARMATURE"]
    assert len(mods) == 1 and mods[0].object is arm
    assert len(arm.data.bones) == 53

    me = mesh.data
    n = len(me.vertices)
    assert n > 13000 and len(me.polygons) > 13000
    co = np.empty(n * 3, np.float32)
    me.vertices.foreach_get("co", co)
    co = co.reshape(n, 3)
    assert abs(co[:, 2].min()) < 1e-3, "feet on the floor"
    assert 1.6 < co[:, 2].max() < 1.8, "height"
    assert abs(co[:, 0].max() + co[:, 0].min()) < 1e-3, "symmetric about x = 0"
    feet = co[co[:, 2] < 0.03]
    assert feet[:, 1].min() < -0.15 and feet[:, 1].max() < 0.1, "toes toward -Y"
    assert all(p.use_smooth for p in me.polygons[:50])
    assert len(me.materials) >= 1

    bone_names = set(arm.data.bones.keys())
    groups = {g.index: g.name for g in mesh.vertex_groups}
    assert set(groups.values()) <= bone_names
    assert {"pelvis", "head", "thigh_l", "hand_r"} <= set(groups.values())
    sums = np.zeros(n)
    for v in me.vertices:
        for g in v.groups:
            sums[v.index] += g.weight
    assert np.allclose(sums, 1.0, atol=1e-4), (sums.min(), sums.max())

    # the skin follows the bones: bend the left knee, the left foot moves, the right does not
    dg = bpy.context.evaluated_depsgraph_get()
    rest = np.array([tuple(v.co) for v in mesh.evaluated_get(dg).data.vertices])
    pb = arm.pose.bones["calf_l"]
    pb.rotation_mode = "XYZ"
    pb.rotation_euler = (-1.2, 0.0, 0.0)
    bpy.context.view_layer.update()
    dg = bpy.context.evaluated_depsgraph_get()
    posed = np.array([tuple(v.co) for v in mesh.evaluated_get(dg).data.vertices])
    moved = np.linalg.norm(posed - rest, axis=1)
    left_foot = (rest[:, 2] < 0.1) & (rest[:, 0] > 0.1)
    right_foot = (rest[:, 2] < 0.1) & (rest[:, 0] < -0.1)
    assert moved[left_foot].min() > 0.05
    assert moved[right_foot].max() < 1e-5


def test_render_contact_sheet(ch, fresh, tmp_path):
    scene = fresh
    arm, mesh = ch.build_character()
    pb = arm.pose.bones["upperarm_r"]
    pb.rotation_mode = "XYZ"
    pb.keyframe_insert("rotation_euler", frame=1)
    arm.keyframe_insert("location", frame=1)
    pb.rotation_euler = (0.0, 0.0, 1.0)
    arm.location = (0.5, -0.5, 0.0)
    pb.keyframe_insert("rotation_euler", frame=5)
    arm.keyframe_insert("location", frame=5)
    scene.frame_set(3)
    engine_before = scene.render.engine
    objects_before = set(bpy.data.objects.keys())
    meshes_before = len(bpy.data.meshes)

    out = tmp_path / "sheet.png"
    w, h = 96, 72
    res = ch.render_contact_sheet(scene, arm, [1, 5], str(out), size=(w, h))
    assert os.path.exists(res) and Path(res) == out

    img = bpy.data.images.load(str(out))
    try:
        assert tuple(img.size) == (2 * w, h)
        px = np.empty(img.size[0] * img.size[1] * 4, np.float32)
        img.pixels.foreach_get(px)
        px = px.reshape(h, 2 * w, 4)[..., :3]
        assert px.var() > 1e-4, "blank image"
        assert px[:, :w].var() > 1e-4 and px[:, w:].var() > 1e-4
        assert np.abs(px[:, :w] - px[:, w:]).max() > 0.1, "the two frames differ"
    finally:
        bpy.data.images.remove(img)

    # everything temporary is gone, settings restored
    assert set(bpy.data.objects.keys()) == objects_before
    assert len(bpy.data.meshes) == meshes_before
    assert scene.camera is None
    assert scene.frame_current == 3
    assert scene.render.engine == engine_before
    assert len(bpy.data.images) == 0
