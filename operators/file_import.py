"""Read the motion in a .bvh / .fbx / .glb / .gltf file with Blender's own importers, leaving
nothing behind.

`read_motion_file(path, fps)` imports the file into a temporary scene (so the importers'
side effects, such as the FBX importer setting the scene frame rate, stay there), picks its
armature, samples the armature's evaluated world pose at `fps` over its action, maps it to the
canonical joints, then removes every data-block the import created (objects, armatures,
actions, meshes, materials, images, collections, the scene itself...).
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass

import bpy
import numpy as np

from ..backend.motion.skeleton import Skeleton
from . import retarget, rig_motion

IMPORT_EXTENSIONS = (".bvh", ".fbx", ".glb", ".gltf")
# Data-block collections never touched (the UI's own data; no importer creates these).
_KEEP_COLLECTIONS = {"window_managers", "workspaces", "screens"}


class MotionFileError(ValueError):
    """A file that cannot be applied; the message is for the user."""


class SeveralArmaturesError(MotionFileError):
    """The file holds several armatures and none was chosen; `names` lists them."""

    def __init__(self, path: str, names: list[str]):
        self.names = list(names)
        super().__init__(f"{os.path.basename(path)} has {len(names)} armatures "
                         f"({', '.join(names)}): choose one (source_armature)")


@dataclass
class FileMotion:
    """An imported armature's motion, sampled at the scene rate.

    skeleton: the source armature's rest pose (world axes, like armature_skeleton).
    bonemap: its automatic BoneMap. world_rot (T, K, 4) wxyz / world_pos (T, K, 3): posed
    world rotation and head position of every bone, in skeleton order. fps: the sample rate
    (the requested one); file_fps: the file's own key rate (None for glTF, which stores times).
    """
    skeleton: Skeleton
    bonemap: object
    world_rot: np.ndarray
    world_pos: np.ndarray
    fps: float
    file_fps: float | None
    armature_name: str


# ----------------------------------------------------------------------------- data-blocks
def _id_collection_names() -> list[str]:
    names = []
    for prop in bpy.data.bl_rna.properties:
        if prop.type != "COLLECTION" or prop.identifier in _KEEP_COLLECTIONS:
            continue
        base = prop.fixed_type
        while base is not None and base.identifier != "ID":
            base = base.base
        if base is not None:
            names.append(prop.identifier)
    return names


def id_snapshot() -> dict[str, set[int]]:
    """Pointers of every data-block, per bpy.data collection."""
    return {name: {i.as_pointer() for i in getattr(bpy.data, name)}
            for name in _id_collection_names()}


def remove_new_ids(before: dict[str, set[int]]) -> int:
    """Remove every data-block that is not in `before` (an id_snapshot); returns how many."""
    new = []
    for name, old in before.items():
        new.extend(i for i in getattr(bpy.data, name) if i.as_pointer() not in old)
    if new:
        bpy.data.batch_remove(new)
    return len(new)


# ----------------------------------------------------------------------------- import
def _window():
    ctx = bpy.context
    if ctx.window is not None:
        return ctx.window
    windows = ctx.window_manager.windows if ctx.window_manager else []
    if not len(windows):
        raise MotionFileError("Importing motion files needs a Blender window (none is open)")
    return windows[0]


def _lying(arm_obj) -> bool:
    """True when the armature's rest pose is much longer along Y than it is tall (a Z-up BVH,
    such as Blender's own BVH exporter writes, read as Y-up)."""
    heads = np.array([b.head_local for b in arm_obj.data.bones])
    if len(heads) < 2:
        return False
    extent = heads.max(axis=0) - heads.min(axis=0)
    return bool(extent[2] < 0.5 * extent[1])


def _import_bvh(path: str) -> None:
    # One key per BVH frame; the temporary scene takes the file's frame rate.
    options = dict(filepath=path, target="ARMATURE", frame_start=1, use_fps_scale=False,
                   update_scene_fps=True, update_scene_duration=False, rotate_mode="NATIVE")
    bpy.ops.import_anim.bvh(**options)           # BVH is Y up by convention...
    arm = bpy.context.view_layer.objects.active
    if arm is not None and arm.type == "ARMATURE" and _lying(arm):
        bpy.data.objects.remove(arm)             # ...but Blender writes Z up
        bpy.ops.import_anim.bvh(axis_forward="Y", axis_up="Z", **options)


def _run_importer(path: str, ext: str) -> None:
    if ext == ".bvh":
        _import_bvh(path)
    elif ext == ".fbx":
        # Sets the (temporary) scene's frame rate to the file's; keys at time * render.fps.
        bpy.ops.import_scene.fbx(filepath=path, use_anim=True, ignore_leaf_bones=False,
                                 automatic_bone_orientation=False)
    else:
        options = {"import_select_created_objects": False, "disable_bone_shape": True}
        known = bpy.ops.import_scene.gltf.get_rna_type().properties.keys()
        # Blender 4.2's importer has fewer options than 5.0's: pass the ones it knows.
        bpy.ops.import_scene.gltf(filepath=path, **{k: v for k, v in options.items()
                                                    if k in known})


