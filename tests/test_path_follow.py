"""Path following (backend/motion/path.py, pathfollow.py) with a real walk of the shipped mocap
library: on a straight line, an L with a 90-degree corner and a full circle the root stays
within 10 cm of the path on average, the body faces along it, the clip ends on the last
point, planted feet slide no more than in the source walk (at the same speed), and arrival
times are met within 2 frames. Bad paths and timings get a clear ValueError."""
import math

import numpy as np
import pytest

from backend.models.editing.path_eval import library_walk
from backend.motion import path as path_mod
from backend.motion import pathfollow as pf
from backend.motion import quat, timing
from backend.motion.footplant import planted_masks, planted_speed

MAX_MEAN_DISTANCE = 0.10       # m, root on the floor to the path
MAX_END_GAP = 0.05             # m, the last frame's root to the last point
MAX_FACING_DEG = 12.0          # mean |facing - path direction| (a walk sways its hips)
MAX_ARRIVAL_FRAMES = 2.0
SKATE_SLACK = 0.005            # m/s on top of the source's own planted-foot speed

CIRCLE = np.stack([2 * np.cos(a := np.linspace(0, 2 * np.pi, 181)), 2 * np.sin(a), 0 * a], 1)
PATHS = {
    "straight": np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 0.0]]),
    "L": np.array([[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [4.0, 4.0, 0.0]]),
    "circle": CIRCLE,
}


@pytest.fixture(scope="module")
def walk():
    return library_walk()


def _skate_of(clip):
    return planted_speed(clip, planted_masks(clip))


def _facing_error_deg(result, points) -> float:
    """Mean angle between the root's facing and the path's direction at its nearest point."""
    clip = result.clip
    forward = quat.rotate(clip.local_rotations[:, 0], np.array([0.0, -1.0, 0.0]))
    facing = np.arctan2(forward[:, 1], forward[:, 0])
    u = path_mod.progress_along(clip.root_translation, points)
    p = np.asarray(points)
    cum = path_mod.arc_lengths(p)
    seg = np.clip(np.searchsorted(cum, u, side="right") - 1, 0, len(p) - 2)
    d = p[seg + 1, :2] - p[seg, :2]
    along = np.arctan2(d[:, 1], d[:, 0])
    # Around a sharp corner the body turns before the polyline does: skip 0.5 m each side.
    seg_dir = np.arctan2(*(np.diff(p[:, 1::-1], axis=0).T))
    turns = np.abs(np.angle(np.exp(1j * np.diff(seg_dir))))
    corner = np.zeros(len(u), dtype=bool)
    for c, turn in zip(cum[1:-1], turns):
        if turn > math.radians(10):
            corner |= np.abs(u - c) < 0.5
    diff = np.angle(np.exp(1j * (facing - along)))
    return float(np.degrees(np.abs(diff[~corner])).mean())


@pytest.mark.parametrize("name", list(PATHS))
def test_follows_path_at_natural_speed(walk, name):
    points = PATHS[name]
    result = pf.follow_path_detailed(walk, points)
    clip = result.clip
    assert clip.fps == walk.fps and clip.skeleton.names == walk.skeleton.names
    length = path_mod.arc_lengths(points)[-1]
    # Natural speed: the clip lasts as long as the walk takes to cover the path.
    assert clip.seconds == pytest.approx(length / result.natural_speed, abs=2 / clip.fps)
    assert 1.0 < result.natural_speed < 1.8
    assert pf.mean_path_distance(clip, points) <= MAX_MEAN_DISTANCE
    assert np.linalg.norm(clip.root_translation[-1, :2] - points[-1, :2]) <= MAX_END_GAP
    assert np.linalg.norm(clip.root_translation[0, :2] - points[0, :2]) <= MAX_END_GAP
    assert _facing_error_deg(result, points) <= MAX_FACING_DEG
    # The hips stay at walking height (the feet reach the floor, nothing sinks or floats).
    assert np.abs(clip.root_translation[:, 2] - walk.root_translation[:, 2].mean()).max() < 0.1
    # Real data of the same speed: the walk itself, and the walk with its planted feet held
    # (what retime does at speed 1).
    same_speed = min(_skate_of(walk), _skate_of(timing.retime(walk, factor=1.0)))
    assert pf.foot_skate(result) <= same_speed + SKATE_SLACK


