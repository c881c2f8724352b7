"""`python -m backend bench physics`: CPU seconds per second of motion of the tracking
controller on one thread (MuJoCo runs single-threaded), over the first ``n`` held-out clips of
the shipped CMU library (30 fps), with the tracking figures of the same runs. Last line has
``cpu_s_per_motion_s=`` (median over clips; the issue's goal: <= 2 p50), ``success=``,
``mpjpe_mm=`` and ``root_help_pct_weight=`` (the root residual force, mean % of the body
weight: how much of the motion the floor could not give).
"""
from __future__ import annotations

import numpy as np


def benchmark(n: int = 5, threads: int = 1, model: str = "starter") -> dict:
    from .evaluate import heldout_clips, run_one
    clips = heldout_clips()[:max(1, int(n))]
    rows = [run_one(c) for _name, c in clips]
    return {"clips": len(rows), "motion_s": round(float(sum(c.seconds for _n, c in clips)), 1),
            "threads": 1, "cpu_s_per_motion_s": round(float(np.median(
                [r["cpu_s_per_motion_s"] for r in rows])), 3),
            "success": round(float(np.mean([r["success"] for r in rows])), 3),
            "mpjpe_mm": round(float(np.mean([r["mpjpe_mm"] for r in rows])), 1),
            "root_help_pct_weight": round(float(np.mean(
                [r["residual_force_pct_weight_mean"] for r in rows])), 1)}
