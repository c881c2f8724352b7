"""The default character and the shipped rigs (MakeHuman / MPFB2 assets, CC0).

Blender layer: builds armatures and the skinned default character from the compact assets in
``assets/character/`` (made by ``tools/build_character_asset.py``), and renders contact sheets.

Frame of every asset: Blender metres, Z up, the character faces -Y, its left side is +X, feet
on the floor (z = 0), height 1.67 m. The mesh is in MakeHuman's rest pose (arms in an A-pose).

Public functions (all work in background mode, Blender 4.2 - 5.0):

* ``rig_names()`` -> names of the shipped rigs (``default``, ``game_engine``, ``mixamo``,
  ``cmu_mb``, ``rigify``, ``rigify_toes``).
* ``build_armature(context_or_collection, rig_name, name=None)`` -> armature object.
  For ``rigify*`` it is a Rigify meta-rig; turn it into a control rig with
  ``generate_rigify(metarig_obj)``.
* ``build_character(collection=None, name="AnimaCharacter")`` -> ``(armature_obj, mesh_obj)``,
  the ``game_engine`` rig with the skinned body.
* ``render_contact_sheet(scene, armature_obj, frames, out_png, size=(320, 240))`` -> path.

This module imports only bpy, numpy and the standard library (no package-relative imports), so
it can also be loaded on its own by file path.
"""
from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import bpy
import numpy as np
from mathutils import Vector

ASSET_DIR = Path(__file__).resolve().parent.parent / "assets" / "character"
BODY_FILE = ASSET_DIR / "makehuman_body.npz"
RIGS_FILE = ASSET_DIR / "rigs.json"
CHARACTER_RIG = "game_engine"

SKIN_COLOR = (0.86, 0.56, 0.42, 1.0)
EYE_COLOR = (0.92, 0.92, 0.90, 1.0)
FLOOR_COLOR = (0.55, 0.57, 0.60, 1.0)


# ------------------------------------------------------------------------------------ assets


@functools.lru_cache(maxsize=1)
def load_rigs() -> dict:
    """The parsed ``rigs.json``: ``{"rigs": {name: {"bones": [...], ...}}, ...}`` (cached)."""
    with open(RIGS_FILE, encoding="utf-8") as fh:
        return json.load(fh)


def rig_names() -> list[str]:
    return list(load_rigs()["rigs"])


def rig_data(rig_name: str) -> dict:
    rigs = load_rigs()["rigs"]
    if rig_name not in rigs:
        raise KeyError(f"unknown rig {rig_name!r}; shipped rigs: {', '.join(rigs)}")
    return rigs[rig_name]


def load_body() -> dict:
    """Mesh arrays: vertices (N,3) f32, faces (F,4) i32, uvs, face_uvs, face_material,
    source_index (base.obj vertex index of each vertex) and ``meta`` (dict)."""
    with np.load(BODY_FILE) as z:
        data = {k: z[k] for k in z.files}
    data["meta"] = json.loads(str(data["meta"]))
    return data


def load_skin(rig_name: str = CHARACTER_RIG):
    """(bone_names, index (N,K) int, weight (N,K) float32 normalised per vertex)."""
    with np.load(ASSET_DIR / f"skin_{rig_name}.npz") as z:
        names = [str(s) for s in z["bone_names"]]
        index = z["index"].astype(np.int64)
        weight = z["weight"].astype(np.float32)
    weight /= weight.sum(axis=1, keepdims=True)
    return names, index, weight


# ------------------------------------------------------------------------------ utilities


def ensure_rigify():
    """Enable Blender's bundled Rigify add-on (needed for meta-rig properties and generation)."""
    if hasattr(bpy.types.PoseBone, "rigify_type") and hasattr(bpy.ops.pose, "rigify_generate"):
        return
    import addon_utils

    addon_utils.enable("rigify", default_set=True, persistent=True)
    if not hasattr(bpy.types.PoseBone, "rigify_type"):
        raise RuntimeError("could not enable the Rigify add-on")


def _resolve_collection(arg) -> bpy.types.Collection:
    if arg is None:
        ctx = bpy.context
        return getattr(ctx, "collection", None) or ctx.scene.collection
    if isinstance(arg, bpy.types.Collection):
        return arg
    if isinstance(arg, bpy.types.Scene):
        return arg.collection
    coll = getattr(arg, "collection", None)  # a Context
    if isinstance(coll, bpy.types.Collection):
        return coll
    scene = getattr(arg, "scene", None)
    if scene is not None:
        return scene.collection
    raise TypeError(f"expected a Context, Collection or Scene, got {type(arg).__name__}")


