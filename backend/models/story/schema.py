"""Story-to-motion data: the scene (the map) and the schedule (timed, placed segments).
Standard library only: the add-on, the offline scheduler, the LLM scheduler and the composer
all speak these dicts. Every ``from_dict`` checks what a hostile or broken source could send
and raises ``SchemaError`` (a ValueError) with a message for the user.

Axes and angles (Blender's): metres, Z up. A yaw is the angle (degrees, counter-clockwise
seen from above) of a *front* direction from -Y: yaw 0 faces -Y (the character's and
Blender's "front"), 90 faces +X, 180 faces +Y, -90 faces -X. An object's front is its local
-Y axis, so its yaw is its rotation about Z (``rotation_euler.z`` in degrees).

Scene (``Scene.to_dict()``)::

    {"objects": [{"name": "Chair", "position": [x, y, z], "yaw": 0.0,
                  "size": [sx, sy, sz],          # full extents along its local X, Y and Z
                  "obstacle": true}, ...],        # default: true when it stands on the floor
     "character": {"position": [x, y], "yaw": 0.0}}

``position`` is the centre of the object's footprint on the floor (z: its lowest point).

Schedule (``Schedule.to_dict()``)::

    {"story": "...", "segments": [Segment.to_dict(), ...], "warnings": ["..."],
     "scheduler": "offline" | "llm"}

A segment is one thing the character does (see ``Segment``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

MAX_OBJECTS = 500
MAX_SEGMENTS = 200
MAX_NAME = 63                     # Blender's object-name limit
MAX_TEXT = 300
MAX_COORD = 1.0e4                 # metres: scenes beyond 10 km are a mistake
MAX_SECONDS = 60.0
KINDS = ("move", "act", "pose")   # travel to a place / an action in place / a held pose
GAITS = ("walk", "run")
POSES = ("sit", "stand", "idle", "turn", "lie")
SOURCES = ("generator", "library")   # where an act's motion comes from
SPEED_RANGE = (0.3, 2.5)          # share of the gait's natural speed


class SchemaError(ValueError):
    """Bad scene or schedule data; the message says which field and why."""


def _number(value, what: str, lo: float = -MAX_COORD, hi: float = MAX_COORD) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SchemaError(f"{what} must be a number, got {value!r:.60}")
    value = float(value)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise SchemaError(f"{what} must be between {lo:g} and {hi:g}, got {value!r}")
    return value


def _vector(value, n: int, what: str, lo: float = -MAX_COORD) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise SchemaError(f"{what} must be a list of {n} numbers, got {value!r:.60}")
    return tuple(_number(v, f"{what}[{i}]", lo) for i, v in enumerate(value))


def _text(value, what: str, limit: int = MAX_TEXT, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise SchemaError(f"{what} must be text, got {value!r:.60}")
    value = " ".join(value.split())
    if not value and not empty:
        raise SchemaError(f"{what} is empty")
    if len(value) > limit:
        raise SchemaError(f"{what} is {len(value)} characters; at most {limit}")
    return value


def _dict(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise SchemaError(f"{what} must be an object, got {type(value).__name__}")
    return value


def wrap_degrees(angle: float) -> float:
    """angle in (-180, 180]."""
    a = math.fmod(float(angle) + 180.0, 360.0)
    a = a + 360.0 if a <= 0 else a
    return a - 180.0


def yaw_of(dx: float, dy: float) -> float:
    """Yaw (degrees) of the floor direction (dx, dy): 0 for -Y, 90 for +X."""
    return wrap_degrees(math.degrees(math.atan2(dx, -dy)))


def front_of(yaw: float) -> tuple[float, float]:
    """Unit floor direction (x, y) of a yaw in degrees (inverse of ``yaw_of``)."""
    r = math.radians(yaw)
    return math.sin(r), -math.cos(r)


# ----------------------------------------------------------------------------- scene
@dataclass(frozen=True)
class SceneObject:
    name: str
    position: tuple[float, float, float]
    yaw: float = 0.0
    size: tuple[float, float, float] = (0.0, 0.0, 0.0)
    obstacle: bool = True

    @property
    def front(self) -> tuple[float, float]:
        return front_of(self.yaw)

    @classmethod
    def from_dict(cls, d, where: str = "object") -> "SceneObject":
        d = _dict(d, where)
        name = _text(d.get("name"), f"{where} name", MAX_NAME)
        where = f"object {name!r}"
        position = _vector(d.get("position"), 3, f"{where} position")
        yaw = wrap_degrees(_number(d.get("yaw", 0.0), f"{where} yaw", -1e6, 1e6))
        size = _vector(d.get("size", (0.0, 0.0, 0.0)), 3, f"{where} size", lo=0.0)
        obstacle = d.get("obstacle")
        if obstacle is None:
            obstacle = size[0] > 0 and size[1] > 0 and size[2] > 0.05 and position[2] < 0.1
        elif not isinstance(obstacle, bool):
            raise SchemaError(f"{where} obstacle must be true or false, got {obstacle!r:.40}")
        return cls(name, position, yaw, size, bool(obstacle))

    def to_dict(self) -> dict:
        return {"name": self.name, "position": list(self.position), "yaw": self.yaw,
                "size": list(self.size), "obstacle": self.obstacle}


@dataclass(frozen=True)
class Scene:
    objects: tuple[SceneObject, ...] = ()
    start: tuple[float, float] = (0.0, 0.0)      # the character's floor position
    start_yaw: float = 0.0                        # and facing (degrees)

    @classmethod
    def from_dict(cls, d) -> "Scene":
        d = _dict(d if d is not None else {}, "scene")
        objects = d.get("objects", [])
        if not isinstance(objects, list):
            raise SchemaError("scene objects must be a list")
        if len(objects) > MAX_OBJECTS:
            raise SchemaError(f"the scene has {len(objects)} objects; at most {MAX_OBJECTS}")
        parsed = tuple(SceneObject.from_dict(o, f"scene object {i}")
                       for i, o in enumerate(objects))
        names = [o.name for o in parsed]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SchemaError(f"scene object names must be unique: {', '.join(dupes)}")
        ch = _dict(d.get("character", {}), "scene character")
        position = ch.get("position", (0.0, 0.0))
        if isinstance(position, (list, tuple)) and len(position) == 3:
            position = position[:2]                     # [x, y, z]: the floor position
        start = _vector(position, 2, "character position")
        yaw = wrap_degrees(_number(ch.get("yaw", 0.0), "character yaw", -1e6, 1e6))
        return cls(parsed, start, yaw)

    def to_dict(self) -> dict:
        return {"objects": [o.to_dict() for o in self.objects],
                "character": {"position": list(self.start), "yaw": self.start_yaw}}

    def get(self, name: str) -> SceneObject | None:
        return next((o for o in self.objects if o.name == name), None)


# ----------------------------------------------------------------------------- schedule
@dataclass
class Segment:
    """One thing the character does.

    text:     the words of the story it comes from ("walks to the chair"): the strip's name
    kind:     "move" (travel to ``place``), "act" (an action where it stands), "pose" (a held
              pose made without the generator: sit, stand, idle, turn, lie)
    action:   what the generator is given for "act" ("a person waves"), the gait text for
              "move" ("a tired person walks"), the pose name for "pose" ("sit")
    style:    style label carried through the story ("exhausted") or None
    place:    the scene object it goes to / acts at (exact name) or None
    facing:   what it faces at the end: a scene object name, a yaw in degrees, or None (keep)
    seconds:  how long; None: the model's choice (act), path length / speed (move), a default
    speed:    share of the gait's natural speed (move)
    gait:     "walk" or "run" (move)
    sentence: index of the story sentence it came from
    overlay:  an upper-body action done at the same time ("waves" while walking), or None
    source:   "generator" (new motion) or "library" (the captured clip whose caption is
              nearest the action, from the shipped and imported libraries) for "act"
    """
    text: str
    kind: str
    action: str
    style: str | None = None
    place: str | None = None
    facing: str | float | None = None
    seconds: float | None = None
    speed: float = 1.0
    gait: str = "walk"
    sentence: int = 0
    overlay: str | None = None
    source: str = "generator"

    @classmethod
    def from_dict(cls, d, where: str = "segment") -> "Segment":
        d = _dict(d, where)
        kind = d.get("kind")
        if kind not in KINDS:
            raise SchemaError(f"{where} kind must be one of {', '.join(KINDS)}, got {kind!r:.40}")
        text = _text(d.get("text"), f"{where} text")
        action = _text(d.get("action") or text, f"{where} action")
        if kind == "pose" and action not in POSES:
            raise SchemaError(f"{where}: a pose must be one of {', '.join(POSES)}, got "
                              f"{action!r:.40}")
        style = d.get("style")
        style = None if style in (None, "", "normal") else _text(style, f"{where} style", 40)
        place = d.get("place")
        place = None if place in (None, "") else _text(place, f"{where} place", MAX_NAME)
        if kind == "move" and place is None:
            raise SchemaError(f"{where} ({text!r}) moves but names no place to go to")
        facing = d.get("facing")
        if isinstance(facing, str):
            facing = _text(facing, f"{where} facing", MAX_NAME) if facing else None
        elif facing is not None:
            facing = wrap_degrees(_number(facing, f"{where} facing", -1e6, 1e6))
        seconds = d.get("seconds")
        if seconds is not None:
            seconds = _number(seconds, f"{where} seconds", 0.1, MAX_SECONDS)
        speed = _number(d.get("speed", 1.0), f"{where} speed", *SPEED_RANGE)
        gait = d.get("gait", "walk")
        if gait not in GAITS:
            raise SchemaError(f"{where} gait must be one of {', '.join(GAITS)}, got {gait!r:.40}")
        sentence = d.get("sentence", 0)
        if isinstance(sentence, bool) or not isinstance(sentence, int) or sentence < 0:
            raise SchemaError(f"{where} sentence must be a whole number >= 0")
        overlay = d.get("overlay")
        overlay = None if overlay in (None, "") else _text(overlay, f"{where} overlay")
        source = d.get("source", "generator") or "generator"
        if source not in SOURCES:
            raise SchemaError(f"{where} source must be one of {', '.join(SOURCES)}, got "
                              f"{source!r:.40}")
        return cls(text, kind, action, style, place, facing, seconds, speed, gait, sentence,
                   overlay, source)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Schedule:
    story: str
    segments: list[Segment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    scheduler: str = "offline"

    @classmethod
    def from_dict(cls, d, scene: Scene | None = None) -> "Schedule":
        """Checked schedule; with a scene, every place and facing object must exist in it."""
        d = _dict(d, "schedule")
        segments = d.get("segments")
        if not isinstance(segments, list) or not segments:
            raise SchemaError("the schedule has no segments")
        if len(segments) > MAX_SEGMENTS:
            raise SchemaError(f"the schedule has {len(segments)} segments; at most "
                              f"{MAX_SEGMENTS}")
        parsed = [Segment.from_dict(s, f"segment {i + 1}") for i, s in enumerate(segments)]
        if scene is not None:
            check_places(parsed, scene)
        warnings = d.get("warnings", [])
        if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
            raise SchemaError("schedule warnings must be a list of text")
        story = d.get("story", "")
        story = story if isinstance(story, str) else ""
        scheduler = d.get("scheduler", "offline")
        return cls(story, parsed, list(warnings), scheduler if isinstance(scheduler, str)
                   else "offline")

    def to_dict(self) -> dict:
        return {"story": self.story, "segments": [s.to_dict() for s in self.segments],
                "warnings": list(self.warnings), "scheduler": self.scheduler}


def check_places(segments: list[Segment], scene: Scene) -> None:
    """SchemaError naming the first segment whose place or facing object is not in scene."""
    names = {o.name for o in scene.objects}
    for i, s in enumerate(segments):
        for what, value in (("place", s.place), ("facing", s.facing)):
            if isinstance(value, str) and value not in names:
                known = ", ".join(sorted(names)[:12]) or "none"
                raise SchemaError(f"segment {i + 1} ({s.text!r}): {what} {value!r} is not an "
                                  f"object of the scene (objects: {known})")
