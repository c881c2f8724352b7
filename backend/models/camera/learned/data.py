"""Training trajectories for the next-camera-pose model: random procedural scenes (a ground,
boxes, pillars, walls, sometimes a roof) around a random subject walk, planned by the existing
planner with random shots, options and variants; and the per-frame features both training and
sampling use.

Everything the model sees is in the subject's *heading frame*: x along the subject's overall
direction of travel, y to its left, z up (so the model does not depend on the world's yaw).

Features per frame t (``FEATURES`` = 40 values, ``frame_features``): the camera position
relative to the subject / 10 m (3), the subject's velocity t -> t+1 / 5 m/s (3), the camera's
look direction (3) and up (3), six axis-ray distances from the camera along the heading frame's
axes / ``RAY_CAP_M`` (6, capped at 1: DVGFormer's coarse sensing), the shot type one-hot (8),
progress t / (T - 1), the screen target x, the subject radius / 2 (3), the distance to the
subject / 10 m and the camera height over the subject's ground / 10 m (2), and the pose delta
of the previous step (``TARGETS`` = 9: the change of the relative position * fps / 5 m/s and
of look / up * fps).
Targets per frame t: the pose delta t -> t+1 (9 values, same units).
"""
from __future__ import annotations

import math

import numpy as np

from ....motion import quat
from ..geometry import SceneGeometry
from ..metrics import path_metrics
from ..planner import DRONES, plan_path
from ..shots import BASIC_SHOTS, ShotOptions, Subject, make_shot

RAY_CAP_M = 5.0
POS_SCALE = 10.0
VEL_SCALE = 5.0
TARGETS = 9
FEATURES = 3 + 3 + 3 + 3 + 6 + len(BASIC_SHOTS) + 3 + 2 + TARGETS


def heading_frame(subject: Subject) -> np.ndarray:
    """(3, 3) columns: the subject's heading, its left, up (world vectors)."""
    h = subject.heading()
    return np.stack([h, np.array([-h[1], h[0], 0.0]), np.array([0.0, 0.0, 1.0])], axis=-1)


def axis_rays(scene: SceneGeometry, points: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Distances (P, 6) / RAY_CAP_M (1 = nothing within the cap) from ``points`` (P, 3) along
    +-x, +-y, +-z of ``frame`` (3, 3)."""
    dirs = np.concatenate([frame.T, -frame.T])[[0, 3, 1, 4, 2, 5]]
    hit, t = scene.raycast(np.repeat(points, 6, axis=0), np.tile(dirs, (len(points), 1)),
                           RAY_CAP_M)
    return np.where(hit, t, RAY_CAP_M).reshape(-1, 6) / RAY_CAP_M


def pose_state(loc: np.ndarray, rot_m: np.ndarray, subject_pos: np.ndarray,
               frame: np.ndarray) -> np.ndarray:
    """Heading-frame state (P, 9): relative position (m), look direction, up."""
    rel = (loc - subject_pos) @ frame
    return np.concatenate([rel, (-rot_m[:, :, 2]) @ frame, rot_m[:, :, 1] @ frame], axis=1)


def state_delta(a: np.ndarray, b: np.ndarray, fps: float) -> np.ndarray:
    """Scaled pose change (P, 9) from states ``a`` to ``b`` (P, 9)."""
    d = (b - a) * fps
    d[:, :3] /= VEL_SCALE
    return d


def frame_features(state: np.ndarray, prev_delta: np.ndarray, rays: np.ndarray,
                   subject_vel: np.ndarray, ground_z: np.ndarray, shot: str, progress,
                   screen_x, radius: float) -> np.ndarray:
    """Features (P, FEATURES) from heading-frame states (P, 9), the previous deltas (P, 9),
    rays (P, 6), subject velocities (P, 3) m/s in the heading frame, the cameras' height over
    the subject's ground (P,) m, and per-shot values (``progress``, ``screen_x``: scalars or
    (P,))."""
    P = len(state)
    onehot = np.zeros((P, len(BASIC_SHOTS)))
    onehot[:, BASIC_SHOTS.index(shot)] = 1.0
    dist = np.linalg.norm(state[:, :3], axis=1, keepdims=True)
    extra = np.stack([np.broadcast_to(progress, (P,)), np.broadcast_to(screen_x, (P,)),
                      np.full(P, radius / 2)], -1)
    return np.concatenate([state[:, :3] / POS_SCALE, subject_vel / VEL_SCALE, state[:, 3:],
                           rays, onehot, extra, dist / POS_SCALE,
                           ground_z[:, None] / POS_SCALE, prev_delta], axis=1).astype(np.float32)


def trajectory_arrays(loc: np.ndarray, rot_m: np.ndarray, subject: Subject, shot: str,
                      screen_x: float, scene: SceneGeometry) -> tuple[np.ndarray, np.ndarray]:
    """(features (T-1, FEATURES), targets (T-1, TARGETS)) of a camera path ``loc`` (T, 3),
    ``rot_m`` (T, 3, 3): frame t's features predict the pose delta t -> t+1."""
    frame = heading_frame(subject)
    fps, T = subject.fps, subject.frames
    state = pose_state(loc, rot_m, subject.positions, frame)
    delta = state_delta(state[:-1], state[1:], fps)
    prev = np.concatenate([np.zeros((1, TARGETS)), delta[:-1]])
    vel = (np.diff(subject.positions, axis=0) * fps) @ frame
    rays = axis_rays(scene, loc[:-1], frame)
    ground = loc[:-1, 2] - subject.ground()
    feats = frame_features(state[:-1], prev, rays, vel, ground, shot,
                           np.arange(T - 1) / (T - 1), screen_x, subject.radius)
    return feats, delta.astype(np.float32)


