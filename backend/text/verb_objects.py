"""Known motion verbs with a direct object that makes them another activity. Standard library.

Most of the known motions are intransitive: one runs, jumps, rolls, spins, crawls or gets up,
and one raises, waves, dribbles or guides only a few kinds of thing. When such a verb takes
a direct object (a determiner, a possessive or a pronoun right after it), the object decides
the sense: "runs a marathon" and "jumps the fence" are the known motions, "runs the hose",
"jumps the queue", "rolls the dice", "spins the wheel", "raises the blinds", "dribbles olive
oil" and "guides the thread" are other activities.

This module holds, per verb, the objects that keep the known motion (an allow-list written
from general English usage; anything else is another sense), so that the checker does not
need one rule per idiom (``unknown_motions.OTHER_SENSES`` keeps the phrasal ones: "punches
in", "kicks back", "rolls out the dough"). Verbs whose objects are open-ended in the known
sense (walk, kick, punch, dance, wave) are left out.

``other_sense_object(clause) -> str | None``: the verb and its object ("rolls the dice") when
the clause uses a known motion verb with an object outside its allow-list, else None.
``keeps_known_object(clause)``: a known verb with an allowed object ("runs a marathon").
"""
from __future__ import annotations

import re

from .catalogue import _inflections

_PEOPLE = frozenset("""him her them me us you someone somebody everyone everybody people person
man men woman women guy guys girl girls boy boys kid kids child children friend friends guest
guests visitor visitors tourist tourists customer customers group crowd team audience family
lady ladies gentleman gentlemen stranger strangers crew partner mate dog dogs cat waiter
waitress player players class student students soldier soldiers passenger passengers mum mom
dad father mother brother sister son daughter grandson granddaughter grandma grandpa baby
puppy""".split())
_ARMS = frozenset("""hand hands arm arms fist fists palm palms finger fingers both one left
right foot feet knee knees leg legs""".split())
_DISTANCES = frozenset("""race races marathon marathons lap laps mile miles km k metres meters
metre meter yards yard distance course track bases length sprint relay leg circuit loop
block blocks hundred dash stairs steps hill hills field pitch beach trail path streets street
corridor hallway hall route""".split())
_OBSTACLES = frozenset("""fence fences puddle puddles gap gaps hurdle hurdles wall walls stream
creek ditch obstacle obstacles log logs rock rocks stairs steps step bench box boxes barrier
gate hedge net bar chasm crack hole river railing rail cones cone trench wave waves""".split())
_BALLS = frozenset({"ball", "basketball", "football", "balls", "it"})
_FOES = frozenset("""enemy enemies foe foes opponent opponents air dummy target targets monster
monsters zombie zombies attacker attackers bandit bandits orc orcs dragon sword blade katana
sabre saber knife""".split())


def _forms(*bases: str, irregular: tuple[str, ...] = ()) -> str:
    """A regex alternation of the verbs' forms (catalogue's over-generated regular ones)."""
    forms = {f for base in bases for f in _inflections(base)} | set(irregular)
    return "|".join(sorted(forms, key=lambda f: (-len(f), f)))


# verb forms -> (a name for the report, objects that keep the known motion)
_VERBS: list[tuple[str, str, frozenset]] = [
    (_forms("run", "race", irregular=("ran",)), "run", _DISTANCES),
    (_forms("dash", "sprint"), "dash", _DISTANCES),
    (_forms("jump", "leap", "hop", irregular=("leapt",)), "jump", _OBSTACLES),
    (_forms("roll"), "roll", frozenset()),
    (_forms("flip"), "flip", frozenset()),
    (_forms("spin", irregular=("spun",)), "spin", frozenset()),
    (_forms("crawl"), "crawl", _DISTANCES),
    (rf"(?:{_forms('get', irregular=('got',))})\s+up", "get up", frozenset()),
    (_forms("bow"), "bow", frozenset({"head", "body", "torso", "low"})),
    (_forms("raise", "lift"), "raise", _ARMS),
    (_forms("dribble"), "dribble", _BALLS),
    (_forms("guide", "lead", irregular=("led",)), "guide", _PEOPLE | {"way"}),
    (_forms("call", "beckon"), "call", _PEOPLE | {"name"}),
    (_forms("slash"), "slash", _FOES),
]
_OBJECT_START = (r"(?:a|an|the|his|her|their|its|my|your|our|some|this|that|these|those|"
                 r"one|two|three|four|five|ten|few|several|another)")
