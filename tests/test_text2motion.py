"""Text-to-motion generator: a tiny real training run on a handful of shipped CMU clips (through
the real dataset builder), checkpoint load + sampling, lengths, seeds, editing masks, length
prediction, bad checkpoints, the `generate` job's validation, the CLIs and the bench; a
2-process DistributedDataParallel smoke run (slow); the shipped checkpoints when present."""
from __future__ import annotations

import dataclasses
import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from backend.data import t2m_dataset as T
from backend.data.library import DEFAULT_LIBRARY, LibraryEntry, MotionLibrary
from backend.jobs import JOBS, JobContext, JobError
from backend.motion import humanml3d as H
from backend.motion.clip import Clip
from backend.motion.skeleton import CANONICAL_NAMES
from backend.models.text2motion import config as C
from backend.models.text2motion import job as J  # noqa: F401 - registers "generate"
from backend.models.text2motion import sample as S
from backend.models.text2motion.keep import joint_feature_dims
from backend.models.text2motion import train as TR
from backend.models.text2motion.length import bin_centres, choose_seconds

CLIPS = 8                     # library entries in the tiny dataset


def _tiny_cfg(**train) -> C.TrainConfig:
    cfg = C.preset("tiny")
    cfg.steps, cfg.batch, cfg.val_every, cfg.ckpt_every, cfg.log_every = 6, 4, 3, 3, 3
    for k, v in train.items():
        setattr(cfg, k, v)
    return cfg


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> T.T2MDataset:
    """A dataset built by the real builder from the first CLIPS shipped CMU clips that land
    in the train split, plus one val clip."""
    src = MotionLibrary.load(DEFAULT_LIBRARY)
    lib = MotionLibrary()
    picked = {"train": 0, "val": 0}
    for i, e in enumerate(src.entries):
        split = T.split_of(T.entry_take(e))
        want = CLIPS - 1 if split == "train" else 1 if split == "val" else 0
        if picked.get(split, 0) >= want or e.length / e.fps > 12:
            continue
        picked[split] += 1
        d = {k: v for k, v in vars(e).items() if k not in ("start", "length")}
        lib.add(src.clip(i), LibraryEntry(**d))
        if sum(picked.values()) == CLIPS:
            break
    path = tmp_path_factory.mktemp("lib") / "tiny_library.npz"
    lib.save(path)
    return T.build_dataset([path])


@pytest.fixture(scope="module")
def trained(tiny_dataset, tmp_path_factory):
    """(checkpoint path, summary) of a 6-step tiny training run."""
    d = tmp_path_factory.mktemp("train")
    out = d / "text2motion_tiny.pt"
    summary = TR.train(_tiny_cfg(), out=out, work_dir=d / "work", dataset=tiny_dataset,
                       log=lambda m: None)
    return out, summary


@pytest.fixture(scope="module")
def gen(trained) -> S.Generator:
    return S.load_generator(trained[0], cache=False)


@pytest.fixture(scope="module", params=["trained-x1", "random-velocity"])
def any_gen(request, gen) -> S.Generator:
    """The tiny trained (clean-motion prediction) model, and a velocity network of random
    weights: a 6-step model predicts nearly the mean motion whatever the noise, so the
    random one checks that the noise and the edits really reach the output."""
    if request.param == "trained-x1":
        return gen
    return S.random_generator(dataclasses.replace(gen.cfg, prediction="velocity"), seed=1)


def _differs(gen, a, b) -> bool:
    """Whether a and b (outside kept parts) differ, or gen is too untrained to tell."""
    return gen.cfg.prediction != "velocity" or np.abs(a - b).max() > 1e-3


