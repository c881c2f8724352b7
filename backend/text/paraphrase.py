"""Caption paraphrases for training the text-to-motion generator (issue 9, robust conditioning).

The training captions of a labelled clip are a handful of templates ("a person walks forward
wearily"); prompts are written in other words ("an old man shuffles across the kitchen"). A
generator conditioned only on the templates learns those points of the text encoder's space
and little around them. ``paraphrase(action, style, rng)`` writes a caption for a clip's
labels the way people write prompts, drawn from independent choices:

* the verb phrase (synonyms, with direction and hand words kept: "left" stays "left");
* the subject ("a man", "she", "the character", "my hero"), which may carry the style
  ("an old man", "a toddler", "a bodybuilder");
* the style as an adverb, an adjective, a "like a ..." comparison, a subject, or a tag
  ("walk, tired");
* the sentence form: statement, progressive, gerund phrase, imperative, noun phrase;
* scene words ("across the room", "on stage"), filler adverbs ("slowly", "a few times");
* surface noise: capitals, British spellings, one typo, trailing punctuation.

The lexicons below were written from general English for this module, without reading the
prompt test sets under ``tests/data/`` (those are never trained on). Standard library only.
"""
from __future__ import annotations

import random
import re

# action -> third-person verb phrases (the first word is the verb; see ``_gerund``)
ACTION_PHRASES: dict[str, list[str]] = {
    "walk": ["walks", "walks forward", "walks ahead", "strolls", "strolls along", "ambles along",
             "walks along", "takes a walk", "paces forward", "wanders forward",
             "steps forward", "walks straight", "marches forward", "heads forward on foot",
             "trudges along", "goes for a walk", "walks at a steady pace", "treads forward",
             "walks a few steps", "moves forward at a walk"],
    "run": ["runs", "runs forward", "jogs", "jogs along", "runs ahead", "goes for a run",
            "jogs forward", "runs at a steady pace", "trots forward", "runs straight",
            "is out jogging", "lopes along", "runs along"],
    "dash": ["sprints", "dashes forward", "sprints ahead", "runs as fast as possible",
             "races forward", "bolts forward", "runs at full speed", "dashes ahead",
             "sprints flat out", "rushes forward"],
    "walk-back": ["walks backwards", "walks backward", "steps backwards",
                  "backs away", "backs up slowly", "retreats step by step",
                  "moves backwards on foot", "walks in reverse", "steps back a few times",
                  "reverses, walking backwards"],
    "walk-left": ["walks to the left", "walks off to the left", "heads left",
                  "walks diagonally left", "walks forward and to the left",
                  "veers to the left while walking", "strolls toward the left",
                  "walks leftwards", "moves off to the left on foot"],
    "walk-right": ["walks to the right", "walks off to the right", "heads right",
                   "walks diagonally right", "walks forward and to the right",
                   "veers to the right while walking", "strolls toward the right",
                   "walks rightwards", "moves off to the right on foot"],
    "walk-turn-left": ["walks and turns left", "turns left while walking",
                       "walks, then turns to the left", "takes a left turn on foot",
                       "walks and makes a left turn", "turns to the left mid-stride",
                       "walks forward and turns left", "rounds a corner to the left"],
    "walk-turn-right": ["walks and turns right", "turns right while walking",
                        "walks, then turns to the right", "takes a right turn on foot",
                        "walks and makes a right turn", "turns to the right mid-stride",
                        "walks forward and turns right", "rounds a corner to the right"],
    "bow": ["bows", "bows deeply", "takes a bow", "bows politely", "bends forward in a bow",
            "bows from the waist", "gives a polite bow", "bows to greet someone",
            "bows in thanks", "makes a respectful bow"],
    "bye": ["waves goodbye", "says goodbye with a wave", "waves farewell",
            "waves bye with one hand", "gives a goodbye wave", "bids farewell, waving",
            "waves to say goodbye", "waves someone off"],
    "byebye": ["waves goodbye with both hands", "waves both arms to say goodbye",
               "waves farewell with both hands high", "says bye, waving both arms",
               "waves both hands above the head to say goodbye",
               "gives a big two-handed goodbye wave"],
    "guide": ["shows the way", "points the way with an open hand", "gestures toward the way",
              "guides someone with a sweep of the hand", "directs someone with the hand",
              "ushers someone along", "indicates the direction with a hand",
              "shows someone where to go"],
    "respond": ["raises a hand to answer", "puts a hand up to reply",
                "answers with a raised hand", "raises the left hand in reply",
                "responds by lifting a hand", "puts the left hand up to answer"],
    "call": ["calls out to someone", "calls someone over", "beckons someone closer",
             "shouts to a friend, leaning forward", "hails someone",
             "calls out with hands around the mouth", "leans forward and calls out",
             "summons someone over"],
    "punch": ["punches", "throws punches", "throws a punch", "boxes", "jabs with the fists",
              "punches the air", "throws a few jabs", "spars, punching",
              "throws a combination of punches", "hits out with the fists"],
    "kick": ["kicks", "kicks out", "throws a kick", "kicks with one leg", "does a high kick",
             "kicks forward", "lands a kick", "kicks the air", "delivers a kick"],
    "slash": ["slashes with a sword", "cuts down with a blade",
              "swings a sword down with both hands", "strikes with a two-handed sword",
              "slices down with a katana", "brings a blade down in a cut",
              "chops down with a sword"],
    "swordplay": ["fights with a sword", "fences", "duels with a sword", "swings a sword",
                  "practises sword fighting", "spars with a sword", "fights with a blade"],
    "dance": ["dances", "dances to music", "does a little dance", "dances around",
              "grooves to the beat", "moves to the music", "dances happily",
              "busts some dance moves", "does a dance", "dances on the spot"],
    "wave-both-hands": ["waves both hands", "waves with both hands", "waves both arms",
                        "waves both hands in the air", "waves with both arms raised",
                        "gives a two-handed wave", "waves both hands hello"],
    "wave-left-hand": ["waves the left hand", "waves with the left hand",
                       "waves hello with the left hand", "waves the left arm",
                       "gives a wave with the left hand", "lifts the left hand and waves",
                       "waves left-handed"],
    "wave-right-hand": ["waves the right hand", "waves with the right hand",
                        "waves hello with the right hand", "waves the right arm",
                        "gives a wave with the right hand", "lifts the right hand and waves",
                        "waves right-handed"],
    "raise-up-both-hands": ["raises both hands", "raises both arms", "puts both hands up",
                            "lifts both arms overhead", "throws both hands in the air",
                            "holds both arms up high", "reaches up with both hands",
                            "puts both arms in the air"],
    "raise-up-left-hand": ["raises the left hand", "raises the left arm",
                           "puts the left hand up", "lifts the left arm overhead",
                           "holds the left hand up high", "sticks the left hand up",
                           "reaches up with the left hand"],
    "raise-up-right-hand": ["raises the right hand", "raises the right arm",
                            "puts the right hand up", "lifts the right arm overhead",
                            "holds the right hand up high", "sticks the right hand up",
                            "reaches up with the right hand"],
    "jump": ["jumps", "jumps up", "jumps forward", "hops", "leaps", "jumps in place",
             "leaps into the air", "hops forward", "does a jump", "jumps up and down"],
    "dribble": ["dribbles a basketball", "bounces a basketball", "dribbles the ball",
                "plays basketball", "dribbles a ball on the court"],
    "karate": ["does karate", "practises karate", "performs a karate kata",
               "does martial arts", "blocks and strikes like a karateka",
               "runs through karate moves"],
    "flip": ["does a backflip", "flips backwards", "does a somersault", "does a back flip",
             "flips over in the air"],
    "cartwheel": ["does a cartwheel", "turns a cartwheel", "cartwheels across",
                  "does a cartwheel sideways"],
    "crawl": ["crawls", "crawls on all fours", "crawls on hands and knees",
              "crawls along the floor", "crawls forward"],
    "get-up": ["gets up from the floor", "stands up from lying down", "gets back up",
               "rises from the ground", "gets to their feet"],
    "roll": ["rolls forward", "does a forward roll", "rolls on the ground", "tumbles forward",
             "does a roll"],
    "spin": ["spins around", "spins on the spot", "twirls around", "turns around in place",
             "pirouettes"],
}
# the same actions as nouns, for "a tired walk", "an energetic jog"
ACTION_NOUNS: dict[str, list[str]] = {
    "walk": ["walk", "stroll", "walk cycle"], "run": ["run", "jog", "run cycle"],
    "dash": ["sprint", "dash"], "walk-back": ["backwards walk"],
    "walk-left": ["walk to the left"], "walk-right": ["walk to the right"],
    "walk-turn-left": ["walk with a left turn"], "walk-turn-right": ["walk with a right turn"],
    "bow": ["bow"], "bye": ["goodbye wave"], "byebye": ["two-handed goodbye wave"],
    "punch": ["punch", "boxing combo"], "kick": ["kick"], "dance": ["dance", "dance routine"],
    "wave-both-hands": ["two-handed wave"], "wave-left-hand": ["left-handed wave"],
    "wave-right-hand": ["right-handed wave"], "jump": ["jump", "leap"],
    "flip": ["backflip"], "cartwheel": ["cartwheel"], "spin": ["spin"],
    "karate": ["karate kata"], "slash": ["sword cut"],
}

