"""Backend job kinds `story_plan` and `story` (issue 10: story-to-motion).

``story_plan`` params:
  story        str (at most ``schedule.MAX_STORY_CHARS``)
  scene        scene dict (``schema.Scene``): the objects are the places, the character's start
  scheduler    "offline" (default) | "llm"
  llm          {"url", "model", "api_key", "timeout_s"} for "llm" (``llm.LLMSettings``)
  allow_online bool: the add-on passes ``bpy.app.online_access``; without it only a loopback
               LLM endpoint is called
  model        the generator whose known actions are checked ("starter")
result: {"schedule": Schedule dict, "warnings": [...], "scheduler": "offline" | "llm"}

``story`` params:
  schedule     Schedule dict (as planned, possibly edited by the user)
  scene        scene dict
  model, seed, steps, guidance   the generator (as the `generate` job)
  previous     optional {"clip": wire clip (``motion.wire``) of the former story,
               "segments": its result rows, "transitions": its transitions,
               "regenerate": [segment indices]}: only those segments and the transitions
               beside them are made anew, every other frame is kept
progress: one message per segment. Cancelled after at least one segment: the result holds the
segments made so far with ``partial: true``.
result: {"fps", "frames", "segments": [rows, see assemble.py], "transitions", "partial",
         "made", "changed", "warnings", "seed", "model", "licence", "commercial_ok",
         "attribution", "metrics", "artifacts": {"story": path of the canonical story clip}}
"""
from __future__ import annotations

import importlib
import secrets

from ...jobs import JobCancelled, JobContext, JobError, param, register
from ...protocol import ARTIFACTS_KEY, ErrorCode
from ...params import Spec
from ..text2motion.config import DEFAULT_GUIDANCE, DEFAULT_STEPS, GENERATOR_PARAMS, SHIPPED
from .schedule import MAX_STORY_CHARS
from .schema import Scene, Schedule, SchemaError

SCHEDULERS = ("offline", "llm")
SCENE_SPEC = Spec("object", "the places (scene objects) and the character's start", None)
PLAN_SCHEMA = {
    "story": Spec("string", "what happens", required=True, nullable=False, min=1,
                  max=MAX_STORY_CHARS),
    "scene": SCENE_SPEC,
    "scheduler": Spec("string", "who reads the story", "offline", choices=SCHEDULERS),
    "llm": Spec("object", "the LLM endpoint for scheduler 'llm' (url, model, api_key, "
                "timeout_s)", None),
    "allow_online": Spec("boolean", "Blender's online access: without it only a loopback LLM "
                         "is called", False),
    "model": GENERATOR_PARAMS["model"],
}
STORY_SCHEMA = {
    "schedule": Spec("object", "the planned segments (story_plan's result)", required=True,
                     nullable=False),
    "scene": SCENE_SPEC,
    **GENERATOR_PARAMS,
    "previous": Spec("object", "the former story, to remake only some segments", None),
}


def _bad(message: str) -> JobError:
    return JobError(ErrorCode.BAD_PARAMS, message)


def _scene(params: dict) -> Scene:
    try:
        return Scene.from_dict(params.get("scene") or {})
    except SchemaError as e:
        raise _bad(f"scene: {e}") from None


def _model(params: dict) -> str:
    model = param(params, "model", str, "starter")
    if model not in SHIPPED and not model.endswith(".pt"):
        raise _bad(f"model must be one of {', '.join(SHIPPED)} (or a .pt path), got {model!r}")
    return model


def plan(story: str, scene: Scene, scheduler: str = "offline", llm: dict | None = None,
         allow_online: bool = False, model: str = "starter") -> Schedule:
    """The schedule of a story (offline, or by the LLM with the offline one as fallback)."""
    from .schedule import ScheduleError, offline_schedule
    if scheduler == "llm":
        from .llm import LLMSettings, llm_schedule
        settings = LLMSettings(**{k: v for k, v in (llm or {}).items()
                                  if k in ("url", "model", "api_key", "timeout_s",
                                           "max_tokens")})

        def fallback(text, sc):
            return offline_schedule(text, sc, model=model)
        try:
            return llm_schedule(story, scene, settings, allow_online, fallback)
        except ScheduleError as e:
            raise _bad(str(e)) from None
    try:
        return offline_schedule(story, scene, model=model)
    except ScheduleError as e:
        raise _bad(str(e)) from None


