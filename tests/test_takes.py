"""Generate, check, make again (backend/models/text2motion/takes.py) with the real starter
generator and the real kinematic checks (backend/motion/presence.py)."""
import numpy as np
import pytest

pytest.importorskip("torch")

from backend.models.text2motion import takes as T  # noqa: E402
from backend.models.text2motion.sample import load_generator  # noqa: E402


@pytest.fixture(scope="module")
def gen():
    return load_generator("starter")


def test_unchecked_items_are_plain_generations(gen):
    feats, info = T.generate_takes(gen, ["a person dances"], [None], [3.0], [5])
    plain = gen.generate(["a person dances"], [3.0], [5])[0]
    np.testing.assert_array_equal(feats[0], plain)
    assert info[0].action is None and info[0].takes == 1 and info[0].meta() == {}
    assert info[0].warning() is None
    # an action with no check ("dance") is not checked either
    _, info = T.generate_takes(gen, ["a person dances"], ["dance"], [3.0], [5])
    assert info[0].action is None and info[0].takes == 1


def test_the_kept_take_is_the_first_that_passes_or_the_best(gen):
    """Each item's takes are exactly the generations of its take seeds; the kept one is the
    first that passes its check, or the best-scoring when none does."""
    texts = ["a person bows", "a person bows", "a person walks forward"]
    actions = ["bow", "bow", "walk"]
    seconds = [4.0, 4.0, 2.5]
    seeds = [0, 1, 2]
    feats, info = T.generate_takes(gen, texts, actions, seconds, seeds, tries=3)
    for i in range(3):
        scores, own = [], []
        for k in range(3):
            f = gen.generate([texts[i]], [seconds[i]], [T.take_seed(seeds[i], k)])[0]
            own.append(f)
            scores.append(T.score_clip(actions[i], gen.to_clip(f)))
            if scores[-1] >= 1.0:
                break
        best = int(np.argmax(scores))
        assert info[i].takes == len(scores)
        assert info[i].passed == (max(scores) >= 1.0)
        assert info[i].seed == T.take_seed(seeds[i], best)
        np.testing.assert_allclose(feats[i], own[best], atol=1e-5)
        assert info[i].meta()["checked_action"] == actions[i]
        assert (info[i].warning() is None) == bool(info[i].passed)
    assert T.take_seed(7, 0) == 7 and T.take_seed(7, 1) != 7
    # the same request gives the same takes
    again, _ = T.generate_takes(gen, texts, actions, seconds, seeds, tries=3)
    for a, b in zip(feats, again):
        np.testing.assert_array_equal(a, b)


def test_a_take_that_cannot_pass_is_kept_with_a_warning(gen):
    """A bow checked as a jump never lifts the pelvis 15 cm: every take is made, the
    closest is kept and the warning says what was looked for."""
    feats, info = T.generate_takes(gen, ["a person bows"], ["jump"], [3.0], [4], tries=2)
    assert info[0].takes == 2 and info[0].passed is False
    assert 0.0 <= info[0].score < 1.0
    assert "pelvis rises 15 cm" in info[0].warning() and "'jump'" in info[0].warning()
    assert len(feats[0]) == 60


def test_a_take_too_short_to_show_the_action_is_not_checked(gen):
    """Half a second of walking cannot travel the check's metre: no check, one take, no
    warning (takes.MIN_CHECK_SECONDS); from 1 s a take is checked."""
    feats, info = T.generate_takes(gen, ["a person walks"], ["walk"], [0.5], [4])
    assert info[0].action is None and info[0].takes == 1 and info[0].warning() is None
    np.testing.assert_array_equal(feats[0], gen.generate(["a person walks"], [0.5], [4])[0])
    _, info = T.generate_takes(gen, ["a person raises the right hand"],
                               ["raise-up-right-hand"], [1.5], [4])
    assert info[0].action == "raise-up-right-hand"


def test_bad_arguments_are_refused(gen):
    with pytest.raises(ValueError, match="one entry per item"):
        T.generate_takes(gen, ["a person bows"], [], [None], [0])
    with pytest.raises(ValueError, match="at least 1"):
        T.generate_takes(gen, ["a person bows"], ["bow"], [None], [0], tries=0)


