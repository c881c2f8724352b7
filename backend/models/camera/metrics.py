"""How good a camera path is (the issue's targets).

* ``crashes``: frames where one of the six axis rays from the camera hits a triangle within
  0.5 m (DVGFormer); ``min_clearance_m``: nearest surface over the path (sampled, see geometry).
* ``in_frame``: share of frames whose subject centre projects inside the frame, in front.
* ``unoccluded``: share of frames where at least 3 of 5 rays (to the subject's centre and to
  points at 0.6 radius right / left / up / down of it, seen from the camera) come within
  ``planner.SUBJECT_CORE`` x radius of their point without hitting a triangle (furniture the
  subject sits on counts as an occluder).
  With body points (``Subject.points``: a character's head, chest, hips, hands, feet), a
  frame counts as unoccluded when at least half of them are seen instead.
* ``framing_error``: mean distance on screen between the subject's centre and its target, in
  frame widths (0: on target; 0.5: half a frame off).
* ``jerk``: RMS of the third derivative of the camera location (m/s^3);
  ``catmull_rom_jerk``: the same for a uniform Catmull-Rom spline through the shot's waypoints
  at the same times, sampled at the same frames.
* ``max_speed`` (m/s), ``max_accel`` (m/s^2), ``max_yaw_rate`` (degrees/s of the view's heading,
  not counted while looking nearly straight down).
* Reveals only: ``hidden_start`` (share of the first 10 % of frames with the subject hidden),
  ``seen_end`` (share of the last 50 % with it seen), ``revealed`` (all of the first hidden,
  >= 95 % of the last seen). A reveal that starts hidden (``ShotKeys.hidden_until_s`` > 0)
  counts ``unoccluded`` from that moment on; ``unoccluded_all`` is over every frame.
"""
from __future__ import annotations

import numpy as np

from ...motion import quat
from ...motion.resample import catmull_rom
from .geometry import SceneGeometry
from .planner import ASPECT, SUBJECT_CORE, Path, project, yaw_rate
from .shots import Subject

VISIBLE_RAYS_NEEDED = 3
POINTS_NEEDED = 0.5           # share of the body points seen for the subject to count as seen
POINT_SLACK_M = 0.05          # a sight line may stop this short of its body point
CLEARANCE_CAP_M = 10.0        # min_clearance_m reads 10 where nothing is nearer
REVEAL_HIDDEN_SHARE = 0.10    # a reveal hides the subject over this first share of frames
REVEAL_SEEN_SHARE = 0.50      # ... and shows it over this last share
REVEAL_SEEN_TARGET = 0.95


def rms_jerk(loc: np.ndarray, fps: float) -> float:
    """RMS of the third derivative (m/s^3) of positions (T, 3) sampled at ``fps``."""
    if len(loc) < 4:
        return 0.0
    j = np.diff(loc, n=3, axis=0) * fps ** 3
    return float(np.sqrt(np.mean(np.sum(j * j, axis=1))))


def visibility(scene: SceneGeometry, loc: np.ndarray, rot_m: np.ndarray,
               centres: np.ndarray, radius: float) -> np.ndarray:
    """(T,) share of the 5 rays from each camera that reach the subject's sphere."""
    right, up = rot_m[:, :, 0], rot_m[:, :, 1]
    offsets = [0 * right, right, -right, up, -up]
    origins, dirs, lengths = [], [], []
    for off in offsets:
        q = centres + 0.6 * radius * off
        d = q - loc
        dist = np.linalg.norm(d, axis=1)
        d = d / np.maximum(dist, 1e-9)[:, None]
        # the ray stops SUBJECT_CORE x radius before its point: a chair or table inside the
        # subject's sphere hides the body too (only the body's own core is not an occluder)
        origins.append(loc)
        dirs.append(d)
        lengths.append(np.maximum(dist - SUBJECT_CORE * radius, 0.0))
    hit, _ = scene.raycast(np.concatenate(origins), np.concatenate(dirs),
                           np.concatenate(lengths))
    return 1.0 - hit.reshape(len(offsets), -1).mean(axis=0)


