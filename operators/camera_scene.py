"""The scene as the camera planner sees it (the `camera` job's `geometry` and `subject`).

    vertices, triangles = scene_triangles(context, exclude)   # (V, 3) float32, (F, 3) int32
    geometry_param(vertices, triangles, cache_dir, remote)    # {"path": npz} | inline b64
    subject_track(scene, subject, frame_start, frame_end)     # {"fps", "positions", "radius"}

Geometry is every visible mesh object of the scene, evaluated (modifiers applied), in world
space and triangulated, except the objects in `exclude` (the subject's own hierarchy, see
`subject_objects`) and cameras. The subject track steps the scene through the frame range
and puts the current frame back afterwards. Reading the scene changes nothing in it.

What a plan writes into the scene is here too: the preview curves (`make_preview`,
`highlight_preview`, `remove_preview`), the camera's keys (`write_camera_keys`, new Actions)
and the contact sheet (`render_contact_sheet`).
"""
from __future__ import annotations

import os
import time

import numpy as np

from ..backend import fileio


# ----------------------------------------------------------------------------- geometry
def subject_objects(subject, scene) -> set:
    """The subject and what belongs to it: for an armature, everything parented under it
    and the meshes of `scene` it deforms; for a mesh of a character (deformed by or
    parented to an armature), that whole character; else itself and its children."""
    from .story_scene import character_objects
    if subject is None:
        return set()
    if subject.type == "ARMATURE":
        return character_objects(subject, scene)
    own = {subject, *subject.children_recursive}
    rigs = {m.object for m in getattr(subject, "modifiers", ())
            if m.type == "ARMATURE" and m.object is not None}
    if subject.parent is not None and subject.parent.type == "ARMATURE":
        rigs.add(subject.parent)
    for rig in rigs:
        own |= character_objects(rig, scene)
    return own


def _local_triangles(evaluated) -> tuple[np.ndarray, np.ndarray]:
    """(V, 3) float64 local vertices and (F, 3) int64 triangles of an evaluated mesh object."""
    empty = np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    mesh = evaluated.to_mesh()
    try:
        n_verts = len(mesh.vertices)
        if not n_verts or not len(mesh.polygons):
            return empty
        mesh.calc_loop_triangles()
        co = np.empty(n_verts * 3, dtype=np.float32)
        mesh.vertices.foreach_get("co", co)
        tris = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int32)
        mesh.loop_triangles.foreach_get("vertices", tris)
    finally:
        evaluated.to_mesh_clear()
    return co.reshape(-1, 3).astype(np.float64), tris.reshape(-1, 3).astype(np.int64)


def _shown(obj, view_layer) -> bool:
    try:
        return obj.visible_get(view_layer=view_layer)
    except RuntimeError:              # not in this view layer
        return False


def scene_triangles(context, exclude=()) -> tuple[np.ndarray, np.ndarray]:
    """Every visible mesh of `context.scene` (not in `exclude`, no camera) as one triangle
    soup: vertices (V, 3) float32 world metres, triangles (F, 3) int32 indices into them.
    Instances (collection instances, geometry-node instances) count: each is one copy of
    its mesh at its own place; an instance of an excluded object is excluded too."""
    view_layer = context.view_layer
    depsgraph = context.evaluated_depsgraph_get()
    skip = {o.original for o in exclude}
    local_of = {}                       # one triangulation per evaluated mesh
    verts, tris, offset = [], [], 0
    for inst in depsgraph.object_instances:
        obj = inst.object
        if obj.type != "MESH":
            continue
        owner = inst.parent.original if inst.is_instance and inst.parent else obj.original
        if obj.original in skip or owner in skip or not _shown(owner, view_layer):
            continue
        key = obj.data.as_pointer() if obj.data is not None else id(obj)
        if key not in local_of:
            local_of[key] = _local_triangles(obj)
        v, t = local_of[key]
        if not len(t):
            continue
        mw = np.array(inst.matrix_world, dtype=np.float64)
        verts.append(v @ mw[:3, :3].T + mw[:3, 3])
        tris.append(t + offset)
        offset += len(v)
    if not verts:
        return np.zeros((0, 3), dtype=np.float32), np.zeros((0, 3), dtype=np.int32)
    return (np.concatenate(verts).astype(np.float32),
            np.concatenate(tris).astype(np.int32))


