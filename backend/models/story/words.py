"""The offline story scheduler's words: lexicons, patterns and phrase readers (what a
sentence's verbs, places, durations, speeds and styles are). Standard library only; the
scheduler (``schedule.py``) decides what they make.
"""
from __future__ import annotations

import re

from .schema import MAX_SECONDS

NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8, "nine": 9, "ten": 10, "a few": 3, "several": 4, "a couple of": 2}
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+|(?<=[.!?;])$")
LEAD = re.compile(r"^(?:and\s+)?(?:then|and then|after that|afterwards?|finally|next|later|"
                   r"lastly|eventually|at last|first|now|soon|suddenly|meanwhile)\b,?\s*", re.I)
PAUSE_LEAD = re.compile(r"^(?:after (?:a while|a moment|some time|a bit)|a (?:moment|while|"
                         r"little) later|moments later)\b,?\s*", re.I)
REWRITE = [(re.compile(p, re.I), r) for p, r in (
    (r"\bheads?(?= (?:back |over |straight )?(?:to|towards?|for|into)\b)", "walks"),
    (r"\bheaded(?= (?:back )?(?:to|towards?|for|into)\b)", "walked"),
    (r"\breturns?\b(?= to\b)", "walks back"), (r"\breturns\b", "walks back to the start"),
    (r"\bcomes back\b", "walks back"), (r"\bgoes back\b", "walks back"),
    (r"\bmakes (?:his|her|their|its) way\b", "walks"),
    (r"\bwanders?\b(?= (?:over |back )?(?:to|towards?)\b)", "walks"),
    (r"\b(?:takes|has) a seat\b", "sits down"), (r"\bsettles (?:down )?(?:on|in|into)\b",
                                                 "sits on"),
    (r"\bplops down\b", "sits down"), (r"\bcrosses (?:the room|over) to\b", "walks to"),
    (r"\bcrosses to\b", "walks to"), (r"\bgets to (?:his|her|their) feet\b", "stands up"),
    (r"\brushes\b(?= (?:back |over )?(?:to|towards?)\b)", "hurries"),
    (r"\bjogs\b", "runs"), (r"\bsprints\b", "runs"), (r"\bdashes\b(?= (?:to|towards?|back|over))",
                                                      "runs"),
    (r"\b(?:swagger|lumber|trudge|plod|hobble|waddle|slink|meander|mosey|prance|totter|"
     r"toddle|storm|stalk|stride|stumble|sneak|creep|pace|march|stroll|amble|saunter|shuffle|"
     r"limp|stagger|strut|tiptoe)(?:s|es)?\b(?= (?:back |over |out |up |down |straight |"
     r"across |along |past |through |round |around )*(?:the \w+ )?(?:to|towards?|into|onto|"
     r"through|out of|up to)\b)", "walks"),
    (r"\b(?:scurr(?:y|ies)|darts?|bolts?|races?|scampers?|zooms?|rushes)\b(?= (?:back |"
     r"over |out |straight |across )*(?:to|towards?|into|through|out of)\b)", "runs"),
    (r"\bdrags (?:himself|herself|themselves)\b", "walks"),
    (r"\bwalks? up to\b", "walks to"), (r"\bgoes over to\b", "walks to"),
    (r"\bgoes\b", "walks"), (r"\bapproaches\b", "walks to"), (r"\benters\b", "walks into"),
    (r"\b(?:leaves|exits) (?:through|by|via) (?:the )?", "walks to the "),
    (r"\bleaves the room\b", "walks to the door"), (r"\bexits\b", "walks to"))]
PLACE = re.compile(
    r"\b(?P<prep>(?:back |over |straight |right |up |across |out )*(?:to|towards?|into|onto|on"
    r"|in front of|in|at|by|near|beside|next to|behind|for|through|out of|up to|up|down"
    r"|along|across|past|round|around))\s+(?P<np>(?:the |a |an |his |her "
    r"|their |its |that |this )?[a-z0-9][\w.'-]*(?: [a-z0-9][\w.'-]*){0,3}?)"
    r"(?=$|[,;]| (?:and|while|whilst|as|for|then|with|slowly|quickly|again|before|after|in|on|"
    r"at|of|by|near|from|behind|beside|under|over|"
    r"carefully|happily|sadly|angrily|calmly|briskly|tiredly|wearily|once|twice)\b)")
NOT_PLACES = set("""left right forward forwards front back backward backwards side sides
air way music beat rhythm him her himself herself themselves everyone
audience crowd others somebody someone middle centre center corner distance place spot start
circle circles while moment bit second seconds minute minutes time place rest sky ceiling
himself air""".split())
FACE_PREPS = {"at", "to", "toward", "towards"}
GO_PREPS = {"to", "toward", "towards", "into", "onto", "for", "through", "of", "up", "down",
             "along", "across", "past", "round", "around"}
RUN_VERBS = {"run", "sprint", "jog", "dash", "gallop", "trot"}
SLOW = re.compile(r"\b(slowly|leisurely|carefully|lazily|gently|cautiously|wearily|tiredly)\b")
FAST = re.compile(r"\b(quickly|briskly|fast|hurriedly|hastily|rapidly|swiftly)\b")
DURATION = re.compile(r"\bfor (?P<n>\d+(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine"
                       r"|ten|a few|several|a couple of) (?P<u>seconds?|secs?|s|minutes?|mins?)"
                       r"\b|\bfor (?P<vague>a while|a moment|a bit|some time|a second)\b", re.I)
VAGUE = {"a while": 3.0, "a moment": 1.5, "a bit": 2.0, "some time": 4.0, "a second": 1.0}
PRONOUN_START = re.compile(r"^(?:he|she|they|it|the person|the man|the woman|the character)\b",
                            re.I)
