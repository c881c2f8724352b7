"""operators/clean_keys.py in real Blender: a generated 10 s walk (the shipped `clean`
text-to-motion checkpoint, keyed on a shipped rig with the add-on's own retargeting) is
cleaned to sparse keys; Blender's own evaluation of the new Action (scene.frame_set + pose
bone world matrices) stays within the tolerance (1 mm / 0.5 deg and looser ones) of the
original on every frame. Run with -s to see the reduction factors."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("fresh_scene")]

REPO = Path(__file__).resolve().parents[2]
SCENE_FPS = 30


@pytest.fixture(scope="module")
def walk_npz(tmp_path_factory):
    """A 10 s walk from the real generator (CPU, a few seconds)."""
    out = tmp_path_factory.mktemp("clean-keys") / "walk.npz"
    subprocess.run([sys.executable, "-m", "backend", "generate", "--text", "a person walks "
                    "forward", "--seconds", "10", "--seed", "1", "--model", "clean",
                    "--out", str(out)], cwd=REPO, check=True, capture_output=True, timeout=300)
    return out


def _modules():
    from anima.operators import clean_keys, keys, retarget
    return clean_keys, keys, retarget


def _walk_on_rig(make_armature, walk_npz, rig="game_engine"):
    _ck, _keys, retarget = _modules()
    bpy.context.scene.render.fps = SCENE_FPS
    bpy.context.scene.render.fps_base = 1.0
    arm = make_armature(rig.removesuffix("_scaled"))
    if rig.endswith("_scaled"):            # object transform: locations keyed at 1/2 scale
        arm.scale = (2.0, 2.0, 2.0)
        arm.rotation_euler = (0.0, 0.0, 0.5)
        bpy.context.view_layer.update()
    action = retarget.apply_clip_to_armature(arm, str(walk_npz), frame_start=1)
    return arm, action


def _snapshot(action, keys):
    """Everything about an action's keys, to check it is left untouched."""
    out = []
    for fc in keys.fcurves_of(action):
        n = len(fc.keyframe_points)
        co = np.empty(2 * n, dtype=np.float32)
        fc.keyframe_points.foreach_get("co", co)
        out.append((fc.data_path, fc.array_index, co.tobytes()))
    return out


def _world_pose(arm, frames):
    """Bone head positions (T, B, 3) and world rotations (T, B, 3, 3) from Blender."""
    scene = bpy.context.scene
    mw = np.array(arm.matrix_world)
    heads, tails, rots = [], [], []
    for f in frames:
        scene.frame_set(int(f))
        mats = np.array([np.array(pb.matrix) for pb in arm.pose.bones])      # armature space
        world = mw[None] @ mats
        heads.append(world[:, :3, 3])
        tails.append(np.array([np.array(arm.matrix_world @ pb.tail) for pb in arm.pose.bones]))
        r = world[:, :3, :3]
        rots.append(r / np.linalg.norm(r, axis=1, keepdims=True))
    return np.array(heads), np.array(tails), np.array(rots)


def _rotation_angle_deg(a, b):
    rel = np.swapaxes(a, -1, -2) @ b
    cos = np.clip((np.trace(rel, axis1=-2, axis2=-1) - 1.0) / 2.0, -1.0, 1.0)
    return np.degrees(np.arccos(cos))


@pytest.mark.parametrize("rig,position_mm,rotation_deg,min_factor", [
    ("game_engine", 1.0, 0.5, 3.0), ("game_engine", 2.0, 1.0, 3.4),
    ("game_engine", 5.0, 2.0, 5.0), ("game_engine", 10.0, 3.0, 7.0),
    ("mixamo", 1.0, 0.5, 2.5), ("game_engine_scaled", 1.0, 0.5, 2.5)])
def test_clean_walk_within_tolerance_in_blender(make_armature, walk_npz, rig, position_mm,
                                                rotation_deg, min_factor):
    clean_keys, keys, _retarget = _modules()
    arm, action = _walk_on_rig(make_armature, walk_npz, rig)
    before = _snapshot(action, keys)
    start, end = (int(round(x)) for x in action.frame_range)
    frames = range(start, end + 1)
    assert len(frames) >= 10 * SCENE_FPS - 1
    heads0, tails0, rots0 = _world_pose(arm, frames)

    t0 = time.perf_counter()
    new = clean_keys.clean_action(arm, action, position_mm=position_mm,
                                  rotation_deg=rotation_deg)
    seconds = time.perf_counter() - t0

    assert new != action and new.name == f"{action.name} (clean)"
    assert arm.animation_data.action == new
    assert new["anima_version_of"] == action.name
    assert action.use_fake_user and _snapshot(action, keys) == before
    heads1, tails1, rots1 = _world_pose(arm, frames)
    pos_err = max(np.linalg.norm(heads1 - heads0, axis=-1).max(),
                  np.linalg.norm(tails1 - tails0, axis=-1).max())
    rot_err = _rotation_angle_deg(rots0, rots1).max()
    assert pos_err <= position_mm / 1000.0, f"joint moved {pos_err * 1000:.3f} mm"
    assert rot_err <= rotation_deg, f"bone turned {rot_err:.3f} deg"

    old_curves = [fc for fc in keys.fcurves_of(action) if len(fc.keyframe_points) > 1]
    new_curves = [fc for fc in keys.fcurves_of(new) if len(fc.keyframe_points) > 1]
    assert len(new_curves) == len(old_curves)
    old_keys = sum(len(fc.keyframe_points) for fc in old_curves)
    new_keys = sum(len(fc.keyframe_points) for fc in new_curves)
    key_frames = {tuple(kp.co[0] for kp in fc.keyframe_points) for fc in new_curves}
    assert len(key_frames) == 1, "every bone keyed on the same frames"
    shared = next(iter(key_frames))
    assert shared[0] == pytest.approx(start) and shared[-1] == pytest.approx(end)
    factor = old_keys / new_keys
    print(f"\nclean keys {position_mm:g} mm / {rotation_deg:g} deg, 10 s generated walk on "
          f"{rig} (scale {arm.scale[0]:g}) at {SCENE_FPS} fps: {old_keys} -> {new_keys} keys "
          f"({factor:.2f}x fewer), max error in Blender {pos_err * 1000:.3f} mm, "
          f"{rot_err:.3f} deg, {seconds:.1f} s")
    assert factor >= min_factor