# style -> (adverbs / manner phrases, adjectives for a person, nouns that imply it)
STYLE_WORDS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "normal": (["normally", "casually", "in a relaxed way", "naturally", "calmly"],
               ["ordinary", "average", "regular"], []),
    "happy": (["happily", "cheerfully", "joyfully", "with a big smile", "in a great mood",
               "merrily", "gleefully"],
              ["happy", "cheerful", "joyful", "smiling", "delighted", "upbeat"], []),
    "sad": (["sadly", "gloomily", "sorrowfully", "with a heavy heart", "miserably",
             "dejectedly", "with head hung low"],
            ["sad", "gloomy", "heartbroken", "unhappy", "depressed", "miserable", "grieving"],
            ["mourner"]),
    "angry": (["angrily", "furiously", "in a rage", "aggressively", "with clenched fists",
               "irritably"],
              ["angry", "furious", "enraged", "irritated", "mad", "fuming"], []),
    "proud": (["proudly", "haughtily", "with chest puffed out", "arrogantly", "smugly",
               "with great dignity"],
              ["proud", "haughty", "arrogant", "self-important", "smug", "confident"],
              ["king", "queen", "aristocrat"]),
    "not-confident": (["timidly", "hesitantly", "shyly", "nervously", "without confidence",
                       "unsurely", "anxiously"],
                      ["timid", "shy", "nervous", "hesitant", "insecure", "anxious"],
                      ["wallflower"]),
    "masculine": (["in a masculine way", "manfully", "in a macho manner", "like a tough guy"],
                  ["macho", "manly", "muscular", "burly"],
                  ["bodybuilder", "tough guy", "lumberjack", "strongman"]),
    "feminine": (["in a feminine way", "gracefully", "daintily", "elegantly", "delicately"],
                 ["graceful", "elegant", "dainty", "feminine"],
                 ["ballerina", "lady", "model on a catwalk"]),
    "childish": (["like a child", "childishly", "playfully", "like a little kid"],
                 ["childish", "playful", "little"],
                 ["child", "kid", "toddler", "little boy", "little girl", "five-year-old"]),
    "elderly": (["like an old person", "slowly and stiffly", "stiffly, with age",
                 "like a pensioner", "frailly"],
                ["old", "elderly", "aged", "frail", "ageing"],
                ["old man", "old woman", "grandpa", "grandma", "pensioner", "senior citizen",
                 "grandfather", "old lady"]),
    "exhausted": (["wearily", "tiredly", "exhaustedly", "sluggishly", "with no energy left",
                   "as if worn out", "dragging the feet"],
                  ["tired", "exhausted", "weary", "worn-out", "fatigued", "sleepy", "drained"],
                  ["marathon runner at the end of the race"]),
    "active": (["energetically", "briskly", "vigorously", "with lots of energy",
                "enthusiastically", "with a spring in the step"],
               ["energetic", "lively", "sporty", "athletic", "enthusiastic", "peppy"],
               ["athlete", "cheerleader"]),
    "musical": (["theatrically", "rhythmically", "like in a musical", "dramatically",
                 "with a theatrical flourish"],
                ["theatrical", "dramatic", "flamboyant"],
                ["Broadway performer", "stage actor", "showman"]),
    "giant": (["like a giant", "heavily", "ponderously", "with lumbering steps",
               "with heavy, slow movements"],
              ["giant", "huge", "lumbering", "hulking", "enormous"],
              ["giant", "ogre", "troll", "huge brute"]),
    "chimpira": (["like a street thug", "with a swagger", "like a punk", "cockily",
                  "like a gangster"],
                 ["thuggish", "cocky", "swaggering", "rowdy"],
                 ["street punk", "thug", "delinquent", "gangster", "hooligan"]),
    "youthful": (["youthfully", "with youthful energy", "sprightly", "like a teenager"],
                 ["young", "youthful", "sprightly", "teenage"],
                 ["teenager", "teen", "young man", "young woman", "student"]),
}

