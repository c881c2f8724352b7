"""The `camera` job kind through backend.jobs.JOBS with a JobContext: result contract, progress,
cancellation, bad params, no free path, and a 1M-triangle scene."""
import json
import time

import numpy as np
import pytest

from backend import jobs
from backend.jobs import JobCancelled, JobContext, JobError
from backend.models.camera.wire import mesh_to_wire

jobs.load_job_modules(["backend.models.camera.job"])
CAMERA = jobs.JOBS["camera"]
FPS = 24.0


def subject(frames=120, z=0.9):
    t = np.arange(frames) / FPS
    return {"fps": FPS, "positions": np.stack([np.zeros_like(t), -t, np.full_like(t, z)],
                                              1).tolist(), "radius": 0.9}


def ground(half=40.0):
    v = np.array([[-half, -half, 0], [half, -half, 0], [half, half, 0], [-half, half, 0]])
    return v, np.array([[0, 1, 2], [0, 2, 3]])


def box(lo, hi):
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    v = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                  [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], float)
    f = np.array([[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
                  [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]])
    return v, f


def context(tmp_path, messages=None, cancel_after=None):
    ctx = JobContext("cam", tmp_path)
    messages = [] if messages is None else messages
    ctx.cancelled_at = None

    def on_progress(fraction, message):
        messages.append((fraction, message))
        if cancel_after is not None and len(messages) >= cancel_after and \
                ctx.cancelled_at is None:
            ctx.cancelled_at = time.perf_counter()
            ctx.cancel_event.set()
    ctx.on_progress = on_progress
    return ctx


def test_job_result_contract_with_a_file_scene(tmp_path):
    v, f = ground()
    path = tmp_path / "scene.npz"
    np.savez(path, vertices=v.astype(np.float32), triangles=f.astype(np.int32))
    messages = []
    result = CAMERA({"geometry": {"path": str(path)}, "subject": subject(), "shot": "orbit",
                     "options": {"duration_s": 4.0}}, context(tmp_path, messages))
    json.dumps(result, allow_nan=False)                # goes over the wire as it is
    assert result["fps"] == FPS and result["frames"] == 96 and result["selected"] == 0
    assert len(result["paths"]) == 3 and result["warnings"] == []
    for p in result["paths"]:
        assert set(p) == {"name", "shot", "location", "rotation", "lens_mm", "metrics"}
        assert np.array(p["location"]).shape == (96, 3)
        assert np.array(p["rotation"]).shape == (96, 4)
        assert set(p["metrics"]) == {"crashes", "min_clearance_m", "in_frame", "unoccluded",
                                     "framing_error", "jerk", "catmull_rom_jerk", "max_speed",
                                     "max_accel", "max_yaw_rate"}
        assert 0.0 <= p["metrics"]["max_yaw_rate"] <= 60.0     # the cinematic drone's limit
    assert [m for _f, m in messages if m.startswith("planning variant")]
    fractions = [fr for fr, _m in messages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_empty_geometry_is_open_sky(tmp_path):
    empty = mesh_to_wire(np.zeros((0, 3)), np.zeros((0, 3), int))
    result = CAMERA({"geometry": empty, "subject": subject(48), "shot": "dronie",
                     "alternatives": 1}, context(tmp_path))
    assert result["paths"][0]["metrics"]["crashes"] == 0


def test_subject_in_a_closed_box_gives_the_best_partial_path_and_says_so(tmp_path):
    gv, gf = ground()
    bv, bf = box((-0.5, -6, 0), (0.5, 0.5, 1.0))   # a closed crate too tight for a camera
    v = np.concatenate([gv, bv])
    f = np.concatenate([gf, bf + len(gv)])
    small = {**subject(z=0.45), "radius": 0.4}
    result = CAMERA({"geometry": mesh_to_wire(v, f), "subject": small, "shot": "orbit",
                     "alternatives": 2}, context(tmp_path))
    assert len(result["paths"]) == 2
    text = " ".join(result["warnings"])
    assert "inside a closed mesh" in text
    assert "hidden" in text or "no free path" in text
    assert np.isfinite(np.array(result["paths"][0]["location"])).all()


@pytest.mark.parametrize("change, message", [
    ({"subject": {**subject(1)}}, "holds 1 frame"),
    ({"subject": {**subject(), "positions": []}}, "holds 0 frame"),
    ({"options": {"duration_s": 0.06}}, "needs at least 2"),
    ({"options": {"duration_s": 0}}, "duration_s must be a number from 0.05"),
    ({"subject": {**subject(), "fps": 0}}, "fps must be a number above 0"),
    ({"subject": {**subject(), "radius": -1}}, "radius must be"),
    ({"subject": {**subject(), "positions": [[0, 0, 0], [0, float("nan"), 0]]}},
     r"positions\[1\]"),
    ({"shot": "barrel_roll"}, "shot must be one of"),
    ({"options": {"side": "up"}}, "side must be one of left, right"),
    ({"options": {"distnace": 5}}, "unknown option"),
    ({"options": {"lens_mm": 1}}, "lens_mm must be a number from 5"),
    ({"alternatives": 7}, "must be <= 6"),
    ({"geometry": None}, "missing parameter geometry"),
    ({"geometry": {"format": "anima-mesh-b64", "vertices": "", "triangles": "",
                   "counts": [1, 0]}}, "counts say"),
])
def test_bad_params_are_clear_errors(tmp_path, change, message):
    params = {"geometry": mesh_to_wire(*ground()), "subject": subject(), "shot": "orbit",
              **change}
    with pytest.raises(JobError, match=message) as info:
        CAMERA(params, context(tmp_path))
    assert info.value.code == "bad_params"


def test_cancel_stops_within_half_a_second(tmp_path):
    ctx = context(tmp_path, cancel_after=3)          # while planning the variants
    with pytest.raises(JobCancelled):
        CAMERA({"geometry": mesh_to_wire(*ground()), "subject": subject(300), "shot": "orbit",
                "alternatives": 6}, ctx)
    assert time.perf_counter() - ctx.cancelled_at < 0.5


def million_triangles():
    """A 1M-triangle scene: ground tiles and a field of small rocks around the walk."""
    rng = np.random.default_rng(0)
    n = 1_000_000
    centres = rng.uniform([-40, -40, 0], [40, 40, 0.4], (n, 3))
    near_walk = (np.abs(centres[:, 0]) < 4) & (centres[:, 1] > -8) & (centres[:, 1] < 3)
    centres[near_walk, 2] = 0.0                       # a path on the ground
    v = np.concatenate([centres + rng.normal(0, 0.08, (n, 3)) for _ in range(3)])
    f = np.stack([np.arange(n), np.arange(n) + n, np.arange(n) + 2 * n], 1)
    gv, gf = ground()
    return np.concatenate([v, gv]), np.concatenate([f, gf + len(v)])


def test_a_million_triangles_still_plans_with_progress(tmp_path):
    v, f = million_triangles()
    path = tmp_path / "big.npz"
    np.savez(path, vertices=v.astype(np.float32), triangles=f.astype(np.int32))
    messages = []
    start = time.perf_counter()
    result = CAMERA({"geometry": {"path": str(path)}, "subject": subject(240), "shot": "orbit"},
                    context(tmp_path, messages))
    seconds = time.perf_counter() - start
    print(f"1M triangles planned in {seconds:.1f} s")
    assert result["paths"][0]["metrics"]["crashes"] == 0
    assert any("triangles" in m for _f, m in messages)
    assert seconds < 20         # measured about 5 s on the 2-core dev machine


def test_cancel_during_a_big_scene_build_stops_within_half_a_second(tmp_path):
    v, f = million_triangles()
    wire = mesh_to_wire(v, f)
    ctx = context(tmp_path, cancel_after=2)       # cancelled as the indexing starts
    with pytest.raises(JobCancelled):
        CAMERA({"geometry": wire, "subject": subject(240), "shot": "orbit"}, ctx)
    assert time.perf_counter() - ctx.cancelled_at < 0.5
