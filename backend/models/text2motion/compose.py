"""Compound prompts made with the generator and the editing tools (issue 9, item 3).

    clip, info = generate_prompt(gen, "a person walks forward and waves, then bows", seed=0)

``generate_prompt`` does the right thing for simple and compound prompts (the generate job
only calls it): the prompt is parsed (``backend.text.compound.parse_prompt``) into stages one
after another, each of actions that happen together.

* A stage of one action: generated from its text.
* A stage of several (together): the driver (locomotion / whole-body part) is generated as a
  clip, then its upper body is made anew from the gesture text(s) with
  ``editing.edits.body_part`` (legs and root kept exactly).
* Several stages (sequence): each is made as above, with its own length (predicted from its
  text, or the requested seconds split in proportion to the predicted lengths), joined by
  ``motion.join.join_with_gap`` with a ``GAP_SECONDS`` gap that the learned in-betweener fills
  (``editing.learned``; ``editing.inbetween.slerp_fill`` when its checkpoint is missing).

The result is a canonical Clip (20 fps, on the floor, starting at the origin facing -Y) and
segments ``[(text, start_s, end_s), ...]``: each action's time span in the clip, end
exclusive (actions of a together stage share their stage's span; gaps belong to none).
"""
from __future__ import annotations

import numpy as np

from ...motion.clip import Clip
from ...text.compound import CompoundPrompt, Stage, parse_prompt
from .config import FPS, MAX_SECONDS

GAP_SECONDS = 0.4              # in-betweened transition between two stages of a sequence
MIN_STAGE_SECONDS = 1.0        # shortest stage a requested length may be split into
UPPER_BODY = ["upper_body"]
# Guidance of the gesture re-made on top of a locomotion when the request sets none: on 15
# "<walk | run | jump> and <gesture>" pairs x 8 seeds, both parts were detected in 69 % at
# the default 2.5 and 77 % at 4.0 (calls and goodbyes gain; waves and raised hands were
# already all detected), jerk 98.7 -> 102.8 m/s^3 (docs/text_understanding.md, round 8).
OVERLAY_GUIDANCE = 4.0


def sampling_kwargs(steps, guidance) -> dict:
    """The generator's sampling options that were set (None: its default)."""
    out = {}
    if steps is not None:
        out["steps"] = int(steps)
    if guidance is not None:
        out["guidance"] = float(guidance)
    return out


def _stage_seconds(gen, stages: tuple[Stage, ...], seconds: float | None,
                   seeds: list[int]) -> list[float]:
    """Each stage's length (s): predicted from its text, or `seconds` (the whole clip, gaps
    included) split in proportion to the predicted lengths."""
    predicted = gen.predict_seconds([s.text for s in stages], seeds)
    if seconds is None:
        return [float(p) for p in predicted]
    gaps = GAP_SECONDS * (len(stages) - 1)
    room = float(seconds) - gaps
    if room < MIN_STAGE_SECONDS * len(stages):
        raise ValueError(f"{seconds:g} s is too short for {len(stages)} actions one after "
                         f"another: give at least "
                         f"{MIN_STAGE_SECONDS * len(stages) + gaps:g} s, or leave the length "
                         f"to the model")
    share = np.asarray(predicted, np.float64) / float(np.sum(predicted))
    out = np.maximum(share * room, MIN_STAGE_SECONDS)
    return list(out * room / out.sum())


def generate_stage(gen, stage: Stage, seconds: float | None, seed: int, steps=None,
                   guidance=None, snap: bool = False, tries: int | None = None
                   ) -> tuple[Clip, list]:
    """One stage as a canonical clip: its single action generated, or (together) the
    driver generated and its upper body re-made from the other actions' text. Each part
    read as a checkable action is checked and made again while it fails (takes.py).
    Returns (clip, [Take] of the driver and then of the overlay). tries: takes per part
    (default ``takes.TAKES``; 1: the first take, unchecked)."""
    from .takes import TAKES, generate_takes, weaker_texts
    tries = TAKES if tries is None else int(tries)

    kw = sampling_kwargs(steps, guidance)
    driver = stage.driver if len(stage.actions) > 1 else stage.actions[0]
    text, action, style = read_part(gen, driver.text) if snap else (driver.text, None, None)
    feats, takes = generate_takes(gen, [text], [action], [seconds], [int(seed)], tries,
                                  weaker=weaker_texts([text], [action]), styles=[style], **kw)
    clip = gen.to_clip(feats[0])
    if len(stage.actions) > 1:
        # The gesture without the style: a styled gesture text ("an old man waves") keeps
        # the arms low (measured 0/10 waves); the style shows in the driver's legs and body.
        parts = [model_part(gen, a.text, style=False) for a in stage.overlays]
        clip, take = _overlay(gen, clip, parts, int(seed), steps,
                              OVERLAY_GUIDANCE if guidance is None else guidance, tries)
        takes.append(take)
    return clip, takes


