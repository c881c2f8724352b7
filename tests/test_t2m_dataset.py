"""Text-to-motion dataset: building from canonical libraries, splits, mirroring, save/load,
and the HumanML3D layout loader (on a tiny folder made from the shared fixture)."""
from __future__ import annotations

import collections
import dataclasses
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from backend.data import t2m_dataset as D
from backend.data.library import DEFAULT_LIBRARY, LibraryEntry, MotionLibrary
from backend.motion import humanml3d as H
from backend.motion.mirror import SWAP, mirror_positions
from backend.motion.resample import resample

FIXTURES = Path(os.environ.get("ANIMA_HUMANML3D_FIXTURES", "/work/shared/data/humanml3d-format"))
CLIP_ID = "012314"
needs_fixtures = pytest.mark.skipif(
    not (FIXTURES / "new_joint_vecs" / f"{CLIP_ID}.npy").is_file(),
    reason=f"HumanML3D format fixtures not found in {FIXTURES}")

LONG = "cmu-135_07-papagina"      # ~12 s: two windows
SHORT = "cmu-02_01-przestr"       # ~3 s walk


def rows_at_20fps(lib: MotionLibrary, name: str) -> int:
    """Feature rows of a library clip once resampled to 20 fps (frames - 1)."""
    e = next(e for e in lib.entries if e.name == name)
    return int(round((e.length - 1) * 20.0 / e.fps))


@pytest.fixture(scope="module")
def cmu():
    return MotionLibrary.load(DEFAULT_LIBRARY)


@pytest.fixture(scope="module")
def tiny_library(cmu, tmp_path_factory) -> Path:
    """Two real CMU clips, one of them long, plus a fake Bandai entry (a CMU walk with Bandai
    labels and a single caption, so the builder has to regenerate the paraphrases) and a clip
    too short to keep."""
    lib = MotionLibrary()
    idx = {e.name: i for i, e in enumerate(cmu.entries)}
    for name in (LONG, SHORT):
        # a copy of the entry: add() sets its start and length
        lib.add(cmu.clip(idx[name]), dataclasses.replace(cmu.entries[idx[name]]))
    walk = cmu.clip(idx[SHORT])
    lib.add(walk, LibraryEntry(
        name="dataset-2_wave-left-hand_tired_007", captions=["a person waves the left hand"],
        source="bandai", licence="CC-BY-NC-4.0", commercial_ok=False, attribution="test",
        fps=30.0, labels={"content": "wave-left-hand", "style": "tired", "take": 7}))
    lib.add(walk.slice(0, 15), LibraryEntry(
        name="too-short", captions=["x"], source="cmu", licence="CMU", commercial_ok=True,
        attribution="", fps=30.0, labels={}))
    path = tmp_path_factory.mktemp("lib") / "tiny_canonical.npz"
    lib.save(path)
    return path


@pytest.fixture(scope="module")
def tiny(tiny_library):
    return D.build_dataset([tiny_library])


# ------------------------------------------------------------------------------ splits
def test_split_of_is_stable_and_proportioned():
    # pinned: these must never change (a changed split leaks test takes into training)
    assert D.split_of("cmu-02_01") == "val"
    assert D.split_of("dataset-1_bow_active_001") == "train"
    assert D.split_of("b") == "test"
    counts = collections.Counter(D.split_of(f"take-{i}") for i in range(20000))
    assert abs(counts["train"] / 20000 - 0.8) < 0.015
    assert abs(counts["val"] / 20000 - 0.1) < 0.01
    assert abs(counts["test"] / 20000 - 0.1) < 0.01


def test_window_starts():
    assert D.window_starts(150, 200, 100) == [0]
    assert D.window_starts(200, 200, 100) == [0]
    assert D.window_starts(245, 200, 100) == [0, 45]
    assert D.window_starts(500, 200, 100) == [0, 100, 200, 300]
    assert D.window_starts(510, 200, 100) == [0, 100, 200, 300, 310]


# ------------------------------------------------------------------------------- build
def test_build_items(tiny, tiny_library):
    names = [it.name for it in tiny.items]
    # the long clip (10-15 s) gives two windows: at 0 and ending at the clip's end
    rows = rows_at_20fps(MotionLibrary.load(tiny_library), LONG)
    assert 200 < rows < 300
    last = rows - 200
    assert f"{LONG}@0" in names and f"{LONG}@{last}" in names
    assert f"{LONG}@{last}:mirror" in names
    assert SHORT in names and f"{SHORT}:mirror" in names
    assert not any(n.startswith("too-short") for n in names)
    assert len(tiny) == 2 * (2 + 1 + 1)
    for it in tiny.items:
        assert it.features.dtype == np.float32 and it.features.shape[1] == 263
        assert D.MIN_SECONDS <= it.seconds <= D.MAX_SECONDS
        assert it.split == D.split_of(it.take)
    assert tiny.meta["dropped_short_clips"] == 1
    assert tiny.meta["clip_counts"]["cmu"]["clips"] == 2
    assert set(tiny.meta["sources"]) == {"cmu", "bandai"}


