"""Motion files onto the rig (operators/motion_file.py) in real Blender: BVH, FBX, glb made by
Blender's own exporters, Anima and AMASS .npz; the rig must move like the source (mapped joint
world positions normalised by height), the import must leave nothing behind, and bad input
must be refused with a clear message and no change to the scene."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import retarget_accuracy as RA  # noqa: E402

pytestmark = pytest.mark.blender

# Mean error of the mapped joints in % of height: file -> game_engine rig measures ~0.4-0.5%.
MEAN_ERROR_PCT = 1.5


@pytest.fixture(scope="module")
def walk(anima):
    return RA.library_clip("walk")


def write_clip_bvh(path, clip):
    """A canonical clip as a standard (Y up, cm) BVH file, written by the backend."""
    from anima.backend.motion import axes
    from anima.backend.motion.bvh import write_bvh
    skel, rots, root = axes.skeleton_clip_blender_to_y_up(clip.skeleton, clip.local_rotations,
                                                          clip.root_translation)
    write_bvh(path, skel, rots, root, clip.fps)
    return str(path)


def data_names() -> dict:
    """Every data-block's name, per bpy.data collection."""
    from anima.operators import file_import
    return {k: sorted(getattr(bpy.data, k).keys()) for k in file_import._id_collection_names()}


def new_names(before: dict) -> dict:
    after = data_names()
    return {k: sorted(set(after[k]) - set(before[k])) for k in after
            if after[k] != before[k]}


def mapped_positions(arm, frames, joints):
    """World positions (T, J, 3) of the bones mapped to `joints`, and the rig's height."""
    from anima.operators import retarget, rig_motion
    bm, _ = retarget.ensure_mapping(arm)
    skel = retarget.armature_skeleton(arm)
    _, pos = rig_motion.evaluated_world_pose(arm, frames)
    return pos[:, [skel.index(bm.bones[j]) for j in joints]], skel.height()


def error_vs_clip(arm, clip, frame_start=1) -> float:
    """Mean distance (% of height) between the rig's mapped joints and the clip's."""
    from anima.backend.motion.retarget import position_error
    from anima.backend.motion.skeleton import CANONICAL
    from anima.operators import retarget
    bm, _ = retarget.ensure_mapping(arm)
    joints = [j for j in CANONICAL.names if j in bm.bones]
    tgt, height = mapped_positions(arm, frame_start + np.arange(clip.num_frames), joints)
    src = clip.positions()[:, [CANONICAL.index(j) for j in joints]]
    return 100 * float(position_error(src, CANONICAL.height(), tgt, height).mean())


def animated_character(clip, name="Hero"):
    """The default character (skinned mesh on the game rig) with `clip` as its action."""
    from anima.operators import character, retarget
    arm, body = character.build_character(bpy.context.scene.collection, name)
    retarget.apply_clip_to_armature(arm, clip, frame_start=1, scene=bpy.context.scene)
    return arm, body


def export_selected(path, objects, bake_anim=True):
    """Blender's own FBX / glTF exporter on exactly `objects`."""
    bpy.context.view_layer.update()          # objects linked since are listed after a sync
    for o in bpy.context.view_layer.objects:
        o.select_set(o in objects)
    bpy.context.view_layer.objects.active = objects[0]
    if str(path).endswith(".fbx"):
        bpy.ops.export_scene.fbx(filepath=str(path), use_selection=True, add_leaf_bones=False,
                                 object_types={"ARMATURE", "MESH"}, bake_anim=bake_anim,
                                 bake_anim_use_all_actions=False, bake_anim_use_nla_strips=False, bake_anim_simplify_factor=0.0)
    else:
        bpy.ops.export_scene.gltf(filepath=str(path), use_selection=True,
                                  export_animations=bake_anim,
                                  export_animation_mode="ACTIVE_ACTIONS")
    return str(path)


def remove_objects(objects):
    for o in objects:
        data, kind = o.data, o.type
        bpy.data.objects.remove(o)
        if data is not None and data.users == 0:
            (bpy.data.armatures if kind == "ARMATURE" else bpy.data.meshes).remove(data)


# ----------------------------------------------------------------------------- BVH
def test_bvh_moves_like_the_source_and_leaves_nothing_behind(make_armature, walk, tmp_path):
    from anima.operators import motion_file
    scene = bpy.context.scene
    scene.render.fps = 30
    arm = make_armature("game_engine")
    path = write_clip_bvh(tmp_path / "walk.bvh", walk)
    before = data_names()
    notes = []
    action = motion_file.apply_motion_file(arm, path, frame_start=1, messages=notes)
    assert action.name == "Anima: walk"
    assert arm.animation_data.action == action
    assert tuple(action.frame_range) == (1.0, float(walk.num_frames))
    assert action["anima_source"] == "walk.bvh"
    assert notes == []
    assert new_names(before) == {"actions": ["Anima: walk"]}
    assert scene.frame_current == 1 and bpy.context.scene == scene
    err = error_vs_clip(arm, walk)
    print(f"bvh -> game_engine: mean error {err:.3f}% of height")
    assert err < MEAN_ERROR_PCT


