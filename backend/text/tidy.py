"""Words before reading: what a prompt asks for, without what it says it does not want, with
its emoji spelt out and without a ticket or shot number in front (issue 9). Standard library
only; used by the prompt checker (`known.py`) and the compound parser (`compound.py`) alike,
so both read the same words.

* ``spell_emoji``: the motion emoji people type ("🏃", "👋", "🙇", "↖️ walk") become words
  ("runs", "waves", "bows", "walks diagonally to the left").
* ``drop_negated``: "not a run, not a jog, just a regular walk" asks for a walk; "dribbling,
  not shooting" for a dribble. A negation followed within two words by a motion word is
  removed with those words. "never stops dancing" keeps its dance (a stopped verb is not
  negated), and nothing is removed when nothing else would be left.
* ``drop_meta_prefix``: "Shot 4:", "TICKET-902:", "Scene 3 -" name the request, not the
  motion; so does a leading label of up to four words that only say who speaks or what
  kind of note follows ("Mocap director:", "Physio instructions:", "Comic caption:",
  "Bug:"; ``_VOICE_WORDS``) and a beginner's question frame ("how do I make him do ...",
  "how can I get her to ...").
* ``drop_instead``: a bug report's "should bow but instead only nods" asks for the bow.
"""
from __future__ import annotations

import re

# Emoji that name a motion (variation selectors and skin tones are stripped first).
EMOJI_WORDS = {
    "🏃": "runs", "🚶": "walks", "💃": "dances", "🕺": "dances", "👋": "waves the right hand",
    "🙌": "raises both hands", "🙋": "raises the right hand", "🙇": "bows", "🤸": "does a cartwheel",
    "🥊": "punches", "👊": "punches", "🤺": "fences with a sword", "⚔": "sword fight",
    "🦵": "kicks", "🥋": "does karate", "⛹": "dribbles a basketball", "🏀": "basketball",
    "↖": "walks diagonally to the left", "↗": "walks diagonally to the right",
    "⬅": "to the left", "➡": "to the right", "↰": "turns left", "↱": "turns right",
    "↩": "turns left", "↪": "turns right", "🔄": "spins around", "🔃": "spins around",
}
_MODIFIERS = re.compile("[\ufe0f\u200d\U0001f3fb-\U0001f3ff\u2640\u2642]")

NEGATORS = r"(?:\bnot|\bnever|n't|\binstead of|\brather than)"
_FILL = r"(?:(?:a|an|the|any|even|just|really|quite|one|some|so|too|much|more)\s+)*"
_STOPPED = re.compile(r"^(stop|stops|stopped|stopping|quit|quits|cease|ceases|halt|halts|"
                      r"without)\b")
_NEGATED = re.compile(rf"{NEGATORS}\s+{_FILL}([a-z][a-z'-]*)(?:\s+([a-z][a-z'-]*))?"
                      r"(?:\s+(?:away|off|around|round|back|forward|about|over))?", re.I)
_META = re.compile(r"^\s*(?:(?:mocap|mo-cap|motion capture)(?: log| session)?,?\s*)?"
                   r"(?:shot|scene|take|ticket|task|jira|anim|clip|cue|beat|panel|frame|"
                   r"request|req|story|bug|issue|card)\s*[-#:]?\s*(?:[a-z]*[-#]?)?\d+[a-z]?"
                   r"\s*(?:[:.)\]]|[-–—]\s)\s*", re.I)
# a game's state-machine entry: "NPC_GUARD idle->alert: ...", "BOSS_GOLEM phase2: ..."
_GAME_ID = re.compile(r"^\s*[A-Z][A-Z0-9]*_[A-Z0-9_]+\b[^:.!?]{0,30}:\s*")


def spell_emoji(text: str) -> tuple[str, list[str]]:
    """(text with motion emoji spelt as words, the emoji spelt)."""
    text = _MODIFIERS.sub("", text)
    spelt = []
    for emoji, words in EMOJI_WORDS.items():
        if emoji in text:
            spelt.append(emoji)
            text = re.sub(f"(\\s*{re.escape(emoji)})+", f" {words} ", text)
    return (" ".join(text.split()), spelt) if spelt else (text, spelt)


# Motion words beside the parser's verbs (compound_words) that a negation may name.
_OTHER_MOTION_WORDS = frozenset("""hand hands arm arms goodbye bye form duel fight fights
shoot shoots shooting sit sits sitting stand stands standing crouch crouches crouching hop
hops hopping skip skips skipping limp limps limping march marches marching tiptoe tiptoes
tiptoeing nod nods nodding clap claps clapping fall falls falling swim swims swimming climb
climbs climbing throw throws throwing""".split())


