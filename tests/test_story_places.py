"""Place words of a story resolved against real scenes (backend/models/story/places.py), and
where the character stands to sit on, reach or be at an object."""
from __future__ import annotations

import math

import numpy as np
import pytest

from backend.motion.path import SmoothPath, check_path
from backend.models.story.places import (name_words, resolve_place, route, singular,
                                         stand_point)
from backend.models.story.planner import OccupancyMap, PlanError, path_clearance, plan_path
from backend.models.story.schema import Scene, front_of, wrap_degrees

R = 0.3


def scene_of(*objects, start=(0.0, -4.0)):
    return Scene.from_dict({"objects": list(objects), "character": {"position": list(start)}})


def obj(name, x=0.0, y=0.0, sx=0.5, sy=0.5, yaw=0.0, sz=0.9, obstacle=None):
    d = {"name": name, "position": [x, y, 0.0], "size": [sx, sy, sz], "yaw": yaw}
    if obstacle is not None:
        d["obstacle"] = obstacle
    return d


def named(*names):
    return scene_of(*[obj(n, x=3.0 * i) for i, n in enumerate(names)])


# ----------------------------------------------------------------------------- words
def test_name_words_split_blender_names():
    assert name_words("Chair_Red.001") == ["chair", "red"]
    assert name_words("TVStand") == ["tv", "stand"]
    assert name_words("kitchen-door.012") == ["kitchen", "door"]
    assert name_words("Door.Kitchen") == ["door", "kitchen"]
    assert name_words("the Benches") == ["the", "bench"]
    assert [singular(w) for w in ("chairs", "sofas", "boxes", "shelves", "glass", "stairs")] == \
        ["chair", "sofa", "box", "shelf", "glass", "stair"]


@pytest.mark.parametrize("phrase, names, expected", [
    ("the chair", ["Sofa", "Chair", "Table"], "Chair"),
    ("the Sofa", ["Sofa", "Chair"], "Sofa"),
    ("chair", ["chair_wooden", "Lamp"], "chair_wooden"),
    ("the red chair", ["Chair", "RedChair", "BlueChair"], "RedChair"),
    ("the red chair", ["Chair", "Chair_Red", "Chair_Blue"], "Chair_Red"),
    ("the chair", ["Chair", "RedChair"], "Chair"),                 # fewest extra words
    ("the kitchen door", ["Door", "Door.Kitchen", "Door.Bedroom"], "Door.Kitchen"),
    ("the kitchen door", ["FrontDoor", "kitchen_door"], "kitchen_door"),
    ("the chairs", ["Chair.001", "Table"], "Chair.001"),
    ("the couch", ["Sofa", "Table"], "Sofa"),
    ("the settee", ["BigSofa", "Lamp"], "BigSofa"),
    ("the desk", ["Table", "Lamp"], "Table"),
    ("the desk", ["Table", "Desk"], "Desk"),                       # the word itself first
    ("the exit", ["Window", "Door"], "Door"),
    ("the doorway", ["Window", "MainDoor"], "MainDoor"),
    ("a seat", ["Table", "Stool"], "Stool"),
    ("the bench", ["ParkBench", "Table"], "ParkBench"),
    ("the armchair", ["Chair", "Armchair"], "Armchair"),
    ("the armchair", ["Chair", "Table"], "Chair"),
    ("the TV stand", ["TVStand", "TV"], "TVStand"),
    ("the Chair.002", ["Chair.001", "Chair.002"], "Chair.002"),
    ("to the window", ["Window_Big", "Door"], "Window_Big"),
    ("the bookcase", ["Shelf.003", "Lamp"], "Shelf.003"),
    ("the bookshelves", ["Lamp", "Bookshelf"], "Bookshelf"),
])
def test_resolve_place(phrase, names, expected):
    name, warnings = resolve_place(phrase, named(*names))
    assert name == expected
    assert warnings == []


def test_equal_matches_take_the_nearest_and_name_every_candidate():
    scene = scene_of(obj("Chair.001", x=-3), obj("Chair.002", x=4), obj("Table", x=0))
    name, warnings = resolve_place("the chair", scene, near=(3.0, 0.5))
    assert name == "Chair.002"
    assert len(warnings) == 1
    assert "Chair.001" in warnings[0] and "Chair.002" in warnings[0] and "nearest" in warnings[0]
    name, _ = resolve_place("the chair", scene, near=(-2.0, 0.0))
    assert name == "Chair.001"
    name, warnings = resolve_place("the chair", scene)               # no position: by name
    assert name == "Chair.001" and "first by name" in warnings[0]


def test_a_missing_describing_word_is_reported():
    name, warnings = resolve_place("the red chair", named("Chair", "Table"))
    assert name == "Chair"
    assert len(warnings) == 1 and "'red'" in warnings[0] and "Chair" in warnings[0]


