"""Training-time text robustness (issue 9): paraphrased captions and embedding noise.

``paraphrase_index(items, n, seed)`` writes ``n`` paraphrases (``backend/text/paraphrase.py``)
for every (action, style) label pair among the items and returns them with, per item, the
paths into that list; ``CropDataset`` then conditions a share ``TrainConfig.paraphrase`` of
the samples on one of them instead of one of the clip's own captions, and adds Gaussian noise
of std ``TrainConfig.text_noise`` to every training embedding. Items without an action label
(some CMU trials) keep their own captions. The paraphrases go through the same laterality code
as the captions (they keep "left" and "right").
"""
from __future__ import annotations

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
