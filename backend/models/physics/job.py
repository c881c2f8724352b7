"""Backend job kind `physics`: a simulated humanoid performs a canonical clip the add-on sends,
and the physically corrected motion comes back (issue 11).

params:
  clip        the motion (``backend.motion.wire.clip_to_wire``: canonical, any fps)
  start, end  clip frames, inclusive (null: the whole clip); frames outside come back
              bit-identical (after the wire's float32 packing)
  assistance  0..1: how strongly a residual wrench on the root may help (default 0.5)
  friction    0.05..3 (default 0.9); gravity 0.1..30 m/s^2 (default 9.81)
  pushes      [{"frame": clip frame, "force": [fx, fy, fz] newtons (world axes),
               "seconds": 0.01..2 (default 0.1), "body": canonical joint (default "spine3")}]
  planner     true: sampling MPC over PD-target offsets (``mpc.Planner``; default false)
  recover     true (default): a pushed body steps to catch itself (``recover.py``)
  first_frame the number of the clip's first frame in the user's timeline (default 0):
              warnings and the report's "pushes" rows name frames from it
result: the `edit` job's shape ({"clips": [...], "selected", "edit": "physics", "method":
"track", "warnings", "artifacts": {"clip"}}) plus "report" (tracking error, residual force,
penetration / floating / foot skating before and after, fell, the force the input needs,
"pushes": per push the share of its impulse the root help took back and the peak error) and
"contacts" {"left_foot", "right_foot": [0/1 per clip frame]} (0 outside the range).
"""
from __future__ import annotations

import math

from ...jobs import JobContext, JobError, param, register, require_packages
from ...params import Spec
from ...protocol import ARTIFACTS_KEY, ErrorCode

require_packages("physics-based control", (("mujoco", "mujoco"),))

MAX_PUSHES = 20
PUSH_MAX_N = 5000.0
CONTEXT_SECONDS = 0.5        # simulated before the range so the body arrives in motion

SCHEMA = {
    "clip": Spec("object", "the motion (backend/motion/wire.py clip_to_wire)", required=True,
                 nullable=False),
    "start": Spec("integer", "first clip frame to simulate (default: 0)", None, min=0),
    "end": Spec("integer", "last clip frame to simulate (default: the last)", None, min=0),
    "assistance": Spec("number", "how strongly an invisible hand on the hips may help", 0.5,
                       min=0.0, max=1.0),
    "friction": Spec("number", "grip of the feet", 0.9, min=0.05, max=3.0),
    "gravity": Spec("number", "m/s^2", 9.81, min=0.1, max=30.0),
    "pushes": Spec("array", "shoves: {frame, force [N, N, N], seconds, body}", None,
                   max=MAX_PUSHES, items="object"),
    "recover": Spec("boolean", "a pushed body steps to catch itself, and the root help does "
                    "not push back against the push", True),
    "first_frame": Spec("integer", "the frame number of the clip's first frame in the user's "
                        "timeline: warnings and the report's pushes name frames from it", 0),
    "planner": Spec("boolean", "balance by sampling MPC over the PD targets (slower, about "
                    "1 CPU-s per motion-s)", False),
}


def _bad(message: str) -> JobError:
    return JobError(ErrorCode.BAD_PARAMS, message)


def _number(params: dict, name: str, default: float, lo: float, hi: float) -> float:
    value = param(params, name, (int, float), default)
    value = float(value)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise _bad(f"{name} must be between {lo:g} and {hi:g}, got {value!r}")
    return value


def check_params(params: dict) -> dict:
    """Validated parameters and the decoded clip (JobError bad_params with the reason)."""
    from ...motion.skeleton import CANONICAL_NAMES
    from ...motion.wire import clip_from_wire
    try:
        clip = clip_from_wire(params.get("clip"), meta={"source": "physics input"})
    except ValueError as e:
        raise _bad(f"parameter 'clip': {e}") from None
    T = clip.num_frames
    start = params.get("start")
    end = params.get("end")
    start = 0 if start is None else int(param(params, "start", int))
    end = T - 1 if end is None else int(param(params, "end", int))
    if not 0 <= start < end <= T - 1:
        raise _bad(f"the range {start}..{end} must lie in the clip's frames 0..{T - 1} and "
                   f"hold at least two frames")
    pushes = param(params, "pushes", list, [])
    if len(pushes) > MAX_PUSHES:
        raise _bad(f"at most {MAX_PUSHES} pushes, got {len(pushes)}")
    checked = []
    for k, push in enumerate(pushes):
        where = f"push {k + 1}"
        if not isinstance(push, dict):
            raise _bad(f"{where} must be an object")
        frame = push.get("frame")
        if isinstance(frame, bool) or not isinstance(frame, int) or not start <= frame <= end:
            raise _bad(f"{where}: frame must be a whole frame in {start}..{end}")
        force = push.get("force")
        if not (isinstance(force, list) and len(force) == 3 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in force)):
            raise _bad(f"{where}: force must be three numbers (newtons)")
        if math.hypot(*force) > PUSH_MAX_N:
            raise _bad(f"{where}: a force over {PUSH_MAX_N:g} N is not a push")
        seconds = push.get("seconds", 0.1)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                or not 0.01 <= seconds <= 2.0:
            raise _bad(f"{where}: seconds must be between 0.01 and 2")
        body = push.get("body", "spine3")
        if body not in CANONICAL_NAMES:
            raise _bad(f"{where}: body must be a canonical joint ({', '.join(CANONICAL_NAMES)})")
        checked.append({"frame": frame, "force": [float(v) for v in force],
                        "seconds": float(seconds), "body": body})
    return {"clip": clip, "start": start, "end": end, "pushes": checked,
            "assistance": _number(params, "assistance", 0.5, 0.0, 1.0),
            "friction": _number(params, "friction", 0.9, 0.05, 3.0),
            "gravity": _number(params, "gravity", 9.81, 0.1, 30.0),
            "planner": bool(param(params, "planner", bool, False)),
            "first_frame": int(param(params, "first_frame", int, 0)),
            "recover": bool(param(params, "recover", bool, True))}


