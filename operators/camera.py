"""Animate Camera: plan drone-like camera moves around a subject (the backend's `camera` job),
preview them as curves, pick one, key it on the camera, render a contact sheet.

Scene.anima_camera (AnimaCamera) keeps the subject, the shot and its options, the frame
range, the last result (a JSON file in the cache folder) and the chosen alternative. Plan
Camera submits the job and returns at once (blocking in background mode); its result is
shown as preview curves and a list of alternatives with their metrics. Animate Camera keys
the chosen one in new Actions (one undo step). The scene is read and written by
camera_scene.py.

The `camera` job (backend/models/camera/job.py):
    params: {"geometry": {"path": npz} | {"format": "anima-mesh-b64", ...},
             "subject": {"fps", "positions": [[x, y, z]] * T, "radius"},
             "shot", "options": {"distance", "height", "speed", "side", "lens_mm", "drone"}
             (only those set; the backend picks the rest), "alternatives": 1..6, "seed"}
    result: {"fps", "frames": T, "paths": [{"name", "shot", "location": (T, 3),
             "rotation": (T, 4) wxyz (looks along local -Z, up local +Y), "lens_mm": (T,),
             "metrics": {...}}], "selected", "warnings"}
"""
from __future__ import annotations

import json
import os
import time
from typing import NamedTuple

import bpy
import numpy as np
from bpy.props import (BoolProperty, CollectionProperty, EnumProperty, FloatProperty,
                       IntProperty, PointerProperty, StringProperty)

from .. import preferences
from ..backend import fileio
from . import camera_scene, jobs

SHOT_ITEMS = [("orbit", "Orbit", "Circle around the subject"),
              ("reveal", "Reveal", "Rise from behind an obstacle to show the subject"),
              ("fly_through", "Fly Through", "Fly through a gap towards the subject"),
              ("follow", "Follow", "Chase a moving subject from behind"),
              ("fly_by", "Fly By", "Pass the subject at speed"),
              ("crane", "Crane", "Boom up or down while looking at the subject"),
              ("dronie", "Dronie", "Pull back and up away from the subject"),
              ("top_down", "Top Down", "Look straight down on the subject"),
              ("surprise", "Surprise Me", "The planner picks and combines shots")]
SIDE_ITEMS = [("left", "Left", ""), ("right", "Right", "")]
DRONE_ITEMS = [("cinematic", "Cinematic", "A slow, smooth camera drone"),
               ("fpv", "FPV", "A fast, agile first-person-view drone")]
METRIC_KEYS = ("crashes", "min_clearance_m", "in_frame", "unoccluded", "framing_error",
               "jerk", "catmull_rom_jerk", "max_speed", "max_accel", "max_yaw_rate")


def _not_camera(self, obj):
    return obj.type != "CAMERA"


def _start_from_scene_range(self, context):
    """Unticking Scene Range starts the own range from the scene's."""
    if not self.use_scene_range and context is not None and context.scene is not None:
        self.frame_start, self.frame_end = context.scene.frame_start, context.scene.frame_end


class AnimaCameraAlternative(bpy.types.PropertyGroup):
    """One planned path of the last result and its metrics (the panel's list)."""
    shot: StringProperty()
    crashes: IntProperty()
    min_clearance_m: FloatProperty()
    in_frame: FloatProperty()
    unoccluded: FloatProperty()
    framing_error: FloatProperty()
    jerk: FloatProperty()
    catmull_rom_jerk: FloatProperty()
    max_speed: FloatProperty()
    max_accel: FloatProperty()
    max_yaw_rate: FloatProperty()


