"""Travelling and gesturing in one loose clause: "a shy girl walks, raise right hand",
"jog, hands up", "he marches on, arm raised high", "mid-stride, she waves",
"walk + wave". Standard library only.

The compound parser (`compound.py`) splits on verbs that agree with each other and on
"while" / "as" / a trailing participle. Prompts typed as notes do neither: a base form
after a comma ("walks, raise ..."), a hand phrase with no verb ("arms up", "left hand
raised"), a symbol for "and" ("+", "&", " - ", "/"), a fronted participle the parser does
not know as a motion ("Lumbering forward ..., he raises ..."). When the parser leaves such
a prompt whole, ``loose_together(text)`` looks for one travelling part and one arm gesture
in different pieces of it and returns their texts: ``(driver, overlay)``, else None.

* travelling: a walking, running or dashing verb of the catalogue's lexicon
  (``catalogue.VERB_LEXICON``), the parser's locomotion verbs but the vague ones ("goes",
  "moves", "comes", "heads", "leads") and jumps, or "mid-stride" / "on the move";
* gesturing: a waving or raising verb ("waves", "raise", "lifting"), "a (little) wave", or a
  hand phrase ("arms up", "left hand raised", "both hands in the air", "fists high");
* the two must lie in different pieces of the prompt, cut at ",", ";", ":", " - ", "+",
  "&", "/" or "with"; the gesture's piece must not name travelling itself.

The overlay is said plainly ("raises the left hand" for "left hand raised"), with the
prompt's subject when the driver's piece starts with one, so the style carries over.
"""
from __future__ import annotations

import re

from .catalogue import LEXICON_WORD
from .compound_words import FORMS, LOCOMOTION, OVERLAY_DRIVERS, VERBS, _WORDS

_VAGUE = {"go", "move", "come", "head", "lead", "approach", "advance", "travel", "circle",
          "retreat", "step"}
_AUXILIARIES = {"keeps", "keep", "kept", "is", "are", "was", "were", "starts", "started",
                "continues", "continued", "begins", "began", "goes", "went", "just", "still"}
_TRAVEL_WORDS = ({w for w, a in LEXICON_WORD.items() if a in ("walk", "run", "dash")}
                 | {w for w, (b, _f) in _WORDS.items()
                    if (VERBS.get(b) == LOCOMOTION and b not in _VAGUE) or b in OVERLAY_DRIVERS})
_JUMPS = {w for w, (b, _f) in _WORDS.items() if b in OVERLAY_DRIVERS}    # "a big jump" too
_TRAVEL_PHRASE = re.compile(r"\b(mid-?stride|in mid-?stride|on the move|on the go|in stride)\b")
_GESTURE_BASES = {"wave", "raise", "lift", "beckon", "salute", "hail"}
_GESTURE_WORDS = {w for w, (b, _f) in _WORDS.items() if b in _GESTURE_BASES}
_SIDE = r"(?:(both|left|right|one|his|her|their|the|a|an|my)\s+){0,2}"
_HAND_PHRASE = re.compile(
    rf"\b{_SIDE}(hands?|arms?|fists?)\s+(?:are\s+|is\s+|held\s+|thrown\s+|shot\s+)?"
    r"(up|raised|high|aloft|in the air|overhead|above (?:his|her|their|the) head|waving)\b"
    rf"(?:\s+{_SIDE}(?:hands?|arms?))?")
_A_WAVE = re.compile(r"\b(a|an)\s+((?:little|small|big|quick|friendly|cheery|cheerful|"
                     r"short|brief|lazy|half|tiny|huge|royal|warm)\s+)?wave\b")
_CUT = re.compile(r"\s*(?:[,;:]|\s-+\s|\s*[+&/]\s*|\bwith\b)\s*")
_THEN = re.compile(r"^(?:and\s+)?(?:then|after that|afterwards|finally|next|later)\b\s*")
_NOUN_BEFORE = {"a", "an", "the", "of", "with", "all", "pure", "no", "such", "much", "more",
                "his", "her", "their", "its", "my", "your", "some", "this", "that", "little",
                "big", "long", "short", "quick", "brisk"}
_SUBJECT_START = {"a", "an", "the", "this", "that", "my", "our", "some", "he", "she", "they",
                  "someone", "somebody", "i", "we", "you"}


def _subject(piece: str) -> str:
    """The words before a piece's first travelling or gesturing word when they start like a
    subject ("a shy girl", "she"), else ""."""
    words = piece.split()
    if not words or words[0] not in _SUBJECT_START:
        return ""
    for k, w in enumerate(words):
        if w in _TRAVEL_WORDS or w in _GESTURE_WORDS:
            while k and words[k - 1] in _AUXILIARIES:
                k -= 1
            return " ".join(words[:k])
    return ""


