"""`python -m backend.models.camera.learned.evaluate`: the learned next-camera-pose model vs the
planner on the shipped test scenes (assets/camera_scenes/) x the eight basic shots.

Planner: the camera job with its defaults (3 alternatives, seed 0), selected path. Learned:
``sample.sample_shot`` (4 variants rolled out, best by the planner's score) in three set-ups:
"learned" (the default: smoothed rollout, the model's own aim; the verdict is about this one),
"learned_raw" (the rollout as the model flew it) and "learned_lookat" (smoothed positions aimed
by the planner's look-at). All are measured by ``metrics.path_metrics`` on the same scene.

Prints a row per scene and shot, totals per method, and on the last line key=value pairs:
per method the crashes (frames), crash_plans, in_frame / unoccluded (mean and min),
framing_error (mean), jerk (median), clamped frames; ``learned_beats_planner_<metric>=`` true /
false for crashes, in_frame, unoccluded, framing_error and jerk (the learned model's own aim;
strictly better on the total / mean / median), ``learned_wins_shots=`` the shots where it is at
least as good on every metric (none: ``-``), and ``learned_beats_planner=`` true only if it is
better on every metric.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ....fileio import write_text
from ....paths import REPO_ROOT
from ..alternatives import build_scene
from ..evaluate import SCENES_DIR, load_scenes, scene_params
from ..job import run_camera
from ..shots import BASIC_SHOTS, ShotOptions, Subject
from .model import load_model
from .sample import sample_shot

METHODS = ("planner", "learned", "learned_raw", "learned_lookat")
LEARNED_SETUPS = {"learned": {"aim": "model", "smooth": True},
                  "learned_raw": {"aim": "model", "smooth": False},
                  "learned_lookat": {"aim": "look_at", "smooth": True}}
DEFAULT_CHECKPOINT = REPO_ROOT / "assets/models/camera_next_pose.pt"


def evaluate(checkpoint=DEFAULT_CHECKPOINT, shots=BASIC_SHOTS, folder: Path = SCENES_DIR,
             scenes: int | None = None, log=print) -> list[dict]:
    """Rows {"scene", "shot", "method", "seconds", **metrics} for every scene x shot x
    method."""
    model, ck = load_model(checkpoint)
    rows = []
    for name, npz, track in load_scenes(folder)[:scenes]:
        subject = Subject(np.asarray(track["positions"], float), float(track["fps"]),
                          float(track["radius"]))
        with np.load(npz) as z:
            scene = build_scene(z["vertices"], z["triangles"], subject, ShotOptions())
        for shot in shots:
            results = {}
            t0 = time.perf_counter()
            results["planner"] = run_camera(scene_params(npz, track, shot))
            results["planner_s"] = time.perf_counter() - t0
            for method, setup in LEARNED_SETUPS.items():
                t0 = time.perf_counter()
                results[method] = sample_shot(model, ck, scene, subject, shot, **setup)
                results[method + "_s"] = time.perf_counter() - t0
            for method in METHODS:
                m = results[method]["paths"][0]["metrics"]
                rows.append({"scene": name, "shot": shot, "method": method,
                             "seconds": round(results[method + "_s"], 3),
                             "clamped_frames": 0, **m})
                log(f"{name:<18} {shot:<12} {method:<15} crashes={m['crashes']:<3} "
                    f"in_frame={m['in_frame']:.3f} unoccluded={m['unoccluded']:.3f} "
                    f"framing={m['framing_error']:.3f} jerk={m['jerk']:.2f} "
                    f"cr_jerk={m['catmull_rom_jerk']:.2f} clamped={m.get('clamped_frames', 0)} "
                    f"s={results[method + '_s']:.2f}")
    return rows


def totals(rows: list[dict]) -> dict:
    """Summary of one method's rows."""
    return {"crashes": int(sum(r["crashes"] for r in rows)),
            "crash_plans": int(sum(r["crashes"] > 0 for r in rows)),
            "in_frame": round(float(np.mean([r["in_frame"] for r in rows])), 4),
            "in_frame_min": round(float(min(r["in_frame"] for r in rows)), 4),
            "unoccluded": round(float(np.mean([r["unoccluded"] for r in rows])), 4),
            "unoccluded_min": round(float(min(r["unoccluded"] for r in rows)), 4),
            "framing_error": round(float(np.mean([r["framing_error"] for r in rows])), 4),
            "jerk": round(float(np.median([r["jerk"] for r in rows])), 4),
            "clamped": int(sum(r["clamped_frames"] for r in rows)),
            "seconds_p50": round(float(np.median([r["seconds"] for r in rows])), 3)}