def _leave_edit_modes():
    obj = bpy.context.view_layer.objects.active if bpy.context.view_layer else None
    if obj is not None and obj.mode != "OBJECT":
        with bpy.context.temp_override(active_object=obj, object=obj):
            bpy.ops.object.mode_set(mode="OBJECT")


@contextlib.contextmanager
def _active(obj, mode="OBJECT"):
    """Make ``obj`` active (linking it to the scene temporarily if the view layer cannot see
    it), enter ``mode``, and restore object mode / the previous active object afterwards."""
    view_layer = bpy.context.view_layer
    scene = bpy.context.scene
    _leave_edit_modes()
    linked = False
    if view_layer.objects.get(obj.name) is not obj:
        scene.collection.objects.link(obj)
        linked = True
    prev_active = view_layer.objects.active
    prev_hide = obj.hide_viewport, obj.hide_get()
    obj.hide_viewport = False
    obj.hide_set(False)
    view_layer.objects.active = obj
    try:
        if mode != "OBJECT":
            bpy.ops.object.mode_set(mode=mode)
        yield obj
    finally:
        if obj.mode != "OBJECT":
            bpy.ops.object.mode_set(mode="OBJECT")
        obj.hide_viewport = prev_hide[0]
        obj.hide_set(prev_hide[1])
        if linked:
            scene.collection.objects.unlink(obj)
        if prev_active is not None and view_layer.objects.get(prev_active.name) is prev_active:
            view_layer.objects.active = prev_active


def _set_attr(owner, attr, value):
    try:
        setattr(owner, attr, value)
        return True
    except (AttributeError, TypeError, ValueError):
        return False


# ------------------------------------------------------------------------------- armatures


def build_armature(context_or_collection, rig_name: str, name: str | None = None):
    """Create an armature object for one of the shipped rigs, in its rest pose.

    ``context_or_collection``: a Context, Collection, Scene or None (the active collection).
    ``rig_name``: one of ``rig_names()``. For ``rigify``/``rigify_toes`` the result is a
    Rigify *meta-rig* (rigify_type / parameters on the pose bones, bone collections, Rigify
    UI rows); call ``generate_rigify`` on it to get the control rig.
    """
    rig = rig_data(rig_name)
    is_rigify = "rigify" in rig_name
    if is_rigify:
        ensure_rigify()
    collection = _resolve_collection(context_or_collection)
    name = name or ("metarig" if is_rigify else rig_name)

    arm = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, arm)
    collection.objects.link(obj)
    obj.show_in_front = True
    obj["anima_rig"] = rig_name

    bones = rig["bones"]
    if is_rigify:
        for bcoll in list(arm.collections):
            arm.collections.remove(bcoll)
        for cname in rig.get("collections", []):
            arm.collections.new(cname)

    with _active(obj, "EDIT"):
        ebones = arm.edit_bones
        for b in bones:
            eb = ebones.new(b["name"])
            eb.head = b["head"]
            eb.tail = b["tail"]
            eb.roll = b["roll"]
        for b in bones:
            eb = ebones[b["name"]]
            if b["parent"]:
                eb.parent = ebones[b["parent"]]
            eb.use_connect = b["use_connect"]
            eb.inherit_scale = b.get("inherit_scale", "FULL")
            eb.use_inherit_rotation = b.get("use_inherit_rotation", True)
            eb.use_local_location = b.get("use_local_location", True)
            if is_rigify:
                for cname in b.get("collections", []):
                    arm.collections[cname].assign(eb)
                for field, val in b.get("bendy_bone", {}).items():
                    if field in ("custom_handle_start", "custom_handle_end"):
                        val = ebones.get(val)
                    _set_attr(eb, "bbone_" + field, val)

    if is_rigify:
        _setup_metarig(obj, rig)
    return obj


