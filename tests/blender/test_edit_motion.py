"""Generator edits on a rig in real Blender with the real backend (operators/edit_motion.py):
in-betweening the user's keyed poses, regenerating a range, continuing, a body-part edit.
Each writes a new Action version; the original is untouched; what was not edited keeps its
values exactly; keyed poses are met exactly on the rig; bad input changes nothing."""
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import retarget_accuracy as RA  # noqa: E402

pytestmark = [pytest.mark.blender]


def _rig_with(make_armature, caption="walk", rig="game_engine"):
    from anima.operators import retarget
    arm = make_armature(rig)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    clip = RA.library_clip(caption, seconds=10.0)
    assert clip.num_frames >= 80
    action = retarget.apply_clip_to_armature(arm, clip, frame_start=1, scene=scene)
    return arm, action


def _values(action, arm, frames):
    """{(data_path, index): values at frames} of every F-curve."""
    from anima.operators import keys
    return {(fc.data_path, fc.array_index): np.array([fc.evaluate(f) for f in frames])
            for fc in keys.fcurves_of(action, arm)}


def _state():
    return (sorted(a.name for a in bpy.data.actions),
            [(o.name, o.animation_data.action.name if o.animation_data and
              o.animation_data.action else None) for o in bpy.data.objects],
            bpy.context.scene.frame_end)


def _sparse_keys(arm, action, key_frames):
    """A new Action keyed only on `key_frames` with the poses `action` has there."""
    from anima.operators import keys
    sparse = bpy.data.actions.new("blocking")
    src = {(fc.data_path, fc.array_index): fc for fc in keys.fcurves_of(action, arm)}
    ch = keys._Channels(sparse, arm)
    for (path, idx), fc in src.items():
        bone = path.split('"')[1]
        ch.write(path, idx, bone, np.array(key_frames, float),
                 np.array([fc.evaluate(f) for f in key_frames]))
    keys.assign_action(arm, sparse)
    return sparse


def test_inbetween_meets_every_key_exactly(session, make_armature):
    from anima.operators import edit_motion
    arm, walk = _rig_with(make_armature)
    key_frames = [1, 16, 31, 61]
    sparse = _sparse_keys(arm, walk, key_frames)
    before = _values(sparse, arm, range(1, 62))
    rec = edit_motion.run_edit(arm, "inbetween")
    assert not rec.error, rec.error
    new = arm.animation_data.action
    assert new is not sparse and new["anima_version_of"] == "blocking"
    after_old = _values(sparse, arm, range(1, 62))
    assert all(np.array_equal(before[k], after_old[k]) for k in before)  # original untouched
    vals = _values(new, arm, key_frames)
    old = _values(sparse, arm, key_frames)
    worst = max(np.abs(vals[k] - old[k]).max() for k in old if k in vals)
    assert worst < 1e-5, f"keys moved by {worst}"
    # What the user sees: every bone's world pose at the keyed frames, old vs new version.
    from anima.operators import keys, rig_motion
    keys.assign_action(arm, sparse)
    rot0, pos0 = rig_motion.evaluated_world_pose(arm, key_frames)
    keys.assign_action(arm, new)
    rot1, pos1 = rig_motion.evaluated_world_pose(arm, key_frames)
    mm = 1000 * np.linalg.norm(pos1 - pos0, axis=-1).max()
    deg = np.degrees(2 * np.arccos(np.clip(np.abs(np.sum(rot0 * rot1, -1)), 0, 1))).max()
    print(f"keys on the rig after in-betweening: {mm:.4f} mm, {deg:.4f} deg")
    assert mm <= 1.0 and deg <= 0.5
    # The fill differs from a straight interpolation somewhere (it was filled, not copied).
    mid = _values(new, arm, [40])
    assert any(abs(mid[k][0] - _values(sparse, arm, [40])[k][0]) > 1e-4 for k in mid)


def test_regenerate_range_keeps_the_rest_bit_identical(session, make_armature):
    from anima.operators import edit_motion
    arm, walk = _rig_with(make_armature)
    frames = list(range(1, int(walk.frame_range[1]) + 1))
    before = _values(walk, arm, frames)
    rec = edit_motion.run_edit(arm, "regenerate", start=30, end=60,
                               text="a person jumps up and down", seed=3)
    assert not rec.error, rec.error
    new = arm.animation_data.action
    assert new["anima_version_of"] == walk.name
    after = _values(new, arm, frames)
    outside = [i for i, f in enumerate(frames) if not 30 <= f <= 60]
    inside = [i for i, f in enumerate(frames) if 30 <= f <= 60]
    for k, v in before.items():
        assert np.array_equal(after[k][outside], v[outside]), k     # max difference 0
    changed = max(np.abs(after[k][inside] - v[inside]).max() for k, v in before.items())
    assert changed > 0.05
    assert _values(walk, arm, frames).keys() == before.keys()


def test_continue_appends_and_body_part_keeps_legs(session, make_armature):
    from anima.operators import edit_motion, splice
    arm, walk = _rig_with(make_armature)
    rec = edit_motion.run_edit(arm, "continue", seconds=1.0, text="a person stops")
    assert not rec.error, rec.error
    cont = arm.animation_data.action
    assert cont.frame_range[1] == pytest.approx(walk.frame_range[1] + 30, abs=1)
    frames = list(range(1, int(walk.frame_range[1]) + 1))
    a, b = _values(walk, arm, frames), _values(cont, arm, frames)
    assert all(np.array_equal(a[k], b[k]) for k in a)

    from anima.operators import keys
    keys.assign_action(arm, walk)
    rec = edit_motion.run_edit(arm, "body_part", parts=["upper_body"],
                               text="a person waves with both hands", seed=1)
    assert not rec.error, rec.error
    wave = arm.animation_data.action
    legs = edit_motion._rig_bones_of(arm, edit_motion.group_joints(["lower_body"]))
    a, b = _values(walk, arm, frames), _values(wave, arm, frames)
    for (path, idx), v in a.items():
        bone = splice._bone_of(path)[0]
        if bone in legs:
            assert np.array_equal(b[(path, idx)], v), path
    arms = edit_motion._rig_bones_of(arm, edit_motion.group_joints(["arms"]))
    moved = max(np.abs(b[k] - v).max() for k, v in a.items()
                if splice._bone_of(k[0])[0] in arms)
    assert moved > 0.05


