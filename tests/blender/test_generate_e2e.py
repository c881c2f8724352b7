"""End to end in real Blender with the real backend: on the default character, Generate runs
the `generate` job (the shipped text-to-motion model) and Find in Library the `search` job
(offline MiniLM + the shipped CMU library) in the backend process; the result lands as a new
Action named after the prompt, with variations / alternatives to pick from."""
import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.blender


def pelvis_track(arm, bone, frames):
    scene = bpy.context.scene
    out = []
    for f in frames:
        scene.frame_set(f)
        out.append(np.array(arm.matrix_world @ arm.pose.bones[bone].head))
    return np.array(out)


def test_generate_walk_on_default_character(session, fresh_scene):
    scene = fresh_scene
    scene.render.fps = 30
    assert bpy.ops.anima.import_character() == {"FINISHED"}
    arm = bpy.context.view_layer.objects.active
    user_action = bpy.data.actions.new("MyOwnAction")
    arm.animation_data_create().action = user_action

    assert bpy.ops.anima.generate(prompt="a person walks forward", seconds=2.0,
                                  source="LIBRARY") == {"FINISHED"}
    action = arm.animation_data.action
    assert action is not user_action and action.name.startswith("Anima: a person walks")
    assert "MyOwnAction" in bpy.data.actions            # the user's action is kept
    assert action.get("anima_licence") == "CMU"
    first, last = (int(round(v)) for v in action.frame_range)
    assert last - first + 1 == pytest.approx(60, abs=2)   # 2 s at 30 fps
    hips = pelvis_track(arm, "pelvis", range(first, last + 1, 5))
    travel = np.linalg.norm(hips[-1, :2] - hips[0, :2])
    assert travel > 0.5, f"a walk should travel, moved {travel:.2f} m"
    assert 0.6 < hips[:, 2].mean() < 1.1

    # The other matches are listed in the panel; applying one makes another new Action.
    alts = bpy.context.window_manager.anima.alternatives
    assert len(alts) >= 2
    assert bpy.ops.anima.apply_clip(alternative=1) == {"FINISHED"}
    assert arm.animation_data.action is not action


def test_generate_bad_prompt_is_answered_by_the_backend(session, fresh_scene):
    from anima.operators import jobs
    with pytest.raises(jobs.JobFailed) as err:
        jobs.run_blocking("search", {"text": "   "})
    assert "empty" in str(err.value)
    with pytest.raises(jobs.JobFailed) as err:
        jobs.run_blocking("search", {"text": "walk", "seconds": 61})
    assert "at most 60" in str(err.value)
    # A non-English prompt is answered (with a warning), not refused.
    result = jobs.run_blocking("search", {"text": "una persona camina hacia adelante"})
    assert result["clips"]
    result = jobs.run_blocking("search", {"text": "человек идёт вперёд"})
    assert result["clips"] and result["warnings"]


def test_generate_new_motion_with_variations(session, fresh_scene):
    scene = fresh_scene
    scene.render.fps = 30
    assert bpy.ops.anima.import_character() == {"FINISHED"}
    arm = bpy.context.view_layer.objects.active
    assert scene.anima.model == "starter"                 # the default, non-commercial
    assert bpy.ops.anima.generate(prompt="a person walks forward", seconds=3.0, seed=5,
                                  model="clean", variations=3) == {"FINISHED"}
    action = arm.animation_data.action
    assert action.name.startswith("Anima: a person walks")
    assert action.get("anima_source") == "text2motion:clean"
    assert action.get("anima_licence") == "CMU" and action.get("anima_seed") == 5
    first, last = (int(round(v)) for v in action.frame_range)
    assert last - first + 1 == pytest.approx(90, abs=2)   # 3 s at 30 fps
    hips = pelvis_track(arm, "pelvis", range(first, last + 1, 5))
    assert np.isfinite(hips).all() and 0.5 < hips[:, 2].mean() < 1.2

    alts = bpy.context.window_manager.anima.alternatives
    assert [a.seed for a in alts] == [5, 6, 7]
    assert all(a.licence == "CMU" and a.label.startswith("variation") for a in alts)
    assert bpy.ops.anima.apply_clip(alternative=2) == {"FINISHED"}
    other = arm.animation_data.action
    assert other is not action and other.get("anima_seed") == 7
    assert "anima_score" not in other


def test_generate_job_answers_bad_input(session, fresh_scene):
    from anima.operators import jobs
    with pytest.raises(jobs.JobFailed) as err:
        jobs.run_blocking("generate", {"text": "a person waves", "seconds": 0})
    assert "at least 0.25" in str(err.value)
    with pytest.raises(jobs.JobFailed) as err:
        jobs.run_blocking("generate", {"text": "a person waves", "model": "huge"})
    assert "model must be" in str(err.value)


def test_generate_says_how_it_read_a_paraphrase(session, fresh_scene):
    fresh_scene.render.fps = 30
    assert bpy.ops.anima.import_character() == {"FINISHED"}
    assert bpy.ops.anima.generate(prompt="someone strolls down the street", seconds=2.0,
                                  variations=1) == {"FINISHED"}
    st = bpy.context.window_manager.anima
    assert st.last_prompt == "someone strolls down the street"
    assert "walks" in st.read_as                  # given to the model as a training caption
    assert bpy.ops.anima.generate(prompt="a person juggles three balls", seconds=2.0,
                                  variations=1) == {"FINISHED"}
    assert st.read_as == "" and "juggles" in st.warnings    # unknown: said, not snapped
