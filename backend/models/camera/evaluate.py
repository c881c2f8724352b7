"""`python -m backend eval camera`: every shot type on every shipped test scene
(assets/camera_scenes/, made by tools/make_camera_scenes.py), planned with the job's defaults
(3 alternatives, seed 0) and measured on the selected path (metrics.py).

Prints a row per scene and shot, the totals per shot, and on the last line: ``plans=
crash_plans= crashes= in_frame_min= in_frame_mean= unoccluded_min= unoccluded_mean=
framing_error= jerk_below_cr= jerk_ratio= plan_s_p50= plan_s_max= warnings=``
(jerk_below_cr: share of plans whose jerk is at most the Catmull-Rom spline's; jerk_ratio:
median of jerk / Catmull-Rom jerk over plans where the latter is above 1e-6).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ...fileio import write_text
from ...paths import REPO_ROOT
from .shots import SHOTS

SCENES_DIR = REPO_ROOT / "assets" / "camera_scenes"


def load_scenes(folder: Path = SCENES_DIR) -> list[tuple[str, Path, dict]]:
    """(name, npz path, subject track dict) per shipped scene, sorted by name."""
    out = []
    for npz in sorted(Path(folder).glob("*.npz")):
        track = json.loads(npz.with_suffix(".json").read_text(encoding="utf-8"))
        out.append((npz.stem, npz, track))
    return out


def scene_params(npz: Path, track: dict, shot: str, **extra) -> dict:
    """The camera job's params for a shipped scene and shot."""
    return {"geometry": {"path": str(npz)},
            "subject": {"fps": track["fps"], "positions": track["positions"],
                        "radius": track["radius"]}, "shot": shot, **extra}


def evaluate(shots=SHOTS, folder: Path = SCENES_DIR, log=print) -> dict:
    from .job import run_camera
    rows = []
    for name, npz, track in load_scenes(folder):
        for shot in shots:
            t0 = time.perf_counter()
            result = run_camera(scene_params(npz, track, shot))
            seconds = time.perf_counter() - t0
            m = result["paths"][0]["metrics"]
            rows.append({"scene": name, "shot": shot, "seconds": seconds,
                         "warnings": len(result["warnings"]), **m})
            log(f"{name:<18} {shot:<12} crashes={m['crashes']:<3} in_frame={m['in_frame']:.3f} "
                f"unoccluded={m['unoccluded']:.3f} framing={m['framing_error']:.3f} "
                f"jerk={m['jerk']:.3f} cr_jerk={m['catmull_rom_jerk']:.3f} "
                f"clear={m['min_clearance_m']:.2f} v={m['max_speed']:.1f} "
                f"s={seconds:.2f} {'; '.join(result['warnings'])[:90]}")
    return summarise(rows)


def summarise(rows: list[dict]) -> dict:
    jerk = np.array([r["jerk"] for r in rows])
    cr = np.array([r["catmull_rom_jerk"] for r in rows])
    has_cr = cr > 1e-6
    return {"plans": len(rows), "crash_plans": sum(r["crashes"] > 0 for r in rows),
            "crashes": int(sum(r["crashes"] for r in rows)),
            "in_frame_min": round(min(r["in_frame"] for r in rows), 4),
            "in_frame_mean": round(float(np.mean([r["in_frame"] for r in rows])), 4),
            "unoccluded_min": round(min(r["unoccluded"] for r in rows), 4),
            "unoccluded_mean": round(float(np.mean([r["unoccluded"] for r in rows])), 4),
            "framing_error": round(float(np.mean([r["framing_error"] for r in rows])), 4),
            "jerk_below_cr": round(float(np.mean(jerk <= cr + 1e-6)), 3),
            "jerk_ratio": round(float(np.median(jerk[has_cr] / cr[has_cr])), 3)
            if has_cr.any() else float("nan"),
            "plan_s_p50": round(float(np.median([r["seconds"] for r in rows])), 3),
            "plan_s_max": round(float(max(r["seconds"] for r in rows)), 3),
            "warnings": sum(r["warnings"] > 0 for r in rows), "rows": rows}


def run_eval(args) -> int:
    t0 = time.perf_counter()
    results = evaluate()
    rows = results.pop("rows")
    print("\nper shot (all scenes):")
    for shot in SHOTS:
        sub = [r for r in rows if r["shot"] == shot]
        if sub:
            print(f"  {shot:<12} crashes={sum(r['crashes'] for r in sub)} "
                  f"in_frame_min={min(r['in_frame'] for r in sub):.3f} "
                  f"unoccluded_min={min(r['unoccluded'] for r in sub):.3f} "
                  f"framing={np.mean([r['framing_error'] for r in sub]):.3f} "
                  f"jerk/cr={np.mean([r['jerk'] for r in sub]):.3f}/"
                  f"{np.mean([r['catmull_rom_jerk'] for r in sub]):.3f}")
    if getattr(args, "json", None):
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        write_text(args.json, json.dumps({**results, "rows": rows}, indent=1))
    results["eval_seconds"] = round(time.perf_counter() - t0, 1)
    print(" ".join(f"{k}={v}" for k, v in results.items()))
    return 0
