"""The story example set (assets/stories/NN_slug.json, see its README): every file is a valid
scene plus the segments a careful human scheduler would make, written only with what the shipped
generator knows (backend/text/catalogue.py) and placed in a scene the character can walk.

Geometry is checked on the scene dicts themselves: obstacle footprints are rotated rectangles
(position = centre of the footprint, size = full extents along the object's local X/Y, yaw in
degrees about Z); the walkable floor is a 5 cm grid with every obstacle grown by a character
radius, and a place counts as reachable when a walkable cell connected to the character's start
lies within reach of its footprint.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from backend.models.story.schema import KINDS, POSES, Scene, Segment, front_of
from backend.text.catalogue import ACTIONS, STYLES

STORIES = Path(__file__).resolve().parents[1] / "assets" / "stories"
FILES = sorted(STORIES.glob("[0-9][0-9]_*.json"))
LONG_STORY = "20_long_day.json"          # the speed benchmark's story: exactly 20 sentences
WARNINGS = ("unknown_place", "ambiguous_place", "unknown_action", "unreachable")
ENTRY_KEYS = {"sentence", "kind", "action", "place", "place_any", "facing", "style", "gait",
              "seconds"}
CELL = 0.05          # m, walkability grid
RADIUS = 0.35        # m, half the character's width plus a little: a 0.9 m passage stays open
REACH = 0.8          # m, how far from an object's footprint the character may stop to use it
SEAT_GAP = 0.4       # m, where a sitter stands before sitting (just beyond RADIUS)
MAX_ROOM = 12.6      # m, floor plan extent including wall thickness


def sentences(story: str) -> list[str]:
    """The simple way: split on . ! ? and drop empty pieces."""
    return [s.strip() for s in re.split(r"[.!?]", story) if s.strip()]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def ids(paths):
    return [p.stem for p in paths]


# ----------------------------------------------------------------------------- geometry
def local_xy(points: np.ndarray, obj) -> np.ndarray:
    """(..., 2) world floor points -> the object's local floor frame (undo position and yaw)."""
    yaw = math.radians(obj.yaw)
    c, s = math.cos(yaw), math.sin(yaw)
    d = points - np.array(obj.position[:2])
    return np.stack([c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1]], -1)


def distance_to_footprint(points: np.ndarray, obj) -> np.ndarray:
    """(...,) floor distance from each point to the object's rotated footprint (0 inside)."""
    local = np.abs(local_xy(points, obj))
    half = np.array(obj.size[:2]) / 2
    return np.linalg.norm(np.maximum(local - half, 0.0), axis=-1)


def inside_footprint(points: np.ndarray, obj, grow: float = 0.0) -> np.ndarray:
    local = np.abs(local_xy(points, obj))
    half = np.array(obj.size[:2]) / 2 + grow
    return np.all(local <= half, axis=-1)


def corners(obj) -> np.ndarray:
    """(4, 2) world corners of the object's footprint."""
    hx, hy = obj.size[0] / 2, obj.size[1] / 2
    yaw = math.radians(obj.yaw)
    c, s = math.cos(yaw), math.sin(yaw)
    local = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
    return local @ np.array([[c, s], [-s, c]]) + np.array(obj.position[:2])


class FloorMap:
    """Walkable 5 cm cells of a scene and the cells connected to the character's start."""

    def __init__(self, scene: Scene):
        pts = np.concatenate([corners(o) for o in scene.objects] + [np.array([scene.start])])
        lo, hi = pts.min(0) - 1.0, pts.max(0) + 1.0
        xs = np.arange(lo[0], hi[0], CELL) + CELL / 2
        ys = np.arange(lo[1], hi[1], CELL) + CELL / 2
        self.centres = np.stack(np.meshgrid(xs, ys, indexing="ij"), -1)      # (nx, ny, 2)
        blocked = np.zeros(self.centres.shape[:2], bool)
        for o in scene.objects:
            if o.obstacle:
                blocked |= inside_footprint(self.centres, o, RADIUS)
        labels, _ = ndimage.label(~blocked)
        start = self.cell_of(scene.start)
        self.start_free = not blocked[start]
        self.reachable = ((labels == labels[start]) & ~blocked if self.start_free
                          else np.zeros_like(blocked))

    def cell_of(self, xy) -> tuple[int, int]:
        d = np.linalg.norm(self.centres - np.array(xy[:2]), axis=-1)
        return np.unravel_index(np.argmin(d), d.shape)

    def can_reach(self, obj) -> bool:
        near = distance_to_footprint(self.centres, obj) <= REACH
        return bool(np.any(near & self.reachable))

    def can_stand_at(self, xy) -> bool:
        return bool(self.reachable[self.cell_of(xy)])