def write_geometry_npz(path: str, vertices: np.ndarray, triangles: np.ndarray) -> str:
    """Save `vertices` (V, 3) float32 and `triangles` (F, 3) int32 as an .npz; returns path."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with fileio.atomic_write(path) as f:
        np.savez(f, vertices=np.asarray(vertices, dtype=np.float32).reshape(-1, 3),
                 triangles=np.asarray(triangles, dtype=np.int32).reshape(-1, 3))
    return path


GEOMETRY_PREFIX = "camera_geometry_"


def geometry_param(vertices, triangles, cache_dir: str, remote: bool) -> dict:
    """The job's `geometry`: an .npz in the cache (local backend; the files of earlier plans
    are deleted, one job runs at a time) or the inline form (remote backend)."""
    if remote:
        from ..backend.models.camera.wire import mesh_to_wire
        return mesh_to_wire(vertices, triangles)
    for old in os.listdir(cache_dir) if os.path.isdir(cache_dir) else ():
        if old.startswith(GEOMETRY_PREFIX) and old.endswith(".npz"):
            try:
                os.remove(os.path.join(cache_dir, old))
            except OSError:
                pass
    path = os.path.join(cache_dir, f"{GEOMETRY_PREFIX}{time.time_ns()}.npz")
    return {"path": write_geometry_npz(path, vertices, triangles)}


# ----------------------------------------------------------------------------- subject
SIGHT_JOINTS = ("head", "spine3", "pelvis", "left_wrist", "right_wrist", "left_ankle",
                "right_ankle")               # the body points whose visibility is checked


def _body_bones(arm) -> tuple[set | None, list]:
    """(the bones the Anima bone mapping puts on the canonical body, the bones of
    SIGHT_JOINTS): a root bone left at the rig's origin while the body walks away is not the
    subject. (None, []) when the rig cannot be mapped."""
    try:
        from .retarget import ensure_mapping
        bm, _detected = ensure_mapping(arm, store=False)
    except Exception:  # noqa: BLE001 - any rig the mapper refuses: all deform bones
        return None, []
    names = {b for b in bm.bones.values() if b}
    sight = [bm.bones[j] for j in SIGHT_JOINTS if bm.bones.get(j)]
    return names or None, sight


def _deform_bone_points(arm_eval, names: set | None = None) -> np.ndarray:
    """(2K, 3) world heads and tails of the armature's body bones (``names``), else its
    deform bones (all bones if none)."""
    bones = [pb for pb in arm_eval.pose.bones if names and pb.name in names] or \
        [pb for pb in arm_eval.pose.bones if pb.bone.use_deform] or list(arm_eval.pose.bones)
    if not bones:
        return np.array(arm_eval.matrix_world, dtype=np.float64)[None, :3, 3]
    local = np.array([(*pb.head, *pb.tail) for pb in bones], dtype=np.float64).reshape(-1, 3)
    mw = np.array(arm_eval.matrix_world, dtype=np.float64)
    return local @ mw[:3, :3].T + mw[:3, 3]


def _bound_box_points(obj_eval) -> np.ndarray:
    """(8, 3) world corners of the object's bound box."""
    local = np.array([tuple(c) for c in obj_eval.bound_box], dtype=np.float64).reshape(-1, 3)
    mw = np.array(obj_eval.matrix_world, dtype=np.float64)
    return local @ mw[:3, :3].T + mw[:3, 3]


MIN_RADIUS = 0.1     # m: an empty or a point still has a size to frame


def subject_track(scene, subject, frame_start: int, frame_end: int, view_layer=None) -> dict:
    """{"fps", "positions": [[x, y, z]] * T, "radius"[, "points"]} of `subject` over the frames
    frame_start..frame_end (T = end - start + 1), stepping the scene (its current frame is
    put back afterwards). Armature: centre of the bounding box of its body bones' heads and
    tails (the ones the bone mapping puts on the canonical body, else the deform bones),
    radius of the smallest sphere about that centre holding them (largest over the frames),
    and "points": per frame the heads of its SIGHT_JOINTS bones (the planner checks that the
    body itself is seen). Other objects: their world bound-box centre and half-diagonal."""
    if frame_end <= frame_start:
        raise ValueError(f"The frame range {frame_start}-{frame_end} is empty: the end frame "
                         f"must come after the start frame")
    view_layer = view_layer or scene.view_layers[0]
    old_frame, old_sub = scene.frame_current, scene.frame_subframe
    centres, radius, sight_points = [], MIN_RADIUS, []
    body, sight = _body_bones(subject) if subject.type == "ARMATURE" else (None, [])
    try:
        for frame in range(int(frame_start), int(frame_end) + 1):
            scene.frame_set(frame)
            depsgraph = view_layer.depsgraph
            obj = subject.evaluated_get(depsgraph)
            pts = _deform_bone_points(obj, body) if subject.type == "ARMATURE" \
                else _bound_box_points(obj)
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            centre = (lo + hi) / 2.0
            centres.append(centre)
            radius = max(radius, float(np.linalg.norm(pts - centre, axis=1).max()))
            if sight:
                mw = obj.matrix_world
                sight_points.append([[round(float(v), 5) for v in mw @ obj.pose.bones[b].head]
                                     for b in sight])
    finally:
        scene.frame_set(old_frame, subframe=old_sub)
    fps = scene.render.fps / scene.render.fps_base
    out = {"fps": float(fps),
           "positions": [[round(float(c), 6) for c in p] for p in centres],
           "radius": round(radius, 6)}
    if sight_points:
        out["points"] = sight_points
    return out


