"""`train text2motion --continue-from`: a model continued on its own data with paraphrased
captions (issue 9's recipe for the shipped models), through the real command line."""
import subprocess
import sys

import pytest
import torch

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def _train(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "backend", "train", "text2motion", *args,
                           "--threads", "1"], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    work = tmp_path_factory.mktemp("base")
    r = _train("--preset", "tiny", "--steps", "4", "--work-dir", str(work))
    assert r.returncode == 0, r.stderr[-2000:]
    return work / "text2motion_tiny.pt"


def test_continue_keeps_splits_and_trains_on_paraphrases(base, tmp_path):
    r = _train("--preset", "tiny", "--continue-from", str(base), "--paraphrase", "0.5",
               "--text-noise", "0.02", "--steps", "6", "--work-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    log = r.stdout + r.stderr
    assert "paraphrases:" in log
    first = torch.load(base, map_location="cpu", weights_only=True)
    ck = torch.load(tmp_path / "text2motion_tiny.pt", map_location="cpu", weights_only=True)
    assert ck["dataset"]["splits"] == first["dataset"]["splits"]       # test split kept out
    assert ck["dataset"]["continued_from"]["name"] == "tiny"
    assert ck["train_config"]["paraphrase"] == 0.5
    assert torch.equal(ck["mean"], first["mean"])
    changed = [k for k in first["state_dict"]
               if first["state_dict"][k].is_floating_point()
               and not torch.equal(first["state_dict"][k], ck["state_dict"][k])]
    assert changed, "continuing trained nothing"
    card = (tmp_path / "text2motion_tiny.md").read_text()
    assert "Continued from the `tiny` model" in card


@pytest.mark.parametrize("args,needle", [
    (["--preset", "tiny", "--paraphrase", "1.5"], "--paraphrase 1.5 is out of range"),
    (["--preset", "tiny", "--continue-from", "starter"], "differs from the config's"),
    (["--preset", "tiny", "--continue-from", "/nonexistent/model.pt"], "model.pt"),
])
def test_bad_continue_arguments(args, needle, tmp_path):
    r = _train(*args, "--steps", "2", "--work-dir", str(tmp_path))
    assert r.returncode == 2, (r.stdout[-500:], r.stderr[-500:])
    assert needle in r.stderr
    assert "Traceback" not in r.stderr


def test_text_recipes_continue_the_shipped_networks():
    from dataclasses import asdict

    from backend.models.text2motion.config import preset
    from backend.models.text2motion.sample import checkpoint_path, load_checkpoint
    for name in ("starter", "clean"):
        recipe = preset(f"{name}-text")
        assert recipe.name == name and recipe.paraphrase > 0 and recipe.text_noise > 0
        ck = load_checkpoint(checkpoint_path(name))
        assert asdict(ck["model_config"]) == asdict(recipe.model)