def seat_points(obj) -> np.ndarray:
    """(3, 2) where a sitter may stand before sitting: in front of the seat (its local -Y
    side) or beside it (a chair pulled in at a table is reached from the side)."""
    f = np.array(front_of(obj.yaw))
    side = np.array([-f[1], f[0]])
    centre = np.array(obj.position[:2])
    return np.stack([centre + f * (obj.size[1] / 2 + SEAT_GAP),
                     centre + side * (obj.size[0] / 2 + SEAT_GAP),
                     centre - side * (obj.size[0] / 2 + SEAT_GAP)])


# ----------------------------------------------------------------------------- the set
def test_the_set_is_large_and_numbered_without_gaps():
    assert len(FILES) >= 30, f"only {len(FILES)} example stories in {STORIES}"
    numbers = [int(p.name[:2]) for p in FILES]
    assert numbers == list(range(1, len(FILES) + 1)), numbers
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.json", p.name) for p in FILES)


def test_story_lengths_are_mixed_with_one_of_exactly_twenty_sentences():
    counts = {p.name: len(sentences(load(p)["story"])) for p in FILES}
    assert counts[LONG_STORY] == 20, counts[LONG_STORY]
    assert sum(n >= 12 for n in counts.values()) >= 3, counts
    assert sum(3 <= n <= 8 for n in counts.values()) > len(counts) / 2, counts
    assert len({n for n in counts.values() if 3 <= n <= 8}) >= 4, "lengths are not mixed"


def test_the_set_covers_the_catalogue_styles_poses_and_bad_input():
    entries = [e for p in FILES for e in load(p)["expect"]]
    acts = {e["action"] for e in entries if e["kind"] == "act"}
    styles = {e["style"] for e in entries if "style" in e}
    poses = {e["action"] for e in entries if e["kind"] == "pose"}
    assert len(acts) >= 15, sorted(acts)
    assert len(styles) >= 8, sorted(styles)
    assert poses == set(POSES), sorted(poses)
    assert any(e.get("gait") == "run" for e in entries)
    assert any("seconds" in e for e in entries)
    assert sum("facing" in e for e in entries) >= 5
    with_warnings = [p.name for p in FILES if load(p)["expect_warnings"]]
    assert 4 <= len(with_warnings) <= 6, with_warnings
    tags = {t for p in FILES for t in load(p)["expect_warnings"]}
    assert tags == set(WARNINGS), tags


