"""`python -m backend eval text2motion --prompts tests/data/prompts`: the generator on the
independent prompt test set (``backend/eval/prompt_set.py``; written without looking at the
training captions, never trained or tuned on).

For every prompt of ``single.jsonl`` one clip is generated (length from the model's own
predictor, seed = the prompt's index) and the action/style recogniser (trained on real train
motion, ``cli_eval.get_recognizer``) names its action and style. The real reference is the
same recogniser on the dataset's real test-split clips of the same labels: for each prompt,
the real accuracy of its label, averaged over the prompts (so both sides weigh labels alike).

* ``acc_ratio`` = generated action accuracy / real accuracy on the same labels;
* ``style_ratio`` likewise over the prompts that name a style the recogniser knows;
* ``skate`` / ``jerk`` of the generated clips, beside ``skate_real`` / ``jerk_real`` of the
  real test clips.

Labels: the set's "dance" is any of the data's dance labels (dance, dance-long, dance-short);
other names match the dataset's labels as they are. Prompts whose label the recogniser does
not know are counted apart (``unscored``).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

ALIASES = {"dance": ("dance", "dance-long", "dance-short")}


def _labels(rec, kind: str, label) -> tuple[str, ...]:
    if label is None:
        return ()
    return tuple(x for x in ALIASES.get(label, (label,)) if rec.known(kind, x))


def _real_accuracy(rec, items, kind: str) -> dict[str, float]:
    """Real test clips' recognition accuracy per label of `kind` (aliases pooled)."""
    pred = rec.predict([it.features for it in items])[kind]
    truth = [it.labels.get(kind) for it in items]
    out = {}
    for label in set(t for t in truth if t is not None):
        idx = [i for i, t in enumerate(truth) if t == label]
        out[label] = float(np.mean([pred[i] == label for i in idx]))
    return out


def evaluate(gen, rec, test_items, prompts, seed: int = 0, generate=None, log=print) -> dict:
    """Figures of the module doc. `generate(prompt, seed) -> features (T, 263)` defaults to
    the plain generator with its predicted length, cleaned as the add-on gets it."""
    from . import metrics as M

    if generate is None:
        generate = _conditioned(gen, {})
    real_acc = {k: _real_accuracy(rec, test_items, k) for k in rec.vocab}
    feats, t0 = [], time.perf_counter()
    for i, p in enumerate(prompts):
        feats.append(np.asarray(generate(p["prompt"], seed + i), np.float32))
        if (i + 1) % 50 == 0:
            log(f"generated {i + 1}/{len(prompts)} ({time.perf_counter() - t0:.0f} s)")
    pred = rec.predict(feats)
    res: dict = {"prompts": len(prompts), "gen_seconds": time.perf_counter() - t0}
    for kind, field in (("action", "action"), ("style", "style")):
        if kind not in rec.vocab:
            continue
        hits, refs, unscored, per_tag = [], [], 0, {}
        for p, guess in zip(prompts, pred[kind]):
            labels = _labels(rec, kind, p.get(field))
            if not labels:
                unscored += p.get(field) is not None
                continue
            hit = guess in labels
            hits.append(hit)
            refs.append(max(real_acc[kind].get(x, 0.0) for x in labels))
            for tag in p.get("tags", []):
                per_tag.setdefault(tag, []).append(hit)
            per_tag.setdefault(f"label_{labels[0]}", []).append(hit)
        gen_acc = float(np.mean(hits)) if hits else float("nan")
        real = float(np.mean(refs)) if refs else float("nan")
        key = "acc" if kind == "action" else "style"
        res[f"gen_{key}"] = gen_acc
        res[f"real_{key}"] = real
        res[f"{key}_ratio"] = gen_acc / real if refs and real > 0 else float("nan")
        res[f"{key}_scored"] = len(hits)
        res[f"{key}_unscored"] = unscored
        for tag, v in sorted(per_tag.items()):
            res[f"{key}_{tag}"] = float(np.mean(v))
    phys = M.physical_metrics(feats)
    real_phys = M.physical_metrics([it.features for it in test_items])
    res.update({"skate": phys["skate"], "jerk": phys["jerk"], "skate_real": real_phys["skate"],
                "jerk_real": real_phys["jerk"]})
    return res


def _conditioned(gen, sampling: dict, to_text=lambda prompt: prompt):
    """generate(prompt, seed) conditioning on ``to_text(prompt)``, cleaned as the add-on gets
    it; ``sampling``: the generator's guidance / steps."""
    from ..motion.cleanup import clean_features

    def generate(prompt, s):
        return clean_features(gen.generate([to_text(prompt)], [None], [s], **sampling)[0])
    return generate


def _checked(gen, sampling: dict, tries: int | None, read):
    """generate(prompt, seed) conditioning on ``read(prompt) -> (text, action or None,
    style or None)``, each take of a checkable action checked and made again while it
    fails, as the generate job does (models/text2motion/takes.py; tries=1: the model's
    first take); cleaned as the add-on gets it."""
    from ..models.text2motion.takes import TAKES, generate_takes, weaker_texts
    from ..motion.cleanup import clean_features

    def generate(prompt, s):
        text, action, style = read(prompt)
        feats, _ = generate_takes(gen, [text], [action], [None], [s],
                                  TAKES if tries is None else tries,
                                  weaker=weaker_texts([text], [action]), styles=[style],
                                  **sampling)
        return clean_features(feats[0])
    return generate


def _snapped(gen, model: str, sampling: dict, tries: int | None = None):
    """Conditioning on the snapped caption (backend/text/snap.py), takes checked for the
    snapped action (``_checked``)."""
    from ..text.snap import snap_prompt

    def read(prompt):
        text, info = snap_prompt(prompt, model)
        return text, info.get("action"), info.get("style")
    return _checked(gen, sampling, tries, read)