def test_numpy_replica_matches_blender_evaluate(make_armature, walk_npz):
    """keyreduce.evaluate_bezier reproduces fcurve.evaluate for the handles written, also
    between integer frames."""
    clean_keys, keys, _retarget = _modules()
    from anima.backend.motion import keyreduce
    arm, action = _walk_on_rig(make_armature, walk_npz)
    new = clean_keys.clean_action(arm, action, position_mm=3.0, rotation_deg=1.5)
    worst = 0.0
    for fc in keys.fcurves_of(new)[:40]:
        kp = fc.keyframe_points
        n = len(kp)
        arrays = []
        for prop in ("co", "handle_left", "handle_right"):
            a = np.empty(2 * n, dtype=np.float32)
            kp.foreach_get(prop, a)
            arrays.append(a.reshape(n, 1, 2))
        lo, hi = fc.range()
        times = np.linspace(lo - 2.0, hi + 2.0, 997)
        ours = keyreduce.evaluate_bezier(*arrays, times)[:, 0]
        theirs = np.array([fc.evaluate(t) for t in times])
        worst = max(worst, float(np.abs(ours - theirs).max()))
    assert worst < 1e-5


def test_handles_survive_curve_update(make_armature, walk_npz):
    """FREE handles: Blender's handle recalculation (after an edit) keeps the fitted curve."""
    clean_keys, keys, _retarget = _modules()
    arm, action = _walk_on_rig(make_armature, walk_npz)
    new = clean_keys.clean_action(arm, action)
    for fc in keys.fcurves_of(new)[:20]:
        lo, hi = fc.range()
        times = np.linspace(lo, hi, 301)
        before = np.array([fc.evaluate(t) for t in times])
        fc.update()
        after = np.array([fc.evaluate(t) for t in times])
        assert np.abs(after - before).max() < 1e-6


def _action_names():
    return sorted(a.name for a in bpy.data.actions)


def test_bad_input_changes_nothing(make_armature, walk_npz):
    clean_keys, keys, _retarget = _modules()
    arm, action = _walk_on_rig(make_armature, walk_npz)
    names = _action_names()

    def rejected(match, *args, **kwargs):
        with pytest.raises(ValueError, match=match):
            clean_keys.clean_action(*args, **kwargs)
        assert _action_names() == names and arm.animation_data.action == action

    rejected("Select an armature", None, action)
    rejected("Position tolerance", arm, action, position_mm=0.0)
    rejected("Position tolerance", arm, action, position_mm=150.0)
    rejected("Rotation tolerance", arm, action, rotation_deg=-1.0)
    rejected("Rotation tolerance", arm, action, rotation_deg=60.0)

    empty = bpy.data.actions.new("empty")
    names = _action_names()
    rejected("has no keys", arm, empty)

    other = make_armature("mixamo", "Other")
    other_action = _modules()[2].apply_clip_to_armature(other, str(walk_npz), frame_start=1)
    bpy.context.view_layer.objects.active = arm
    names = _action_names()
    rejected("does not have", arm, other_action)

    bare = make_armature("game_engine", "Bare")
    with pytest.raises(ValueError, match="has no action"):
        clean_keys.clean_action(bare, None)
    assert bare.animation_data is None


def test_already_sparse_says_so(make_armature):
    clean_keys, keys, _retarget = _modules()
    arm = make_armature()
    pb = arm.pose.bones["pelvis"]
    pb.rotation_mode = "QUATERNION"
    for frame, angle in ((1, 0.0), (40, 0.6)):
        pb.rotation_quaternion = (np.cos(angle / 2), np.sin(angle / 2), 0.0, 0.0)
        pb.keyframe_insert("rotation_quaternion", frame=frame)
    action = arm.animation_data.action
    names = _action_names()
    with pytest.raises(clean_keys.AlreadySparse, match="already sparse"):
        clean_keys.clean_action(arm, action)
    assert _action_names() == names
    # The operator reports it (INFO) and cancels: no new action, no undo step.
    assert bpy.ops.anima.clean_keys() == {"CANCELLED"}
    assert _action_names() == names and arm.animation_data.action == action


def test_operator_one_undo_step_and_panel(make_armature, walk_npz):
    clean_keys, keys, _retarget = _modules()
    arm, action = _walk_on_rig(make_armature, walk_npz)
    assert bpy.ops.anima.clean_keys.poll()
    assert bpy.ops.anima.clean_keys(position_mm=2.0, rotation_deg=1.0) == {"FINISHED"}
    new = arm.animation_data.action
    assert new != action and new["anima_version_of"] == action.name
    assert {"REGISTER", "UNDO"} <= clean_keys.ANIMA_OT_clean_keys.bl_options
    assert hasattr(bpy.types, "ANIMA_PT_edit_motion")
    # What the panel edits and passes on: the operator's last-used tolerances.
    last = bpy.context.window_manager.operator_properties_last("anima.clean_keys")
    last.position_mm, last.rotation_deg = 2.5, 1.5
    again = bpy.context.window_manager.operator_properties_last("anima.clean_keys")
    assert (again.position_mm, again.rotation_deg) == pytest.approx((2.5, 1.5))