# --------------------------------------------------------------------- random scenes
def _box(lo, hi) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    v = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                  [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], float)
    f = np.array([[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
                  [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]])
    return v, f


def random_walk(rng: np.random.Generator, frames: int, fps: float, radius: float) -> np.ndarray:
    """Subject centres (frames, 3): standing, straight or curving walks, 0 .. 1.8 m/s."""
    speed = 0.0 if rng.random() < 0.2 else rng.uniform(0.4, 1.8)
    turn = rng.choice([0.0, rng.uniform(-0.5, 0.5)])            # rad/s
    yaw0 = rng.uniform(-math.pi, math.pi)
    t = np.arange(frames) / fps
    yaw = yaw0 + turn * t
    step = speed / fps
    xy = np.cumsum(np.stack([np.cos(yaw), np.sin(yaw)], -1) * step, axis=0) - \
        np.array([math.cos(yaw0), math.sin(yaw0)]) * step
    z = radius + 0.03 * np.sin(2 * math.pi * 1.8 * t) * (speed > 0)
    return np.concatenate([xy, z[:, None]], axis=1)


def random_scene(rng: np.random.Generator, track: np.ndarray, radius: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3), triangles (F, 3): a ground plus random boxes, pillars, walls and
    sometimes a roof, none within ``radius`` + 0.4 m of the subject's walk (XY)."""
    centre = track.mean(axis=0)
    parts = [_box([centre[0] - 40, centre[1] - 40, -0.2], [centre[0] + 40, centre[1] + 40, 0.0])]
    lo_xy = track[:, :2].min(axis=0) - 14
    hi_xy = track[:, :2].max(axis=0) + 14
    for _ in range(int(rng.integers(4, 26))):
        kind = rng.choice(["pillar", "box", "wall"], p=[0.45, 0.3, 0.25])
        if kind == "pillar":
            size = np.array([rng.uniform(0.3, 1.2)] * 2 + [rng.uniform(2.5, 12)])
        elif kind == "box":
            size = np.array([rng.uniform(1, 5), rng.uniform(1, 5), rng.uniform(0.5, 4)])
        else:
            size = np.array([rng.uniform(3, 14), rng.uniform(0.2, 0.5), rng.uniform(2, 8)])
            if rng.random() < 0.5:
                size[[0, 1]] = size[[1, 0]]
        c = rng.uniform(lo_xy, hi_xy)
        lo = np.array([*(c - size[:2] / 2), 0.0])
        hi = np.array([*(c + size[:2] / 2), size[2]])
        near = np.clip(track[:, :2], lo[:2], hi[:2])
        if np.linalg.norm(track[:, :2] - near, axis=1).min() < radius + 0.4:
            continue
        parts.append(_box(lo, hi))
    if rng.random() < 0.25:                                 # a roof over part of the walk
        h = rng.uniform(3.0, 6.0)
        c = track[rng.integers(len(track)), :2]
        half = rng.uniform(3, 10, 2)
        parts.append(_box([*(c - half), h], [*(c + half), h + 0.3]))
    verts, tris, offset = [], [], 0
    for v, f in parts:
        verts.append(v)
        tris.append(f + offset)
        offset += len(v)
    return np.concatenate(verts), np.concatenate(tris).astype(np.int32)


def random_options(rng: np.random.Generator, shot: str) -> ShotOptions:
    """Varied shot options (each left at the shot's default half of the time)."""
    def maybe(lo, hi):
        return float(rng.uniform(lo, hi)) if rng.random() < 0.5 else None
    return ShotOptions(distance=maybe(2.5, 9.0), height=maybe(0.3, 4.0),
                       speed=None if shot in ("reveal", "crane", "dronie") else maybe(0.3, 2.5),
                       drone=str(rng.choice(["cinematic", "fpv"], p=[0.8, 0.2])))


def make_example(rng: np.random.Generator, fps: float = 30.0, keep_bad: bool = False
                 ) -> dict | None:
    """One planned trajectory in a random scene: {"shot", "features" (T-1, FEATURES),
    "targets" (T-1, TARGETS), "metrics"}; None when the planner's path crashes, hides the
    subject or loses it from frame (unless ``keep_bad``)."""
    frames = int(rng.integers(6, 11) * fps)
    radius = float(rng.uniform(0.5, 1.1))
    track = random_walk(rng, frames, fps, radius)
    subject = Subject(track, fps, radius)
    vertices, triangles = random_scene(rng, track, radius)
    scene = SceneGeometry(vertices, triangles)
    shot = str(rng.choice(BASIC_SHOTS))
    options = random_options(rng, shot)
    keys = make_shot(shot, subject, options, float(rng.uniform(-math.pi, math.pi)),
                     str(rng.choice(["left", "right"])))
    path = plan_path(keys, subject, scene, DRONES[options.drone], None)
    metrics = path_metrics(path, subject, scene)
    if not keep_bad and (metrics["crashes"] or metrics["in_frame"] < 0.98
                         or metrics["unoccluded"] < 0.9):
        return None
    feats, targets = trajectory_arrays(path.location, quat.to_matrix(path.rotation), subject,
                                       shot, path.screen_target[0], scene)
    return {"shot": shot, "features": feats, "targets": targets, "metrics": metrics}


def make_dataset(count: int, seed: int = 0, log=lambda m: None, max_tries: int = 4
                 ) -> dict:
    """``count`` good trajectories: {"features": (N, L, F) float32 zero-padded, "targets":
    (N, L, 9), "mask": (N, L) bool, "shots": [str] * N}."""
    rng = np.random.default_rng(seed)
    examples, tries = [], 0
    while len(examples) < count and tries < count * max_tries:
        tries += 1
        ex = make_example(rng)
        if ex is not None:
            examples.append(ex)
            if len(examples) % 25 == 0:
                log(f"{len(examples)}/{count} trajectories ({tries} planned)")
    if not examples:
        raise RuntimeError("no good planner trajectory in the random scenes")
    L = max(len(e["features"]) for e in examples)
    feats = np.zeros((len(examples), L, FEATURES), np.float32)
    targets = np.zeros((len(examples), L, TARGETS), np.float32)
    mask = np.zeros((len(examples), L), bool)
    for i, e in enumerate(examples):
        n = len(e["features"])
        feats[i, :n], targets[i, :n], mask[i, :n] = e["features"], e["targets"], True
    return {"features": feats, "targets": targets, "mask": mask,
            "shots": [e["shot"] for e in examples], "tries": tries}