def _setup_metarig(obj, rig: dict):
    arm = obj.data
    for b in rig["bones"]:
        pb = obj.pose.bones[b["name"]]
        pb.rotation_mode = b.get("rotation_mode", "QUATERNION")
        for con_info in b.get("constraints", []):
            _add_constraint(obj, pb, con_info)
        if b.get("rigify_type"):
            pb.rigify_type = b["rigify_type"]
        for key, value in b.get("rigify_parameters", {}).items():
            if key.endswith("_coll_refs"):
                refs = getattr(pb.rigify_parameters, key, None)
                if refs is not None and hasattr(refs, "add"):
                    for cname in value:
                        refs.add().name = cname
            else:
                _set_attr(pb.rigify_parameters, key, value)

    ui = rig.get("rigify_ui")
    if ui:
        _set_attr(arm, "rigify_colors_lock", ui.get("rigify_colors_lock", True))
        sel = ui.get("selection_colors", {})
        if "select" in sel:
            _set_attr(arm.rigify_selection_colors, "select", sel["select"])
        if "active" in sel:
            _set_attr(arm.rigify_selection_colors, "active", sel["active"])
        for col in ui.get("colors", []):
            item = arm.rigify_colors.add()
            item.name = col["name"]
            item.normal = col["normal"]
        for cname, info in ui.get("collections", {}).items():
            bcoll = arm.collections.get(cname)
            if bcoll is None:
                continue
            bcoll.is_visible = info.get("is_visible", True)
            _set_attr(bcoll, "rigify_ui_row", info.get("ui_row", 0))
            _set_attr(bcoll, "rigify_ui_title", info.get("ui_title", ""))
            _set_attr(bcoll, "rigify_sel_set", info.get("sel_set", False))
            _set_attr(bcoll, "rigify_color_set_id", info.get("color_set_id", 0))


def _add_constraint(obj, pb, info: dict):
    """MPFB constraint description -> pose-bone constraint (names keep Rigify's '@' relink
    markers, e.g. 'Copy@DEF', resolved by basic.raw_copy with relink_constraints)."""
    con = pb.constraints.new(info["type"])
    con.name = info["name"]
    if con.type == "ARMATURE":
        for tgt_info in info.get("targets", []):
            tgt = con.targets.new()
            tgt.target = obj
            tgt.subtarget = tgt_info["subtarget"]
            tgt.weight = tgt_info["weight"]
    elif info.get("target") is True:
        con.target = obj
    if info.get("space_object"):
        con.space_object = obj
    for field, val in info.items():
        if field not in {"type", "name", "targets", "target", "space_object"}:
            _set_attr(con, field, val)


def generate_rigify(metarig_obj):
    """Generate the Rigify control rig from a meta-rig (``bpy.ops.pose.rigify_generate``).

    Returns the generated rig object (``metarig.data.rigify_target_rig``). Takes a few seconds.
    """
    ensure_rigify()
    with _active(metarig_obj, "OBJECT"):
        for o in bpy.context.view_layer.objects:
            o.select_set(o is metarig_obj)
        result = bpy.ops.pose.rigify_generate()
    if "FINISHED" not in result:
        raise RuntimeError(f"Rigify generation failed: {result}")
    rig = getattr(metarig_obj.data, "rigify_target_rig", None) or bpy.context.view_layer.objects.active
    if rig is None or rig is metarig_obj or rig.type != "ARMATURE":
        raise RuntimeError("Rigify generation produced no rig")
    rig.show_in_front = True
    return rig


# ------------------------------------------------------------------------------ character


def _material(name: str, color) -> bpy.types.Material:
    mat = bpy.data.materials.new(name)
    mat.diffuse_color = color
    mat.roughness = 0.6
    if bpy.app.version < (5, 0, 0) and not mat.use_nodes:
        mat.use_nodes = True  # node trees are always on from 5.0 (use_nodes deprecated)
    tree = getattr(mat, "node_tree", None)
    if tree is not None:
        bsdf = next((n for n in tree.nodes if n.type == "BSDF_PRINCIPLED"), None)
        if bsdf is not None:
            bsdf.inputs["Base Color"].default_value = color
            bsdf.inputs["Roughness"].default_value = 0.6
    return mat


def _build_body_mesh(name: str) -> bpy.types.Mesh:
    body = load_body()
    verts = body["vertices"].astype(np.float32)
    faces = body["faces"].astype(np.int32)
    n_faces = len(faces)
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(verts))
    mesh.vertices.foreach_set("co", verts.ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.ravel())
    mesh.polygons.add(n_faces)
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 4, dtype=np.int32))
    mesh.update(calc_edges=True)

    uv_layer = mesh.uv_layers.new(name="UVMap")
    loop_uv = body["uvs"][body["face_uvs"].ravel()].astype(np.float32)
    uv_layer.data.foreach_set("uv", loop_uv.ravel())

    materials = body["meta"].get("materials", ["skin"])
    colors = {"skin": SKIN_COLOR, "eye": EYE_COLOR}
    for mname in materials:
        mesh.materials.append(_material(f"{name}_{mname}", colors.get(mname, SKIN_COLOR)))
    mesh.polygons.foreach_set("material_index", body["face_material"].astype(np.int32))

    if hasattr(mesh, "shade_smooth"):
        mesh.shade_smooth()
    else:
        mesh.polygons.foreach_set("use_smooth", np.ones(n_faces, dtype=bool))
    mesh.validate(clean_customdata=False)
    mesh.update()
    return mesh