def test_bvh_at_another_frame_rate_is_resampled(make_armature, walk, tmp_path):
    from anima.backend.motion.resample import resample
    from anima.operators import motion_file
    bpy.context.scene.render.fps = 30
    arm = make_armature("game_engine")
    path = write_clip_bvh(tmp_path / "walk60.bvh", resample(walk, 60.0))
    notes = []
    action = motion_file.apply_motion_file(arm, path, frame_start=1, messages=notes)
    assert notes == ["walk60.bvh: 60 fps resampled to the scene's 30 fps"]
    assert action["anima_source_fps"] == 60.0
    assert tuple(action.frame_range) == (1.0, float(walk.num_frames))   # same duration
    assert bpy.context.scene.render.fps == 30
    assert error_vs_clip(arm, walk) < MEAN_ERROR_PCT


def test_root_modes_and_nla(make_armature, walk, tmp_path):
    from anima.operators import motion_file, retarget
    bpy.context.scene.render.fps = 30
    arm = make_armature("game_engine")
    path = write_clip_bvh(tmp_path / "walk.bvh", walk)
    bm, _ = retarget.ensure_mapping(arm)
    travel = {}
    for mode in ("hips", "root_bone", "in_place"):
        action = motion_file.apply_motion_file(arm, path, root_mode=mode, frame_start=1)
        pos, _h = mapped_positions(arm, [1, walk.num_frames], ["pelvis"])
        travel[mode] = float(np.linalg.norm(pos[-1, 0, :2] - pos[0, 0, :2]))
        root_keyed = any(f'"{bm.root_bone}"' in fc.data_path
                         for fc in motion_file.keys.fcurves_of(action, arm)
                         if fc.data_path.endswith("location"))
        assert root_keyed == (mode == "root_bone"), mode
    assert travel["hips"] > 0.5 and travel["root_bone"] > 0.5
    assert travel["in_place"] < 0.1 * travel["hips"], travel
    user = arm.animation_data.action
    pushed = motion_file.apply_motion_file(arm, path, frame_start=10, push_to_nla=True)
    assert arm.animation_data.action == user
    strip = arm.animation_data.nla_tracks[-1].strips[0]
    assert strip.action == pushed and strip.frame_start == 10


# ----------------------------------------------------------------------------- FBX / glTF
@pytest.mark.parametrize("ext", [".fbx", ".glb"])
def test_blender_exports_move_like_the_source(make_armature, walk, tmp_path, ext):
    from anima.backend.motion.retarget import position_error
    from anima.backend.motion.skeleton import CANONICAL
    from anima.operators import motion_file, retarget
    scene = bpy.context.scene
    scene.render.fps = 30
    src, body = animated_character(walk)
    scene.frame_end = walk.num_frames                  # what the FBX exporter bakes
    path = export_selected(tmp_path / f"hero{ext}", [src, body])
    sbm, _ = retarget.ensure_mapping(src)
    joints = [j for j in CANONICAL.names if j in sbm.bones]
    frames = 1 + np.arange(walk.num_frames)
    src_pos, src_h = mapped_positions(src, frames, joints)
    remove_objects([body, src])
    arm = make_armature("mixamo" if ext == ".glb" else "game_engine", "Target")
    before = data_names()
    notes = []
    action = motion_file.apply_motion_file(arm, path, frame_start=1, messages=notes)
    assert new_names(before) == {"actions": [action.name]}
    assert action.name == "Anima: hero" and notes == []
    assert tuple(action.frame_range) == (1.0, float(walk.num_frames))
    tgt_pos, tgt_h = mapped_positions(arm, frames, joints)
    err = 100 * float(position_error(src_pos, src_h, tgt_pos, tgt_h).mean())
    retarget.apply_clip_to_armature(arm, walk, frame_start=1)
    ref_pos, ref_h = mapped_positions(arm, frames, joints)
    ref = 100 * float(position_error(src_pos, src_h, ref_pos, ref_h).mean())
    print(f"{ext} -> {arm.data.anima_mapping.rig_type}: {err:.3f}% of height "
          f"(the clip applied directly: {ref:.3f}%)")
    # As close to the source as retargeting the original clip directly (plus 0.5%).
    assert err < max(MEAN_ERROR_PCT, ref + 0.5)


