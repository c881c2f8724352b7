"""The offline story scheduler (backend/models/story/schedule.py) on stories written for these
tests (the example set in assets/stories is the measurement set: not used here)."""
from __future__ import annotations

import pytest

from backend.models.story.schedule import (MAX_STORY_CHARS, ScheduleError, offline_schedule,
                                           split_sentences)
from backend.models.story.schema import Scene, Schedule, SchemaError

ROOM = Scene.from_dict({"objects": [
    {"name": "Chair.001", "position": [2.0, -3.0, 0.0], "yaw": 90, "size": [0.5, 0.5, 0.9]},
    {"name": "Door", "position": [-3.0, 0.0, 0.0], "yaw": -90, "size": [1.0, 0.1, 2.1]},
    {"name": "Sofa", "position": [0.0, 3.0, 0.0], "yaw": 180, "size": [2.0, 0.9, 0.8]},
    {"name": "Window", "position": [4.0, 0.0, 1.0], "yaw": 90, "size": [1.2, 0.1, 1.2],
     "obstacle": False},
    {"name": "Table", "position": [0.0, -1.5, 0.0], "size": [1.6, 0.9, 0.75]}],
    "character": {"position": [0.0, 0.0], "yaw": 0.0}})


def plan(story: str) -> Schedule:
    return offline_schedule(story, ROOM, check=False)


def kinds(s: Schedule) -> list[tuple]:
    return [(g.kind, g.action if g.kind == "pose" else None, g.place) for g in s.segments]


def test_walk_sit_wave_then_back_to_the_door():
    s = plan("A tired man walks to the chair and sits down. After a while he stands up. "
             "Then he goes back to the door and waves.")
    assert kinds(s) == [("move", None, "Chair.001"), ("pose", "sit", "Chair.001"),
                        ("pose", "sit", "Chair.001"), ("pose", "stand", None),
                        ("move", None, "Door"), ("act", None, "Door")]
    assert all(g.style == "exhausted" for g in s.segments)     # "tired" carried through
    assert s.segments[0].action == "a tired man walks forward"
    assert s.segments[-1].action == "a tired man waves"
    assert [g.sentence for g in s.segments] == [0, 0, 1, 1, 2, 2]


def test_synonym_places_speed_gait_and_duration():
    s = plan("She jogs over to the couch. She sits on the sofa for 5 seconds. "
             "She strolls slowly to the table.")
    move, sit, stand, move2 = s.segments
    assert (move.kind, move.place, move.gait) == ("move", "Sofa", "run")
    assert (sit.action, sit.seconds) == ("sit", 5.0)
    assert stand.action == "stand"                      # getting up is made, not skipped
    assert (move2.place, move2.speed) == ("Table", 0.7)


def test_while_makes_an_overlay_and_gestures_while_seated_stay_seated():
    s = plan("He walks to the door while waving. Then he sits on the sofa and waves.")
    assert s.segments[0].kind == "move" and s.segments[0].overlay == "a person waves"
    assert kinds(s)[1:] == [("move", None, "Sofa"), ("pose", "sit", "Sofa"),
                            ("pose", "sit", "Sofa")]
    assert s.segments[-1].overlay == "a person waves"


def test_turns_and_facing():
    s = plan("He turns to the window. Then he turns around. He looks at the sofa.")
    turn1, turn2, turn3 = s.segments
    assert turn1.facing == "Window"
    assert isinstance(turn2.facing, float)
    assert abs(((turn2.facing - 90.0) + 180) % 360 - 180) > 150   # the window was at +X: 90
    assert turn3.facing == "Sofa"


def test_unknown_place_warns_and_walks_forward_instead():
    s = plan("He walks to the fridge. He bows.")
    assert s.segments[0].kind == "act" and "forward" in s.segments[0].action
    assert any("fridge" in w for w in s.warnings)


def test_unknown_action_is_flagged_by_the_prompt_checker():
    s = offline_schedule("He walks to the table. He juggles three balls.", ROOM, check=True)
    assert any("juggl" in w for w in s.warnings), s.warnings


@pytest.mark.parametrize("story", ["", "   ", "\n\n"])
def test_empty_story_is_refused_clearly(story):
    with pytest.raises(ScheduleError, match="empty"):
        plan(story)


