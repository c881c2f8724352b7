"""SMPL-X bodies and SMPL-X export in real Blender, with the real backend job and synthetic
model files in the SMPL-X layout (tests/smplx_synthetic.py; the real files cannot be shipped)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
pytest.importorskip("smplx")
pytestmark = pytest.mark.blender

TESTS = Path(__file__).resolve().parents[1]


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


syn = _load("smplx_synthetic", TESTS / "smplx_synthetic.py")
VERTS_PER_JOINT = 8          # model_arrays' default: joint j owns vertices j*8 .. j*8+7


@pytest.fixture()
def models(fresh_scene, tmp_path):
    """Synthetic SMPL-X files in the official layout, set in the add-on preferences."""
    from anima import preferences
    folder = tmp_path / "models"
    syn.write_model(folder / "smplx", "smplx", "neutral", seed=0)
    syn.write_model(folder / "smplx", "smplx", "female", seed=1)
    prefs = preferences.get_prefs()
    prefs.smplx_folder = str(folder)
    yield folder
    prefs.smplx_folder = ""


def _body_objects():
    arm = bpy.context.view_layer.objects.active
    assert arm is not None and arm.type == "ARMATURE"
    meshes = [o for o in arm.children if o.type == "MESH"]
    assert len(meshes) == 1
    return arm, meshes[0]


def _mesh_weights(mesh_obj, joint_names):
    W = np.zeros((len(mesh_obj.data.vertices), len(joint_names)))
    col = {vg.index: joint_names.index(vg.name) for vg in mesh_obj.vertex_groups}
    for v in mesh_obj.data.vertices:
        for g in v.groups:
            W[v.index, col[g.group]] = g.weight
    return W


def test_without_a_model_folder_the_user_is_told_what_to_download(fresh_scene):
    from anima import preferences
    assert preferences.get_prefs().smplx_folder == ""
    before = len(bpy.data.objects)
    with pytest.raises(RuntimeError, match=r"smpl-x\.is\.tue\.mpg\.de.*models_smplx_v1_1\.zip"):
        bpy.ops.anima.add_smplx_body()
    assert len(bpy.data.objects) == before

    from anima.panels import body as body_panel
    panels = _load("anima_test_panels", Path(__file__).parent / "test_panels.py")
    log = []
    panel = type("P", (), {})()
    panel.layout = panels.RecordingLayout(log)
    body_panel.ANIMA_PT_smplx.draw(panel, bpy.context)
    text = " ".join(t for k, t in log if k == "label")
    assert "smpl-x.is.tue.mpg.de" in text and "SMPL-X Model Folder" in text
    assert ("operator", "anima.export_smplx") in log
    assert ("operator", "anima.add_smplx_body") not in log


def test_add_body_builds_a_skinned_mesh_on_a_mapped_armature(session, models):
    from anima.operators import retarget
    from backend.body.smplx_body import build_body
    from backend.motion.skeleton import CANONICAL_NAMES

    betas = (1.0, -0.5) + (0.0,) * 8
    assert bpy.ops.anima.add_smplx_body(gender="female", betas=betas) == {"FINISHED"}
    arm, mesh = _body_objects()
    expected = build_body(models, "female", betas)
    names = expected.joint_names
    assert sorted(b.name for b in arm.data.bones) == sorted(names) and len(names) == 55
    for j, n in enumerate(names):
        parent = arm.data.bones[n].parent
        assert (parent.name if parent else None) == \
            (names[expected.parents[j]] if expected.parents[j] >= 0 else None)
    heads = np.array([arm.data.bones[n].head_local for n in names])
    np.testing.assert_allclose(heads, expected.joints, atol=1e-5)
    co = np.array([v.co for v in mesh.data.vertices])
    np.testing.assert_allclose(co, expected.vertices, atol=1e-5)
    assert len(mesh.data.polygons) == len(expected.faces)
    W = _mesh_weights(mesh, names)
    np.testing.assert_allclose(W, expected.weights, atol=1e-6)
    np.testing.assert_allclose(W.sum(axis=1), 1.0, atol=1e-5)
    mod = next(m for m in mesh.modifiers if m.type == "ARMATURE")
    assert mod.object == arm and mesh.parent == arm
    assert arm["anima_smplx_gender"] == "female"
    # The automatic mapping finds every canonical joint on its own bone.
    auto = retarget.auto_map_armature(arm)
    assert all(auto.bones.get(c) == c for c in CANONICAL_NAMES)
    stored = retarget.mapping_from_props(arm.data.anima_mapping)
    assert all(stored.bones[c] == c for c in CANONICAL_NAMES)


def test_a_file_of_the_wrong_model_is_refused_and_nothing_is_added(session, models):
    np.savez(models / "smplx" / "SMPLX_MALE.npz", **syn.model_arrays("smplh"))
    before = len(bpy.data.objects)
    with pytest.raises(RuntimeError, match=r"looks like SMPL\+H"):
        bpy.ops.anima.add_smplx_body(gender="male")
    assert len(bpy.data.objects) == before


def test_the_body_mesh_follows_amass_motion(fresh_scene, models, tmp_path):
    """Motion from an AMASS file, imported rest-aware with the body's own rest joints and
    applied like any clip: each joint's vertex cluster (centred on the joint, weighted to it
    and its parent) stays centred on the posed bone's head, frame after frame."""
    from anima.backend.motion import amass
    from anima.operators import body, retarget
    from backend.body.smplx_body import build_body

    arm, mesh = body.build_smplx_objects(build_body(models).to_arrays(),
                                         fresh_scene.collection, "Body")
    poses, trans = syn.random_amass_poses(45, seed=7)
    np.savez(tmp_path / "walk.npz", poses=poses, trans=trans, mocap_frame_rate=np.array(30.0),
             gender=np.array("neutral"))
    rest = np.array(arm["anima_smplx_joints_model"]).reshape(55, 3)
    clip = amass.load_amass(tmp_path / "walk.npz", rest_joints=rest)
    fresh_scene.render.fps = 30
    retarget.apply_clip_to_armature(arm, clip, frame_start=1)
    names = [str(n) for n in build_body(models).joint_names]
    rest_co = np.array([v.co for v in mesh.data.vertices])
    moved = 0.0
    for frame in (1, 20, 45):
        fresh_scene.frame_set(frame)
        dg = bpy.context.evaluated_depsgraph_get()
        ev = mesh.evaluated_get(dg)
        co = np.array([(ev.matrix_world @ v.co)[:] for v in ev.data.vertices])
        centres = co.reshape(55, VERTS_PER_JOINT, 3).mean(axis=1)
        heads = np.array([(arm.matrix_world @ arm.pose.bones[n].head)[:] for n in names])
        np.testing.assert_allclose(centres, heads, atol=1e-4)
        moved = max(moved, np.abs(co - rest_co).max())
    assert moved > 0.1


