"""Generate the camera planner's HELD-OUT scenes: tests/data/camera_heldout/NN_name.npz (arrays
``vertices`` (V, 3) float32, ``triangles`` (F, 3) int32; metres, Z up) and NN_name.json (the
subject's track: fps, radius, positions per frame, description), the same format as
assets/camera_scenes/.

    python tools/make_camera_heldout.py [--out tests/data/camera_heldout]

The layouts and tracks here are their own (not the shipped set's) and nothing calls the camera
planner: the tracks are drawn from waypoints with turns, stops and circles. The set was
measured once with the planner before the planner changed (docs/camera.md) and is never used to
tune it. Numpy only, deterministic (fixed seeds); generated for Anima, CC0 1.0.
"""
from __future__ import annotations

import argparse
import importlib.util
import math
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "data" / "camera_heldout"
FPS = 30.0
FRAMES = 300            # 10 s
RADIUS = 0.9
WALK_SPEED = 1.3        # m/s
LICENSE = "CC0-1.0"


def _scene_tool():
    """tools/make_camera_scenes.py: its triangle collector (boxes, cylinders, a ground grid)
    and its scene writer."""
    spec = importlib.util.spec_from_file_location("make_camera_scenes",
                                                  REPO / "tools" / "make_camera_scenes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCENE_TOOL = _scene_tool()
Mesh = SCENE_TOOL.Mesh


def walk(stops: list[tuple[float, float, float]], z: float = RADIUS) -> np.ndarray:
    """A walker's centre (FRAMES, 3) through waypoints (x, y, pause_s): it walks at WALK_SPEED
    between them, pauses where asked, corners rounded over 0.5 s, bobbing only while moving;
    it stands at the last waypoint once there (or stops where 10 s runs out)."""
    t_out = np.arange(FRAMES) / FPS
    times, points = [0.0], [np.array(stops[0][:2], float)]
    if stops[0][2] > 0:
        times.append(stops[0][2])
        points.append(points[-1])
    for x, y, pause in stops[1:]:
        p = np.array([x, y], float)
        times.append(times[-1] + np.linalg.norm(p - points[-1]) / WALK_SPEED)
        points.append(p)
        if pause > 0:
            times.append(times[-1] + pause)
            points.append(p)
    times, points = np.array(times), np.array(points)
    xy = np.stack([np.interp(t_out, times, points[:, k]) for k in range(2)], 1)
    kernel = np.ones(15) / 15                       # round the corners (0.5 s)
    padded = np.concatenate([np.repeat(xy[:1], 7, 0), xy, np.repeat(xy[-1:], 7, 0)])
    xy = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(2)], 1)
    speed = np.linalg.norm(np.gradient(xy, axis=0), axis=1) * FPS
    moving = np.clip(speed / WALK_SPEED, 0, 1)
    bob = 0.03 * np.sin(2 * math.pi * 1.8 * t_out) * moving
    return np.c_[xy, np.full(FRAMES, z) + bob]


def loop(centre, radius: float, start_angle: float = 0.0, z: float = RADIUS) -> np.ndarray:
    """A full circle at walking pace (or as much of it as fits in 10 s)."""
    a = start_angle + np.arange(FRAMES) / FPS * min(WALK_SPEED / radius, 2 * math.pi / 10.0)
    return np.c_[centre[0] + radius * np.cos(a), centre[1] + radius * np.sin(a),
                 np.full(FRAMES, z)]


def two_rooms():
    m = Mesh()
    m.ground(22)
    m.box((-8, -6, 0), (8, -5.7, 3.2))             # outer walls of a 16 x 12 m block
    m.box((-8, 5.7, 0), (8, 6, 3.2))
    m.box((-8, -5.7, 0), (-7.7, 5.7, 3.2))
    m.box((7.7, -5.7, 0), (8, 5.7, 3.2))
    m.box((-0.15, -5.7, 0), (0.15, -1.2, 3.2))      # the dividing wall, a 2.4 m doorway
    m.box((-0.15, 1.2, 0), (0.15, 5.7, 3.2))
    m.box((-0.15, -1.2, 2.3), (0.15, 1.2, 3.2))
    m.box((-6, 2.5, 0), (-4, 4.5, 0.75))           # furniture
    m.box((4, -4.5, 0), (6.5, -3.5, 1.9))
    return m, walk([(-5, -3, 0.0), (-2, 0, 0.0), (2.5, 0, 1.5), (4.5, 2.5, 0.0)]), \
        "two roofless rooms joined by a doorway; the subject walks through it, stops, turns"


def colonnade():
    m = Mesh()
    m.ground(25)
    for x in np.arange(-12, 12.1, 4.0):            # a square grid of columns
        for y in np.arange(-12, 12.1, 4.0):
            if abs(x) < 1 and abs(y) < 1:
                continue
            m.cylinder((x, y), 0.45, 0, 7, sides=12)
    m.box((-14, -14, 7), (14, -10, 7.6))            # an entablature along two sides
    m.box((-14, 10, 7), (14, 14, 7.6))
    return m, loop((0, 0), 2.0), "a grid of columns; the subject walks a full circle among them"


def birch_forest():
    m = Mesh()
    m.ground(30)
    rng = np.random.default_rng(41)
    placed = 0
    while placed < 70:
        x, y = rng.uniform(-24, 24, 2)
        if np.hypot(x - 1, y) < 2.2:               # a small glade where the walk turns
            continue
        h = rng.uniform(7, 14)
        m.cylinder((x, y), rng.uniform(0.15, 0.3), 0, h, sides=8)
        if rng.random() < 0.5:
            m.box((x - 1.0, y - 1.0, h * 0.7), (x + 1.0, y + 1.0, h))
        placed += 1
    return m, walk([(-4, -4, 0.0), (0, -1, 2.0), (2, 2, 0.0), (-1, 5, 0.0)]), \
        "a dense birch forest (70 thin trunks, some crowns); the subject zigzags and pauses"