_PRONOUN = r"(?:him|her|them|me|us|it|someone|somebody|everyone|everybody)"
# The object phrase ends at a preposition, a conjunction or punctuation.
_STOP = frozenset("""to towards toward into onto on in at over under across through along
around round past by from off up down away back out and or but while as then before after
with without for of so because until when like""".split())
_RE = [(re.compile(rf"\b(?:{forms})\s+(?:(?P<det>{_OBJECT_START})\s+(?P<rest>[a-z0-9' -]+)|"
                   rf"(?P<pron>{_PRONOUN})\b)"), name, allow)
       for forms, name, allow in _VERBS]
# Dribbling takes a bare object too ("dribbles olive oil"): any word after it that is not a
# preposition, an adverb or a known ball.
_DRIBBLE_BARE = re.compile(r"\bdribbl(?:e|es|ing|ed)\s+(?P<rest>[a-z][a-z' -]*)")
_ADVERB = re.compile(r"ly$|^(fast|slowly|hard|low|high|again|twice|quickly|well|expertly)$")
_OBJECT_WORDS = frozenset(re.findall(r"[a-z]+", _OBJECT_START + _PRONOUN))
_HELD = re.compile(r"\b(in|with) (his|her|their|one|the|both|my|your) (\w+ )?"
                   r"(hand|hands|arm|arms)\b")
_NUMBER = re.compile(r"\d+(m|k|km|mi|s)?")          # "sprints the 100m"
LOOK_AHEAD = 4               # words of the object phrase searched for an allowed head


def _words(text: str) -> list[str]:
    out = []
    for w in re.findall(r"[a-z0-9']+", text.lower()):
        if w in _STOP:
            break
        out.append(w)
    return out[:LOOK_AHEAD]


def _allowed(word: str, allow: frozenset) -> bool:
    return word in allow or word.rstrip("s") in allow or bool(_NUMBER.fullmatch(word))


def keeps_known_object(clause: str) -> bool:
    """Whether a known motion verb in `clause` takes an object that keeps its known sense
    ("runs a marathon", "jumps the fence", "raises his hand"): evidence for the known motion
    that the learned sense check (sense.py) does not overrule."""
    text = clause.lower()
    for rx, _name, allow in _RE:
        for m in rx.finditer(text):
            if m.group("rest") and any(_allowed(w, allow) for w in _words(m.group("rest"))):
                return True
    return False


def other_sense_object(clause: str, whole: str | None = None) -> str | None:
    """'<verb> <object>' when a known motion verb in `clause` takes an object outside the
    objects that keep its known sense (module doc); None otherwise. whole: the prompt the
    clause comes from (a raised prop held "in the left hand" may be said in another clause)."""
    text = clause.lower()
    bare = _DRIBBLE_BARE.search(text)
    if bare is not None:
        words = _words(bare.group("rest"))
        if words and not _ADVERB.search(words[0]) and words[0] not in _OBJECT_WORDS and \
                words[0] not in ("is", "are", "was", "were", "be") and \
                not any(_allowed(w, _BALLS) for w in words):
            return f"{text[bare.start():bare.start('rest')]}{' '.join(words)}"
    for rx, name, allow in _RE:
        for m in rx.finditer(text):
            if m.group("pron"):
                pron = m.group("pron")
                # "spins her around" is spinning someone else; "calls him over" is a call
                if name in ("get up", "roll", "flip", "spin", "crawl"):
                    return f"{name} {pron}"
                continue
            words = _words(m.group("rest"))
            if not words:
                continue
            if any(_allowed(w, allow) for w in words):
                continue
            if name == "raise" and _HELD.search(text[m.start():] + " " + (whole or "").lower()):
                continue                  # "raises a torch in the left hand": a raised hand
            return f"{text[m.start():m.start('rest')]}{' '.join(words)}"
    return None