def test_export_smplx_writes_the_rigs_motion(fresh_scene, models, tmp_path):
    from anima.backend.motion import amass
    from anima.operators import body, retarget, rig_motion
    from backend.body.smplx_body import build_body

    arm, _mesh = body.build_smplx_objects(build_body(models, betas=[0.5]).to_arrays(),
                                          fresh_scene.collection, "Body")
    poses, trans = syn.random_amass_poses(30, seed=3)
    np.savez(tmp_path / "m.npz", poses=poses, trans=trans, mocap_framerate=np.array(30.0))
    fresh_scene.render.fps = 30
    applied = amass.load_amass(tmp_path / "m.npz")
    retarget.apply_clip_to_armature(arm, applied, frame_start=1)
    for o in bpy.context.view_layer.objects:
        o.select_set(False)
    arm.select_set(True)
    bpy.context.view_layer.objects.active = arm

    out = tmp_path / "export.npz"
    assert bpy.ops.anima.export_smplx(filepath=str(out)) == {"FINISHED"}
    with np.load(out) as z:
        assert z["poses"].shape == (30, 165) and str(z["surface_model_type"]) == "smplx"
        np.testing.assert_allclose(z["betas"][:1], [0.5])
    exported = amass.load_amass(out, ground=False)
    rig_clip = rig_motion.canonical_clip_from_armature(arm)
    np.testing.assert_allclose(exported.positions(), rig_clip.positions(), atol=1e-3)
    # Through the SMPL-X rig and back, the motion is still the one applied.
    err = np.linalg.norm(exported.positions() - exported.positions()[:, :1]
                         - (applied.positions() - applied.positions()[:, :1]), axis=-1)
    assert err.mean() < 0.001 and err.max() < 0.01, (err.mean(), err.max())

    with pytest.raises(RuntimeError, match="Folder does not exist"):
        bpy.ops.anima.export_smplx(filepath=str(tmp_path / "nowhere" / "x.npz"))
    assert not (tmp_path / "nowhere").exists()
