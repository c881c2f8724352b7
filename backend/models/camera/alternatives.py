"""Plan a shot: several variants (azimuth, side, a surprise's draw) planned and measured, the
best ``alternatives`` returned best first, with warnings when no variant is free.

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
from .planner import DRONES, plan_path
from .shots import ShotOptions, Subject, default_distance, make_shot

IN_FRAME_TARGET = 0.98
UNOCCLUDED_TARGET = 0.95
AZIMUTHS = (0.0, math.pi / 3, -math.pi / 3, 2 * math.pi / 3, -2 * math.pi / 3, math.pi,
            math.pi / 6, -math.pi / 6)
# When no variant is free and visible: other azimuths, then (distance factor, metres higher)
FALLBACKS = ((0.6, 0.0), (1.0, 3.0), (0.35, 0.0), (0.6, 3.0))
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

    def plan_variants(variants, opts, start, total):
        for i, (azimuth, side, draw) in enumerate(variants):
            check()
            progress((start + i) / total, f"planning variant {start + i + 1} of the {shot} shot")
            keys = make_shot(shot, subject, opts, azimuth, side, np.random.default_rng(draw))
            path = plan_path(keys, subject, scene, drone, opts.lens_mm, check)
            metrics = path_metrics(path, subject, scene)
            planned.append((score(metrics) + _limits_penalty(metrics, drone), len(planned),
                            path, metrics))

    variants = _variants(count + FALLBACK_VARIANTS, options.side, seed)
    total = count + (len(FALLBACKS) + 1) * FALLBACK_VARIANTS
    plan_variants(variants[:count], options, 0, total)
    done = count
    d = options.distance or default_distance(subject)
    # nothing free and visible yet: other azimuths, then closer (under roofs, into gaps) or
    # higher (over the obstacles)
    for step, (factor, higher) in enumerate(((1.0, 0.0),) + FALLBACKS):
        if _good(min(planned, key=lambda item: item[0])[3]):
            break
        height = (1.5 if options.height is None else options.height) + higher
        if shot == "top_down":
            height = (options.height or max(6.0, 2.0 * d)) * factor
        elif options.height is None and higher == 0.0:
            height = None
        fallback = replace(options, distance=max(1.0, d * factor), height=height)
        plan_variants(variants[count:] if step == 0 else variants[:FALLBACK_VARIANTS],
                      options if step == 0 else fallback, done, total)
        done += FALLBACK_VARIANTS
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
