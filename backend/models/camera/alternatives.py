"""Plan a shot: several variants (azimuth, side, a surprise's draw) planned and measured, the
best ``alternatives`` returned best first, with warnings when no variant is free. A reveal hides
behind cover and a fly-through takes a gap where the scene has them (openings.py). When no
variant is free and visible, fallback variants (other azimuths, closer, higher) are ranked by a
quick look at their keys (``key_quality``) and planned one at a time until one is.

``plan_shot`` returns the job's result (see job.py): ``{"fps", "frames", "paths": [...],
"selected": 0, "warnings": [...]}``.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable

import numpy as np

from .geometry import SceneGeometry, crop
from .metrics import path_metrics, score
from .openings import OpeningSearch
from .planner import CLEARANCE_M, DRONES, SUBJECT_CORE, plan_path
from .shots import ShotOptions, Subject, default_distance, make_shot

IN_FRAME_TARGET = 0.98
UNOCCLUDED_TARGET = 0.95
AZIMUTHS = (0.0, math.pi / 3, -math.pi / 3, 2 * math.pi / 3, -2 * math.pi / 3, math.pi,
            math.pi / 6, -math.pi / 6)
# When no variant is free and visible: other azimuths, then (distance factor, metres higher):
# every pair of 1 / 0.6 / 0.35 times the distance and 0 / 3 m higher, ranked by key_quality
FALLBACKS = ((0.6, 0.0), (1.0, 3.0), (0.35, 0.0), (0.6, 3.0), (0.35, 3.0))
FALLBACK_VARIANTS = 3
ENCLOSED_DIRECTIONS = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1],
                                [0, 0, -1], [1, 1, 1], [-1, 1, 1], [1, -1, 1], [-1, -1, 1],
                                [1, 1, -1], [-1, 1, -1], [1, -1, -1], [-1, -1, -1]], float)
ENCLOSED_DIRECTIONS /= np.linalg.norm(ENCLOSED_DIRECTIONS, axis=1, keepdims=True)


def _noop(*_args) -> None:
    return None


def scene_region(subject: Subject, options: ShotOptions) -> tuple[np.ndarray, np.ndarray]:
    """Box (lo (3,), hi (3,)) that any variant of the shot stays in: triangles outside it are
    dropped before indexing."""
    d = options.distance or default_distance(subject)
    reach = 5.0 * d + (options.speed or 0.0) * subject.duration + \
        (abs(options.height) if options.height is not None else 0.0) + 20.0
    return subject.positions.min(axis=0) - reach, subject.positions.max(axis=0) + reach


def build_scene(vertices: np.ndarray, triangles: np.ndarray, subject: Subject,
                options: ShotOptions, check: Callable = _noop,
                progress: Callable = _noop) -> SceneGeometry:
    """The scene's triangles near the shot, indexed."""
    lo, hi = scene_region(subject, options)
    kept = crop(vertices, triangles, lo, hi)
    check()
    return SceneGeometry(vertices, kept, check=check, progress=progress)


