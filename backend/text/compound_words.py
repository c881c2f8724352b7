"""The words the compound-prompt parser (`backend/text/compound.py`) knows: motion verbs by
kind, irregular forms, fixed phrases, sequence / together markers and the small word sets its
rules use. Standard library only."""
from __future__ import annotations

LOCOMOTION, WHOLE_BODY, GESTURE = "locomotion", "whole_body", "gesture"

# base form -> kind. Locomotion moves the root over the ground with the legs; whole-body
# actions use the legs (or the whole body) in place; gestures are upper body only.
VERBS: dict[str, str] = {
    **{v: LOCOMOTION for v in (
        "walk", "run", "jog", "march", "stroll", "sprint", "skip", "hop", "limp", "stagger",
        "strut", "tiptoe", "sneak", "shuffle", "wander", "pace", "step", "stride", "trot",
        "creep", "crawl", "go", "move", "come", "approach", "advance", "retreat", "circle",
        "travel", "hurry", "rush", "amble", "saunter", "stumble", "gallop", "stomp",
        "sidestep", "swagger", "waddle", "trudge", "plod", "dash", "lead", "head")},
    **{v: WHOLE_BODY for v in (
        "jump", "sit", "stand", "bow", "kneel", "squat", "crouch", "lie", "turn", "spin",
        "fall", "kick", "dance", "lunge", "stretch", "climb", "roll", "cartwheel", "bend",
        "lean", "leap", "pivot", "rotate", "twist", "sway", "stop", "balance", "fight", "box",
        "swim", "get", "rise", "duck", "dodge", "trip", "exercise", "skate", "ski", "do",
        "perform", "flip", "somersault", "hide", "wobble", "pause", "wait", "rest",
        "slash", "slice", "fence", "slide", "halt", "freeze")},
    **{v: GESTURE for v in (
        "wave", "point", "clap", "raise", "lift", "call", "look", "shake", "nod", "salute",
        "throw", "punch", "reach", "scratch", "wipe", "drink", "eat", "talk", "hold", "carry",
        "swing", "flap", "cross", "gesture", "beckon", "signal", "shrug", "cheer", "pick",
        "put", "grab", "catch", "push", "pull", "touch", "rub", "hug", "applaud", "shout",
        "yell", "check", "glance", "stir", "brush", "comb", "type", "write", "phone", "answer",
        "bounce", "juggle", "play", "strum", "conduct", "knock", "open", "close", "scan",
        "peer", "wag", "fold", "extend", "spread", "flex", "chop", "hammer", "sweep", "paint",
        "dribble", "toss", "fan", "tap", "slap", "hit", "stab", "swat", "drum", "pat",
        "pray", "blow", "cover", "hail", "celebrate", "greet", "smell", "sniff", "guide",
        "usher", "show", "respond", "reply")},
}
# Action nouns that are not verbs ("karate kata followed by a roundhouse").
NOUN_ACTIONS: dict[str, str] = {"karate": WHOLE_BODY, "kata": WHOLE_BODY,
                                "roundhouse": WHOLE_BODY, "backflip": WHOLE_BODY,
                                "jab": GESTURE, "uppercut": GESTURE, "pirouette": WHOLE_BODY,
                                "curtsy": WHOLE_BODY}
# Gestures that go on top of locomotion or a jump when joined by "and" ("walks and waves",
# "jumps and waves"); others (punch, slash, pick up) come after it ("stomps and punches").
OVERLAY_GESTURES = {"wave", "raise", "lift", "point", "beckon", "signal", "gesture", "clap",
                    "cheer", "salute", "look", "flap", "hold", "carry", "call", "guide", "show",
                    "usher", "hail", "greet", "celebrate", "applaud", "shout", "yell", "glance",
                    "shake", "swing", "wag", "snap", "respond", "reply"}
# A participle of a posture is the manner of its clause, not a part of its own ("Leaning
# forward, he calls", "calls the team over, leaning forward").
POSTURES = {"lean", "bend", "stand", "sit", "crouch", "kneel", "lie", "look", "hold",
            "balance", "wait", "rest", "pause", "smile"}
# ... and after the clause's verb only these (a look back stays an overlay: "jogs, looking
# back"; a sitting or kneeling is a part of its own)
LEANS = {"lean", "bend", "crouch"}
OVERLAY_DRIVERS = {"jump", "leap", "hop", "skip", "bounce"}
# Verbs that only end or pause a motion: not a part of their own ("jogs, then stops and bows").
HALTS = {"stop", "pause", "halt", "freeze", "wait", "rest"}
# Light verbs before an action noun ("takes a bow", "gives a small wave") and what can precede
# "a"/"an" + action noun for the noun to be the action ("followed by a roundhouse").
LIGHT_VERBS = {"take": "base", "takes": "s", "took": "ed", "taking": "ing", "give": "base",
               "gives": "s", "gave": "ed", "giving": "ing", "make": "base", "makes": "s",
               "made": "ed", "making": "ing", "throw": "base", "throws": "s", "threw": "ed",
               "throwing": "ing", "do": "base", "does": "s", "did": "ed", "doing": "ing",
               "perform": "base", "performs": "s", "performed": "ed", "performing": "ing"}