def test_windows_are_their_own_clips(tiny, tiny_library):
    """A window's features are those of the 20 fps clip sliced there, so it starts at the
    origin facing +Z like any HumanML3D clip."""
    lib = MotionLibrary.load(tiny_library)
    i = next(i for i, e in enumerate(lib.entries) if e.name == LONG)
    clip = resample(lib.clip(i), 20.0)
    last = clip.num_frames - 1 - 200
    it = next(x for x in tiny.items if x.name == f"{LONG}@{last}")
    expected = H.clip_to_features(clip.slice(last, last + 201)).astype(np.float32)
    assert it.features.shape == (200, 263)
    np.testing.assert_array_equal(it.features, expected)
    joints = H.recover_joints(it.features)
    assert np.abs(joints[0, 0, [0, 2]]).max() < 1e-6


def test_takes_splits_and_mirrors(tiny):
    by_take = collections.defaultdict(set)
    for it in tiny.items:
        by_take[it.take].add(it.split)
    assert all(len(s) == 1 for s in by_take.values())
    assert "cmu-135_07" in by_take and "cmu-02_01" in by_take   # CMU take = trial id
    orig = next(x for x in tiny.items if x.name == SHORT)
    mirr = next(x for x in tiny.items if x.name == f"{SHORT}:mirror")
    assert mirr.mirrored and not orig.mirrored and mirr.take == orig.take
    # mirrored features = features of the reflected, swapped joints
    j = H.recover_joints(orig.features.astype(np.float64))
    jm = H.recover_joints(mirr.features.astype(np.float64))
    np.testing.assert_allclose(jm, mirror_positions(j), atol=2e-4)
    # the foot-contact block swaps sides
    np.testing.assert_array_equal(mirr.features[:, H.FOOT_CONTACT],
                                  orig.features[:, H.FOOT_CONTACT][:, [2, 3, 0, 1]])
    assert SWAP[7] == 8


def test_bandai_captions_and_labels(tiny):
    it = next(x for x in tiny.items if x.name == "dataset-2_wave-left-hand_tired_007")
    assert it.labels == {"action": "wave-left-hand", "style": "exhausted"}
    assert len(it.captions) >= 3 and "a person waves the left hand" in it.captions
    assert all("left" in c for c in it.captions)
    assert it.source == "bandai" and not it.commercial_ok and it.licence == "CC-BY-NC-4.0"
    m = next(x for x in tiny.items if x.name == "dataset-2_wave-left-hand_tired_007:mirror")
    assert m.labels == {"action": "wave-right-hand", "style": "exhausted"}
    assert m.captions == [c.replace("left", "right") for c in it.captions]
    cmu_item = next(x for x in tiny.items if x.name == SHORT)
    assert cmu_item.labels["action"] == "walk" and cmu_item.captions[0] == "a person walks"
    assert "wave-right-hand" in tiny.label_vocab["action"]
    assert tiny.label_vocab["style"] == ["exhausted"]


def test_mean_std_from_train_split(tiny):
    train = [it for it in tiny.items if it.split == "train"]
    allf = np.concatenate([it.features for it in (train or tiny.items)]).astype(np.float64)
    np.testing.assert_allclose(tiny.mean, allf.mean(0), rtol=1e-4, atol=1e-5)
    for name, s in H.BLOCKS.items():
        assert np.ptp(tiny.std[s]) == 0.0, name
        expected = max(allf[:, s].std(0).mean(), D.STD_FLOOR)
        assert abs(tiny.std[s][0] - expected) < 1e-4 * max(1.0, expected)
    assert (tiny.std >= D.STD_FLOOR).all()
    x = tiny.items[0].features
    np.testing.assert_allclose(tiny.denormalize(tiny.normalize(x)), x, atol=1e-5)


def test_filter_save_load(tiny, tmp_path):
    nc = tiny.filter(commercial_only=True)
    assert all(it.commercial_ok for it in nc.items) and len(nc) == 6
    assert nc.mean is tiny.mean or np.array_equal(nc.mean, tiny.mean)
    assert np.array_equal(nc.std, tiny.std)
    assert len(tiny.filter(sources=["bandai"])) == 2
    for s in D.SPLITS:
        assert all(it.split == s for it in tiny.filter(split=s).items)
    assert sum(len(tiny.filter(split=s)) for s in D.SPLITS) == len(tiny)
    with pytest.raises(ValueError):
        tiny.filter(split="training")

    path = tiny.save(tmp_path / "ds.npz")
    back = D.T2MDataset.load(path)
    assert len(back) == len(tiny)
    for a, b in zip(tiny.items, back.items):
        assert a.info() == b.info()
        np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(back.mean, tiny.mean)
    np.testing.assert_array_equal(back.std, tiny.std)
    assert back.label_vocab == tiny.label_vocab
    assert back.fingerprint() == tiny.fingerprint()
    back._fingerprint = None
    assert back.fingerprint() == tiny.fingerprint()       # recomputed from content
    st = back.stats()
    assert st["items"] == len(tiny) and set(st["by_source"]) == {"bandai", "cmu"}
    assert st["by_source"]["cmu"]["mirrored"] == 3
    with np.load(path, allow_pickle=False) as z:      # no pickles anywhere
        assert set(z.files) >= {"features", "lengths", "items", "mean", "std"}


