"""Reveal from behind cover, fly-through a gap (backend/models/camera/openings.py) and re-timing
to the drone's limits (retime.py), on small scenes whose answer is known by construction."""
import numpy as np

from backend.models.camera.geometry import SceneGeometry
from backend.models.camera.job import make_subject, run_camera
from backend.models.camera.openings import OpeningSearch
from backend.models.camera.planner import DRONES
from backend.models.camera.retime import retime, retime_to_limits
from backend.models.camera.wire import mesh_to_wire

FPS = 30.0
BOX_FACES = np.array([[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
                      [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]])


def build(boxes, ground=30.0):
    """Ground quad (2 * ground wide) plus closed boxes (lo, hi) -> vertices, triangles."""
    v = [np.array([[-ground, -ground, 0], [ground, -ground, 0], [ground, ground, 0],
                   [-ground, ground, 0]], float)]
    f = [np.array([[0, 1, 2], [0, 2, 3]])]
    count = 4
    for lo, hi in boxes:
        (x0, y0, z0), (x1, y1, z1) = lo, hi
        v.append(np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                           [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], float))
        f.append(BOX_FACES + count)
        count += 8
    return np.concatenate(v), np.concatenate(f)


def standing(frames=300, at=(0.0, 0.0)):
    return {"fps": FPS, "positions": [[at[0], at[1], 0.9]] * frames, "radius": 0.9}


# a wall 0.4 m thick, 2.4 m high, 10 m long, 4 m in front of (+Y of) a standing subject
WALL = [((-5.0, 4.0, 0.0), (5.0, 4.4, 2.4))]
# a wall across +Y with a doorway 2.4 m wide and 2.6 m high centred on x = 0
DOORWAY = [((-8.0, 5.0, 0.0), (-1.2, 5.3, 4.0)), ((1.2, 5.0, 0.0), (8.0, 5.3, 4.0)),
           ((-1.2, 5.0, 2.6), (1.2, 5.3, 4.0))]


def test_reveal_starts_hidden_behind_the_wall_and_ends_in_view():
    v, f = build(WALL)
    result = run_camera({"geometry": mesh_to_wire(v, f), "subject": standing(), "shot": "reveal",
                         "alternatives": 2})
    path = result["paths"][0]
    m = path["metrics"]
    assert m["crashes"] == 0 and m["in_frame"] >= 0.98, m
    assert m["hidden_start"] == 1.0 and m["seen_end"] >= 0.95 and m["revealed"], m
    assert m["unoccluded_all"] < m["unoccluded"]              # the hidden start is counted
    loc = np.array(path["location"])
    assert loc[0, 1] > 4.4 + 0.5 and loc[0, 2] < 2.4          # starts low behind the wall
    assert abs(loc[0, 0]) < 5.0 and loc[-1, 2] > 2.4 + 1.0    # ... and rises over it
    assert not any("hide" in w for w in result["warnings"]), result["warnings"]


def test_reveal_with_nothing_to_hide_behind_says_so_and_keeps_the_plain_rise():
    v, f = build([])
    result = run_camera({"geometry": mesh_to_wire(v, f), "subject": standing(), "shot": "reveal",
                         "alternatives": 1})
    assert result["warnings"][0].startswith("reveal: nothing around the subject to hide it")
    m = result["paths"][0]["metrics"]
    assert m["hidden_start"] == 0.0 and not m["revealed"] and m["unoccluded"] == 1.0


def test_gap_search_finds_the_doorway_centre():
    v, f = build(DOORWAY)
    subject = make_subject(FPS, standing(at=(0.0, 0.0))["positions"], 0.9, None)
    gaps = OpeningSearch(SceneGeometry(v, f), subject).gaps()
    door = [g for g in gaps if 4.8 < g["centre"][1] < 5.5]
    assert door, "no gap found in the doorway"
    for g in door:                                   # centred between the jambs / under lintel
        assert abs(g["centre"][0]) < 0.15, g
        assert g["centre"][2] < 2.6 - 0.55
    assert all(abs(g["centre"][0]) < 1.2 or not (4.8 < g["centre"][1] < 5.5) for g in gaps)