def beats(learned: dict, planner: dict) -> dict:
    """Per metric: is the learned summary strictly better than the planner's?"""
    return {"crashes": learned["crashes"] < planner["crashes"],
            "in_frame": learned["in_frame"] > planner["in_frame"],
            "unoccluded": learned["unoccluded"] > planner["unoccluded"],
            "framing_error": learned["framing_error"] < planner["framing_error"],
            "jerk": learned["jerk"] < planner["jerk"]}


def at_least_as_good(learned: dict, planner: dict) -> bool:
    return learned["crashes"] <= planner["crashes"] and \
        learned["in_frame"] >= planner["in_frame"] and \
        learned["unoccluded"] >= planner["unoccluded"] and \
        learned["framing_error"] <= planner["framing_error"] and \
        learned["jerk"] <= planner["jerk"]


def summarise(rows: list[dict]) -> dict:
    by = {m: totals([r for r in rows if r["method"] == m]) for m in METHODS}
    out: dict = {"plans": len(rows) // len(METHODS)}
    for method, summary in by.items():
        out.update({f"{method}_{k}": v for k, v in summary.items()})
    for method in LEARNED_SETUPS:
        if method != "learned":
            better = [k for k, v in beats(by[method], by["planner"]).items() if v]
            out[f"{method}_better_on"] = ",".join(better) or "-"
    win = beats(by["learned"], by["planner"])
    out.update({f"learned_beats_planner_{k}": str(v).lower() for k, v in win.items()})
    tie = [k for k in win if not win[k] and not beats(by["planner"], by["learned"])[k]]
    out["learned_ties_planner_on"] = ",".join(tie) or "-"
    wins = []
    for shot in dict.fromkeys(r["shot"] for r in rows):
        sub = {m: totals([r for r in rows if r["method"] == m and r["shot"] == shot])
               for m in ("planner", "learned")}
        if at_least_as_good(sub["learned"], sub["planner"]):
            wins.append(shot)
    out["learned_wins_shots"] = ",".join(wins) or "-"
    out["learned_beats_planner"] = str(all(win.values())).lower()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="learned next-camera-pose model vs the planner")
    ap.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    ap.add_argument("--scenes", type=int, default=None, help="only the first N scenes")
    ap.add_argument("--shots", default=",".join(BASIC_SHOTS))
    ap.add_argument("--json", default=None, help="write the rows and the summary here")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    shots = [s for s in args.shots.split(",") if s]
    unknown = [s for s in shots if s not in BASIC_SHOTS]
    if unknown:
        ap.error(f"unknown shot(s) {', '.join(unknown)}; known: {', '.join(BASIC_SHOTS)}")
    t0 = time.perf_counter()
    rows = evaluate(args.checkpoint, shots, scenes=args.scenes)
    summary = summarise(rows)
    print("\nper shot (" + " | ".join(METHODS) + "):")
    for shot in shots:
        parts = []
        for m in METHODS:
            s = totals([r for r in rows if r["method"] == m and r["shot"] == shot])
            parts.append(f"crashes={s['crashes']} in={s['in_frame']:.3f} "
                         f"unocc={s['unoccluded']:.3f} fr={s['framing_error']:.3f} "
                         f"jerk={s['jerk']:.2f}")
        print(f"  {shot:<12} " + " | ".join(parts))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        write_text(args.json, json.dumps({"summary": summary, "rows": rows}, indent=1))
    summary["eval_seconds"] = round(time.perf_counter() - t0, 1)
    print(" ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