def test_no_match_names_the_phrase_and_the_objects():
    name, warnings = resolve_place("the fridge", named("Chair", "Table", "Lamp"))
    assert name is None
    assert len(warnings) == 1
    assert "'the fridge'" in warnings[0]
    assert all(n in warnings[0] for n in ("Chair", "Table", "Lamp"))
    many = named(*[f"Box{i:02d}" for i in range(30)])
    _, warnings = resolve_place("the piano", many)
    assert "Box00" in warnings[0] and "..." in warnings[0] and "Box29" not in warnings[0]
    assert resolve_place("  ", many)[0] is None
    assert resolve_place("the", many)[0] is None


# ----------------------------------------------------------------------------- stand points
@pytest.mark.parametrize("yaw", [0.0, 90.0, 180.0, -90.0, 30.0])
def test_sit_stands_in_front_of_the_seat_with_its_back_to_it(yaw):
    chair = obj("Chair", 1.0, 1.0, sx=0.5, sy=0.6, yaw=yaw)
    scene = scene_of(chair, obj("Table", -3.0, 3.0, sx=1.5, sy=1.0))
    expected = np.array([1.0, 1.0]) + np.array(front_of(yaw)) * (0.3 + 0.15)
    for ignore in ((), ("Chair",)):                 # the seat in the map or not: same spot
        occ = OccupancyMap.from_scene(scene, ignore=ignore)
        point, facing, warnings = stand_point(scene.get("Chair"), "sit", (0.0, -4.0), occ)
        assert warnings == []
        np.testing.assert_allclose(point, expected, atol=1e-9)
        assert wrap_degrees(facing - yaw) == pytest.approx(0.0, abs=1e-9)
    # the walk there goes round the chair (which faces away from the start at yaw 180)
    occ = OccupancyMap.from_scene(scene)
    pts, facing, warnings = route(scene.get("Chair"), "sit", scene.start, occ)
    assert warnings == []
    np.testing.assert_allclose(pts[0], scene.start)
    np.testing.assert_allclose(pts[-1], expected, atol=1e-9)
    assert wrap_degrees(facing - yaw) == pytest.approx(0.0, abs=1e-9)
    check_path(np.c_[pts, np.zeros(len(pts))])
    assert path_clearance(pts[:-1], scene) >= R - occ.cell              # body clear to the seat
    assert path_clearance(pts, scene) == pytest.approx(0.15, abs=1e-6)  # the last step
    rounded = SmoothPath(np.c_[pts, np.zeros(len(pts))]).xyz[:, :2]
    assert path_clearance(rounded, scene) > 0.1                          # never through it
    assert path_clearance(rounded, scene, ignore=("Chair",)) >= R - occ.cell


def test_sit_facing_a_wall_moves_to_the_nearest_free_spot():
    # the chair's front (-Y) is 0.35 m from a wall: no room for the body in front of it
    chair = obj("Chair", 0.0, 0.0, sx=0.5, sy=0.5)
    wall = obj("Wall", 0.0, -0.65, sx=4.0, sy=0.1, sz=2.5)
    scene = scene_of(chair, wall, start=(0.0, 3.0))
    occ = OccupancyMap.from_scene(scene, ignore=("Chair",))
    point, facing, warnings = stand_point(scene.get("Chair"), "sit", (0.0, 3.0), occ)
    assert len(warnings) == 1 and "'Chair'" in warnings[0] and "'Wall'" in warnings[0]
    assert occ.exact_clearance(point[None])[0] >= R                    # clear of the wall
    assert path_clearance(point[None], scene, ignore=("Wall",)) >= 0.15 - 1e-9  # not on it
    moved = np.linalg.norm(point - (0.0, -0.4))
    assert f"{moved:.2f} m away" in warnings[0]
    assert facing == 0.0


@pytest.mark.parametrize("ignore", [(), ("Chair",)])
def test_route_to_a_seat_facing_a_wall(ignore):
    chair = obj("Chair", 0.0, 0.0, sx=0.5, sy=0.5)
    wall = obj("Wall", 0.0, -0.65, sx=4.0, sy=0.1, sz=2.5)
    scene = scene_of(chair, wall, start=(0.0, 3.0))
    occ = OccupancyMap.from_scene(scene, ignore=ignore)
    point, _, _ = stand_point(scene.get("Chair"), "sit", (0.0, 3.0), occ)
    pts, facing, warnings = route(scene.get("Chair"), "sit", (0.0, 3.0), occ)
    assert len(warnings) == 1 and "blocked by 'Wall'" in warnings[0]    # only the moved spot
    np.testing.assert_allclose(pts[-1], point)
    check_path(np.c_[pts, np.zeros(len(pts))])
    assert path_clearance(pts, scene, ignore=("Chair",)) >= R - occ.cell
    assert path_clearance(pts, scene) >= 0.1 - 1e-9                     # never on the seat
    assert facing == 0.0


@pytest.mark.parametrize("came_from, side", [((-4.0, 0.0), (-1, 0)), ((0.0, 4.0), (0, 1)),
                                             ((4.0, 0.2), (1, 0)), ((0.3, -4.0), (0, -1))])