NOUN_LEADS = {"by", "into", "then", "and", ","}
# Words that end a locomotion part at a destination: the next "and" part comes after it
# ("walks up to a friend and waves", "trudges home and gives a wave").
DESTINATION_END = {"over", "up", "in", "inside", "out", "off", "home"}
DESTINATION_ANY = {"home", "into", "inside"}
REPEAT_WORDS = {"again", "once", "more", "twice", "another", "time"}

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
    "hide": {"ed": "hid"}, "lead": {"ed": "led"}, "sidestep": {"ing": "sidestepping", "ed": "sidestepped"},
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
SEQUENCE_MARKERS = (("and", "then"), ("after", "that"), ("after", "which"),
                    ("and", "after", "that"), ("and", "afterwards"), ("followed", "by"),
                    ("and", "finally"), ("and", "next"), ("then",), ("afterwards",),
                    ("afterward",), ("finally",), ("next",), ("before",), ("later",),
                    ("lastly",), ("into",))
TOGETHER_MARKERS = ("while", "whilst", "as")
ADVERB_SKIP = {"also", "then", "again", "just", "still", "now", "simultaneously", "both",
               "like", "um", "uh", "erm"}     # spoken fillers: "walks and like waves"
DETERMINERS = {"a", "an", "the", "his", "her", "their", "its", "my", "your", "this", "that",
               "some", "to", "of", "with", "for", "at", "on", "in", "into", "by", "from"}
PRONOUNS = {"he", "she", "they", "it", "i", "we", "you"}
LEADING_ORDER_WORDS = {"first", "firstly", "initially"}
# Subjects of a cue clause that is not the character's action ("as the curtain rises, she
# bows", "when the whistle blows, ..."): the clause is the scene's, and is dropped.
SCENE_SUBJECTS = set("""
curtain curtains music song songs beat bass drum drums band orchestra choir sun moon light
lights spotlight bell bells whistle buzzer alarm horn siren clock timer countdown door doors
gate gates crowd audience fans applause rain wind storm snow thunder lightning ball train
bus car cars camera phone fireworks credits scene show game match round race referee
""".split())


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
KIND: dict[str, str] = {**VERBS, **NOUN_ACTIONS}
GET_PARTICLES = {"up", "down", "back", "off", "onto", "to", "out", "straight", "on", "into"}
# "heads off", "heads towards the door": "head" is a walk only before one of these
HEAD_PARTICLES = {"off", "out", "over", "towards", "toward", "to", "back", "home", "away",
                  "for", "into", "down", "up", "across", "forward", "forwards", "left",
                  "right", "straight", "outside", "inside", "along", "diagonally"}
# Adjectives of manner that may stand before an action used as a noun ("sad walk into happy
# jump", "angry kick followed by ...": the adjective belongs to that part alone).
ADJECTIVES = set("""
happy sad angry proud timid shy tired exhausted old elderly young youthful energetic lively
graceful heavy quick slow big small little short long high low deep brisk lazy gentle casual
confident nervous excited joyful cheerful gloomy furious weary sluggish powerful strong fast
final wild crazy silly goofy dramatic theatrical swaggering macho dainty feminine masculine
childish playful hesitant clumsy careful calm relaxed stiff bouncy sneaky smooth sharp
""".split())
# inflected word -> (base, form); a base form that is also another verb's past keeps "base"
_WORDS: dict[str, tuple[str, str]] = {}
for _b, _f in FORMS.items():
    for _form in ("ed", "ing", "s", "base"):
        _WORDS[_f[_form]] = (_b, _form)


# words that cannot stand between "a" and its action noun
_NOT_ADJECTIVE = set(",;.!?") | {"and", "then", "while", "whilst", "as", "before", "after",
                                  "followed", "to", "with", "at", "into", "onto", "by", "of"}


def _article_before(tokens: list[str], i: int) -> int | None:
    """Index of an "a" / "an" at most two plain words before tokens[i], else None."""
    for k in range(i - 1, max(i - 4, -1), -1):
        t = tokens[k]
        if t in ("a", "an"):
            return k
        if t in _NOT_ADJECTIVE or t in _WORDS:
            return None
    return None


def _noun_after(tokens: list[str], j: int) -> str | None:
    """Base of the action noun in "a [two words] NOUN" starting at tokens[j], else None."""
    if j >= len(tokens) or tokens[j] not in ("a", "an"):
        return None
    for k in range(j + 1, min(j + 4, len(tokens))):
        t = tokens[k]
        if t in _WORDS:
            return _WORDS[t][0]
        if t in NOUN_ACTIONS:
            return t
        if t in _NOT_ADJECTIVE:
            return None
    return None


def _protected(tokens: list[str]) -> set[int]:
    """Token indices inside a fixed phrase (never split points)."""
    out = set()
    for phrase in (p.split() for p in FIXED_PHRASES):
        for i in range(len(tokens) - len(phrase) + 1):
            if tokens[i:i + len(phrase)] == phrase:
                out.update(range(i, i + len(phrase)))
    return out
