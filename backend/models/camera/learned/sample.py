"""Roll the next-camera-pose model out on a scene: the same result dict as the planner's
(``alternatives.plan_shot``: {"fps", "frames", "paths": [{"name", "shot", "location",
"rotation", "lens_mm", "metrics"}], "selected": 0, "warnings"}), scored by ``metrics.py``.

The rollout starts at the shot's first waypoint (``shots.make_shot``; moved out of obstacles
like the planner's waypoints) looking at the subject, then feeds the model its own poses frame
by frame. Each variant (an azimuth and side, as the planner's alternatives) is rolled out in one
batch; the best by the planner's score is selected.

Safety clamp: a predicted position closer than ``CLAMP_M`` to a surface is pushed out with the
planner's geometry (``SceneGeometry.push_directions``). Every clamped frame is counted in the
path's ``metrics["clamped_frames"]`` and a warning: the clamp keeps the camera out of walls but
says so, and ``metrics["crashes"]`` is still measured on the final path (DVGFormer's rule).

``smooth=True`` (the default) low-passes the rolled-out positions and look / up vectors with
the planner's minimum-jerk fit (``planner.smooth_path``, the drone's smoothing periods: per-frame
prediction noise is what an autoregressive rollout adds; see ``smooth_clear``), and counts the
frames that fit had to push away from the scene as clamped too; ``smooth=False`` returns the raw rollout. ``aim="model"`` uses the model's own look
direction; ``aim="look_at"`` keeps only its positions and aims with the planner's look-at (to
measure the position part on its own).
"""
from __future__ import annotations

import numpy as np
import torch

from ....motion import quat
from ..alternatives import AZIMUTHS, _limits_penalty, path_result
from ..geometry import SceneGeometry
from ..metrics import path_metrics, score
from ..planner import CLEARANCE_M, DRONES, Path, auto_lens, look_rotations, smooth_path
from ..shots import BASIC_SHOTS, KEY_SPACING_S, ShotOptions, Subject, make_shot
from .data import (TARGETS, VEL_SCALE, axis_rays, frame_features, heading_frame, pose_state)
from .model import NextPoseModel

CLAMP_M = 0.6               # predicted positions nearer a surface than this are pushed out


def start_pose(keys, subject: Subject, scene: SceneGeometry) -> np.ndarray:
    """The first camera position (3,): the shot's first waypoint, out of the obstacles."""
    p = keys.positions[:1].copy()
    for _ in range(4):
        clear, away = scene.push_directions(p)
        if clear[0] >= CLEARANCE_M:
            break
        p += away * (CLEARANCE_M - clear[0] + 0.15)
    return p[0]