# ----------------------------------------------------------------------------- preview
PREVIEW_COLLECTION = "Anima Camera Preview"
PREVIEW_TAG = "anima_camera_preview"          # custom property on the collection
ALTERNATIVE_TAG = "anima_camera_alternative"  # on each curve object: its path index
CHOSEN_COLOR, OTHER_COLOR = (1.0, 0.45, 0.05, 1.0), (0.55, 0.55, 0.6, 1.0)
CHOSEN_BEVEL = 0.03                           # m: the chosen path is drawn as a tube


def preview_collection(scene):
    """The scene's preview collection (a child of its master collection), or None."""
    for coll in scene.collection.children:
        if coll.get(PREVIEW_TAG):
            return coll
    return None


def remove_preview(scene) -> int:
    """Delete the preview collection, its curve objects and their data; returns how many
    curves were removed."""
    import bpy
    coll = preview_collection(scene)
    if coll is None:
        return 0
    removed = 0
    for obj in list(coll.objects):
        data = obj.data
        bpy.data.objects.remove(obj)
        removed += 1
        if data is not None and data.users == 0:
            bpy.data.curves.remove(data)
    bpy.data.collections.remove(coll)
    return removed


def make_preview(scene, paths: list[dict], chosen: int = 0) -> list:
    """One poly curve per path (location (T, 3)) in a new preview collection that is not
    rendered (an older preview is removed first); returns the curve objects."""
    import bpy
    remove_preview(scene)
    coll = bpy.data.collections.new(PREVIEW_COLLECTION)
    coll[PREVIEW_TAG] = True
    coll.hide_render = True
    scene.collection.children.link(coll)
    objects = []
    for i, path in enumerate(paths):
        name = f"Anima Camera Path {i + 1}"
        curve = bpy.data.curves.new(name, type="CURVE")
        curve.dimensions = "3D"
        spline = curve.splines.new("POLY")
        loc = path["location"]
        spline.points.add(len(loc) - 1)
        co = np.ones((len(loc), 4), dtype=np.float32)
        co[:, :3] = loc
        spline.points.foreach_set("co", co.ravel())
        obj = bpy.data.objects.new(name, curve)
        obj[ALTERNATIVE_TAG] = i
        obj.hide_render = True
        coll.objects.link(obj)
        objects.append(obj)
    highlight_preview(scene, chosen)
    return objects


def highlight_preview(scene, chosen: int) -> None:
    """Draw the chosen path's curve as a coloured tube in front, the others as grey lines."""
    coll = preview_collection(scene)
    for obj in (coll.objects if coll is not None else ()):
        is_chosen = obj.get(ALTERNATIVE_TAG) == chosen
        obj.data.bevel_depth = CHOSEN_BEVEL if is_chosen else 0.0
        obj.color = CHOSEN_COLOR if is_chosen else OTHER_COLOR
        obj.show_in_front = is_chosen


