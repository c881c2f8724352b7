"""How much of each action and style a text-to-motion model saw in training, and the notes the
prompt checker gives when a prompt asks for something it saw little of (issue 9, knowing its
limits). Standard library only (the dataset is read only by ``main``).

The shipped data is lopsided: Bandai-Namco's dataset 2 has 20-160 recordings of each of seven
styles of walking, running, waving and raising hands, while its dataset 1 has one recording
(two with the mirrored copy) of each of nine more styles (angry, happy, proud, sad ...) for a
dozen actions, and kicks, punches and sword cuts exist in a handful of takes. The generator
cannot learn a style from two recordings: a "happy walk" comes out as a walk that the
recogniser rarely calls happy. The checker says so instead of letting the user guess.

Counts are *recordings*: distinct (take, mirrored) pairs of the training split, so a take
and its mirrored copy count two (the mirror of a walk to the left is a walk to the right).
Labels are folded as the catalogue names them (Bandai's "dance-short" is "dance").

* ``count_takes(items)``: {"actions": {action: n}, "pairs": {action: {style: n}}} from
  dataset items (anything with ``split``, ``take``, ``mirrored`` and ``labels``);
* ``merged(a, b)``: the sum (a fine-tuned model saw its init model's data and the user's);
* ``card_section(coverage)`` / ``read_card(text)``: the "## Training coverage" section of a
  model card (a table of action, recordings, recordings per style), and back;
* ``thin_notes(model, action, styles)``: the notes for one action the checker is sure of;
* ``python -m backend.text.coverage --dataset D --card C``: writes the section into an
  existing card, after checking that the dataset's hash is the card's.
"""
from __future__ import annotations

import argparse
import re
import sys
from functools import lru_cache
from pathlib import Path

from ..fileio import write_text

THIN_TAKES = 8          # fewer recordings of an (action, style) pair than this: a thin style
THIN_ACTION_TAKES = 12  # fewer recordings of an action, all styles together: a thin action
WELL_SHOWN = 3          # styles named as the action's best covered ones
SECTION = "## Training coverage"
_FOLD = {"dance-short": "dance", "dance-long": "dance"}
_NO_STYLE = "-"         # recordings without a style label (CMU, DeepMimic)


def _fold(action: str) -> str:
    return _FOLD.get(action, action)


def count_takes(items) -> dict:
    """Recordings per action and per (action, style) in the items' training split (all items
    when none is marked train, as in a fine-tune on a small user library)."""
    items = list(items)
    train = [it for it in items if getattr(it, "split", "train") == "train"] or items
    seen: dict[str, dict[str, set]] = {}
    for it in train:
        action = (it.labels or {}).get("action")
        if not action:
            continue
        style = (it.labels or {}).get("style") or _NO_STYLE
        key = (it.take, bool(getattr(it, "mirrored", False)))
        seen.setdefault(_fold(action), {}).setdefault(style, set()).add(key)
    pairs = {a: {s: len(k) for s, k in sorted(st.items())} for a, st in sorted(seen.items())}
    actions = {a: len(set().union(*st.values())) for a, st in sorted(seen.items())}
    return {"actions": actions, "pairs": pairs}


def merged(*coverages) -> dict:
    """The sum of several coverages (a fine-tune: the init model's and the user data's)."""
    actions: dict[str, int] = {}
    pairs: dict[str, dict[str, int]] = {}
    for cov in filter(None, coverages):
        for a, n in cov["actions"].items():
            actions[a] = actions.get(a, 0) + n
        for a, per in cov["pairs"].items():
            for st, n in per.items():
                pairs.setdefault(a, {})[st] = pairs.get(a, {}).get(st, 0) + n
    return {"actions": dict(sorted(actions.items())),
            "pairs": {a: dict(sorted(per.items())) for a, per in sorted(pairs.items())}}


def card_section(coverage: dict) -> str:
    """The model card's section: one table row per action."""
    lines = [SECTION, "",
             "Recordings of each action and style in the training split (a take and its "
             f"mirrored copy count two; `{_NO_STYLE}`: no style label). The prompt checker "
             f"warns when a prompt asks for an action seen in fewer than {THIN_ACTION_TAKES} "
             f"recordings or a style of it seen in fewer than {THIN_TAKES} "
             "(`backend/text/coverage.py`).", "",
             "| action | recordings | per style |", "|---|---|---|"]
    for action, n in coverage["actions"].items():
        per = ", ".join(f"{s} {k}" for s, k in coverage["pairs"].get(action, {}).items())
        lines.append(f"| {action} | {n} | {per} |")
    return "\n".join(lines) + "\n"


_ROW = re.compile(r"^\|\s*([a-z][a-z0-9-]*)\s*\|\s*(\d+)\s*\|([^|]*)\|\s*$")


