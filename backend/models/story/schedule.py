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

from .schema import MAX_SEGMENTS, Scene, Schedule, SchemaError, Segment
from .words import (CLAUSE_SPLIT, FACE, FACE_PREPS, IDLE, LEAD, LIE, NEGATION, PAUSE_LEAD,
                    PLACE_PRONOUNS, PRONOUN_START, REWRITE, RUN_VERBS, SEATS, STAND_UP,
                    TURN_AROUND, TURN_SIDE, place_phrase, predicate, seconds_in, speed_in,
                    split_sentences, strip_place, style_in, subject_of)

MAX_STORY_CHARS = 20_000
DEFAULT_SUBJECT = "a person"
class ScheduleError(ValueError):
    """A story that cannot be scheduled at all (empty, too long, no action anywhere)."""










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
    if phrase.strip().lower() in PLACE_PRONOUNS:
        return state.mentioned
    name, warnings = resolve_place(phrase, state.scene, near=state.xy)
    state.warnings += warnings
    if name:
        state.mentioned = name
    return name




def _resolve_np(phrase: tuple, state: _State) -> str | None:
    """The object of a place phrase: its longer reading ("the chair at its head",
    "the desk in the bedroom") when that names one object without doubt, else the plain
    noun phrase's."""
    from .places import resolve_place
    if len(phrase) > 2 and phrase[2] != phrase[1] and \
            phrase[1].strip().lower() not in PLACE_PRONOUNS:
        name, warnings = resolve_place(phrase[2], state.scene, near=state.xy)
        if name and not warnings:
            state.mentioned = name
            return name
    return _resolve(phrase[1], state)








def _seat_near(state: _State) -> str | None:
    """The nearest seat-like object (by name) within 6 m, for "sits down" with no place."""
    import math
    best, best_d = None, 6.0
    for o in state.scene.objects:
        if any(s in o.name.lower() for s in SEATS):
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
        seconds, speed = seconds_in(lower), speed_in(lower)
        style = style_in(lower) or st.style
        phrase = place_phrase(lower)
        face = FACE.search(lower)
        if LIE.search(lower):
            place = _resolve_np(phrase, st) if phrase else None
            if place is None and not phrase and st.here and any(
                    w in st.here.lower() for w in SEATS):
                place = st.here               # "walks to the couch and lies down": on it
            if place and place != st.here:
                self.move(f"goes to the {place}", place, style=style)
            self.seg(text, "pose", "lie", place=place, seconds=seconds or 3.0, style=style)
            st.posture = "lie"
        elif verb == "sit" and not re.search(r"\bsits? up\b", lower):
            place = _resolve_np(phrase, st) if phrase else None
            if place is None and not phrase:
                here = st.here if st.here and any(s in st.here.lower() for s in SEATS) else None
                place = here or _seat_near(st)
                if place is None:
                    st.warnings.append(f"sentence {self.sentence + 1}: '{text}' names no seat "
                                       f"and none is near; the character sits where it stands")
            if place and (place != st.here or st.posture != "stand"):
                self.move(f"goes to the {place}", place, style=style)
            self.seg(text, "pose", "sit", place=place, seconds=seconds, style=style,
                     overlay=overlay)
            st.posture = "sit"
        elif STAND_UP.search(lower) and not re.search(r"\bjumps? up\b", lower):
            if st.posture != "stand":
                self.seg(text, "pose", "stand", seconds=seconds, style=style)
                st.posture = "stand"
        elif IDLE.search(lower) or (verb == "stand" and not face):
            if phrase and phrase[0] not in FACE_PREPS:
                place = _resolve_np(phrase, st)
                if place:
                    self.move(f"goes to the {phrase[1]}", place, style=style)
            pose = "sit" if st.posture == "sit" else "idle"
            self.seg(text, "pose", pose, seconds=seconds or 2.0, style=style,
                     place=st.here if pose == "sit" else None)
        elif face or TURN_AROUND.search(lower) or TURN_SIDE.search(lower):
            if face:
                target = _resolve(face.group("np"), st)
                if target is None:
                    return
                obj = st.scene.get(target)
                st.yaw = yaw_of(obj.position[0] - st.xy[0], obj.position[1] - st.xy[1]) \
                    if obj and obj.position[:2] != tuple(st.xy) else st.yaw
                facing = target
            else:
                side = TURN_SIDE.search(lower)
                st.yaw = wrap_degrees(st.yaw + (180.0 if not side else
                                                90.0 if side.group("side") == "left" else -90.0))
                facing = round(st.yaw, 1)
            self.seg(text, "pose", "sit" if st.posture == "sit" else "turn", facing=facing,
                     seconds=seconds or 0.6, style=style,
                     place=st.here if st.posture == "sit" else None)
        elif kind == LOCOMOTION and phrase and phrase[0] != "behind":
            place = _resolve_np(phrase, st)
            run = verb in RUN_VERBS or bool(re.search(r"\bruns?\b|\brunning\b", lower))
            if place:
                self.move(text, place, run=run, speed=speed, seconds=seconds, overlay=overlay,
                          style=style)
            else:
                self.act(strip_place(text, phrase) + " forward", seconds, style, overlay)
        else:
            place, facing = None, None
            if phrase and not face:
                target = _resolve_np(phrase, st)
                if target and phrase[0] in FACE_PREPS:
                    facing = target
                elif target:
                    place = target
            if place:
                self.move(f"goes to the {phrase[1]}", place, style=style)
            if st.posture != "stand" and kind == "gesture":
                self.seg(text, "pose", st.posture, place=st.here, seconds=seconds,
                         style=style, overlay=f"{st.subject} {strip_place(text, phrase)}")
                return
            if st.posture != "stand":
                self.seg("stands up", "pose", "stand")
                st.posture = "stand"
            self.act(strip_place(text, phrase), seconds, style, overlay, facing)

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
        for clause in CLAUSE_SPLIT.split(sentence.strip(" .!?;")):
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
        pause = PAUSE_LEAD.match(text)
        lead = LEAD.match(text)
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
    if NEGATION.search(text):            # "the guest does not come": nothing happens
        return out
    for pattern, replacement in REWRITE:
        text = pattern.sub(replacement, text)
    try:
        parsed = parse_prompt(text)
    except ValueError:
        return out
    subject = subject_of(text)              # the parser's: stripped from its actions
    who = subject.split(",")[-1].strip()
    if PRONOUN_START.match(who) or len(who.split()) > 5:
        who = ""                          # "he", "he remembers the train": no new subject
    if who:
        if state.subject == DEFAULT_SUBJECT:
            state.subject = who
        state.style = state.style or style_in(who)
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
            overlay = " and ".join(f"{state.subject} {predicate(a.text, subject)}"
                                   for a in stage.overlays)
            reader.read(predicate(driver.text, subject), driver.verb, driver.kind, overlay)
        else:
            for a in stage.actions:
                reader.read(predicate(a.text, subject), a.verb, a.kind, None)
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
