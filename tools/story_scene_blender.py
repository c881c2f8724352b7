"""Build a story example's scene (assets/stories/NN_slug.json) in the current Blender file.

    build_scene(example, collection=None) -> {name: bpy.types.Object}

``example`` is a parsed example file (a dict with a "scene" entry in the format of
``backend/models/story/schema.py``). Every scene object becomes one Blender object, named
exactly as in the dict:

- a chair-like object (a name with chair, sofa, couch, bench, stool ...): a seat 0.45 m high
  and a backrest at its back up to its height, in the same footprint (so a body can be seen
  sitting on it);
- an object with a size on all three axes: a box mesh whose local footprint is
  size[0] x size[1] centred on the origin and whose height runs from 0 to size[2]; the object
  sits at ``position`` (x, y, z = its lowest point) turned by ``yaw`` degrees about Z, so its
  front (local -Y) faces the dict's yaw;
- a flat object (size[2] == 0): a plane of size[0] x size[1];
- an object without a footprint (size[0] or size[1] == 0): an empty (plain axes);
- non-obstacles are drawn as wireframes; every object carries the custom property
  ``obstacle`` (bool) with the dict's value.

A plane named "Floor" at z = 0 covers every footprint and the character's start with a margin.

Bad input (not an example, a scene the schema refuses, a name Blender already uses in this
file, a name longer than Blender allows, a collection outside the scene) raises
``StorySceneError`` before anything is created: the file is left as it was.

Blender only (``bpy``); used by tests/blender/test_story_scene_build.py and by hand:
``blender --python tools/story_scene_blender.py -- assets/stories/01_tired_evening.json``.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import bpy

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from backend.models.story.schema import Scene, SceneObject, SchemaError  # noqa: E402

FLOOR = "Floor"
FLOOR_MARGIN = 2.0            # m around everything the scene holds
MAX_NAME_BYTES = 63           # Blender's ID name limit (UTF-8 bytes)


class StorySceneError(ValueError):
    """An example that cannot be built; the message names the example and the problem."""


def _box(sx: float, sy: float, sz: float) -> tuple[list, list]:
    """Vertices and quads of a box: footprint centred on the origin, z from 0 to sz."""
    hx, hy = sx / 2, sy / 2
    verts = [(x, y, z) for z in (0.0, sz) for (x, y) in
             ((-hx, -hy), (hx, -hy), (hx, hy), (-hx, hy))]
    faces = [(0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6),
             (3, 0, 4, 7)]
    return verts, faces


SEAT_WORDS = ("chair", "sofa", "couch", "bench", "stool", "armchair", "settee", "seat")
SEAT_HEIGHT = 0.45          # m: the seat of a chair-like object (its box is its back's height)
BACK_DEPTH = 0.12           # m: the backrest's thickness, at the object's back (+Y local)


def _seat(sx: float, sy: float, sz: float) -> tuple[list, list]:
    """A seat block (SEAT_HEIGHT high) and a backrest at the back (local +Y, the front being
    -Y) up to sz: the same footprint and height as the box, so the map is unchanged, but a
    body can sit on it."""
    seat_v, seat_f = _box(sx, sy, min(SEAT_HEIGHT, sz))
    back_v, back_f = _box(sx, min(BACK_DEPTH, sy), sz)
    shift = sy / 2 - min(BACK_DEPTH, sy) / 2
    back_v = [(x, y + shift, z) for x, y, z in back_v]
    n = len(seat_v)
    return seat_v + back_v, seat_f + [tuple(i + n for i in f) for f in back_f]


def _is_seat(name: str) -> bool:
    import re
    words = [w.lower() for w in re.findall(r"[A-Z]?[a-z]+", name)]
    return any(w in SEAT_WORDS for w in words)


def _plane(sx: float, sy: float) -> tuple[list, list]:
    hx, hy = sx / 2, sy / 2
    return [(-hx, -hy, 0.0), (hx, -hy, 0.0), (hx, hy, 0.0), (-hx, hy, 0.0)], [(0, 1, 2, 3)]


def _mesh_object(name: str, verts: list, faces: list):
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts, [], faces)
    mesh.update()
    return bpy.data.objects.new(name, mesh)


def _make(o: SceneObject):
    sx, sy, sz = o.size
    if sx <= 0 or sy <= 0:
        obj = bpy.data.objects.new(o.name, None)
        obj.empty_display_type = "PLAIN_AXES"
        obj.empty_display_size = 0.25
    elif sz <= 0:
        obj = _mesh_object(o.name, *_plane(sx, sy))
    elif _is_seat(o.name) and sz > SEAT_HEIGHT + 0.05:
        obj = _mesh_object(o.name, *_seat(sx, sy, sz))
    else:
        obj = _mesh_object(o.name, *_box(sx, sy, sz))
    obj.location = o.position
    obj.rotation_euler = (0.0, 0.0, math.radians(o.yaw))
    obj["obstacle"] = o.obstacle
    if not o.obstacle and obj.type == "MESH":
        obj.display_type = "WIRE"
    return obj


def _floor_size(scene: Scene) -> tuple[float, float, float, float]:
    """(centre x, centre y, size x, size y) of a floor covering the scene and the start."""
    xs, ys = [scene.start[0]], [scene.start[1]]
    for o in scene.objects:
        r = math.hypot(o.size[0], o.size[1]) / 2        # any yaw stays inside this circle
        xs += [o.position[0] - r, o.position[0] + r]
        ys += [o.position[1] - r, o.position[1] + r]
    lo_x, hi_x = min(xs) - FLOOR_MARGIN, max(xs) + FLOOR_MARGIN
    lo_y, hi_y = min(ys) - FLOOR_MARGIN, max(ys) + FLOOR_MARGIN
    return (lo_x + hi_x) / 2, (lo_y + hi_y) / 2, hi_x - lo_x, hi_y - lo_y


def _check(example, collection) -> tuple[Scene, str]:
    if not isinstance(example, dict):
        raise StorySceneError(f"an example must be a dict (a parsed story file), got "
                              f"{type(example).__name__}")
    title = example.get("title") if isinstance(example.get("title"), str) else "untitled"
    if "scene" not in example:
        raise StorySceneError(f"example {title!r} has no 'scene'")
    try:
        scene = Scene.from_dict(example["scene"])
    except SchemaError as e:
        raise StorySceneError(f"example {title!r}: {e}") from e
    names = [o.name for o in scene.objects] + [FLOOR]
    if names.count(FLOOR) > 1:
        raise StorySceneError(f"example {title!r}: an object is named {FLOOR!r}, the name "
                              f"of the floor this builder adds")
    too_long = [n for n in names if len(n.encode("utf-8")) > MAX_NAME_BYTES]
    if too_long:
        raise StorySceneError(f"example {title!r}: names longer than Blender's "
                              f"{MAX_NAME_BYTES} bytes: {', '.join(too_long)}")
    taken = [n for n in names if n in bpy.data.objects]
    if taken:
        raise StorySceneError(f"example {title!r}: this Blender file already has objects "
                              f"named {', '.join(sorted(taken))}; build into a fresh file "
                              f"or rename them")
    current = bpy.context.scene
    if collection is not None and collection != current.collection and \
            collection not in current.collection.children_recursive:
        raise StorySceneError(f"collection {collection.name!r} is not in the scene "
                              f"{current.name!r}")
    return scene, title


def build_scene(example: dict, collection=None) -> dict:
    """Make the example's scene in the current file; returns {name: object}, "Floor"
    included. Objects are linked to `collection` (default: the current scene's collection)."""
    scene, _ = _check(example, collection)
    collection = collection or bpy.context.scene.collection
    built = {}
    try:
        for o in scene.objects:
            built[o.name] = _make(o)
        cx, cy, fx, fy = _floor_size(scene)
        floor = _mesh_object(FLOOR, *_plane(fx, fy))
        floor.location = (cx, cy, 0.0)
        floor["obstacle"] = False
        built[FLOOR] = floor
        for obj in built.values():
            collection.objects.link(obj)
    except Exception:
        for obj in built.values():              # leave the file as it was
            data = obj.data
            bpy.data.objects.remove(obj)
            if data is not None and data.users == 0:
                bpy.data.meshes.remove(data)
        raise
    bpy.context.view_layer.update()             # matrix_world of the new objects
    return built


def load_example(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


if __name__ == "__main__":                     # blender --python this.py -- story.json
    args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    for arg in args:
        objects = build_scene(load_example(arg))
        print(f"{arg}: built {len(objects)} objects")
