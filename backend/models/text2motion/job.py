"""Backend job kind `generate`: prompt -> new motion from the text-to-motion generator.

params:  text (str), seconds (float, optional, 0 < s <= 60; default: predicted from the text),
         seed (int, optional; default: random, reported back), variations (int 1..8, default
         1: seeds seed, seed+1, ...), model ("starter" | "clean" | a checkpoint .pt path,
         default "starter"), guidance (float 0..10, default 2.5), steps (int 1..50, default 10),
         conditioning ("snap" | "prompt", default "snap": see CONDITIONING), takes (int 1..5,
         default 3: takes of an action the job can check, takes.py; 1: the first take).
result:  {"clips": [{"artifact", "name", "caption", "seed", "source", "licence",
                     "commercial_ok", "attribution", "seconds", "length_predicted",
                     "segments" (compound prompts)}, ...],
          "selected": 0, "prompt": str, "seeds": [...], "model": {...}, "warnings": [...],
          "prompt_report": {...} (backend/text/known.py), "read_as": "" or the caption the
          model was given, "artifacts": {name: path}}
Compound prompts ("walks and waves", "walks, then jumps") are composed (compose.py).
Same shape as the `search` job's result; each clip carries its checkpoint's licence (starter:
CC-BY-NC-4.0 because of the Bandai-Namco data, clean: CMU).
"""
from __future__ import annotations

import secrets

# Fail at import (the server then lists this job as unavailable, with the reason) when the
# interpreter lacks torch or the text encoder; torch itself is imported by the first job.
from ...jobs import TEXT_ENCODER_PACKAGES, require_packages

require_packages("text-to-motion", TEXT_ENCODER_PACKAGES)

from ...jobs import JobContext, JobError, param, prompt_param, register, seconds_param
from ...protocol import ARTIFACTS_KEY, ErrorCode
from ...params import Spec
from .config import (DEFAULT_GUIDANCE, DEFAULT_STEPS, GENERATOR_PARAMS, MAX_GUIDANCE,
                     MAX_SECONDS, MAX_STEPS, MIN_SECONDS, SECONDS_SPEC, SHIPPED, TEXT_SPEC)
from .takes import TAKES

MAX_VARIATIONS = 8
# "snap": a single-action prompt the checker understands is given to the model as a caption
# of its training data's own kind (backend/text/snap.py; measured better on the independent
# prompt set, docs/text_understanding.md); "prompt": the words as typed.
CONDITIONING = ("snap", "prompt")
BATCH = 4                     # clips per sampling call (cancellation is checked between)
MAX_TAKES = 5


def check_params(params: dict) -> dict:
    """Validated parameters (raises ``JobError("bad_params", ...)`` with a clear message)."""
    prompt = prompt_param(params)
    seconds = seconds_param(params, MAX_SECONDS, MIN_SECONDS)
    seed = params.get("seed")
    seed = int(param(params, "seed", int)) if seed is not None else secrets.randbelow(2**31)
    variations = param(params, "variations", int, 1, minimum=1, maximum=MAX_VARIATIONS)
    model = param(params, "model", str, "starter")
    if model not in SHIPPED and not model.endswith(".pt"):
        raise JobError(ErrorCode.BAD_PARAMS, f"model must be one of {', '.join(SHIPPED)} (or a "
                                             f"checkpoint .pt path), got {model!r}")
    guidance = float(param(params, "guidance", (int, float), DEFAULT_GUIDANCE, minimum=0.0,
                           maximum=MAX_GUIDANCE))
    steps = param(params, "steps", int, DEFAULT_STEPS, minimum=1, maximum=MAX_STEPS)
    takes = param(params, "takes", int, TAKES, minimum=1, maximum=MAX_TAKES)
    conditioning = param(params, "conditioning", str, "snap")
    if conditioning not in CONDITIONING:
        raise JobError(ErrorCode.BAD_PARAMS, f"conditioning must be one of "
                                             f"{', '.join(CONDITIONING)}, got {conditioning!r}")
    return {"prompt": prompt, "seconds": seconds, "seed": seed, "variations": variations,
            "model": model, "guidance": guidance, "steps": steps,
            "conditioning": conditioning, "takes": takes,
            "guidance_set": params.get("guidance") is not None}


SCHEMA = {
    "text": TEXT_SPEC, "seconds": SECONDS_SPEC, **GENERATOR_PARAMS,
    "variations": Spec("integer", "versions to make (seeds seed, seed+1, ...)", 1, min=1,
                       max=MAX_VARIATIONS),
    "conditioning": Spec("string", "snap: the prompt read as the nearest known caption; "
                         "prompt: the words as written", "snap", choices=CONDITIONING),
    "takes": Spec("integer", "takes of an action the job can check (a bow that does not bow "
                  "is made again); 1: keep the first take", TAKES, min=1, max=MAX_TAKES),
}


def warm_up(ctx: JobContext):
    """Import torch and the sampler and load the text encoder — seconds on a cold backend,
    with no cancel point of their own — on a helper thread, so that a cancel during the
    first job of a session still stops it at once. Returns the ``sample`` module."""
    def load():
        from ...text.encoder import TextEncoder
        from . import sample
        TextEncoder.shared()
        return sample
    return ctx.wait_for(load)


