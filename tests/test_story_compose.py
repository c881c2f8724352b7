"""Story composition with the real shipped generator and in-betweener (torch, CPU):
placement, facing, obstacles, seams, regenerating one segment, cancelling, the jobs."""
from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from backend.jobs import JobContext, JobError
from backend.models.story.assemble import compose_story
from backend.models.story.job import story_job, story_plan_job
from backend.models.story.planner import path_clearance
from backend.models.story.poses import pose_frame
from backend.models.story.schedule import offline_schedule
from backend.models.story.schema import Scene
from backend.motion.skeleton import CANONICAL, CANONICAL_NAMES
from backend.motion.wire import clip_to_wire

SCENE_DICT = {"objects": [
    {"name": "Chair", "position": [2.5, -2.5, 0.0], "yaw": 90, "size": [0.5, 0.5, 0.9]},
    {"name": "Crate", "position": [1.2, -1.2, 0.0], "yaw": 30, "size": [0.8, 0.8, 0.8]},
    {"name": "Door", "position": [-2.5, 0.5, 0.0], "yaw": -90, "size": [1.0, 0.1, 2.1]}],
    "character": {"position": [0.0, 0.0], "yaw": 0.0}}
SCENE = Scene.from_dict(SCENE_DICT)
STORY = "A man walks to the chair and sits down. Then he walks to the door and waves."


@pytest.fixture(scope="module")
def gen():
    from backend.models.text2motion.sample import load_generator
    return load_generator("starter")


@pytest.fixture(scope="module")
def story(gen):
    schedule = offline_schedule(STORY, SCENE, check=False)
    return schedule, compose_story(gen, schedule, SCENE, seed=3)


def test_places_facing_obstacles_and_layout(story):
    schedule, result = story
    m = result.metrics
    assert [r["kind"] for r in result.segments] == ["move", "pose", "pose", "move", "act"]
    assert max(m["position_errors"]) <= 0.20
    assert max(m["facing_errors"]) <= 15.0
    assert m["clearance"] > 0.0                      # never through the crate or the door
    frames = 0
    for k, row in enumerate(result.segments):        # segments and transitions tile the clip
        if k:
            t = result.transitions[k - 1]
            assert (t["start"], t["end"]) == (frames, row["start"])
        frames = row["end"]
    assert frames == result.clip.num_frames
    sit = result.segments[1]
    pelvis = result.clip.root_translation[sit["start"]:sit["end"], :2]
    chair = np.array(SCENE.get("Chair").position[:2])
    assert np.linalg.norm(pelvis.mean(0) - chair) < 0.35   # sitting on the chair's seat
    assert m["seam_skate"] <= 0.15                   # stepping feet at the seams


def test_root_track_avoids_the_crate(story):
    _, result = story
    root = result.clip.root_translation[:, :2]
    assert path_clearance(root, SCENE, ignore=("Chair",)) > 0.0


def test_regenerating_one_segment_keeps_every_other_frame(gen, story):
    schedule, result = story
    previous = {"clip": result.clip, "segments": result.segments,
                "transitions": result.transitions}
    again = compose_story(gen, schedule, SCENE, seed=11, previous=previous, regenerate=[4])
    old, new = result.clip, again.clip
    keep_until = result.transitions[3]["start"]      # everything before transition 3->4
    assert np.array_equal(new.local_rotations[:keep_until], old.local_rotations[:keep_until])
    assert np.array_equal(new.root_translation[:keep_until], old.root_translation[:keep_until])
    a, b = result.segments[4]["start"], again.segments[4]["start"]
    assert not np.array_equal(new.local_rotations[b:b + 20], old.local_rotations[a:a + 20])


def test_cancel_keeps_the_segments_made(gen):
    schedule = offline_schedule(STORY, SCENE, check=False)
    started = {"segments": 0}

    def progress(fraction, message=""):
        started["segments"] += message.startswith("segment")

    def cancelled():            # cancelled while the third segment is being made
        return started["segments"] >= 3
    result = compose_story(gen, schedule, SCENE, seed=0, cancelled=cancelled, progress=progress)
    # the third segment is dropped when the cancel comes during its sampling, kept when it
    # needs no sampling (a held pose); nothing after it is made
    assert result.partial and len(result.segments) in (2, 3)
    assert len(result.segments) < len(schedule.segments)
    assert result.clip.num_frames == result.segments[-1]["end"]