def test_bad_edits_change_nothing(session, make_armature):
    from anima.operators import edit_motion, keys
    arm, walk = _rig_with(make_armature)
    state = _state()
    cases = [
        (dict(edit="regenerate", start=20, end=400, text="jumps"), "outside the Action"),
        (dict(edit="regenerate", start=60, end=30, text="jumps"), "empty"),
        (dict(edit="regenerate", start=1, end=int(walk.frame_range[1]), text="jumps"),
         "whole Action"),
        (dict(edit="regenerate", start=20, end=40), "Type what"),
        (dict(edit="inbetween"), "nothing to fill"),
        (dict(edit="body_part", parts=["tail"], text="wag"), "unknown body part"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            edit_motion.run_edit(arm, **kwargs)
        assert _state() == state
    one = _sparse_keys(arm, walk, [10])
    state = _state()
    with pytest.raises(ValueError, match="at least two keyed poses"):
        edit_motion.run_edit(arm, "inbetween")
    assert _state() == state
    keys.assign_action(arm, walk)
    other = make_armature("game_engine", name="Other")
    keys.assign_action(other, walk)
    with pytest.raises(ValueError, match="belongs to armature"):
        edit_motion.run_edit(other, "inbetween")
    del one


def test_operators_take_the_preview_range_or_markers(session, make_armature):
    arm, walk = _rig_with(make_armature)
    scene = bpy.context.scene
    scene.use_preview_range = False
    state = _state()
    with pytest.raises(RuntimeError, match="preview range"):
        bpy.ops.anima.regenerate_range(text="a person jumps")
    assert _state() == state
    m1, m2 = scene.timeline_markers.new("A", frame=20), scene.timeline_markers.new("B", frame=40)
    m1.select = m2.select = True
    assert bpy.ops.anima.regenerate_range(text="a person jumps") == {"FINISHED"}
    new = arm.animation_data.action
    assert new["anima_version_of"] == walk.name and "20-40" in new["anima_edit"]
    assert bpy.ops.anima.edit_body_part(part="right_arm", text="waves") == {"FINISHED"}
    assert arm.animation_data.action["anima_version_of"] == new.name
    bpy.ops.ed.undo_push(message="before")
    assert bpy.ops.anima.continue_motion(seconds=0.5, text="walks") == {"FINISHED"}


def test_join_two_clips_fills_the_gap(session, make_armature):
    from anima.operators import edit_motion, keys, retarget
    arm, walk = _rig_with(make_armature)
    scene = bpy.context.scene
    run = retarget.apply_clip_to_armature(arm, RA.library_clip("run", seconds=2.0),
                                          frame_start=1, scene=scene)
    keys.assign_action(arm, walk)
    n_walk = int(walk.frame_range[1])
    frames = list(range(1, n_walk + 1))
    before = _values(walk, arm, frames)
    rec = edit_motion.run_edit(arm, "join", other=run.name, gap_frames=15)
    assert not rec.error, rec.error
    joined = arm.animation_data.action
    assert joined["anima_version_of"] == walk.name
    n_run = int(run.frame_range[1])
    assert joined.frame_range[1] == pytest.approx(n_walk + 15 + n_run, abs=1)
    after = _values(joined, arm, frames)
    assert all(np.array_equal(after[k], v) for k, v in before.items())   # the walk as it was
    # The hips travel on through the gap (no snap back to where the run was recorded).
    from anima.operators import rig_motion
    _rot, pos = rig_motion.evaluated_world_pose(arm, [n_walk, n_walk + 8, n_walk + 16])
    hips = pos[:, 0, :2]
    assert np.linalg.norm(hips[2] - hips[0]) < 2.5
    with pytest.raises(ValueError, match="No Action named"):
        edit_motion.run_edit(arm, "join", other="nope", gap_frames=5)


def test_keys_on_unmapped_bones_or_a_busy_session_are_refused(session, make_armature):
    from anima.operators import edit_motion, jobs
    arm, walk = _rig_with(make_armature, rig="mixamo")
    _sparse_keys(arm, walk, [1, 20, 40])
    arm.pose.bones["mixamorig:LeftHandIndex1"].rotation_mode = "QUATERNION"
    path = 'pose.bones["mixamorig:LeftHandIndex1"].rotation_quaternion'
    arm.keyframe_insert(path, index=0, frame=20)       # a key the mapping cannot carry
    state = _state()
    with pytest.raises(ValueError, match="mapping does not know: mixamorig:LeftHandIndex1"):
        edit_motion.run_edit(arm, "inbetween")
    assert _state() == state
    s = jobs.get_session()
    s.pending = jobs.JobRecord("generate", {}, label="a person waves")
    try:
        with pytest.raises(ValueError, match="still working on a job .a person waves."):
            edit_motion.run_edit(arm, "continue", seconds=1.0)
    finally:
        s.pending = None
    assert _state() == state