NEUTRAL_SUBJECTS = ["a person", "someone", "a man", "a woman", "the man", "the woman",
                    "he", "she", "a guy", "a girl", "a boy", "the character",
                    "a figure", "the actor", "my character", "a human", "somebody",
                    "the hero", "a lady"]
SCENE_WORDS = ["across the room", "down the street", "in the park", "on stage",
               "in the hallway", "toward the camera", "through the office", "in an empty room",
               "outside", "on the sidewalk", "in the garden", "at the station",
               "along the corridor", "in front of a crowd", "on a sunny day", "at night"]
FILLERS = ["a few times", "for a while", "once", "again", "steadily", "for a bit"]
_BRITISH = {"toward": "towards", "practice": "practise", "color": "colour",
            "gray": "grey", "center": "centre", "meter": "metre", "theater": "theatre",
            "favorite": "favourite", "neighbor": "neighbour", "rumor": "rumour"}
# verbs that double their last consonant before -ing (British "duelling" too)
_DOUBLED = {"run", "jog", "hop", "trot", "step", "put", "spin", "spar", "jab", "chop", "cut",
            "hit", "flip", "bid", "duel", "get"}
_BASE = {"is": "be", "does": "do", "goes": "go", "has": "have"}


def _gerund(phrase: str) -> str:
    """"walks forward" -> "walking forward" (third person to -ing form)."""
    verb, _, rest = phrase.partition(" ")
    base = _base(verb)
    if base == "be":
        g = "being"
    elif base in _DOUBLED:
        g = base + base[-1] + "ing"
    elif base.endswith("e"):
        g = base[:-1] + "ing"
    else:
        g = base + "ing"
    return f"{g} {rest}".strip()