def _overlay(gen, clip: Clip, parts, seed: int, steps, guidance, tries: int):
    """The upper body re-made from the gestures' text over `clip`; made again with another
    seed while the first checkable gesture does not show (takes.py). (clip, Take)."""
    from ..editing.edits import body_part
    from .takes import MIN_CHECK_SECONDS, Take, checked_action, score_clip, take_seed

    gesture = " and ".join(text for text, _a in parts)
    action = next((checked_action(a) for _t, a in parts if checked_action(a)), None)
    if clip.seconds < MIN_CHECK_SECONDS:
        action = None                               # too short to check (takes.py)
    take, best = Take(action), None
    for k in range(tries if action else 1):
        s = take_seed(seed, k)
        out = body_part(gen, clip, UPPER_BODY, gesture, s, steps=steps, guidance=guidance)
        if take.offer(k, s, None if action is None else score_clip(action, out)):
            best = out
        if take.passed is not False:
            break
    return best, take


def read_part(gen, text: str, style: bool = True) -> tuple[str, str | None, str | None]:
    """(what the generator is given for one part, the action it was read as or None, the
    style it was given or None): the part snapped to a training-like caption when the
    prompt checker is sure of its action (backend/text/snap.py), else as written."""
    from ...text.snap import snap_prompt, training_caption
    model = str(gen.path) if getattr(gen, "path", None) else "starter"
    snapped, info = snap_prompt(text, model)
    if not info["snapped"]:
        return text, None, None
    if not style:
        return training_caption(info["action"], None) or snapped, info["action"], None
    return snapped, info["action"], info.get("style")


def model_part(gen, text: str, style: bool = True) -> tuple[str, str | None]:
    """(what the generator is given for one part, the action it was read as or None):
    ``read_part`` without the style."""
    return read_part(gen, text, style)[:2]


def model_text(gen, text: str, style: bool = True) -> str:
    """What the generator is given for one part (``model_part``'s text)."""
    return model_part(gen, text, style)[0]


def _fill(joined: Clip, known: np.ndarray, warnings: list[str]) -> tuple[Clip, str, dict]:
    """The gaps of `joined` filled: (clip, filler name, the filler's licence meta)."""
    from ..editing.inbetween import slerp_fill
    from ..editing.learned import InbetweenCheckpointError, learned_fill, load_inbetweener

    try:
        model = load_inbetweener()
    except InbetweenCheckpointError as e:
        warnings.append(f"{e}; the transitions were filled by slerp instead")
        return slerp_fill(joined, known), "slerp", {}
    return learned_fill(model, joined, known), "learned", dict(model.meta)


