"""The user's scene as the map of a story (the Scene dict of backend/models/story/schema.py).

    scene_to_dict(context, armature) -> {"objects": [{"name", "position": [x, y, z_lowest],
        "yaw", "size": [sx, sy, sz], "obstacle"}, ...],
        "character": {"position": [x, y], "yaw"}}

Every visible mesh and empty of the scene is listed, except the character's own hierarchy
(the armature, everything parented under it, meshes it deforms) and floors (flat: under 5 cm
tall, and named like a floor - "Floor", "Ground.001", "PlaneFloor" ... by its first word - or
over 100 m^2). Other
flat objects (a rug, a mat, a dance floor) are places, never obstacles. A mesh is measured on its evaluated world-space vertices
(modifiers applied), in the frame of its own rotation about Z, so a rotated box reports its
true footprint; an object without vertices falls back to its world bound box corners. Empties
are places: a point (size 0), never obstacles. Metres, Z up, yaw in degrees counter-clockwise
from -Y (the object's rotation about Z). Reading the scene changes nothing in it.

The schedule the `story` job is sent comes from the panel's segment list
(`checked_schedule`, checked with the backend's own schema); a plan fills the list
(`fill_segment`).
"""
from __future__ import annotations

import math

import numpy as np

FLOOR_MAX_HEIGHT = 0.05       # m: flatter than this ...
FLOOR_MIN_AREA = 100.0        # m^2: ... and larger than this (or named like one) is a floor
FLOOR_NAMES = ("floor", "ground", "plane", "terrain")
ON_FLOOR_Z = 0.1              # m: an object whose lowest point is below this stands on it
OBSTACLE_MIN_HEIGHT = 0.05    # m: a mesh taller than this blocks the way
MAX_OBJECTS = 500             # what the story schema accepts
MAX_NAME = 63


def yaw_degrees(matrix_world) -> float:
    """Rotation about Z (degrees, in (-180, 180]) of a world matrix: the floor direction of
    its local X axis (its local Y when X points straight up or down)."""
    m = np.asarray(matrix_world, dtype=np.float64)[:3, :3]
    x, y = m[:, 0], m[:, 1]
    if math.hypot(x[0], x[1]) > 1e-6 * max(np.linalg.norm(x), 1e-12):
        angle = math.degrees(math.atan2(x[1], x[0]))
    else:
        angle = math.degrees(math.atan2(-y[0], y[1]))
    angle = math.fmod(angle + 180.0, 360.0)
    angle = angle + 360.0 if angle <= 0 else angle
    return round(angle - 180.0, 6)


def _world_points(obj, depsgraph) -> np.ndarray:
    """(N, 3) world-space points of the object: its evaluated vertices, else the corners of
    its bound box."""
    mw = np.array(obj.matrix_world, dtype=np.float64)
    local = None
    if obj.type == "MESH":
        evaluated = obj.evaluated_get(depsgraph)
        mesh = evaluated.to_mesh()
        try:
            n = len(mesh.vertices)
            if n:
                flat = np.empty(n * 3, dtype=np.float32)
                mesh.vertices.foreach_get("co", flat)
                local = flat.reshape(n, 3).astype(np.float64)
        finally:
            evaluated.to_mesh_clear()
        mw = np.array(evaluated.matrix_world, dtype=np.float64)
    if local is None:
        local = np.array([tuple(c) for c in obj.bound_box], dtype=np.float64).reshape(-1, 3)
    return local @ mw[:3, :3].T + mw[:3, 3]


def footprint(points: np.ndarray, yaw: float) -> tuple[list[float], list[float]]:
    """(position [x, y, lowest z], size [sx, sy, sz]) of world points (N, 3) measured along
    the floor axes rotated by `yaw` degrees about Z."""
    r = math.radians(yaw)
    c, s = math.cos(r), math.sin(r)
    u = points[:, 0] * c + points[:, 1] * s           # along the rotated X
    v = -points[:, 0] * s + points[:, 1] * c          # along the rotated Y
    cu, cv = (u.max() + u.min()) / 2, (v.max() + v.min()) / 2
    position = [cu * c - cv * s, cu * s + cv * c, float(points[:, 2].min())]
    size = [float(u.max() - u.min()), float(v.max() - v.min()),
            float(points[:, 2].max() - points[:, 2].min())]
    return [round(float(p), 6) for p in position], [round(x, 6) for x in size]


def character_objects(armature, scene) -> set:
    """The armature, everything parented under it and the meshes of `scene` it deforms."""
    own = {armature, *armature.children_recursive}
    for obj in scene.objects:
        if obj.type == "MESH" and any(m.type == "ARMATURE" and m.object == armature
                                      for m in obj.modifiers):
            own.add(obj)
            own.update(obj.children_recursive)
    return own


def _first_word(name: str) -> str:
    """"Floor.001" -> "floor", "GroundPlane" -> "ground", "DanceFloor" -> "dance"."""
    import re
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)
    return words[0].lower() if words else ""