def test_sitting_pose_geometry():
    rots, root = pose_frame("sit", (0.0, 0.0), 0.0)
    _, pos = CANONICAL.fk(rots[None], root[None])
    j = {n: i for i, n in enumerate(CANONICAL_NAMES)}
    p = pos[0]
    assert 0.0 <= p[[j["left_foot"], j["right_foot"]], 2].min() < 0.05   # feet on the floor
    assert 0.4 < p[j["pelvis"], 2] < 0.6                               # seat height
    assert p[j["left_knee"], 1] < p[j["pelvis"], 1] - 0.3              # thighs forward (-Y)
    assert abs(p[j["left_knee"], 2] - p[j["left_hip"], 2]) < 0.05      # level thighs


def _ctx() -> tuple[JobContext, list]:
    import tempfile
    from pathlib import Path
    seen = []
    return JobContext("t", Path(tempfile.mkdtemp()), on_progress=lambda f, m: seen.append(m),
                      cancel_event=threading.Event()), seen


def test_jobs_plan_then_make_then_regenerate(gen):
    ctx, seen = _ctx()
    planned = story_plan_job({"story": STORY, "scene": SCENE_DICT}, ctx)
    assert planned["scheduler"] == "offline"
    schedule = planned["schedule"]
    schedule["segments"][-1]["action"] = "a man bows"               # the user edits a row
    made = story_job({"schedule": schedule, "scene": SCENE_DICT, "seed": 1}, ctx)
    assert any(m.startswith("segment 5/5") for m in seen)
    assert made["frames"] == made["segments"][-1]["end"] and not made["partial"]
    from backend.motion.clip import Clip
    clip = Clip.load_npz(made["artifacts"]["story"])
    again = story_job({"schedule": schedule, "scene": SCENE_DICT, "seed": 2, "previous": {
        "clip": clip_to_wire(clip), "segments": made["segments"],
        "transitions": made["transitions"], "regenerate": [0]}}, ctx)
    assert again["changed"] == [0]
    new = Clip.load_npz(again["artifacts"]["story"])
    s_old, s_new = made["segments"][2], again["segments"][2]
    n = s_old["end"] - s_old["start"]
    assert n == s_new["end"] - s_new["start"]
    assert np.allclose(new.local_rotations[s_new["start"]:s_new["end"]],
                       clip.local_rotations[s_old["start"]:s_old["end"]], atol=1e-6)


@pytest.mark.parametrize("params, message", [
    ({"story": "", "scene": SCENE_DICT}, "empty"),
    ({"story": "x " * 15000, "scene": SCENE_DICT}, "20,000"),
    ({"story": "He walks to the door.", "scene": {"objects": 3}}, "scene"),
    ({"story": "He walks to the door.", "scene": SCENE_DICT, "scheduler": "gpt"}, "scheduler"),
    ({"story": "He walks to the door.", "scene": SCENE_DICT, "scheduler": "llm"}, "URL"),
])
def test_plan_job_bad_input(params, message):
    ctx, _ = _ctx()
    with pytest.raises(JobError, match=message):
        story_plan_job(params, ctx)


def test_story_job_refuses_unknown_places_and_bad_previous():
    ctx, _ = _ctx()
    seg = {"text": "walks to the fridge", "kind": "move", "action": "a man walks forward",
           "place": "Fridge"}
    with pytest.raises(JobError, match="Fridge"):
        story_job({"schedule": {"segments": [seg]}, "scene": SCENE_DICT}, ctx)
    seg["place"] = "Door"
    with pytest.raises(JobError, match="previous"):
        story_job({"schedule": {"segments": [seg]}, "scene": SCENE_DICT,
                   "previous": {"clip": "nope", "segments": [], "transitions": [],
                                "regenerate": [0]}}, ctx)


def test_llm_fallback_through_the_job_when_the_endpoint_is_down():
    ctx, _ = _ctx()
    out = story_plan_job({"story": STORY, "scene": SCENE_DICT, "scheduler": "llm",
                          "llm": {"url": "http://127.0.0.1:9/v1", "model": "x",
                                  "timeout_s": 2}}, ctx)
    assert out["scheduler"] == "offline"
    assert "offline scheduler was used" in out["warnings"][0]
    assert math.isclose(len(out["schedule"]["segments"]), 5)