@contextmanager
def imported_scene(path: str, fps: float):
    """Import `path` into a new temporary scene (frame rate `fps`) and yield that scene;
    afterwards the user's scene is shown again and every data-block created since entering
    (the scene included) is removed, also when the import or the caller fails."""
    ext = os.path.splitext(path)[1].lower()
    before = id_snapshot()
    window = _window()
    user_scene, user_layer = window.scene, window.view_layer
    override = bpy.context.window is None
    try:
        scene = bpy.data.scenes.new("Anima Import")
        scene.render.fps, scene.render.fps_base = max(1, int(round(fps))), 1.0
        window.scene = scene
        try:
            # The context must name the temporary scene and its view layer too: inside an
            # operator, Blender 4.2's context keeps the user's view layer after the window's
            # scene changes, and the importers' view-layer updates then crash it.
            keys = {"scene": scene, "view_layer": scene.view_layers[0]}
            if override:
                keys["window"] = window
            with bpy.context.temp_override(**keys):
                _run_importer(path, ext)
        except RuntimeError as e:
            detail = str(e).strip().splitlines()
            last = next((ln for ln in reversed(detail) if ln.strip()), "import failed")
            raise MotionFileError(f"Blender could not import {os.path.basename(path)}: "
                                  f"{last.strip()}") from None
        finally:
            window.scene = user_scene
            if window.view_layer != user_layer:
                window.view_layer = user_layer
        yield scene
    finally:
        remove_new_ids(before)


# ----------------------------------------------------------------------------- reading
def _pick_armature(scene, path: str, choice: str | None):
    arms = sorted((o for o in scene.objects if o.type == "ARMATURE"), key=lambda o: o.name)
    if not arms:
        raise MotionFileError(f"{os.path.basename(path)} has no armature (no skeleton to take "
                              f"motion from)")
    # Blender renames imported objects that clash with the user's ("Hero.001"): show and
    # accept the names the file gives them where that is unambiguous.
    suffix = re.compile(r"\.\d{3}$")
    names = [suffix.sub("", o.name) for o in arms]
    if len(set(names)) != len(names):
        names = [o.name for o in arms]
    if choice:
        for o, name in zip(arms, names):
            if choice in (o.name, name):
                return o
        raise MotionFileError(f"{os.path.basename(path)} has no armature {choice!r}; it has: "
                              f"{', '.join(names)}")
    if len(arms) > 1:
        raise SeveralArmaturesError(path, names)
    return arms[0]


def _animation(arm_obj):
    """The armature's action (the active one, else its first NLA strip's), or None."""
    anim = arm_obj.animation_data
    if anim is None:
        return None
    if anim.action is not None:
        return anim.action
    for track in anim.nla_tracks:
        for strip in track.strips:
            if strip.action is not None:
                anim.action = strip.action
                if hasattr(anim, "action_slot") and getattr(strip, "action_slot", None):
                    anim.action_slot = strip.action_slot
                track.mute = True
                return strip.action
    return None


def _has_keys(action, arm_obj) -> bool:
    from . import keys
    return any(len(fc.keyframe_points) for fc in keys.fcurves_of(action, arm_obj))


def sample_frames(first: float, last: float, key_fps: float, fps: float) -> np.ndarray:
    """Frames of the source timeline (keys at key_fps) at which to sample it at `fps`: its
    first and last frames exactly, evenly spaced (backend.motion.resample's rule)."""
    span = float(last) - float(first)
    n = int(round(span * fps / key_fps)) + 1 if span > 0 else 1
    if n == 1:
        return np.array([float(first)])
    return float(first) + np.arange(n, dtype=np.float64) * span / (n - 1)


def _clean_fps(fps: float) -> float:
    """Frame rates like 59.999988 (a rounded frame time) read as 60."""
    return float(round(fps)) if abs(fps - round(fps)) < 1e-3 else float(fps)


def read_motion_file(path: str, fps: float, source_armature: str | None = None) -> FileMotion:
    """The motion of the file's armature sampled at `fps` (see FileMotion). Raises
    MotionFileError (SeveralArmaturesError) or bonemap.MappingError; leaves no data behind."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in IMPORT_EXTENSIONS:
        raise MotionFileError(f"Not a file Blender can import motion from: {path!r}")
    with imported_scene(path, fps) as scene:
        return read_scene_motion(scene, path, fps, source_armature)


def read_scene_motion(scene, path: str, fps: float, source_armature: str | None = None
                      ) -> FileMotion:
    """read_motion_file's reading half, on the temporary scene `path` was imported into."""
    from ..backend.motion.bonemap import MappingError
    ext = os.path.splitext(path)[1].lower()
    name = os.path.basename(path)
    src = _pick_armature(scene, path, source_armature)
    action = _animation(src)
    if action is None or not _has_keys(action, src):
        raise MotionFileError(f"{name} has no animation: the armature {src.name!r} is "
                              f"not keyed")
    first, last = (float(x) for x in action.frame_range)
    if ext in (".bvh", ".fbx"):
        file_fps = _clean_fps(scene.render.fps / scene.render.fps_base)
        # BVH: one key per file frame; FBX: keys at time * the (whole) render.fps.
        key_fps = file_fps if ext == ".bvh" else float(scene.render.fps)
    else:                                   # glTF stores times: keys at time * render.fps
        file_fps, key_fps = None, float(scene.render.fps)
    frames = sample_frames(first, last, key_fps, fps)
    try:
        bm = retarget.auto_map_armature(src)
    except MappingError as e:
        raise MappingError(f"The skeleton in {name} could not be mapped: {e}") from None
    skel = retarget.armature_skeleton(src)
    world_rot, world_pos = rig_motion.evaluated_world_pose(src, frames, scene)
    return FileMotion(skel, bm, world_rot, world_pos, float(fps), file_fps, src.name)
