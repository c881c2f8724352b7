"""operators/keys.py: the bulk keyframe writer, on the real Blender 5.0 (slotted actions)."""
from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("fresh_scene")]


def _keys():
    from anima.operators import keys
    return keys


def _rig_pose(bone_names, T=12, fps=None, loc_bones=(), seed=0):
    """Smooth random rotations (continuous in sign) and locations."""
    from anima.backend.motion import quat
    from anima.backend.motion.retarget import RigPose
    rng = np.random.default_rng(seed)
    K = len(bone_names)
    axes = rng.normal(size=(K, 3))
    t = np.linspace(0.0, 1.0, T)[:, None]
    angles = rng.uniform(0.2, 1.2, size=(1, K)) * t                   # (T, K)
    rot = quat.from_axis_angle(np.broadcast_to(axes, (T, K, 3)), angles)
    loc = rng.normal(scale=0.1, size=(T, K, 3))
    loc_keyed = np.array([n in loc_bones for n in bone_names])
    return RigPose(list(bone_names), rot, loc, np.ones(K, bool), loc_keyed,
                   float(fps or bpy.context.scene.render.fps))


def _fcurves(action, obj):
    return _keys().fcurves_of(action, obj)


def _curve(fcurves, path, index):
    for fc in fcurves:
        if fc.data_path == path and fc.array_index == index:
            return fc
    raise AssertionError(f"no F-curve {path}[{index}]")


def test_writes_new_slotted_action_with_exact_values(make_armature):
    keys = _keys()
    arm = make_armature()
    bones = ["pelvis", "thigh_l", "calf_l", "spine_01"]
    pose = _rig_pose(bones, T=12, loc_bones=("pelvis",))
    action = keys.write_rig_pose(arm, pose, "Anima: test", frame_start=5)

    assert action.name == "Anima: test"
    assert arm.animation_data.action == action
    if keys.is_slotted(action):                       # Blender 4.4+ / 5.0
        assert len(action.slots) == 1 and len(action.layers) == 1
        assert arm.animation_data.action_slot == action.slots[0]
    fcurves = _fcurves(action, arm)
    assert len(fcurves) == 4 * len(bones) + 3            # quaternions + pelvis location
    for fc in fcurves:
        assert len(fc.keyframe_points) == 12
        assert fc.keyframe_points[0].co[0] == pytest.approx(5.0)
        assert fc.keyframe_points[-1].co[0] == pytest.approx(16.0)
        # Linear keys, or Bezier keys with straight-line handles (the user's default
        # interpolation): either way the curve is linear between frames.
        assert fc.keyframe_points[3].interpolation in ("LINEAR", "BEZIER")
        a, b = fc.keyframe_points[3].co[1], fc.keyframe_points[4].co[1]
        assert fc.evaluate(5 + 3.5) == pytest.approx(0.5 * (a + b), abs=1e-5)
    for k, name in enumerate(bones):
        assert arm.pose.bones[name].rotation_mode == "QUATERNION"
        path = f'pose.bones["{name}"].rotation_quaternion'
        assert _curve(fcurves, path, 0).group.name == name      # grouped per bone
        for t in range(12):
            got = [_curve(fcurves, path, i).evaluate(5 + t) for i in range(4)]
            np.testing.assert_allclose(got, pose.rotations[t, k], atol=1e-6)
    loc_path = 'pose.bones["pelvis"].location'
    got = np.array([[_curve(fcurves, loc_path, i).evaluate(5 + t) for i in range(3)]
                    for t in range(12)])
    np.testing.assert_allclose(got, pose.locations[:, 0], atol=1e-6)

    # And the evaluated pose is the input (the action really drives the bones).
    bpy.context.scene.frame_set(9)
    np.testing.assert_allclose(np.array(arm.pose.bones["calf_l"].rotation_quaternion),
                               pose.rotations[4, 2], atol=1e-5)