# ----------------------------------------------------------------------------- each file
@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_file_format_and_scene_parse(path):
    ex = load(path)
    assert set(ex) <= {"title", "licence", "story", "scene", "expect", "expect_warnings",
                       "bad_input"}, sorted(ex)
    assert ex["licence"] == "CC0-1.0" and ex["title"].strip()
    scene = Scene.from_dict(ex["scene"])
    assert len(scene.objects) >= 3
    story = ex["story"]
    assert len(sentences(story)) >= 1
    # Blender-style names ("Chair.001") or decimals would break the simple sentence split:
    # the story names places in words.
    assert not re.search(r"\w\.\w", story), "a dot inside a word in the story"
    assert ex["expect"], "no expected segment"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_expected_segments_use_the_scene_and_the_catalogue(path):
    ex = load(path)
    scene = Scene.from_dict(ex["scene"])
    names = {o.name for o in scene.objects}
    n_sentences = len(sentences(ex["story"]))
    last = 0
    for i, e in enumerate(ex["expect"]):
        where = f"{path.name} expect[{i}]"
        assert set(e) <= ENTRY_KEYS, (where, sorted(set(e) - ENTRY_KEYS))
        assert e["kind"] in KINDS, where
        assert last <= e["sentence"] < n_sentences, (where, e["sentence"], n_sentences)
        last = e["sentence"]
        places = e.get("place_any", [e["place"]] if "place" in e else [])
        assert "place" not in e or "place_any" not in e, where
        if "place_any" in e:
            assert len(e["place_any"]) >= 2, where
        for value in places + ([e["facing"]] if "facing" in e else []):
            assert value in names, (where, value, sorted(names))
        if e["kind"] == "move":
            assert places and "action" not in e, where
        elif e["kind"] == "act":
            assert e["action"] in ACTIONS or e["action"] == "wave", (where, e["action"])
            assert "gait" not in e, where
        else:
            assert e["action"] in POSES and "gait" not in e and "style" not in e, where
        if "style" in e:
            assert e["style"] in STYLES and e["style"] != "normal", (where, e["style"])
        # the schema accepts it as a segment (text: the words, here only a stand-in)
        seg = {k: v for k, v in e.items() if k != "place_any"}
        Segment.from_dict({**seg, "text": "example", "place": places[0] if places else None,
                           "action": e.get("action", "walk")}, where)


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_every_sentence_gives_a_segment_or_a_warning(path):
    ex = load(path)
    covered = {e["sentence"] for e in ex["expect"]} | \
              {b["sentence"] for b in ex.get("bad_input", [])}
    missing = set(range(len(sentences(ex["story"])))) - covered
    assert not missing, f"sentences without any segment: {sorted(missing)}"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_bad_input_is_listed_and_really_bad(path):
    ex = load(path)
    scene = Scene.from_dict(ex["scene"])
    bad = ex.get("bad_input", [])
    assert sorted(b["warning"] for b in bad) == sorted(ex["expect_warnings"])
    assert all(t in WARNINGS for t in ex["expect_warnings"]), ex["expect_warnings"]
    story = ex["story"].lower()
    floor = FloorMap(scene) if bad else None
    for b in bad:
        assert set(b) == {"warning", "sentence", "text", "objects"}, b
        assert b["text"].lower() in story, b
        assert b["text"].lower() in sentences(story)[b["sentence"]], b
        words = set(re.findall(r"[a-z]+", b["text"].lower()))
        objects = [scene.get(n) for n in b["objects"]]
        assert None not in objects, b
        if b["warning"] == "unknown_place":
            tokens = {t for o in scene.objects for t in re.findall(r"[a-z]+", o.name.lower())}
            assert not b["objects"] and not (words & tokens), (b, words & tokens)
        elif b["warning"] == "unknown_action":
            assert not b["objects"]
            assert not (words & (set(ACTIONS) | set(POSES) | {"wave", "waves"})), b
        elif b["warning"] == "ambiguous_place":
            assert len(objects) >= 2 and len({n.split(".")[0] for n in b["objects"]}) == 1, b
        elif b["warning"] == "unreachable":
            assert len(objects) == 1 and not floor.can_reach(objects[0]), b
    ambiguous = [sorted(b["objects"]) for b in bad if b["warning"] == "ambiguous_place"]
    for e in ex["expect"]:
        if "place_any" in e:          # only an ambiguous place leaves the choice open
            assert sorted(e["place_any"]) in ambiguous, e


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_the_character_starts_on_free_floor_inside_a_small_room(path):
    scene = Scene.from_dict(load(path)["scene"])
    start = np.array(scene.start)
    for o in scene.objects:
        if o.obstacle:
            assert not inside_footprint(start, o, grow=0.2), f"starts inside {o.name}"
    pts = np.concatenate([corners(o) for o in scene.objects])
    extent = pts.max(0) - pts.min(0)
    assert np.all(extent <= MAX_ROOM), extent
    assert np.all(start >= pts.min(0)) and np.all(start <= pts.max(0))


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_every_expected_place_is_reachable(path):
    ex = load(path)
    scene = Scene.from_dict(ex["scene"])
    floor = FloorMap(scene)
    assert floor.start_free, "the start is closer than a body's width to an obstacle"
    for e in ex["expect"]:
        for name in e.get("place_any", [e["place"]] if "place" in e else []):
            obj = scene.get(name)
            assert floor.can_reach(obj), f"{name} cannot be reached from the start"
            if e["kind"] == "pose" and e["action"] == "sit":
                assert any(floor.can_stand_at(p) for p in seat_points(obj)), \
                    f"no free spot in front of or beside {name}"


def test_the_floor_map_sees_walls_and_gaps():
    """The checker itself: a wall cuts a room in two, a 0.9 m gap joins the halves again,
    a rotated box blocks what its rotated footprint covers."""
    def scene(gap: float, yaw: float = 0.0):
        objs = [{"name": "Target", "position": [0, 3, 0], "size": [0.5, 0.5, 0.9]},
                {"name": "Box", "position": [2, 0, 0], "size": [2.0, 0.2, 1.0], "yaw": yaw}]
        for x, (name, size) in ((-4, ("W1", 8)), (4, ("W2", 8))):
            objs.append({"name": name, "position": [0, x, 0], "size": [size, 0.2, 2.5]})
        for x, name in ((-4, "W3"), (4, "W4")):
            objs.append({"name": name, "position": [x, 0, 0], "size": [0.2, 8, 2.5]})
        width = (8 - gap) / 2
        objs += [{"name": "Mid1", "position": [-4 + width / 2, 1.5, 0],
                  "size": [width, 0.2, 2.5]},
                 {"name": "Mid2", "position": [4 - width / 2, 1.5, 0],
                  "size": [width, 0.2, 2.5]}]
        return Scene.from_dict({"objects": objs, "character": {"position": [0, -2]}})
    assert not FloorMap(scene(0.0)).can_reach(scene(0.0).get("Target"))
    assert FloorMap(scene(0.9)).can_reach(scene(0.9).get("Target"))
    assert not FloorMap(scene(0.6)).can_reach(scene(0.6).get("Target"))
    rotated = FloorMap(scene(0.9, yaw=90.0))
    assert not rotated.can_stand_at((2.0, 0.8)) and rotated.can_stand_at((3.0, 0.0))