def _base(phrase: str) -> str:
    """"walks forward" -> "walk forward" (third person to base form)."""
    verb, _, rest = phrase.partition(" ")
    if verb in _BASE:
        b = _BASE[verb]
    elif verb.endswith(("shes", "ches", "sses", "xes")):
        b = verb[:-2]
    elif verb.endswith("ies"):
        b = verb[:-3] + "y"
    elif verb.endswith("s"):
        b = verb[:-1]
    else:
        b = verb
    return f"{b} {rest}".strip()


def _article(noun: str) -> str:
    return ("an " if noun[0].lower() in "aeiou" else "a ") + noun


def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    long_ = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()
             and not w.lower().startswith(("left", "right"))]     # sides keep their meaning
    if not long_:
        return text
    i = rng.choice(long_)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    kind = rng.random()
    if kind < 0.5:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]          # swap
    elif kind < 0.75:
        w = w[:j] + w[j + 1:]                             # drop
    else:
        w = w[:j] + w[j] + w[j:]                          # double
    words[i] = w
    return " ".join(words)


def _surface(text: str, rng: random.Random) -> str:
    if rng.random() < 0.25:
        for us, gb in _BRITISH.items():
            text = re.sub(rf"\b{us}\b", gb, text)
    if rng.random() < 0.12:
        text = _typo(text, rng)
    r = rng.random()
    if r < 0.3:
        text = text[0].upper() + text[1:]
    elif r < 0.35:
        text = text.upper()
    elif r < 0.4:
        text = text.title()
    r = rng.random()
    if r < 0.2:
        text += "."
    elif r < 0.25:
        text += "!"
    return text


