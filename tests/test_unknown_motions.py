"""The prompt checker's rules for motions the models do not know (backend/text/unknown_motions.py):
a known action as the object of a verb that does not perform it, and misspelt unknown verbs."""
import pytest

from backend.text.unknown_motions import reaction_object, unknown_typo
from backend.text.known import check_prompt


@pytest.mark.parametrize("clause", [
    "ducks to dodge a punch", "blocks the incoming kick", "draws back a bow and fires",
    "watches a dance from the side", "he takes a punch to the jaw", "parries each slash"])
def test_a_known_action_as_the_object_of_another_verb_is_not_that_action(clause):
    assert reaction_object(clause) is not None


@pytest.mark.parametrize("clause", [
    "throws a punch", "takes a bow", "takes a deep bow before the king", "does a jump",
    "kicks the ball", "punches the bag twice", "waves goodbye", "bows to the audience"])
def test_the_action_itself_is_left_alone(clause):
    assert reaction_object(clause) is None


def test_a_misspelt_unknown_verb_is_found_and_english_words_are_not_typos():
    assert unknown_typo("clmibs over a fence") == "climb"
    assert unknown_typo("jugglign three balls") == "juggle"
    # real words one letter from an unknown verb: shouting (shooting), sizing, painting
    for clause in ("shouting and waving", "a thug sidesteps right, sizing someone up",
                   "points at the painting", "a man walks", "swimming"):
        assert unknown_typo(clause) is None
    # a word the caller knows (the known-action lexicon) is never an unknown typo
    assert unknown_typo("clmibs", known_words={"clmibs"}) is None
    assert unknown_typo("clmibs", known_typo=lambda w: "walk") is None


def test_the_checker_flags_them_and_still_knows_the_fencers_lunge():
    from backend.text.known import check_prompt
    assert check_prompt("ducks to dodge a punch").unknown
    assert check_prompt("clmibs over a fence").unknown
    assert check_prompt("crouches down and hides behind a wall").unknown
    assert not check_prompt("a boxer throws a punch").unknown
    assert not check_prompt("en garde! a fencer lunges and parries").unknown
    assert check_prompt("does lunges and squats").unknown


@pytest.mark.parametrize("prompt", [
    "she runs a hot bath", "he runs his fingers through his hair", "punches in the pin code",
    "kicks back in an armchair", "kick-starts the scooter", "rolls out the pastry",
    "rolls up his sleeves", "spins a plate on a stick", "waves a chequered flag",
    "calls her mum on the phone", "flips a pancake", "raises a glass to the bride",
    "bows the cello", "swims the front crawl", "walks a tightrope"])
def test_a_known_word_in_another_sense_is_unknown(prompt):
    from backend.text.known import check_prompt
    assert check_prompt(prompt).unknown, prompt


@pytest.mark.parametrize("prompt", [
    "runs to the bus stop", "punches the heavy bag", "kicks the ball hard",
    "rolls forward on the mat", "spins around on the spot", "waves both hands at a friend",
    "calls his friend over", "does a backflip", "raises both hands", "bows to the queen",
    "crawls on all fours", "walks the dog", "dances with a partner", "runs a marathon"])
def test_the_same_words_in_their_own_sense_stay_known(prompt, every_action_model):
    from backend.text.known import check_prompt
    assert not check_prompt(prompt, every_action_model).unknown, prompt


@pytest.mark.parametrize("prompt", [
    "the goalkeeper trips over his own feet and falls", "she faints at the sight of blood",
    "a drunk slips on the wet floor", "jumps out of her skin when the phone rings",
    "they fist-bump after the match", "tai chi by the lake at dawn",
    "moonwalks backwards across the stage", "hopping on one leg to the door",
    "a bungee jump from the crane", "jogs her memory by reading the note again",
    "his skin crawls at the thought", "the shadows dance on the wall",
    "punches down the bread dough"])
def test_round6_unknown_motions_are_flagged(prompt):
    assert check_prompt(prompt).unknown, prompt


@pytest.mark.parametrize("prompt,action", [
    ("picks herself up after falling on the ice", "get-up"),
    ("takes a deep bow as the curtain falls", "bow"),
    ("rolls forward to break the fall", "roll")])
def test_round6_rules_keep_known_motions(prompt, action, every_action_model):
    report = check_prompt(prompt, every_action_model)
    assert not report.unknown and action in dict(report.known_actions), report