def test_reach_stands_on_the_near_side_facing_the_centre(came_from, side):
    table = obj("Table", 0.0, 0.0, sx=2.0, sy=1.0, sz=0.75)
    scene = scene_of(table, start=came_from)
    occ = OccupancyMap.from_scene(scene)
    point, facing, warnings = stand_point(scene.get("Table"), "reach", came_from, occ)
    assert warnings == []
    gap = path_clearance(point[None], scene)
    assert gap == pytest.approx(R + 0.05, abs=1e-9)                    # just clear of it
    assert np.sign(point[0]) == side[0] or side[0] == 0
    assert np.sign(point[1]) == side[1] or side[1] == 0
    to_centre = -point / np.linalg.norm(point)
    np.testing.assert_allclose(front_of(facing), to_centre, atol=1e-9)
    pts, warnings = plan_path(occ, came_from, point, "the Table")
    assert warnings == [] and path_clearance(pts, scene) >= R - occ.cell


def test_reach_a_rotated_box_from_a_corner_direction():
    crate = obj("Crate", 0.0, 0.0, sx=1.0, sy=1.0, yaw=45.0)
    scene = scene_of(crate, start=(3.0, 0.0))
    occ = OccupancyMap.from_scene(scene)
    point, facing, warnings = stand_point(scene.get("Crate"), "reach", (3.0, 0.0), occ)
    # the corner at (sqrt(0.5), 0) faces the character: it stands R + 5 cm beyond it
    np.testing.assert_allclose(point, (math.sqrt(0.5) + R + 0.05, 0.0), atol=1e-9)
    assert facing == pytest.approx(-90.0)                              # facing -X
    assert warnings == []


def test_reach_blocked_by_a_neighbour_moves_and_warns():
    table = obj("Table", 0.0, 0.0, sx=1.0, sy=1.0)
    cabinet = obj("Cabinet", -1.0, 0.0, sx=0.4, sy=2.0, sz=2.0)      # against the west side
    scene = scene_of(table, cabinet, start=(-4.0, 0.0))
    occ = OccupancyMap.from_scene(scene)
    point, facing, warnings = stand_point(scene.get("Table"), "reach", (-4.0, 0.0), occ)
    assert len(warnings) == 1 and "'Table'" in warnings[0] and "'Cabinet'" in warnings[0]
    assert occ.exact_clearance(point[None])[0] >= R
    d = np.array(front_of(facing))
    np.testing.assert_allclose(d, -point / np.linalg.norm(point), atol=1e-9)


def test_at_a_rug_keeps_its_position_and_the_facing():
    rug = obj("Rug", 2.0, 1.0, sx=2.0, sy=1.5, sz=0.01)                # flat: not an obstacle
    empty = obj("Marker", -2.0, 1.0, sx=0.0, sy=0.0, sz=0.0)
    scene = scene_of(rug, empty, obj("Table", 0.0, 3.0, sx=1.0, sy=1.0))
    assert not scene.get("Rug").obstacle and not scene.get("Marker").obstacle
    occ = OccupancyMap.from_scene(scene)
    for name, where in (("Rug", (2.0, 1.0)), ("Marker", (-2.0, 1.0))):
        point, facing, warnings = stand_point(scene.get(name), "at", (0.0, -4.0), occ)
        np.testing.assert_allclose(point, where)
        assert facing is None and warnings == []


def test_at_a_spot_under_a_table_moves_out_and_at_an_obstacle_reaches_it():
    scene = scene_of(obj("Table", 0.0, 0.0, sx=1.2, sy=1.2),
                     obj("Rug", 0.0, 0.0, sx=3.0, sy=3.0, sz=0.01))
    occ = OccupancyMap.from_scene(scene)
    point, facing, warnings = stand_point(scene.get("Rug"), "at", (0.0, -4.0), occ)
    assert len(warnings) == 1 and "'Rug'" in warnings[0] and "'Table'" in warnings[0]
    assert occ.exact_clearance(point[None])[0] >= R and facing is None
    point, facing, warnings = stand_point(scene.get("Table"), "at", (0.0, -4.0), occ)
    assert facing is not None and point[1] < -0.6                       # reached from the south


def test_bad_purpose_and_hemmed_in_spots_raise():
    scene = scene_of(obj("Chair"))
    occ = OccupancyMap.from_scene(scene)
    with pytest.raises(PlanError, match="unknown purpose 'dance' for 'Chair'"):
        stand_point(scene.get("Chair"), "dance", (0, -4), occ)
    cage = [obj("Chair", 0, 0), obj("BigBlock", 0, 0, sx=9.0, sy=9.0, sz=1.0)]
    scene = scene_of(*cage, start=(0, -6))
    occ = OccupancyMap.from_scene(scene, ignore=("Chair",))
    with pytest.raises(PlanError, match="no free spot .* 'Chair'"):
        stand_point(scene.get("Chair"), "sit", (0, -6), occ)
