"""Story-to-motion floor planning (backend/models/story/planner.py) on real scenes: every path
keeps the body off the obstacles, as drawn and as the follower rounds it (SmoothPath)."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest

from backend.motion.path import SmoothPath, check_path
from backend.models.story.planner import (OccupancyMap, PlanError, box_distance,
                                          footprint_boxes, path_clearance, plan_path,
                                          sample_polyline)
from backend.models.story.schema import Scene

R = 0.3          # body radius used throughout
CELL = 0.05


def box(name, x, y, sx, sy, yaw=0.0, sz=1.0, obstacle=None):
    d = {"name": name, "position": [x, y, 0.0], "size": [sx, sy, sz], "yaw": yaw}
    if obstacle is not None:
        d["obstacle"] = obstacle
    return d


def wall(name, x0, y0, x1, y1, thick=0.1):
    """A wall along an axis-aligned line from (x0, y0) to (x1, y1)."""
    return box(name, (x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0) + thick, abs(y1 - y0) + thick,
               sz=2.5)


def room(half=10.0, extra=(), start=(0.0, 0.0)):
    walls = [wall("WallSouth", -half, -half, half, -half),
             wall("WallNorth", -half, half, half, half),
             wall("WallWest", -half, -half, -half, half), wall("WallEast", half, -half, half, half)]
    return Scene.from_dict({"objects": walls + list(extra),
                            "character": {"position": list(start)}})


def assert_walkable(scene, occ, pts, start, goal, ignore=()):
    """The checks every planned path must pass."""
    assert pts.ndim == 2 and pts.shape[1] == 2
    np.testing.assert_allclose(pts[0], start, atol=1e-9)
    np.testing.assert_allclose(pts[-1], goal, atol=1e-9)
    check_path(np.concatenate([pts, np.zeros((len(pts), 1))], 1))   # raises if not walkable
    drawn = path_clearance(pts, scene, ignore=ignore)
    assert drawn > 0.0
    assert drawn >= R - CELL, f"the drawn path passes {drawn:.3f} m from an obstacle"
    samples = sample_polyline(pts, 0.01)
    assert not occ.blocked[tuple(occ.index_of(samples)[:, ::-1].T)].any()
    rounded = SmoothPath(np.concatenate([pts, np.zeros((len(pts), 1))], 1)).xyz[:, :2]
    rounded_clear = path_clearance(rounded, scene, ignore=ignore, step=0.01)
    assert rounded_clear > 0.0
    return drawn, rounded_clear


def test_box_distance_is_signed_and_follows_yaw():
    scene = Scene.from_dict({"objects": [box("B", 1, 2, 2.0, 1.0, yaw=90)]})
    boxes = footprint_boxes(scene.objects)
    # turned by 90 degrees, the 2 m side lies along Y: (1, 3) is on its edge, (2, 2) 0.5 m out
    d = box_distance(np.array([[1.0, 2.0], [1.0, 3.0], [2.0, 2.0], [1.0, 4.0], [2.5, 3.0]]), boxes)
    np.testing.assert_allclose(d[:, 0], [-0.5, 0.0, 0.5, 1.0, math.hypot(1.0, 0.0)], atol=1e-12)


def test_map_blocks_inflated_rotated_footprints():
    scene = Scene.from_dict({"objects": [box("Crate", 0, 0, 2.0, 0.4, yaw=45)]})
    occ = OccupancyMap.from_scene(scene, cell=CELL, body_radius=R)
    along = np.array(front_perp(45)) * 0.9            # inside, along the long side
    across = np.array([-along[1], along[0]])           # 0.9 m across: 0.7 m off the box
    assert occ.clearance_at(along[None])[0] < 0
    assert occ.clearance_at(across[None])[0] > R
    assert occ.blocked[tuple(occ.index_of((along * 0.4 + across * 0.35 / 0.9)[None])[0, ::-1])]
    # the grid covers the object and the character plus the 2 m margin
    lo = occ.origin
    hi = occ.origin + occ.cell * (np.array(occ.shape[::-1]) - 1)
    assert np.all(lo <= -2.0) and np.all(hi >= 2.0)
    # ignored: no obstacle to the body, but its footprint plus a 10 cm skin stays blocked
    ignored = OccupancyMap.from_scene(scene, ignore=("Crate",))
    cell_of = lambda xy: tuple(occ.index_of(np.asarray(xy)[None])[0, ::-1])
    assert ignored.blocked[cell_of(along)]
    assert not ignored.blocked[cell_of(along * 0.4 + across * 0.35 / 0.9)]
    # blocked areas: the box grown by the body radius, and by the skin only
    area = lambda grow: 2.0 * 0.4 + 2 * grow * (2.0 + 0.4) + math.pi * grow ** 2
    assert occ.blocked.sum() * CELL ** 2 == pytest.approx(area(R), rel=0.05)
    assert ignored.blocked.sum() * CELL ** 2 == pytest.approx(area(0.1), rel=0.05)
    assert ignored.nearest_obstacle(across)[0] == "Crate"


def front_perp(yaw):
    r = math.radians(yaw)
    return math.cos(r), math.sin(r)                    # the object's local X axis


def test_table_between_start_and_goal():
    table = box("Table", 0, 0, 2.0, 1.2, yaw=20, sz=0.75)
    scene = room(extra=[table], start=(-5, 0.1))
    occ = OccupancyMap.from_scene(scene, cell=CELL, body_radius=R)
    start, goal = np.array([-5.0, 0.1]), np.array([5.0, -0.1])
    assert path_clearance(np.stack([start, goal]), scene) < 0      # the straight line is blocked
    pts, warnings = plan_path(occ, start, goal, "the Door")
    assert warnings == []
    drawn, rounded = assert_walkable(scene, occ, pts, start, goal)
    assert rounded >= R - CELL
    assert 3 <= len(pts) <= 5, pts                                  # a few straight legs
    length = np.sum(np.linalg.norm(np.diff(pts, axis=0), axis=1))
    assert length < 10.0 * 1.15


def test_l_shaped_corridor():
    # a corridor 1.4 m wide going east along y in [-0.7, 0.7], then north along x in [4.3, 5.7]
    walls = [wall("CorridorSouth", -1, -0.7, 5.7, -0.7), wall("CorridorNorth", -1, 0.7, 4.3, 0.7),
             wall("CorridorEast", 5.7, -0.7, 5.7, 6), wall("CorridorWest", 4.3, 0.7, 4.3, 6),
             wall("CorridorEnd", -1, -0.7, -1, 0.7)]
    scene = Scene.from_dict({"objects": walls, "character": {"position": [0, 0]}})
    occ = OccupancyMap.from_scene(scene, cell=CELL, body_radius=R)
    start, goal = np.array([0.0, 0.0]), np.array([5.0, 5.0])
    pts, warnings = plan_path(occ, start, goal, "the Stairs")
    assert warnings == []
    drawn, rounded = assert_walkable(scene, occ, pts, start, goal)
    assert rounded >= R - CELL
    assert len(pts) >= 3                                            # it turns the corner
    assert np.all(pts[:, 0] < 5.7) and np.all(pts[:, 1] > -0.7)     # and stays inside


@pytest.mark.parametrize("free_width, jog", [(0.62, 0.7), (0.66, 1.0)])
def test_narrow_s_bend_keeps_the_rounded_walk_off_the_walls(free_width, jog):
    """A corridor barely wider than the body (2 x 0.3 m) going east, north by `jog`, east."""
    h = free_width / 2 + 0.05                                    # walls are 0.1 m thick
    walls = [wall("A", -1, -h, 3 + h, -h), wall("B", -1, h, 3 - h, h),
             wall("C", 3 + h, -h, 3 + h, jog - h), wall("D", 3 - h, h, 3 - h, jog + h),
             wall("E", 3 - h, jog + h, 7, jog + h), wall("F", 3 + h, jog - h, 7, jog - h),
             wall("G", -1, -h, -1, h)]
    scene = Scene.from_dict({"objects": walls, "character": {"position": [0, 0]}})
    occ = OccupancyMap.from_scene(scene)
    pts, warnings = plan_path(occ, (0, 0), (6, jog), "the Stairs")
    assert warnings == []
    _, rounded = assert_walkable(scene, occ, pts, (0, 0), (6, jog))
    assert rounded >= R - CELL
    assert np.all(np.abs(pts[:, 1] - np.clip(pts[:, 1], -h, jog + h)) == 0)   # inside


def test_goal_inside_a_box_stops_short_and_says_so():
    scene = room(half=6, extra=[box("Wardrobe", 2, 2, 1.0, 1.0, yaw=30, sz=2.0)], start=(-3, -3))
    occ = OccupancyMap.from_scene(scene)
    goal = np.array([2.0, 2.0])
    pts, warnings = plan_path(occ, (-3, -3), goal, "the Wardrobe")
    assert len(warnings) == 1
    assert "the Wardrobe" in warnings[0] and "inside 'Wardrobe'" in warnings[0]
    short = np.linalg.norm(pts[-1] - goal)
    assert f"{short:.2f} m short" in warnings[0]
    assert R <= short <= 0.5 * math.sqrt(2) + R + CELL              # just outside the body's reach
    assert_walkable(scene, occ, pts, (-3, -3), pts[-1])


def test_walled_off_goal_stops_at_nearest_reachable_spot():
    cage = [wall("CageS", 2, 2, 5, 2), wall("CageN", 2, 5, 5, 5), wall("CageW", 2, 2, 2, 5),
            wall("CageE", 5, 2, 5, 5)]
    scene = room(half=8, extra=cage, start=(-4, -4))
    occ = OccupancyMap.from_scene(scene)
    goal = np.array([3.5, 3.5])
    pts, warnings = plan_path(occ, (-4, -4), goal, "the Safe")
    assert len(warnings) == 1 and "the Safe" in warnings[0] and "walled off" in warnings[0]
    short = np.linalg.norm(pts[-1] - goal)
    assert f"{short:.2f} m short" in warnings[0]
    # the cage's outside is at least 1.5 m + wall + body from the goal; the nearest spot is there
    assert 1.5 + 0.05 + R - CELL <= short <= 1.5 + 0.05 + R + 2 * CELL
    assert_walkable(scene, occ, pts, (-4, -4), pts[-1])


def test_character_shut_in_a_closet_stays_in_it():
    h = 0.35 + 0.05                        # 0.7 m of free floor inside 0.1 m walls
    closet = [wall("ClosetS", -h, -h, h, -h), wall("ClosetN", -h, h, h, h),
              wall("ClosetW", -h, -h, -h, h), wall("ClosetE", h, -h, h, h)]
    scene = room(half=5, extra=closet, start=(0.0, 0.0))
    occ = OccupancyMap.from_scene(scene)
    pts, warnings = plan_path(occ, (0.0, 0.0), (3.0, 3.0), "the Sofa")
    assert len(warnings) == 1 and "the Sofa" in warnings[0] and "walled off" in warnings[0]
    assert np.all(np.abs(pts) <= 0.05 + 1e-9)                    # still in the closet
    short = np.linalg.norm(pts[-1] - (3.0, 3.0))
    assert f"{short:.2f} m short" in warnings[0]


def test_rotated_obstacles_field():
    crates = [box(f"Crate{i}", x, y, 1.6, 0.5, yaw=yaw)
              for i, (x, y, yaw) in enumerate([(-2, -1, 45), (0, 1, -30), (2, -1, 60),
                                               (0, -2.5, 10), (4, 1.5, 90), (-4, 1.5, 135)])]
    scene = room(half=7, extra=crates, start=(-6, 0))
    occ = OccupancyMap.from_scene(scene)
    for goal in [(6, 0), (6, 5), (0, 5.5), (0, -0.3), (3, 0.5)]:
        pts, warnings = plan_path(occ, (-6, 0), goal, "the goal")
        assert warnings == [], (goal, warnings)
        _, rounded = assert_walkable(scene, occ, pts, (-6, 0), goal)
        assert rounded >= R - CELL


def test_random_rooms_always_give_walkable_paths():
    rng = np.random.default_rng(7)
    tight = 0
    for trial in range(12):
        crates = [box(f"Thing{i}", *rng.uniform(-5, 5, 2), *rng.uniform(0.3, 2.0, 2),
                      yaw=float(rng.uniform(-180, 180))) for i in range(10)]
        scene = room(half=7, extra=crates, start=(0, 0))
        occ = OccupancyMap.from_scene(scene)
        free = np.argwhere(~occ.blocked)
        a, b = free[rng.choice(len(free), 2, replace=False)]
        start, goal = occ.origin + CELL * a[::-1], occ.origin + CELL * b[::-1]
        pts, warnings = plan_path(occ, start, goal, f"goal {trial}")
        if any("walled off" in w for w in warnings):
            goal = pts[-1]
        tight += any("tight" in w for w in warnings)
        if len(pts) == 1:
            continue
        _, rounded = assert_walkable(scene, occ, pts, start, goal)
        if not any("tight" in w for w in warnings):
            assert rounded >= R - CELL
    assert tight <= 2


def test_start_inside_an_obstacle_moves_out_with_a_warning():
    scene = room(half=5, extra=[box("Table", 0, 0, 2, 1, sz=0.75)], start=(0.2, 0.1))
    occ = OccupancyMap.from_scene(scene)
    pts, warnings = plan_path(occ, (0.2, 0.1), (3, 3), "the Lamp")
    assert len(warnings) == 1 and "starts inside 'Table'" in warnings[0]
    assert occ.clearance_at(pts[:1])[0] >= R                       # the moved start is free
    assert pts[0][1] < 0 or pts[0][1] > 0                           # off the table's footprint
    moved = np.linalg.norm(pts[0] - (0.2, 0.1))
    assert f"moved {moved:.2f} m" in warnings[0]
    assert_walkable(scene, occ, pts, pts[0], (3, 3))


def test_start_equal_goal_is_an_empty_move():
    occ = OccupancyMap.from_scene(room(half=4))
    pts, warnings = plan_path(occ, (1.0, 1.0), (1.01, 1.0), "the Rug")
    assert pts.shape == (1, 2) and np.allclose(pts[0], (1.0, 1.0))
    assert warnings == ["already at the Rug: no walk needed"]


def test_bad_points_raise_plan_error_naming_the_place():
    occ = OccupancyMap.from_scene(room(half=4))
    with pytest.raises(PlanError, match="the Garden .* off the scene's map"):
        plan_path(occ, (0, 0), (40, 0), "the Garden")
    with pytest.raises(PlanError, match="the spot of the Door must be a floor point"):
        plan_path(occ, (0, 0), (float("nan"), 0), "the Door")
    with pytest.raises(PlanError, match="cell must be between"):
        OccupancyMap.from_scene(room(half=4), cell=0.0)


def test_ignored_seat_can_be_walked_up_to():
    chair = box("Chair", 0, 0, 0.5, 0.5, sz=0.9)
    scene = room(half=4, extra=[chair], start=(0, -3))
    in_front = (0.0, -0.25 - 0.15)                     # the chair faces -Y
    blocked, warnings = plan_path(OccupancyMap.from_scene(scene), (0, -3), in_front, "the Chair")
    assert any("Chair" in w and "cannot be reached" in w for w in warnings)
    occ = OccupancyMap.from_scene(scene, ignore=("Chair",))
    pts, warnings = plan_path(occ, (0, -3), in_front, "the Chair")
    assert warnings == []
    assert_walkable(scene, occ, pts, (0, -3), in_front, ignore=("Chair",))


@pytest.mark.parametrize("yaw", [0.0, 180.0, 90.0])
def test_walk_to_an_ignored_seat_goes_round_it_not_through(yaw):
    """The seat being sat on is ignored (its front spot is closer than the body radius), yet
    the walk from behind it must not cut through it."""
    chair = box("Chair", 0, 0, 0.5, 0.5, yaw=yaw, sz=0.9)
    scene = room(half=4, extra=[chair], start=(0, 3))
    occ = OccupancyMap.from_scene(scene, ignore=("Chair",))
    front = np.array([math.sin(math.radians(yaw)), -math.cos(math.radians(yaw))])
    goal = front * (0.25 + 0.15)
    pts, warnings = plan_path(occ, (0, 3), goal, "the Chair")
    assert warnings == []
    assert_walkable(scene, occ, pts, (0, 3), goal, ignore=("Chair",))
    rounded = SmoothPath(np.concatenate([pts, np.zeros((len(pts), 1))], 1)).xyz[:, :2]
    assert path_clearance(pts, scene) >= 0.1 - 1e-9               # the skin
    assert path_clearance(rounded, scene) > 0.0


def test_path_clearance_measures_the_gap():
    scene = Scene.from_dict({"objects": [box("Block", 0, 0, 1.0, 1.0)]})
    assert path_clearance([[-3, 2], [3, 2]], scene) == pytest.approx(1.5, abs=1e-9)
    assert path_clearance([[-3, 0.2], [3, 0.2]], scene) == pytest.approx(-0.3, abs=1e-9)
    assert path_clearance([[-3, 0.2], [3, 0.2]], scene, ignore=("Block",)) == math.inf
    assert path_clearance([[0.0, -1.5]], scene) == pytest.approx(1.0)      # one point
    assert path_clearance(np.zeros((0, 2)), scene) == math.inf             # no points


def test_benchmark_20m_room_plan_time():
    furniture = [box("Table", 0, 0, 2.0, 1.2, yaw=20), box("Sofa", -5, 4, 2.2, 0.9, yaw=180),
                 box("Shelf", 6, -3, 0.4, 3.0), box("Bed", 5, 6, 2.0, 1.6, yaw=90),
                 wall("Partition", -3, -10, -3, 2)]
    scene = room(half=10, extra=furniture, start=(-8, -8))
    t0 = time.perf_counter()
    occ = OccupancyMap.from_scene(scene)
    t1 = time.perf_counter()
    times = []
    for goal in [(8, 8), (-8, 8), (8, -8), (0, -5), (-5, 2.5)]:
        t = time.perf_counter()
        pts, warnings = plan_path(occ, (-8, -8), goal, "goal")
        times.append(time.perf_counter() - t)
        assert warnings == []
        assert_walkable(scene, occ, pts, (-8, -8), goal)
    print(f"\n[benchmark] 20 m room, {occ.shape[1]}x{occ.shape[0]} cells of 5 cm: map "
          f"{(t1 - t0) * 1000:.1f} ms, plans {', '.join(f'{x * 1000:.1f}' for x in times)} ms")