# ============================================================================ training
def test_training_writes_a_small_checkpoint_with_provenance(trained, tiny_dataset):
    out, summary = trained
    assert summary["steps"] == 6 and np.isfinite(summary["val_loss"])
    assert out.is_file() and out.stat().st_size < 25e6
    ck = S.load_checkpoint(out)
    assert ck["steps"] == 6 and ck["format"] == C.CHECKPOINT_FORMAT
    assert isinstance(ck["model_config"], C.ModelConfig)
    assert all(v.dtype == torch.float16 for v in ck["state_dict"].values()
               if v.is_floating_point())
    ds = ck["dataset"]
    assert ds["licence"] == "CMU" and ds["commercial_ok"] is True
    assert ds["hash"] == tiny_dataset.fingerprint()
    assert set(ds["sources"]) == {"cmu"} and "mocap.cs.cmu.edu" in ds["attribution"]
    np.testing.assert_allclose(ck["mean"].numpy(), tiny_dataset.mean)
    np.testing.assert_allclose(ck["std"].numpy(), tiny_dataset.std)
    assert ck["train_config"]["name"] == "tiny" and ck["code_version"].startswith("text2motion")
    card = out.with_suffix(".md").read_text()
    assert "CMU" in card and "commercial use allowed" in card
    assert S.load_checkpoint(out.parent / "work" / "best.pt")["val_loss"] <= ck["val_loss"]
    log = [json.loads(ln) for ln in (out.parent / "work" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [3, 6]


def test_training_resumes_from_its_state(trained, tiny_dataset, tmp_path):
    out, _ = trained
    work = out.parent / "work"
    summary = TR.train(_tiny_cfg(steps=8), out=tmp_path / "more.pt", work_dir=work,
                       dataset=tiny_dataset, log=lambda m: None)
    assert summary["steps"] == 8 and S.load_checkpoint(tmp_path / "more.pt")["steps"] == 8


def test_config_json_round_trip_and_errors(tmp_path):
    cfg = C.preset("starter")
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg.to_dict()))
    back = C.TrainConfig.load(path)
    assert back == cfg and back.model.max_tokens == 50 and back.model.length_bins == 19
    path.write_text(json.dumps({"steps": 5, "nonsense": 1}))
    with pytest.raises(C.ConfigError, match="nonsense"):
        C.TrainConfig.load(path)
    path.write_text(json.dumps({"model": {"feature_dim": 251}}))
    with pytest.raises(C.ConfigError, match="263"):
        C.TrainConfig.load(path)


def test_random_edit_masks_cover_only_valid_rows():
    g = torch.Generator().manual_seed(0)
    lengths = torch.tensor([40, 17, 64, 33] * 8)
    m = TR.random_edit_masks(lengths, 64, 1.0, g)
    assert m.shape == (32, 64, 263)
    for b, n in enumerate(lengths.tolist()):
        assert m[b, n:].sum() == 0 and m[b, :n].sum() > 0
    assert TR.random_edit_masks(lengths, 64, 0.0, g).sum() == 0


# ============================================================================ sampling
def test_lengths_and_shapes(gen):
    out = gen.generate(["a person walks", "a person jumps", "a person runs"], [2.0, 0.3, 12.5],
                       [0, 1, 2])
    assert [o.shape for o in out] == [(40, 263), (6, 263), (250, 263)]
    assert all(o.dtype == np.float32 and np.isfinite(o).all() for o in out)


def test_seeds_differ_and_repeat_whatever_the_batch(gen):
    # the 6-step model predicts nearly the mean motion whatever the noise: check the noise
    # plumbing on a velocity network of random weights (its output carries the noise through)
    gen = S.random_generator(dataclasses.replace(gen.cfg, prediction="velocity"), seed=1)
    a = gen.generate(["a person walks"] * 2, [3.0, 3.0], [7, 8])
    b = gen.generate(["a person walks", "a person jumps"], [3.0, 4.85], [7, 9])
    assert np.abs(a[0] - a[1]).max() > 0.1 * np.abs(a[0]).max() > 0
    np.testing.assert_allclose(a[0], b[0], atol=1e-3)      # float rounding of batch sizes


def test_keep_frames_are_kept_exactly(any_gen):
    gen = any_gen
    src = gen.generate(["a person walks"], [4.0], [3])[0]
    keep = S.Keep(src[:30])                                     # continuation
    out = gen.generate(["a person runs"], [4.0], [4], keep=[keep])[0]
    assert out.shape == (80, 263)
    np.testing.assert_array_equal(out[:30], src[:30])
    assert _differs(gen, out[30:], src[30:])
    frames = np.zeros(80, bool)
    frames[[0, 1, 40, 79]] = True                               # key frames, length from keep
    out = gen.generate(["a person runs"], [None], [5], keep=[S.Keep(src, frames=frames)])[0]
    assert out.shape == (80, 263)
    np.testing.assert_array_equal(out[frames], src[frames])


