"""Follow Path: the active armature walks along a curve or a chain of empties, facing along
it, feet planted, written as a NEW Action (the original is kept, like the timing edits).

The path: a curve object (one spline of any type, in world space; Bezier and poly splines
are read from their points, NURBS from the evaluated curve), or empties in the order of their
names, each of which may carry the custom property ``anima_frame`` = the scene frame at which
the character reaches it. The operator's ``path`` names a curve, or an empty whose child
empties are the chain; left empty it uses the selected objects (one curve, or 2+ empties).
The gait is the armature's Action read back as a canonical clip, or a walk of the shipped
library (``gait="LIBRARY"``, and always when the armature has no Action).

Scripting::

    from anima.operators import path_follow
    path_follow.follow_path_action(rig, [bpy.data.objects["Path"]])
    path_follow.follow_path_action(rig, empties, gait="LIBRARY")

Every problem (a path with no length, crossing itself, arrival frames that need an
impossible speed, ...) raises ValueError with a message for the user before anything in
the scene changes.
"""
from __future__ import annotations

import bpy
import numpy as np
from bpy.props import EnumProperty, StringProperty

from ..backend.motion import pathfollow
from . import retarget, rig_motion

FRAME_PROPERTY = "anima_frame"
LIBRARY_WALK_CAPTION = "walk"
MIN_BEZIER_RESOLUTION = 12


# ------------------------------------------------------------------------ reading paths
def _bezier_points(spline, matrix) -> list:
    from mathutils.geometry import interpolate_bezier
    pts = list(spline.bezier_points)
    pairs = list(zip(pts[:-1], pts[1:]))
    if spline.use_cyclic_u and len(pts) > 1:
        pairs.append((pts[-1], pts[0]))
    steps = max(int(spline.resolution_u), MIN_BEZIER_RESOLUTION) + 1
    out = [pts[0].co] if pts else []
    for a, b in pairs:
        out.extend(interpolate_bezier(a.co, a.handle_right, b.handle_left, b.co, steps)[1:])
    return [matrix @ p for p in out]


def _mesh_chain(obj, depsgraph) -> list:
    """World positions of the evaluated curve's vertices, in order along its edges."""
    ev = obj.evaluated_get(depsgraph)
    mesh = ev.to_mesh()
    try:
        co = [ev.matrix_world @ v.co for v in mesh.vertices]
        edges = [tuple(e.vertices) for e in mesh.edges]
    finally:
        ev.to_mesh_clear()
    if not co:
        return []
    nbrs = {i: [] for i in range(len(co))}
    for a, b in edges:
        nbrs[a].append(b)
        nbrs[b].append(a)
    if any(len(v) > 2 for v in nbrs.values()) or len(edges) > len(co):
        raise ValueError(f"Curve {obj.name!r} is not a single line (remove its bevel or "
                         f"extrusion, or use a Bezier or poly spline)")
    ends = [i for i, v in nbrs.items() if len(v) == 1]
    cur = ends[0] if ends else 0
    order, seen = [cur], {cur}
    while True:
        nxt = [n for n in nbrs[cur] if n not in seen]
        if not nxt:
            break
        cur = nxt[0]
        order.append(cur)
        seen.add(cur)
    if len(order) != len(co):
        raise ValueError(f"Curve {obj.name!r} has more than one piece: a path needs one spline")
    if not ends and len(order) > 2:
        order.append(order[0])                       # closed: back to the start
    return [co[i] for i in order]


def curve_points(obj, depsgraph) -> np.ndarray:
    """World points (N, 3) along a curve object with exactly one spline."""
    splines = obj.data.splines
    if len(splines) != 1:
        raise ValueError(f"Curve {obj.name!r} has {len(splines)} splines: a path needs "
                         f"exactly one")
    spline = splines[0]
    if spline.type == "BEZIER":
        pts = _bezier_points(spline, obj.matrix_world)
    elif spline.type == "POLY":
        pts = [obj.matrix_world @ p.co.xyz for p in spline.points]
        if spline.use_cyclic_u and len(pts) > 2:
            pts.append(pts[0])
    else:
        pts = _mesh_chain(obj, depsgraph)
    return np.array([tuple(p) for p in pts], dtype=np.float64).reshape(-1, 3)


def empty_chain(empties) -> tuple[np.ndarray, list[str], list[tuple[int, float]]]:
    """Points (N, 3) of the empties in name order, their labels ("empty 'B'"), and the
    arrival frames they carry as [(index, scene frame)]."""
    ordered = sorted(empties, key=lambda o: o.name)
    pts = np.array([tuple(o.matrix_world.translation) for o in ordered], dtype=np.float64)
    labels = [f"empty {o.name!r}" for o in ordered]
    frames = []
    for i, o in enumerate(ordered):
        if FRAME_PROPERTY in o:
            value = o[FRAME_PROPERTY]
            try:
                frames.append((i, float(value)))
            except (TypeError, ValueError):
                raise ValueError(f"{labels[i]}: {FRAME_PROPERTY} must be a frame number, got "
                                 f"{value!r}") from None
    return pts.reshape(-1, 3), labels, frames


def resolve_path_objects(context, name: str) -> list:
    """The path's objects: the named curve, the named empty's child empties, or (no name)
    the selected objects that are not armatures."""
    if name:
        obj = bpy.data.objects.get(name)
        if obj is None:
            raise ValueError(f"No object named {name!r} to follow")
        if obj.type == "CURVE":
            return [obj]
        if obj.type == "EMPTY":
            kids = [c for c in obj.children if c.type == "EMPTY"]
            if not kids:
                raise ValueError(f"Empty {name!r} has no child empties: parent the path's "
                                 f"empties to it, or select them")
            return kids
        raise ValueError(f"{name!r} is a {obj.type.lower()}: the path must be a curve or "
                         f"empties")
    return [o for o in context.selected_objects if o.type != "ARMATURE"]