class AnimaCamera(bpy.types.PropertyGroup):
    """Scene.anima_camera: what to film, how, and what the last plan returned."""
    subject: PointerProperty(name="Subject", type=bpy.types.Object, poll=_not_camera,
                             description="What the camera films: a character's armature "
                                         "(its bones) or any object")
    shot: EnumProperty(name="Shot", items=SHOT_ITEMS, default="orbit")
    distance: FloatProperty(name="Distance", description="From the subject (0: automatic)",
                            default=0.0, min=0.0, max=500.0, unit="LENGTH")
    height: FloatProperty(name="Height", description="Above the subject's centre "
                          "(0: automatic)", default=0.0, min=-50.0, max=500.0, unit="LENGTH")
    speed: FloatProperty(name="Speed", description="Camera speed in m/s (0: automatic)",
                         default=0.0, min=0.0, max=60.0)
    side: EnumProperty(name="Side", items=SIDE_ITEMS, default="left")
    lens_mm: FloatProperty(name="Focal Length", description="Millimetres on a 36 mm sensor "
                           "(0: automatic)", default=0.0, min=0.0, max=400.0)
    drone: EnumProperty(name="Drone", items=DRONE_ITEMS, default="cinematic")
    use_scene_range: BoolProperty(name="Scene Range", default=True,
                                  description="Film the scene's frame range",
                                  update=_start_from_scene_range)
    frame_start: IntProperty(name="Start", default=1)
    frame_end: IntProperty(name="End", default=250)
    alternatives: IntProperty(name="Alternatives", default=3, min=1, max=6)
    seed: IntProperty(name="Seed", default=0, min=0)
    result_path: StringProperty(name="Last Plan", subtype="FILE_PATH",
                                description="The last camera result (JSON)")
    camera_name: StringProperty()         # the camera the last plan was made for
    plan_frame_start: IntProperty()       # the first frame of the last plan's range
    paths: CollectionProperty(type=AnimaCameraAlternative)
    chosen: IntProperty(name="Chosen", min=0)
    warnings: StringProperty()
    triangles: IntProperty()              # the last plan's scene size
    sheet_path: StringProperty(subtype="FILE_PATH")


# ----------------------------------------------------------------------------- reading
def frame_range(scene) -> tuple[int, int]:
    s = scene.anima_camera
    start, end = (scene.frame_start, scene.frame_end) if s.use_scene_range \
        else (s.frame_start, s.frame_end)
    if end <= start:
        raise ValueError(f"The frame range {start}-{end} is empty: the end frame must come "
                         f"after the start frame")
    return int(start), int(end)


def target_camera(context):
    """The active object if it is a camera, else the scene camera (ValueError)."""
    obj = context.active_object
    if obj is not None and obj.type == "CAMERA":
        return obj
    cam = context.scene.camera
    if cam is not None and cam.type == "CAMERA" and context.scene.objects.get(cam.name) == cam:
        return cam
    raise ValueError("No camera: make a camera the active object or the scene camera")


def subject_of(context):
    subject = context.scene.anima_camera.subject
    if subject is None:
        raise ValueError("Choose the subject to film (a character's armature or any object)")
    if context.scene.objects.get(subject.name) != subject:
        raise ValueError(f"The subject {subject.name!r} is not in this scene")
    if subject.type == "CAMERA":
        raise ValueError("The subject cannot be a camera")
    return subject


def _options(s) -> dict:
    opts = {"side": s.side, "drone": s.drone}
    for key in ("distance", "speed", "lens_mm"):
        if getattr(s, key) > 0:
            opts[key] = float(getattr(s, key))
    if s.height != 0:
        opts["height"] = float(s.height)
    return opts


def load_result(settings) -> dict:
    """The last plan's result (ValueError when there is none or its file is gone)."""
    path = settings.result_path
    if not path:
        raise ValueError("Plan the camera first")
    try:
        with open(bpy.path.abspath(path), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"The last camera plan cannot be read ({path}): plan again "
                         f"({e})") from None


def job_label(shot: str, triangles: int) -> str:
    """The progress label: the shot and the scene's size (a huge scene takes a while)."""
    return f"camera {shot} ({triangles:,} triangles)"


class PlanRequest(NamedTuple):
    params: dict               # the `camera` job's params (the contract in the module doc)
    camera: bpy.types.Object
    frame_start: int           # the range's first frame: where the keys will start
    cache_dir: str
    triangles: int             # the scene's size, for the progress label


def plan_request(context) -> PlanRequest:
    """The `camera` job's params for the scene as it is, checked first (ValueError or
    ConfigError for the user, nothing changed). The geometry goes to an .npz in the cache
    (local backend) or inline (remote backend)."""
    s = context.scene.anima_camera
    cam = target_camera(context)
    subject = subject_of(context)
    start, end = frame_range(context.scene)
    cache_dir = _cache_dir(context)
    remote = preferences.get_prefs(context).backend_mode == "REMOTE"
    track = camera_scene.subject_track(context.scene, subject, start, end, context.view_layer)
    exclude = camera_scene.subject_objects(subject, context.scene) | {cam}
    verts, tris = camera_scene.scene_triangles(context, exclude)
    geometry = camera_scene.geometry_param(verts, tris, cache_dir, remote)
    params = {"geometry": geometry, "subject": track, "shot": s.shot, "options": _options(s),
              "alternatives": int(s.alternatives), "seed": int(s.seed)}
    return PlanRequest(params, cam, start, cache_dir, int(len(tris)))