def paraphrase(action: str, style: str | None, rng: random.Random) -> str:
    """One caption for a clip labelled (action, style), worded as users word prompts.
    Raises KeyError for an action this module has no phrases for."""
    phrases = ACTION_PHRASES[action]
    vp = rng.choice(phrases)
    adverbs, adjectives, nouns = STYLE_WORDS.get(style or "normal", STYLE_WORDS["normal"])
    styled = style not in (None, "normal")
    subj = rng.choice(NEUTRAL_SUBJECTS)
    manner = ""
    if styled or rng.random() < 0.3:
        how = rng.random()
        if nouns and how < 0.3:
            det, noun = rng.choice(["a", "an", "the"]), rng.choice(nouns)
            subj = f"the {noun}" if det == "the" else _article(noun)
        elif adjectives and how < 0.6:
            noun = rng.choice(["person", "man", "woman", "guy", "character", "girl", "boy"])
            subj = _article(f"{rng.choice(adjectives)} {noun}")
        else:
            manner = rng.choice(adverbs)
    form = rng.random()
    if styled and not manner and 0.7 <= form < 0.82:        # the imperative has no subject
        manner = rng.choice(adverbs)
    extra = []
    if rng.random() < 0.3:
        extra.append(rng.choice(SCENE_WORDS))
    if rng.random() < 0.15:
        extra.append(rng.choice(FILLERS))
    tail = (" " + " ".join(extra)) if extra else ""
    if form < 0.45:                                          # statement
        if manner and rng.random() < 0.3:
            text = f"{subj} {manner} {vp}{tail}" if manner.endswith("ly") \
                else f"{subj} {vp} {manner}{tail}"
        else:
            text = f"{subj} {vp}{(' ' + manner) if manner else ''}{tail}"
    elif form < 0.55:                                        # progressive
        text = f"{subj} is {_gerund(vp)}{(' ' + manner) if manner else ''}{tail}"
    elif form < 0.7:                                         # gerund phrase, tag
        tag = manner or (subj if subj not in NEUTRAL_SUBJECTS else "")
        text = f"{_gerund(vp)}{tail}" + (f", {tag}" if tag else "")
    elif form < 0.82:                                        # imperative
        text = f"{_base(vp)}{(' ' + manner) if manner else ''}{tail}"
    elif form < 0.9 and action in ACTION_NOUNS:              # noun phrase
        noun = rng.choice(ACTION_NOUNS[action])
        adj = rng.choice(adjectives) + " " if styled and adjectives else ""
        text = _article(f"{adj}{noun}") + (f" by {subj}" if rng.random() < 0.3 else "") + tail
    else:                                                    # scene first
        scene = rng.choice(SCENE_WORDS)
        text = f"{scene}, {subj} {vp}{(' ' + manner) if manner else ''}"
    text = re.sub(r"\s+", " ", text).strip(" ,")
    return _surface(text, rng)


def paraphrases(action: str, style: str | None, n: int, seed: int = 0) -> list[str]:
    """n distinct paraphrases (fewer when the lexicons run out), reproducible from seed."""
    rng = random.Random(f"{seed}:{action}:{style}")
    out: list[str] = []
    seen = set()
    for _ in range(n * 6):
        t = paraphrase(action, style, rng)
        if t not in seen:
            seen.add(t)
            out.append(t)
            if len(out) == n:
                break
    return out