def test_the_job_reports_its_takes(tmp_path):
    """The generate job checks a snapped, checkable action and says so in the clip's meta."""
    from backend.jobs import JobContext
    from backend.models.text2motion.job import generate_job
    from backend.motion.clip import Clip
    ctx = JobContext("t", tmp_path)
    res = generate_job({"text": "a person takes a bow", "seed": 3, "seconds": 4}, ctx)
    clip = Clip.load_npz(res["artifacts"][res["clips"][0]["artifact"]])
    assert clip.meta["checked_action"] == "bow"
    assert 1 <= clip.meta["takes"] <= T.TAKES
    assert isinstance(clip.meta["check_passed"], bool)
    # takes=1: the first take, as the model made it (checked, not made again)
    res = generate_job({"text": "a person takes a bow", "seed": 3, "seconds": 4, "takes": 1},
                       JobContext("t1", tmp_path / "one"))
    first = Clip.load_npz(res["artifacts"][res["clips"][0]["artifact"]])
    assert first.meta["takes"] == 1 and first.meta["take_seed"] == 3


def test_the_action_comes_before_its_style(gen):
    """A styled item whose takes all fail is made again with its style at half strength,
    and the first take that passes is kept and said (takes.WEAKER_TAKES): an elderly walk
    backwards of 4 s that never travels its metre."""
    from backend.text.snap import Blend, conditioning_caption, training_caption
    text = conditioning_caption("walk-back", "elderly")
    weaker = T.weaker_texts([text], ["walk-back"])
    w = weaker[0]
    assert isinstance(w, Blend) and str(w) == str(text)
    assert w.base == training_caption("walk-back", None)
    assert w.weight == pytest.approx(getattr(text, "weight", 1.0) * T.WEAKER_STYLE)
    feats, info = T.generate_takes(gen, [text], ["walk-back"], [4.0], [0], weaker=weaker,
                                   styles=["elderly"])
    take = info[0]
    assert take.passed and take.style_weakened and take.takes > T.TAKES
    assert take.seed == T.take_seed(0, take.takes - 1)
    np.testing.assert_allclose(feats[0], gen.generate(weaker, [4.0], [take.seed])[0],
                               atol=1e-5)
    assert take.meta()["style_weakened"] is True and "half strength" in take.warning()
    # the styled takes alone fail, and one take (tries=1) is never made again
    _, alone = T.generate_takes(gen, [text], ["walk-back"], [4.0], [0])
    assert alone[0].passed is False and alone[0].takes == T.TAKES
    _, first = T.generate_takes(gen, [text], ["walk-back"], [4.0], [0], tries=1, weaker=weaker)
    assert first[0].takes == 1 and not first[0].style_weakened
    # an unstyled caption or an unchecked action has no weaker version
    assert T.weaker_texts([training_caption("walk-back", None), "a person dances"],
                          ["walk-back", "dance"]) == [None, None]


def test_a_style_real_clips_fail_is_not_checked(gen):
    """A feminine wave of the data stays under the shoulder (0 of 55 real ones pass the
    check, median score 0): its takes are not checked, so they are not steered away from
    the style."""
    from backend.motion.presence import style_mark
    assert style_mark("wave-right-hand", "feminine") == 0.0
    assert style_mark("wave-right-hand", "elderly") == style_mark("wave-right-hand", None) == 1.0
    assert style_mark("bow", "no-such-style") == 1.0          # no recordings: checked
    assert T.checked_action("wave-right-hand", "feminine") is None
    assert T.checked_action("wave-right-hand", "elderly") == "wave-right-hand"
    # a proud bow of the data is shallow (0 of 2 pass, median score 0.62): a take must
    # show half of that, not nothing
    assert 0 < style_mark("bow", "proud") < 1.0
    assert T.checked_action("bow", "proud") == "bow"
    assert style_mark("bow", None) == style_mark("bow", "elderly") == 1.0
    _, info = T.generate_takes(gen, ["a woman waves her right hand gracefully"],
                               ["wave-right-hand"], [3.0], [1], styles=["feminine"])
    assert info[0].action is None and info[0].takes == 1
    with pytest.raises(ValueError, match="one entry per item"):
        T.generate_takes(gen, ["a person bows"], ["bow"], [None], [0], styles=[])