def test_existing_user_action_is_kept_intact(make_armature):
    keys = _keys()
    arm = make_armature()
    pb = arm.pose.bones["thigh_l"]
    pb.rotation_mode = "XYZ"
    for frame, angle in ((1, 0.0), (10, 0.7)):
        pb.rotation_euler = (angle, 0.0, 0.0)
        pb.keyframe_insert("rotation_euler", frame=frame)
    user_action = arm.animation_data.action
    user_action.name = "MyWalk"
    before = sorted((fc.data_path, fc.array_index, tuple(tuple(k.co) for k in fc.keyframe_points))
                    for fc in _fcurves(user_action, arm))
    assert before

    pose = _rig_pose(["thigh_l", "calf_l"], T=6)
    action = keys.write_rig_pose(arm, pose, "Anima: kick", frame_start=1)
    assert action != user_action and action.name == "Anima: kick"
    assert arm.animation_data.action == action
    assert action["anima_previous_action"] == "MyWalk"
    assert user_action.use_fake_user                   # survives saving without users
    after = sorted((fc.data_path, fc.array_index, tuple(tuple(k.co) for k in fc.keyframe_points))
                   for fc in _fcurves(user_action, None))
    assert after == before

    # Same name again: a new, uniquely named action; the first one is untouched.
    again = keys.write_rig_pose(arm, pose, "Anima: kick", frame_start=1)
    assert again != action and again.name != action.name
    assert len(_fcurves(action, None)) == 8


def test_push_to_nla_leaves_active_action_alone(make_armature):
    keys = _keys()
    arm = make_armature()
    arm.pose.bones["head"].keyframe_insert("location", frame=1)
    user_action = arm.animation_data.action
    pose = _rig_pose(["head"], T=4)
    action = keys.write_rig_pose(arm, pose, "Anima: nod", frame_start=20, push_to_nla=True)
    anim = arm.animation_data
    assert anim.action == user_action
    tracks = [t for t in anim.nla_tracks if t.name == "Anima"]
    assert len(tracks) == 1 and len(tracks[0].strips) == 1
    strip = tracks[0].strips[0]
    assert strip.action == action and strip.frame_start == pytest.approx(20)
    if hasattr(strip, "action_slot") and keys.is_slotted(action):
        assert strip.action_slot == action.slots[0]


def test_frame_spacing_follows_scene_fps_and_missing_bone_creates_nothing(make_armature):
    keys = _keys()
    arm = make_armature()
    bpy.context.scene.render.fps = 24
    pose = _rig_pose(["head"], T=4, fps=30.0)
    action = keys.write_rig_pose(arm, pose, "Anima: spaced", frame_start=1)
    fc = _fcurves(action, arm)[0]
    np.testing.assert_allclose([k.co[0] for k in fc.keyframe_points], [1, 1.8, 2.6, 3.4],
                               atol=1e-5)

    n_actions = len(bpy.data.actions)
    bad = _rig_pose(["head", "no_such_bone"], T=3)
    with pytest.raises(ValueError, match="no_such_bone"):
        keys.write_rig_pose(arm, bad, "Anima: bad", frame_start=1)
    assert len(bpy.data.actions) == n_actions
    assert arm.animation_data.action == action


def test_action_name_for_long_prompts():
    keys = _keys()
    name = keys.action_name_for("a person   walks\nforward " + "and waves " * 30)
    assert name.startswith("Anima: a person walks forward") and name.endswith("...")
    assert len(name.encode()) <= keys.ACTION_NAME_MAX


def test_fk_switch_properties_are_set_and_keyed(make_armature):
    keys = _keys()
    arm = make_armature()
    pose = _rig_pose(["hand_l"], T=3)
    action = keys.write_rig_pose(arm, pose, "Anima: fk", frame_start=1,
                                 fk_switch=[("upperarm_l", "IK_FK", 1.0)],
                                 meta={"anima_source": "test", "ignored": [1, 2]})
    assert arm.pose.bones["upperarm_l"]["IK_FK"] == 1.0
    fc = _curve(_fcurves(action, arm), 'pose.bones["upperarm_l"]["IK_FK"]', 0)
    assert len(fc.keyframe_points) == 1 and fc.keyframe_points[0].interpolation == "CONSTANT"
    assert action["anima_source"] == "test" and "ignored" not in action