def _rot_from(fwd: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Camera matrices (B, 3, 3) (columns right, up, -forward) from world vectors (B, 3)."""
    f = fwd / np.maximum(np.linalg.norm(fwd, axis=1, keepdims=True), 1e-9)
    u = up - np.sum(up * f, axis=1, keepdims=True) * f
    bad = np.linalg.norm(u, axis=1) < 1e-6
    u[bad] = np.cross(np.cross(f[bad], [0.0, 0.0, 1.0]), f[bad]) if bad.any() else u[bad]
    u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-9)
    return np.stack([np.cross(f, u), u, -f], axis=-1)


def clamp(scene: SceneGeometry, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(points (P, 3) pushed out to ``CLAMP_M`` from the scene, (P,) bool: which were moved)."""
    points = np.array(points, float)
    clear, _ = scene.away(points, cap=CLAMP_M + 0.3)
    close = np.flatnonzero(clear < CLAMP_M)
    if len(close):
        c, away = scene.push_directions(points[close])
        points[close] += away * (CLAMP_M - c + 0.05)[:, None]
    moved = np.zeros(len(points), bool)
    moved[close] = True
    return points, moved


def smooth_clear(scene: SceneGeometry, loc: np.ndarray, fps: float, period_s: float,
                 rounds: int = 4) -> tuple[np.ndarray, int]:
    """Minimum-jerk low-pass of a rolled-out path ``loc`` (T, 3), each frame a soft target
    weighing KEY_SPACING_S / fps (per second as much as the planner's waypoints); frames the
    fit brings nearer than CLAMP_M to the scene get pushed-out targets of 30x the weight and
    the fit is redone (``rounds`` times), then what is still near is clamped. (path (T, 3),
    number of frames whose target was moved or that were clamped)."""
    n = len(loc)
    targets = np.array(loc, float)
    weight = np.full(n, KEY_SPACING_S / fps)
    touched = np.zeros(n, bool)
    for _ in range(rounds):
        out = smooth_path(n, fps, np.arange(n), targets, weight, period_s)
        pushed, moved = clamp(scene, out)
        if not moved.any():
            return out, int(touched.sum())
        targets[moved] = pushed[moved] + (pushed[moved] - out[moved])
        weight[moved] = 30 * KEY_SPACING_S / fps
        touched |= moved
    out, moved = clamp(scene, out)
    return out, int((touched | moved).sum())


@torch.no_grad()
def rollout(model: NextPoseModel, ck: dict, scene: SceneGeometry, subject: Subject, shot: str,
            keys_list: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Roll out one path per shot variant (``keys_list``: ShotKeys, B of them):
    (locations (B, T, 3), camera matrices (B, T, 3, 3), clamped frames (B,) int)."""
    B, T, fps = len(keys_list), subject.frames, subject.fps
    frame = heading_frame(subject)
    t_mean = np.asarray(ck["target_mean"], float)
    t_std = np.asarray(ck["target_std"], float)
    loc = np.zeros((B, T, 3))
    rot = np.zeros((B, T, 3, 3))
    loc[:, 0] = [start_pose(k, subject, scene) for k in keys_list]
    for b, k in enumerate(keys_list):
        q = look_rotations(loc[b, :1], subject.positions[:1], np.array([50.0]),
                           (float(k.screen_x), 0.0), k.up_hint)
        rot[b, 0] = quat.to_matrix(q)[0]
    clamped = np.zeros(B, int)
    prev = np.zeros((B, TARGETS))
    vel = (np.diff(subject.positions, axis=0) * fps) @ frame
    ground = subject.ground()
    screen_x = np.array([float(k.screen_x) for k in keys_list])
    hidden = None
    for t in range(T - 1):
        state = pose_state(loc[:, t], rot[:, t], np.repeat(subject.positions[t:t + 1], B, 0),
                           frame)
        feats = frame_features(state, prev, axis_rays(scene, loc[:, t], frame),
                               np.repeat(vel[t:t + 1], B, 0), loc[:, t, 2] - ground, shot,
                               t / (T - 1), screen_x, subject.radius)
        out, hidden = model(torch.from_numpy(feats)[:, None], hidden)
        delta = out[:, 0].numpy().astype(float) * t_std + t_mean
        rel = state[:, :3] + delta[:, :3] * VEL_SCALE / fps
        fwd = state[:, 3:6] + delta[:, 3:6] / fps
        up = state[:, 6:9] + delta[:, 6:9] / fps
        new_loc, moved = clamp(scene, subject.positions[t + 1] + rel @ frame.T)
        clamped += moved
        loc[:, t + 1] = new_loc
        rot[:, t + 1] = _rot_from(fwd @ frame.T, up @ frame.T)
        new_state = pose_state(loc[:, t + 1], rot[:, t + 1],
                               np.repeat(subject.positions[t + 1:t + 2], B, 0), frame)
        prev = (new_state - state) * fps
        prev[:, :3] /= VEL_SCALE
    return loc, rot, clamped


def variants(count: int, side: str | None) -> list[tuple[float, str]]:
    """(azimuth, side) of the first ``count`` variants, in the planner's order (no jitter)."""
    return [(AZIMUTHS[i % len(AZIMUTHS)], side or ("left", "right")[i % 2])
            for i in range(count)]


def sample_shot(model: NextPoseModel, ck: dict, scene: SceneGeometry, subject: Subject,
                shot: str, options: ShotOptions | None = None, count: int = 4,
                aim: str = "model", alternatives: int = 1, smooth: bool = True) -> dict:
    """The learned paths of ``shot`` (one of ``shots.BASIC_SHOTS``) for ``subject`` in
    ``scene``: the planner's result dict, best ``alternatives`` first."""
    if shot not in BASIC_SHOTS:
        raise ValueError(f"the learned model plays the shots {', '.join(BASIC_SHOTS)}; got "
                         f"{shot!r}")
    if aim not in ("model", "look_at"):
        raise ValueError(f"aim must be 'model' or 'look_at', got {aim!r}")
    options = options or ShotOptions()
    drone = DRONES[options.drone]
    keys_list = [make_shot(shot, subject, options, az, side) for az, side in
                 variants(count, options.side)]
    locs, rots, clamped = rollout(model, ck, scene, subject, shot, keys_list)
    planned = []
    n, fps = subject.frames, subject.fps
    for b, keys in enumerate(keys_list):
        loc, rot_m = locs[b], rots[b]
        if smooth:
            loc, fixed = smooth_clear(scene, loc, fps, drone.smoothing_s)
            clamped[b] += fixed
            weight = np.full(n, KEY_SPACING_S / fps)
            look = smooth_path(n, fps, np.arange(n),
                               np.concatenate([-rot_m[:, :, 2], rot_m[:, :, 1]], axis=1),
                               weight, drone.aim_smoothing_s)
            rot_m = _rot_from(look[:, :3], look[:, 3:])
        lens = np.full(subject.frames, options.lens_mm or auto_lens(loc, subject))
        target = (float(keys.screen_x), 0.0)
        if aim == "look_at":
            aim_pts = smooth_path(subject.frames, subject.fps, np.arange(subject.frames),
                                  subject.positions, np.ones(subject.frames),
                                  drone.aim_smoothing_s)
            rotation = look_rotations(loc, aim_pts, lens, target, keys.up_hint)
        else:
            rotation = quat.unroll(quat.from_matrix(rot_m))
        keys.name = f"learned {keys.name}"
        path = Path(keys, loc, rotation, lens, target, [])
        m = path_metrics(path, subject, scene)
        m["clamped_frames"] = int(clamped[b])
        planned.append((score(m) + _limits_penalty(m, drone), b, path, m))
    planned.sort(key=lambda item: (item[0], item[1]))
    best = planned[:alternatives]
    warnings = []
    top = best[0][3]
    if top["clamped_frames"]:
        warnings.append(f"the learned path came nearer than {CLAMP_M} m to the scene on "
                        f"{top['clamped_frames']} of {subject.frames} frames and was pushed out")
    if top["crashes"]:
        warnings.append(f"the learned path crashes on {top['crashes']} frames")
    return {"fps": subject.fps, "frames": subject.frames, "method": "learned",
            "paths": [path_result(p, m) for _s, _i, p, m in best], "selected": 0,
            "warnings": warnings}
