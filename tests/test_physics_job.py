"""The `physics` job (backend/models/physics/job.py) with the real MuJoCo tracker."""
from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest

from backend.jobs import JobCancelled, JobContext, JobError
from backend.models.physics.job import physics_job
from backend.motion.clip import Clip
from backend.motion.wire import clip_to_wire


@pytest.fixture(scope="module")
def walk():
    from backend.models.editing.evaluate import held_out_clips
    clip = max((c for _cap, c in held_out_clips(30.0)), key=lambda c: c.num_frames)
    return clip.slice(0, 90)


def _ctx(cancel_after: int | None = None):
    event = threading.Event()
    seen = []

    def on_progress(f, m):
        seen.append(m)
        if cancel_after is not None and len(seen) >= cancel_after:
            event.set()
    return JobContext("t", Path(tempfile.mkdtemp()), on_progress=on_progress,
                      cancel_event=event), seen


def test_a_range_with_a_push_keeps_the_rest_and_reports(walk):
    ctx, _ = _ctx()
    wire = clip_to_wire(walk)
    out = physics_job({"clip": wire, "start": 20, "end": 70, "assistance": 0.5,
                       "pushes": [{"frame": 40, "force": [300.0, 0.0, 0.0]}],
                       "first_frame": 101}, ctx)
    clip = Clip.load_npz(out["artifacts"]["clip"])
    from backend.motion.wire import clip_from_wire
    sent = clip_from_wire(wire)
    assert clip.num_frames == walk.num_frames
    # outside the range: the sent motion (to the float32 rounding of the saved file); the
    # add-on keeps its own keys there anyway (splice)
    assert np.allclose(clip.local_rotations[:20], sent.local_rotations[:20], atol=1e-6)
    assert np.allclose(clip.root_translation[71:], sent.root_translation[71:], atol=1e-6)
    assert not np.allclose(clip.root_translation[40:60], sent.root_translation[40:60],
                           atol=1e-3)                           # the simulated range moved
    r = out["report"]
    for key in ("mpjpe_mm_mean", "success", "residual_n_mean", "penetration_after",
                "floating_after", "skate_after", "planted_speed_after",
                "needed_force_pct_weight"):
        assert r[key] is not None, key
    assert r["success"] and r["mpjpe_mm_mean"] < 60
    # the push is named in the user's frames (clip frame 40 of a clip starting at 101), not
    # in those of the window the job simulates from before the range
    (push,) = r["pushes"]
    assert push["frame"] == 141 and push["force_N"] == 300.0
    assert r["push_steps"] == len(push["steps"])
    assert push["peak_error_mm"] > 0 and np.isfinite(push["help_absorbed_pct"])
    for w in out["warnings"]:
        assert "push at frame" not in w or "push at frame 141" in w
    contacts = out["contacts"]
    assert len(contacts["left_foot"]) == walk.num_frames
    assert sum(contacts["left_foot"][20:71]) + sum(contacts["right_foot"][20:71]) > 10


def test_cancel_ends_as_cancelled(walk):
    ctx, _ = _ctx(cancel_after=2)
    with pytest.raises(JobCancelled):
        physics_job({"clip": clip_to_wire(walk)}, ctx)


@pytest.mark.parametrize("params, message", [
    ({"gravity": 0}, "gravity"), ({"gravity": -9.8}, "gravity"), ({"friction": 0}, "friction"),
    ({"assistance": 2}, "assistance"), ({"start": 5, "end": 5}, "at least two frames"),
    ({"pushes": [{"frame": 10, "force": [1e6, 0, 0]}]}, "not a push"),
    ({"pushes": [{"frame": 10, "force": [1, 0, 0], "body": "tail"}]}, "body"),
    ({"planner": "yes"}, "planner"),
])
def test_bad_params_are_refused_clearly(walk, params, message):
    ctx, _ = _ctx()
    with pytest.raises(JobError, match=message):
        physics_job(dict({"clip": clip_to_wire(walk)}, **params), ctx)


def test_planner_option_reaches_the_tracker(walk):
    ctx, _ = _ctx()
    out = physics_job({"clip": clip_to_wire(walk), "start": 20, "end": 40, "planner": True,
                       "assistance": 0.3}, ctx)
    r = out["report"]
    assert r["planner"] is True and r["plans"] >= 10          # 36 frames at 60 Hz / 6
    assert r["success"] and r["contact_slide_after"] <= r["contact_slide_simulated"]
    for key in ("skate_after_simulated", "skate_reference", "floating_after_flight",
                "floating_after_ground", "contact_height_after"):
        assert r[key] is not None, key