def test_cancel_through_the_real_backend_keeps_the_segments_made(tmp_path):
    """A story job in a real backend process: one progress message per segment; cancelled
    after the second segment started, it answers with the segments made (partial)."""
    import sys
    from pathlib import Path

    from backend.client import BackendClient
    long_story = " ".join(["He walks to the chair and sits down. He stands up and walks to "
                           "the door. He waves."] * 4)
    repo = Path(__file__).resolve().parents[1]
    c = BackendClient.spawn(sys.executable, tmp_path / "cache", device="cpu", cwd=repo)
    try:
        plan = c.wait(c.submit("story_plan", {"story": long_story, "scene": SCENE_DICT}),
                      timeout=120)
        n = len(plan["schedule"]["segments"])
        job = c.submit("story", {"schedule": plan["schedule"], "scene": SCENE_DICT, "seed": 0})
        seen = []

        def on_progress(fraction, message):
            seen.append(message)
            if message.startswith("segment 3/"):
                c.cancel(job)
        result = c.wait(job, timeout=300, on_progress=on_progress)
    finally:
        c.close()
    assert any(m.startswith("segment 1/") for m in seen)
    assert result["partial"] and 2 <= result["made"] < n
    assert result["frames"] == result["segments"][-1]["end"]
    from backend.motion.clip import Clip
    assert Clip.load_npz(result["artifacts"]["story"]).num_frames == result["frames"]


def test_a_transition_cutting_a_corner_is_pushed_out_of_the_obstacle():
    from backend.models.story.assemble import TRANSITION_CLEARANCE, _push_out
    from backend.motion.clip import Clip
    scene = Scene.from_dict({"objects": [{"name": "Box", "position": [0.0, 0.0, 0.0],
                                          "yaw": 45, "size": [1.0, 1.0, 1.0]}]})
    n = 30
    root = np.zeros((n, 3))
    root[:, 0] = np.linspace(-1.0, 1.0, n)          # straight through the box's corner region
    root[:, 1] = 0.55
    rots = np.zeros((n, 22, 4))
    rots[..., 0] = 1.0
    clip = Clip(rots, root, 20.0, CANONICAL)
    assert path_clearance(root[:, :2], scene) < 0
    rows = [{"place": None}, {"place": None}]
    _push_out(clip, {"between": [0, 1], "start": 5, "end": 25}, rows, scene)
    from backend.models.story.assemble import frame_clearance
    assert frame_clearance(clip.root_translation[5:25, :2], scene) >= TRANSITION_CLEARANCE - 1e-3
    assert np.array_equal(clip.root_translation[:5], root[:5])      # segments untouched


def test_a_segment_from_the_library_uses_a_captured_clip(gen):
    from backend.models.story.schema import Schedule
    schedule = Schedule.from_dict({"segments": [
        {"text": "walks to the door", "kind": "move", "action": "a man walks forward",
         "place": "Door"},
        {"text": "jumps", "kind": "act", "action": "a person jumps", "source": "library"}]},
        SCENE)
    result = compose_story(gen, schedule, SCENE, seed=0)
    info = result.segments[1]["info"]
    assert info["source"] == "library" and info["licence"] == "CMU" and info["commercial_ok"]
    assert "jump" in info["caption"].lower()
    first = result.clip.root_translation[result.segments[1]["start"], :2]
    assert np.linalg.norm(first - np.asarray(result.segments[0]["end_xy"])) < 1e-6


def test_a_very_large_scene_is_planned_on_a_coarser_grid():
    from backend.models.story.compose import Composer
    big = Scene.from_dict({"objects": [
        {"name": "Far", "position": [150.0, 150.0, 0.0], "size": [1.0, 1.0, 1.0]},
        {"name": "Box", "position": [2.0, 0.0, 0.0], "size": [1.0, 1.0, 1.0]}]})
    composer = Composer(None, big)
    occ = composer.occupancy(())
    assert occ.cell > 0.05 and any("large" in w for w in composer.warnings)


@pytest.mark.parametrize("text", ["a person waves with the right hand", "a proud person bows"])
def test_an_act_is_drawn_as_the_generate_job_draws_it(gen, text):
    """The story's act uses the generate job's takes (text2motion/takes.py): the same takes
    of the same text and seed, the same kept clip, the same check."""
    from backend.models.story.compose import Composer
    from backend.models.story.schema import Segment
    from backend.models.text2motion.compose import read_part
    from backend.models.text2motion.takes import TAKES, generate_takes, weaker_texts
    from backend.text.known import check_prompt, refine_action
    composer = Composer(gen, SCENE, seed=0)
    clip, info = composer._act(Segment(text=text, kind="act", action=text, seconds=3.0), 11)
    report = check_prompt(text, "starter")
    label = refine_action(report.known_actions[0][0], text)
    assert info["label"] == label and info["checked"]
    snapped, _a, style = read_part(gen, text)
    feats, takes = generate_takes(gen, [snapped], [label], [3.0], [11], TAKES,
                                  weaker=weaker_texts([snapped], [label]), styles=[style])
    np.testing.assert_allclose(clip.local_rotations, gen.to_clip(feats[0]).local_rotations)
    assert info["tries"] == takes[0].takes and info["passed"] == bool(takes[0].passed)
    assert info.get("style_weakened", False) == takes[0].style_weakened
