"""Compound prompts: one text -> action parts that happen together or one after another.

Standard library only, offline, rule based (a small lexicon of motion verbs + the sentence's
structure)::

    parse_prompt("an old man walks forward and waves, then bows")
    -> CompoundPrompt(stages=(
           Stage(actions=(Action("an old man walks forward", "walk", "locomotion"),
                          Action("an old man waves", "wave", "gesture"))),
           Stage(actions=(Action("an old man bows", "bow", "whole_body"),))))

* A prompt is a *sequence* of ``Stage``s (one after another); a stage holds one or more
  ``Action``s that happen *together*.
* Sequence markers: "then", "and then", "after that", "afterwards", "followed by", "next",
  "finally", "before", "; " and sentence ends; a leading "first" is dropped.
* "and" / "," split only when a motion verb of the lexicon follows (after at most a couple of
  adverbs) in a form that agrees with the clause's verb ("walks ... and waves"), and the
  left side has a verb too; "back and forth", "up and down", "rock and roll" stay one action.
  "while" / "whilst" / "as" and a trailing participle ("jogs waving both hands") mean together.
* Two parts joined by "and" go together only when one moves the legs (locomotion: walk, run,
  jog, march ...) and the other is an upper-body gesture (wave, point, raise hands, look
  back ...); otherwise ("stands up and sits down") they happen one after the other.
* The subject and anything before the first verb ("an old man", "a tired person slowly") is
  kept with every part, so the style carries over; participles become finite verbs in the
  parts ("while looking back" -> "a person looks back").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

LOCOMOTION, WHOLE_BODY, GESTURE = "locomotion", "whole_body", "gesture"

# base form -> kind. Locomotion moves the root over the ground with the legs; whole-body
# actions use the legs (or the whole body) in place; gestures are upper body only.
VERBS: dict[str, str] = {
    **{v: LOCOMOTION for v in (
        "walk", "run", "jog", "march", "stroll", "sprint", "skip", "hop", "limp", "stagger",
        "strut", "tiptoe", "sneak", "shuffle", "wander", "pace", "step", "stride", "trot",
        "creep", "crawl", "go", "move", "come", "approach", "advance", "retreat", "circle",
        "travel", "hurry", "rush", "amble", "saunter", "stumble", "gallop", "stomp")},
    **{v: WHOLE_BODY for v in (
        "jump", "sit", "stand", "bow", "kneel", "squat", "crouch", "lie", "turn", "spin",
        "fall", "kick", "dance", "lunge", "stretch", "climb", "roll", "cartwheel", "bend",
        "lean", "leap", "pivot", "rotate", "twist", "sway", "stop", "balance", "fight", "box",
        "swim", "get", "rise", "duck", "dodge", "trip", "exercise", "skate", "ski", "do",
        "perform", "flip", "somersault", "hide", "wobble", "pause", "wait", "rest")},
    **{v: GESTURE for v in (
        "wave", "point", "clap", "raise", "lift", "call", "look", "shake", "nod", "salute",
        "throw", "punch", "reach", "scratch", "wipe", "drink", "eat", "talk", "hold", "carry",
        "swing", "flap", "cross", "gesture", "beckon", "signal", "shrug", "cheer", "pick",
        "put", "grab", "catch", "push", "pull", "touch", "rub", "hug", "applaud", "shout",
        "yell", "check", "glance", "stir", "brush", "comb", "type", "write", "phone", "answer",
        "bounce", "juggle", "play", "strum", "conduct", "knock", "open", "close", "scan",
        "peer", "wag", "fold", "extend", "spread", "flex", "chop", "hammer", "sweep", "paint",
        "dribble", "toss", "fan", "tap", "slap", "hit", "stab", "swat", "drum", "pat",
        "pray", "blow", "cover", "hail", "celebrate", "greet", "smell", "sniff")},
}

# forms that the spelling rules below get wrong
IRREGULAR: dict[str, dict[str, str]] = {
    "run": {"ed": "ran"}, "sit": {"ed": "sat"}, "stand": {"ed": "stood"},
    "throw": {"ed": "threw"}, "fall": {"ed": "fell"}, "bend": {"ed": "bent"},
    "spin": {"ed": "spun"}, "kneel": {"ed": "knelt"}, "lie": {"ed": "lay", "ing": "lying"},
    "get": {"ed": "got"}, "rise": {"ed": "rose"}, "swim": {"ed": "swam"},
    "leap": {"ed": "leapt"}, "go": {"s": "goes", "ed": "went"}, "do": {"s": "does", "ed": "did"},
    "come": {"ed": "came"}, "catch": {"ed": "caught"},
    "hold": {"ed": "held"}, "swing": {"ed": "swung"}, "hit": {"ed": "hit"}, "put": {"ed": "put"},
    "write": {"ed": "wrote"}, "eat": {"ed": "ate"}, "drink": {"ed": "drank"},
    "blow": {"ed": "blew"}, "fight": {"ed": "fought"}, "shake": {"ed": "shook"},
    "stride": {"ed": "strode"}, "creep": {"ed": "crept"}, "sweep": {"ed": "swept"},
    "ski": {"s": "skis", "ed": "skied", "ing": "skiing"}, "box": {"s": "boxes"},
    "hide": {"ed": "hid"},
}
# these words are nouns or adverbs far more often than the verb in motion descriptions when
# they are written in the base form after "and" ("back and forth", "rock and roll")
FIXED_PHRASES = ("back and forth", "up and down", "rock and roll", "side to side",
                 "left and right", "in and out", "to and fro", "forwards and backwards",
                 "forward and backward", "backward and forward", "hide and seek",
                 "round and round", "over and over", "on and off", "high and low",
                 "arms and legs", "hands and feet", "stop and go", "here and there",
                 "again and again", "head and shoulders")
# (word after the first sequence word, ...) -> sequence marker phrases, longest first
SEQUENCE_MARKERS = (("and", "then"), ("after", "that"), ("after", "which"), ("and", "after",
                    "that"), ("and", "afterwards"), ("followed", "by"), ("and", "finally"),
                    ("and", "next"), ("then",), ("afterwards",), ("afterward",),
                    ("finally",), ("next",), ("before",), ("later",), ("lastly",))
TOGETHER_MARKERS = ("while", "whilst", "as")
ADVERB_SKIP = {"also", "then", "again", "just", "still", "now", "simultaneously", "both"}
DETERMINERS = {"a", "an", "the", "his", "her", "their", "its", "my", "your", "this", "that",
               "some", "to", "of", "with", "for", "at", "on", "in", "into", "by", "from"}
PRONOUNS = {"he", "she", "they", "it", "i", "we", "you"}
LEADING_ORDER_WORDS = {"first", "firstly", "initially"}


def _inflect(base: str) -> dict[str, str]:
    """{"base", "s", "ing", "ed"} forms of a regular verb (English spelling rules), with the
    exceptions of ``IRREGULAR``."""
    def double(b):   # run -> runn(ing), strut -> strutt(ed): short consonant-vowel-consonant
        return (3 <= len(b) <= 5 and b[-1] not in "aeiouwxy" and b[-2] in "aeiou"
                and b[-3] not in "aeiou" and b not in {"open", "visit", "pivot", "cover"})
    if base.endswith(("s", "sh", "ch", "x", "z")):
        s = base + "es"
    elif base.endswith("y") and base[-2:-1] not in tuple("aeiou"):
        s = base[:-1] + "ies"
    else:
        s = base + "s"
    if base.endswith("ie"):
        ing = base[:-2] + "ying"
    elif base.endswith("e") and not base.endswith(("ee", "ye", "oe")):
        ing = base[:-1] + "ing"
    elif double(base):
        ing = base + base[-1] + "ing"
    else:
        ing = base + "ing"
    if base.endswith("e"):
        ed = base + "d"
    elif base.endswith("y") and base[-2:-1] not in tuple("aeiou"):
        ed = base[:-1] + "ied"
    elif double(base):
        ed = base + base[-1] + "ed"
    else:
        ed = base + "ed"
    forms = {"base": base, "s": s, "ing": ing, "ed": ed}
    forms.update(IRREGULAR.get(base, {}))
    return forms


FORMS: dict[str, dict[str, str]] = {b: _inflect(b) for b in VERBS}
# inflected word -> (base, form); a base form that is also another verb's past keeps "base"
_WORDS: dict[str, tuple[str, str]] = {}
for _b, _f in FORMS.items():
    for _form in ("ed", "ing", "s", "base"):
        _WORDS[_f[_form]] = (_b, _form)


@dataclass(frozen=True)
class Action:
    """One action: ``text`` the generator can take (subject included), its verb's base form
    and kind (``LOCOMOTION``, ``WHOLE_BODY`` or ``GESTURE``; "" when no verb was found)."""
    text: str
    verb: str
    kind: str


@dataclass(frozen=True)
class Stage:
    """Actions that happen together; ``driver`` gets the legs and root (the locomotion one,
    else a whole-body one, else the first), ``overlays`` the upper body."""
    actions: tuple[Action, ...]
    text: str               # the stage's own words, subject included

    @property
    def driver(self) -> Action:
        for kind in (LOCOMOTION, WHOLE_BODY):
            for a in self.actions:
                if a.kind == kind:
                    return a
        return self.actions[0]

    @property
    def overlays(self) -> tuple[Action, ...]:
        d = self.driver
        return tuple(a for a in self.actions if a is not d)


@dataclass(frozen=True)
class CompoundPrompt:
    """A prompt as stages one after another (see the module doc)."""
    text: str
    stages: tuple[Stage, ...]

    @property
    def relation(self) -> str:
        """"single" (one action), "together" (one stage of several) or "sequence"."""
        if len(self.stages) > 1:
            return "sequence"
        return "together" if len(self.stages[0].actions) > 1 else "single"

    @property
    def is_compound(self) -> bool:
        return self.relation != "single"

    def describe(self) -> list:
        """Plain structure for reports and tests: [[text, ...] per stage]."""
        return [[a.text for a in s.actions] for s in self.stages]


# ----------------------------------------------------------------------------- tokens
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*|[,;.!?]")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _join(tokens: list[str]) -> str:
    out = ""
    for t in tokens:
        if t in ",;.!?":
            out += t
        else:
            out += (" " if out else "") + t
    return out.strip(" ,;.!?")


def _verb(tokens: list[str], i: int) -> tuple[str, str] | None:
    """(base, form) if tokens[i] is a motion verb used as a verb (not after a determiner or
    preposition: "the stand", "to the right")."""
    w = tokens[i]
    if w not in _WORDS:
        return None
    if i > 0 and tokens[i - 1] in DETERMINERS:
        return None
    return _WORDS[w]


def _protected(tokens: list[str]) -> set[int]:
    """Token indices inside a fixed phrase (never split points)."""
    out = set()
    for phrase in (p.split() for p in FIXED_PHRASES):
        for i in range(len(tokens) - len(phrase) + 1):
            if tokens[i:i + len(phrase)] == phrase:
                out.update(range(i, i + len(phrase)))
    return out


def _first_verb(tokens: list[str]) -> tuple[int, str, str] | None:
    for i in range(len(tokens)):
        v = _verb(tokens, i)
        if v:
            return i, v[0], v[1]
    return None


def _verb_after(tokens: list[str], i: int) -> tuple[int, str, str] | None:
    """The motion verb starting at tokens[i] after at most two adverbs ("and slowly waves")."""
    j = i
    while j < len(tokens) and j - i < 2 and (tokens[j] in ADVERB_SKIP
                                             or (tokens[j].endswith("ly") and tokens[j] not in _WORDS)):
        j += 1
    if j < len(tokens):
        v = _verb(tokens, j)
        if v:
            return j, v[0], v[1]
    return None


# ----------------------------------------------------------------------------- sequence
def _split_sequence(tokens: list[str]) -> list[list[str]]:
    """Token lists of the parts one after another (split at the sequence markers)."""
    pieces: list[list[str]] = [[]]
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in ";.!?":
            pieces.append([])
            i += 1
            continue
        hit = None
        for m in SEQUENCE_MARKERS:
            if tokens[i:i + len(m)] == list(m):
                nxt = _verb_after(tokens, i + len(m))
                # "before" / "next" / "later" only mark a sequence when a verb follows
                weak = m[-1] in {"before", "next", "later"}
                if nxt is None and (weak or i + len(m) >= len(tokens)):
                    continue
                if _first_verb(pieces[-1]) is None:
                    continue
                hit = m
                break
        if hit:
            while pieces[-1] and pieces[-1][-1] in {",", "and"}:
                pieces[-1].pop()
            pieces.append([])
            i += len(hit)
            while i < len(tokens) and tokens[i] == ",":
                i += 1
            continue
        pieces[-1].append(t)
        i += 1
    return [p for p in pieces if p]


# ----------------------------------------------------------------------------- together
def _split_clause(tokens: list[str], agree_form: str = "") -> list[tuple[list[str], str]]:
    """A clause -> [(tokens, link)], link "" for the first, "and" (and / comma) or
    "while" (while, as, a participle) for the others. agree_form: the form a verb after
    "and" must have (default: the clause's first verb's)."""
    protected = _protected(tokens)
    first = _first_verb(tokens)
    if first is None:
        return [(tokens, "")]
    main_forms = {first[2], agree_form} - {""}
    out: list[tuple[list[str], str]] = []
    cur: list[str] = []
    link = ""
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if i > first[0] and i not in protected and _first_verb(cur):
            if t in ("and", ",") or (t == "," and i + 1 < len(tokens) and tokens[i + 1] == "and"):
                k = i + 1
                if t == "," and k < len(tokens) and tokens[k] == "and":
                    k += 1
                nxt = _verb_after(tokens, k)
                if nxt and k not in protected and _agrees(nxt[2], main_forms):
                    out.append((cur, link))
                    cur, link = [], "and"
                    i = _skip_fillers(tokens, k)
                    continue
            if t in TOGETHER_MARKERS:
                k = i + 2 if i + 1 < len(tokens) and tokens[i + 1] in PRONOUNS else i + 1
                nxt = _verb_after(tokens, k)
                if nxt and (nxt[2] == "ing" or _agrees(nxt[2], main_forms)):
                    out.append((cur, link))
                    cur, link = [], "while"
                    i = _skip_fillers(tokens, k)
                    continue
            v = _verb(tokens, i)
            if (v and v[1] == "ing" and first[2] != "ing" and tokens[i - 1] not in ("and", ",")
                    and first[1] not in ("do", "perform")):
                out.append((cur, link))   # a participle: "jogs waving both hands"
                cur, link = [], "while"
                continue
        cur.append(t)
        i += 1
    out.append((cur, link))
    return [(c, lk) for c, lk in out if c]


def _skip_fillers(tokens: list[str], i: int) -> int:
    """Index of the first token from i that is not a filler ("also", "then", a pronoun)."""
    while i < len(tokens) and (tokens[i] in ADVERB_SKIP or tokens[i] in PRONOUNS):
        i += 1
    return i


def _agrees(form: str, main_forms: set[str]) -> bool:
    """A verb after "and" starts a new part when it is in the form of the clause's own verb
    (finite forms "s" / "ed" agree with each other)."""
    if form in main_forms:
        return True
    return form in ("s", "ed") and bool(main_forms & {"s", "ed"})


def _finite(tokens: list[str], main_form: str) -> list[str]:
    """The part's own verb put in the clause's form ("looking back" -> "looks back")."""
    fv = _first_verb(tokens)
    if fv is None or fv[2] == main_form or main_form not in FORMS.get(fv[1], {}):
        return tokens
    i, base, _ = fv
    return tokens[:i] + [FORMS[base][main_form]] + tokens[i + 1:]


def _group(parts: list[tuple[Action, str]]) -> list[list[Action]]:
    """Actions -> stages: a gesture joins a stage whose driver walks (and vice versa);
    "while" always joins; everything else starts a new stage."""
    stages: list[list[Action]] = []
    for action, link in parts:
        if stages and link == "while":
            stages[-1].append(action)
            continue
        if stages and link == "and":
            kinds = [a.kind for a in stages[-1]]
            if action.kind == GESTURE and LOCOMOTION in kinds and GESTURE not in kinds:
                stages[-1].append(action)
                continue
            if action.kind == LOCOMOTION and kinds == [GESTURE]:
                stages[-1].append(action)
                continue
        stages.append([action])
    return stages


def parse_prompt(text: str) -> CompoundPrompt:
    """Split a prompt into stages of actions (see the module doc). ValueError for a prompt
    without words."""
    if not isinstance(text, str):
        raise ValueError("the prompt must be text")
    tokens = _tokens(text)
    if not [t for t in tokens if t not in ",;.!?"]:
        raise ValueError("the prompt is empty: describe the motion, e.g. "
                         "'a person walks forward and waves'")
    original = " ".join(text.split())
    while tokens and tokens[0] in LEADING_ORDER_WORDS | {","}:
        tokens = tokens[1:]
    first = _first_verb(tokens)
    if first is None:                              # no verb we know: leave it whole
        return CompoundPrompt(original, (Stage((Action(original, "", ""),), original),))
    subject = [t for t in tokens[:first[0]] if t not in LEADING_ORDER_WORDS and t != ","]
    main_form = first[2]
    # "keeps walking and waves", "is running and waves": the finite verb is before the
    # first motion verb, so a part after "and" is finite
    agree_form = "s" if main_form == "ing" and subject and subject[-1].endswith("s") else ""

    stages: list[Stage] = []
    for seq_tokens in _split_sequence(tokens[first[0]:]):
        while seq_tokens and seq_tokens[0] in {",", "and"} | LEADING_ORDER_WORDS:
            seq_tokens = seq_tokens[1:]
        fv = _first_verb(seq_tokens)
        if stages and fv:                 # "... . he then jumps": the prompt's subject
            seq_tokens = seq_tokens[fv[0]:]
        if not seq_tokens:
            continue
        parts = []
        for clause, link in _split_clause(seq_tokens, agree_form):
            clause = _finite(clause, main_form)
            fv = _first_verb(clause)
            verb, kind = (fv[1], VERBS[fv[1]]) if fv else ("", "")
            words = clause if fv is None or fv[0] == 0 or clause[0] not in ("and", ",") \
                else clause[fv[0]:]
            parts.append((Action(_join(subject + words), verb, kind), link))
        for group in _group(parts):
            own = [a.text[len(_join(subject)):].strip() if subject else a.text for a in group]
            stage_text = _join(subject + " and ".join(own).split())
            stages.append(Stage(tuple(group), stage_text if len(group) > 1 else group[0].text))
    if not stages:
        return CompoundPrompt(original, (Stage((Action(original, "", ""),), original),))
    if len(stages) == 1 and len(stages[0].actions) == 1:   # nothing split: the user's words
        a = stages[0].actions[0]
        stages = [Stage((Action(original, a.verb, a.kind),), original)]
    return CompoundPrompt(original, tuple(stages))
