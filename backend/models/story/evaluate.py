"""`python -m backend eval story`: the example stories (assets/stories/) scheduled, composed
and measured against the issue's targets.

Per story: the offline schedule compared with the example's hand-written ``expect`` list
(in order: kind, place, action; ``schedule_match`` = share of expected segments found), then
the composed clip's ``assemble.measure`` metrics and a per-segment detection check:

* move: the root ends within TARGET_POSITION_M of its stand point, having travelled;
* pose: sit - the pelvis below SIT_PELVIS_M for most of the segment; lie - the head level
  with the pelvis (within LIE_LEVEL_M: on the floor or on a sofa); stand / idle / turn - upright (pelvis above STAND_PELVIS_M) and, for a turn,
  facing within TARGET_FACING_DEG of its target;
* act (and any overlay): the prompt checker's action for the text, checked kinematically
  (``motion.presence.present``: travel, wrist above shoulder, jump, kick, bow);
  actions no simple check covers (dance, punch, spin ...) are counted apart as unchecked.

The real-motion reference for skating and jerk is the shipped CMU library's held-out clips
at the generator's rate. Last line: ``stories= segments= schedule_match= pos_err_max=
pos_err_p95= facing_err_max= clearance_min= through_obstacle= seam_skate= inside_skate=
real_skate= seam_jerk= inside_jerk= real_jerk= act_first_try= detected= checked= unchecked=
seconds_p50=``. The composer draws up to 5 samples of a checkable action until nearly the
same kinematic check passes (compose.Composer._act, ``text2motion/takes.py``: the named hand
of a one-hand gesture, a style held to what its real clips show), so ``detected`` is
optimistic for those actions; ``act_first_try`` is the share that passed at the first sample.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ...paths import REPO_ROOT
from ...motion.skeleton import CANONICAL_NAMES

STORIES_DIR = REPO_ROOT / "assets" / "stories"
TARGET_POSITION_M = 0.20
TARGET_FACING_DEG = 15.0
SIT_PELVIS_M, STAND_PELVIS_M = 0.65, 0.75
LIE_LEVEL_M = 0.35           # lying: the head within this height of the pelvis
_J = {n: i for i, n in enumerate(CANONICAL_NAMES)}
_WAVES = {"wave", "wave-both-hands", "wave-left-hand", "wave-right-hand", "bye", "byebye"}


def load_examples(folder: Path = STORIES_DIR) -> list[tuple[str, dict]]:
    return [(p.stem, json.loads(p.read_text(encoding="utf-8")))
            for p in sorted(Path(folder).glob("*.json"))]


def action_label(text: str, model: str = "starter") -> str | None:
    from ...text.known import check_prompt, refine_action
    report = check_prompt(text, model)
    if report.unknown or not report.known_actions:
        return None
    return refine_action(report.known_actions[0][0], text)


def _same_action(expected: str | None, label: str | None) -> bool:
    if expected is None:
        return True
    if label is None:
        return False
    return expected == label or (expected in _WAVES and label in _WAVES)


def schedule_match(schedule, expect: list[dict], model: str = "starter") -> tuple[int, int]:
    """(expected segments found in order, expected segments)."""
    segs = schedule.segments
    labels = [action_label(s.action, model) if s.kind == "act" else s.action for s in segs]
    i, found = 0, 0
    for e in expect:
        for j in range(i, len(segs)):
            s = segs[j]
            if s.kind != e.get("kind"):
                continue
            places = e.get("place_any") or ([e["place"]] if e.get("place") else [])
            if places and s.place not in places:
                continue
            if e.get("kind") != "move" and not _same_action(e.get("action"), labels[j]):
                continue
            found, i = found + 1, j + 1
            break
    return found, len(expect)


def segment_detected(row: dict, clip, seg, metrics_face: dict, model: str) -> bool | None:
    """True / False, or None when no simple check covers the action (module doc)."""
    from ...motion.presence import CHECKABLE, present as part_present
    s, e = row["start"], row["end"]
    pos = clip.positions()[s:e]
    pelvis = pos[:, _J["pelvis"], 2]
    info = row["info"]
    if seg.kind == "move":
        if info.get("source") != "path":
            return True                                      # already there
        end_err = float(np.linalg.norm(clip.root_translation[e - 1, :2] - info["goal"]))
        return end_err <= TARGET_POSITION_M
    checks = []
    if seg.kind == "pose":
        if seg.action == "sit":
            checks.append(np.mean(pelvis < SIT_PELVIS_M) >= 0.8)
        elif seg.action == "lie":             # the body level (on the floor or a sofa)
            head = pos[:, _J["head"], 2]
            checks.append(np.mean(np.abs(head - pelvis) < LIE_LEVEL_M) >= 0.8)
        else:
            checks.append(np.mean(pelvis > STAND_PELVIS_M) >= 0.8)
            if seg.action == "turn":
                checks.append(metrics_face.get(row["index"], 0.0) <= TARGET_FACING_DEG)
    else:
        label = action_label(seg.action, model)
        if label is None or label not in CHECKABLE:
            return None
        checks.append(part_present(label, pos, whole=True))
    if seg.overlay:
        label = action_label(seg.overlay, model)
        if label is not None and label in CHECKABLE:
            checks.append(part_present(label, pos, whole=True))
    return bool(all(checks))


def real_reference(fps: float) -> tuple[float, float]:
    """(skate, jerk) of the shipped library's held-out clips at `fps` (Y-up metrics)."""
    from ...eval.metrics import foot_skating_ratio, jerk
    from ...motion.resample import resample
    from ..editing.evaluate import held_out_clips
    sk, jk, w = [], [], []
    for _cap, c in held_out_clips():
        c = resample(c, fps)
        p = c.positions()[..., [0, 2, 1]]
        sk.append(foot_skating_ratio(p, fps))
        jk.append(jerk(p, fps))
        w.append(c.num_frames)
    return float(np.average(sk, weights=w)), float(np.average(jk, weights=w))


