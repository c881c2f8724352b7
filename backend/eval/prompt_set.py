"""The held-out prompt test set for text-to-motion: hand-written prompts, the way animators and
game developers type them, each labelled with what a good answer is. It lives in
``tests/data/prompts/`` (see its README) and is **never trained or tuned on**.

Standard library only (no numpy), so any tool can read it.

``load_prompt_set(name)`` reads ``<name>.jsonl`` and returns one dict per line, after checking
the schema (a bad line raises ``PromptSetError`` naming the file, line and field):

- ``single``:   {"prompt": str, "action": KNOWN_ACTIONS, "style": KNOWN_STYLES or None,
                 "tags": [HARDNESS_TAGS]}
- ``compound``: {"prompt": str, "parts": [{"action": ..., "style": ... or None}, >= 2 of them],
                 "relation": "together" | "sequence", "tags": [COMPOUND_TAGS]}
- ``unknown``:  {"prompt": str, "nearest": [KNOWN_ACTIONS, may be empty],
                 "tags": [UNKNOWN_TAGS]}   (the prompt asks for an action the models don't know)
- ``bad``:      {"prompt": str (may be empty), "kind": BAD_KINDS, "expect": str}

Prompts are unique within a set (compared case- and whitespace-insensitively; the blank prompts
of ``bad`` exactly).
"""
from __future__ import annotations

import json
from pathlib import Path

PROMPT_DIR = Path(__file__).resolve().parents[2] / "tests" / "data" / "prompts"

# The labels of the motion data the models know (actions, then styles).
KNOWN_ACTIONS = (
    "walk", "run", "dash", "walk-back", "walk-left", "walk-right", "walk-turn-left",
    "walk-turn-right", "bow", "bye", "byebye", "guide", "respond", "call", "punch", "kick",
    "slash", "dance", "wave-both-hands", "wave-left-hand", "wave-right-hand",
    "raise-up-both-hands", "raise-up-left-hand", "raise-up-right-hand", "jump", "dribble",
    "karate", "swordplay", "flip", "cartwheel", "crawl", "get-up", "roll", "spin",
)
KNOWN_STYLES = (
    "normal", "happy", "sad", "angry", "proud", "not-confident", "masculine", "feminine",
    "childish", "elderly", "exhausted", "active", "musical", "giant", "chimpira", "youthful",
)

# Why a prompt is hard for a text encoder.
HARDNESS_TAGS = (
    "synonym",        # a word other than the label ("stroll" for walk)
    "paraphrase",     # described rather than named ("bends at the waist to greet")
    "subject-style",  # the subject implies the style ("a grandpa" -> elderly)
    "adverb",         # the style is an adverb ("sadly")
    "word-order",     # unusual order ("backwards he walks")
    "british",        # British spelling or words ("metres", "knackered")
    "typo",           # misspelt
    "caps",           # odd capitals ("WALK FAST", "A Man Runs")
    "scene-words",    # words about the scene, not the motion ("in the rain")
    "slang",          # informal words ("busts a move")
    "long",           # 15 words or more
)
COMPOUND_TAGS = HARDNESS_TAGS + (
    "style-change",   # the parts have different styles
    "three-parts",    # three or more parts
)
UNKNOWN_TAGS = HARDNESS_TAGS + (
    "near-known",     # looks like a known action (skipping rope vs jump): `nearest` not empty
    "prop",           # needs an object (guitar, ladder)
    "sport",
    "exercise",
    "everyday",
    "acrobatic",
)
RELATIONS = ("together", "sequence")
BAD_KINDS = ("style-only", "stop-words", "too-many-actions", "contradictory", "numbers",
             "language", "emoji", "empty-ish")
SET_NAMES = ("single", "compound", "unknown", "bad")


class PromptSetError(ValueError):
    """A prompt-set file is missing or a line breaks the schema."""


def load_prompt_set(name: str, directory: str | Path | None = None) -> list[dict]:
    """Read and validate ``<directory>/<name>.jsonl`` (default directory: ``PROMPT_DIR``).

    name: one of SET_NAMES. Returns a list of dicts, one per line, in file order."""
    if name not in SET_NAMES:
        raise PromptSetError(f"unknown prompt set {name!r}; expected one of {', '.join(SET_NAMES)}")
    path = Path(directory if directory is not None else PROMPT_DIR) / f"{name}.jsonl"
    if not path.is_file():
        raise PromptSetError(f"prompt set file not found: {path}")
    check = _CHECKERS[name]
    items, seen = [], {}
    # Split on "\n" only: str.splitlines would also split inside prompts at U+2028 and friends.
    text = path.read_text(encoding="utf-8")
    lines = text.removesuffix("\n").split("\n") if text else []
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix("\r")
        where = f"{path.name}:{number}"
        if not line.strip():
            raise PromptSetError(f"{where}: blank line (one JSON object per line)")
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PromptSetError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(item, dict):
            raise PromptSetError(f"{where}: expected a JSON object, got {type(item).__name__}")
        check(item, where)
        key = normalize_prompt(item["prompt"]) or item["prompt"]   # blank ones: exact
        if key in seen:
            raise PromptSetError(f"{where}: duplicate prompt {item['prompt']!r} "
                                 f"(first at line {seen[key]})")
        seen[key] = number
        items.append(item)
    if not items:
        raise PromptSetError(f"{path.name}: no prompts")
    return items