def subject_enclosed(scene: SceneGeometry, subject: Subject) -> bool:
    """True when rays in 14 directions from the subject's centre (first, middle and last frame)
    all hit geometry: the subject is inside a closed mesh."""
    if scene.num_triangles == 0:
        return False
    frames = sorted({0, subject.frames // 2, subject.frames - 1})
    origins = np.repeat(subject.positions[frames], len(ENCLOSED_DIRECTIONS), axis=0)
    dirs = np.tile(ENCLOSED_DIRECTIONS, (len(frames), 1))
    hit, _ = scene.raycast(origins, dirs, 1000.0)
    return bool(hit.all())


def _good(metrics: dict) -> bool:
    return metrics["crashes"] == 0 and metrics["unoccluded"] >= UNOCCLUDED_TARGET and \
        metrics["in_frame"] >= IN_FRAME_TARGET


def _limits_penalty(metrics: dict, drone) -> float:
    """Ranks paths over the drone's limits, or jerkier than a Catmull-Rom spline, lower."""
    over = metrics["max_speed"] > drone.max_speed * 1.01 or \
        metrics["max_accel"] > drone.max_accel * 1.01
    return 50.0 * over + 20.0 * (metrics["jerk"] > metrics["catmull_rom_jerk"] + 1e-6)


def _variants(count: int, side: str | None, seed: int) -> list[tuple[float, str, int]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        az = AZIMUTHS[i % len(AZIMUTHS)] + float(rng.uniform(-0.15, 0.15))
        out.append((az, side or ("left", "right")[i % 2], seed * 1000 + i))
    return out


def scene_keys(shot: str, subject: Subject, options: ShotOptions, azimuth: float, side: str,
               draw: int, openings: OpeningSearch):
    """(ShotKeys, note): a reveal from behind the nearest cover, a fly-through through a gap
    (openings.py), else the plain shot (shots.py) with a note saying why."""
    plain = make_shot(shot, subject, options, azimuth, side, np.random.default_rng(draw))
    if shot not in ("reveal", "fly_through"):
        return plain, ""
    if shot == "reveal":
        keys, why = openings.reveal(options, azimuth)
        fallback = "the camera rises from low instead, without a planned hiding place"
    else:
        keys, why = openings.fly_through(options, azimuth)
        fallback = "the camera flies straight in towards the subject"
    if keys is None:
        return plain, f"{shot.replace('_', '-')}: {why}; {fallback}"
    keys.params.update({k: plain.params[k] for k in ("distance", "height", "side", "azimuth")})
    return keys, ""


def path_result(path, metrics: dict) -> dict:
    """One entry of the result's ``paths``."""
    return {"name": path.keys.name, "shot": path.keys.shot,
            "location": np.round(path.location, 5).tolist(),
            "rotation": np.round(path.rotation, 6).tolist(),
            "lens_mm": np.round(path.lens_mm, 3).tolist(), "metrics": metrics}


def plan_shot(subject: Subject, shot: str, options: ShotOptions, scene: SceneGeometry, *,
              alternatives: int = 3, seed: int = 0, check: Callable = _noop,
              progress: Callable = _noop) -> dict:
    """Plan ``shot`` for ``subject`` in ``scene``; the best ``alternatives`` paths, best first."""
    drone = DRONES[options.drone]
    count = max(alternatives + 1, 4)
    planned = []
    openings = OpeningSearch(scene, subject, check)

    def plan_one(keys, note, opts, done, total):
        check()
        progress(done / total, f"planning variant {done + 1} of the {shot} shot")
        path = plan_path(keys, subject, scene, drone, opts.lens_mm, check)
        if note:
            path.notes.insert(0, note)
        metrics = path_metrics(path, subject, scene)
        planned.append((score(metrics) + _limits_penalty(metrics, drone), len(planned),
                        path, metrics))

    variants = _variants(count + FALLBACK_VARIANTS, options.side, seed)
    total = count + (len(FALLBACKS) + 1) * FALLBACK_VARIANTS
    for i, (azimuth, side, draw) in enumerate(variants[:count]):
        plan_one(*scene_keys(shot, subject, options, azimuth, side, draw, openings), options,
                 i, total)
    if _good(min(planned, key=lambda item: item[0])[3]):
        return _result(planned, subject, shot, options, scene, alternatives, progress)
    # nothing free and visible yet: other azimuths, then closer (under roofs, into gaps) or
    # higher (over the obstacles); the candidates whose keys look clearest are planned first,
    # one at a time, until one is free and visible
    d = options.distance or default_distance(subject)
    candidates = [(options, v) for v in variants[count:]]
    for factor, higher in FALLBACKS:
        height = (1.5 if options.height is None else options.height) + higher
        if shot == "top_down":
            height = (options.height or max(6.0, 2.0 * d)) * factor
        elif options.height is None and higher == 0.0:
            height = None
        fallback = replace(options, distance=max(1.0, d * factor), height=height)
        candidates += [(fallback, v) for v in variants[:FALLBACK_VARIANTS]]
    ranked = []
    for order, (opts, (azimuth, side, draw)) in enumerate(candidates):
        keys, note = scene_keys(shot, subject, opts, azimuth, side, draw, openings)
        ranked.append((-key_quality(keys, subject, scene), order, keys, note, opts))
    ranked.sort(key=lambda item: item[:2])
    for done, (_q, _o, keys, note, opts) in enumerate(ranked, start=count):
        plan_one(keys, note, opts, done, total)
        if _good(min(planned, key=lambda item: item[0])[3]):
            break
    return _result(planned, subject, shot, options, scene, alternatives, progress)


def key_quality(keys, subject: Subject, scene: SceneGeometry) -> float:
    """A quick look at a variant before planning it: the share of its keys and the midpoints
    between them that are clear of the scene (CLEARANCE_M) and see the subject's centre."""
    times = np.concatenate([keys.times, 0.5 * (keys.times[1:] + keys.times[:-1])])
    pts = np.concatenate([keys.positions, 0.5 * (keys.positions[1:] + keys.positions[:-1])])
    clear = scene.clearance(pts, cap=CLEARANCE_M + 0.1) >= CLEARANCE_M
    centres = subject.at(times)
    delta = centres - pts
    dist = np.linalg.norm(delta, axis=1)
    hit, _ = scene.raycast(pts, delta / np.maximum(dist, 1e-9)[:, None],
                           np.maximum(dist - SUBJECT_CORE * subject.radius, 0.0))
    return float(np.mean(clear & ~hit))


def _result(planned: list, subject: Subject, shot: str, options: ShotOptions,
            scene: SceneGeometry, alternatives: int, progress: Callable) -> dict:
    planned.sort(key=lambda item: (item[0], item[1]))
    best = planned[:alternatives]
    warnings: list[str] = []
    top = best[0][3]
    if subject_enclosed(scene, subject):
        warnings.append("the subject is inside a closed mesh (every ray from it hits the "
                        "scene): only a camera inside the same mesh can see it")
    if top["crashes"]:
        warnings.append(f"no free path: every variant of the {shot} shot comes within 0.5 m "
                        f"of the scene; the best partial path crashes on {top['crashes']} of "
                        f"{subject.frames} frames")
    if top["unoccluded"] < UNOCCLUDED_TARGET:
        warnings.append(f"no free view: the subject is hidden behind the scene in "
                        f"{100 * (1 - top['unoccluded']):.0f} % of the frames of the best "
                        f"partial path")
    if top["in_frame"] < IN_FRAME_TARGET:
        warnings.append(f"the subject leaves the frame in {100 * (1 - top['in_frame']):.0f} % "
                        f"of the frames of the best path")
    used = best[0][2].keys.params
    if options.distance and shot != "surprise" and \
            abs(used["distance"] - options.distance) > 1e-6:
        warnings.append(f"no free path at the asked distance ({options.distance:g} m): the "
                        f"best path keeps {used['distance']:.1f} m")
    warnings.extend(best[0][2].notes)
    progress(1.0, "planned")
    return {"fps": subject.fps, "frames": subject.frames,
            "paths": [path_result(p, m) for _s, _i, p, m in best], "selected": 0,
            "warnings": warnings}