def read_card(text: str) -> dict | None:
    """The coverage a card's section lists, or None when the card has no such section."""
    if SECTION not in text:
        return None
    body = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    actions, pairs = {}, {}
    for line in body.splitlines():
        m = _ROW.match(line.strip())
        if not m or m.group(1) == "action":
            continue
        actions[m.group(1)] = int(m.group(2))
        per = {}
        for part in filter(None, (p.strip() for p in m.group(3).split(","))):
            style, _, k = part.rpartition(" ")
            if style and k.isdigit():
                per[style] = int(k)
        pairs[m.group(1)] = per
    return {"actions": actions, "pairs": pairs}


@lru_cache(maxsize=16)
def _model_coverage(card: str, mtime: float) -> dict | None:
    return read_card(Path(card).read_text(encoding="utf-8"))


def model_coverage(model: str) -> dict | None:
    """The coverage in `model`'s card (None: no card, or a card without the section)."""
    from .catalogue import model_card_path
    path = model_card_path(model)
    if not path.is_file():
        return None
    return _model_coverage(str(path), path.stat().st_mtime)


def _recordings(n: int) -> str:
    return f"{n} recording" + ("" if n == 1 else "s")


def thin_notes(model: str, action: str, styles=()) -> list[str]:
    """Notes for `action` (a catalogue name the checker is sure of) asked in `styles`: the
    action or the style was seen in few recordings. [] when the model's card has no coverage
    or the action is well covered."""
    cov = model_coverage(model)
    action = _fold(action)
    if cov is None or action not in cov["actions"]:
        return []
    out = []
    total = cov["actions"][action]
    if total < THIN_ACTION_TAKES:
        out.append(f"the {model} model learnt '{action}' from only {_recordings(total)}: "
                   f"the result may not read as '{action}'")
    per = cov["pairs"].get(action, {})
    for style in styles if _has_styles(cov) else ():    # a model without styles: the checker says so
        if style == "normal" or per.get(style, 0) >= THIN_TAKES:
            continue
        best = sorted(((k, s) for s, k in per.items() if s != _NO_STYLE and k >= THIN_TAKES),
                      reverse=True)[:WELL_SHOWN]
        hint = (f"; it knows {action} best as: {', '.join(s for _, s in best)}"
                if best else "")
        n = per.get(style, 0)
        seen = f"only {_recordings(n)} of" if n else "no"
        out.append(f"the {model} model saw {seen} {style} '{action}': the style may barely "
                   f"show{hint}")
    return out


def thin_style(model: str, action: str, style: str | None) -> bool:
    """Whether `model` saw `style` of `action` in fewer than ``THIN_TAKES`` recordings (False
    for no style, "normal", a model without a coverage table or without style labels)."""
    cov = model_coverage(model)
    action = _fold(action)
    if not style or style == "normal" or cov is None or action not in cov["actions"]:
        return False
    return _has_styles(cov) and cov["pairs"].get(action, {}).get(style, 0) < THIN_TAKES


def _has_styles(cov: dict) -> bool:
    """Whether the model's data had style labels at all (the clean model's has none)."""
    return any(s != _NO_STYLE for st in cov["pairs"].values() for s in st)


# ------------------------------------------------------------------------------- the card
def write_section(card: Path, coverage: dict) -> None:
    """Put the section into `card` (replacing an older one), before "## Model"."""
    text = card.read_text(encoding="utf-8")
    section = card_section(coverage)
    if SECTION in text:
        head, rest = text.split(SECTION, 1)
        tail = rest.split("\n## ", 1)
        text = head + section + ("\n## " + tail[1] if len(tail) > 1 else "")
    elif "\n## Model\n" in text:
        head, tail = text.split("\n## Model\n", 1)
        text = head.rstrip("\n") + "\n\n" + section + "\n## Model\n" + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    write_text(card, text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m backend.text.coverage",
                                 description="Write a dataset's training coverage into the "
                                             "model card of a model trained on it.")
    ap.add_argument("--dataset", required=True, help="the dataset .npz the model was trained on")
    ap.add_argument("--card", required=True, help="the model card (.md) to update")
    args = ap.parse_args(argv)
    from ..data.t2m_dataset import T2MDataset
    card = Path(args.card)
    if not card.is_file():
        print(f"error: no model card at {card}", file=sys.stderr)
        return 2
    ds = T2MDataset.load(args.dataset)
    digest = ds.fingerprint()
    if f"data hash `{digest}`" not in card.read_text(encoding="utf-8"):
        print(f"error: {card} was not trained on this dataset (its hash {digest} is not the "
              f"card's data hash)", file=sys.stderr)
        return 2
    cov = count_takes(ds.items)
    write_section(card, cov)
    print(f"{card}: coverage of {len(cov['actions'])} actions written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