def read_path(objects, scene, depsgraph):
    """(points (N, 3), labels, arrival [(index, seconds from the start)], start frame or
    None) from one curve or two or more empties."""
    curves = [o for o in objects if o.type == "CURVE"]
    empties = [o for o in objects if o.type == "EMPTY"]
    others = [o.name for o in objects if o.type not in ("CURVE", "EMPTY")]
    if others or (curves and empties) or len(curves) > 1:
        raise ValueError("Select one curve, or the empties of the path (and the armature)")
    if curves:
        pts = curve_points(curves[0], depsgraph)
        return pts, None, [], None
    if not empties:
        raise ValueError("Select the path to follow: a curve, or a chain of empties")
    pts, labels, frames = empty_chain(empties)
    if len(pts) < 2:
        raise ValueError(f"A path needs at least 2 points, got {len(pts)} ({labels[0]}): "
                         f"select more empties")
    start = frames[0][1] if frames and frames[0][0] == 0 else None
    return pts, labels, frames, start


# --------------------------------------------------------------------------- the edit
def library_walk():
    """A straight walk from the shipped library (the first whose caption is "walk")."""
    from ..backend.data.library import DEFAULT_LIBRARY, MotionLibrary
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    for i, entry in enumerate(lib.entries):
        if entry.captions and entry.captions[0] == LIBRARY_WALK_CAPTION:
            return lib.clip(i)
    raise ValueError(f"The motion library {DEFAULT_LIBRARY.name} has no walk")


def _check_armature(arm_obj):
    if arm_obj is None or arm_obj.type != "ARMATURE":
        raise ValueError("Select the armature that should follow the path")
    if arm_obj.mode == "EDIT":
        raise ValueError(f"Leave Edit Mode on {arm_obj.name!r} first")
    anim = arm_obj.animation_data
    if anim is not None and anim.use_tweak_mode:
        raise ValueError(f"Armature {arm_obj.name!r} is in NLA tweak mode: exit it first")
    return anim.action if anim is not None else None


def follow_path_action(arm_obj, path_objects, *, gait: str = "ACTION", scene=None,
                       root_mode: str = "hips", foot_ik: bool = True):
    """The armature walking the path as a new Action (returned), made active; the original
    Action (if any) is kept. gait: "ACTION" (the armature's motion; the library walk when it
    has none) or "LIBRARY". Raises ValueError with a message; nothing changes then."""
    scene = scene or bpy.context.scene
    action = _check_armature(arm_obj)
    if gait not in ("ACTION", "LIBRARY"):
        raise ValueError(f"gait must be 'ACTION' or 'LIBRARY', got {gait!r}")
    depsgraph = bpy.context.evaluated_depsgraph_get()
    pts, labels, frames, start = read_path(list(path_objects), scene, depsgraph)
    fps = retarget.scene_fps(scene)
    if action is not None and gait == "ACTION":
        first, last = rig_motion.action_frame_range(arm_obj)
        clip = rig_motion.canonical_clip_from_armature(arm_obj, first, last, scene=scene)
    else:
        clip = library_walk()
    if start is None:
        start = float(action.frame_range[0]) if action is not None else float(scene.frame_start)
    arrival = [(i, (f - start) / fps) for i, f in frames]
    followed = pathfollow.follow_path(clip, pts, arrival=arrival or None, fps=fps,
                                      labels=labels)
    parents = {o.parent.name if o.parent is not None else None for o in path_objects}
    if len(path_objects) == 1:
        what = path_objects[0].name
    elif len(parents) == 1 and None not in parents:
        what = parents.pop()                      # the empties of one group
    else:
        what = f"{len(pts)} empties"
    info = {"anima_edit": f"follow path {what}"}
    if action is not None:
        info["anima_version_of"] = action.name
        name = f"{action.name} (path)"
    else:
        name = f"Follow {what}"
    return retarget.apply_clip_to_armature(
        arm_obj, followed, root_mode=root_mode, foot_ik=foot_ik, frame_start=start,
        action_name=name, scene=scene, info=info)


# --------------------------------------------------------------------------- operator
class ANIMA_OT_follow_path(bpy.types.Operator):
    """Make the active armature walk along a curve or a chain of empties (each may carry an
    'anima_frame' arrival frame), facing along it with planted feet, as a new Action; the
    original Action is kept"""
    bl_idname = "anima.follow_path"
    bl_label = "Follow Path"
    bl_options = {"REGISTER", "UNDO"}

    path: StringProperty(name="Path", default="",
                         description="A curve, or an empty whose child empties are the path "
                                     "(empty: the selected curve or empties)")
    gait: EnumProperty(name="Gait", default="ACTION",
                       items=[("ACTION", "Rig's Action", "Walk with the armature's own "
                               "motion (the library walk when it has none)"),
                              ("LIBRARY", "Library Walk", "A walk from the shipped library")])

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return obj is not None and obj.type == "ARMATURE"

    def execute(self, context):
        from .generate import options_from_settings
        from .jobs import user_message
        try:
            opts = options_from_settings(context.scene.anima, context.scene)
            objects = resolve_path_objects(context, self.path.strip())
            action = follow_path_action(context.active_object, objects, gait=self.gait,
                                        scene=context.scene, root_mode=opts["root_mode"],
                                        foot_ik=opts["foot_ik"])
        except Exception as e:  # noqa: BLE001 - every failure becomes a report
            self.report({"ERROR"}, user_message(e))
            return {"CANCELLED"}
        self.report({"INFO"}, f"New version {action.name!r}")
        return {"FINISHED"}


CLASSES = [ANIMA_OT_follow_path]