@register("story_plan", PLAN_SCHEMA)
def story_plan_job(params: dict, ctx: JobContext) -> dict:
    story = param(params, "story", str)
    scene = _scene(params)
    scheduler = param(params, "scheduler", str, "offline")
    if scheduler not in SCHEDULERS:
        raise _bad(f"scheduler must be one of {', '.join(SCHEDULERS)}, got {scheduler!r}")
    llm = param(params, "llm", dict, {}) if scheduler == "llm" else {}
    if scheduler == "llm" and not llm.get("url"):
        raise _bad("the LLM scheduler needs an endpoint URL (add-on preferences)")
    ctx.progress(0.1, "reading the story")
    # the text encoder's cold load or an LLM's answer: seconds with no cancel point
    schedule = ctx.wait_for(plan, story, scene, scheduler, llm,
                            param(params, "allow_online", bool, False), _model(params))
    return {"schedule": schedule.to_dict(), "warnings": list(schedule.warnings),
            "scheduler": schedule.scheduler}


def _previous(params: dict, n: int) -> tuple[dict | None, list[int]]:
    prev = params.get("previous")
    if prev is None:
        return None, []
    if not isinstance(prev, dict):
        raise _bad("parameter 'previous' must be an object")
    from ...motion.wire import clip_from_wire
    try:
        clip = clip_from_wire(prev.get("clip"), meta={"source": "previous story"})
    except ValueError as e:
        raise _bad(f"previous clip: {e}") from None
    rows, trans = prev.get("segments"), prev.get("transitions", [])
    regen = prev.get("regenerate")
    if not isinstance(rows, list) or not isinstance(trans, list) or not isinstance(regen, list):
        raise _bad("previous needs 'segments', 'transitions' and 'regenerate' lists")
    if not all(isinstance(k, int) and 0 <= k < n for k in regen) or not regen:
        raise _bad(f"previous regenerate must list segment indices 0..{n - 1}")
    try:
        for r in rows:
            int(r["index"]), int(r["start"]), int(r["end"]), float(r["end_yaw"])
            [float(v) for v in r["end_xy"]]
        for t in trans:
            [int(v) for v in t["between"]], int(t["start"]), int(t["end"])
    except (KeyError, TypeError, ValueError):
        raise _bad("previous segments/transitions are not a story result's tables") from None
    return {"clip": clip, "segments": rows, "transitions": trans}, sorted(set(regen))


@register("story", STORY_SCHEMA)
def story_job(params: dict, ctx: JobContext) -> dict:
    scene = _scene(params)
    try:
        schedule = Schedule.from_dict(params.get("schedule"), scene)
    except SchemaError as e:
        raise _bad(f"schedule: {e}") from None
    model = _model(params)
    if model not in SHIPPED:
        ctx.input_path(model, "model")
    seed = params.get("seed")
    seed = int(param(params, "seed", int)) if seed is not None else secrets.randbelow(2**31)
    steps = param(params, "steps", int, DEFAULT_STEPS, minimum=1, maximum=50)
    guidance = float(param(params, "guidance", (int, float), DEFAULT_GUIDANCE, minimum=0.0,
                           maximum=10.0))
    previous, regenerate = _previous(params, len(schedule.segments))
    ctx.progress(0.02, f"loading the {model} model")
    ctx.wait_for(importlib.import_module, "..text2motion.sample", __package__)   # cold: torch
    from ..text2motion.sample import CheckpointError, load_generator
    try:
        gen = ctx.wait_for(load_generator, model,
                           device=getattr(ctx, "device", "cpu") or "cpu")
    except CheckpointError as e:
        raise JobError(ErrorCode.JOB_FAILED, str(e)) from None
    from .assemble import compose_story
    from .planner import PlanError
    try:
        result = compose_story(gen, schedule, scene, seed, steps, guidance, model,
                               progress=lambda f, m: ctx.progress(0.05 + 0.9 * f, m),
                               cancelled=ctx.cancelled, previous=previous,
                               regenerate=regenerate, library_dir=ctx.cache_dir)
    except (PlanError, ValueError) as e:
        raise _bad(str(e)) from None
    if result.clip is None:
        raise JobCancelled(ctx.job_id)
    meta = dict(result.clip.meta)
    commercial = bool(gen.commercial_ok) and all(
        r["info"].get("commercial_ok", True) for r in result.segments)
    if meta.get("inbetween") == "learned":
        commercial = commercial and bool(meta.get("inbetween_commercial_ok"))
    path = ctx.save_clip(result.clip, "story")
    made = len(result.segments)
    return {"fps": float(result.clip.fps), "frames": int(result.clip.num_frames),
            "segments": result.segments, "transitions": result.transitions,
            "partial": bool(result.partial), "made": made,
            "changed": regenerate if previous else list(range(made)),
            "warnings": list(schedule.warnings) + result.warnings, "seed": seed,
            "model": model, "licence": gen.licence, "commercial_ok": commercial,
            "attribution": gen.attribution, "metrics": result.metrics,
            ARTIFACTS_KEY: {"story": path}}