def test_load_rejects_other_files(tmp_path):
    with pytest.raises(D.DatasetError, match="not found"):
        D.T2MDataset.load(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, format=np.array("something-else"))
    with pytest.raises(D.DatasetError, match="not an Anima"):
        D.T2MDataset.load(bad)


# --------------------------------------------------------------------------- HumanML3D
def _make_humanml3d(root: Path, with_splits=True, with_stats=True) -> Path:
    (root / "new_joint_vecs").mkdir(parents=True)
    (root / "texts").mkdir()
    src = FIXTURES / "new_joint_vecs" / f"{CLIP_ID}.npy"            # (170, 263): 8.5 s
    for cid in (CLIP_ID, "M" + CLIP_ID, "000001"):
        shutil.copy(src, root / "new_joint_vecs" / f"{cid}.npy")
    (root / "texts" / f"{CLIP_ID}.txt").write_text(
        "a person serves a tennis ball#a/DET person/NOUN serve/VERB#0.0#0.0\n"
        "someone hits a serve with the right hand#someone/PRON#0.0#0.0\n"
        "a person tosses the ball#a/DET person/NOUN#1.0#3.5\n"
        "the person bounces the ball#the/DET#2.0#2.5\n", encoding="utf-8")
    (root / "texts" / f"M{CLIP_ID}.txt").write_text(
        "a person serves a tennis ball#a/DET#0.0#0.0\n"
        "someone hits a serve with the left hand#someone/PRON#nan#nan\n", encoding="utf-8")
    (root / "texts" / "000001.txt").write_text("a person stands#a/DET#0.0#0.0\n")
    if with_splits:
        (root / "train.txt").write_text(f"{CLIP_ID}\nM{CLIP_ID}\n")
        (root / "val.txt").write_text("")
        (root / "test.txt").write_text("000001\n")
    if with_stats:
        shutil.copy(FIXTURES / "Mean.npy", root / "Mean.npy")
        shutil.copy(FIXTURES / "Std.npy", root / "Std.npy")
    return root


@needs_fixtures
def test_load_humanml3d(tmp_path):
    root = _make_humanml3d(tmp_path / "HumanML3D")
    ds = D.load_humanml3d(root)
    names = {it.name: it for it in ds.items}
    feats = np.load(FIXTURES / "new_joint_vecs" / f"{CLIP_ID}.npy")
    whole = names[CLIP_ID]
    assert whole.captions == ["a person serves a tennis ball",
                              "someone hits a serve with the right hand"]
    np.testing.assert_array_equal(whole.features, feats)
    sub = names[f"{CLIP_ID}@1-3.5"]
    assert sub.captions == ["a person tosses the ball"]
    np.testing.assert_array_equal(sub.features, feats[20:70])
    assert f"{CLIP_ID}@2-2.5" not in names              # 0.5 s: shorter than MIN_SECONDS
    m = names["M" + CLIP_ID]
    assert m.mirrored and m.take == CLIP_ID and len(m.captions) == 2   # nan times: whole clip
    assert {it.split for it in ds.items if it.take == CLIP_ID} == {"train"}
    assert names["000001"].split == "test"
    assert all(it.source == "humanml3d" and not it.commercial_ok for it in ds.items)
    mean, std = H.load_mean_std(FIXTURES)
    np.testing.assert_allclose(ds.mean, mean)
    np.testing.assert_allclose(ds.std, std)
    assert ds.meta["mean_std"] == "Mean.npy/Std.npy"
    assert ds.meta["skipped"] == {"too short": 1}


@needs_fixtures
def test_load_humanml3d_without_split_files_or_stats(tmp_path):
    root = _make_humanml3d(tmp_path / "h", with_splits=False, with_stats=False)
    ds = D.load_humanml3d(root)
    assert {it.name for it in ds.items} == {CLIP_ID, f"{CLIP_ID}@1-3.5", "M" + CLIP_ID,
                                            "000001"}
    for it in ds.items:
        assert it.split == D.split_of(it.take)
    assert ds.meta["mean_std"] == "train split"
    # window cutting of long HumanML3D clips: a 12 s clip becomes two windows
    long = np.concatenate([np.load(root / "new_joint_vecs" / f"{CLIP_ID}.npy")] * 2)[:240]
    np.save(root / "new_joint_vecs" / "000002.npy", long)
    (root / "texts" / "000002.txt").write_text("a long serve#x#0.0#0.0\n")
    ds2 = D.load_humanml3d(root)
    assert {"000002@0", "000002@40"} <= {it.name for it in ds2.items}
    with pytest.raises(D.DatasetError):
        D.load_humanml3d(tmp_path / "missing")