def parked_street():
    m = Mesh()
    m.ground(35)
    for side in (-1, 1):                            # facades 10 m apart, 6-14 m high
        m.box((side * 5 - 0.5 + (side > 0) * 0.5, -30, 0),
              (side * 5 + (side > 0) * 0.5, 30, 9 + 5 * (side > 0)))
    rng = np.random.default_rng(7)
    for side in (-1, 1):                            # parked cars
        y = -25.0
        while y < 25:
            x = side * 3.2
            m.box((x - 0.9, y, 0), (x + 0.9, y + 4.2, 1.5))
            y += 4.2 + rng.uniform(0.8, 3.0)
    for y in (-12, 0, 12):                          # lamp posts
        m.cylinder((-4.2, y), 0.1, 0, 5, sides=8)
    return m, walk([(-1.5, -8, 0.0), (-1.5, -2, 1.0), (1.5, 0, 0.0), (1.0, 5, 0.0)]), \
        "a street between facades with parked cars; the subject walks, stops, crosses"


def window_wall():
    m = Mesh()
    m.ground(25)
    m.box((-10, 3.0, 0), (-1.5, 3.4, 5))            # a wall with a 3 x 2 m window at 1-3 m
    m.box((1.5, 3.0, 0), (10, 3.4, 5))
    m.box((-1.5, 3.0, 0), (1.5, 3.4, 1.0))
    m.box((-1.5, 3.0, 3.0), (1.5, 3.4, 5))
    m.box((-6, -4, 0), (-4, -2, 2.5))               # a shed on the subject's side
    return m, walk([(0, 0, 2.0), (3, -1, 0.0), (5, 1, 0.0)]), \
        "a wall with a window; the subject stands in front of it, then walks away along it"


def terraces():
    m = Mesh()
    m.ground(25)
    m.box((-8, 2, 0), (8, 8, 1.5))                  # an upper level
    m.box((-8, 8, 0), (8, 8.4, 4.0))                # its back wall
    for k in range(5):                              # steps up to it, 0.3 m each
        m.box((-1.5, 2 - (5 - k) * 0.5, 0), (1.5, 2, (k + 1) * 0.3))
    m.box((5, -6, 0), (7, -3, 3))                   # a kiosk below
    track = walk([(0, -4, 0.0), (0, 5, 0.0), (3, 5, 0.0)])
    z = 0.3 * np.clip((track[:, 1] + 0.5) / 0.5, 0, 5)       # up the steps, along the level
    track[:, 2] += np.minimum(z, 1.5)
    return m, track, "terraces: the subject climbs five steps to an upper level and turns"


def market():
    m = Mesh()
    m.ground(25)
    for i, (x, y) in enumerate([(-5, -5), (-5, 0), (-5, 5), (5, -5), (5, 0), (5, 5), (0, 9)]):
        m.box((x - 1.5, y - 1.2, 0), (x + 1.5, y + 1.2, 0.9))        # counter
        for dx in (-1.4, 1.4):
            m.cylinder((x + dx, y + 1.1), 0.06, 0.9, 2.6, sides=6)   # posts
        m.box((x - 1.8, y - 1.6, 2.6), (x + 1.8, y + 1.6, 2.75))     # awning
    return m, walk([(0, -8, 0.0), (0, -2, 1.5), (-2, 2, 0.0), (1, 6, 0.0)]), \
        "market stalls with awnings; the subject weaves between them and pauses"


def ruins():
    m = Mesh()
    m.ground(25)
    rng = np.random.default_rng(13)
    for k in range(10):                              # broken wall stubs on a ring
        a = k * 2 * math.pi / 10
        c = np.array([7 * math.cos(a), 7 * math.sin(a)])
        h = rng.uniform(1.0, 4.0)
        m.box((c[0] - 1.2, c[1] - 1.2, 0), (c[0] + 1.2, c[1] + 1.2, h))
    m.box((-2, -0.4, 0), (2.5, 0.4, 0.8))            # a fallen column
    return m, loop((0, 0), 3.5, start_angle=1.0), \
        "ruins: broken walls on a ring, a fallen column; the subject walks a circle round it"


def carport():
    m = Mesh()
    m.ground(25)
    m.box((-6, -4, 3.0), (6, 4, 3.3))               # a roof on posts
    for x in (-6, -2, 2, 5.7):
        for y in (-4, 3.7):
            m.box((x, y, 0), (x + 0.3, y + 0.3, 3.0))
    m.box((-5, -3, 0), (-1, -1.2, 1.4))             # a parked car under it
    m.box((6.5, -8, 0), (9, 8, 6))                  # a building beside it
    return m, walk([(-3, 1.5, 1.0), (3, 1.5, 0.0), (3, -2, 2.0)]), \
        "a carport (a roof on posts) beside a building; the subject walks under it and stops"


SCENES = [("01_two_rooms", two_rooms), ("02_colonnade", colonnade),
          ("03_birch_forest", birch_forest), ("04_parked_street", parked_street),
          ("05_window_wall", window_wall), ("06_terraces", terraces), ("07_market", market),
          ("08_ruins", ruins), ("09_carport", carport)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    SCENE_TOOL.write_scenes(SCENES, args.out, "tools/make_camera_heldout.py",
                            "held-out camera test scenes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