def evaluate(gen, examples, seed: int = 0, model: str = "starter", log=print) -> dict:
    import math

    from ...motion.looping import _heading
    from .assemble import compose_story
    from .schedule import ScheduleError, offline_schedule
    from .schema import Scene, wrap_degrees
    rows_all = {"match": [0, 0], "pos": [], "face": [], "clear": [], "seam_sk": [],
                "in_sk": [], "seam_jk": [], "in_jk": [], "det": [0, 0, 0], "secs": [],
                "segments": 0}
    for name, ex in examples:
        scene = Scene.from_dict(ex["scene"])
        t0 = time.perf_counter()
        try:
            schedule = offline_schedule(ex["story"], scene, model=model)
        except ScheduleError as e:
            log(f"{name}: no schedule: {e}")
            rows_all["match"][1] += len(ex.get("expect", []))
            continue
        found, total = schedule_match(schedule, ex.get("expect", []), model)
        try:
            result = compose_story(gen, schedule, scene, seed=seed, model=model)
        except ValueError as e:                      # PlanError and bad places: a failure
            log(f"{name}: composing failed: {e}")
            rows_all["match"] = [rows_all["match"][0] + found, rows_all["match"][1] + total]
            rows_all["failed"] = rows_all.get("failed", 0) + 1
            continue
        rows_all["secs"].append(time.perf_counter() - t0)
        m = result.metrics
        faces = {}
        for row in result.segments:
            if "facing_target" in row["info"] and row["kind"] != "move" \
                    and row["action"] != "lie":
                h = math.degrees(float(_heading(
                    result.clip.local_rotations[row["start"]:row["start"] + 1, 0])[0]))
                faces[row["index"]] = abs(wrap_degrees(h - row["info"]["facing_target"]))
        det = [segment_detected(r, result.clip, schedule.segments[r["index"]], faces, model)
               for r in result.segments]
        acts = [r["info"] for r in result.segments if r["info"].get("checked")]
        rows_all["first"] = [rows_all.get("first", [0, 0])[0] + sum(a["tries"] == 1 and
                                                                     a["passed"] for a in acts),
                             rows_all.get("first", [0, 0])[1] + len(acts)]
        yes = sum(1 for d in det if d is True)
        no = sum(1 for d in det if d is False)
        rows_all["det"] = [rows_all["det"][0] + yes, rows_all["det"][1] + yes + no,
                           rows_all["det"][2] + sum(1 for d in det if d is None)]
        rows_all["match"] = [rows_all["match"][0] + found, rows_all["match"][1] + total]
        rows_all["pos"] += m["position_errors"]
        rows_all["face"] += m["facing_errors"]
        rows_all["clear"].append(m["clearance"])
        for k, key in (("seam_sk", "seam_skate"), ("in_sk", "inside_skate"),
                       ("seam_jk", "seam_jerk"), ("in_jk", "inside_jerk")):
            rows_all[k].append(m[key])
        rows_all["segments"] += len(result.segments)
        missed = [schedule.segments[r["index"]].text for r, d in zip(result.segments, det)
                  if d is False]
        log(f"{name}: {len(result.segments)} segments, schedule {found}/{total}, detected "
            f"{yes}/{yes + no}, pos max {max(m['position_errors'] or [0]):.3f} m, clearance "
            f"{m['clearance']:.2f} m, seam skate {m['seam_skate']:.3f}, "
            f"{rows_all['secs'][-1]:.1f} s" + (f"; missed: {missed}" if missed else ""))
    real_skate, real_jerk = real_reference(gen.fps if hasattr(gen, "fps") else 20.0)
    pos = np.asarray(rows_all["pos"] or [0.0])
    det = rows_all["det"]
    return {"stories": len(rows_all["secs"]), "failed": rows_all.get("failed", 0),
            "segments": rows_all["segments"],
            "schedule_match": round(rows_all["match"][0] / max(1, rows_all["match"][1]), 3),
            "pos_err_max": round(float(pos.max()), 3),
            "pos_err_p95": round(float(np.percentile(pos, 95)), 3),
            "facing_err_max": round(float(max(rows_all["face"] or [0.0])), 2),
            "clearance_min": round(float(min(rows_all["clear"] or [0.0])), 3),
            "through_obstacle": int(sum(c < 0 for c in rows_all["clear"])),
            "seam_skate": round(float(np.mean(rows_all["seam_sk"] or [0])), 3),
            "inside_skate": round(float(np.mean(rows_all["in_sk"] or [0])), 3),
            "real_skate": round(real_skate, 3),
            "seam_jerk": round(float(np.mean(rows_all["seam_jk"] or [0])), 1),
            "inside_jerk": round(float(np.mean(rows_all["in_jk"] or [0])), 1),
            "real_jerk": round(real_jerk, 1),
            "act_first_try": round(rows_all.get("first", [0, 0])[0]
                                   / max(1, rows_all.get("first", [0, 1])[1]), 3),
            "detected": round(det[0] / max(1, det[1]), 3), "checked": det[1],
            "unchecked": det[2],
            "seconds_p50": round(float(np.median(rows_all["secs"] or [0])), 2)}


def run_eval(args) -> int:
    import torch

    from ..text2motion.sample import load_generator
    torch.set_num_threads(max(1, int(getattr(args, "threads", 2) or 2)))
    gen = load_generator(getattr(args, "model", None) or "starter")
    examples = load_examples(Path(args.stories) if getattr(args, "stories", None)
                             else STORIES_DIR)
    out = evaluate(gen, examples, seed=int(getattr(args, "seed", 0) or 0))
    print(" ".join(f"{k}={v}" for k, v in out.items()))
    return 0