def _as_job(gen, model: str, sampling: dict, tries: int | None = None):
    """What the generate job does with the prompt: composed from parts when the parser
    splits it (``compose.reads_as_compound``), else snapped; cleaned as the add-on gets it."""
    from ..models.text2motion.compose import generate_prompt, reads_as_compound
    from ..motion.humanml3d import clip_to_features
    snapped = _snapped(gen, model, sampling, tries)

    def generate(prompt, s):
        if not reads_as_compound(prompt, model):
            return snapped(prompt, s)
        clip, _ = generate_prompt(gen, prompt, None, s, tries=tries, **sampling)
        return clip_to_features(clip)
    return generate


def _labelled(gen, prompts, sampling: dict, model: str = "starter", tries: int | None = None):
    """Conditioning on what snap gives the prompt's own labels (a training caption, blended
    for a thin style), takes checked for the labelled action as the job checks a snapped
    one: the generator's ceiling on this set if every prompt were understood perfectly."""
    from ..text.snap import conditioning_caption
    labels = {p["prompt"]: (p["action"], p.get("style")) for p in prompts}

    def read(prompt):
        action, style = labels[prompt]
        return conditioning_caption(action, style, model) or prompt, action, style
    return _checked(gen, sampling, tries, read)


def run(args, ds, rec) -> int:
    """The --prompts branch of `eval text2motion` (dataset and recogniser already loaded)."""
    from ..models.text2motion.sample import load_generator
    from .prompt_set import load_prompt_set
    gen = load_generator(args.checkpoint or "starter")
    if getattr(args, "compound", False):
        from .compound_eval import evaluate as compound
        res = compound(gen, load_prompt_set("compound", directory=args.prompts), args.seed,
                       tries=getattr(args, "tries", None), rec=rec,
                       show_misses=getattr(args, "show_misses", False))
        res.update(limits_figures(args.checkpoint or "starter", args.prompts))
        print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in res.items()))
        return 0
    prompts = load_prompt_set("single", directory=args.prompts)
    if args.samples:
        prompts = prompts[:args.samples]
    test_items = list(ds.filter(split="test").items)
    conditioning = getattr(args, "conditioning", "prompt")
    sampling = {k: v for k, v in (("guidance", getattr(args, "guidance", None)),
                                  ("steps", getattr(args, "steps", None))) if v is not None}
    model = args.checkpoint or "starter"
    tries = getattr(args, "tries", None)
    generate = _snapped(gen, model, sampling, tries) if conditioning == "snap" \
        else _as_job(gen, model, sampling, tries) if conditioning == "job" \
        else _labelled(gen, prompts, sampling, model, tries) if conditioning == "labels" \
        else _conditioned(gen, sampling)
    res = evaluate(gen, rec, test_items, prompts, seed=args.seed, generate=generate)
    res["conditioning"] = getattr(args, "conditioning", "prompt")
    head = ("acc_ratio", "style_ratio", "skate", "jerk")
    rest = {k: v for k, v in res.items() if k not in head}
    print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                   for k, v in rest.items()))
    print(" ".join(f"{k}={res.get(k, float('nan')):.4f}" for k in head))
    return 0


def limits_figures(model: str = "starter", prompts: str | Path | None = None,
                   sense: bool | None = None) -> dict:
    """The prompt checker on a prompt set: unknown-action prompts flagged (target >= 90 %)
    and single known-action prompts wrongly flagged (target <= 5 %; over the prompts whose
    action the model was trained on: ``untrained_flagged`` is the share of the others, asking
    for an action the model has no recording of, that are flagged); the compound parser:
    relation (together / one after another) and number of parts as labelled.

    prompts: the set's folder (default ``tests/data/prompts``; the second held-out set is
    ``tests/data/prompts_heldout2``). Returns fractions in [0, 1]."""
    from ..text.catalogue import STAND_IN, model_labels
    from ..text.compound import parse_prompt
    from ..text.known import check_prompt
    from .prompt_set import load_prompt_set
    unknown = load_prompt_set("unknown", prompts)
    single = load_prompt_set("single", prompts)
    # sense: the learned sense check (known.py; None: its default, on)
    flagged = sum(bool(check_prompt(p["prompt"], model, sense).unknown) for p in unknown)
    # a set's "known" action that this model has no training recording of (the data's only
    # cartwheels are in the validation split: catalogue.model_labels) is rightly flagged
    trained = set(model_labels(model)[0])
    trained |= {a for a, b in STAND_IN.items() if b in trained}   # answered by a stand-in
    known = [p for p in single if p.get("action") in trained or p.get("action") is None]
    untrained = [p for p in single if p not in known]
    false = sum(bool(check_prompt(p["prompt"], model, sense).unknown) for p in known)
    untrained_flagged = sum(bool(check_prompt(p["prompt"], model, sense).unknown)
                            for p in untrained)
    rel_ok = parts_ok = 0
    compound = load_prompt_set("compound", prompts)
    for p in compound:
        try:
            parsed = parse_prompt(p["prompt"])
        except ValueError:
            continue
        got = parsed.relation
        rel_ok += got == p["relation"]
        n = sum(len(stage.actions) for stage in parsed.stages)
        parts_ok += n == len(p["parts"])
    return {"unknown_flagged": flagged / len(unknown), "false_alarms": false / len(known),
            "untrained_flagged": untrained_flagged / len(untrained) if untrained else 1.0,
            "compound_relation": rel_ok / len(compound),
            "compound_parts": parts_ok / len(compound)}
