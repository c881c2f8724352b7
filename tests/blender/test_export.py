"""Motion back from the rig (operators/rig_motion.py) and export (operators/export.py) in real
Blender: canonical clip -> rig -> canonical clip round trips on every shipped rig, and exports
through Blender's FBX / glTF / BVH exporters and the backend's canonical BVH that, applied
again, move like the source; the user's scene is left as it was."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import retarget_accuracy as RA  # noqa: E402
from test_motion_file import data_names, mapped_positions  # noqa: E402

pytestmark = pytest.mark.blender

ROUND_TRIP_POS_PCT = 1.0       # worst joint, % of height
ROUND_TRIP_DIR_DEG = 2.0       # worst segment direction


@pytest.fixture(scope="module")
def walk(anima):
    return RA.library_clip("walk")


def segment_directions(positions):
    from anima.backend.motion.skeleton import CANONICAL
    p = CANONICAL.parents
    v = positions[:, 1:] - positions[:, p[1:]]
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def round_trip(clip, rig: str, foot_ik: bool):
    """(position error % of height (T, J), direction error degrees (T, J-1)) of clip ->
    rig -> canonical_clip_from_armature."""
    from anima.backend.motion.retarget import position_error
    from anima.backend.motion.skeleton import CANONICAL
    from anima.operators import retarget, rig_motion
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = 30
    arm = RA.build_rig(rig)
    retarget.apply_clip_to_armature(arm, clip, frame_start=1, scene=scene, foot_ik=foot_ik)
    back = rig_motion.canonical_clip_from_armature(arm)
    assert back.num_frames == clip.num_frames and back.fps == 30.0
    assert back.skeleton.names == CANONICAL.names
    a, b = clip.positions(), back.positions()
    pos = 100 * position_error(a, CANONICAL.height(), b, CANONICAL.height())
    cos = np.clip(np.sum(segment_directions(a) * segment_directions(b), axis=-1), -1, 1)
    return pos, np.degrees(np.arccos(cos))


@pytest.mark.parametrize("rig", ["default", "game_engine", "mixamo", "cmu_mb", "rigify"])
def test_round_trip_on_shipped_rigs(anima, walk, rig):
    pos, ang = round_trip(walk, rig, foot_ik=False)
    print(f"{rig}: position max {pos.max():.3f}% mean {pos.mean():.3f}%, "
          f"direction max {ang.max():.3f} mean {ang.mean():.3f} deg")
    assert pos.max() < ROUND_TRIP_POS_PCT
    assert ang.max() < ROUND_TRIP_DIR_DEG


def test_round_trip_with_foot_contacts(anima, walk):
    """With foot IK (the default) the rig's planted feet are locked on purpose, so the legs
    differ a little from the source at times; on average the motion still comes back."""
    pos, ang = round_trip(walk, "game_engine", foot_ik=True)
    print(f"game_engine, foot IK: position mean {pos.mean():.3f}%, direction mean "
          f"{ang.mean():.3f} p95 {np.percentile(ang, 95):.3f} deg")
    assert pos.mean() < ROUND_TRIP_POS_PCT
    assert np.percentile(ang, 95) < ROUND_TRIP_DIR_DEG


def test_round_trip_on_generated_rigify(anima, walk):
    """A generated Rigify rig moves through its FK controls and constraints."""
    pos, ang = round_trip(walk, "rigify_generated", foot_ik=False)
    print(f"rigify_generated: position max {pos.max():.3f}% mean {pos.mean():.3f}%, "
          f"direction max {ang.max():.3f} mean {ang.mean():.3f} deg")
    assert pos.mean() < ROUND_TRIP_POS_PCT
    assert ang.mean() < ROUND_TRIP_DIR_DEG


# ----------------------------------------------------------------------------- export
def scene_state(arm):
    scene = bpy.context.scene
    layer = bpy.context.view_layer
    anim = arm.animation_data
    return dict(data=data_names(), action=anim.action.name if anim.action else None,
                selected=sorted(o.name for o in layer.objects if o.select_get()),
                active=layer.objects.active.name if layer.objects.active else None,
                frames=(scene.frame_start, scene.frame_end, scene.frame_current),
                modes=[pb.rotation_mode for pb in arm.pose.bones],
                mapping=len(arm.data.anima_mapping.joints))


@pytest.fixture()
def hero(fresh_scene, walk):
    """The default character walking (action on frames 1..85), a camera selected."""
    from anima.operators import character, retarget
    scene = fresh_scene
    scene.render.fps = 30
    scene.frame_start, scene.frame_end = 1, 250
    arm, body = character.build_character(scene.collection, "Hero")
    retarget.apply_clip_to_armature(arm, walk, frame_start=1, scene=scene)
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    bpy.context.view_layer.update()
    cam.select_set(True)
    bpy.context.view_layer.objects.active = arm
    scene.frame_set(12)
    return arm


@pytest.mark.parametrize("fmt,name", [("FBX", "hero.fbx"), ("GLTF", "hero.glb"),
                                      ("BVH", "hero.bvh"), ("CANONICAL_BVH", "hero_c.bvh")])
def test_export_applies_back_like_the_source(hero, walk, tmp_path, fmt, name):
    from anima.backend.motion.retarget import position_error
    from anima.backend.motion.skeleton import CANONICAL
    from anima.operators import character, export, motion_file, retarget
    arm = hero
    state = scene_state(arm)
    path = export.export_motion(arm, tmp_path / name, fmt)
    assert path == str(tmp_path / name) and os.path.getsize(path) > 1000
    assert scene_state(arm) == state
    bm, _ = retarget.ensure_mapping(arm)
    joints = [j for j in CANONICAL.names if j in bm.bones]
    frames = 1 + np.arange(walk.num_frames)
    src, src_h = mapped_positions(arm, frames, joints)
    target = character.build_armature(bpy.context.scene.collection, "game_engine", "Target")
    action = motion_file.apply_motion_file(target, path, frame_start=1)
    assert tuple(action.frame_range) == (1.0, float(walk.num_frames))
    tgt, tgt_h = mapped_positions(target, frames, joints)
    err = 100 * float(position_error(src, src_h, tgt, tgt_h).mean())
    print(f"{fmt} -> game_engine: {err:.3f}% of height")
    assert err < 1.5


def test_export_root_motion_options(hero, walk, tmp_path):
    """ROOT_BONE puts the travel on the root bone, IN_PLACE removes it, in the file."""
    from anima.operators import export, file_import, retarget, rig_motion
    arm = hero
    bm, _ = retarget.ensure_mapping(arm)
    state = scene_state(arm)
    travel = {}
    for option in ("ROOT_BONE", "IN_PLACE", "HIPS"):
        path = export.export_motion(arm, tmp_path / f"{option}.fbx", "FBX", option)
        assert scene_state(arm) == state
        with file_import.imported_scene(path, 30.0) as scene:
            src = next(o for o in scene.objects if o.type == "ARMATURE")
            frames = np.array([float(x) for x in src.animation_data.action.frame_range])
            skel = retarget.armature_skeleton(src)
            _, pos = rig_motion.evaluated_world_pose(src, frames, scene)
            travel[option] = {b: float(np.linalg.norm(pos[-1, skel.index(b), :2]
                                                      - pos[0, skel.index(b), :2]))
                              for b in (bm.root_bone, bm.bones["pelvis"])}
    assert state["data"] == data_names()
    root, hips = bm.root_bone, bm.bones["pelvis"]
    assert travel["ROOT_BONE"][root] > 1.0 and travel["ROOT_BONE"][hips] > 1.0, travel
    assert travel["HIPS"][root] < 1e-4 and travel["HIPS"][hips] > 1.0, travel
    assert travel["IN_PLACE"][root] < 1e-4 and travel["IN_PLACE"][hips] < 0.25, travel


def test_export_errors_change_nothing(hero, walk, tmp_path):
    from anima.operators import character, export, retarget
    arm = hero
    state = scene_state(arm)
    with pytest.raises(export.ExportError, match="needs a file ending in .fbx"):
        export.export_motion(arm, tmp_path / "hero.glb", "FBX")
    with pytest.raises(export.ExportError, match="Folder not found"):
        export.export_motion(arm, tmp_path / "nowhere" / "hero.fbx", "FBX")
    assert scene_state(arm) == state
    # A rig without a root bone cannot carry root motion on one.
    mixamo = character.build_armature(bpy.context.scene.collection, "mixamo", "NoRoot")
    user = retarget.apply_clip_to_armature(mixamo, walk, frame_start=1)
    state = scene_state(mixamo)
    with pytest.raises(ValueError, match="root bone"):
        export.export_motion(mixamo, tmp_path / "noroot.fbx", "FBX", "ROOT_BONE")
    assert scene_state(mixamo) == state and mixamo.animation_data.action == user
    assert not os.path.exists(tmp_path / "noroot.fbx")
    still = character.build_armature(bpy.context.scene.collection, "game_engine", "Still")
    with pytest.raises(export.ExportError, match="no active action"):
        export.export_motion(still, tmp_path / "still.fbx", "FBX")


def test_export_operator_in_pose_mode(hero, tmp_path):
    bpy.ops.object.mode_set(mode="POSE")
    state = scene_state(hero)
    path = str(tmp_path / "hero")
    assert bpy.ops.anima.export_motion(filepath=path, format="GLTF",
                                       root_motion="IN_PLACE") == {"FINISHED"}
    assert os.path.getsize(path + ".glb") > 1000
    assert hero.mode == "POSE" and scene_state(hero) == state     # the glTF exporter leaves it
    with pytest.raises(RuntimeError, match="needs a file ending in .bvh"):
        bpy.ops.anima.export_motion(filepath=str(tmp_path / "x.fbx"), format="BVH")
