"""Backend job kind `edit`: change part of a canonical clip the add-on sends.

params:
  edit      "inbetween" | "regenerate" | "continue" | "body_part"
  clip      the motion, packed by ``backend.motion.wire.clip_to_wire`` (canonical, any fps)
  text      str, optional: what the new motion shows (steers the generator)
  seed      int, optional (default: random, reported back)
  model     "starter" | "clean" | a checkpoint .pt path: the generator (default "starter")
  steps, guidance   the generator's sampling settings (as the `generate` job)
  inbetween:  keys [frame, ...] (clip frames, >= 2, increasing, at least one frame apart),
              method "auto" (default: the generator when there is text, else the learned
              in-betweener, else slerp) | "learned" | "slerp" | "generator"
  regenerate: start, end (clip frames, inclusive)
  continue:   seconds (0 < s <= 30)
  body_part:  parts [group or canonical joint name, ...] (``backend.motion.joints``),
              optional start, end
result:  {"clips": [{"artifact": "clip", "name", "caption", "seed", "source", "licence",
          "commercial_ok", "attribution", "seconds"}], "selected": 0, "edit", "method",
          "seed", "warnings": [...], "artifacts": {"clip": path}}
Frames outside the edit come back bit-identical to what was sent (after its float32 packing).
"""
from __future__ import annotations

import importlib
import math
import secrets

from ...jobs import JobContext, JobError, param, register
from ...protocol import ARTIFACTS_KEY, ErrorCode
from ...params import Spec
from .edits import MAX_EXTEND_SECONDS
from ..text2motion.config import DEFAULT_GUIDANCE, DEFAULT_STEPS, GENERATOR_PARAMS, SHIPPED

EDITS = ("inbetween", "regenerate", "continue", "body_part")
METHODS = ("auto", "learned", "slerp", "generator")
MAX_TEXT = 300

SCHEMA = {
    "edit": Spec("string", "what to do", required=True, nullable=False, choices=EDITS),
    "clip": Spec("object", "the motion (backend/motion/wire.py clip_to_wire)", required=True,
                 nullable=False),
    "text": Spec("string", "what the new motion shows (optional)", None, max=MAX_TEXT),
    **GENERATOR_PARAMS,
    "keys": Spec("array", "inbetween: keyed clip frames, increasing", None, min=2,
                 items="integer"),
    "method": Spec("string", "inbetween: how the gap is filled", "auto", choices=METHODS),
    "start": Spec("integer", "regenerate / body_part: first clip frame", None, min=0),
    "end": Spec("integer", "regenerate / body_part: last clip frame", None, min=0),
    "seconds": Spec("number", "continue: seconds to add", None, min=0.0, exclusive_min=True,
                    max=MAX_EXTEND_SECONDS),
    "parts": Spec("array", "body_part: joint groups or canonical joints", None, min=1,
                  items="string"),
}


def _bad(message: str) -> JobError:
    return JobError(ErrorCode.BAD_PARAMS, message)


def _text(params: dict) -> str:
    text = params.get("text") or ""
    if not isinstance(text, str):
        raise _bad("parameter 'text' must be a string")
    text = " ".join(text.split())
    if len(text) > MAX_TEXT:
        raise _bad(f"text is {len(text)} characters; at most {MAX_TEXT}")
    return text