STAND_UP = re.compile(r"\b(?:stands?|standing|stood|gets?|getting|got|rises?|rising|rose|"
                       r"jumps?) up\b|\brises\b|\bgets out of\b")
IDLE = re.compile(r"\b(?:waits?|waiting|pauses?|rests?|stays?|remains?|stands? still|stops?|"
                   r"halts?|freezes?|"
                   r"stands? there|stands? quietly|idles?|catches (?:his|her|their) breath|"
                   r"looks around)\b")
TURN_AROUND = re.compile(r"\bturns? (?:around|round|back)\b")
TURN_SIDE = re.compile(r"\bturns? (?:to (?:the|his|her|their) )?(?P<side>left|right)\b")
FACE = re.compile(r"\b(?:faces?|facing|turns? (?:back |around |round )?(?:to face|to|towards?)|"
                  r"looks? (?:at|towards?|"
                  r"over at|out of|through)|glances? at|stares? at|gazes? at)\s+(?:the |a |an "
                  r"|his |her )?(?P<np>[a-z0-9][\w.'-]*(?: [a-z0-9][\w.'-]*){0,3}?)(?=$|[,;]| "
                  r"(?:and|while|for|then|again)\b)")
LIE = re.compile(r"\b(?:lies?|lying|lay) (?:down|on|in)\b")
CLAUSE_SPLIT = re.compile(r",?\s+\b(?:and so|so that|so|but|because|as soon as|until|once)\b"
                           r"\s+|^(?:when|as soon as|once|after|before)\b[^,]*,\s*", re.I)
PLACE_PRONOUNS = {"it", "there", "that", "them", "one"}
PART_WORDS = {"middle", "centre", "center", "corner", "edge", "end", "side", "front", "back",
               "top", "foot", "head"}
CLAUSE_WORDS = {"and", "then", "while", "whilst", "but", "so", "before", "after", "to"}
NEGATION = re.compile(r"\b(?:does not|doesn't|do not|don't|did not|didn't|never|won't|will not|"
                       r"cannot|can't|refuses to|fails to|is not|isn't)\b", re.I)
NP_STOP = set("""himself herself themselves itself again too now then quickly slowly fast
once twice alone together first last instead anyway already in on at of by near with from
behind beside under over""".split())
SEATS = ("chair", "sofa", "couch", "bench", "stool", "seat", "armchair", "settee", "bed")


def split_sentences(story: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(story) if s and s.strip(" .!?;")]


def seconds_in(text: str) -> float | None:
    m = DURATION.search(text)
    if not m:
        return None
    if m.group("vague"):
        return VAGUE[m.group("vague").lower()]
    n = m.group("n").lower()
    value = float(NUM[n]) if n in NUM else float(n)
    if m.group("u").lower().startswith("m"):
        value *= 60.0
    return max(0.5, min(value, MAX_SECONDS))


def speed_in(text: str) -> float:
    return 0.7 if SLOW.search(text) else 1.35 if FAST.search(text) else 1.0


def style_in(text: str) -> str | None:
    from ...text.known import STYLE_WORD
    words = re.findall(r"[a-z]+", text.lower())
    styles = [STYLE_WORD[w] for w in words if w in STYLE_WORD and STYLE_WORD[w] != "normal"]
    return styles[0] if styles else None


def place_phrase(text: str) -> tuple[str, str] | None:
    """(preposition, noun phrase) of the first place-like phrase in an action's words."""
    for m in PLACE.finditer(text.lower()):
        np_words = m.group("np").split()
        while np_words and np_words[0] in {"the", "a", "an", "his", "her", "their", "its",
                                           "that", "this"}:
            np_words = np_words[1:]
        cut = next((k for k, w in enumerate(np_words) if w in NP_STOP), len(np_words))
        np_words = np_words[:cut]
        of = re.match(r"\s+of\s+(?:the |a |an |his |her |their )?([a-z0-9][\w.'-]*(?: [a-z0-9]"
                      r"[\w.'-]*){0,3})", text.lower()[m.end("np"):])
        end = m.end("np")
        if np_words and np_words[-1] in PART_WORDS and of:     # "the middle of the rug"
            np_words = of.group(1).split()
            np_words = np_words[:next((k for k, w in enumerate(np_words) if w in NP_STOP
                                       or w in CLAUSE_WORDS), len(np_words))]
            end += of.end()
        if np_words and np_words[-1] not in NOT_PLACES and not np_words[0].isdigit():
            rest = text.lower()[end:].split(",")[0].split()
            rest = rest[:next((k for k, w in enumerate(rest) if w in CLAUSE_WORDS), len(rest))]
            longer = " ".join(np_words + rest[:5])
            return m.group("prep").split()[-1], " ".join(np_words), longer
    return None


def predicate(text: str, sentence_subject: str) -> str:
    """The action's words without its subject (``text`` starts with the parser's subject)."""
    if sentence_subject and text.lower().startswith(sentence_subject.lower()):
        return text[len(sentence_subject):].strip(" ,")
    return text


def strip_place(text: str, phrase: tuple[str, str] | None) -> str:
    if phrase is None:
        return text
    cut = re.sub(r"\s*\b(?:back |over |straight |right |up |across )*" + re.escape(phrase[0])
                 + r"\s+(?:the |a |an |his |her |their |its )?" + re.escape(phrase[1]) + r"\b",
                 "", text, count=1, flags=re.I)
    return " ".join(cut.split())


def subject_of(text: str) -> str:
    """The words before the first verb the compound parser knows ("a tired man")."""
    from ...text.compound import _first_verb, _tokens
    tokens = _tokens(text)
    first = _first_verb(tokens)
    return " ".join(tokens[:first[0]]) if first else ""