def test_circle_turns_all_the_way_round(walk):
    result = pf.follow_path_detailed(walk, CIRCLE)
    forward = quat.rotate(result.clip.local_rotations[:, 0], np.array([0.0, -1.0, 0.0]))
    turned = np.unwrap(np.arctan2(forward[:, 1], forward[:, 0]))
    assert abs(abs(turned[-1] - turned[0]) - 2 * math.pi) < math.radians(20)


# L: 4 m in 4 s (1 m/s, slower than the walk), then 4 m in 2.5 s (1.6 m/s, faster).
# Circle (12.57 m): a quarter in 2.5 s, the next quarter in 2.5 s, the half in 4 s.
@pytest.mark.parametrize("name, arrival", [("L", [(1, 4.0), (2, 6.5)]),
                                           ("circle", [(45, 2.5), (90, 5.0), (180, 9.0)])])
def test_arrival_times_are_met(walk, name, arrival):
    points = PATHS[name]
    result = pf.follow_path_detailed(walk, points, arrival=arrival)
    errors = pf.arrival_frame_errors(result, points)
    assert len(errors) == len(arrival) and max(errors) <= MAX_ARRIVAL_FRAMES, errors
    assert result.clip.num_frames == round(arrival[-1][1] * walk.fps) + 1
    assert pf.mean_path_distance(result.clip, points) <= MAX_MEAN_DISTANCE
    # Real data at the same speeds: the walk retimed to each segment's speed.
    u = path_mod.arc_lengths(points)
    times = [0.0] + [t for _, t in arrival]
    where = [0.0] + [u[i] for i, _ in arrival]
    shares = np.diff(where) / np.diff(times) / result.natural_speed
    same_speed = max(_skate_of(timing.retime(walk, factor=s)) for s in shares)
    assert pf.foot_skate(result) <= same_speed + SKATE_SLACK


def test_a_turning_gait_is_straightened_first(walk):
    """A walk that itself curves (say, one this module made along a half circle) still
    follows the new path: its own turn does not carry into every cycle."""
    arc = np.stack([3 * np.cos(a := np.linspace(0, np.pi, 100)), 3 * np.sin(a), 0 * a], 1)
    curved = pf.follow_path(walk, arc)
    points = np.array([(0, 0, 0), (4, 0, 0), (4, 3, 0), (1, 3, 0)], float)
    result = pf.follow_path_detailed(curved, points, arrival=[(1, 3.5), (2, 5.5)])
    assert pf.mean_path_distance(result.clip, points) <= MAX_MEAN_DISTANCE
    assert max(pf.arrival_frame_errors(result, points)) <= MAX_ARRIVAL_FRAMES
    assert pf.foot_skate(result) <= _skate_of(walk) + SKATE_SLACK


def test_time_of_the_first_point_starts_the_clip(walk):
    points = PATHS["straight"]
    a = pf.follow_path_detailed(walk, points, arrival=[(0, 2.0), (1, 7.0)])
    b = pf.follow_path_detailed(walk, points, arrival=[(1, 5.0)])
    assert a.clip.num_frames == b.clip.num_frames == round(5.0 * walk.fps) + 1
    assert np.allclose(a.clip.root_translation, b.clip.root_translation)
    assert max(pf.arrival_frame_errors(a, points)) <= MAX_ARRIVAL_FRAMES


def test_output_fps_and_path_height(walk):
    points = PATHS["straight"] + np.array([1.0, 2.0, 0.5])
    clip = pf.follow_path(walk, points, fps=24)
    assert clip.fps == 24
    assert abs(clip.root_translation[:, 2].mean() - walk.root_translation[:, 2].mean()
               - 0.5) < 0.05
    assert pf.mean_path_distance(clip, points) <= MAX_MEAN_DISTANCE


