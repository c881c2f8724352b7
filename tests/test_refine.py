"""Which sibling of a family the prompt's words pin down (backend/text/refine.py), through
the real prompt checker and snapping (real MiniLM encoder). Prompts written for this test."""
import pytest

from backend.text.compound import parse_prompt
from backend.text.known import check_prompt
from backend.text.refine import merge_walk_and_turn, refine_action, turn_side, walk_then_turn
from backend.text.snap import snap_prompt


@pytest.mark.parametrize("action,prompt,want", [
    ("walk-turn-left", "a plain old walk across the yard", "walk"),        # no direction named
    ("walk-right", "she walks into the bakery", "walk"),
    ("walk", "the guard hangs a left at the armoury", "walk-turn-left"),
    ("walk", "strolls on and swings round to the right", "walk-turn-right"),
    ("walk", "walk fwd, turn R", "walk-turn-right"),
    ("walk", "backing away from the bear", "walk-back"),
    ("walk", "walk forward-left, head down", "walk-left"),
    ("walk-turn-right", "turns on the spot, a full 360", "spin"),
    ("raise-up-left-hand", "lifts her left hand to answer the quizmaster", "respond"),
    ("raise-up-left-hand", "puts his left hand up to ask a question", "raise-up-left-hand"),
    ("bye", "waves bye-bye to the bus", "byebye"),
    ("bye", "a bye-bye with just one hand", "bye"),
    ("kick", "kicks with the left leg", "kick")])
def test_words_pick_the_sibling(action, prompt, want):
    assert refine_action(action, prompt) == want


def test_the_whole_prompt_is_read_when_the_clause_names_no_hand():
    assert refine_action("bye", "waves farewell", "throws both hands up high, waves farewell") \
        == "byebye"
    assert refine_action("bye", "waves farewell") == "bye"


def test_turn_words():
    assert turn_side("takes a right turn at the church") == "right"
    assert turn_side("makes a left at the lights") == "left"
    assert turn_side("walks to the right") is None          # a sidestep, not a turn
    merged = merge_walk_and_turn({"walk": 0.8, "spin": 0.6}, "walks on then turns left")
    assert merged == {"walk-turn-left": 0.8}
    assert merge_walk_and_turn({"walk": 0.8, "walk-back": 0.7}, "walks back, turns left") \
        == {"walk-turn-left": 0.8, "walk-back": 0.7}
    assert merge_walk_and_turn({"walk": 0.8}, "walks, then turns around in place") \
        == {"walk": 0.8}


def test_checker_and_snap_read_one_walk_and_turn():
    report = check_prompt("the postman walks to the gate and then turns right")
    assert [a for a, _ in report.known_actions] == ["walk-turn-right"]
    text, info = snap_prompt("an everyday walk to the shops")
    assert info["snapped"] and info["action"] == "walk"


def test_a_lexicon_word_snaps_below_the_cosine_threshold():
    report = check_prompt("grandpa ambles down the garden path")
    assert report.named == ["walk"] and report.known_actions[0][1] < 0.5
    text, info = snap_prompt("grandpa ambles down the garden path", report=report)
    assert info["snapped"] and info["action"] == "walk" and info["style"] == "elderly"


def test_the_parser_does_not_split_a_walk_and_a_turn():
    parsed = parse_prompt("walks to the corner, then turns left")
    assert not parsed.is_compound and len(parsed.stages) == 1
    parsed = parse_prompt("walks, turns left, then turns right")     # two parts, not three
    assert [len(s.actions) for s in parsed.stages] == [1, 1]
    assert parsed.stages[0].text.endswith("turns left") and parsed.stages[1].text == \
        "turns right"
    assert len(parse_prompt("runs to the corner, then turns left").stages) == 2
    assert len(parse_prompt("walks then spins around in place").stages) == 2
    stages = parse_prompt("walks forward, then jumps").stages
    assert not walk_then_turn(stages) and len(stages) == 2


def test_arrows_are_one_after_another():
    parsed = parse_prompt("jump > spin > bow")
    assert parsed.relation == "sequence" and len(parsed.stages) == 3
    assert len(parse_prompt("idle -> punch -> kick").stages) == 2


@pytest.mark.parametrize("action,prompt,want", [
    ("karate", "a ronin cuts down with his katana", "slash"),
    ("raise-up-both-hands", "hacks at the door with a greatsword, both hands on the hilt",
     "slash"),
    ("slash", "the musketeers duel with rapiers", "swordplay"),
    ("run", "races for the bus at top speed", "dash"),
    ("wave-both-hands", "waves goodbye to the ferry with both hands", "byebye"),
    ("raise-up-right-hand", "moves her right hand side to side above her head",
     "wave-right-hand"),
    ("punch", "the boxer gets back up off the canvas", "get-up"),
    ("call", "answers when his mum calls him", "respond"),
    ("flip", "backpedals away from the snake", "walk-back"),
    ("flip", "does a backflip off the wall", "flip"),          # no rule fires
    ("run", "runs to the shop", "run")])
def test_words_pick_across_families(action, prompt, want):
    assert refine_action(action, prompt) == want
