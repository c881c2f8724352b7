"""Your own data (issue 9, item 5): a folder of BVH clips + captions CSV -> a user library
(`python -m backend import --folder`), a dataset from it, a fine-tune of the shipped starter
model (`train text2motion --init starter`), and the fine-tuned model generating motion.

The BVH files are written from clips of the shipped CMU library (Y-up, centimetres, as other
tools write them), so the imported motion can be compared with the original. Everything runs
through `backend.__main__.main` with ANIMA_HOME pointing at a temporary folder.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from backend.__main__ import main
from backend.data.library import DEFAULT_LIBRARY, MotionLibrary
from backend.data.user_import import (DEFAULT_LICENCE, UserImportError, action_of,
                                      caption_from_name, read_captions_csv)
from backend.motion import axes
from backend.motion.bvh import write_bvh

# file (relative to the folder) -> index of the shipped library clip it is written from
CLIPS = {"walk_happy_01.bvh": 0, "rough/walk_uneven.bvh": 5, "Stroll_02.bvh": 10}
CAPTIONS = ("file,caption,style\n"
            "walk_happy_01.bvh,a person walks happily,happy\n"
            "walk_happy_01,someone strolls along cheerfully,\n"
            "rough/walk_uneven,a person walks over rough ground,\n")
BROKEN_BVH = "HIERARCHY\nROOT hips\n{\n  OFFSET 0 0 0\n  CHANNELS 6 Xposition\n"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """ANIMA_HOME for the module (libraries, datasets, models go there)."""
    path = tmp_path_factory.mktemp("anima_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANIMA_HOME", str(path))
        yield path


@pytest.fixture(scope="module")
def originals():
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    return {f: lib.clip(i).slice(0, 61) for f, i in CLIPS.items()}      # 2 s at 30 fps


def write_clips(folder: Path, originals: dict) -> Path:
    for rel, clip in originals.items():
        sk, rots, root = axes.skeleton_clip_blender_to_y_up(clip.skeleton, clip.local_rotations,
                                                            clip.root_translation)
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        write_bvh(folder / rel, sk, rots, root, clip.fps)
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory, originals):
    d = write_clips(tmp_path_factory.mktemp("my_clips"), originals)
    (d / "broken.bvh").write_text(BROKEN_BVH)
    (d / "dance.fbx").write_bytes(b"Kaydara FBX Binary  \x00")
    (d / "captions.csv").write_text(CAPTIONS)
    return d


@pytest.fixture(scope="module")
def imported(home, folder):
    rc = main(["import", "--folder", str(folder), "--captions", str(folder / "captions.csv"),
               "--name", "mine", "--no-embed"])
    assert rc == 0
    return MotionLibrary.load(home / "library" / "mine_canonical.npz")


def run_cli(capsys, argv) -> tuple[int, str]:
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out + out.err


# ================================================================================ captions
def test_captions_from_file_names_and_actions():
    assert caption_from_name("walk_happy_01.bvh") == "walk happy"
    assert caption_from_name("sub/JumpHigh-3.bvh") == "jump high"
    assert caption_from_name("007.bvh") == "007"
    assert action_of("a person walks happily") == "walk"
    assert action_of("Someone is running in circles") == "run"
    assert action_of("jumping jacks") == "jump"
    assert action_of("a man punches twice") == "punch"
    assert action_of("a person") is None


def test_captions_csv_errors_name_the_line(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("file,caption\nwalk.bvh,a person walks\nrun.bvh,a,b,c\n")
    with pytest.raises(UserImportError, match=r"line 3: expected 2 or 3 columns"):
        read_captions_csv(p)
    p.write_text("walk.bvh,a person walks\n\nrun.bvh,\n")
    with pytest.raises(UserImportError, match=r"line 3: no caption for 'run.bvh'"):
        read_captions_csv(p)
    p.write_text("walk.bvh,a person walks,happy\nwalk,a person walks on,sad\n")
    with pytest.raises(UserImportError, match=r"line 2: style 'sad'.*contradicts line 1"):
        read_captions_csv(p)
    p.write_text("file,caption,style\n")
    with pytest.raises(UserImportError, match="no captions"):
        read_captions_csv(p)
    table = read_captions_csv(_write(tmp_path / "ok.csv", CAPTIONS))
    assert table["walk_happy_01"].captions == ["a person walks happily",
                                               "someone strolls along cheerfully"]
    assert table["walk_happy_01"].style == "happy"
    assert table["rough/walk_uneven"].style is None


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ================================================================================== import
def test_import_folder_makes_a_user_library(imported, originals, home):
    lib = imported
    by_file = {e.labels["file"]: i for i, e in enumerate(lib.entries)}
    assert sorted(by_file) == sorted(CLIPS)                  # broken.bvh and the FBX are out
    for e in lib.entries:
        assert e.source == "user" and e.licence == DEFAULT_LICENCE
        assert e.commercial_ok is False
        assert e.name == f"mine/{e.labels['file']}"
    happy = lib.entries[by_file["walk_happy_01.bvh"]]
    assert happy.captions == ["a person walks happily", "someone strolls along cheerfully"]
    assert happy.labels["action"] == "walk" and happy.labels["style"] == "happy"
    uneven = lib.entries[by_file["rough/walk_uneven.bvh"]]
    assert uneven.captions == ["a person walks over rough ground"]
    assert uneven.labels["style"] is None
    stroll = lib.entries[by_file["Stroll_02.bvh"]]               # not in the CSV: its name
    assert stroll.captions == ["stroll"] and stroll.labels["action"] == "stroll"
    # The motion survives BVH -> any-rig mapping -> retarget -> canonical (joint positions).
    for rel, i in by_file.items():
        got, want = lib.clip(i), originals[rel]
        assert got.fps == 30.0 and abs(got.num_frames - want.num_frames) <= 1
        n = min(got.num_frames, want.num_frames)
        err = np.linalg.norm(got.positions()[:n] - want.positions()[:n], axis=-1)
        assert err.mean() < 0.03, (rel, err.mean())
        assert np.median(err) < 0.02, (rel, np.median(err))


def test_import_reports_failures_and_skipped_fbx(home, folder, capsys):
    rc, out = run_cli(capsys, ["import", "--folder", str(folder), "--captions",
                               str(folder / "captions.csv"), "--name", "mine2", "--no-embed",
                               "--licence", "CC0 1.0", "--commercial"])
    assert rc == 0
    assert "imported=3 failed=1 skipped=1" in out
    assert "failed: broken.bvh: BvhError" in out
    assert "skipped: dance.fbx: FBX needs Blender" in out
    assert "Stroll_02.bvh: not in the captions file" in out
    lib = MotionLibrary.load(home / "library" / "mine2_canonical.npz")
    assert {e.licence for e in lib.entries} == {"CC0 1.0"}
    assert all(e.commercial_ok for e in lib.entries)


def test_import_bad_input_is_refused_and_writes_nothing(home, folder, originals, tmp_path,
                                                         capsys, imported):
    libdir = home / "library"
    kept = (libdir / "mine_canonical.npz").read_bytes()
    before = sorted(p.name for p in libdir.iterdir())
    cases = []
    cases.append((["--folder", str(tmp_path / "nope")], "folder not found"))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no clips here")
    cases.append((["--folder", str(empty)], "no .bvh (or .fbx) files"))
    bad_csv = _write(tmp_path / "bad.csv", "file,caption\nwalk_happy_01,a walk\nx,y,z,w\n")
    cases.append((["--folder", str(folder), "--captions", str(bad_csv)], "line 3"))
    ghost = _write(tmp_path / "ghost.csv", "walk_happy_01,a walk\nmissing_take.bvh,a run\n")
    cases.append((["--folder", str(folder), "--captions", str(ghost)],
                  "line 2: 'missing_take'"))
    cases.append((["--folder", str(folder), "--captions", str(tmp_path / "none.csv")],
                  "captions file not found"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.bvh").write_text(BROKEN_BVH)
    (broken / "b.bvh").write_text("not a bvh at all\n")
    cases.append((["--folder", str(broken)], "no clip could be imported"))
    cases.append((["--folder", str(folder), "--name", "cmu"], "reserved"))
    cases.append((["--folder", str(folder), "--name", "../evil"], "library name"))
    cases.append((["--captions", str(folder / "captions.csv")], "go with --folder"))
    for args, message in cases:
        rc, out = run_cli(capsys, ["import", "--no-embed", "--name", "mine", *args]
                          if "--name" not in args else ["import", "--no-embed", *args])
        assert rc == 2, (args, out)
        assert "error:" in out and message in out, (args, out)
    assert sorted(p.name for p in libdir.iterdir()) == before
    assert (libdir / "mine_canonical.npz").read_bytes() == kept


# ======================================================================= dataset, fine-tune
@pytest.fixture(scope="module")
def dataset(home, imported):
    out = home / "t2m" / "mine.npz"
    assert main(["dataset", "build", "--libraries", "mine", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def finetuned(home, dataset):
    rc = main(["train", "text2motion", "--init", "starter", "--dataset", str(dataset),
               "--steps", "3", "--batch", "4", "--threads", "1", "--name", "mine_ft"])
    assert rc == 0
    return home / "models" / "mine_ft.pt"


def test_dataset_from_the_user_library(dataset):
    from backend.data.t2m_dataset import T2MDataset

    ds = T2MDataset.load(dataset)
    assert {it.source for it in ds.items} == {"user"}
    assert len(ds) == 6                                        # 3 clips + mirrored copies
    assert ds.label_vocab["style"] == ["happy"]
    assert not ds.meta["commercial_ok"]


def test_finetune_from_starter_keeps_its_scales_and_records_licences(finetuned, home, dataset):
    from backend.models.text2motion.sample import checkpoint_path

    ck = torch.load(finetuned, map_location="cpu", weights_only=True)
    base = torch.load(checkpoint_path("starter"), map_location="cpu", weights_only=True)
    assert ck["name"] == "mine_ft" and ck["steps"] == 3
    assert ck["model_config"] == base["model_config"]
    assert torch.equal(ck["mean"], base["mean"]) and torch.equal(ck["std"], base["std"])
    # started from the starter's weights (close to them), and trained (not equal)
    diffs = [float((ck["state_dict"][k].float() - v.float()).abs().max())
             for k, v in base["state_dict"].items() if v.is_floating_point()]
    assert max(diffs) > 0 and max(diffs) < 0.05
    assert torch.equal(ck["state_dict"]["flow.text_mean"], base["state_dict"]["flow.text_mean"])
    d = ck["dataset"]
    assert d["commercial_ok"] is False
    assert d["licence"] == "CC-BY-NC-4.0 + " + DEFAULT_LICENCE
    assert d["init"]["name"] == "starter" and d["init"]["licence"] == "CC-BY-NC-4.0"
    assert "user" in d["sources"] and "starter model: bandai" in d["sources"]
    card = finetuned.with_suffix(".md").read_text()
    assert "Fine-tuned from the `starter` model" in card and DEFAULT_LICENCE in card
    # what it saw: the starter's recordings plus the user's (the checker's warnings read it)
    from backend.data.t2m_dataset import T2MDataset
    from backend.text import coverage as CV
    expected = CV.merged(CV.model_coverage("starter"),
                         CV.count_takes(T2MDataset.load(dataset).items))
    assert expected != CV.model_coverage("starter")          # the user's clips are labelled
    assert d["coverage"] == expected and CV.read_card(card) == expected
    summary = finetuned.with_suffix(".json").read_text()
    assert '"commercial_ok": false' in summary and '"init": "starter"' in summary


def test_finetuned_model_generates(finetuned):
    from backend.models.text2motion.sample import load_generator

    gen = load_generator(str(finetuned), cache=False)
    assert gen.licence == "CC-BY-NC-4.0 + " + DEFAULT_LICENCE and not gen.commercial_ok
    feats = gen.generate(["a person walks happily"], [1.0], [0], steps=4)[0]
    assert feats.shape == (20, 263) and np.isfinite(feats).all()
    clip = gen.to_clip(feats)
    assert clip.num_frames >= 20 and np.isfinite(clip.positions()).all()


def test_finetune_bad_input(home, dataset, capsys, tmp_path):
    models = home / "models"
    before = sorted(p.name for p in models.iterdir()) if models.is_dir() else []
    junk = _write(tmp_path / "junk.pt", "not a checkpoint")
    cases = [
        (["--init", "starter"], "--init needs --dataset"),
        (["--init", "starter", "--dataset", str(tmp_path / "no.npz")], "not a dataset"),
        (["--init", str(tmp_path / "gone.pt"), "--dataset", str(dataset)], "gone.pt"),
        (["--init", str(junk), "--dataset", str(dataset)], "not a readable"),
        (["--init", "starter", "--dataset", str(dataset), "--name", "clean"], "shipped"),
        (["--preset", "tiny", "--name", "x"], "--name goes with --init"),
        (["--init", "starter", "--dataset", str(dataset), "--steps", "0"], "--steps"),
    ]
    for args, message in cases:
        rc, out = run_cli(capsys, ["train", "text2motion", "--threads", "1", *args])
        assert rc == 2, (args, out)
        assert "error:" in out and message in out, (args, out)
    after = sorted(p.name for p in models.iterdir()) if models.is_dir() else []
    assert after == before
