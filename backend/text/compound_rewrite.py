"""Prompt rewrites that run before the compound parser (`compound.py`) reads a prompt: each
turns a construction into the word order the parser reads, and leaves other prompts as they
are. Standard library only.

* ``arrows``: "idle -> punch -> kick" -> "idle, then punch, then kick".
* ``enumerated``: "1. bow 2. walk forward" -> "bow, then walk forward".
* ``passive``: "a bow is performed" -> "does a bow".
* ``slang``: "n" between words is "and"; a dropped g ("walkin", "callin'") is put back when
  the -ing form is a motion verb of the lexicon.
* ``fronted``: a subordinate clause put first ("As she walks, she waves" -> "waves while
  walks"; "After bowing, she guides ..." -> "bowing, then guides ..."; "Before running off,
  she waves" -> "waves, then running off"; "after a big kick, ..." -> "does a big kick,
  then ...").
* ``fronted_participle``: a participle or a raised hand put first ("Jogging, he waves" ->
  "he waves while jogging"; "Right hand raised high, the hero marches" -> "the hero marches
  with the right hand raised high").
* ``with_hand_raised``: "walks with the left hand raised" -> "walks while raising the left
  hand".

``has_verb(text) -> bool`` (the parser's own test for a motion verb) is passed in.
"""
from __future__ import annotations

import re
from typing import Callable

from .compound_words import ADJECTIVES, DETERMINERS, POSTURES, SCENE_SUBJECTS, _WORDS

_FRONTED = re.compile(r"^\s*(as|while|whilst|when|after|once|before)\s+([^,;.!?]+?)\s*,\s*"
                      r"(?:(?:he|she|they|it)\s+)?(?=\S)(.+)$", re.IGNORECASE)
_PRONOUN = {"he", "she", "they", "i", "we", "you"}
_HAND_RAISED = re.compile(
    r"\bwith\s+(?:(the|his|her|their|one|a)\s+)?(?:(left|right|both)\s+)?(hands?|arms?|fists?)"
    r"\s+(?:raised|up|held up|held high|in the air|aloft|high)\b(?:\s+(?:in the air|high|"
    r"above (?:the|his|her|their) head))?", re.IGNORECASE)
_RAISED_FIRST = re.compile(
    r"^\s*((?:(?:the|his|her|their|one)\s+)?(?:(?:left|right|both)\s+)?(?:hands?|arms?|fists?)"
    r"\s+(?:raised|up|held up|held high|in the air|aloft)(?:\s+(?:high|in the air))?)\s*,\s*"
    r"(.+)$", re.IGNORECASE)
_PARTICIPLE_FIRST = re.compile(r"^\s*([a-z]+ing)\b([^,;.!?]*?)\s*,\s*(.+)$", re.IGNORECASE)
_LATER = re.compile(r"\s*(?:[,;.!?]\s*)?\b(?:and\s+)?(?:then|after that|afterwards|finally|"
                    r"next|later|followed by)\b|\s*[;.!?]\s*\S", re.IGNORECASE)
_SEQUENCE_START = re.compile(r"^(and\s+)?(then|after|afterwards|next|finally|later|before)\b",
                             re.IGNORECASE)


def slang(text: str) -> str:
    """"walkin backwards n callin someone over" -> "walking backwards and calling ..."."""
    text = re.sub(r"(?<=\w)\s+n\s+(?=\w)", " and ", text)

    def g(m: re.Match) -> str:
        word = m.group(1)
        full = word + "g"
        if word.lower() not in _WORDS and _WORDS.get(full.lower(), ("", ""))[1] == "ing":
            return full
        return m.group(0)
    return re.sub(r"\b([A-Za-z]+in)'?(?![\w'])", g, text)