def test_a_story_over_the_limit_is_refused_with_the_limit():
    story = "He walks to the door. " * (MAX_STORY_CHARS // 20)
    with pytest.raises(ScheduleError, match=f"{MAX_STORY_CHARS:,}"):
        plan(story)


def test_no_action_anywhere():
    with pytest.raises(ScheduleError, match="No action"):
        plan("The room is quiet. The lamp is on.")


def test_sentences():
    assert split_sentences("He walks. She waves!\nThey bow? Done;") == \
        ["He walks.", "She waves!", "They bow?", "Done;"]


def test_schedules_round_trip_and_reject_unknown_places():
    s = plan("He walks to the chair and sits down.")
    again = Schedule.from_dict(s.to_dict(), ROOM)
    assert again.to_dict() == s.to_dict()
    bad = s.to_dict()
    bad["segments"][0]["place"] = "Fridge"
    with pytest.raises(SchemaError, match="Fridge"):
        Schedule.from_dict(bad, ROOM)
    bad["segments"][0]["place"] = None
    with pytest.raises(SchemaError, match="no place"):
        Schedule.from_dict(bad, ROOM)


@pytest.mark.parametrize("scene, message", [
    ({"objects": "chair"}, "must be a list"),
    ({"objects": [{"name": "A", "position": [0, 0]}]}, "list of 3"),
    ({"objects": [{"name": "A", "position": [0, 0, float("nan")]}]}, "between"),
    ({"objects": [{"name": "A", "position": [0, 0, 0]}, {"name": "A", "position": [1, 0, 0]}]},
     "unique"),
    ({"objects": [{"name": "", "position": [0, 0, 0]}]}, "empty"),
    ({"character": {"yaw": "north"}}, "number"),
])
def test_bad_scenes_are_explained(scene, message):
    with pytest.raises(SchemaError, match=message):
        Scene.from_dict(scene)


def test_pronoun_places_clauses_negation_and_through():
    s = plan("He looks at the sofa. Then he walks over to it. When the bell rings, she runs "
             "out through the door. The guest does not come, so she runs to the table herself. "
             "He stops.")
    assert [(g.kind, g.place or g.facing) for g in s.segments] == [
        ("pose", "Sofa"), ("move", "Sofa"), ("move", "Door"), ("move", "Table"),
        ("pose", None)]
    assert s.segments[2].gait == "run" and s.segments[-1].action == "idle"
    assert not s.warnings


HALL = Scene.from_dict({"objects": [
    {"name": "Door.Back", "position": [-4.0, 2.0, 0.0], "yaw": -90, "size": [1.0, 0.1, 2.1]},
    {"name": "Door.Front", "position": [4.0, 2.0, 0.0], "yaw": 90, "size": [1.0, 0.1, 2.1]},
    {"name": "Chair.Head", "position": [0.0, 3.0, 0.0], "yaw": 180, "size": [0.5, 0.5, 0.9]},
    {"name": "Chair.001", "position": [1.0, 1.5, 0.0], "yaw": 0, "size": [0.5, 0.5, 0.9]},
    {"name": "Rug", "position": [0.0, -2.0, 0.0], "yaw": 0, "size": [3.0, 2.0, 0.01]},
    {"name": "LampPost", "position": [-2.0, -3.0, 0.0], "yaw": 0, "size": [0.2, 0.2, 3.0]}],
    "character": {"position": [0.0, 0.0], "yaw": 0.0}})


@pytest.mark.parametrize("story, place", [
    ("He swaggers up the street to the lamp post.", "LampPost"),
    ("She storms across the hall to the front door.", "Door.Front"),
    ("He drags himself over to the back door.", "Door.Back"),
    ("She hurries to the middle of the rug.", "Rug"),
    ("He walks to the chair at the head of the table.", "Chair.Head"),
    ("He bolts out through the back door.", "Door.Back"),
])
def test_travel_verbs_and_place_phrases(story, place):
    s = offline_schedule(story, HALL, check=False)
    assert s.segments[0].kind == "move" and s.segments[0].place == place, s.to_dict()


def test_turning_back_to_an_object_faces_it():
    s = offline_schedule("She walks to the rug. She turns back to the lamp post.", HALL,
                         check=False)
    assert s.segments[-1].facing == "LampPost"


def test_lying_down_where_the_character_went_lies_on_it():
    s = plan("He walks to the sofa and lies down.")
    assert kinds(s) == [("move", None, "Sofa"), ("pose", "lie", "Sofa")]
    s = plan("He walks to the table and lies down.")
    assert kinds(s) == [("move", None, "Table"), ("pose", "lie", None)]     # not on a table
