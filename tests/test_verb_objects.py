"""Known motion verbs whose object makes them another activity (backend/text/verb_objects.py).
The prompts are written for this test, not taken from any prompt set or training file."""
import pytest

from backend.text.known import check_prompt
from backend.text.verb_objects import keeps_known_object, other_sense_object


@pytest.mark.parametrize("clause, used", [
    ("she runs the sprinkler over the lawn", "runs the sprinkler"),
    ("he jumps the tram without a ticket", "jumps the tram"),
    ("the kid rolls a snowball across the yard", "rolls a snowball"),
    ("grandma spins the lazy susan", "spins the lazy susan"),
    ("he raises the drawbridge", "raises the drawbridge"),
    ("the painter dribbles varnish on the floor", "dribbles varnish"),
    ("she guides the kite through the wind", "guides the kite"),
    ("the umpire calls a foul", "calls a foul"),
    ("he flips the mattress", "flips the mattress"),
    ("the mechanic gets up the ramp", "gets up the ramp"),
    ("the violinist bows the last note", "bows the last note"),
    ("the manager slashes the budget", "slashes the budget"),
])
def test_an_object_outside_the_verb_s_sense_is_another_activity(clause, used):
    assert other_sense_object(clause) == used


@pytest.mark.parametrize("clause", [
    "she runs the last lap", "he runs 10k every morning", "she sprints the 200m",
    "the dog jumps the ditch", "he jumps over the rope", "she rolls over on the mat",
    "he spins around to look", "the girl raises her left hand", "he lifts both arms up",
    "she raises a torch in her right hand", "he dribbles the basketball down the court",
    "he dribbles quickly past the defender", "the usher guides the guests to their seats",
    "she calls her brother over", "he bows his head politely", "the knight slashes the dragon",
    "he gets up off the ground", "a man walks the dog", "she kicks the can down the road",
])
def test_the_known_motion_with_its_own_objects_is_left_alone(clause):
    assert other_sense_object(clause) is None


def test_allowed_objects_are_evidence_for_the_known_motion():
    assert keeps_known_object("a woman runs a half marathon")
    assert keeps_known_object("he jumps the hurdle")
    assert not keeps_known_object("she runs the sprinkler")
    assert not keeps_known_object("he walks home")


def test_the_checker_flags_them_and_names_the_phrase(every_action_model):
    report = check_prompt("an old man rolls a snowball across the yard", every_action_model)
    assert report.unknown == ["rolls a snowball"]
    assert not check_prompt("an old man rolls over on the grass", every_action_model).unknown
    assert not check_prompt("a sprinter runs the last lap and raises both arms").unknown