def generate_compound(gen, parsed: CompoundPrompt, seconds: float | None = None, seed: int = 0,
                      steps=None, guidance=None, tries: int | None = None
                      ) -> tuple[Clip, list[tuple[str, float, float]], dict]:
    """(canonical Clip, segments [(action text, start s, end s)], details) of a parsed
    prompt (see the module doc). seconds: the whole clip's length, or None (each stage's
    predicted). Stage i uses seed + i."""
    from ...motion.join import join_with_gap

    if seconds is not None and not 0 < float(seconds) <= MAX_SECONDS:
        raise ValueError(f"seconds must be more than 0 and at most {MAX_SECONDS:g}, got "
                         f"{seconds:g}")
    stages = parsed.stages
    seeds = [(int(seed) + i) % 2**63 for i in range(len(stages))]
    lengths = ([seconds] if len(stages) == 1 else _stage_seconds(gen, stages, seconds, seeds))
    details: dict = {"relation": parsed.relation, "stages": parsed.describe(),
                     "drivers": [s.driver.text for s in stages], "warnings": []}
    clip, known, segments, takes = None, None, [], []
    for stage, secs, s in zip(stages, lengths, seeds):
        part, stage_takes = generate_stage(gen, stage, secs, s, steps, guidance,
                                           snap=parsed.is_compound, tries=tries)
        takes += stage_takes
        if clip is None:
            clip, known, start = part, np.arange(part.num_frames), 0
        else:
            gap = max(1, int(round(GAP_SECONDS * clip.fps)))
            start = clip.num_frames + gap
            clip, new_known = join_with_gap(clip, part, gap)
            known = np.concatenate([known, new_known[new_known >= start]])
        end = start + part.num_frames
        segments += [(a.text, start / clip.fps, end / clip.fps) for a in stage.actions]
    details["takes"] = [t.meta() for t in takes if t.action is not None]
    details["warnings"] += [w for w in dict.fromkeys(t.warning() for t in takes) if w]
    if len(stages) > 1:
        clip, filler, filler_meta = _fill(clip, known, details["warnings"])
        details.update({"inbetween": filler, "inbetween_licence": filler_meta.get("licence"),
                        "inbetween_commercial_ok": filler_meta.get("commercial_ok")})
    return clip, segments, details


def reads_as_compound(prompt: str, model: str = "starter") -> bool:
    """Whether the generate job composes `prompt` from parts (``generate_prompt``) rather
    than generating it whole: the parser splits it (a walk followed by a turn to one side
    is one stage there, the data's walk-turn action), and at least two of its parts name a
    known action. A part that
    names none is a description of the other ("stands up after falling", "bounces a
    basketball, standing at the line", "ambles along eating chips"): composing it would
    generate the description on its own. False for a prompt the parser cannot read."""
    from ...text.known import check_prompt
    try:
        parsed = parse_prompt(prompt)
    except ValueError:          # nothing the parser can read (another script ...): as typed
        return False
    if not parsed.is_compound:
        return False
    parts = [a.text for stage in parsed.stages for a in stage.actions]
    return sum(bool(check_prompt(text, model).known_actions) for text in parts) >= 2


def generate_prompt(gen, prompt: str, seconds: float | None = None, seed: int = 0, steps=None,
                    guidance=None, tries: int | None = None) -> tuple[Clip, dict]:
    """(canonical Clip at 20 fps, info) for any prompt, simple or compound.

    info: {"relation": "single" | "together" | "sequence", "stages": [[text, ...]],
    "drivers", "segments": [[text, start_s, end_s]], "warnings": [...], and for sequences
    "inbetween" ("learned" | "slerp") with its licence}. The clip's meta is the generator's
    (source, licence ...) plus prompt, caption, seed, composition and segments. ValueError
    for an empty prompt or a length out of range."""
    parsed = parse_prompt(prompt)
    clip, segments, info = generate_compound(gen, parsed, seconds, seed, steps, guidance, tries)
    info["segments"] = [[t, round(a, 3), round(b, 3)] for t, a, b in segments]
    meta = dict(clip.meta)
    for key in ("joined", "inbetween", "edit", "parts", "range", "text"):
        meta.pop(key, None)
    commercial_ok = bool(meta.get("commercial_ok", False))
    if info.get("inbetween") == "learned":
        commercial_ok = commercial_ok and bool(info.get("inbetween_commercial_ok"))
    meta.update({"prompt": prompt, "caption": prompt, "seed": int(seed),
                 "composition": info["relation"], "segments": info["segments"],
                 "commercial_ok": commercial_ok})
    if info.get("takes"):
        meta["takes"] = info["takes"]
    if steps is not None:
        meta["steps"] = int(steps)
    if guidance is not None:
        meta["guidance"] = float(guidance)
    elif any(len(stage) > 1 for stage in info["stages"]):
        meta["overlay_guidance"] = OVERLAY_GUIDANCE
    if abs(clip.fps - FPS) > 1e-9:          # the generator's rate, whatever the editing did
        from ...motion.resample import resample
        clip = resample(clip, FPS)
    clip = Clip(clip.local_rotations, clip.root_translation, clip.fps, clip.skeleton, meta)
    return clip, info
