"""The offline story scheduler: a story -> ordered, placed segments (``schema.Schedule``).

    schedule = offline_schedule("A tired man walks to the chair and sits down. Then he goes
                                 back to the door and waves.", scene)

Grammar and lexicons only (no model download; the prompt checker's text encoder is used only
to flag actions the generator does not know, when ``check=True``):

1. Sentences (``. ! ? ;`` and line breaks); leading order words ("then", "after that",
   "finally" ...) are dropped, and "after a while" / "a moment later" become a short wait.
2. Each sentence is split into actions with the compound-prompt parser
   (``backend.text.compound.parse_prompt``), after story verbs it does not know are worded
   the way it does ("heads to" -> "walks to", "returns to" -> "walks back to").
3. Each action becomes segments by its verb and its place phrase:
   * travel verbs with a place ("walks to the chair", "runs over to the door") -> ``move``;
   * "sits (down) (on the X)" -> ``move`` to the seat (when not there yet) + ``pose`` sit;
     "stands up" / "gets up" -> ``pose`` stand; "waits", "pauses", "stands still" -> ``pose``
     idle; "turns to / faces / looks at X", "turns around" -> ``pose`` turn; "lies down" ->
     ``pose`` lie;
   * any other action -> ``act`` (the generator), where the character stands; a place with
     "on / in / by / near / next to / in front of" is walked to first, one with "at / to /
     towards" is faced ("waves at the door");
   * a travel verb together with a gesture said with "while" ("walks to the door while
     waving") -> one ``move`` with an upper-body ``overlay``; "walks to the door and waves"
     -> a ``move`` and then an ``act``.
4. The story's subject ("a tired man") carries its style to every segment; pronouns take it.

Places are resolved against the scene by ``places.resolve_place``; a place no object matches
gets a warning and the segment is dropped (a move) or done where the character stands.
"""
from __future__ import annotations

import re

from .schema import MAX_SECONDS, MAX_SEGMENTS, Scene, Schedule, SchemaError, Segment

MAX_STORY_CHARS = 20_000
DEFAULT_SUBJECT = "a person"
_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8, "nine": 9, "ten": 10, "a few": 3, "several": 4, "a couple of": 2}
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+|(?<=[.!?;])$")
_LEAD = re.compile(r"^(?:and\s+)?(?:then|and then|after that|afterwards?|finally|next|later|"
                   r"lastly|eventually|at last|first|now|soon|suddenly|meanwhile)\b,?\s*", re.I)
_PAUSE_LEAD = re.compile(r"^(?:after (?:a while|a moment|some time|a bit)|a (?:moment|while|"
                         r"little) later|moments later)\b,?\s*", re.I)