def _finite(piece: str) -> str:
    """"lumbering forward" -> "lumbers forward" (a participle given a subject)."""
    words = piece.split()
    w = words[0] if words else ""
    if w.endswith("ing") and w in _TRAVEL_WORDS:
        base = _WORDS.get(w, (w[:-3], ""))[0]
        words[0] = FORMS[base]["s"] if base in FORMS else base + "s"
    return " ".join(words)


def _has_travel(piece: str) -> bool:
    """A travelling word used as a verb (not "full of swagger", "a long walk"; a jump may
    be a noun: "then a big jump")."""
    words = re.findall(r"[a-z]+(?:-[a-z]+)*", piece)
    return bool(_TRAVEL_PHRASE.search(piece)) or any(
        w in _TRAVEL_WORDS and (k == 0 or words[k - 1] not in _NOUN_BEFORE or w in _JUMPS)
        for k, w in enumerate(words))


def _gesture(piece: str) -> str | None:
    """The gesture a piece names, said plainly, else None."""
    m = _HAND_PHRASE.search(piece)
    if m:
        words = (m.group(0)).split()
        side = next((w for w in words if w in ("both", "left", "right")), None) or next(
            (w for w in re.findall(r"[a-z]+", piece) if w in ("left", "right")), None)
        noun = next(w for w in words if re.match(r"(hand|arm|fist)", w))
        plural = noun.endswith("s") or side == "both"
        if m.group(3) == "waving" or words[-1] == "waving":
            return f"waves {'both hands' if plural else f'the {side} hand' if side else 'a hand'}"
        if side == "both" or (plural and not side):
            return "raises both hands"
        return f"raises the {side} hand" if side else "raises a hand"
    if _A_WAVE.search(piece):
        return "waves"
    words = re.findall(r"[a-z]+(?:-[a-z]+)*", piece)
    at = next((k for k, w in enumerate(words) if w in _GESTURE_WORDS), None)
    if at is None:
        return None
    base = _WORDS[words[at]][0]
    rest = words[at + 1:]
    if base in ("raise", "lift") and not any(re.match(r"(hand|arm|fist)", w) for w in rest):
        return None                                   # "raises the bar", "lifts the box"
    return " ".join([FORMS[base]["s"]] + rest)


def _at_participle(piece: str) -> list[str]:
    """"meanders across the room waving" -> ["meanders across the room", "waving"]: a piece
    that travels cut before a later waving or raising participle."""
    words = piece.split()
    for k in range(1, len(words)):
        if words[k] in _GESTURE_WORDS and words[k].endswith("ing") and \
                _has_travel(" ".join(words[:k])):
            return [" ".join(words[:k]), " ".join(words[k:])]
    return [piece]


def loose_together(text: str) -> tuple[str, str, str] | None:
    """(driver text, overlay text, relation) of a prompt that travels and gestures in loose
    pieces (module doc), else None. relation: "together", or "sequence" when the later of
    the two pieces starts with "then" ("both fists up in the air, then a big jump"; the
    texts are then in the prompt's order)."""
    low = " ".join(text.lower().split())
    pieces = [q for p in _CUT.split(low) if p and p.strip(" .!?") for q in _at_participle(p)]
    if len(pieces) < 2:
        return None
    travel = [k for k, p in enumerate(pieces) if _has_travel(p)]
    gesture = [(k, g) for k, p in enumerate(pieces) if (g := _gesture(p)) and not _has_travel(p)]
    if len(travel) != 1 or not gesture:
        return None
    t, (g, said) = travel[0], gesture[0]
    subject = _subject(pieces[t]) or _subject(pieces[g])
    later = pieces[max(t, g)]
    if _THEN.match(later):
        first, second = sorted((t, g))
        texts = [f"{subject or 'a person'} {said}" if k == g else
                 _THEN.sub("", pieces[k]).strip(" .!?") for k in (first, second)]
        return texts[0], texts[1], "sequence"
    # the driver keeps every other piece: its style words too ("jog, hands up, smiling")
    driver = ", ".join(p.strip(" .!?") for k, p in enumerate(pieces) if k != g)
    if not any(w in _TRAVEL_WORDS for w in re.findall(r"[a-z]+(?:-[a-z]+)*", driver)):
        driver = f"{subject or 'a person'} walks forward"     # "mid-stride": a walk
    elif subject and not _subject(pieces[0]):
        driver = f"{subject} {_finite(driver)}"
    return driver, f"{subject or 'a person'} {said}", "together"
