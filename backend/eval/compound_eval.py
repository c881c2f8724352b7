"""Compound prompts of the independent test set, generated and checked part by part
(`python -m backend eval text2motion --prompts tests/data/prompts --compound`).

Each prompt of ``compound.jsonl`` goes through the generate job's path for compound prompts
(``models/text2motion/compose.generate_prompt``). Each labelled part is then looked for in
the clip by a simple kinematic check of its kind (the issue's "wrist above the shoulder while
the pelvis travels >= 1 m"), over the whole clip for parts that happen together and over the
part's share of the clip for parts one after another (the parts' order, the clip cut into
equal shares: the labelled parts need not match the parser's stages):

The checks are ``backend/motion/presence.py``'s (a travelling pelvis, a wrist above the
shoulder, a dropping head ...; either hand for a one-hand gesture); actions with no check
(dance, punch, spin, ...) are counted apart.

**Not independent of the generator:** the generate job checks each part's take with the
same checks and makes a failed take again (``models/text2motion/takes.py``). The figure
therefore says how often the job ends with every part shown, not how often the model
shows it at the first try (``--tries 1``).

A prompt counts as detected when every checkable part is. Last printed figures:
``compound_both= compound_checked=`` (target: both actions detected in >= 90 %).
"""
from __future__ import annotations

import numpy as np

from ..motion.presence import CHECKABLE, present, score


def part_present(action: str, pos: np.ndarray, whole: bool) -> bool:
    """Kinematic check of `action` in joint positions (T, 22, 3), Z up
    (``backend/motion/presence.py``; either hand for a one-hand gesture)."""
    return present(action, pos, whole)


def evaluate(gen, prompts, seed: int = 0, log=print, tries: int | None = None,
             rec=None, show_misses: bool = False) -> dict:
    """tries: takes per part (default the job's ``takes.TAKES``; 1: the model's first).
    show_misses: log each missed prompt (only for sets one may read: never a blind set's).
    rec: the action recogniser; when given, each part of a sequence is also recognised in
    its share of the clip (``compound_sequence_recognised``, over the sequences whose every
    part the recogniser knows): a check the takes do not use."""
    from ..models.text2motion.compose import generate_prompt
    both = checked = skipped = 0
    by_relation: dict[str, list[bool]] = {}
    recognised: list[bool] = []
    for i, p in enumerate(prompts):
        actions = [part["action"] for part in p["parts"]]
        if not all(a in CHECKABLE for a in actions):
            skipped += 1
            continue
        clip, info = generate_prompt(gen, p["prompt"], None, seed + i, tries=tries)
        pos = clip.positions()
        segs = info.get("segments") or []
        if p["relation"] == "together":
            ok = all(part_present(a, pos, True) for a in actions)
        else:
            if len(segs) == len(actions):      # the parser's own stages, when they line up
                shares = [np.arange(int(a * clip.fps), max(int(a * clip.fps) + 2,
                                                           min(len(pos), int(b * clip.fps))))
                          for _t, a, b in segs]
            else:
                shares = np.array_split(np.arange(len(pos)), len(actions))
            ok = all(part_present(a, pos[idx], False) for a, idx in zip(actions, shares))
            if rec is not None:
                seen = _recognised(rec, clip, actions, shares)
                if seen is not None:
                    recognised.append(seen)
        if not ok and show_misses:
            log(f"  missed: {p['prompt']!r} ({p['relation']}: {', '.join(actions)}; read as "
                f"{' | '.join(t for t, _a, _b in segs) if segs else info.get('read_as')})")
        checked += 1
        both += ok
        by_relation.setdefault(p["relation"], []).append(ok)
    res = {"compound_both": both / checked if checked else float("nan"),
           "compound_checked": checked, "compound_skipped": skipped}
    for rel, v in by_relation.items():
        res[f"compound_{rel}"] = float(np.mean(v))
    if rec is not None:
        res["compound_sequence_recognised"] = float(np.mean(recognised)) if recognised \
            else float("nan")
        res["compound_sequence_recognised_n"] = len(recognised)
    log(f"compound prompts: {both}/{checked} with every part detected ({skipped} not "
        f"checkable by kinematics)")
    return res


def _recognised(rec, clip, actions, shares) -> bool | None:
    """Whether the recogniser names every part's action in its share of the clip; None
    when it does not know one of them."""
    from ..motion.humanml3d import clip_to_features
    from .prompt_eval import _labels
    labels = [_labels(rec, "action", a) for a in actions]
    if not all(labels):
        return None
    feats = [clip_to_features(clip.slice(int(idx[0]), int(idx[-1]) + 1)) for idx in shares]
    pred = rec.predict(feats)["action"]
    return all(p in ok for p, ok in zip(pred, labels))


def real_pass_rates(path=None, write: bool = False) -> None:
    """Each check's pass rate on every real clip of the dataset, by labelled action: as the
    evaluation checks (either hand) and as the take check does (``sided``). write: also
    the take check's passes per (action, style) into ``presence.RATES_PATH``."""
    import json
    import os

    from ..motion.presence import RATES_PATH

    from ..data.t2m_dataset import T2MDataset
    from ..motion.humanml3d import features_to_clip
    path = path or os.path.expanduser("~/.local/share/anima/t2m/dataset_all.npz")
    ds = T2MDataset.load(path)
    for a in sorted(CHECKABLE):
        items = [it for it in ds.items if it.labels.get("action") == a]
        if not items:
            continue
        pos = [features_to_clip(it.features).positions() for it in items]
        both = np.mean([present(a, p, True) for p in pos])
        sided = np.mean([present(a, p, True, sided=True) for p in pos])
        print(f"{a:22s} clips {len(items):4d}  passes {both:.2f}  take check (sided) {sided:.2f}")
    if write:
        rates: dict = {}
        for it in ds.items:
            a, style = it.labels.get("action"), it.labels.get("style")
            if a in CHECKABLE and style:
                sc = score(a, features_to_clip(it.features).positions(), True, sided=True)
                rates.setdefault(a, {}).setdefault(style, []).append(sc)
        rates = {a: {st: [int(sum(v >= 1.0 for v in scs)), len(scs),
                          round(float(np.median(scs)), 3)] for st, scs in per.items()}
                 for a, per in rates.items()}
        about = ("real clips of the training dataset (every split) passing the take check "
                 "(backend/motion/presence.py, sided, whole clip): [passed, clips, median "
                 "score] per action and style label; no motion")
        lines = [f"  {json.dumps(a)}: {json.dumps(rates[a], sort_keys=True)}"
                 for a in sorted(rates)]
        RATES_PATH.write_text(f'{{"about": {json.dumps(about)},\n "rates": {{\n'
                              + ",\n".join(lines) + "\n }\n}\n", encoding="utf-8")
        print(f"wrote {RATES_PATH}")


if __name__ == "__main__":
    import sys
    args = [a for a in sys.argv[1:] if a != "--write-rates"]
    real_pass_rates(args[0] if args else None, write="--write-rates" in sys.argv[1:])
