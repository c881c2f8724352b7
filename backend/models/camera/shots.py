"""Shot types: key camera positions (waypoints) over time around a moving subject.

A shot is a function of the subject's track and a few options; ``variant`` (an azimuth in
radians, and the orbit / pass side when the user left it open) makes the alternatives the
planner compares. Keys come once per ``KEY_SPACING_S`` (at least 4): those are the waypoints the
planner smooths (and the Catmull-Rom reference goes through).

Shots (d = distance, default 2 + 4 * radius, at least 3 m; h = height above the subject's
centre, default 1.5 m; "speed" changes what the list says, else the default):
  orbit        circles the subject at d, h; speed = arc speed (1.2 m/s); side: left = counter-
               clockwise seen from above
  reveal       starts 1 m above the ground at 1.25 d behind, rises to h + rise while closing to
               d; speed = rise per second (rise 0.6 d, at least 2.5 m)
  fly_through  flies in from d + travel to d; speed = travel per second (travel 2.2 d)
  follow       behind the subject's direction of travel at d, h
  fly_by       passes beside the subject's path at d on the side, parallel to its travel;
               speed = pass length per second (2.5 d)
  crane        rises from 1 m above the ground to h + rise at d (boom in 15 %); speed = rise
               per second (0.8 d, at least 3 m)
  dronie       starts 0.5 d in front, pulls back and up; speed = pull-back per second (3 d)
  top_down     above the subject at max(6, 2 d) (or h), looking straight down, drifting along
               its travel; speed = drift (0.3 m/s)
  surprise     one of the above drawn from the seed with random distance, height, side, and
               for orbit / follow / fly-by sometimes a crane's rise on top

Angles: ``azimuth`` is measured in the XY plane from +X (counter-clockwise seen from above);
``heading`` is the subject's overall direction of travel (or -Y, where a character faces, when
it stands still). "left"/"right" is seen from the subject looking along its heading.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

SHOTS = ("orbit", "reveal", "fly_through", "follow", "fly_by", "crane", "dronie", "top_down",
         "surprise")
BASIC_SHOTS = SHOTS[:-1]
KEY_SPACING_S = 1.0
STILL_M = 0.5            # less travel than this over the shot: the subject stands still


@dataclass
class Subject:
    """The subject's centre per frame ``positions`` (T, 3) at ``fps``, and its ``radius``;
    optionally ``points`` (T, K, 3): points on its body (a character's head, chest, hips,
    hands, feet) that visibility is checked against instead of a sphere."""
    positions: np.ndarray
    fps: float
    radius: float
    points: np.ndarray | None = None

    @property
    def frames(self) -> int:
        return len(self.positions)

    @property
    def duration(self) -> float:
        return (self.frames - 1) / self.fps

    def at(self, times: np.ndarray) -> np.ndarray:
        """Centre (K, 3) at ``times`` (K,) seconds, linearly interpolated, clamped."""
        f = np.clip(np.asarray(times, float) * self.fps, 0, self.frames - 1)
        i = np.minimum(np.floor(f).astype(int), self.frames - 2)
        w = (f - i)[:, None]
        return self.positions[i] * (1 - w) + self.positions[i + 1] * w

    def heading(self) -> np.ndarray:
        """Unit horizontal direction (3,) of travel over the shot (-Y when standing still)."""
        d = self.positions[-1] - self.positions[0]
        d[2] = 0.0
        n = np.linalg.norm(d)
        return d / n if n > STILL_M else np.array([0.0, -1.0, 0.0])

    def headings(self, times: np.ndarray, window_s: float = 1.0) -> np.ndarray:
        """Unit horizontal travel directions (K, 3) around each time (the overall heading
        where the subject barely moves)."""
        fallback = self.heading()
        a = self.at(times - window_s / 2)
        b = self.at(times + window_s / 2)
        d = b - a
        d[:, 2] = 0
        n = np.linalg.norm(d, axis=1, keepdims=True)
        return np.where(n > 0.2 * window_s, d / np.maximum(n, 1e-9), fallback)

    def ground(self) -> float:
        """Where the ground probably is: the lowest point of the subject's sphere."""
        return float(self.positions[:, 2].min() - self.radius)