def test_keep_joints_maps_to_their_feature_dims(any_gen):
    gen = any_gen
    dims = [joint_feature_dims(j) for j in range(22)]
    assert np.array_equal(np.sort(np.concatenate(dims)), np.arange(263))   # a partition
    assert set(joint_feature_dims("left_ankle")) >= {H.FOOT_CONTACT.start}
    src = gen.generate(["a person waves"], [3.0], [1])[0]
    keep = S.Keep(src, joints=["pelvis", "left_wrist", 19])
    mask = keep.full_mask()
    assert mask.sum() == 60 * (4 + 3 + 2 * (3 + 6 + 3))
    out = gen.generate(["a person kicks"], [None], [2], keep=[keep])[0]
    np.testing.assert_array_equal(out[mask], src[mask])
    assert _differs(gen, out[~mask], src[~mask])


def test_long_clip_is_continuous_across_windows(gen):
    out = gen.generate(["a person walks"], [21.0], [0])[0]
    assert out.shape == (420, 263) and np.isfinite(out).all()


def test_bad_keep_and_lengths_are_refused(gen):
    src = np.zeros((50, 263), np.float32)
    with pytest.raises(ValueError, match="more than"):
        gen.generate(["a"], [1.0], [0], keep=[S.Keep(src)])
    for s in (0.0, -1.0, 61.0):
        with pytest.raises(ValueError, match="seconds"):
            gen.generate(["a"], [s], [0])
    with pytest.raises(ValueError, match="shape"):
        S.Keep(np.zeros((5, 10))).full_mask()


def test_length_prediction(gen):
    cfg = gen.cfg
    centres = bin_centres(cfg)
    assert centres[0] == 1.0 and centres[-1] == 10.0 and len(centres) == 19
    secs = gen.predict_seconds(["a person walks"] * 8, list(range(8)))
    assert all(s in centres for s in secs)
    assert secs == gen.predict_seconds(["a person walks"] * 8, list(range(8)))
    mode = gen.predict_seconds(["a person walks"] * 3, [0, 1, 2], mode="mode")
    assert len(set(mode)) == 1
    out = gen.generate(["a person walks"], [None], [3])[0]
    assert len(out) / C.FPS in centres
    logits = torch.tensor([[0.0, 10.0] + [-10.0] * 17])
    assert choose_seconds(logits, [0], cfg, "mode") == [1.5]


def test_gpu_out_of_memory_falls_back_to_the_cpu(trained, monkeypatch):
    g = S.load_generator(trained[0], cache=False)
    g.device = "cuda:0"                       # pretend; the first sampling call runs out
    real = g._generate_rows
    calls = []

    def oom_once(*args):
        calls.append(g.device)
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return real(*args)

    monkeypatch.setattr(g, "_generate_rows", oom_once)
    with pytest.warns(UserWarning, match="out of memory"):
        out = g.generate(["a person walks"], [1.0], [0])
    assert out[0].shape == (20, 263) and calls == ["cuda:0", "cpu"] and g.device == "cpu"
    assert "CPU" in g.warnings[0]


def test_to_clip_stands_at_the_origin(gen):
    f = gen.generate(["a person walks"], [2.0], [0])[0]
    clip = gen.to_clip(f, {"prompt": "a person walks"})
    assert isinstance(clip, Clip) and clip.num_frames == 40 and clip.fps == 20.0
    np.testing.assert_allclose(clip.root_translation[0, :2], 0.0, atol=1e-6)
    assert clip.meta["licence"] == "CMU" and clip.meta["prompt"] == "a person walks"


