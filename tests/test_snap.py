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


def test_a_thin_style_is_given_part_of_the_way_from_the_plain_caption():
    """A style the starter saw in under 8 recordings of the action conditions as a Blend
    from the action's plain caption; a well-covered one as its caption."""
    from backend.text.snap import THIN_STYLE_WEIGHT, Blend, conditioning_caption
    happy = conditioning_caption("walk", "happy")          # 2 recordings of a happy walk
    assert isinstance(happy, Blend) and str(happy) == training_caption("walk", "happy")
    assert happy.base == training_caption("walk") and happy.weight == THIN_STYLE_WEIGHT
    elderly = conditioning_caption("walk", "elderly")      # 30 recordings
    assert type(elderly) is str and elderly == training_caption("walk", "elderly")
    assert type(conditioning_caption("walk", None)) is str
    assert type(conditioning_caption("walk", "happy", "clean")) is str   # no style labels
    text, info = snap_prompt("a cheerful lady strolls along, happily")
    assert info["snapped"] and info["style"] == "happy"
    assert isinstance(text, Blend) and info["style_weight"] == THIN_STYLE_WEIGHT
    assert info["caption"] == str(text) and type(info["caption"]) is str
    with pytest.raises(ValueError, match="weight"):
        Blend("a", "b", 1.5)


def test_the_generator_encodes_a_blend_between_its_two_captions():
    import numpy as np
    from backend.models.text2motion.sample import load_generator
    from backend.text.snap import Blend
    gen = load_generator("starter")
    cap, base = training_caption("bow", "sad"), training_caption("bow")
    e_cap, e_base = gen.encode([cap, base])
    got = gen.encode([Blend(cap, base, 0.25), cap, Blend(cap, base, 1.0), Blend(cap, base, 0)])
    np.testing.assert_allclose(got[0], e_base + 0.25 * (e_cap - e_base), atol=1e-6)
    np.testing.assert_allclose(got[1], e_cap, atol=1e-6)        # a plain text is unchanged
    np.testing.assert_allclose(got[2], e_cap, atol=1e-6)
    np.testing.assert_allclose(got[3], e_base, atol=1e-6)