def test_fbx_with_several_armatures_asks_which(make_armature, walk, tmp_path):
    from anima.operators import motion_file
    bpy.context.scene.render.fps = 30
    a1, b1 = animated_character(walk, "Alice")
    a2, b2 = animated_character(walk, "Bob")
    path = export_selected(tmp_path / "two.fbx", [a1, b1, a2, b2])
    remove_objects([b1, a1, b2, a2])
    arm = make_armature("game_engine")
    before = data_names()
    with pytest.raises(motion_file.SeveralArmaturesError) as info:
        motion_file.apply_motion_file(arm, path)
    assert info.value.names == ["Alice", "Bob"]
    assert "Alice, Bob" in str(info.value) and "choose one" in str(info.value)
    assert data_names() == before
    with pytest.raises(RuntimeError, match="2 armatures"):
        bpy.ops.anima.apply_motion_file(filepath=path)
    action = motion_file.apply_motion_file(arm, path, source_armature="Bob", frame_start=1)
    assert action["anima_source_armature"] == "Bob"
    assert error_vs_clip(arm, walk) < 3.0
    with pytest.raises(motion_file.MotionFileError, match="no armature 'Carol'"):
        motion_file.apply_motion_file(arm, path, source_armature="Carol")


# ----------------------------------------------------------------------------- bad input
def _bad_file(kind, tmp_path, walk):
    """(path, expected error type name, message pattern) for one kind of bad input."""
    from anima.backend.motion.bvh import write_bvh
    from anima.backend.motion.skeleton import Skeleton
    if kind == "extension":
        p = tmp_path / "walk.txt"
        p.write_text("not motion")
        return str(p), "MotionFileError", "Unsupported motion file type '.txt'"
    if kind == "missing":
        return str(tmp_path / "nowhere.bvh"), "MotionFileError", "not found"
    if kind == "no_armature":
        bpy.ops.mesh.primitive_cube_add()
        cube = bpy.context.active_object
        path = export_selected(tmp_path / "cube.fbx", [cube])
        remove_objects([cube])
        return path, "MotionFileError", "cube.fbx has no armature"
    if kind == "no_animation":
        arm, body = animated_character(walk, "Still")
        arm.animation_data.action = None
        path = export_selected(tmp_path / "still.fbx", [arm, body], bake_anim=False)
        remove_objects([body, arm])
        return path, "MotionFileError", "still.fbx has no animation"
    if kind == "unmappable":
        skel = Skeleton(["a", "b", "c"], [-1, 0, 1], [[0, 1, 0], [0, 0.5, 0], [0, 0.5, 0]])
        rots = np.tile([1.0, 0, 0, 0], (10, 3, 1))
        path = tmp_path / "snake.bvh"
        write_bvh(path, skel, rots, np.zeros((10, 3)), 30.0)
        return str(path), "MappingError", "The skeleton in snake.bvh could not be mapped"
    if kind == "npz":
        p = tmp_path / "weights.npz"
        np.savez(p, weights=np.zeros(3))
        return str(p), "MotionFileError", "neither an Anima clip"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["extension", "missing", "no_armature", "no_animation",
                                  "unmappable", "npz"])
def test_bad_input_is_refused_and_changes_nothing(make_armature, walk, tmp_path, kind):
    from anima.operators import motion_file, retarget
    scene = bpy.context.scene
    scene.render.fps = 30
    path, error, message = _bad_file(kind, tmp_path, walk)
    arm = make_armature("game_engine")
    user = retarget.apply_clip_to_armature(arm, walk, frame_start=1)
    keys_before = len(motion_file.keys.fcurves_of(user, arm))
    scene.frame_set(7)
    before = data_names()
    state = (scene.frame_current, scene.frame_end, scene.render.fps, bpy.context.scene.name,
             bpy.context.view_layer.objects.active.name)
    with pytest.raises(ValueError, match=message) as info:
        motion_file.apply_motion_file(arm, path)
    assert type(info.value).__name__ == error
    assert data_names() == before
    assert arm.animation_data.action == user
    assert len(motion_file.keys.fcurves_of(user, arm)) == keys_before
    assert (scene.frame_current, scene.frame_end, scene.render.fps, bpy.context.scene.name,
            bpy.context.view_layer.objects.active.name) == state
    with pytest.raises(RuntimeError, match=message.split("'")[0][:20]):
        bpy.ops.anima.apply_motion_file(filepath=path)
    assert data_names() == before