def _add_vertex_groups(mesh_obj, bone_names, index, weight):
    """One vertex group per weighted bone; vg.add batched by identical weight values."""
    n, k = index.shape
    verts = np.repeat(np.arange(n), k)
    bones = index.ravel()
    w = weight.ravel()
    keep = w > 0
    verts, bones, w = verts[keep], bones[keep], w[keep]
    order = np.lexsort((w, bones))
    verts, bones, w = verts[order], bones[order], w[order]
    bone_starts = np.flatnonzero(np.r_[True, bones[1:] != bones[:-1]])
    bone_ends = np.r_[bone_starts[1:], len(bones)]
    for s, e in zip(bone_starts, bone_ends):
        vg = mesh_obj.vertex_groups.new(name=bone_names[bones[s]])
        bw = w[s:e]
        bv = verts[s:e]
        cuts = np.flatnonzero(np.r_[True, bw[1:] != bw[:-1]])
        ends = np.r_[cuts[1:], len(bw)]
        for cs, ce in zip(cuts, ends):
            vg.add(bv[cs:ce].tolist(), float(bw[cs]), "REPLACE")


def skin_to(mesh_obj, arm_obj) -> None:
    """Deform `mesh_obj` by `arm_obj` through its vertex groups (an Armature modifier) and
    parent it to the armature without moving it."""
    mod = mesh_obj.modifiers.new("Armature", "ARMATURE")
    mod.object = arm_obj
    mod.use_vertex_groups = True
    mod.use_bone_envelopes = False
    mesh_obj.parent = arm_obj
    mesh_obj.matrix_parent_inverse.identity()


def build_character(collection=None, name: str = "AnimaCharacter"):
    """The default character: ``game_engine`` armature named ``name`` + skinned body mesh
    (``name + "_Body"``) parented to it, with an Armature modifier, smooth shading and simple
    skin / eye materials. Returns ``(armature_obj, mesh_obj)``."""
    coll = _resolve_collection(collection)
    arm_obj = build_armature(coll, CHARACTER_RIG, name=name)

    mesh = _build_body_mesh(f"{name}_Body")
    mesh_obj = bpy.data.objects.new(f"{name}_Body", mesh)
    coll.objects.link(mesh_obj)

    bone_names, index, weight = load_skin(CHARACTER_RIG)
    _add_vertex_groups(mesh_obj, bone_names, index, weight)

    skin_to(mesh_obj, arm_obj)
    arm_obj["anima_character"] = True
    return arm_obj, mesh_obj


# --------------------------------------------------------------------------- contact sheet


def _motion_points(scene, armature_obj, frames) -> np.ndarray:
    """World positions of the (deforming) bones' heads and tails over the frames, plus their
    floor projections, (M, 3)."""
    bones = [pb for pb in armature_obj.pose.bones if pb.bone.use_deform] or list(armature_obj.pose.bones)
    pts = []
    for f in frames:
        scene.frame_set(int(f))
        mw = armature_obj.matrix_world
        for pb in bones:
            pts.append(tuple(mw @ pb.head))
            pts.append(tuple(mw @ pb.tail))
    pts = np.asarray(pts, dtype=np.float64)
    floor = pts.copy()
    floor[:, 2] = np.minimum(floor[:, 2], 0.0)
    return np.concatenate([pts, floor])


def _fit_camera(points, radius, aspect, hfov, direction):
    """(target, location) of a perspective camera looking along -direction that sees every
    point with a margin of ``radius`` (metres) around it."""
    d = np.asarray(direction, np.float64)
    d /= np.linalg.norm(d)
    right = np.cross(-d, np.array([0.0, 0.0, 1.0]))
    right /= np.linalg.norm(right)
    up = np.cross(right, -d)
    c = (points.min(axis=0) + points.max(axis=0)) / 2.0
    xs = (points - c) @ right
    ys = (points - c) @ up
    target = c + right * (xs.max() + xs.min()) / 2.0 + up * (ys.max() + ys.min()) / 2.0
    rel = points - target
    depth = rel @ d
    tan_h = math.tan(hfov / 2.0)
    tan_v = tan_h / aspect
    dist = max(0.5,
               float(np.max(depth + radius + (np.abs(rel @ right) + radius) / tan_h)),
               float(np.max(depth + radius + (np.abs(rel @ up) + radius) / tan_v)))
    return target, target + d * dist * 1.03