def _motion_word(word: str) -> bool:
    from .compound_words import _WORDS, NOUN_ACTIONS
    w = word.lower().strip("'")
    return w in _WORDS or w in NOUN_ACTIONS or w in _OTHER_MOTION_WORDS


def drop_negated(text: str) -> str:
    """`text` without its negated motions ("walks, not runs" -> "walks,")."""
    def cut(m: re.Match) -> str:
        first, second = m.group(1), m.group(2)
        if _STOPPED.match(first):
            return m.group(0)
        words = [first] + ([second] if second else [])
        if not any(_motion_word(w) for w in words):
            return m.group(0)
        return " "
    out = _NEGATED.sub(cut, text)
    if out == text:
        return text
    out = re.sub(r"\s*([,;:.!?—–-])(\s*[,;:.!?—–-])+", r"\1", " ".join(out.split()))
    out = re.sub(r"^[\s,;:.!?—–-]+", "", out).strip()
    out = re.sub(r"\b(does|do|did|is|are|was|were|has|have|can|could|will|would|should)"
                 r"\s*([,;.!?]|$)", r"\2", out).strip()
    return out if re.search(r"[a-z]{3}", out.lower()) else text


# "Mocap director between takes: ...", "Physio: ...": who speaks or what kind of note it is
_LABEL = re.compile(r"^\s*([a-z][a-z'’-]*(?:\s+[a-z][a-z'’-]*){0,3})\s*:\s+", re.I)
# "how do I make him do the usher thing", "how can I get her to jog"
_QUESTION = re.compile(r"^\s*(?:so\s+)?(?:how\s+(?:do|can|would|could|should)\s+(?:i|we|you)|"
                       r"is\s+there\s+a\s+way\s+to|can\s+(?:i|you))\s+(?:make|get|have|let)"
                       r"\s+(?:him|her|them|it|my\s+\w+|the\s+\w+|this\s+\w+)\s+"
                       r"(?:to\s+)?(?:do\s+)?", re.I)


# Words of a label that says who speaks or what kind of note follows. A label with any other
# word stays: it may name the activity ("fishing:", "spacewalk:", "VR:") or the style.
_VOICE_WORDS = frozenset("""mocap mo-cap motion capture director directors physio physio's
physiotherapist choreographer choreographers puppeteer puppeteers caption captions comic
bug patch note notes lesson plan instruction instructions expected coach coaching teacher
narrator narration brief todo request stage direction directions anim animation animator
description desc prompt ref reference feedback client fix task setup between takes take
fight cue voiceover log session sheet card entry line subtitle subtitles storyboard script
screenplay blocking exercise drill rehab the a an my our his her their""".split())


def _label_prefix(text: str) -> str:
    m = _LABEL.match(text)
    if m is None:
        return text
    words = [w.removesuffix("'s").removesuffix("’s") for w in m.group(1).lower().split()]
    return text[m.end():] if all(w in _VOICE_WORDS for w in words) else text


def drop_meta_prefix(text: str) -> str:
    """`text` without a leading ticket / shot / scene / panel number ("Shot 4: ...",
    "mocap take 70: ...", "PANEL 5 — ..."), a game's state name ("NPC_GUARD idle->alert:
    ..."), a label of who speaks or what kind of note it is ("Mocap director: ...") or a
    question's frame ("how do I make him do ...")."""
    out = _GAME_ID.sub("", _META.sub("", text, count=1), count=1)
    out = _QUESTION.sub("", _label_prefix(out), count=1)
    return out if re.search(r"[a-zA-Z]{3}", out) else text


_INSTEAD = re.compile(r"(\bshould\b[^.;!?]*?)\s*,?\s*\bbut\b[^.;!?]*", re.I)


def drop_instead(text: str) -> str:
    """A bug report's wrong motion dropped: "should bow but instead only nods" -> "should
    bow"."""
    return _INSTEAD.sub(r"\1", text)


def tidy(text: str) -> tuple[str, list[str]]:
    """(the words to read, emoji spelt): meta prefix, emoji, a bug report's wrong motion,
    negated motions, in that order."""
    text, spelt = spell_emoji(drop_meta_prefix(text))
    return drop_negated(drop_instead(text)), spelt