@dataclass
class ShotOptions:
    """Options of a shot (None: the shot's default)."""
    duration_s: float | None = None
    distance: float | None = None
    height: float | None = None
    speed: float | None = None
    side: str | None = None              # "left" | "right"
    lens_mm: float | None = None
    drone: str = "cinematic"             # "cinematic" | "fpv"


@dataclass
class ShotKeys:
    """Waypoints of one shot: ``times`` (K,) seconds, ``positions`` (K, 3); ``screen_x`` the
    subject's target in normalised screen x (-1 left edge .. 1 right edge), ``up_hint`` the
    camera's up for looking straight down (None: world Z); ``weights`` (K,) how firmly the
    path holds each key (None: 1 each; a gap's keys weigh more); ``hidden_until_s``: a reveal
    starts with the subject hidden until then (the planner leaves those frames hidden)."""
    shot: str
    name: str
    times: np.ndarray
    positions: np.ndarray
    screen_x: float = 1 / 3
    up_hint: np.ndarray | None = None
    params: dict = field(default_factory=dict)
    weights: np.ndarray | None = None
    hidden_until_s: float = 0.0


def default_distance(subject: Subject) -> float:
    return max(3.0, 2.0 + 4.0 * subject.radius)


def _key_times(duration: float, fps: float) -> np.ndarray:
    """Key times (K,) about KEY_SPACING_S apart, on frames."""
    n = max(4, int(round(duration / KEY_SPACING_S)) + 1)
    return np.unique(np.round(np.linspace(0.0, duration, n) * fps)) / fps


def _around(centre: np.ndarray, azimuth: np.ndarray, distance, height) -> np.ndarray:
    azimuth = np.asarray(azimuth, float)
    offset = np.stack([np.cos(azimuth), np.sin(azimuth), np.zeros_like(azimuth)], -1)
    return centre + offset * np.asarray(distance, float)[..., None] + \
        np.stack([0 * azimuth, 0 * azimuth, np.ones_like(azimuth) * height], -1)


def _angle(v: np.ndarray) -> float:
    return math.atan2(float(v[1]), float(v[0]))