def _contacts_full(result, T: int, lo: int) -> dict:
    out = {}
    for name, mask in result.contacts.items():
        row = [0] * T
        for i, v in enumerate(mask):
            if 0 <= lo + i < T:
                row[lo + i] = int(bool(v))
        out[name] = row
    return out


def _report(result, lo: int, needed: dict) -> dict:
    """The tracker's report with the job's keys (frames counted in the sent clip, metres,
    newtons, ratios) first, and every figure the tracker gave after them."""
    r = dict(result.report)
    r.pop("warnings", None)
    fell = r.get("fell_frame")
    out = {"mpjpe_mm_mean": r.get("tracking_error_mm_mean"),
           "mpjpe_mm_max": r.get("tracking_error_mm_max"),
           "success": bool(result.success), "fell": bool(result.fell),
           "fell_frame": None if fell is None else lo + int(fell),
           "residual_n_mean": r.get("residual_force_N_mean"),
           "residual_n_max": r.get("residual_force_N_max"),
           "residual_pct_weight_mean": r.get("residual_force_pct_weight_mean"),
           "needed_force_pct_weight": needed.get("needed_force_pct_weight_mean"),
           "push_steps": sum(len(p.get("steps", ())) for p in r.get("pushes") or ())}
    for key in ("penetration", "floating", "skate", "planted_speed"):
        for when in ("before", "after"):
            out[f"{key}_{when}"] = r.get(f"{key}_{when}")
    r.pop("fell_frame", None)
    out.update({k: v for k, v in r.items() if k not in out})
    return out


@register("physics", SCHEMA)
def physics_job(params: dict, ctx: JobContext) -> dict:
    p = check_params(params)
    from ...jobs import JobCancelled
    from ...motion.clip import Clip
    from .track import Push, TrackingCancelled, TrackOptions, needed_force_report, track_clip
    clip, start, end = p["clip"], p["start"], p["end"]
    lo = max(0, start - int(round(CONTEXT_SECONDS * clip.fps)))
    window = clip.slice(lo, end + 1)
    pushes = [Push(frame=q["frame"] - lo, force=q["force"], seconds=q["seconds"],
                   body=q["body"]) for q in p["pushes"]]
    options = TrackOptions(assistance=p["assistance"], friction=p["friction"],
                           gravity=p["gravity"], pushes=pushes, planner=p["planner"],
                           first_frame=p["first_frame"] + lo, recover=p["recover"])
    ctx.progress(0.02, "building the simulated body")
    try:
        result = track_clip(window, options,
                            progress=lambda f, m="": ctx.progress(0.05 + 0.9 * f, m or
                                                                  "simulating"),
                            cancelled=ctx.cancelled)
    except TrackingCancelled:
        raise JobCancelled(ctx.job_id) from None
    except ValueError as e:
        raise _bad(str(e)) from None
    ctx.check_cancelled()
    try:
        needed = needed_force_report(window, options)
    except ValueError:
        needed = {}
    sim = result.clip
    rots = clip.local_rotations.copy()
    root = clip.root_translation.copy()
    a, b = start - lo, end - lo + 1
    rots[start:end + 1] = sim.local_rotations[a:b]
    root[start:end + 1] = sim.root_translation[a:b]
    if start > 0 or end < clip.num_frames - 1:
        from ...motion.seams import blend_seams
        made = Clip(rots, root, clip.fps, clip.skeleton, dict(clip.meta))
        out = blend_seams(made, clip, start, end)
    else:
        out = Clip(rots, root, clip.fps, clip.skeleton, dict(clip.meta))
    report = _report(result, lo, needed)
    warnings = list(result.report.get("warnings") or [])
    if result.report.get("timed_out") and result.report.get("message"):
        warnings.append(str(result.report["message"]))
    if result.fell:
        warnings.append(f"the body fell at frame {report['fell_frame']}: raise the root "
                        f"assistance or edit the motion there")
    out.meta.update({"edit": "physics", "method": "track", "caption": "physically plausible",
                     "source": "anima physics (MuJoCo tracking)", "assistance": p["assistance"]})
    path = ctx.save_clip(out, "clip")
    ctx.progress(1.0, "done")
    licence = clip.meta.get("licence", "as the input motion")
    return {"clips": [{"artifact": "clip", "name": "physics (track)",
                       "caption": "physically plausible", "source": out.meta["source"],
                       "licence": licence, "commercial_ok": True, "attribution": "",
                       "seconds": round(out.seconds, 3)}],
            "selected": 0, "edit": "physics", "method": "track", "warnings": warnings,
            "report": report, "contacts": _contacts_full(result, clip.num_frames, lo),
            ARTIFACTS_KEY: {"clip": path}}
