"""The learned next-camera-pose option (issue 12, item 3): training data, a few training
steps, a rollout scored by metrics.py, the clearance clamp and the shipped checkpoint."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from backend.models.camera.alternatives import build_scene
from backend.models.camera.evaluate import load_scenes
from backend.models.camera.geometry import SceneGeometry
from backend.models.camera.metrics import path_metrics
from backend.models.camera.planner import Path
from backend.models.camera.shots import BASIC_SHOTS, ShotKeys, ShotOptions, Subject
from backend.models.camera.learned import data as D
from backend.models.camera.learned.model import (CameraModelError, NextPoseModel, load_model,
                                                 parameter_count)
from backend.models.camera.learned.sample import CLAMP_M, sample_shot
from backend.models.camera.learned.train import train_steps
from backend.paths import REPO_ROOT

SHIPPED = REPO_ROOT / "assets/models/camera_next_pose.pt"


@pytest.fixture(scope="module")
def dataset():
    return D.make_dataset(3, seed=5)


def test_random_scene_keeps_the_walk_free():
    rng = np.random.default_rng(3)
    for _ in range(3):
        track = D.random_walk(rng, 150, 30.0, 0.8)
        assert track.shape == (150, 3) and np.isfinite(track).all()
        vertices, triangles = D.random_scene(rng, track, 0.8)
        assert triangles.max() < len(vertices) and len(triangles) >= 12
        scene = SceneGeometry(vertices, triangles)
        # only the ground is near the subject: its clearance is its height, less the sampling
        assert scene.clearance(track).min() >= 0.8 - 0.05 - scene.spacing


def test_dataset_holds_valid_planned_trajectories(dataset):
    feats, targets, mask = dataset["features"], dataset["targets"], dataset["mask"]
    n, L, F = feats.shape
    assert n == 3 and F == D.FEATURES and targets.shape == (n, L, D.TARGETS)
    assert all(s in BASIC_SHOTS for s in dataset["shots"])
    for i in range(n):
        f, t = feats[i, mask[i]], targets[i, mask[i]]
        assert len(f) >= 6 * 30 - 1 and np.isfinite(f).all() and np.isfinite(t).all()
        assert np.all((f[:, 12:18] >= 0) & (f[:, 12:18] <= 1.0))          # the six rays
        assert np.all(f[:, 18:26].sum(axis=1) == 1.0)                      # shot one-hot
        assert np.allclose(np.linalg.norm(f[:, 6:9], axis=1), 1.0, atol=1e-4)  # look dir
        # each frame's "previous delta" input is the target of the frame before it
        assert np.allclose(f[1:, -D.TARGETS:], t[:-1], atol=1e-5)
        # integrating the targets' position part gives back the relative positions
        rel = f[:, :3] * D.POS_SCALE
        steps = t[:, :3] * D.VEL_SCALE / 30.0
        assert np.allclose(rel[0] + np.cumsum(steps[:-1], axis=0), rel[1:], atol=1e-3)
    assert L == mask.sum(axis=1).max()


def test_tiny_model_loss_drops(dataset):
    torch.manual_seed(0)
    model = NextPoseModel(hidden=32)
    assert parameter_count(model) < 1_000_000
    assert parameter_count(NextPoseModel()) < 1_000_000
    mask = dataset["mask"]
    mean = dataset["targets"][mask].mean(axis=0)
    std = dataset["targets"][mask].std(axis=0) + 1e-3
    targets = ((dataset["targets"] - mean) / std * mask[..., None]).astype(np.float32)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = train_steps(model, opt, dataset["features"], targets, mask, 60, 3,
                         np.random.default_rng(0))
    assert len(losses) == 60
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def _unit_stats() -> dict:
    """Target statistics of an untrained model: outputs are the deltas themselves."""
    return {"target_mean": np.zeros(D.TARGETS), "target_std": np.ones(D.TARGETS)}


def test_sampling_gives_a_planner_shaped_result_scored_by_metrics():
    name, npz, track = load_scenes()[2]
    subject = Subject(np.asarray(track["positions"], float)[:90], 30.0, float(track["radius"]))
    with np.load(npz) as z:
        scene = build_scene(z["vertices"], z["triangles"], subject, ShotOptions())
    torch.manual_seed(1)
    model = NextPoseModel(hidden=32).eval()
    result = sample_shot(model, _unit_stats(), scene, subject, "orbit", count=2,
                         alternatives=2)
    assert result["frames"] == 90 and result["fps"] == 30.0 and result["selected"] == 0
    assert len(result["paths"]) == 2
    p = result["paths"][0]
    loc, rot = np.array(p["location"]), np.array(p["rotation"])
    assert loc.shape == (90, 3) and rot.shape == (90, 4) and len(p["lens_mm"]) == 90
    assert np.allclose(np.linalg.norm(rot, axis=1), 1.0, atol=1e-4)
    # the metrics are metrics.py's, measured again on the returned path (jerk is left out:
    # the result's 5-decimal rounding moves a third difference at 30 fps by ~1 m/s^3)
    keys = ShotKeys("orbit", "x", np.array([0.0, 1.0, 2.0, 89 / 30]), loc[[0, 30, 60, 89]])
    again = path_metrics(Path(keys, loc, rot, np.array(p["lens_mm"]), (1 / 3, 0.0), []),
                         subject, scene)
    for k in ("crashes", "in_frame", "unoccluded", "framing_error", "min_clearance_m"):
        assert again[k] == pytest.approx(p["metrics"][k], abs=2e-3), k
    assert np.isfinite(p["metrics"]["jerk"]) and p["metrics"]["jerk"] >= 0
    assert p["metrics"]["clamped_frames"] >= 0
    with pytest.raises(ValueError, match="learned model plays the shots"):
        sample_shot(model, _unit_stats(), scene, subject, "surprise")


def test_clamp_keeps_a_runaway_model_out_of_a_wall_and_says_so():
    """A model that always flies forward at 5 m/s towards a wall is pushed out and reported."""
    track = np.stack([np.zeros(60), -np.linspace(0, 0.5, 60), np.full(60, 0.9)], -1)
    subject = Subject(track, 30.0, 0.9)                   # heading -Y
    wall_v, wall_f = D._box([-20, -12, 0], [20, -11.5, 8])
    ground_v, ground_f = D._box([-30, -30, -0.2], [30, 30, 0])
    scene = SceneGeometry(np.concatenate([wall_v, ground_v]),
                          np.concatenate([wall_f, ground_f + 8]))
    model = NextPoseModel(hidden=16).eval()
    with torch.no_grad():
        last = model.head[-1]
        last.weight.zero_()
        last.bias.zero_()
        last.bias[0] = 1.0                                 # +x of the heading frame: 5 m/s
    result = sample_shot(model, _unit_stats(), scene, subject, "dronie", count=1)
    m = result["paths"][0]["metrics"]
    assert m["clamped_frames"] > 0 and m["crashes"] == 0
    assert m["min_clearance_m"] >= CLAMP_M - 0.25
    assert any("pushed out" in w for w in result["warnings"])


def test_shipped_checkpoint_loads_and_bad_files_are_refused(tmp_path):
    assert SHIPPED.is_file(), "the shipped checkpoint is missing"
    assert SHIPPED.stat().st_size < 5_000_000
    model, ck = load_model(SHIPPED)
    assert parameter_count(model) < 1_000_000 and ck["train"]["seconds"] > 0
    out, _ = model(torch.zeros(1, 4, D.FEATURES))
    assert out.shape == (1, 4, D.TARGETS) and torch.isfinite(out).all()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CameraModelError, match="not a readable next-camera-pose"):
        load_model(bad)
    with pytest.raises(CameraModelError, match="not found"):
        load_model(tmp_path / "missing.pt")