def point_visibility(scene: SceneGeometry, loc: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(T,) share of the body points (T, K, 3) each camera (T, 3) sees: the ray to a point
    reaches within POINT_SLACK_M of it without hitting a triangle."""
    T, K, _ = points.shape
    origins = np.repeat(loc, K, axis=0)
    d = points.reshape(-1, 3) - origins
    dist = np.linalg.norm(d, axis=1)
    hit, _ = scene.raycast(origins, d / np.maximum(dist, 1e-9)[:, None],
                           np.maximum(dist - POINT_SLACK_M, 0.0))
    return 1.0 - hit.reshape(T, K).mean(axis=1)


def path_metrics(path: Path, subject: Subject, scene: SceneGeometry) -> dict:
    """The metrics dict of the job's result for one path."""
    loc, fps = path.location, subject.fps
    rot_m = quat.to_matrix(path.rotation)
    crashed = scene.crashes(loc)
    clearance = scene.clearance(loc, CLEARANCE_CAP_M)
    screen, depth = project(rot_m, loc, subject.positions, path.lens_mm)
    inside = (depth > 0) & np.all(np.abs(screen) <= 1.0, axis=1)
    err = screen - np.array(path.screen_target)
    err[:, 1] /= ASPECT                      # both in frame widths (x spans 2 units)
    framing = np.where(depth > 0, np.linalg.norm(err, axis=1) / 2, 1.0)
    if subject.points is not None:          # the body's own points: half must be seen
        seen_share = point_visibility(scene, loc, subject.points)
        seen = np.where(seen_share >= POINTS_NEEDED, 1.0, 0.0)
    else:
        seen = visibility(scene, loc, rot_m, subject.positions, subject.radius)
    visible = seen >= VISIBLE_RAYS_NEEDED / 5 - 1e-9
    v = np.diff(loc, axis=0) * fps
    a = np.diff(v, axis=0) * fps
    times = np.arange(len(loc)) / fps
    cr = catmull_rom(path.keys.times, path.keys.positions, times)
    reveal = {}
    hidden_until = float(getattr(path.keys, "hidden_until_s", 0.0) or 0.0)
    if path.keys.shot == "reveal":
        reveal = reveal_figures(visible)
    if hidden_until > 0:        # a reveal's hidden start is wanted: counted from the reveal on
        reveal["unoccluded_all"] = round(float(visible.mean()), 4)
        visible = visible[min(int(round(hidden_until * fps)), len(visible) - 1):]
    return {"crashes": int(crashed.sum()),
            "min_clearance_m": round(float(min(clearance.min(), CLEARANCE_CAP_M)), 3),
            "in_frame": round(float(inside.mean()), 4),
            "unoccluded": round(float(visible.mean()), 4), **reveal,
            "framing_error": round(float(framing.mean()), 4),
            "jerk": round(rms_jerk(loc, fps), 4),
            "catmull_rom_jerk": round(rms_jerk(cr, fps), 4),
            "max_speed": round(float(np.linalg.norm(v, axis=1).max(initial=0.0)), 3),
            "max_accel": round(float(np.linalg.norm(a, axis=1).max(initial=0.0)), 3),
            "max_yaw_rate": round(yaw_rate(path.rotation, fps), 1)}


def reveal_figures(visible: np.ndarray) -> dict:
    """A reveal's figures from the per-frame visibility (T,) bool: ``hidden_start`` the share
    of the first REVEAL_HIDDEN_SHARE of frames with the subject hidden, ``seen_end`` the share
    of the last REVEAL_SEEN_SHARE with it seen, ``revealed``: all of the first hidden and at
    least UNOCCLUDED_TARGET of the last seen."""
    n = len(visible)
    head = visible[:max(1, int(round(REVEAL_HIDDEN_SHARE * n)))]
    tail = visible[n - max(1, int(round(REVEAL_SEEN_SHARE * n))):]
    hidden_start, seen_end = float(1.0 - head.mean()), float(tail.mean())
    return {"hidden_start": round(hidden_start, 4), "seen_end": round(seen_end, 4),
            "revealed": bool(hidden_start >= 1.0 and seen_end >= REVEAL_SEEN_TARGET)}


def score(metrics: dict) -> float:
    """Lower is better: crashes first, then the subject hidden or out of frame, then framing."""
    return (1000.0 * metrics["crashes"] + 200.0 * (1.0 - metrics["unoccluded"])
            + 200.0 * (1.0 - metrics["in_frame"]) + 10.0 * metrics["framing_error"]
            - min(metrics["min_clearance_m"], 2.0))