def render_contact_sheet(scene, armature_obj, frames: list[int], out_png: str,
                         size=(320, 240), follow: bool = False) -> str:
    """Render ``frames`` with Workbench and tile them (row-major, first frame top-left, at most
    4 per row) into one PNG of ``(cols * size[0], rows * size[1])`` pixels.

    One fixed camera frames the whole motion (bounds of the bones over all frames), or with
    ``follow`` a camera that keeps the same framing and moves along with the character (sized
    for its largest pose), so travelling motion stays big in every tile; a floor at z = 0 and studio lighting + shadows; the frame number is stamped on each tile.
    Keep it to 6-8 frames. Scene settings, the current frame and the active camera are
    restored and everything temporary is removed. Returns ``out_png``.
    """
    frames = [int(f) for f in frames]
    if not frames:
        raise ValueError("no frames to render")
    w, h = int(size[0]), int(size[1])
    out_png = os.path.abspath(out_png)
    render = scene.render
    shading = scene.display.shading

    saved: list[tuple[object, str, object]] = []

    def setv(owner, attr, value):
        if hasattr(owner, attr):
            saved.append((owner, attr, getattr(owner, attr)))
            _set_attr(owner, attr, value)

    frame_before = scene.frame_current
    had_render_result = any(img.type == "RENDER_RESULT" for img in bpy.data.images)
    tmpdir = tempfile.mkdtemp(prefix="anima_sheet_")
    temp_ids: list = []
    images: list = []
    try:
        points = _motion_points(scene, armature_obj, frames)
        lo, hi = points.min(axis=0), points.max(axis=0)

        # camera: in front of the character (it faces -Y), a little to its left and above
        aspect = w / h
        hfov = math.radians(40.0)
        per_frame = [_motion_points(scene, armature_obj, [f]) for f in frames] if follow \
            else None
        if follow:
            anchors = [np.array([p[:, 0].mean(), p[:, 1].mean(), 0.0]) for p in per_frame]
            rel = np.concatenate([p - a for p, a in zip(per_frame, anchors)])
            center, loc = _fit_camera(rel, 0.14, aspect, hfov, (0.35, -1.0, 0.3))
        else:
            center, loc = _fit_camera(points, 0.14, aspect, hfov, (0.35, -1.0, 0.3))
        cam_data = bpy.data.cameras.new("AnimaSheetCam")
        temp_ids.append(cam_data)
        cam_data.sensor_fit = "HORIZONTAL"
        cam_data.angle = hfov
        cam_data.clip_start = 0.05
        cam_data.clip_end = 1000.0
        cam = bpy.data.objects.new("AnimaSheetCam", cam_data)
        temp_ids.insert(0, cam)
        scene.collection.objects.link(cam)
        cam.location = Vector(loc)
        cam.rotation_euler = (Vector(center) - Vector(loc)).to_track_quat("-Z", "Y").to_euler()

        # floor at z = 0
        ext = float(max(hi[0] - lo[0], hi[1] - lo[1], 2.0)) * 3.0
        fmesh = bpy.data.meshes.new("AnimaSheetFloor")
        temp_ids.append(fmesh)
        cx, cy = float(center[0]), float(center[1])
        fmesh.from_pydata([(cx - ext, cy - ext, 0), (cx + ext, cy - ext, 0),
                           (cx + ext, cy + ext, 0), (cx - ext, cy + ext, 0)], [], [(0, 1, 2, 3)])
        fmat = _material("AnimaSheetFloor", FLOOR_COLOR)
        temp_ids.append(fmat)
        fmesh.materials.append(fmat)
        floor = bpy.data.objects.new("AnimaSheetFloor", fmesh)
        temp_ids.insert(0, floor)
        scene.collection.objects.link(floor)

        # a world for the background colour if the scene has none
        if scene.world is None:
            world = bpy.data.worlds.new("AnimaSheetWorld")
            temp_ids.append(world)
            world.color = (0.16, 0.17, 0.19)
            setv(scene, "world", world)

        setv(scene, "camera", cam)
        setv(render, "filepath", render.filepath)
        setv(render, "engine", "BLENDER_WORKBENCH")
        setv(render, "resolution_x", w)
        setv(render, "resolution_y", h)
        setv(render, "resolution_percentage", 100)
        setv(render, "pixel_aspect_x", 1.0)
        setv(render, "pixel_aspect_y", 1.0)
        setv(render, "film_transparent", False)
        setv(render, "use_border", False)
        setv(render, "use_compositing", False)
        setv(render, "use_sequencer", False)
        setv(render.image_settings, "file_format", "PNG")
        setv(render.image_settings, "color_mode", "RGBA")
        setv(render.image_settings, "color_depth", "8")
        setv(render, "use_file_extension", True)
        for attr in dir(render):
            if attr.startswith("use_stamp"):
                setv(render, attr, attr in ("use_stamp", "use_stamp_frame"))
        setv(render, "stamp_font_size", max(10, h // 18))
        setv(scene.view_settings, "view_transform", "Standard")
        setv(scene.view_settings, "look", "None")
        setv(scene.view_settings, "exposure", 0.0)
        setv(scene.view_settings, "gamma", 1.0)
        setv(scene.display, "render_aa", "8")
        setv(scene.display, "light_direction", (0.35, -0.45, 0.82))
        setv(scene.display, "shadow_shift", 0.05)
        setv(shading, "light", "STUDIO")
        setv(shading, "color_type", "MATERIAL")
        setv(shading, "show_shadows", True)
        setv(shading, "shadow_intensity", 0.45)
        setv(shading, "show_cavity", False)
        setv(shading, "show_object_outline", False)
        setv(shading, "show_specular_highlight", True)

        tiles = []
        for i, f in enumerate(frames):
            if follow:
                cam.location = Vector(np.asarray(loc) + anchors[i])
            scene.frame_set(f)
            path = os.path.join(tmpdir, f"frame_{i:03d}_{f}.png")
            render.filepath = path
            bpy.ops.render.render(write_still=True, scene=scene.name)
            img = bpy.data.images.load(path, check_existing=False)
            images.append(img)
            if tuple(img.size) != (w, h):
                raise RuntimeError(f"rendered image is {tuple(img.size)}, expected {(w, h)}")
            px = np.empty(w * h * 4, dtype=np.float32)
            img.pixels.foreach_get(px)
            tiles.append(px.reshape(h, w, 4))

        n = len(tiles)
        cols = min(n, 4)
        rows = (n + cols - 1) // cols
        sheet = np.zeros((rows * h, cols * w, 4), dtype=np.float32)
        sheet[..., 3] = 1.0
        for i, tile in enumerate(tiles):
            r, c = divmod(i, cols)
            y0 = (rows - 1 - r) * h  # Blender pixel rows go bottom-up
            sheet[y0:y0 + h, c * w:(c + 1) * w] = tile
        sheet[..., 3] = 1.0

        out = bpy.data.images.new("AnimaContactSheet", cols * w, rows * h, alpha=True)
        images.append(out)
        out.pixels.foreach_set(sheet.ravel())
        os.makedirs(os.path.dirname(out_png) or ".", exist_ok=True)
        out.filepath_raw = out_png
        out.file_format = "PNG"
        out.save()
    finally:
        for owner, attr, value in reversed(saved):
            _set_attr(owner, attr, value)
        scene.frame_set(frame_before)
        for img in images:
            with contextlib.suppress(Exception):
                bpy.data.images.remove(img)
        for idb in temp_ids:
            with contextlib.suppress(Exception):
                if isinstance(idb, bpy.types.Object):
                    bpy.data.objects.remove(idb, do_unlink=True)
                elif isinstance(idb, bpy.types.Camera):
                    bpy.data.cameras.remove(idb)
                elif isinstance(idb, bpy.types.Mesh):
                    bpy.data.meshes.remove(idb)
                elif isinstance(idb, bpy.types.Material):
                    bpy.data.materials.remove(idb)
                elif isinstance(idb, bpy.types.World):
                    bpy.data.worlds.remove(idb)
        if not had_render_result:
            for img in [i for i in bpy.data.images if i.type == "RENDER_RESULT"]:
                with contextlib.suppress(Exception):
                    bpy.data.images.remove(img)
        shutil.rmtree(tmpdir, ignore_errors=True)
    return out_png