def check_params(params: dict) -> dict:
    """Validated parameters and the decoded clip (JobError bad_params with the reason)."""
    from ...motion.wire import clip_from_wire
    edit = param(params, "edit", str)
    if edit not in EDITS:
        raise _bad(f"edit must be one of {', '.join(EDITS)}, got {edit!r}")
    try:
        clip = clip_from_wire(params.get("clip"), meta={"source": "edit input"})
    except ValueError as e:
        raise _bad(f"parameter 'clip': {e}") from None
    seed = params.get("seed")
    seed = int(param(params, "seed", int)) if seed is not None else secrets.randbelow(2**31)
    model = param(params, "model", str, "starter")
    if model not in SHIPPED and not model.endswith(".pt"):
        raise _bad(f"model must be one of {', '.join(SHIPPED)} (or a .pt path), got {model!r}")
    p = {"edit": edit, "clip": clip, "text": _text(params), "seed": seed, "model": model,
         "steps": param(params, "steps", int, DEFAULT_STEPS, minimum=1, maximum=50),
         "guidance": float(param(params, "guidance", (int, float), DEFAULT_GUIDANCE,
                                 minimum=0.0, maximum=10.0)) if "guidance" in params else None}
    for name in ("guidance", "seconds"):
        value = params.get(name)
        if isinstance(value, float) and not math.isfinite(value):
            raise _bad(f"parameter {name!r} must be a finite number, got {value}")
    T = clip.num_frames
    if edit == "inbetween":
        keys = param(params, "keys", list)
        if len(keys) < 2:
            raise _bad(f"in-betweening needs at least two keyed poses, got {len(keys)}")
        if not all(isinstance(k, int) and not isinstance(k, bool) for k in keys):
            raise _bad("keys must be whole frame numbers")
        if any(b - a < 1 for a, b in zip(keys, keys[1:])):
            raise _bad("keys must increase, at least one frame apart")
        if keys[0] < 0 or keys[-1] >= T:
            raise _bad(f"keys must lie within the clip's frames 0..{T - 1}")
        if keys[-1] - keys[0] == len(keys) - 1:
            raise _bad("every frame between the first and last key is keyed: nothing to fill")
        method = param(params, "method", str, "auto")
        if method not in METHODS:
            raise _bad(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        p.update(keys=list(keys), method=method)
    if edit in ("regenerate", "body_part"):
        has = [k in params and params[k] is not None for k in ("start", "end")]
        if edit == "regenerate" and not all(has):
            raise _bad("regenerate needs 'start' and 'end' frames")
        if any(has) and not all(has):
            raise _bad("give both 'start' and 'end', or neither")
        if all(has):
            p["start"] = param(params, "start", int)
            p["end"] = param(params, "end", int)
            from .edits import check_range
            try:
                check_range(clip, p["start"], p["end"])
            except ValueError as e:
                raise _bad(str(e)) from None
    if edit == "continue":
        p["seconds"] = float(param(params, "seconds", (int, float), minimum=1e-3,
                                   maximum=MAX_EXTEND_SECONDS))
    if edit == "body_part":
        from ...motion.joints import group_joints
        parts = param(params, "parts", list)
        try:
            group_joints([str(x) for x in parts])
        except ValueError as e:
            raise _bad(str(e)) from None
        p["parts"] = [str(x) for x in parts]
    return p


def _inbetween(p: dict, ctx: JobContext, warnings: list) -> tuple:
    from .inbetween import model_fill, slerp_fill
    clip, keys, method = p["clip"], p["keys"], p["method"]
    if method == "auto":
        method = "generator" if p["text"] else "learned"
    if method == "learned":
        try:
            from .learned import learned_fill, load_inbetweener
            model = load_inbetweener()
        except (ImportError, OSError, ValueError) as e:
            warnings.append(f"the learned in-betweener is not available ({e}); used slerp")
            method = "slerp"
        else:
            return learned_fill(model, clip, keys), "learned", None
    if method == "slerp":
        return slerp_fill(clip, keys), "slerp", None
    gen = _generator(p, ctx)
    return model_fill(gen, clip, keys, text=p["text"], seed=p["seed"], steps=p["steps"],
                      guidance=p["guidance"]), "generator", gen


def _generator(p: dict, ctx: JobContext):
    ctx.progress(0.1, f"loading the {p['model']} model")
    try:
        from ..text2motion.sample import CheckpointError, load_generator
    except ImportError as e:
        raise JobError(ErrorCode.JOB_FAILED, f"this edit needs the generator, which needs "
                                             f"torch and the text encoder ({e})") from None
    try:
        return ctx.wait_for(load_generator, p["model"],
                            device=getattr(ctx, "device", "cpu") or "cpu")
    except CheckpointError as e:
        raise JobError(ErrorCode.JOB_FAILED, str(e)) from None


@register("edit", SCHEMA)
def edit_job(params: dict, ctx: JobContext) -> dict:
    check_params(params)                   # bad input is refused before the slow start
    sample = ctx.wait_for(importlib.import_module, "..text2motion.sample", __package__)
    with sample.cancel_checks(ctx.check_cancelled):
        return _edit(params, ctx)


def _edit(params: dict, ctx: JobContext) -> dict:
    p = check_params(params)
    if p["model"] not in SHIPPED:
        ctx.input_path(p["model"], "model")
    warnings: list[str] = []
    edit, clip = p["edit"], p["clip"]
    gen = None
    ctx.check_cancelled()
    kw = dict(text=p["text"], seed=p["seed"], steps=p["steps"], guidance=p["guidance"])
    try:
        if edit == "inbetween":
            out, method, gen = _inbetween(p, ctx, warnings)
        else:
            from . import edits
            gen = _generator(p, ctx)
            ctx.check_cancelled()
            ctx.progress(0.3, f"editing ({edit})")
            method = "generator"
            if edit == "regenerate":
                out = edits.regenerate(gen, clip, p["start"], p["end"], **kw)
            elif edit == "continue":
                out = edits.extend(gen, clip, p["seconds"], **kw)
            else:
                out = edits.body_part(gen, clip, p["parts"], start=p.get("start"),
                                      end=p.get("end"), **kw)
    except ValueError as e:
        raise _bad(str(e)) from None
    ctx.check_cancelled()
    licence, commercial, attribution = "as the edited motion", True, ""
    if gen is not None:
        licence, commercial, attribution = gen.licence, gen.commercial_ok, gen.attribution
        warnings += [w for w in gen.warnings if w not in warnings]
    elif method == "learned":
        from .learned import load_inbetweener
        info = getattr(load_inbetweener(), "meta", {}) or {}
        licence = info.get("licence", licence)
        commercial = bool(info.get("commercial_ok", commercial))
        attribution = info.get("attribution", "")
    out.meta.update({"edit": edit, "method": method, "text": p["text"], "seed": p["seed"],
                     "caption": p["text"] or edit, "source": f"anima edit ({method})",
                     "licence": licence, "commercial_ok": commercial,
                     "attribution": attribution})
    path = ctx.save_clip(out, "clip")
    ctx.progress(1.0, "done")
    return {"clips": [{"artifact": "clip", "name": f"{edit} ({method})",
                       "caption": p["text"] or edit, "seed": p["seed"],
                       "source": out.meta["source"], "licence": licence,
                       "commercial_ok": commercial, "attribution": attribution,
                       "seconds": round(out.seconds, 3)}],
            "selected": 0, "edit": edit, "method": method, "seed": p["seed"],
            "warnings": warnings, ARTIFACTS_KEY: {"clip": path}}