# ----------------------------------------------------------------------------- .npz
def test_anima_and_amass_npz(make_armature, walk, tmp_path):
    from anima.backend.motion import amass
    from anima.operators import motion_file
    bpy.context.scene.render.fps = 30
    arm = make_armature("game_engine")
    clip_path = tmp_path / "walk_clip.npz"
    walk.save_npz(clip_path)
    action = motion_file.apply_motion_file(arm, clip_path, frame_start=1)
    assert action.name == "Anima: walk_clip"
    assert error_vs_clip(arm, walk) < MEAN_ERROR_PCT
    amass_path = tmp_path / "walk_amass.npz"
    np.savez(amass_path, **amass.smplx_arrays(walk))
    action = motion_file.apply_motion_file(arm, amass_path, frame_start=1)
    assert action.name == "Anima: walk_amass"
    assert error_vs_clip(arm, amass.load_amass(amass_path)) < MEAN_ERROR_PCT


# ----------------------------------------------------------------------------- operator / batch
def test_operator_in_pose_mode_one_undo_step(make_armature, walk, tmp_path):
    from anima.operators import motion_file
    scene = bpy.context.scene
    scene.render.fps = 30
    arm = make_armature("game_engine")
    path = write_clip_bvh(tmp_path / "walk.bvh", walk)
    bpy.ops.object.mode_set(mode="POSE")
    scene.anima.root_mode = "in_place"
    before = data_names()
    assert bpy.ops.anima.apply_motion_file(filepath=path) == {"FINISHED"}
    assert arm.mode == "POSE" and bpy.context.scene == scene
    assert arm.animation_data.action.name == "Anima: walk"
    assert new_names(before) == {"actions": ["Anima: walk"]}
    pos, _h = mapped_positions(arm, [1, walk.num_frames], ["pelvis"])   # in place
    assert np.linalg.norm(pos[-1, 0, :2] - pos[0, 0, :2]) < 0.25   # walks ~1.8 m otherwise
    # One operator call, registered for undo (headless Blender has no undo stack to try).
    assert motion_file.ANIMA_OT_apply_motion_file.bl_options == {"REGISTER", "UNDO"}


def test_batch_folder(make_armature, walk, tmp_path):
    from anima.backend.motion.resample import resample
    from anima.operators import motion_file
    bpy.context.scene.render.fps = 30
    arm = make_armature("game_engine")
    write_clip_bvh(tmp_path / "a.bvh", walk)
    write_clip_bvh(tmp_path / "b.bvh", resample(walk, 60.0))
    (tmp_path / "c.fbx").write_bytes(b"not an fbx")
    (tmp_path / "notes.txt").write_text("ignored")
    actions, failures = motion_file.apply_motion_folder(arm, tmp_path, push_to_nla=True,
                                                        frame_start=1)
    assert [a.name for a in actions] == ["Anima: a", "Anima: b"]
    assert [os.path.basename(p) for p, _m in failures] == ["c.fbx"]
    assert "could not import c.fbx" in failures[0][1]
    assert len(arm.animation_data.nla_tracks) == 2


def test_panel_draws(make_armature, walk, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_panels import RecordingLayout
    from anima.panels import motion_file as panel_mod
    from anima.operators import retarget

    def draw():
        log = []
        panel = type("P", (), {})()
        panel.layout = RecordingLayout(log)
        panel_mod.ANIMA_PT_motion_files.draw(panel, bpy.context)
        return log

    assert ("label", "Select an armature") in draw()
    arm = make_armature("game_engine")
    log = draw()
    assert ("operator", "anima.apply_motion_file") in log
    assert ("operator", "anima.export_motion") in log and ("label", "No action") in log
    retarget.apply_clip_to_armature(arm, walk, frame_start=1)
    assert ("label", "Action: Anima: walk") in draw()
    assert panel_mod.ANIMA_PT_motion_files.bl_parent_id == "ANIMA_PT_main"
    assert hasattr(bpy.types, "ANIMA_PT_motion_files")


def test_bench_apply_file_prints_its_figures():
    """`python -m backend bench apply_file` (a 10 s BVH onto a generated Rigify rig)."""
    import subprocess
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "backend", "bench", "apply_file"], cwd=repo,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    figures = dict(kv.split("=") for kv in out.stdout.strip().splitlines()[-1].split())
    assert figures["frames"] == "300" and int(figures["rig_bones"]) > 500
    parts = [float(figures[k]) for k in ("import_s", "read_s", "cleanup_s", "retarget_s",
                                         "write_s")]
    assert all(p >= 0 for p in parts) and 0 < float(figures["apply_s"]) < 30
    print(out.stdout.strip().splitlines()[-1])