# ============================================================================ checkpoints
def test_missing_corrupt_and_mismatched_checkpoints_name_the_file(trained, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setattr(S, "MODELS_DIR", tmp_path / "models")
    with pytest.raises(S.CheckpointError, match=r"text2motion_starter\.pt.*not found"):
        S.load_generator("starter")
    bad = tmp_path / "garbage.pt"
    bad.write_bytes(b"not a checkpoint at all" * 10)
    with pytest.raises(S.CheckpointError, match="garbage.pt: not a readable"):
        S.load_generator(bad)
    good = trained[0]
    cut = tmp_path / "truncated.pt"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(S.CheckpointError, match="truncated.pt"):
        S.load_generator(cut)
    ck = torch.load(good, weights_only=True)

    def variant(name, edit):
        d = dict(ck)
        edit(d)
        p = tmp_path / name
        torch.save(d, p)
        return p

    cases = {
        "other_format.pt": (lambda d: d.update(format="something"), "not an Anima"),
        "future.pt": (lambda d: d.update(version=99), "version 99"),
        "dim.pt": (lambda d: d.update(model_config=dict(d["model_config"], feature_dim=264)),
                   "263"),
        "keys.pt": (lambda d: d.update(state_dict={k.replace("flow.", "net."): v
                                                   for k, v in d["state_dict"].items()}),
                    "do not match"),
        "shape.pt": (lambda d: d.update(model_config=dict(d["model_config"], d_model=96,
                                                          heads=2)), "shape"),
        "mean.pt": (lambda d: d.update(mean=torch.zeros(251)), "mean"),
        "nodata.pt": (lambda d: d.pop("dataset"), "dataset"),
    }
    for name, (edit, words) in cases.items():
        with pytest.raises(S.CheckpointError, match=name.replace(".", r"\.") + ".*" + words):
            S.load_generator(variant(name, edit), cache=False)


# ============================================================================ job
def _ctx(tmp_path) -> JobContext:
    return JobContext("t", tmp_path)


@pytest.mark.parametrize("params, words", [
    ({"text": ""}, "empty"),
    ({"text": "   "}, "empty"),
    ({"text": "wave " * 300}, "limit"),
    ({"text": "12345"}, "no words"),
    ({"text": "a person waves", "seconds": 0}, "at least 0.25"),
    ({"text": "a person waves", "seconds": -2}, "at least 0.25"),
    ({"text": "a person waves", "seconds": 61}, "at most 60"),
    ({"text": "a person waves", "seconds": "long"}, "seconds"),
    ({"text": "a person waves", "variations": 0}, "variations"),
    ({"text": "a person waves", "variations": 9}, "variations"),
    ({"text": "a person waves", "model": "huge"}, "model must be"),
    ({"text": "a person waves", "steps": 0}, "steps"),
    ({"text": "a person waves", "takes": 0}, "takes"),
    ({"text": "a person waves", "takes": 6}, "takes"),
    ({}, "missing parameter 'text'"),
])
def test_job_refuses_bad_params(params, words, tmp_path):
    with pytest.raises(JobError) as e:
        JOBS["generate"](params, _ctx(tmp_path))
    assert e.value.code == "bad_params" and words in e.value.message


def test_job_missing_model_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(S, "MODELS_DIR", tmp_path / "models")
    with pytest.raises(JobError) as e:
        JOBS["generate"]({"text": "a person waves", "model": "clean"}, _ctx(tmp_path))
    assert e.value.code == "job_failed" and "text2motion_clean.pt" in e.value.message


@pytest.fixture(scope="module")
def noisy_checkpoint(trained, tmp_path_factory) -> Path:
    """The tiny checkpoint with random velocity-network weights (see ``any_gen``)."""
    ck = torch.load(trained[0], map_location="cpu", weights_only=True)
    cfg = dataclasses.replace(S.load_checkpoint(trained[0])["model_config"],
                              prediction="velocity")
    ck["model_config"] = dataclasses.asdict(cfg)
    ck["state_dict"] = S.random_generator(cfg, seed=1).model.state_dict()
    path = tmp_path_factory.mktemp("noisy") / "text2motion_noisy.pt"
    torch.save(ck, path)
    return path


def test_job_variations(noisy_checkpoint, tmp_path):
    res = JOBS["generate"]({"text": "a person walks", "seconds": 2.5, "seed": 11,
                            "variations": 3, "model": str(noisy_checkpoint)}, _ctx(tmp_path))
    assert res["selected"] == 0 and res["seeds"] == [11, 12, 13] and res["warnings"] == []
    assert [c["seed"] for c in res["clips"]] == [11, 12, 13]
    clips = [Clip.load_npz(res["artifacts"][c["artifact"]]) for c in res["clips"]]
    assert all(c.num_frames == 50 for c in clips)
    assert np.abs(clips[0].local_rotations - clips[1].local_rotations).max() > 1e-3
    info = res["clips"][0]
    assert info["licence"] == "CMU" and info["commercial_ok"] is True
    assert info["caption"] == "a person walks" and info["length_predicted"] is False
    assert res["model"]["licence"] == "CMU"


def test_job_non_english_prompt_gets_a_warning_and_a_length(trained, tmp_path):
    res = JOBS["generate"]({"text": "человек идёт вперёд", "model": str(trained[0])},
                           _ctx(tmp_path))
    assert any("English" in w for w in res["warnings"])
    clip = res["clips"][0]
    assert clip["length_predicted"] is True and 1.0 <= clip["seconds"] <= 10


# ============================================================================ CLIs, bench
def test_train_cli_runs_a_tiny_preset(tiny_dataset, tmp_path, capsys):
    from backend.__main__ import main

    ds_path = tiny_dataset.save(tmp_path / "ds.npz")
    rc = main(["train", "text2motion", "--preset", "tiny", "--dataset", str(ds_path),
               "--steps", "2", "--batch", "2", "--out", str(tmp_path / "cli.pt"),
               "--work-dir", str(tmp_path / "w")])
    assert rc == 0 and "steps=2" in capsys.readouterr().out
    assert S.load_checkpoint(tmp_path / "cli.pt")["steps"] == 2
    rc = main(["train", "text2motion", "--config", str(tmp_path / "nope.json")])
    assert rc == 2 and "nope.json" in capsys.readouterr().err


def test_generate_cli_reports_a_missing_model(tmp_path, monkeypatch, capsys):
    from backend.__main__ import main

    monkeypatch.setattr(S, "MODELS_DIR", tmp_path / "models")
    rc = main(["generate", "--text", "a person waves", "--model", "starter",
               "--out", str(tmp_path / "x.npz")])
    assert rc == 2 and "text2motion_starter.pt" in capsys.readouterr().err


def test_bench_function(trained):
    from backend.models.text2motion.bench import benchmark
    r = benchmark(n=2, threads=1, model=str(trained[0]), seconds=2.0, steps=2)
    assert r["p50_s"] > 0 and r["p95_s"] >= r["p50_s"] and r["peak_mb"] > 100
    assert r["weights"].startswith(str(trained[0]))
    assert r["checked_p95_s"] >= r["checked_p50_s"] > 0 and 1 <= r["takes_mean"] <= 3


# ============================================================================ DDP (slow)
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, cfg_dict: dict, out: str, work: str):
    # As under torchrun: the rendezvous store lives in the launcher (here the test process),
    # so no rank tears it down while another still uses it.
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world),
                      RANK=str(rank), LOCAL_RANK=str(rank), TORCHELASTIC_USE_AGENT_STORE="True")
    torch.set_num_threads(1)
    TR.train(C.TrainConfig.from_dict(cfg_dict), out=Path(out), work_dir=Path(work),
             device="cpu", log=lambda m: None)