def _hips_floor_position(armature, depsgraph) -> tuple[float, float]:
    """Floor (x, y) of the character: its mapped hips bone head as posed, else the
    armature's world position."""
    from ..backend.motion.bonemap import MappingError
    from . import retarget
    mw = armature.matrix_world
    try:
        bm, _detected = retarget.ensure_mapping(armature, store=False)
    except (MappingError, ValueError):
        bm = None
    bone = (bm.bones.get("pelvis") if bm is not None else None) or ""
    evaluated = armature.evaluated_get(depsgraph)
    pose_bone = evaluated.pose.bones.get(bone) if evaluated.pose is not None else None
    if pose_bone is None:
        return float(mw.translation.x), float(mw.translation.y)
    head = evaluated.matrix_world @ pose_bone.head
    return float(head.x), float(head.y)


def scene_to_dict(context, armature) -> dict:
    """The Scene dict (schema.py) of `context.scene` with `armature` as the character.

    Raises ValueError (for the user) without an armature or with more objects than the story
    schema accepts."""
    if armature is None or armature.type != "ARMATURE":
        raise ValueError("Select the armature of the character the story is about")
    scene, view_layer = context.scene, context.view_layer
    depsgraph = context.evaluated_depsgraph_get()
    skip = character_objects(armature, scene)
    objects = []
    for obj in scene.objects:
        if obj in skip or obj.type not in {"MESH", "EMPTY"}:
            continue
        if not obj.visible_get(view_layer=view_layer):
            continue
        yaw = yaw_degrees(obj.matrix_world)
        if obj.type == "EMPTY":
            loc = obj.matrix_world.translation
            position, size = [round(float(v), 6) for v in loc], [0.0, 0.0, 0.0]
            obstacle = False
        else:
            position, size = footprint(_world_points(obj, depsgraph), yaw)
            if size[2] < FLOOR_MAX_HEIGHT and (size[0] * size[1] > FLOOR_MIN_AREA
                                               or _first_word(obj.name) in FLOOR_NAMES):
                continue                                   # the floor
            obstacle = position[2] < ON_FLOOR_Z and size[2] > OBSTACLE_MIN_HEIGHT
        objects.append({"name": obj.name[:MAX_NAME], "position": position, "yaw": yaw,
                        "size": size, "obstacle": bool(obstacle)})
    if len(objects) > MAX_OBJECTS:
        raise ValueError(f"The scene shows {len(objects)} objects; a story can use at most "
                         f"{MAX_OBJECTS}: hide the ones the character does not need")
    x, y = _hips_floor_position(armature, depsgraph)
    return {"objects": objects,
            "character": {"position": [round(x, 6), round(y, 6)],
                          "yaw": yaw_degrees(armature.matrix_world)}}


def schema():
    """backend/models/story/schema.py (standard library only)."""
    from ..backend.models.story import schema
    return schema


# ----------------------------------------------------------------------------- the schedule
def segment_to_dict(item) -> dict:
    """A list row as a schema Segment dict (not yet checked)."""
    facing = item.facing.strip() or None
    if facing is not None:
        try:
            facing = float(facing)
        except ValueError:
            pass
    return {"text": item.text, "kind": item.kind, "action": item.action.strip() or item.text,
            "style": item.style.strip() or None, "place": item.place.strip() or None,
            "facing": facing, "seconds": item.seconds if item.seconds > 0 else None,
            "speed": item.speed, "gait": item.gait, "sentence": item.sentence,
            "overlay": item.overlay.strip() or None, "source": item.source}


def fill_segment(item, seg: dict) -> None:
    item.text = seg["text"]
    item.name = seg["text"][:60]
    item.kind = seg["kind"]
    item.action = seg.get("action") or ""
    item.place = seg.get("place") or ""
    facing = seg.get("facing")
    item.facing = "" if facing is None else (f"{facing:g}" if isinstance(facing, float)
                                             else str(facing))
    item.seconds = float(seg.get("seconds") or 0.0)
    item.speed = float(seg.get("speed", 1.0))
    item.gait = seg.get("gait", "walk")
    item.style = seg.get("style") or ""
    item.sentence = int(seg.get("sentence", 0))
    item.overlay = seg.get("overlay") or ""
    item.source = seg.get("source") or "generator"


def checked_schedule(settings, scene_dict: dict) -> dict:
    """The list as a Schedule dict, checked against the scene (ValueError for the user)."""
    schema_ = schema()
    if not len(settings.segments):
        raise ValueError("The story has no segments: press Plan, or add segments")
    raw = {"story": settings.story, "segments": [segment_to_dict(s) for s in settings.segments],
           "scheduler": settings.scheduler}
    return schema_.Schedule.from_dict(raw, schema_.Scene.from_dict(scene_dict)).to_dict()
