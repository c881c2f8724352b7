"""Evaluation: metrics on synthetic motions with known answers, and the recognizer (real torch,
a tiny training on a few real CMU clips)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from backend.data import t2m_dataset as D
from backend.data.library import DEFAULT_LIBRARY
from backend.eval import metrics as M
from backend.eval.recognizer import (Recognizer, RecognizerConfig, RecognizerError,
                                     train_recognizer)
from backend.motion import humanml3d as H
from backend.motion.skeleton import CANONICAL

FPS = 20.0


def standing(T=40) -> np.ndarray:
    """The canonical rest pose in Y-up axes (lowest joint = the toes, 7 mm up), T frames."""
    from backend.motion import axes
    _, pos = CANONICAL.rest_world()
    return np.repeat(axes.blender_to_y_up_points(pos)[None], T, axis=0)


# ------------------------------------------------------------------------ distribution
def test_fid():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 4))
    assert M.fid(a, a) == pytest.approx(0.0, abs=1e-6)
    b = a + np.array([3.0, 0, 0, 0])           # mean shift only: FID = |shift|^2
    assert M.fid(a, b) == pytest.approx(9.0, abs=1e-6)
    c = rng.normal(size=(2000, 4)) * 2.0       # N(0, I) vs N(0, 4I): 4 * (1 + 4 - 2*2) = 4
    assert M.fid(rng.normal(size=(20000, 4)), rng.normal(size=(20000, 4)) * 2.0) == \
        pytest.approx(4.0, rel=0.05)
    assert M.fid(a, c) == pytest.approx(M.fid(c, a), rel=1e-6)
    with pytest.raises(ValueError):
        M.fid(a[:, :3], a)


def test_diversity():
    pts = np.array([[0.0, 0.0], [3.0, 4.0]])   # every pair of distinct rows is 5 apart
    assert M.diversity(pts, pairs=50, seed=1) == pytest.approx(5.0)
    same = np.ones((10, 3))
    assert M.diversity(same) == 0.0
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 8))             # E|x - y| for N(0, I_8) pairs ~ sqrt(2*8) ish
    assert 3.5 < M.diversity(x, pairs=3000) < 4.2
    assert M.diversity(x, seed=3) == M.diversity(x, seed=3)


def test_recognition_accuracy():
    assert M.recognition_accuracy(["a", "b", "c", "a"], ["a", "b", "x", None]) == \
        pytest.approx(2 / 3)
    assert math.isnan(M.recognition_accuracy(["a"], [None]))
    with pytest.raises(ValueError):
        M.recognition_accuracy(["a"], ["a", "b"])


# ------------------------------------------------------------------------------ physics
def test_still_pose():
    p = standing()
    assert M.foot_skating_ratio(p, FPS) == 0.0
    assert M.ground_penetration(p) == 0.0
    assert M.floating(p) == 0.0
    assert M.jerk(p, FPS) == pytest.approx(0.0, abs=1e-9)


def test_sliding_feet_skate():
    p = standing(30)
    p[:, :, 0] += np.arange(30)[:, None] * (1.0 / FPS)        # whole body slides at 1 m/s
    assert M.foot_skating_ratio(p, FPS) == 1.0
    slow = standing(30)
    slow[:, :, 2] += np.arange(30)[:, None] * (0.4 / FPS)     # 0.4 m/s: under the threshold
    assert M.foot_skating_ratio(slow, FPS) == 0.0
    lifted = p.copy()
    lifted[:, :, 1] += 0.2                                     # the same slide, feet in the air
    assert M.foot_skating_ratio(lifted, FPS) == 0.0
    half = p.copy()
    half[15:, :, 1] += 0.2                                     # lifted for the second half
    assert M.foot_skating_ratio(half, FPS) == pytest.approx(14 / 29)
    vertical = standing(30)
    vertical[:, :, 1] += (np.abs(np.sin(np.arange(30))) * 0.01)[:, None]  # vertical only
    assert M.foot_skating_ratio(vertical, FPS) == 0.0


def test_penetration_and_floating():
    p = standing(10)
    low = p[0, :, 1].min()
    sunk = p.copy()
    sunk[:, :, 1] -= low + 0.03                              # lowest joint 3 cm underground
    assert M.ground_penetration(sunk) == pytest.approx(0.03)
    assert M.floating(sunk) == 0.0
    up = p.copy()
    up[:, :, 1] += 0.2 - low                                 # lowest joint 20 cm up
    assert M.floating(up) == pytest.approx(0.2)
    assert M.ground_penetration(up) == 0.0
    near = p.copy()
    near[:, :, 1] += 0.04 - low                              # within the 5 cm tolerance
    assert M.floating(near) == 0.0
    mixed = p.copy()
    mixed[5:, :, 1] += 0.3 - low
    assert M.floating(mixed) == pytest.approx(0.15)          # half the frames at 30 cm


def test_jerk():
    t = np.arange(50) / FPS
    p = standing(50)
    p[:, :, 0] += (0.5 * 3.0 * t ** 2)[:, None]              # constant acceleration: no jerk
    p[:, :, 2] += (2.0 * t)[:, None]
    assert M.jerk(p, FPS) == pytest.approx(0.0, abs=1e-6)
    q = standing(50)
    q[:, :, 1] += ((1.0 / 6.0) * 4.0 * t ** 3)[:, None]      # jerk 4 m/s^3 everywhere
    assert M.jerk(q, FPS) == pytest.approx(4.0, rel=1e-6)


def test_physical_metrics_on_features():
    """Features of a real CMU walk: physics from recover_joints, Y up, floor at 0."""
    feats = H.clip_to_features(_cmu_walk())
    p = M.positions_from_features(feats)
    assert p.shape == (len(feats), 22, 3)
    assert abs(p[..., 1].min()) < 1e-6                        # the clip stands on y = 0
    res = M.physical_metrics([feats, feats[:40]])
    assert set(res) == {"skate", "penetration", "floating", "jerk"}
    # toe joints leaving / reaching the floor count while still under 5 cm: a real walk scores
    # well above 0 with this definition (hence the real reference row)
    assert 0.0 <= res["skate"] < 0.5
    assert res["penetration"] == pytest.approx(0.0, abs=1e-6)
    assert res["jerk"] > 0


def _cmu_walk():
    from backend.data.library import MotionLibrary
    from backend.motion.resample import resample
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    i = next(i for i, e in enumerate(lib.entries) if e.name == "cmu-02_01-przestr")
    return resample(lib.clip(i), 20.0)


# ---------------------------------------------------------------------------- recognizer
@pytest.fixture(scope="module")
def tiny_ds(tmp_path_factory):
    """Synthetic labelled motion in the 263-dim layout: two actions that differ in root speed
    and a pose offset, one style that differs in noise level; 3+ takes per label."""
    rng = np.random.default_rng(0)
    items = []
    for k in range(36):
        action = ["walk", "wave"][k % 2]
        style = ["calm", "wild"][(k // 2) % 2]
        T = int(rng.integers(30, 90))
        f = rng.normal(scale=0.3 if style == "calm" else 1.5, size=(T, 263)).astype(np.float32)
        f[:, 1:3] += 2.0 if action == "walk" else -2.0
        take = f"take{k}"
        split = "train" if k < 28 else ("val" if k < 32 else "test")
        items.append(D.T2MItem(name=take, take=take, features=f, captions=["x"],
                               labels={"action": action, "style": style}, source="synthetic",
                               licence="none", commercial_ok=True, split=split))
    return D.T2MDataset(items)


@pytest.fixture(scope="module")
def tiny_rec(tiny_ds):
    cfg = RecognizerConfig(hidden=32, feature_dim=16, dilations=(1, 2), batch_size=8,
                           crop_seconds=2.0, min_takes=3, lr=3e-3)
    return train_recognizer(tiny_ds, epochs=6, seed=0, config=cfg, threads=1)


def test_recognizer_learns_and_predicts(tiny_ds, tiny_rec):
    assert tiny_rec.vocab == {"action": ["walk", "wave"], "style": ["calm", "wild"]}
    test = tiny_ds.filter(split=["val", "test"]).items
    res = tiny_rec.evaluate(test)
    assert res["action"] >= 0.75 and res["action_n"] == 8
    assert res["style"] >= 0.75
    out = tiny_rec.predict([it.features for it in test])
    assert out["features"].shape == (8, 16)
    assert out["action_probs"].shape == (8, 2)
    np.testing.assert_allclose(out["action_probs"].sum(1), 1.0, rtol=1e-5)
    assert all(a in ("walk", "wave") for a in out["action"])
    assert tiny_rec.info["dataset_fingerprint"] == tiny_ds.fingerprint()


def test_recognizer_batching_does_not_matter(tiny_ds, tiny_rec):
    feats = [it.features for it in tiny_ds.items[:6]]          # different lengths
    together = tiny_rec.features(feats)
    alone = np.concatenate([tiny_rec.features([f]) for f in feats])
    np.testing.assert_allclose(together, alone, atol=1e-4)
    norm = [tiny_ds.normalize(f) for f in feats]
    np.testing.assert_allclose(tiny_rec.features(norm, normalized=True), together, atol=1e-5)


def test_recognizer_save_load(tiny_ds, tiny_rec, tmp_path):
    path = tiny_rec.save(tmp_path / "rec.pt")
    back = Recognizer.load(path)
    assert back.vocab == tiny_rec.vocab and back.config == tiny_rec.config
    feats = [it.features for it in tiny_ds.items[:4]]
    np.testing.assert_allclose(back.features(feats), tiny_rec.features(feats), atol=1e-6)
    assert back.info["epochs"] == 6
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(RecognizerError, match="bad.pt"):
        Recognizer.load(tmp_path / "bad.pt")
    with pytest.raises(RecognizerError, match="not found"):
        Recognizer.load(tmp_path / "missing.pt")
    with pytest.raises(RecognizerError):
        tiny_rec.features([np.zeros((5, 10), np.float32)])


def test_recognizer_needs_labels():
    items = [D.T2MItem(name=f"t{k}", take=f"t{k}", features=np.zeros((30, 263), np.float32),
                       captions=["x"], labels={"action": None}, source="s", licence="l",
                       commercial_ok=True, split="train") for k in range(4)]
    with pytest.raises(RecognizerError, match="no label"):
        train_recognizer(D.T2MDataset(items), epochs=1)


def test_recognizer_on_real_cmu_clips():
    """Real features of different lengths go through the network (untrained is enough)."""
    from backend.data.library import MotionLibrary
    from backend.eval.recognizer import RecognizerNet
    from backend.motion.resample import resample
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    feats = [H.clip_to_features(resample(lib.clip(i), 20.0)).astype(np.float32)
             for i in (0, 40, 80)]
    items = [D.T2MItem(name=str(i), take=str(i), features=f, captions=["x"], labels={},
                       source="cmu", licence="CMU", commercial_ok=True, split="train")
             for i, f in enumerate(feats)]
    mean, std = D.mean_std(items)
    cfg = RecognizerConfig(hidden=16, feature_dim=8, dilations=(1,), min_takes=1)
    torch.manual_seed(0)
    rec = Recognizer(RecognizerNet(cfg, {"action": 3}), cfg, {"action": ["a", "b", "c"]},
                     mean, std)
    f = rec.features(feats)
    assert f.shape == (3, 8) and np.isfinite(f).all()
    assert len(rec.predict(feats)["action"]) == 3


# ---------------------------------------------------------------------------- the eval CLI
def test_eval_cli_end_to_end(tiny_ds, tiny_rec, tmp_path):
    """`python -m backend eval text2motion` on a saved dataset with a (4-step) generator
    trained on it: the real reference row, the generated rows (cleaned and raw), the last
    line of key=value pairs, the JSON and the model card's evaluation section."""
    import json

    from backend.__main__ import main
    from backend.models.text2motion import config as C
    from backend.models.text2motion import train as TR

    ds_path = tiny_ds.save(tmp_path / "ds.npz")
    rec_path = tiny_rec.save(tmp_path / "rec.pt")
    cfg = C.preset("tiny")
    cfg.steps, cfg.batch, cfg.val_every, cfg.ckpt_every = 4, 4, 4, 4
    ck = tmp_path / "gen.pt"
    TR.train(cfg, out=ck, work_dir=tmp_path / "work", dataset=tiny_ds, log=lambda m: None)
    card = ck.with_suffix(".md")
    assert card.is_file() and "## Evaluation" not in card.read_text()
    out_json = tmp_path / "eval.json"
    argv = ["eval", "text2motion", "--checkpoint", str(ck), "--dataset", str(ds_path),
            "--recognizer", str(rec_path), "--split", "test", "--threads", "1",
            "--json", str(out_json), "--card", str(card)]
    assert main(argv) == 0
    res = json.loads(out_json.read_text())
    assert res["samples"] == 4 and 0.0 <= res["gen_acc"] <= 1.0 and res["real_acc"] > 0.5
    for key in ("fid", "diversity_gen", "skate_gen", "skate_real", "jerk_gen", "raw_gen_acc"):
        assert math.isfinite(res[key]), key
    text = card.read_text()
    assert text.count("## Evaluation") == 1 and "| generated |" in text and "| real |" in text
    assert "--split test" in text
    assert main(argv) == 0                                   # replaced, not appended
    assert card.read_text().count("## Evaluation") == 1
    # a checkpoint that is not there: the real row is still scored, the exit code says so
    argv[3] = str(tmp_path / "missing.pt")
    assert main(argv[:-2]) == 2