@pytest.mark.slow
def test_ddp_two_gloo_processes(tiny_dataset, tmp_path):
    import torch.multiprocessing as mp

    ds_path = tiny_dataset.save(tmp_path / "ds.npz")
    cfg = _tiny_cfg(steps=4, batch=2, dataset=str(ds_path), libraries=[])
    out = tmp_path / "ddp.pt"
    port = _free_port()
    store = torch.distributed.TCPStore("127.0.0.1", port, 2, is_master=True,
                                       wait_for_workers=False)
    mp.spawn(_ddp_worker, args=(2, port, cfg.to_dict(), str(out), str(tmp_path / "w")),
             nprocs=2, join=True)
    del store
    ck = S.load_checkpoint(out)
    assert ck["steps"] == 4
    g = S.load_generator(out, cache=False)
    assert g.generate(["a person walks"], [1.0], [0])[0].shape == (20, 263)


# ============================================================================ shipped models
@pytest.mark.parametrize("name, licence, commercial", [("starter", "CC-BY-NC-4.0", False),
                                                       ("clean", "CMU", True)])
def test_shipped_checkpoint_loads_and_samples(name, licence, commercial):
    path = S.checkpoint_path(name)
    if not path.is_file():
        pytest.skip(f"{path} not trained yet")
    assert path.stat().st_size <= 25e6 and path.with_suffix(".md").is_file()
    g = S.load_generator(name)
    assert g.licence == licence and g.commercial_ok is commercial
    f = g.generate(["a person walks forward and waves"], [10.0], [0])[0]
    assert f.shape == (200, 263) and np.isfinite(f).all()
    clip = g.to_clip(f)
    assert clip.num_frames == 200 and clip.meta["licence"] == licence