# --------------------------------------------------------------------------- path helpers
def test_path_measures():
    p = PATHS["L"]
    assert np.allclose(path_mod.arc_lengths(p), [0, 4, 8])
    d = path_mod.distance_to_path(np.array([[2.0, 1.0, 0], [5.0, 2.0, 0], [-1, 0, 0]]), p)
    assert np.allclose(d, [1.0, 1.0, 1.0])
    # On a closed circle, points tracked in order are not confused with the start.
    xy = CIRCLE[::10, :2] * 1.05
    u = path_mod.progress_along(xy, CIRCLE)
    assert np.all(np.diff(u) > 0) and u[-1] == pytest.approx(path_mod.arc_lengths(CIRCLE)[-1],
                                                              rel=1e-3)


def test_corners_are_rounded_but_close():
    sp = path_mod.SmoothPath(PATHS["L"])
    pos, ang = sp.at(sp.grid)
    assert np.allclose(pos[0], PATHS["L"][0]) and np.allclose(pos[-1], PATHS["L"][-1])
    assert path_mod.distance_to_path(pos, PATHS["L"]).max() < 0.1
    assert np.abs(np.diff(ang)).max() < math.radians(3)        # no snap at the corner


# ------------------------------------------------------------------------------ bad input
def _raises(match, *args, **kwargs):
    with pytest.raises(ValueError, match=match):
        pf.follow_path(*args, **kwargs)


def test_bad_paths(walk):
    before = (walk.local_rotations.copy(), walk.root_translation.copy())
    _raises(r"at least 2 points, got 1", walk, np.zeros((1, 3)))
    _raises(r"zero length", walk, np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]]))
    # A vertical line has no length on the floor either.
    _raises(r"zero length", walk, np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 2.0]]))
    figure = np.array([[0, 0, 0], [3, 3, 0], [3, 0, 0], [0, 3, 0]], float)
    _raises(r"crosses itself.*point 1 to point 2 meets point 3 to point 4", walk, figure)
    _raises(r"turns back on itself at empty 'B'", walk,
            np.array([[0, 0, 0], [3, 0, 0], [1, 0, 0]], float),
            labels=["empty 'A'", "empty 'B'", "empty 'C'"])
    _raises(r"\(N, 3\) array", walk, np.zeros((3, 4)))
    assert np.array_equal(walk.local_rotations, before[0])
    assert np.array_equal(walk.root_translation, before[1])


def test_bad_arrival_times(walk):
    points = PATHS["L"]
    names = ["empty 'A'", "empty 'B'", "empty 'C'"]
    _raises(r"must increase along the path: empty 'B' at 5 s, then empty 'C' at 4 s", walk,
            points, arrival=[(1, 5.0), (2, 4.0)], labels=names)
    _raises(r"must increase along the path", walk, points, arrival=[(0, 3.0), (1, 2.0)])
    _raises(r"not one of the path's 3 points", walk, points, arrival=[(5, 3.0)])
    # 4 m in 1 s: far too fast. The message names the segment and both speeds.
    with pytest.raises(ValueError) as e:
        pf.follow_path(walk, points, arrival=[(1, 3.0), (2, 4.0)], labels=names)
    msg = str(e.value)
    assert "empty 'B' to empty 'C'" in msg and "needs 4.00 m/s" in msg
    lo, hi = (float(x) for x in msg.split("outside the ")[1].split(" m/s")[0].split("-"))
    assert lo < 1.0 < hi < 4.0
    # 4 m in 40 s: far too slow.
    _raises(r"empty 'A' to empty 'B' \(4.00 m in 40.00 s\) needs 0.10 m/s", walk, points,
            arrival=[(1, 40.0)], labels=names)


def test_motion_that_does_not_travel(walk):
    still = walk.slice(0, 60)
    still.root_translation[:] = still.root_translation[0]
    _raises(r"does not travel", still, PATHS["straight"])