@register("generate", SCHEMA)
def generate_job(params: dict, ctx: JobContext) -> dict:
    check_params(params)                   # bad input is refused before the slow start
    with warm_up(ctx).cancel_checks(ctx.check_cancelled):
        return _generate(params, ctx)


def _generate(params: dict, ctx: JobContext) -> dict:
    p = check_params(params)
    if p["model"] not in SHIPPED:
        ctx.input_path(p["model"], "model")
    prompt = p["prompt"]
    # What the model can and cannot do with this prompt: unknown actions (with the nearest it
    # knows), another language, numbers, contradictions ... (backend/text/known.py).
    from ...text.known import check_prompt
    ctx.progress(0.02, "reading the prompt")
    prompt_report = check_prompt(prompt, p["model"])
    warnings = [w for w in prompt_report.warnings() if not w.startswith("no model card")]
    ctx.progress(0.05, f"loading the {p['model']} model")
    from .sample import CheckpointError, load_generator   # torch: imported when first used

    try:
        gen = ctx.wait_for(load_generator, p["model"],
                           device=getattr(ctx, "device", "cpu") or "cpu")
    except CheckpointError as e:
        raise JobError(ErrorCode.JOB_FAILED, str(e)) from None
    ctx.check_cancelled()
    seeds = [p["seed"] + k for k in range(p["variations"])]
    n = len(seeds)
    meta = {"prompt": prompt, "caption": prompt, "model": p["model"],
            "guidance": p["guidance"], "steps": p["steps"]}
    from .compose import reads_as_compound
    made = []                                   # (seed, clip, segments or None)
    read_as = ""
    if reads_as_compound(prompt, p["model"]):
        # Together: legs/root from one action, the upper body re-made from the other; one
        # after another: parts joined by in-betweening (compose.py).
        from .compose import generate_prompt
        for k, seed in enumerate(seeds):
            ctx.progress(0.1 + 0.6 * k / n, f"composing {k + 1} of {n}")
            try:
                # no guidance asked for: each part its own default (compose.OVERLAY_GUIDANCE)
                clip, info = generate_prompt(
                    gen, prompt, p["seconds"], seed, steps=p["steps"],
                    guidance=p["guidance"] if p["guidance_set"] else None, tries=p["takes"])
            except ValueError as e:
                raise JobError(ErrorCode.BAD_PARAMS, str(e)) from None
            clip.meta.update(meta, seed=seed)
            warnings += [w for w in info["warnings"] if w not in warnings]
            made.append((seed, clip, info.get("segments")))
            ctx.check_cancelled()
    else:
        text, action, style = prompt, None, None
        from . import style_layer
        if p["conditioning"] == "snap":
            from ...text.snap import snap_prompt
            text, snapped = snap_prompt(prompt, p["model"], report=prompt_report)
            if snapped["snapped"]:
                meta["conditioned_on"] = read_as = str(text)
                action = snapped["action"]         # its take is checked (takes.py)
                style = snapped.get("style")
                if "style_weight" in snapped:      # a thin style, given part of the way
                    meta["style_weight"] = snapped["style_weight"]
                note = style_layer.note(getattr(text, "layer", None))
                if note:                           # ... and its layer laid on the motion
                    meta["style_layer"] = style
                    warnings.append(note)
        from .takes import generate_takes, weaker_texts
        for start in range(0, n, BATCH):
            chunk = seeds[start:start + BATCH]
            ctx.progress(0.1 + 0.6 * start / n,
                         f"generating {start + 1}-{start + len(chunk)} of {n}")
            feats, takes = generate_takes(gen, [text] * len(chunk), [action] * len(chunk),
                                          [p["seconds"]] * len(chunk), chunk, p["takes"],
                                          weaker=weaker_texts([text], [action]) * len(chunk),
                                          styles=[style] * len(chunk),
                                          guidance=p["guidance"], steps=p["steps"])
            warnings += [w for w in gen.warnings if w not in warnings]
            for seed, f, take in zip(chunk, feats, takes):
                made.append((seed, gen.to_clip(f, dict(meta, seed=seed, **take.meta())), None))
                if take.warning() and take.warning() not in warnings:
                    warnings.append(take.warning())
            ctx.check_cancelled()

    artifacts, clips = {}, []
    for k, (seed, clip, segments) in enumerate(made):
        ctx.check_cancelled()
        name = f"clip_{k}"
        artifacts[name] = ctx.save_clip(clip, name)
        entry = {"artifact": name, "name": f"variation {k + 1} (seed {seed})",
                 "caption": prompt, "seed": seed, "source": clip.meta["source"],
                 "licence": gen.licence,
                 "commercial_ok": bool(clip.meta.get("commercial_ok", gen.commercial_ok)),
                 "attribution": gen.attribution, "seconds": round(clip.seconds, 3),
                 "length_predicted": p["seconds"] is None}
        if segments:
            entry["segments"] = segments
        clips.append(entry)
        ctx.progress(0.7 + 0.3 * (k + 1) / n, "writing clips")
    model_info = {"name": p["model"], "licence": gen.licence,
                  "commercial_ok": gen.commercial_ok, "steps": gen.meta.get("steps"),
                  "code_version": gen.meta.get("code_version")}
    return {"clips": clips, "selected": 0, "prompt": prompt, "seeds": seeds,
            "prompt_report": prompt_report.to_dict(), "read_as": read_as,
            "model": model_info, "warnings": warnings, ARTIFACTS_KEY: artifacts}