def _shipped(name) -> S.Generator:
    path = S.checkpoint_path(name)
    if not path.is_file():
        pytest.skip(f"{path} not trained yet")
    return S.load_generator(name)


def _gist(gen, text, seed=0, seconds=4.0):
    """(pelvis travel on the floor (m), right wrist top, left wrist top (m)) of a sample."""
    j = H.recover_joints(gen.generate([text], [seconds], [seed])[0])      # (T, 22, 3), Y up
    right, left = CANONICAL_NAMES.index("right_wrist"), CANONICAL_NAMES.index("left_wrist")
    return (float(np.linalg.norm(j[-1, 0, [0, 2]] - j[0, 0, [0, 2]])),
            float(j[:, right, 1].max()), float(j[:, left, 1].max()))


@pytest.mark.parametrize("name", ["starter", "clean"])
def test_shipped_model_follows_the_prompt(name):
    """Different prompts give the motion they ask for (averaged over three seeds): a run
    covers more ground than a walk, a walk more than standing; different seeds differ."""
    g = _shipped(name)
    travel = {t: np.mean([_gist(g, t, seed)[0] for seed in range(3)])
              for t in ("a person walks forward", "a person runs forward")}
    assert 1.0 < travel["a person walks forward"] < travel["a person runs forward"], travel
    a, b = g.generate(["a person walks forward"] * 2, [4.0, 4.0], [0, 1])
    assert np.abs(a - b).mean() > 0.05 * np.abs(a).mean()


def test_shipped_starter_waves_the_asked_hand():
    g = _shipped("starter")
    for hand, other in (("right", "left"), ("left", "right")):
        gists = [_gist(g, f"a person waves their {hand} hand", seed) for seed in range(3)]
        top = {"right": np.mean([x[1] for x in gists]), "left": np.mean([x[2] for x in gists])}
        assert top[hand] > top[other] + 0.15, (hand, top)
        assert np.mean([x[0] for x in gists]) < 1.0            # waving, not walking away


def test_length_buckets_group_similar_lengths():
    lengths = [20, 200, 40, 180, 60, 160, 80, 140] * 4
    sampler = torch.utils.data.distributed.DistributedSampler(
        range(len(lengths)), num_replicas=2, rank=1, shuffle=True, seed=0, drop_last=True)
    buckets = TR.LengthBuckets(sampler, lengths, 4, seed=0)
    buckets.set_epoch(3)
    batches = list(buckets)
    assert len(batches) == len(buckets) == 4 and all(len(b) == 4 for b in batches)
    assert sorted(i for b in batches for i in b) == sorted(sampler)
    ranges = sorted((min(lengths[i] for i in b), max(lengths[i] for i in b)) for b in batches)
    assert all(a[1] <= b[0] for a, b in zip(ranges, ranges[1:]))   # sorted, cut into batches


def test_laterality_code():
    from backend.models.text2motion import laterality as L
    assert L.side("a person raises their LEFT hand") == 1
    assert L.side("someone walks and turns right") == -1
    assert L.side("waves both hands, left and right") == 0 and L.side("a person bows") == 0
    assert L.side("the leftover bits") == 0                       # whole words only
    emb = np.zeros((3, 8), np.float32)
    out = L.apply(emb, ["left hand", "right hand", "jump"], 0.5)
    u = L.direction(8)
    np.testing.assert_allclose(out, [0.5 * u, -0.5 * u, np.zeros(8)], atol=1e-6)
    assert np.array_equal(L.apply(emb, ["left"] * 3, 0.0), emb) and emb.sum() == 0
    # the generator applies its model's code to every text it encodes
    cfg = dataclasses.replace(C.preset("tiny").model, lateral_code=0.5)
    gen = S.random_generator(cfg)
    plain = S.random_generator(C.preset("tiny").model)
    a, b = gen.encode(["a person raises the left hand"]), plain.encode(
        ["a person raises the left hand"])
    np.testing.assert_allclose(a - b, 0.5 * L.direction(a.shape[1])[None], atol=1e-5)
