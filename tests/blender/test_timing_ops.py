"""Timing edits in real Blender (operators/timing.py): Change Speed and Make Loop on a shipped
rig write a new Action version (the original untouched, `anima_version_of` naming it), the
loop's first and last frames match on the rig's evaluated pose, and bad input reports a
clear error and leaves the scene as it was."""
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import retarget_accuracy as RA  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("fresh_scene")]

LOOP_POS_M = 1e-3          # first vs last frame of a loop on the rig
LOOP_ROT_DEG = 0.5


def _rig_with(make_armature, caption, rig="game_engine"):
    from anima.operators import retarget
    arm = make_armature(rig)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    action = retarget.apply_clip_to_armature(arm, RA.library_clip(caption), frame_start=1,
                                             scene=scene)
    return arm, action


def _keys(action):
    from anima.operators import keys
    return {(fc.data_path, fc.array_index): np.array([tuple(k.co) for k in fc.keyframe_points])
            for fc in keys.fcurves_of(action)}


def _state():
    arm_anim = [(o.name, o.animation_data.action.name if o.animation_data and
                 o.animation_data.action else None) for o in bpy.data.objects]
    return (sorted(a.name for a in bpy.data.actions), arm_anim, bpy.context.scene.frame_end,
            bpy.context.scene.frame_current)


def _pose(arm, frame):
    """World matrices (K, 4, 4) of every pose bone at `frame`."""
    from anima.operators import rig_motion
    rot, pos = rig_motion.evaluated_world_pose(arm, [frame])
    from anima.backend.motion import quat
    m = np.zeros((rot.shape[1], 4, 4))
    m[:, :3, :3], m[:, :3, 3], m[:, 3, 3] = quat.to_matrix(rot[0]), pos[0], 1.0
    return m


def _angle_deg(a, b):
    """Angles (K,) between rotation matrices a, b (K, 3, 3)."""
    c = (np.trace(np.swapaxes(a, -1, -2) @ b, axis1=-2, axis2=-1) - 1) / 2
    return np.degrees(np.arccos(np.clip(c, -1, 1)))


def test_retime_writes_a_new_version(make_armature):
    arm, original = _rig_with(make_armature, "walk")
    before = _keys(original)
    first, last = (float(x) for x in original.frame_range)
    assert bpy.ops.anima.retime(by="SPEED", factor=2.0) == {"FINISHED"}
    new = arm.animation_data.action
    assert new != original and new.name == f"{original.name} (x2)"
    assert new["anima_version_of"] == original.name and original.use_fake_user
    a, b = (float(x) for x in new.frame_range)
    assert a == first and abs((b - a) - (last - first) / 2) <= 1
    assert _keys(original).keys() == before.keys()
    assert all(np.array_equal(_keys(original)[k], v) for k, v in before.items())
    # Same travel: the hips end where they ended before.
    from anima.operators import rig_motion
    pos_new = rig_motion.evaluated_world_pose(arm, [a, b])[1]
    from anima.operators import keys
    keys.assign_action(arm, original)
    pos_old = rig_motion.evaluated_world_pose(arm, [first, last])[1]
    travel_old = pos_old[1, :, :2].mean(0) - pos_old[0, :, :2].mean(0)
    travel_new = pos_new[1, :, :2].mean(0) - pos_new[0, :, :2].mean(0)
    assert np.linalg.norm(travel_new - travel_old) < 0.05 * np.linalg.norm(travel_old)

    keys.assign_action(arm, new)
    assert bpy.ops.anima.retime(by="DURATION", seconds=4.0) == {"FINISHED"}
    longer = arm.animation_data.action
    assert longer["anima_version_of"] == new.name and longer.name.endswith("(4 s)")
    a, b = longer.frame_range
    assert abs((b - a + 1) - 120) <= 1


@pytest.mark.parametrize("rig, caption", [("game_engine", "walk"), ("mixamo", "run"),
                                          ("rigify", "walk")])
def test_make_loop_first_and_last_frames_match(make_armature, rig, caption):
    arm, original = _rig_with(make_armature, caption, rig)
    assert bpy.ops.anima.make_loop(blend_seconds=0.3) == {"FINISHED"}
    loop = arm.animation_data.action
    assert loop.name == f"{original.name} (loop)" and loop["anima_version_of"] == original.name
    a, b = (int(round(x)) for x in loop.frame_range)
    m0, m1 = _pose(arm, a), _pose(arm, b)
    from anima.operators import retarget
    names = retarget.armature_skeleton(arm).names          # _pose's bone order
    hips_name = retarget.ensure_mapping(arm, store=False)[0].bones["pelvis"]
    hips = names.index(hips_name)
    body = [names.index(pb.name) for pb in arm.pose.bones
            if pb.name == hips_name or arm.pose.bones[hips_name] in pb.parent_recursive]
    assert len(body) > 20
    # The pose seen from the hips (the hips and every bone below them): the same at both ends.
    rel0 = np.linalg.inv(m0[hips]) @ m0[body]
    rel1 = np.linalg.inv(m1[hips]) @ m1[body]
    assert np.abs(rel0[:, :3, 3] - rel1[:, :3, 3]).max() < LOOP_POS_M
    assert _angle_deg(rel0[:, :3, :3], rel1[:, :3, :3]).max() < LOOP_ROT_DEG
    # The hips: same height and tilt; only a turn about the vertical and the travel differ.
    assert abs(m0[hips, 2, 3] - m1[hips, 2, 3]) < LOOP_POS_M
    up0, up1 = m0[hips, :3, :3].T @ [0, 0, 1.0], m1[hips, :3, :3].T @ [0, 0, 1.0]  # in the hips
    assert np.degrees(np.arccos(np.clip(up0 @ up1, -1, 1))) < LOOP_ROT_DEG
    assert np.linalg.norm(m1[hips, :2, 3] - m0[hips, :2, 3]) > 0.5     # it travels


def test_bad_input_changes_nothing(make_armature):
    arm, original = _rig_with(make_armature, "walk")
    before = _state()
    keys_before = _keys(original)
    for kwargs, message in (({"by": "SPEED", "factor": 0.0}, "Speed factor"),
                            ({"by": "SPEED", "factor": 1000.0}, "between"),
                            ({"by": "DURATION", "seconds": 0.01}, "at least 2 frames")):
        with pytest.raises(RuntimeError, match=message):
            bpy.ops.anima.retime(**kwargs)
        assert _state() == before
    with pytest.raises(RuntimeError, match="too short to loop"):
        bpy.ops.anima.make_loop(blend_seconds=5.0)
    assert _state() == before
    assert all(np.array_equal(_keys(original)[k], v) for k, v in keys_before.items())
    # No action at all.
    arm.animation_data.action = None
    with pytest.raises(RuntimeError, match="has no action"):
        bpy.ops.anima.make_loop()


def test_edit_motion_panel_shows_both_edits(make_armature):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_panels import _draw_all
    arm, _ = _rig_with(make_armature, "walk")
    log = _draw_all(bpy.context)
    assert ("operator", "anima.retime") in log and ("operator", "anima.make_loop") in log
    assert {("prop", "by"), ("prop", "factor"), ("prop", "blend_seconds")} <= set(log)
    assert {"REGISTER", "UNDO"} <= bpy.types.ANIMA_OT_retime.bl_options
    assert {"REGISTER", "UNDO"} <= bpy.types.ANIMA_OT_make_loop.bl_options