def test_fly_through_goes_through_the_doorway_to_the_subject():
    v, f = build(DOORWAY)
    result = run_camera({"geometry": mesh_to_wire(v, f), "subject": standing(),
                         "shot": "fly_through", "alternatives": 1})
    path = result["paths"][0]
    m = path["metrics"]
    assert m["crashes"] == 0 and m["unoccluded"] >= 0.95 and m["in_frame"] >= 0.98, m
    assert path["name"].startswith("fly-through, gap 2.4 m"), path["name"]
    loc = np.array(path["location"])
    assert loc[0, 1] > 5.3 + 1.0 and loc[-1, 1] < 5.0          # from beyond the wall to inside
    cross = np.flatnonzero((loc[:-1, 1] >= 5.15) & (loc[1:, 1] < 5.15))
    assert len(cross) == 1
    at = loc[cross[0]]
    assert abs(at[0]) < 0.5 and 0.6 < at[2] < 2.0, at          # through the opening's middle
    assert not result["warnings"], result["warnings"]


def l_path(frames=301, radius=1.5):
    """12 m straight, a quarter turn of ``radius``, 12 m straight, at a constant speed."""
    th = np.linspace(0, np.pi / 2, 40)
    pts = np.concatenate([np.c_[np.linspace(-12, 0, 200), np.zeros(200)],
                          np.c_[radius * np.sin(th), radius - radius * np.cos(th)],
                          np.c_[np.full(200, radius), radius + np.linspace(0, 12, 200)]])
    pts = np.c_[pts, np.full(len(pts), 2.0)]
    s = np.r_[0, np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]
    u = np.linspace(0, s[-1], frames)
    return np.stack([np.interp(u, s, pts[:, k]) for k in range(3)], 1), pts


def speed_accel(loc):
    v = np.diff(loc, axis=0) * FPS
    return np.linalg.norm(v, axis=1), np.linalg.norm(np.diff(v, axis=0) * FPS, axis=1)


def test_retiming_meets_the_limits_on_the_same_path_in_the_same_time():
    loc, polyline = l_path()
    drone = DRONES["cinematic"]
    speed, accel = speed_accel(loc)
    assert accel.max() > drone.max_accel * 1.2               # the plain timing is too sharp
    out = retime_to_limits(loc, FPS, drone.max_speed, drone.max_accel)
    assert out is not None and out.shape == loc.shape
    v2, a2 = speed_accel(out)
    assert v2.max() <= drone.max_speed * 1.01 and a2.max() <= drone.max_accel * 1.01
    np.testing.assert_allclose(out[[0, -1]], loc[[0, -1]], atol=1e-9)   # same ends, same T
    # every new position lies on the old path
    dense = np.concatenate([np.linspace(a, b, 20) for a, b in zip(polyline[:-1], polyline[1:])])
    gap = np.min(np.linalg.norm(out[:, None] - dense[None], axis=2), axis=1)
    assert gap.max() < 0.01
    in_curve = (out[1:, 0] > 0.0) & (out[1:, 1] < 1.5)
    straight = out[1:, 0] < -6.0
    assert v2[in_curve].mean() < 0.9 * v2[straight].max()      # slower in the curve
    assert v2[straight].max() > speed.max()                    # faster on the straights


def test_retiming_gives_up_when_the_shot_is_too_short_for_the_drone():
    t = np.arange(301) / FPS
    loc = np.stack([20.0 * t, 0 * t, 0 * t + 2], 1)            # 200 m in 10 s > 12 m/s
    assert retime(loc, FPS, 12.0, 4.0) is None
    assert retime_to_limits(loc, FPS, 12.0, 4.0) is None