# ----------------------------------------------------------------------------- applier
def checked_paths(result: dict) -> list[dict]:
    """The result's paths with numpy arrays: location (T, 3), rotation (T, 4) wxyz
    normalised, lens_mm (T,). ValueError (for the user) when the result is malformed."""
    if not isinstance(result, dict):
        raise ValueError("The camera result is not a dict")
    try:
        fps = float(result.get("fps", 0))
    except (TypeError, ValueError):
        fps = 0.0
    if not fps > 0:
        raise ValueError(f"The camera result has no valid fps ({result.get('fps')!r})")
    paths = result.get("paths")
    if not isinstance(paths, list) or not paths:
        raise ValueError("The camera result has no paths")
    out = []
    for i, p in enumerate(paths):
        try:
            loc = np.asarray(p["location"], dtype=np.float64)
            rot = np.asarray(p["rotation"], dtype=np.float64)
            lens = np.asarray(p["lens_mm"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"Camera path {i + 1} is malformed ({e})") from None
        T = len(loc)
        if T < 2 or loc.shape != (T, 3) or rot.shape != (T, 4) or lens.shape != (T,):
            raise ValueError(f"Camera path {i + 1} arrays disagree: location {loc.shape}, "
                             f"rotation {rot.shape}, lens_mm {lens.shape}")
        if not (np.isfinite(loc).all() and np.isfinite(rot).all() and np.isfinite(lens).all()):
            raise ValueError(f"Camera path {i + 1} has values that are not finite")
        norm = np.linalg.norm(rot, axis=1)
        if (norm < 1e-6).any() or (lens <= 0).any():
            raise ValueError(f"Camera path {i + 1} has a zero rotation or lens")
        out.append({"name": str(p.get("name") or f"path {i + 1}"), "shot": str(p.get("shot", "")),
                    "location": loc, "rotation": rot / norm[:, None], "lens_mm": lens,
                    "metrics": dict(p.get("metrics") or {})})
    return out


def apply_plan_result(result: dict, scene_name: str, camera_name: str, frame_start: int,
                      cache_dir: str, triangles: int = 0) -> bpy.types.Object | None:
    """Show a `camera` result: preview curves, the list of alternatives, the warnings; the
    result is kept as a JSON file in `cache_dir`. Returns the chosen path's curve."""
    paths = checked_paths(result)            # ValueError: nothing changed
    scene = bpy.data.scenes[scene_name]
    s = scene.anima_camera
    chosen = result.get("selected", 0)
    chosen = chosen if isinstance(chosen, int) and 0 <= chosen < len(paths) else 0
    os.makedirs(cache_dir, exist_ok=True)
    path = os.path.join(cache_dir, f"camera_result_{time.time_ns()}.json")
    fileio.write_text(path, json.dumps({k: v for k, v in result.items() if k != "artifacts"}))
    s.result_path, s.camera_name, s.plan_frame_start = path, camera_name, int(frame_start)
    s.triangles = min(int(triangles), 2**31 - 1)
    s.paths.clear()
    for p in paths:
        item = s.paths.add()
        item.name, item.shot = p["name"][:60], p["shot"]
        for key in METRIC_KEYS:
            value = p["metrics"].get(key)
            if isinstance(value, (int, float)) and value == value:
                setattr(item, key, int(value) if key == "crashes" else float(value))
    s.chosen = chosen
    s.warnings = "\n".join(str(w) for w in result.get("warnings") or [] if str(w).strip())
    curves = camera_scene.make_preview(scene, paths, chosen)
    return curves[chosen]


def _cache_dir(context) -> str:
    return preferences.resolve_cache_dir(preferences.get_prefs(context))


# ----------------------------------------------------------------------------- operators
class ANIMA_OT_camera_plan(bpy.types.Operator):
    """Plan camera moves around the subject that avoid every mesh of the scene (several
    alternatives, shown as curves)"""
    bl_idname = "anima.camera_plan"
    bl_label = "Plan Camera"
    bl_options = {"REGISTER"}

    def execute(self, context):
        session = jobs.get_session()
        if session.busy:
            self.report({"ERROR"}, "Anima is already working on a job: wait or cancel it")
            return {"CANCELLED"}
        try:
            req = plan_request(context)
        except (ValueError, preferences.ConfigError, OSError) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        s = context.scene.anima_camera
        label = job_label(s.shot, req.triangles)
        scene_name, cam_name = context.scene.name, req.camera.name
        start, cache_dir, triangles = req.frame_start, req.cache_dir, req.triangles

        def on_result(result):
            return apply_plan_result(result, scene_name, cam_name, start, cache_dir,
                                     triangles)

        try:
            record = session.submit("camera", req.params, label=label, on_result=on_result,
                                    undo_message="Anima: plan camera", context=context)
        except jobs.JobFailed as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        if record.done:                    # background mode: applied (or failed) already
            if record.error:
                self.report({"ERROR"}, record.error)
                return {"CANCELLED"}
            self.report({"INFO"}, f"{label}: {len(s.paths)} alternative(s)")
            if s.warnings:
                self.report({"WARNING"}, s.warnings.splitlines()[0])
        return {"FINISHED"}


class ANIMA_OT_camera_pick(bpy.types.Operator):
    """Choose this alternative (its curve is highlighted)"""
    bl_idname = "anima.camera_pick"
    bl_label = "Choose Camera Path"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(name="Alternative", min=0)

    def execute(self, context):
        s = context.scene.anima_camera
        if not 0 <= self.index < len(s.paths):
            self.report({"ERROR"}, f"There is no alternative {self.index + 1}: plan the "
                        f"camera first")
            return {"CANCELLED"}
        s.chosen = self.index
        camera_scene.highlight_preview(context.scene, self.index)
        return {"FINISHED"}


class ANIMA_OT_camera_apply(bpy.types.Operator):
    """Key the chosen path on the camera (location, rotation, focal length) in new Actions
    from the range's first frame; the preview curves are removed"""
    bl_idname = "anima.camera_apply"
    bl_label = "Animate Camera"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        scene = context.scene
        s = scene.anima_camera
        try:
            result = load_result(s)
            paths = checked_paths(result)
            if not 0 <= s.chosen < len(paths):
                raise ValueError(f"There is no alternative {s.chosen + 1}: plan again")
            cam = scene.objects.get(s.camera_name)
            if cam is None or cam.type != "CAMERA":
                raise ValueError(f"The planned camera {s.camera_name!r} is not in this scene")
            scene_fps = scene.render.fps / scene.render.fps_base
            path = paths[s.chosen]
            meta = {"anima_camera_shot": path["shot"], "anima_camera_path": path["name"]}
            obj_action, _data_action = camera_scene.write_camera_keys(
                cam, path, float(s.plan_frame_start), scene_fps / float(result["fps"]), meta)
        except ValueError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        camera_scene.remove_preview(scene)
        self.report({"INFO"}, f"Animated {cam.name!r} with {path['name']!r} "
                              f"({obj_action.name!r})")
        return {"FINISHED"}


class ANIMA_OT_camera_clear_preview(bpy.types.Operator):
    """Remove the camera path preview curves"""
    bl_idname = "anima.camera_clear_preview"
    bl_label = "Clear Camera Preview"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        n = camera_scene.remove_preview(context.scene)
        self.report({"INFO"}, f"Removed {n} preview curve(s)")
        return {"FINISHED"}


class ANIMA_OT_camera_contact_sheet(bpy.types.Operator):
    """Render 8 frames of the range from the camera (Workbench) into one PNG next to the
    .blend file (or in the cache folder when it is not saved)"""
    bl_idname = "anima.camera_contact_sheet"
    bl_label = "Contact Sheet"
    bl_options = {"REGISTER"}

    def execute(self, context):
        scene = context.scene
        s = scene.anima_camera
        try:
            cam = scene.objects.get(s.camera_name) if s.camera_name else None
            cam = cam if cam is not None and cam.type == "CAMERA" else target_camera(context)
            start, end = frame_range(scene)
            if bpy.data.filepath:
                stem = os.path.splitext(bpy.path.basename(bpy.data.filepath))[0]
                out = os.path.join(os.path.dirname(bpy.data.filepath),
                                   f"{stem}_camera_sheet.png")
            else:
                out = os.path.join(_cache_dir(context), f"camera_sheet_{scene.name}.png")
            frames = camera_scene.sheet_frames(start, end)
            camera_scene.render_contact_sheet(scene, cam, frames, out)
        except (ValueError, preferences.ConfigError, OSError, RuntimeError) as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        s.sheet_path = out
        self.report({"INFO"}, f"Contact sheet: {out}")
        return {"FINISHED"}


CLASSES = [AnimaCameraAlternative, AnimaCamera, ANIMA_OT_camera_plan, ANIMA_OT_camera_pick,
           ANIMA_OT_camera_apply, ANIMA_OT_camera_clear_preview, ANIMA_OT_camera_contact_sheet]

PROPS = [(bpy.types.Scene, "anima_camera", lambda: PointerProperty(type=AnimaCamera))]