def normalize_prompt(prompt: str) -> str:
    """Lower case, runs of whitespace collapsed: the key used to find duplicates."""
    return " ".join(prompt.lower().split())


# --------------------------------------------------------------------------- field checks

def _keys(item: dict, expected: tuple[str, ...], where: str) -> None:
    missing = [k for k in expected if k not in item]
    extra = sorted(set(item) - set(expected))
    if missing:
        raise PromptSetError(f"{where}: missing field(s) {', '.join(missing)}")
    if extra:
        raise PromptSetError(f"{where}: unexpected field(s) {', '.join(extra)}; "
                             f"expected exactly {', '.join(expected)}")


def _prompt(item: dict, where: str, allow_blank: bool = False) -> None:
    prompt = item["prompt"]
    if not isinstance(prompt, str):
        raise PromptSetError(f"{where}: 'prompt' must be a string, got {type(prompt).__name__}")
    if not allow_blank and not prompt.strip():
        raise PromptSetError(f"{where}: 'prompt' is empty")


def _choice(value, allowed: tuple[str, ...], field: str, where: str, nullable=False) -> None:
    if value is None and nullable:
        return
    if not isinstance(value, str) or value not in allowed:
        null = " or null" if nullable else ""
        raise PromptSetError(f"{where}: {field} {value!r} is not a known label; "
                             f"expected one of {', '.join(allowed)}{null}")


def _label_list(value, allowed: tuple[str, ...], field: str, where: str) -> None:
    if not isinstance(value, list):
        raise PromptSetError(f"{where}: {field!r} must be a list, got {type(value).__name__}")
    for entry in value:
        _choice(entry, allowed, f"{field} entry", where)
    if len(set(value)) != len(value):
        raise PromptSetError(f"{where}: {field!r} repeats an entry: {value}")


def _check_single(item: dict, where: str) -> None:
    _keys(item, ("prompt", "action", "style", "tags"), where)
    _prompt(item, where)
    _choice(item["action"], KNOWN_ACTIONS, "action", where)
    _choice(item["style"], KNOWN_STYLES, "style", where, nullable=True)
    _label_list(item["tags"], HARDNESS_TAGS, "tags", where)


def _check_compound(item: dict, where: str) -> None:
    _keys(item, ("prompt", "parts", "relation", "tags"), where)
    _prompt(item, where)
    parts = item["parts"]
    if not isinstance(parts, list) or len(parts) < 2:
        raise PromptSetError(f"{where}: 'parts' must be a list of at least 2 parts")
    for index, part in enumerate(parts):
        part_where = f"{where} part {index}"
        if not isinstance(part, dict):
            raise PromptSetError(f"{part_where}: expected an object with action and style")
        _keys(part, ("action", "style"), part_where)
        _choice(part["action"], KNOWN_ACTIONS, "action", part_where)
        _choice(part["style"], KNOWN_STYLES, "style", part_where, nullable=True)
    _choice(item["relation"], RELATIONS, "relation", where)
    _label_list(item["tags"], COMPOUND_TAGS, "tags", where)


def _check_unknown(item: dict, where: str) -> None:
    _keys(item, ("prompt", "nearest", "tags"), where)
    _prompt(item, where)
    _label_list(item["nearest"], KNOWN_ACTIONS, "nearest", where)
    _label_list(item["tags"], UNKNOWN_TAGS, "tags", where)


def _check_bad(item: dict, where: str) -> None:
    _keys(item, ("prompt", "kind", "expect"), where)
    _prompt(item, where, allow_blank=True)
    _choice(item["kind"], BAD_KINDS, "kind", where)
    if not isinstance(item["expect"], str) or not item["expect"].strip():
        raise PromptSetError(f"{where}: 'expect' must be a non-empty string")


_CHECKERS = {"single": _check_single, "compound": _check_compound,
             "unknown": _check_unknown, "bad": _check_bad}
