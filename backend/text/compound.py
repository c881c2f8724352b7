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
* Rules found on the dev sets (tests/data/prompts/, tests/data/prompts_dev/): an attack
  (punch, slash, kick) after "and" comes after the walk; a walk that ends at a destination
  ("walks over", "walks up to a friend", "trudges home") is followed by the next part;
  gestures also go on top of a jump ("jumps and waves"); "a, b and c" with commas is a list in
  order; a participle after a comma goes together ("walks backward, beckoning"); a light verb
  with an action noun is that action ("takes a bow", "followed by a backflip"); "stops" is not
  a part; "kicks, kicks again" is one; "to the left, then to the right" repeats the verb.
  The word lists are in `backend/text/compound_words.py`.
* The subject and anything before the first verb ("an old man", "a tired person slowly") is
  kept with every part, so the style carries over; participles become finite verbs in the
  parts ("while looking back" -> "a person looks back").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .compound_words import (LOCOMOTION, WHOLE_BODY, GESTURE, NOUN_ACTIONS,
                             OVERLAY_GESTURES, OVERLAY_DRIVERS, HALTS, LIGHT_VERBS, NOUN_LEADS,
                             DESTINATION_END, DESTINATION_ANY, REPEAT_WORDS,
                             SEQUENCE_MARKERS, TOGETHER_MARKERS, ADVERB_SKIP,
                             DETERMINERS, PRONOUNS, LEADING_ORDER_WORDS, FORMS, KIND,
                             GET_PARTICLES, HEAD_PARTICLES, ADJECTIVES, LEANS, _WORDS,
                             _article_before, _noun_after, _protected)
