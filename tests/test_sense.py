"""The learned sense check of the prompt checker (backend/text/sense.py): a logistic regression
over the offline encoder's embedding, trained on backend/text/data (written for training only)."""
import numpy as np
import pytest

from backend.text import sense


def test_the_regression_separates_a_toy_problem_and_is_deterministic():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-1, 0.3, (40, 3)), rng.normal(1, 0.3, (40, 3))])
    y = np.r_[np.zeros(40), np.ones(40)]
    w, b = sense.fit_logistic(x, y, l2=1e-4, steps=500, lr=1.0)
    p = 1 / (1 + np.exp(-(x @ w + b)))
    assert np.mean((p > 0.5) == (y > 0.5)) == 1.0
    w2, b2 = sense.fit_logistic(x, y, l2=1e-4, steps=500, lr=1.0)
    np.testing.assert_array_equal(w, w2)


def test_the_shipped_artifact_is_what_its_training_data_gives(tmp_path):
    out = tmp_path / "sense.npz"
    figures = sense.train_sense(out)
    assert figures["prompts"] >= 600 and figures["train_accuracy"] > 0.9
    assert figures["train_flagged_known"] <= 0.01          # the threshold is conservative
    with np.load(out) as new, np.load(sense.ARTIFACT) as shipped:
        np.testing.assert_allclose(new["weights"], shipped["weights"], atol=1e-3)
        assert float(new["threshold"]) == pytest.approx(sense.THRESHOLD)
        assert float(shipped["threshold"]) == pytest.approx(sense.THRESHOLD)


def _p(texts):
    from backend.text.encoder import TextEncoder
    return sense.SenseCheck.shared().p_unknown(TextEncoder.shared().encode(texts))


def test_other_senses_score_high_and_the_known_motions_low():
    """Prompts written for this test, not taken from any prompt set or the training data."""
    odd = _p(["she flips through the menu at the cafe", "he turns the key in the lock",
              "a chef rolls sushi at the counter"])
    known = _p(["a man walks across the room", "she does a backflip on the beach",
                "a boy kicks the ball into the goal", "he bows to his opponent"])
    assert odd.mean() > known.mean() + 0.3
    assert (known < sense.THRESHOLD).all()          # none of the known ones is flagged


def test_the_checker_uses_it_and_runs_without_it(monkeypatch):
    from backend.text.known import check_prompt
    prompt = "spins wool on a wheel"
    with_check = check_prompt(prompt, sense=True)
    assert check_prompt(prompt).unknown              # on by default (known.SENSE_CHECK)
    assert not check_prompt(prompt, sense=False).unknown
    # a known verb with an object that keeps its sense is not overruled by the learned check
    assert not check_prompt("runs a marathon", sense=True).unknown
    monkeypatch.setattr(sense, "ARTIFACT", sense.ARTIFACT.with_name("missing.npz"))
    monkeypatch.setattr(sense.SenseCheck, "_shared", None)
    assert sense.SenseCheck.shared() is None
    without = check_prompt(prompt, sense=True)      # no artifact: the rules alone
    assert with_check.unknown and not without.unknown   # the rules alone read a spin
    assert not check_prompt("a man walks across the room").unknown
