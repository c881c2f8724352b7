"""Operators with real bpy: clear errors that leave the scene untouched, applying clips,
search results and alternatives, bone mapping and its presets, the default character."""
from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("fresh_scene")]


def _scene_state():
    arm_anim = [(o.name, o.animation_data.action.name if o.animation_data and
                 o.animation_data.action else None) for o in bpy.data.objects]
    return (sorted(o.name for o in bpy.data.objects), sorted(a.name for a in bpy.data.actions),
            arm_anim, bpy.context.scene.frame_end)


def _generate_error(**kwargs) -> str:
    with pytest.raises(RuntimeError) as info:
        bpy.ops.anima.generate(**kwargs)
    return str(info.value)


def _walk_clip(frames=40, fps=30.0, caption="walk test"):
    """A canonical clip: pelvis moving forward (-Y), legs swinging, arms down a little."""
    from anima.backend.motion import quat
    from anima.backend.motion.clip import Clip
    from anima.backend.motion.skeleton import CANONICAL_NAMES
    t = np.arange(frames) / fps
    rot = quat.identity((frames, len(CANONICAL_NAMES)))
    swing = 0.4 * np.sin(2 * np.pi * t)
    for name, sign in (("left_hip", 1), ("right_hip", -1)):
        rot[:, CANONICAL_NAMES.index(name)] = quat.from_axis_angle([1, 0, 0], sign * swing)
    root = np.stack([np.zeros(frames), -1.2 * t, 0.95 + 0.02 * np.sin(4 * np.pi * t)], -1)
    return Clip(rot, root, fps, meta={"caption": caption, "source": "test", "licence": "CC0"})


def test_generate_needs_an_armature(make_armature):
    before = _scene_state()
    assert "Select an armature" in _generate_error(prompt="a person walks")
    bpy.ops.mesh.primitive_cube_add()
    assert "is not an armature" in _generate_error(prompt="a person walks")
    assert len(bpy.data.actions) == 0 and before[1] == []


def test_generate_prompt_validation_leaves_scene_untouched(make_armature):
    make_armature()
    before = _scene_state()
    assert "Type a prompt" in _generate_error(prompt="")
    assert "Type a prompt" in _generate_error(prompt="   \n\t ")
    msg = _generate_error(prompt="x" * 10_000)
    assert "too long" in msg and "10000" in msg and "1000" in msg
    assert "no words" in _generate_error(prompt="?!? 123")
    bpy.context.scene.anima.prompt = ""                    # the panel's field, not an argument
    assert "Type a prompt" in _generate_error()
    assert _scene_state() == before


def test_generate_with_missing_interpreter(make_armature, session):
    session.stop()                                          # a fresh start reads the prefs
    make_armature()
    prefs = bpy.context.preferences.addons["anima"].preferences
    prefs.backend_mode = "LOCAL"
    prefs.python_path = "/nonexistent/anima/python3"
    before = _scene_state()
    msg = _generate_error(prompt="a person walks forward")
    assert "interpreter not found" in msg and "/nonexistent/anima/python3" in msg
    assert _scene_state() == before
    st = bpy.context.window_manager.anima
    assert st.state == "ERROR" and "interpreter not found" in st.error and not st.busy


def test_remote_backend_refused_without_online_access(make_armature, session):
    if bpy.app.online_access:
        pytest.skip("online access is allowed in this Blender session")
    session.stop()
    make_armature()
    prefs = bpy.context.preferences.addons["anima"].preferences
    prefs.backend_mode = "REMOTE"
    prefs.host = "gpu.example.org"
    before = _scene_state()
    msg = _generate_error(prompt="a person walks forward")
    assert "Online access is disabled" in msg and "gpu.example.org" in msg
    assert _scene_state() == before
    from anima import preferences
    assert preferences.is_loopback("127.0.0.1") and preferences.is_loopback("::1")
    assert preferences.is_loopback("localhost") and not preferences.is_loopback("10.0.0.1")