_REWRITE = [(re.compile(p, re.I), r) for p, r in (
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
_PLACE = re.compile(
    r"\b(?P<prep>(?:back |over |straight |right |up |across |out )*(?:to|towards?|into|onto|on"
    r"|in front of|in|at|by|near|beside|next to|behind|for|through|out of|up to|up|down"
    r"|along|across|past|round|around))\s+(?P<np>(?:the |a |an |his |her "
    r"|their |its |that |this )?[a-z0-9][\w.'-]*(?: [a-z0-9][\w.'-]*){0,3}?)"
    r"(?=$|[,;]| (?:and|while|whilst|as|for|then|with|slowly|quickly|again|before|after|in|on|"
    r"at|of|by|near|from|behind|beside|under|over|"
    r"carefully|happily|sadly|angrily|calmly|briskly|tiredly|wearily|once|twice)\b)")
_NOT_PLACES = set("""left right forward forwards front back backward backwards side sides
air way music beat rhythm him her himself herself themselves everyone
audience crowd others somebody someone middle centre center corner distance place spot start
circle circles while moment bit second seconds minute minutes time place rest sky ceiling
himself air""".split())
_FACE_PREPS = {"at", "to", "toward", "towards"}
_GO_PREPS = {"to", "toward", "towards", "into", "onto", "for", "through", "of", "up", "down",
             "along", "across", "past", "round", "around"}
_RUN_VERBS = {"run", "sprint", "jog", "dash", "gallop", "trot"}
_SLOW = re.compile(r"\b(slowly|leisurely|carefully|lazily|gently|cautiously|wearily|tiredly)\b")
_FAST = re.compile(r"\b(quickly|briskly|fast|hurriedly|hastily|rapidly|swiftly)\b")
_DURATION = re.compile(r"\bfor (?P<n>\d+(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine"
                       r"|ten|a few|several|a couple of) (?P<u>seconds?|secs?|s|minutes?|mins?)"
                       r"\b|\bfor (?P<vague>a while|a moment|a bit|some time|a second)\b", re.I)
_VAGUE = {"a while": 3.0, "a moment": 1.5, "a bit": 2.0, "some time": 4.0, "a second": 1.0}
_PRONOUN_START = re.compile(r"^(?:he|she|they|it|the person|the man|the woman|the character)\b",
                            re.I)
_STAND_UP = re.compile(r"\b(?:stands?|standing|stood|gets?|getting|got|rises?|rising|rose|"
                       r"jumps?) up\b|\brises\b|\bgets out of\b")
_IDLE = re.compile(r"\b(?:waits?|waiting|pauses?|rests?|stays?|remains?|stands? still|stops?|"
                   r"halts?|freezes?|"
                   r"stands? there|stands? quietly|idles?|catches (?:his|her|their) breath|"
                   r"looks around)\b")
_TURN_AROUND = re.compile(r"\bturns? (?:around|round|back)\b")
_TURN_SIDE = re.compile(r"\bturns? (?:to (?:the|his|her|their) )?(?P<side>left|right)\b")
_FACE = re.compile(r"\b(?:faces?|facing|turns? (?:back |around |round )?(?:to face|to|towards?)|looks? (?:at|towards?|"
                   r"over at|out of|through)|glances? at|stares? at|gazes? at)\s+(?:the |a |an "
                   r"|his |her )?(?P<np>[a-z0-9][\w.'-]*(?: [a-z0-9][\w.'-]*){0,3}?)(?=$|[,;]| "
                   r"(?:and|while|for|then|again)\b)")
_LIE = re.compile(r"\b(?:lies?|lying|lay) (?:down|on|in)\b")
_CLAUSE_SPLIT = re.compile(r",?\s+\b(?:and so|so that|so|but|because|as soon as|until|once)\b"
                           r"\s+|^(?:when|as soon as|once|after|before)\b[^,]*,\s*", re.I)
_PLACE_PRONOUNS = {"it", "there", "that", "them", "one"}
_PART_WORDS = {"middle", "centre", "center", "corner", "edge", "end", "side", "front", "back",
               "top", "foot", "head"}
_CLAUSE_WORDS = {"and", "then", "while", "whilst", "but", "so", "before", "after", "to"}
_NEGATION = re.compile(r"\b(?:does not|doesn't|do not|don't|did not|didn't|never|won't|will not|"
                       r"cannot|can't|refuses to|fails to|is not|isn't)\b", re.I)
_NP_STOP = set("""himself herself themselves itself again too now then quickly slowly fast
once twice alone together first last instead anyway already in on at of by near with from
behind beside under over""".split())
_SEATS = ("chair", "sofa", "couch", "bench", "stool", "seat", "armchair", "settee", "bed")


class ScheduleError(ValueError):
    """A story that cannot be scheduled at all (empty, too long, no action anywhere)."""


def split_sentences(story: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(story) if s and s.strip(" .!?;")]


def _seconds(text: str) -> float | None:
    m = _DURATION.search(text)
    if not m:
        return None
    if m.group("vague"):
        return _VAGUE[m.group("vague").lower()]
    n = m.group("n").lower()
    value = float(_NUM[n]) if n in _NUM else float(n)
    if m.group("u").lower().startswith("m"):
        value *= 60.0
    return max(0.5, min(value, MAX_SECONDS))


def _speed(text: str) -> float:
    return 0.7 if _SLOW.search(text) else 1.35 if _FAST.search(text) else 1.0


def _style_of(text: str) -> str | None:
    from ...text.known import STYLE_WORD
    words = re.findall(r"[a-z]+", text.lower())
    styles = [STYLE_WORD[w] for w in words if w in STYLE_WORD and STYLE_WORD[w] != "normal"]
    return styles[0] if styles else None


class _State:
    """What the scheduler knows while it reads: where the character is (a place name and a
    floor position), whether it sits, and the story's subject and style."""

    def __init__(self, scene: Scene):
        self.scene = scene
        self.here: str | None = None
        self.xy = tuple(scene.start)
        self.yaw = scene.start_yaw
        self.posture = "stand"
        self.subject = DEFAULT_SUBJECT
        self.style: str | None = None
        self.mentioned: str | None = None          # the place named last ("walks to it")
        self.warnings: list[str] = []

    def go(self, name: str | None) -> None:
        self.here = name
        obj = self.scene.get(name) if name else None
        if obj is not None:
            self.xy = obj.position[:2]


def _resolve(phrase: str, state: _State) -> str | None:
    """The scene object a place phrase means ("it", "there": the one named last)."""
    from .places import resolve_place
    if phrase.strip().lower() in _PLACE_PRONOUNS:
        return state.mentioned
    name, warnings = resolve_place(phrase, state.scene, near=state.xy)
    state.warnings += warnings
    if name:
        state.mentioned = name
    return name


def _place_phrase(text: str) -> tuple[str, str] | None:
    """(preposition, noun phrase) of the first place-like phrase in an action's words."""
    for m in _PLACE.finditer(text.lower()):
        np_words = m.group("np").split()
        while np_words and np_words[0] in {"the", "a", "an", "his", "her", "their", "its",
                                           "that", "this"}:
            np_words = np_words[1:]
        cut = next((k for k, w in enumerate(np_words) if w in _NP_STOP), len(np_words))
        np_words = np_words[:cut]
        of = re.match(r"\s+of\s+(?:the |a |an |his |her |their )?([a-z0-9][\w.'-]*(?: [a-z0-9]"
                      r"[\w.'-]*){0,3})", text.lower()[m.end("np"):])
        end = m.end("np")
        if np_words and np_words[-1] in _PART_WORDS and of:     # "the middle of the rug"
            np_words = of.group(1).split()
            np_words = np_words[:next((k for k, w in enumerate(np_words) if w in _NP_STOP
                                       or w in _CLAUSE_WORDS), len(np_words))]
            end += of.end()
        if np_words and np_words[-1] not in _NOT_PLACES and not np_words[0].isdigit():
            rest = text.lower()[end:].split(",")[0].split()
            rest = rest[:next((k for k, w in enumerate(rest) if w in _CLAUSE_WORDS), len(rest))]
            longer = " ".join(np_words + rest[:5])
            return m.group("prep").split()[-1], " ".join(np_words), longer
    return None


def _resolve_np(phrase: tuple, state: _State) -> str | None:
    """The object of a place phrase: its longer reading ("the chair at its head",
    "the desk in the bedroom") when that names one object without doubt, else the plain
    noun phrase's."""
    from .places import resolve_place
    if len(phrase) > 2 and phrase[2] != phrase[1] and \
            phrase[1].strip().lower() not in _PLACE_PRONOUNS:
        name, warnings = resolve_place(phrase[2], state.scene, near=state.xy)
        if name and not warnings:
            state.mentioned = name
            return name
    return _resolve(phrase[1], state)


def _predicate(text: str, sentence_subject: str) -> str:
    """The action's words without its subject (``text`` starts with the parser's subject)."""
    if sentence_subject and text.lower().startswith(sentence_subject.lower()):
        return text[len(sentence_subject):].strip(" ,")
    return text


def _strip_place(text: str, phrase: tuple[str, str] | None) -> str:
    if phrase is None:
        return text
    cut = re.sub(r"\s*\b(?:back |over |straight |right |up |across )*" + re.escape(phrase[0])
                 + r"\s+(?:the |a |an |his |her |their |its )?" + re.escape(phrase[1]) + r"\b",
                 "", text, count=1, flags=re.I)
    return " ".join(cut.split())


def _subject(text: str) -> str:
    """The words before the first verb the compound parser knows ("a tired man")."""
    from ...text.compound import _first_verb, _tokens
    tokens = _tokens(text)
    first = _first_verb(tokens)
    return " ".join(tokens[:first[0]]) if first else ""


def _seat_near(state: _State) -> str | None:
    """The nearest seat-like object (by name) within 6 m, for "sits down" with no place."""
    import math
    best, best_d = None, 6.0
    for o in state.scene.objects:
        if any(s in o.name.lower() for s in _SEATS):
            d = math.dist(o.position[:2], state.xy)
            if d < best_d:
                best, best_d = o.name, d
    return best


class _Reader:
    """Turns one action of a sentence into segments (see the module doc), updating state."""

    def __init__(self, state: _State, sentence: int, check_words: str):
        self.state, self.sentence, self.words_all = state, sentence, check_words
        self.out: list[Segment] = []

    def seg(self, text: str, kind: str, action: str, **kw) -> Segment:
        s = Segment(text=text, kind=kind, action=action, sentence=self.sentence,
                    style=kw.pop("style", self.state.style), **kw)
        self.out.append(s)
        return s

    def move(self, text: str, place: str, *, run: bool = False, speed: float = 1.0,
             seconds=None, overlay=None, style=None) -> None:
        import math
        st = self.state
        if place == st.here and st.posture == "stand":
            return
        if st.posture != "stand":
            self.seg("stands up", "pose", "stand")
            st.posture = "stand"
        gait_text = f"{st.subject} {'runs' if run else 'walks'} forward"
        self.seg(text, "move", gait_text, place=place, gait="run" if run else "walk",
                 speed=speed, seconds=seconds, overlay=overlay, style=style or st.style)
        prev = st.xy
        st.go(place)
        if math.dist(prev, st.xy) > 1e-6:
            from .schema import yaw_of
            st.yaw = yaw_of(st.xy[0] - prev[0], st.xy[1] - prev[1])

    def read(self, words: str, verb: str, kind: str, overlay: str | None) -> None:
        from ...text.compound import LOCOMOTION
        from .schema import wrap_degrees, yaw_of
        st = self.state
        lower = words.lower()
        text = words or verb
        seconds, speed = _seconds(lower), _speed(lower)
        style = _style_of(lower) or st.style
        phrase = _place_phrase(lower)
        face = _FACE.search(lower)
        if _LIE.search(lower):
            place = _resolve_np(phrase, st) if phrase else None
            if place:
                self.move(f"goes to the {phrase[1]}", place, style=style)
            self.seg(text, "pose", "lie", place=place, seconds=seconds or 3.0, style=style)
            st.posture = "lie"
        elif verb == "sit" and not re.search(r"\bsits? up\b", lower):
            place = _resolve_np(phrase, st) if phrase else None
            if place is None and not phrase:
                here = st.here if st.here and any(s in st.here.lower() for s in _SEATS) else None
                place = here or _seat_near(st)
                if place is None:
                    st.warnings.append(f"sentence {self.sentence + 1}: '{text}' names no seat "
                                       f"and none is near; the character sits where it stands")
            if place and (place != st.here or st.posture != "stand"):
                self.move(f"goes to the {place}", place, style=style)
            self.seg(text, "pose", "sit", place=place, seconds=seconds, style=style,
                     overlay=overlay)
            st.posture = "sit"
        elif _STAND_UP.search(lower) and not re.search(r"\bjumps? up\b", lower):
            if st.posture != "stand":
                self.seg(text, "pose", "stand", seconds=seconds, style=style)
                st.posture = "stand"
        elif _IDLE.search(lower) or (verb == "stand" and not face):
            if phrase and phrase[0] not in _FACE_PREPS:
                place = _resolve_np(phrase, st)
                if place:
                    self.move(f"goes to the {phrase[1]}", place, style=style)
            pose = "sit" if st.posture == "sit" else "idle"
            self.seg(text, "pose", pose, seconds=seconds or 2.0, style=style,
                     place=st.here if pose == "sit" else None)
        elif face or _TURN_AROUND.search(lower) or _TURN_SIDE.search(lower):
            if face:
                target = _resolve(face.group("np"), st)
                if target is None:
                    return
                obj = st.scene.get(target)
                st.yaw = yaw_of(obj.position[0] - st.xy[0], obj.position[1] - st.xy[1]) \
                    if obj and obj.position[:2] != tuple(st.xy) else st.yaw
                facing = target
            else:
                side = _TURN_SIDE.search(lower)
                st.yaw = wrap_degrees(st.yaw + (180.0 if not side else
                                                90.0 if side.group("side") == "left" else -90.0))
                facing = round(st.yaw, 1)
            self.seg(text, "pose", "sit" if st.posture == "sit" else "turn", facing=facing,
                     seconds=seconds or 0.6, style=style,
                     place=st.here if st.posture == "sit" else None)
        elif kind == LOCOMOTION and phrase and phrase[0] != "behind":
            place = _resolve_np(phrase, st)
            run = verb in _RUN_VERBS or bool(re.search(r"\bruns?\b|\brunning\b", lower))
            if place:
                self.move(text, place, run=run, speed=speed, seconds=seconds, overlay=overlay,
                          style=style)
            else:
                self.act(_strip_place(text, phrase) + " forward", seconds, style, overlay)
        else:
            place, facing = None, None
            if phrase and not face:
                target = _resolve_np(phrase, st)
                if target and phrase[0] in _FACE_PREPS:
                    facing = target
                elif target:
                    place = target
            if place:
                self.move(f"goes to the {phrase[1]}", place, style=style)
            if st.posture != "stand" and kind == "gesture":
                self.seg(text, "pose", st.posture, place=st.here, seconds=seconds,
                         style=style, overlay=f"{st.subject} {_strip_place(text, phrase)}")
                return
            if st.posture != "stand":
                self.seg("stands up", "pose", "stand")
                st.posture = "stand"
            self.act(_strip_place(text, phrase), seconds, style, overlay, facing)

    def act(self, words: str, seconds, style, overlay, facing=None) -> None:
        self.seg(words, "act", f"{self.state.subject} {words}", seconds=seconds,
                 style=style, overlay=overlay, facing=facing, place=self.state.here)


def offline_schedule(story: str, scene: Scene, check: bool = True,
                     model: str = "starter") -> Schedule:
    """The story's schedule (module doc). ScheduleError for an empty story, one over
    MAX_STORY_CHARS or MAX_SEGMENTS, or one without a single action; warnings for the rest.
    check: flag actions the generator does not know (loads the text encoder)."""
    if not isinstance(story, str) or not story.strip():
        raise ScheduleError("The story is empty: write what the character does, e.g. 'A man "
                            "walks to the chair and sits down. Then he waves.'")
    if len(story) > MAX_STORY_CHARS:
        raise ScheduleError(f"The story is {len(story):,} characters; at most "
                            f"{MAX_STORY_CHARS:,} (about {MAX_SEGMENTS} actions) can be "
                            f"scheduled at once: split it into parts and make them one after "
                            f"another")
    state = _State(scene)
    state.yaw = scene.start_yaw
    segments: list[Segment] = []
    for i, sentence in enumerate(split_sentences(story)):
        made: list[Segment] = []
        for clause in _CLAUSE_SPLIT.split(sentence.strip(" .!?;")):
            made += _read_clause(state, i, clause)
        if not made:
            state.warnings.append(f"sentence {i + 1}: no action found in '{sentence}'; it was "
                                  f"skipped")
        segments += made
        if len(segments) > MAX_SEGMENTS:
            raise ScheduleError(f"The story makes more than {MAX_SEGMENTS} segments; split it "
                                f"into parts")
    if not segments:
        raise ScheduleError("No action was found in the story: say what the character does "
                            "with verbs such as walks, sits, waves, jumps")
    warnings = list(dict.fromkeys(state.warnings))
    if check:
        warnings += _unknown_actions(segments, model)
    try:
        return Schedule.from_dict(Schedule(story, segments, warnings).to_dict(), scene)
    except SchemaError as e:                  # a bug here, not the user's: say what
        raise ScheduleError(f"the scheduler made an invalid schedule: {e}") from None


def _read_clause(state: _State, i: int, text: str) -> list[Segment]:
    """Segments of one clause of sentence i (order words, pauses, the parser's actions)."""
    from ...text.compound import FORMS, GESTURE, LOCOMOTION, parse_prompt
    out: list[Segment] = []
    text = text.strip(" ,")
    while True:
        pause = _PAUSE_LEAD.match(text)
        lead = _LEAD.match(text)
        if pause:
            out.append(Segment("waits a moment", "pose",
                               "sit" if state.posture == "sit" else "idle",
                               style=state.style, sentence=i, seconds=2.0,
                               place=state.here if state.posture == "sit" else None))
            text = text[pause.end():]
        elif lead and lead.end() > 0:
            text = text[lead.end():]
        else:
            break
    if _NEGATION.search(text):            # "the guest does not come": nothing happens
        return out
    for pattern, replacement in _REWRITE:
        text = pattern.sub(replacement, text)
    try:
        parsed = parse_prompt(text)
    except ValueError:
        return out
    subject = _subject(text)              # the parser's: stripped from its actions
    who = subject.split(",")[-1].strip()
    if _PRONOUN_START.match(who) or len(who.split()) > 5:
        who = ""                          # "he", "he remembers the train": no new subject
    if who:
        if state.subject == DEFAULT_SUBJECT:
            state.subject = who
        state.style = state.style or _style_of(who)
    reader = _Reader(state, i, text)
    lower = f" {text.lower()} "
    for stage in parsed.stages:
        driver = stage.driver
        if driver.kind == "":
            continue
        together = len(stage.actions) > 1 and driver.kind == LOCOMOTION and all(
            a.kind == GESTURE and (re.search(r"\b(while|whilst)\b", lower)
                                   or f" {FORMS[a.verb]['ing']} " in lower)
            for a in stage.overlays)
        if together:
            overlay = " and ".join(f"{state.subject} {_predicate(a.text, subject)}"
                                   for a in stage.overlays)
            reader.read(_predicate(driver.text, subject), driver.verb, driver.kind, overlay)
        else:
            for a in stage.actions:
                reader.read(_predicate(a.text, subject), a.verb, a.kind, None)
    return out + reader.out


def _unknown_actions(segments: list[Segment], model: str) -> list[str]:
    """Warnings for actions and overlays the generator was not trained on."""
    from ...text.known import check_prompt
    out = []
    for k, s in enumerate(segments):
        for text in ([s.action] if s.kind == "act" else []) + ([s.overlay] if s.overlay else []):
            report = check_prompt(text, model)
            if report.unknown:
                hint = f"; nearest known: {', '.join(report.nearest)}" if report.nearest else ""
                out.append(f"segment {k + 1} ('{s.text}'): the {model} model was not trained on "
                           f"{', '.join(report.unknown)}{hint}; it makes the nearest it knows")
    return out