from .compound_loose import loose_together
from .compound_rewrite import rewrite
from .refine import merge_walk_turns
from .tidy import tidy
from .compound_words import VERBS  # noqa: F401 - re-exported for other modules


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
    preposition: "the stand", "to the right"); a light verb before an action noun ("takes a
    bow") is that action; so is an action noun after "followed by a" / "and a"."""
    w = tokens[i]
    if w in LIGHT_VERBS:
        noun = _noun_after(tokens, i + 1)
        if noun:
            return noun, LIGHT_VERBS[w]
    if w not in _WORDS and w not in NOUN_ACTIONS:
        return None
    base, form = _WORDS.get(w, (w, "s"))
    article = _article_before(tokens, i)
    if article is not None:
        lead = tokens[article - 1] if article > 0 else None
        if lead in NOUN_LEADS or (article == 0 and i == 1):
            return base, "s" if w in NOUN_ACTIONS else form
    if w in NOUN_ACTIONS:
        return (w, "base") if i == 0 else None
    if i > 0 and tokens[i - 1] in DETERMINERS:
        return None
    if base == "get" and (i + 1 >= len(tokens) or tokens[i + 1] not in GET_PARTICLES):
        return None                                   # "gets furious"
    if base == "head" and (i + 1 >= len(tokens) or tokens[i + 1] not in HEAD_PARTICLES):
        return None                                   # "a head spin", "nods his head"
    return base, form


def _first_verb(tokens: list[str]) -> tuple[int, str, str] | None:
    for i in range(len(tokens)):
        v = _verb(tokens, i)
        if v:
            nxt = _WORDS.get(tokens[i + 1]) if i + 1 < len(tokens) else None
            if v[1] == "base" and nxt and nxt[1] in ("s", "ed"):
                continue                  # a noun in the subject: "a tour guide leads"
            return i, v[0], v[1]
    return None


def _verb_after(tokens: list[str], i: int) -> tuple[int, str, str] | None:
    """The motion verb starting at tokens[i] after at most two adverbs ("and slowly waves")."""
    j = i
    while j < len(tokens) and j - i < 2 and (
            tokens[j] in ADVERB_SKIP or tokens[j] in ADJECTIVES
            or (tokens[j].endswith("ly") and tokens[j] not in _WORDS)):
        j += 1
    if j < len(tokens):
        v = _verb(tokens, j)
        if v:
            return j, v[0], v[1]
        for k in range(j + 1, min(j + 4, len(tokens))) if tokens[j] in ("a", "an") else ():
            v = _verb(tokens, k)          # "followed by a (quick) roundhouse"
            if v:
                return k, v[0], v[1]
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
                # "before" / "next" / "later" / "into" only mark a sequence when a verb follows
                weak = m[-1] in {"before", "next", "later", "into"}
                if nxt is None and (weak or i + len(m) >= len(tokens)):
                    continue
                # "cartwheel into a backflip": two moves; "breaks into a dance" stays one (no
                # motion verb before it)
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
                    cur, link = [], "seq" if t == "," and k == i + 1 else "and"
                    i = _skip_fillers(tokens, k)
                    continue
            if t == "," and first[0] == 0 and first[2] == "ing" and i + 2 < len(tokens) \
                    and tokens[i + 1] in PRONOUNS and (nxt := _verb_after(tokens, i + 2)) \
                    and nxt[2] in ("s", "ed"):
                out.append((cur, link))   # "Lumbering forward, he raises a hand": together
                cur, link = [], "while"
                i += 2
                continue
            if t in TOGETHER_MARKERS:
                said = i + 1 < len(tokens) and tokens[i + 1] in PRONOUNS
                k = i + 2 if said else i + 1
                nxt = _verb_after(tokens, k)
                # "waving both arms as she jumps": a subject of its own makes any finite
                # verb a part
                if nxt and (nxt[2] == "ing" or _agrees(nxt[2], main_forms)
                            or (said and nxt[2] in ("s", "ed"))):
                    out.append((cur, link))
                    cur, link = [], "while"
                    i = _skip_fillers(tokens, k)
                    continue
            v = _verb(tokens, i)
            if (v and v[1] == "ing" and first[2] != "ing" and tokens[i - 1] != "and"
                    and first[1] not in ("do", "perform") and v[0] not in LEANS):
                out.append((cur, link))   # a participle: "jogs waving both hands"
                cur, link = [], "while"
                continue
        cur.append(t)
        i += 1
    out.append((cur, link))
    if any(lk == "seq" for _, lk in out):        # a list "crawls, stands and walks": in order
        out = [(c, "seq" if lk == "and" else lk) for c, lk in out]
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
    if tokens[i] in LIGHT_VERBS:          # "takes a bow" stays (not "bowing a bow")
        return tokens
    return tokens[:i] + [FORMS[base][main_form]] + tokens[i + 1:]


def _arrives(action: Action) -> bool:
    """A locomotion part that ends at a destination ("walks over", "walks up to a friend",
    "trudges home", "walks in shyly"): what follows it with "and" comes after it."""
    words = [w.strip(",.;!?") for w in action.text.lower().split()]
    if action.kind != LOCOMOTION or not words:
        return False
    last = words[-2] if len(words) > 1 and words[-1].endswith("ly") else words[-1]
    pairs = {" ".join(words[k:k + 2]) for k in range(len(words) - 1)}
    return (last in DESTINATION_END or bool(DESTINATION_ANY & set(words))
            or bool(pairs & {"up to", "over to"}))


def _group(parts: list[tuple[Action, str]]) -> list[list[Action]]:
    """Actions -> stages: "while" always joins; with "and", an overlay gesture (wave, raise,
    point ...) joins a stage whose driver walks or jumps, unless the walk ends at a
    destination, and a walk joins a lone overlay gesture; everything else ("seq" included)
    starts a new stage."""
    stages: list[list[Action]] = []
    for action, link in parts:
        if stages and link == "while":
            stages[-1].append(action)
            continue
        if stages and link == "and" and not any(_arrives(a) for a in stages[-1]):
            kinds = [a.kind for a in stages[-1]]
            drives = LOCOMOTION in kinds or any(a.verb in OVERLAY_DRIVERS for a in stages[-1])
            raises = action.verb in OVERLAY_GESTURES or re.search(r"\b(arms|hands) up\b",
                                                                   action.text.lower())
            if raises and drives and GESTURE not in kinds:
                stages[-1].append(action)
                continue
            if action.kind == LOCOMOTION and kinds == [GESTURE] and \
                    stages[-1][0].verb in OVERLAY_GESTURES:
                stages[-1].append(action)
                continue
        stages.append([action])
    return stages


def _repeats(stage: list[Action], before: list[Action]) -> bool:
    """"kicks, kicks again": a lone action that only repeats the one before it."""
    if len(stage) != 1 or not before or stage[0].verb != before[-1].verb:
        return False
    words = stage[0].text.lower().split()
    at = next((k for k, w in enumerate(words) if _WORDS.get(w, ("",))[0] == stage[0].verb), None)
    return at is not None and bool(words[at + 1:]) and set(words[at + 1:]) <= REPEAT_WORDS


def _loose(original: str) -> CompoundPrompt | None:
    """A prompt left whole that travels and gestures in loose pieces ("walks, arms up",
    "walk + wave"): its parts (compound_loose.py), else None."""
    loose = loose_together(original)
    if loose is None:
        return None
    if loose[2] == "sequence":
        return CompoundPrompt(original, tuple(Stage((Action(t, *_kind_of(t)),), t)
                                              for t in loose[:2]))
    driver, overlay = (Action(t, *_kind_of(t)) for t in loose[:2])
    return CompoundPrompt(original, (Stage((driver, overlay), original),))


def _kind_of(text: str) -> tuple[str, str]:
    """(verb, kind) of a text's first motion verb, ("", "") when none."""
    fv = _first_verb(_tokens(text))
    return (fv[1], KIND[fv[1]]) if fv else ("", "")


def _has_verb(text: str) -> bool:
    return _first_verb(_tokens(text)) is not None


def parse_prompt(text: str) -> CompoundPrompt:
    """Split a prompt into stages of actions (see the module doc). ValueError for a prompt
    without words."""
    if not isinstance(text, str):
        raise ValueError("the prompt must be text")
    text = tidy(text)[0]             # no negated motions, emoji spelt, no ticket number
    tokens = _tokens(text)
    if not [t for t in tokens if t not in ",;.!?"]:
        raise ValueError("the prompt is empty: describe the motion, e.g. "
                         "'a person walks forward and waves'")
    original = " ".join(text.split())
    tokens = _tokens(rewrite(original, _has_verb))
    while tokens and tokens[0] in LEADING_ORDER_WORDS | {","}:
        tokens = tokens[1:]
    first = _first_verb(tokens)
    if first is None:                              # no verb we know: leave it whole
        return _loose(original) or CompoundPrompt(original,
                                                  (Stage((Action(original, "", ""),), original),))
    subject = [t for t in tokens[:first[0]] if t not in LEADING_ORDER_WORDS and t != ","]
    main_form = first[2]
    # "keeps walking and waves", "is running and waves": the finite verb is before the
    # first motion verb, so a part after "and" is finite
    agree_form = "s" if main_form == "ing" and subject and subject[-1].endswith("s") else ""

    start = first[0]
    if subject and len(subject) == first[0] and all(t in ADJECTIVES for t in subject):
        subject, start = [], 0             # "angry kick followed by ...": the kick's alone
    stages: list[Stage] = []
    pieces = _split_sequence(tokens[start:])
    for n, seq_tokens in enumerate(pieces):
        while seq_tokens and seq_tokens[0] in {",", "and"} | LEADING_ORDER_WORDS:
            seq_tokens = seq_tokens[1:]
        fv = _first_verb(seq_tokens)
        if stages and fv:                 # "... . he then jumps": the prompt's subject
            article = _article_before(seq_tokens, fv[0])
            noun = article is not None and _WORDS.get(seq_tokens[fv[0]], ("", "base"))[1] == "base"
            do = FORMS["do"][main_form] if main_form in ("ed", "ing") else "does"
            # "then happily jumps": the manner before the verb goes after it
            manner = [t for t in seq_tokens[:fv[0]] if len(t) > 4 and t.lower().endswith("ly")
                      and t.lower() not in ("only", "finally", "lastly", "eventually")]
            if not all(t in ADJECTIVES for t in seq_tokens[:fv[0]]):  # "into happy jump"
                seq_tokens = ([do] + seq_tokens[article:] if noun   # "followed by a backflip"
                              else seq_tokens[fv[0]:] + manner)
        if stages and fv is None and stages[-1].actions[-1].verb in FORMS:
            # "sidesteps to the left, then to the right": the verb before carries over
            seq_tokens = [FORMS[stages[-1].actions[-1].verb][main_form]] + seq_tokens
        if not seq_tokens:
            continue
        parts = []
        for clause, link in _split_clause(seq_tokens, agree_form):
            clause = _finite(clause, main_form)
            fv = _first_verb(clause)
            verb, kind = (fv[1], KIND[fv[1]]) if fv else ("", "")
            words = clause if fv is None or fv[0] == 0 or clause[0] not in ("and", ",") \
                else clause[fv[0]:]
            parts.append((Action(_join(subject + words), verb, kind), link))
        moving = [pl for pl in parts if pl[0].verb not in HALTS]
        if moving or len(pieces) > 1:     # "stops" only ends the motion before it
            parts = moving
        for group in _group(parts):
            if _repeats(group, list(stages[-1].actions) if stages else []):
                continue
            own = [a.text[len(_join(subject)):].strip() if subject else a.text for a in group]
            stage_text = _join(subject + " and ".join(own).split())
            stages.append(Stage(tuple(group), stage_text if len(group) > 1 else group[0].text))
    stages = merge_walk_turns(stages)               # walk-turn-<side> is one action
    if not stages:
        return CompoundPrompt(original, (Stage((Action(original, "", ""),), original),))
    if len(stages) == 1 and len(stages[0].actions) == 1:   # nothing split: the user's words
        loose = _loose(original)
        if loose:
            return loose
        a = stages[0].actions[0]
        stages = [Stage((Action(original, a.verb, a.kind),), original)]
    return CompoundPrompt(original, tuple(stages))
