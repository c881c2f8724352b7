"""Snapping prompts to training-like captions (backend/text/snap.py) and its use in the
generate job (real starter model, real text encoder)."""
import pytest

from backend.jobs import JOBS, JobContext, JobError
from backend.text.known import refine_action
from backend.text.snap import snap_prompt, training_caption

pytest.importorskip("torch")
from backend.models.text2motion import job as _job  # noqa: E402,F401 - registers "generate"


def test_training_captions_cover_every_source():
    assert training_caption("walk") == "a person walks forward"
    assert "elderly" in training_caption("walk", "elderly")
    assert training_caption("dance") and training_caption("flip") == "a person does a backflip"
    assert training_caption("karate", "sad").endswith("sadly")
    assert training_caption("swim") is None


@pytest.mark.parametrize("action,prompt,want", [
    ("walk", "a man walks backwards slowly", "walk-back"),
    ("walk", "she turns right while walking", "walk-turn-right"),
    ("walk-turn-left", "he walks off to the left", "walk-left"),
    ("bye", "says goodbye waving both arms", "byebye"),
    ("wave-right-hand", "waves with her left hand", "wave-left-hand"),
    ("raise-up-both-hands", "puts his right arm up", "raise-up-right-hand"),
    ("walk", "walks forward", "walk"), ("kick", "kicks with the left leg", "kick")])
def test_direction_and_hand_words_pick_the_sibling(action, prompt, want):
    assert refine_action(action, prompt) == want


def test_snap_keeps_prompts_it_cannot_place():
    text, info = snap_prompt("someone strolls down the street")
    assert info["snapped"] and text == "a person walks forward"
    for prompt in ("a woman swims across the pool", "une personne marche"):
        text, info = snap_prompt(prompt)
        assert not info["snapped"] and text == prompt


def test_generate_job_snaps_unless_asked_not_to(tmp_path):
    ctx = JobContext("snap", tmp_path)
    res = JOBS["generate"]({"text": "someone strolls down the street", "seconds": 2.0,
                            "seed": 1}, ctx)
    assert "walks" in res["read_as"]
    res = JOBS["generate"]({"text": "someone strolls down the street", "seconds": 2.0,
                            "seed": 1, "conditioning": "prompt"}, ctx)
    assert res["read_as"] == ""
    with pytest.raises(JobError, match="conditioning must be one of"):
        JOBS["generate"]({"text": "a person walks", "conditioning": "magic"}, ctx)