def test_apply_clip_operator_from_file(make_armature, tmp_path):
    arm = make_armature()
    bpy.context.scene.render.fps = 24                       # the clip is 30 fps: resampled
    bpy.context.scene.frame_end = 10
    path = _walk_clip(frames=31).save_npz(tmp_path / "walk.npz")
    bpy.ops.anima.apply_clip(filepath=str(path))
    action = arm.animation_data.action
    assert action is not None and action.name.startswith("Anima: walk test")
    assert action["anima_licence"] == "CC0"
    from anima.operators import keys
    fcurves = keys.fcurves_of(action, arm)
    assert fcurves and all(len(fc.keyframe_points) == 25 for fc in fcurves)   # 1 s at 24 fps
    assert bpy.context.scene.frame_end == 1 + 24                # extended to fit
    # The mapping was detected and stored on the armature for the panel.
    mapping = arm.data.anima_mapping
    assert mapping.joints["left_knee"].bone == "calf_l"
    # The pelvis travels forward, in the clip's direction (-Y).
    bpy.context.scene.frame_set(1)
    y0 = (arm.matrix_world @ arm.pose.bones["pelvis"].head).y
    bpy.context.scene.frame_set(25)
    y1 = (arm.matrix_world @ arm.pose.bones["pelvis"].head).y
    assert y1 < y0 - 0.5

    with pytest.raises(RuntimeError, match="not found"):
        bpy.ops.anima.apply_clip(filepath=str(tmp_path / "missing.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(RuntimeError, match="not an Anima clip"):
        bpy.ops.anima.apply_clip(filepath=str(tmp_path / "junk.npz"))


def test_search_result_applies_selected_clip_and_lists_alternatives(make_armature, tmp_path):
    from anima.operators import generate
    arm = make_armature()
    paths = [str(_walk_clip(caption=c).save_npz(tmp_path / f"clip_{i}.npz"))
             for i, c in enumerate(["walk fast", "walk slow"])]
    result = {"clips": [{"artifact": "clip_0", "caption": "walk fast", "score": 0.9,
                         "source": "CMU", "licence": "free", "commercial_ok": True},
                        {"artifact": "clip_1", "caption": "walk slow", "score": 0.7,
                         "source": "BN", "licence": "CC BY-NC-ND 4.0",
                         "commercial_ok": False}],
              "selected": 0, "warnings": ["the prompt does not look English"],
              "artifacts": {"clip_0": paths[0], "clip_1": paths[1]}}
    opts = generate.options_from_settings(bpy.context.scene.anima, bpy.context.scene)
    action = generate.apply_search_result(result, arm.name, opts, prompt="a person walks")
    assert action.name == "Anima: a person walks" and arm.animation_data.action == action
    assert action["anima_source"] == "CMU"
    st = bpy.context.window_manager.anima
    assert [a.caption for a in st.alternatives] == ["walk fast", "walk slow"]
    assert st.applied_clip == paths[0] and "English" in st.warnings
    assert not st.alternatives[1].commercial_ok

    bpy.ops.anima.apply_clip(alternative=1)                 # the panel's button
    second = arm.animation_data.action
    assert second != action and second["anima_licence"] == "CC BY-NC-ND 4.0"
    assert second["anima_previous_action"] == action.name and action.use_fake_user
    assert st.applied_clip == paths[1]

    with pytest.raises(ValueError, match="is gone"):
        generate.apply_search_result(result, "NoSuchRig", opts, prompt="x")
    with pytest.raises(ValueError, match="no motion clip"):
        generate.apply_search_result({"clips": []}, arm.name, opts, prompt="x")


def test_generate_blocking_path_through_the_session(make_armature, session, tmp_path):
    """The operator's plumbing in background mode: submit -> wait -> apply in one call. The
    `sleep` job stands in for `search` (its artifact is a canonical rest clip)."""
    from anima.operators import generate
    arm = make_armature()
    opts = generate.options_from_settings(bpy.context.scene.anima, bpy.context.scene)

    def on_result(result):
        clip = result["artifacts"]["clip"]
        return generate.apply_search_result(
            {"clip": clip, "alternatives": [{"clip": clip, "caption": "rest", "score": 1.0}]},
            arm.name, opts, prompt="stand still")

    rec = session.submit("sleep", {"seconds": 0.0, "steps": 8, "artifact": True},
                         label="stand still", on_result=on_result)
    assert rec.done and rec.error == "", rec.error
    assert rec.applied_name == "Anima: stand still"
    assert arm.animation_data.action.name == "Anima: stand still"


def test_mapping_auto_presets_round_trip(make_armature, tmp_path):
    arm = make_armature("mixamo")
    bpy.ops.anima.mapping_auto()
    mapping = arm.data.anima_mapping
    assert mapping.joints["left_knee"].bone == "mixamorig:LeftLeg"
    mapping.joints["head"].bone = "mixamorig:Neck"           # a manual edit
    preset = tmp_path / "my_rig.json"
    bpy.ops.anima.mapping_save_preset(filepath=str(preset))
    bpy.ops.anima.mapping_clear()
    assert len(mapping.joints) == 0
    bpy.ops.anima.mapping_load_preset(filepath=str(preset))
    assert mapping.joints["head"].bone == "mixamorig:Neck"
    assert mapping.joints["left_knee"].bone == "mixamorig:LeftLeg"

    # Named presets go to the user folder and show up in the load menu.
    from anima.operators import retarget
    bpy.ops.anima.mapping_save_preset(name="Mixamo test/../x")
    files = retarget.preset_files()
    assert any(f.endswith("Mixamo test_.._x.json") or f.endswith("Mixamo test_x.json")
               or "Mixamo test" in f for f in files)

    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(RuntimeError, match="Not a valid mapping preset"):
        bpy.ops.anima.mapping_load_preset(filepath=str(bad))


def test_mapping_failure_is_explained(make_armature):
    bpy.ops.object.armature_add()
    arm = bpy.context.active_object
    with pytest.raises(RuntimeError, match="Automatic mapping failed"):
        bpy.ops.anima.mapping_auto()
    # The joints are listed anyway, to be filled in by hand.
    assert len(arm.data.anima_mapping.joints) == 22


def test_fbx_like_rotated_scaled_armature(make_armature, tmp_path):
    """An armature whose rest data is Y-up in centimetres, made upright and metre-sized by the
    object transform (what FBX imports of Mixamo rigs look like), animates exactly like the
    plain one: world skeleton, and world bone positions of the applied motion."""
    from mathutils import Matrix
    from anima.operators import retarget
    plain = make_armature(name="Plain")
    fbx = make_armature(name="FBX")
    fbx.data.transform(Matrix.Diagonal((100, 100, 100, 1)) @ Matrix.Rotation(-np.pi / 2, 4, "X"))
    fbx.rotation_euler = (np.pi / 2, 0, 0)
    fbx.scale = (0.01, 0.01, 0.01)
    bpy.context.view_layer.update()
    np.testing.assert_allclose(retarget.armature_skeleton(fbx).rest_world()[1],
                               retarget.armature_skeleton(plain).rest_world()[1], atol=1e-4)

    clip = _walk_clip(frames=31)
    for obj in (plain, fbx):
        retarget.apply_clip_to_armature(obj, clip, frame_start=1)
    scene = bpy.context.scene
    for frame in (1, 16, 31):
        scene.frame_set(frame)
        for bone in ("pelvis", "foot_l", "hand_r", "head"):
            a = plain.matrix_world @ plain.pose.bones[bone].head
            b = fbx.matrix_world @ fbx.pose.bones[bone].head
            np.testing.assert_allclose(np.array(b), np.array(a), atol=1e-3)


def test_import_character(fresh_scene):
    bpy.ops.anima.import_character()
    obj = bpy.context.active_object
    assert obj is not None and obj.type == "ARMATURE"
    assert any(o.type == "MESH" for o in bpy.data.objects)
