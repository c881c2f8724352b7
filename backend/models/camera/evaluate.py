"""`python -m backend eval camera`: every shot type on every shipped test scene
(assets/camera_scenes/, made by tools/make_camera_scenes.py), planned with the job's defaults
(3 alternatives, seed 0) and measured on the selected path (metrics.py).

Prints a row per scene and shot, the totals per shot, and on the last line: ``plans=
crash_plans= crashes= in_frame_min= in_frame_mean= unoccluded_min= unoccluded_mean=
framing_error= jerk_below_cr= jerk_ratio= plan_s_p50= plan_s_p95= plan_s_max= warnings=
reveals_revealed= over_limits= over_yaw= fly_through_gaps=``
Also a script, for the held-out set (tests/data/camera_heldout/, tools/make_camera_heldout.py)
or a subset of shots: ``python -m backend.models.camera.evaluate --scenes DIR --shots reveal``.
(jerk_below_cr: share of plans whose jerk is at most the Catmull-Rom spline's; jerk_ratio:
median of jerk / Catmull-Rom jerk over plans where the latter is above 1e-6; reveals_revealed:
reveals whose first 10 % of frames hide the subject and last 50 % show it, metrics.py;
over_limits / over_yaw: plans over the cinematic drone's speed or acceleration / yaw rate;
fly_through_gaps: fly-throughs that found a gap to fly through, openings.py).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ...fileio import write_text
from ...paths import REPO_ROOT
from .planner import DRONES
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
                         "name": result["paths"][0]["name"],
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
    reveals = [r for r in rows if "revealed" in r]
    flies = [r for r in rows if r["shot"] == "fly_through"]
    limits = DRONES["cinematic"]                     # the evaluation's default drone
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
            "plan_s_p95": round(float(np.percentile([r["seconds"] for r in rows], 95)), 3),
            "plan_s_max": round(float(max(r["seconds"] for r in rows)), 3),
            "warnings": sum(r["warnings"] > 0 for r in rows),
            "reveals_revealed": f"{sum(bool(r.get('revealed')) for r in reveals)}/{len(reveals)}",
            "over_limits": sum(r["max_speed"] > limits.max_speed * 1.01
                               or r["max_accel"] > limits.max_accel * 1.01 for r in rows),
            "over_yaw": sum(r["max_yaw_rate"] > limits.max_yaw_rate * 1.01 for r in rows),
            "fly_through_gaps": f"{sum(r['name'].startswith('fly-through, gap') for r in flies)}"
                                f"/{len(flies)}",
            "rows": rows}


def run_eval(args) -> int:
    t0 = time.perf_counter()
    folder = Path(getattr(args, "scenes", None) or SCENES_DIR)
    shots = tuple(getattr(args, "shots", None) or SHOTS)
    results = evaluate(shots, folder)
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


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(description="camera planner evaluation")
    parser.add_argument("--scenes", type=Path, default=SCENES_DIR, help="a folder of scenes")
    parser.add_argument("--shots", nargs="*", choices=SHOTS, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write every row here")
    return run_eval(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
