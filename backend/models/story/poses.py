"""Held poses the generator was not trained on (sit, lie) or that need no model (stand, idle,
turn): built from joint angles on the canonical skeleton. Numpy only.

    clip = pose_clip("sit", xy=(1.0, 2.0), yaw=90.0, seconds=3.0, fps=20.0)

The getting there (standing up, sitting down, turning) is not made here: the story composer
puts a gap before and after each pose and the in-betweener fills it.

* ``stand``/``idle``/``turn``: upright, legs straight, arms hanging a little away from the body
  with the elbows slightly bent; the pelvis at ``xy``, facing ``yaw``, feet on the floor.
* ``sit``: thighs level (hips flexed 90 degrees), shins vertical (knees 90), a slight forward
  lean, forearms on the thighs; ``xy`` is where the character *stood* in front of the seat and
  ``yaw`` the seat's front: the pelvis goes SEAT_BACK metres behind it, the feet stay near it.
  The seat height follows from the skeleton (feet on the floor), about 0.45 m.
* ``lie``: on the back, head away from ``yaw``'s direction, pelvis ``height`` above the floor.

A slow breathing sway (spine, a few degrees over BREATH_SECONDS) keeps a held pose alive
without moving the feet or the pelvis.
"""
from __future__ import annotations

import math

import numpy as np

from ...motion import quat
from ...motion.clip import Clip
from ...motion.skeleton import CANONICAL, CANONICAL_NAMES

SEAT_BACK = 0.35            # m from the stand point to the seated pelvis
BREATH_SECONDS = 4.0
BREATH_DEGREES = 1.5
_J = {n: i for i, n in enumerate(CANONICAL_NAMES)}
_X, _Y, _Z = np.eye(3)


def _rot(axis, degrees: float) -> np.ndarray:
    return quat.from_axis_angle(np.asarray(axis, float), math.radians(degrees))


def _yaw(degrees: float) -> np.ndarray:
    return _rot(_Z, degrees)


def _standing() -> np.ndarray:
    """(J, 4) local rotations of the neutral standing pose (facing -Y)."""
    rots = quat.identity((len(CANONICAL_NAMES),)).copy()
    rots[_J["left_shoulder"]] = _rot(_Y, 75.0)      # the arm from sideways (+X) to down
    rots[_J["right_shoulder"]] = _rot(_Y, -75.0)
    rots[_J["left_elbow"]] = _rot(_Z, -12.0)         # forearms a little forward
    rots[_J["right_elbow"]] = _rot(_Z, 12.0)
    return rots


def _sitting() -> np.ndarray:
    rots = _standing()
    for side in ("left", "right"):
        rots[_J[f"{side}_hip"]] = _rot(_X, -90.0)    # thighs forward (-Y), level
        rots[_J[f"{side}_knee"]] = _rot(_X, 90.0)    # shins back down
    rots[_J["spine1"]] = _rot(_X, -8.0)              # a slight forward lean
    rots[_J["left_shoulder"]] = quat.mul(_rot(_X, -25.0), _rot(_Y, 70.0))
    rots[_J["right_shoulder"]] = quat.mul(_rot(_X, -25.0), _rot(_Y, -70.0))
    rots[_J["left_elbow"]] = _rot(_Z, -60.0)          # forearms onto the thighs
    rots[_J["right_elbow"]] = _rot(_Z, 60.0)
    return rots


def _floor_height(rots: np.ndarray, root_rot: np.ndarray) -> float:
    """Pelvis height that puts the lowest foot joint 2 cm above the floor."""
    r = rots.copy()
    r[0] = root_rot
    _, pos = CANONICAL.fk(r[None], np.zeros((1, 3)))
    feet = [_J[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
    return 0.02 - float(pos[0, feet, 2].min())


def pose_frame(name: str, xy, yaw: float, height: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """((J, 4) local rotations, (3,) root position) of pose `name` (module doc)."""
    front = np.array([math.sin(math.radians(yaw)), -math.cos(math.radians(yaw))])
    if name in ("stand", "idle", "turn"):
        rots = _standing()
        rots[0] = _yaw(yaw)
        root = np.array([xy[0], xy[1], _floor_height(rots, rots[0])])
    elif name == "sit":
        rots = _sitting()
        rots[0] = _yaw(yaw)
        pelvis = np.asarray(xy, float) - SEAT_BACK * front
        root = np.array([pelvis[0], pelvis[1], _floor_height(rots, rots[0])])
    elif name == "lie":
        rots = _standing()
        rots[_J["left_shoulder"]] = _rot(_Y, 80.0)
        rots[_J["right_shoulder"]] = _rot(_Y, -80.0)
        rots[0] = quat.mul(_yaw(yaw), _rot(_X, -90.0))      # on the back, face up
        root = np.array([xy[0], xy[1], max(0.0, float(height)) + 0.12])
    else:
        raise ValueError(f"unknown pose {name!r}: one of stand, idle, turn, sit, lie")
    return rots, root


def pose_clip(name: str, xy, yaw: float, seconds: float, fps: float,
              height: float = 0.0, meta: dict | None = None) -> Clip:
    """The pose held for `seconds` (at least 2 frames) with a breathing sway, as a Clip."""
    rots, root = pose_frame(name, xy, yaw, height)
    n = max(2, int(round(seconds * fps)))
    t = np.arange(n) / fps
    sway = BREATH_DEGREES * np.sin(2 * math.pi * t / BREATH_SECONDS)
    out = np.repeat(rots[None], n, axis=0)
    spine = _J["spine3"]
    out[:, spine] = quat.mul(quat.from_axis_angle(np.broadcast_to(_X, (n, 3)), np.radians(sway)),
                             out[:, spine])
    return Clip(out, np.repeat(root[None], n, axis=0), fps, CANONICAL,
                dict(meta or {}, source="pose", pose=name))
