"""Training-time text robustness (issue 9): paraphrased captions and embedding noise.

``paraphrase_index(items, n, seed)`` writes ``n`` paraphrases (``backend/text/paraphrase.py``)
for every (action, style) label pair among the items and returns them with, per item, the
paths into that list; ``CropDataset`` then conditions a share ``TrainConfig.paraphrase`` of
the samples on one of them instead of one of the clip's own captions, and adds Gaussian noise
of std ``TrainConfig.text_noise`` to every training embedding. Items without an action label
(some CMU trials) keep their own captions. The paraphrases go through the same laterality code
as the captions (they keep "left" and "right").

``balanced(items, power, max_repeat)`` repeats the items of rare actions (Bandai-Namco has
~870 clips of raising a hand and 18 of punching): each item ``min(max_repeat, round((reference
/ count) ** power))`` times, ``count`` its action's items and ``reference`` the median count
per item, so that an action is learnt from more than a handful of batches. ``style_power``
does the same for styles (nine Bandai-Namco styles have 22-30 clips, the others 700-1200); the
two factors multiply.
"""
from __future__ import annotations

import math
from collections import Counter

from ...text.paraphrase import ACTION_PHRASES, paraphrases

# dataset action labels that are one catalogue action
_ACTION_OF = {"dance-short": "dance", "dance-long": "dance"}


def label_key(labels: dict) -> tuple[str, str | None] | None:
    """(action, style) of an item's labels when paraphrases exist for its action, else None."""
    action = labels.get("action") if isinstance(labels, dict) else None
    if not isinstance(action, str):
        return None
    action = _ACTION_OF.get(action, action)
    if action not in ACTION_PHRASES:
        return None
    style = labels.get("style")
    return action, style if isinstance(style, str) and style else None


def paraphrase_index(items, n: int, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    """(every paraphrase, sorted; per item, its label pair's paraphrases ([] when none))."""
    pools: dict[tuple, list[str]] = {}
    per_item = []
    for it in items:
        key = label_key(it.labels)
        if key is None or n <= 0:
            per_item.append([])
            continue
        if key not in pools:
            pools[key] = paraphrases(key[0], key[1], n, seed=seed)
        per_item.append(pools[key])
    captions = sorted({c for p in pools.values() for c in p})
    return captions, per_item


def _repeat_factors(keys, index: int, power: float) -> list[float]:
    """Per key, (median count per item / its label's count) ** power; 1 for None labels."""
    labels = [k[index] if k is not None else None for k in keys]
    counts = Counter(lab for lab in labels if lab is not None)
    if power <= 0 or not counts:
        return [1.0] * len(keys)
    per_item = sorted(counts[lab] for lab in labels if lab is not None)
    reference = per_item[len(per_item) // 2]
    return [1.0 if lab is None else math.pow(reference / counts[lab], power) for lab in labels]


def balanced(items, power: float, max_repeat: int = 8, style_power: float = 0.0) -> list:
    """The items with those of rare actions (and, with ``style_power``, rare styles) repeated
    (module doc): the two factors multiply, capped at ``max_repeat``; unlabelled items once."""
    if (power <= 0 and style_power <= 0) or not items:
        return list(items)
    keys = [label_key(it.labels) for it in items]
    by_action = _repeat_factors(keys, 0, power)
    by_style = _repeat_factors(keys, 1, style_power)
    out = []
    for it, a, s in zip(items, by_action, by_style):
        out += [it] * max(1, min(max_repeat, round(a * s)))
    return out