def fronted(text: str, has_verb: Callable[[str], bool]) -> str:
    """A subordinate clause put first, rewritten in the order the parser reads (module doc);
    its pronouns dropped."""
    m = _FRONTED.match(text)
    if not m or not has_verb(m.group(3)):
        return text
    conj, first, rest = m.group(1).lower(), m.group(2), m.group(3)
    words = first.lower().split()
    if words[0] in DETERMINERS:
        at = next((k for k in range(1, min(len(words), 4)) if words[k] in SCENE_SUBJECTS), None)
        if at is not None and at + 1 < len(words):
            # "as the curtain rises, she bows": a cue; "after the game she raises her
            # hand, then ...": the character's clause after it, comma missing
            own = next((k for k in range(at + 1, len(words)) if words[k] in _PRONOUN), None)
            return rest if own is None else f"{' '.join(first.split()[own:])}, {rest}"
    if not has_verb(first):
        return text
    if words[0] in DETERMINERS:
        verb = next((k for k in range(1, len(words)) if words[k] in _WORDS), None)
        if verb is not None and verb > 1 and words[verb - 1] not in ADJECTIVES | DETERMINERS:
            first = " ".join(first.split()[verb:])   # "as the old man walks": its verb
    first = re.sub(r"^(?:he|she|they|it)\s+(?:has\s+|have\s+|is\s+|are\s+)?", "", first,
                   flags=re.IGNORECASE)
    first = re.sub(r"^(?:finish(?:es|ed|ing)?|stop(?:s|ped|ping)?)\s+", "", first,
                   flags=re.IGNORECASE)
    if re.match(r"(?:a|an|the|his|her|their|one)\b", first, re.IGNORECASE):
        first = "does " + first                  # "after a big kick": a noun phrase
    if conj in ("as", "while", "whilst", "when"):
        return f"{rest} while {first}"
    if conj == "before":
        return f"{rest}, then {first}"
    return f"{first}, then {rest}"


def fronted_participle(text: str, has_verb: Callable[[str], bool]) -> str:
    """A motion participle or a raised hand before the main clause goes with it, together
    (module doc). Not when the main clause starts with a sequence word ("Walking, then
    running") or has no motion verb."""
    m = _RAISED_FIRST.match(text)
    if m and has_verb(m.group(2)) and not _SEQUENCE_START.match(m.group(2)):
        return f"{m.group(2).rstrip(' .!')} with {m.group(1)}"
    m = _PARTICIPLE_FIRST.match(text)
    base, form = _WORDS.get(m.group(1).lower(), ("", "")) if m else ("", "")
    if form != "ing" or base in POSTURES:
        return text
    rest = m.group(3)
    if _SEQUENCE_START.match(rest) or not has_verb(rest):
        return text
    # with the first part of the main clause: "Jogging, he waves, then bows"
    cut = _LATER.search(rest)
    head, tail = (rest[:cut.start()], rest[cut.start():]) if cut else (rest.rstrip(" .!"), "")
    return f"{head} while {m.group(1)}{m.group(2)}{tail}"


def with_hand_raised(text: str) -> str:
    """"walks with the left hand raised" -> "walks while raising the left hand"."""
    def say(m: re.Match) -> str:
        det, side = m.group(1), (m.group(2) or "").lower() or None
        noun = m.group(3).lower().replace("fist", "hand")
        if side == "both":
            words = ([det] if det else []) + ["both", noun]
        else:
            words = [det or "the"] + ([side] if side else []) + [noun]
        return "while raising " + " ".join(words)
    return _HAND_RAISED.sub(say, text)


_ENUMERATOR = re.compile(r"(?:^|(?<=[\s,;.]))(?:step\s+\d{1,2}\s*[.):]|\(?\d{1,2}[.)]|\(?[a-e]\))"
                         r"\s+(?=[A-Za-z])", re.IGNORECASE)
_PASSIVE = re.compile(r"\b(?:a|an|the)\s+((?:\w+\s+)?\w+)\s+(?:is|was|gets|got)\s+"
                      r"(?:performed|done|executed|given|made|taken|delivered)\b", re.IGNORECASE)


def enumerated(text: str) -> str:
    """A numbered list, "1. bow 2. walk forward 3. wave" or "(a) jump (b) run", is one part
    after another; one enumerator alone is left as it is ("1. walk")."""
    marks = list(_ENUMERATOR.finditer(text))
    if len(marks) < 2:
        return text
    out, last = [], 0
    for k, m in enumerate(marks):
        out.append(text[last:m.start()].rstrip(" ,;"))
        out.append(", then " if k else "")
        last = m.end()
    return "".join(out) + text[last:]


def passive(text: str) -> str:
    """"A bow is performed, followed by ..." -> "does a bow, followed by ..."."""
    return _PASSIVE.sub(lambda m: f"does a {m.group(1)}", text)


def arrows(text: str) -> str:
    """"idle -> punch -> kick", "jump > spin > bow": an arrow between words is "then"."""
    return re.sub(r"\s*(?:->|→|=>|>)\s*(?=\w)", ", then ", text)


def rewrite(text: str, has_verb: Callable[[str], bool]) -> str:
    """Every rewrite above, in order."""
    text = passive(slang(enumerated(arrows(text))))
    text = fronted(text, has_verb)
    text = fronted_participle(text, has_verb)
    return with_hand_raised(text)