# ----------------------------------------------------------------------------- keys
def write_camera_keys(cam_obj, path: dict, frame_start: float, frame_step: float,
                      meta: dict | None = None):
    """Key `path` (location (T, 3), rotation (T, 4) wxyz, lens_mm (T,) on a 36 mm sensor)
    on the camera object (location, rotation_quaternion) and its data (lens, scaled to its
    sensor width) in two NEW Actions, key t at frame_start + t * frame_step. The actions that
    were active keep a fake user. Returns (object action, camera data action); nothing is
    changed when it raises ValueError."""
    import bpy

    from ..backend.motion import quat
    from .keys import _Channels, action_name_for, assign_action, is_slotted
    if cam_obj is None or cam_obj.type != "CAMERA":
        raise ValueError("Animate Camera needs a camera object")
    cam = cam_obj.data
    for owner in (cam_obj, cam):
        anim = owner.animation_data
        if anim is not None and anim.use_tweak_mode:
            raise ValueError(f"{owner.name!r} is in NLA tweak mode: exit it first")
    loc, lens = path["location"], path["lens_mm"]
    rot = quat.unroll(quat.normalize(path["rotation"]), axis=0)
    frames = frame_start + np.arange(len(loc), dtype=np.float64) * frame_step
    sensor = cam.sensor_height if cam.sensor_fit == "VERTICAL" else cam.sensor_width
    lens = lens * (sensor / 36.0)
    name = path.get("name") or "camera path"
    obj_action = bpy.data.actions.new(action_name_for(f"camera {name}"))
    data_action = bpy.data.actions.new(action_name_for(f"lens {name}"))
    try:
        channels = _Channels(obj_action, cam_obj)
        for i in range(3):
            channels.write("location", i, "Object Transforms", frames, loc[:, i])
        for i in range(4):
            channels.write("rotation_quaternion", i, "Object Transforms", frames, rot[:, i])
        if is_slotted(data_action):
            data_action.slots.new(id_type="CAMERA", name=cam.name)
        _Channels(data_action, cam, existing=True).write("lens", 0, "Camera", frames, lens)
    except Exception:
        bpy.data.actions.remove(obj_action)
        bpy.data.actions.remove(data_action)
        raise
    for action, owner in ((obj_action, cam_obj), (data_action, cam)):
        for key, value in (meta or {}).items():
            if isinstance(value, (str, int, float, bool)):
                action[key] = value
        action["anima_frame_start"] = float(frame_start)
        previous = owner.animation_data.action if owner.animation_data else None
        if previous is not None:
            action["anima_previous_action"] = previous.name
        assign_action(owner, action)
    cam_obj.rotation_mode = "QUATERNION"
    return obj_action, data_action


# ----------------------------------------------------------------------------- contact sheet
SHEET_TILE = (320, 180)
SHEET_COLUMNS = 4
SHEET_LINE = 0.05                 # the grey of the line between tiles


def sheet_frames(frame_start: int, frame_end: int, count: int = 8) -> list[int]:
    """`count` frames spread evenly over the range, first and last included."""
    return [int(round(f)) for f in np.linspace(frame_start, frame_end, count)]


def render_contact_sheet(scene, cam_obj, frames: list[int], out_png: str,
                         tile=SHEET_TILE) -> str:
    """Render `frames` from `cam_obj` with Workbench and tile them (4 a row) into `out_png`.
    The scene's camera, frame and render settings are put back afterwards."""
    import shutil
    import tempfile

    import bpy
    w, h = tile
    r = scene.render
    saved = {"camera": scene.camera, "frame": scene.frame_current, "engine": r.engine,
             "res": (r.resolution_x, r.resolution_y, r.resolution_percentage),
             "filepath": r.filepath, "format": r.image_settings.file_format}
    tmpdir = tempfile.mkdtemp(prefix="anima_camera_sheet_")
    tiles = []
    try:
        scene.camera = cam_obj
        r.engine = "BLENDER_WORKBENCH"
        r.resolution_x, r.resolution_y, r.resolution_percentage = w, h, 100
        r.image_settings.file_format = "PNG"
        for i, frame in enumerate(frames):
            scene.frame_set(frame)
            r.filepath = os.path.join(tmpdir, f"tile_{i:02d}.png")
            bpy.ops.render.render(write_still=True, scene=scene.name)
            img = bpy.data.images.load(r.filepath, check_existing=False)
            try:
                px = np.empty(w * h * 4, np.float32)
                img.pixels.foreach_get(px)
            finally:
                bpy.data.images.remove(img)
            tiles.append(px.reshape(h, w, 4))
        cols = min(len(tiles), SHEET_COLUMNS)
        rows = -(-len(tiles) // cols)
        sheet = np.ones((rows * h, cols * w, 4), np.float32)
        for i, px in enumerate(tiles):
            row, col = divmod(i, cols)
            top = (rows - 1 - row) * h                # Blender's pixel rows go bottom-up
            sheet[top:top + h, col * w:(col + 1) * w] = px
        sheet[:, [c * w for c in range(1, cols)], :3] = SHEET_LINE      # thin tile borders
        sheet[[r * h for r in range(1, rows)], :, :3] = SHEET_LINE
        sheet[..., 3] = 1.0
        os.makedirs(os.path.dirname(out_png) or ".", exist_ok=True)
        out = bpy.data.images.new("Anima Camera Sheet", cols * w, rows * h, alpha=True)
        try:
            out.pixels.foreach_set(sheet.ravel())
            out.filepath_raw, out.file_format = out_png, "PNG"
            out.save()
        finally:
            bpy.data.images.remove(out)
    finally:
        scene.camera = saved["camera"]
        r.engine = saved["engine"]
        r.resolution_x, r.resolution_y, r.resolution_percentage = saved["res"]
        r.filepath, r.image_settings.file_format = saved["filepath"], saved["format"]
        scene.frame_set(saved["frame"])
        shutil.rmtree(tmpdir, ignore_errors=True)
    return out_png
