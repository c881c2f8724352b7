"""`python -m backend eval path`: path following on fixed paths with the shipped library's
walk (``backend/motion/pathfollow.py``).

Paths: a 6 m straight line, an L (4 m, a 90-degree corner, 4 m), a circle of radius 2 m, and
the L and circle again with arrival times that ask for other speeds than the walk's own.
Figures: mean floor distance of the root to the path (target <= 0.10 m), the worst arrival
error in frames (target <= 2), and foot skating (mean speed of planted feet, m/s) against
the source walk's own, and against the source walk retimed to the speed asked (same
measure, ``footplant.planted_speed``). Last line: ``path_mean_m= arrival_max_frames=
skate= skate_source=`` over all paths.
"""
from __future__ import annotations

import numpy as np

from ...motion import pathfollow as PF
from ...motion.footplant import planted_masks, planted_speed
from ...motion.timing import retime

_A = np.linspace(0, 2 * np.pi, 181)
PATHS = {"straight": np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 0.0]]),
         "L": np.array([[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [4.0, 4.0, 0.0]]),
         "circle": np.stack([2 * np.cos(_A), 2 * np.sin(_A), 0 * _A], 1)}
ARRIVALS = {"L": [(1, 4.0), (2, 6.5)], "circle": [(60, 4.0), (120, 7.0), (180, 10.0)]}


def library_walk():
    from ...data.library import DEFAULT_LIBRARY, MotionLibrary
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    for i, e in enumerate(lib.entries):
        if e.captions and e.captions[0] == "walk":
            return lib.clip(i)
    raise LookupError("no clip captioned 'walk' in the shipped library")


def _skate(clip) -> float:
    return planted_speed(clip, planted_masks(clip))


def evaluate(log=print) -> dict:
    walk = library_walk()
    cases = [(name, pts, None) for name, pts in PATHS.items()]
    cases += [(f"{name}+arrivals", PATHS[name], arr) for name, arr in ARRIVALS.items()]
    rows = {}
    for name, pts, arrival in cases:
        res = PF.follow_path_detailed(walk, pts, arrival)
        errs = PF.arrival_frame_errors(res, pts) if arrival else []
        speed = float(np.linalg.norm(np.diff(res.clip.root_translation[:, :2], axis=0),
                                     axis=-1).sum() / res.clip.seconds)
        same_speed = retime(walk, factor=max(0.25, speed / res.natural_speed))
        rows[name] = {"mean_m": PF.mean_path_distance(res.clip, pts),
                      "arrival_max": max(errs) if errs else 0.0,
                      "skate": PF.foot_skate(res), "skate_same_speed": _skate(same_speed)}
        r = rows[name]
        log(f"{name:16s} mean distance {r['mean_m']:.3f} m, worst arrival "
            f"{r['arrival_max']:.2f} frames, skate {r['skate']:.3f} m/s (walk retimed to the "
            f"same speed {r['skate_same_speed']:.3f})")
    return {"path_mean_m": max(r["mean_m"] for r in rows.values()),
            "arrival_max_frames": max(r["arrival_max"] for r in rows.values()),
            "skate": max(r["skate"] for r in rows.values()),
            "skate_source": _skate(walk),
            "skate_same_speed_min": min(r["skate_same_speed"] for r in rows.values())}


def run_eval(args) -> int:
    res = evaluate()
    print(" ".join(f"{k}={v:.4f}" for k, v in res.items()))
    return 0