def make_shot(shot: str, subject: Subject, options: ShotOptions, azimuth: float,
              side: str, rng: np.random.Generator | None = None) -> ShotKeys:
    """Waypoints of ``shot`` for ``subject`` with ``options``; ``azimuth`` (radians, relative to
    the subject's heading, 0 = behind it) and ``side`` ("left"/"right") pick the variant."""
    if shot == "surprise":
        return _surprise(subject, options, azimuth, rng or np.random.default_rng(0))
    if shot not in BASIC_SHOTS:
        raise ValueError(f"unknown shot {shot!r}; one of {', '.join(SHOTS)}")
    T = subject.duration
    t = _key_times(T, subject.fps)
    s = t / T
    S = subject.at(t)
    d = options.distance or default_distance(subject)
    h = 1.5 if options.height is None else options.height
    sign = 1.0 if side == "left" else -1.0
    head = subject.heading()
    back = _angle(-head) + azimuth               # behind the subject, turned by the variant
    floor = subject.ground() + 1.0 - S[:, 2]     # 1 m above the ground, relative to the centre
    screen_x = -sign / 3
    up_hint = None
    if shot == "orbit":
        speed = options.speed or 1.2
        ang = back + sign * speed * t / d
        P = _around(S, ang, np.full_like(t, d), h)
        label = f"orbit, {side}, {d:.0f} m"
        screen_x = sign / 3
    elif shot == "reveal":
        rise = options.speed * T if options.speed else max(2.5, d * 0.6)
        z = floor + (h + rise - floor) * _ease(s)
        P = _around(S, np.full_like(t, back), d * (1.25 - 0.25 * _ease(s)), 0.0)
        P[:, 2] += z
        label = f"reveal, rise {rise:.0f} m"
    elif shot == "fly_through":
        travel = options.speed * T if options.speed else 2.2 * d
        dist = d + travel * (1.0 - _ease(s))
        P = _around(S, np.full_like(t, back), dist, h)
        label = f"fly-through, {travel:.0f} m in"
        screen_x = 0.0
    elif shot == "follow":
        heads = subject.headings(t)
        ang = np.array([_angle(-v) for v in heads]) + azimuth * 0.3
        P = _around(S, np.unwrap(ang), np.full_like(t, d), h)
        label = f"follow, {d:.0f} m behind"
        screen_x = 0.0
    elif shot == "fly_by":
        length = options.speed * T if options.speed else 2.5 * d
        perp = np.array([-head[1], head[0], 0.0]) * sign          # the subject's left/right
        turn = _rotz(azimuth * 0.25)
        P = S + (turn @ perp) * d + (turn @ head) * (length * (s - 0.5))[:, None]
        P[:, 2] += h
        label = f"fly-by, {side}, {d:.0f} m"
        screen_x = -sign / 3
    elif shot == "crane":
        rise = options.speed * T if options.speed else max(3.0, d * 0.8)
        z = floor + (h + rise - floor) * _ease(s)
        P = _around(S, np.full_like(t, back), d * (1.0 - 0.15 * _ease(s)), 0.0)
        P[:, 2] += z
        label = f"crane up {rise:.0f} m"
    elif shot == "dronie":
        pull = options.speed * T if options.speed else 3.0 * d
        front = _angle(head) + azimuth * 0.5
        dist = 0.5 * d + pull * _ease(s) * 0.85
        P = _around(S, np.full_like(t, front), dist, 0.0)
        P[:, 2] += 0.5 + (h + pull * 0.5) * _ease(s)
        label = f"dronie, {pull:.0f} m back"
        screen_x = 0.0
    else:  # top_down
        height = options.height if options.height is not None else max(6.0, 2.0 * d)
        drift = (options.speed or 0.3) * T
        P = S + np.array([0.0, 0.0, height]) + head * (drift * (s - 0.5))[:, None]
        up_hint = head
        label = f"top-down, {height:.0f} m up"
        screen_x = 0.0
    return ShotKeys(shot, label, t, P, screen_x, up_hint,
                    {"distance": d, "height": h, "side": side, "azimuth": azimuth})


def _ease(s: np.ndarray) -> np.ndarray:
    """Smooth 0 -> 1 over s in [0, 1] (zero slope at both ends)."""
    s = np.clip(s, 0.0, 1.0)
    return s * s * (3 - 2 * s)


def _rotz(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def _surprise(subject: Subject, options: ShotOptions, azimuth: float,
              rng: np.random.Generator) -> ShotKeys:
    """A random shot with random distance, height and side, sometimes combined with a crane's
    rise (orbit, follow and fly-by) ... all drawn from ``rng`` (the job's seed)."""
    base = str(rng.choice(["orbit", "reveal", "fly_through", "follow", "fly_by", "crane",
                           "dronie", "top_down"]))
    d0 = options.distance or default_distance(subject)
    picked = ShotOptions(duration_s=options.duration_s,
                         distance=float(d0 * rng.uniform(0.85, 1.4)),
                         height=options.height if options.height is not None
                         else float(rng.uniform(0.5, 3.0)),
                         speed=options.speed, side=options.side, lens_mm=options.lens_mm,
                         drone=options.drone)
    side = options.side or str(rng.choice(["left", "right"]))
    keys = make_shot(base, subject, picked, azimuth, side)
    rise = float(rng.uniform(1.5, 4.0)) if base in ("orbit", "follow", "fly_by") \
        and rng.random() < 0.6 else 0.0
    if rise:
        keys.positions[:, 2] += rise * _ease(keys.times / keys.times[-1])
    keys.name = "surprise: " + keys.name + (f" + rise {rise:.0f} m" if rise else "")
    keys.shot = "surprise"
    keys.params["base"] = base
    return keys
