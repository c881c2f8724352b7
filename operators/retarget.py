"""Apply canonical motion clips to the user's armature.

- `armature_skeleton(arm_obj)`: the armature's rest pose as a `backend.motion` Skeleton.
- The bone mapping (canonical joint -> bone name) lives on the Armature data block
  (`armature.anima_mapping`), so it is saved with the .blend file and editable in the panel.
- `apply_clip_to_armature(...)`: Clip (or .npz path) -> resample to the scene rate ->
  `retarget_to_rig` -> a new Action (operators/keys.py).
- Mapping presets are JSON files in the extension's user folder `presets/`.
"""
from __future__ import annotations

import json
import logging
import os
import re

import bpy
import numpy as np
from bpy.props import (CollectionProperty, EnumProperty, FloatProperty, IntProperty,
                       StringProperty)

from ..backend.motion.clip import Clip
from ..backend.motion.skeleton import CANONICAL_NAMES, Skeleton
from .. import preferences
from . import keys
from .rig_rules import check_armature, constraint_followers, skip_mechanism_bones



def _bonemap():
    # Imported on use, so the add-on registers (and can show the error) even if the motion
    # modules fail to import.
    from ..backend.motion import bonemap
    return bonemap


def _retarget():
    from ..backend.motion import retarget
    return retarget


ROOT_MODES = [
    ("hips", "Hips", "Move the hips bone; the armature's root bone stays put"),
    ("root_bone", "Root Bone", "Move the rig's root bone along the ground and the hips relative "
                               "to it"),
    ("in_place", "In Place", "Keep the character on the spot (no horizontal travel)"),
]


_LOG = logging.getLogger("anima")


# ----------------------------------------------------------------------------- skeleton
def _topological_order(bones) -> list:
    """Bones with every parent before its children (depth first, original order kept)."""
    order, seen = [], set()

    def visit(b):
        order.append(b)
        seen.add(b.name)
        for c in b.children:
            visit(c)

    for b in bones:
        if b.parent is None:
            visit(b)
    if len(order) != len(bones):  # pragma: no cover - Blender guarantees a tree
        order += [b for b in bones if b.name not in seen]
    return order


def _hierarchy(bones, parent_names=None):
    """(names, parents, order) with parents before children: `order` indexes the armature's
    bone collection, `parents` the returned order (-1 for roots)."""
    stored = bones.keys()
    if parent_names is None:
        parent_names = [b.parent.name if b.parent else "" for b in bones]
    children: dict[str, list[int]] = {}
    for i, p in enumerate(parent_names):
        children.setdefault(p, []).append(i)
    order, stack = [], list(reversed(children.get("", [])))
    while stack:                       # depth first, original order kept
        i = stack.pop()
        order.append(i)
        stack.extend(reversed(children.get(stored[i], [])))
    names = [stored[i] for i in order]
    position = {name: k for k, name in enumerate(names)}
    parents = [position[parent_names[i]] if parent_names[i] else -1 for i in order]
    return names, parents, np.array(order, dtype=np.int64)


def object_scale(arm_obj) -> float:
    """Uniform scale of the armature object's world matrix (mean of the axes)."""
    return float(np.mean(np.asarray(arm_obj.matrix_world.to_scale())))


def armature_skeleton(arm_obj, space: str = "WORLD") -> Skeleton:
    """The armature's rest pose as a Skeleton.

    Joints are the bones, parents first; matrices are `bone.matrix_local`, lengths
    `bone.length`. space="WORLD" (default) puts the rest pose in world axes and metres: the
    object's rotation and translation are applied and its (uniform) scale is baked into the
    positions, so a Mixamo/FBX armature rotated 90 degrees and scaled 0.01 is seen as the
    upright, metre-sized character it displays as. Pose-bone locations computed on such a
    skeleton are in world units and must be divided by `object_scale(arm_obj)` before keying
    (apply_clip_to_armature does). space="ARMATURE" uses the armature's own space.
    """
    if arm_obj is None or arm_obj.type != "ARMATURE":
        raise ValueError("armature_skeleton needs an armature object")
    all_bones = arm_obj.data.bones
    n = len(all_bones)
    if n == 0:
        raise ValueError(f"Armature {arm_obj.name!r} has no bones")
    flat = np.empty(n * 16, dtype=np.float32)
    all_bones.foreach_get("matrix_local", flat)
    parent_names = tuple(b.parent.name if b.parent else "" for b in all_bones)
    key = (arm_obj.data.as_pointer(), space, tuple(all_bones.keys()), parent_names,
           flat.tobytes(), np.array(arm_obj.matrix_world, dtype=np.float32).tobytes())
    cached = _SKELETON_CACHE.get(key)
    if cached is not None:        # same bones, hierarchy and rest pose: reuse (and its plan)
        return cached
    names, parents, order = _hierarchy(all_bones, parent_names)
    # foreach_get gives each matrix column-major; transpose to row-major (J, 4, 4).
    mats = flat.reshape(n, 4, 4).transpose(0, 2, 1)[order].astype(np.float64)
    length_flat = np.empty(n, dtype=np.float32)
    all_bones.foreach_get("length", length_flat)
    lengths = length_flat[order].astype(np.float64)
    if space == "WORLD":
        mw = np.array(arm_obj.matrix_world, dtype=np.float64)
        scale = object_scale(arm_obj)
        rot = mw[:3, :3] / max(scale, 1e-12)
        # Orthonormalise (non-uniform scale / shear cannot be represented by bone frames).
        u, _s, vt = np.linalg.svd(rot)
        rot = u @ vt
        out = np.empty_like(mats)
        out[:] = np.eye(4)
        out[:, :3, :3] = rot[None] @ mats[:, :3, :3]
        out[:, :3, 3] = (mw[None, :3, :3] @ mats[:, :3, 3, None])[..., 0] + mw[:3, 3]
        mats = out
        lengths = lengths * scale
    elif space != "ARMATURE":
        raise ValueError(f"space must be 'WORLD' or 'ARMATURE', got {space!r}")
    skeleton = Skeleton.from_rest_matrices(names, parents, mats, lengths)
    if len(_SKELETON_CACHE) >= 4:
        _SKELETON_CACHE.pop(next(iter(_SKELETON_CACHE)))
    _SKELETON_CACHE[key] = skeleton
    return skeleton


# Rest-pose skeletons of recently used armatures, keyed by everything they are built from.
_SKELETON_CACHE: dict = {}


# ----------------------------------------------------------------------------- mapping props
def _bone_chosen(self, context):
    # A bone picked by hand is what the user wants: full confidence, no warning for it.
    self.confidence = 1.0


class AnimaJointBone(bpy.types.PropertyGroup):
    # `name` (built in) is the canonical joint name, so `joints.get("pelvis")` works.
    bone: StringProperty(name="Bone", description="Bone of this armature driven by the joint",
                         update=_bone_chosen)
    confidence: FloatProperty(name="Confidence", default=1.0, min=0.0, max=1.0,
                              description="How sure the automatic mapping is of this bone")


class AnimaMapping(bpy.types.PropertyGroup):
    rig_type: StringProperty(name="Rig Type", default="")
    root_bone: StringProperty(name="Root Bone", default="",
                              description="Bone that carries root motion in Root Bone mode")
    extras_json: StringProperty(name="Extras", default="{}")
    method: StringProperty(name="Mapped By", default="")
    notes: StringProperty(name="Notes", default="")
    joints: CollectionProperty(type=AnimaJointBone)
    active_index: IntProperty()

    def low_confidence(self) -> list[str]:
        """Mapped joints whose bone the automatic mapping was not sure of."""
        limit = _bonemap().LOW_CONFIDENCE
        return [it.name for it in self.joints if it.bone and it.confidence < limit]


def mapping_to_props(mapping_props, bm) -> None:
    """Fill the armature's mapping properties from a BoneMap (all canonical joints listed,
    unmapped ones with an empty bone so they can be filled in by hand)."""
    mapping_props.joints.clear()
    names = list(CANONICAL_NAMES) + [j for j in bm.bones if j not in CANONICAL_NAMES]
    for joint in names:
        item = mapping_props.joints.add()
        item.name = joint
        item.bone = bm.bones.get(joint, "") or ""
        item.confidence = float(bm.confidence.get(joint, 1.0))
    mapping_props.rig_type = bm.rig_type or ""
    mapping_props.root_bone = bm.root_bone or ""
    mapping_props.extras_json = json.dumps(bm.extras or {})
    mapping_props.method = bm.method or ""
    mapping_props.notes = "\n".join(bm.notes or [])


def mapping_from_props(mapping_props):
    """The BoneMap stored on an armature, or None when nothing is mapped yet."""
    bones = {it.name: it.bone for it in mapping_props.joints if it.bone}
    if not bones:
        return None
    try:
        extras = json.loads(mapping_props.extras_json or "{}")
    except ValueError:
        extras = {}
    confidence = {it.name: float(it.confidence) for it in mapping_props.joints if it.bone}
    notes = [n for n in (mapping_props.notes or "").split("\n") if n]
    return _bonemap().BoneMap(rig_type=mapping_props.rig_type or "custom", bones=bones,
                               root_bone=mapping_props.root_bone or None, extras=extras,
                               confidence=confidence, notes=notes,
                               method=mapping_props.method or "by hand")


def auto_map_armature(arm_obj):
    """Run bonemap.auto_map on the armature's bones (MappingError says what is missing)."""
    bones = _topological_order(list(arm_obj.data.bones))
    index = {b.name: i for i, b in enumerate(bones)}
    names = [b.name for b in bones]
    parents = [index[b.parent.name] if b.parent else -1 for b in bones]
    # Rest head positions in world axes (Z up even for rotated FBX armatures): spine bones
    # are matched by height.
    skel = armature_skeleton(arm_obj)
    at = [skel.index(n) for n in names]
    heads = skel.rest_world()[1][at]
    tails = skel.rest_tails_world()[at]
    return _bonemap().auto_map(names, parents, heads, tails)


def ensure_mapping(arm_obj, store: bool = True):
    """(BoneMap, detected): the armature's stored mapping, or an automatic one when there is
    none yet (stored on the armature if `store`). MappingError explains a bad mapping."""
    props = arm_obj.data.anima_mapping
    bm = mapping_from_props(props)
    detected = bm is None
    if detected:
        bm = auto_map_armature(arm_obj)
        if store:
            mapping_to_props(props, bm)
    missing = [b for b in bm.bones.values() if arm_obj.data.bones.get(b) is None]
    if missing:
        raise _bonemap().MappingError(
            f"the bone mapping of {arm_obj.name!r} names bones it does not have: "
            f"{', '.join(sorted(missing))}; fix it in the Anima > Bone Mapping panel")
    return bm, detected


def log_mapping(arm_obj, bm) -> None:
    """Write an automatic mapping to the log (the panel shows it too)."""
    _LOG.info("Anima mapped %r: %s", arm_obj.name, bm.report())
    low = bm.low_confidence()
    if low:
        _LOG.warning("Anima: check the mapping of %r, low confidence for %s", arm_obj.name,
                     ", ".join(low))


# ----------------------------------------------------------------------------- apply
def scene_fps(scene) -> float:
    return scene.render.fps / scene.render.fps_base


def load_clip(clip_or_path) -> Clip:
    if hasattr(clip_or_path, "local_rotations"):    # a Clip (possibly another import of it)
        return clip_or_path
    path = os.fspath(clip_or_path)
    if not os.path.isfile(path):
        raise ValueError(f"Motion clip file not found: {path!r}")
    return Clip.load_npz(path)


def rig_pose_for_clip(arm_obj, clip, *, root_mode: str = "hips", foot_ik: bool = True,
                      twist_share: float = 0.0, fps: float | None = None):
    """Retarget a canonical Clip onto `arm_obj` without writing anything: (RigPose in the
    armature's channel values, BoneMap, whether the mapping was detected now, the clip as
    retargeted, resampled to `fps` when given). Raises ValueError / MappingError."""
    if arm_obj is None or arm_obj.type != "ARMATURE":
        raise ValueError("Select an armature to animate")
    if fps is not None and abs(clip.fps - fps) > 1e-6:
        from ..backend.motion import resample as resample_mod
        clip = resample_mod.resample(clip, fps)
    check_armature(arm_obj)
    bm, detected = ensure_mapping(arm_obj, store=False)
    check_armature(arm_obj, bm)
    skel = armature_skeleton(arm_obj)
    followers = constraint_followers(arm_obj, bm)
    pose = _retarget().retarget_to_rig(clip, skel, bm, root_mode=root_mode, foot_ik=foot_ik,
                                       followers=followers, twist_share=twist_share)
    skip_mechanism_bones(arm_obj, pose, bm, followers)
    scale = object_scale(arm_obj)
    if abs(scale - 1.0) > 1e-9:
        pose.locations = np.asarray(pose.locations) / scale
    return pose, bm, detected, clip


def apply_clip_to_armature(arm_obj, clip_or_path, *, root_mode: str = "hips",
                           foot_ik: bool = True, twist_share: float = 0.0,
                           frame_start: float | None = None,
                           push_to_nla: bool = False, action_name: str | None = None,
                           match_scene_fps: bool = True, extend_scene: bool = True,
                           scene=None, info: dict | None = None):
    """Retarget a canonical Clip (or .npz path) onto `arm_obj` and key it in a new Action.

    root_mode: "hips" | "root_bone" | "in_place"; frame_start: first frame (None: the current
    frame); match_scene_fps: resample to the scene rate (else keys are spaced to keep the
    timing); extend_scene: grow scene.frame_end to cover the motion; info: extra custom
    properties for the action (source, licence...; the clip's own meta is recorded too).
    Returns the new bpy.types.Action. Raises ValueError / bonemap.MappingError with a message
    for the user; nothing in the scene is changed when it raises.
    """
    scene = scene or bpy.context.scene
    clip = load_clip(clip_or_path)
    fps = scene_fps(scene)
    pose, bm, detected, clip = rig_pose_for_clip(
        arm_obj, clip, root_mode=root_mode, foot_ik=foot_ik, twist_share=twist_share,
        fps=fps if match_scene_fps else None)
    if frame_start is None:
        frame_start = scene.frame_current
    meta = clip.meta or {}
    caption = meta.get("prompt") or meta.get("caption") or (
        os.path.basename(os.fspath(clip_or_path))
        if isinstance(clip_or_path, (str, os.PathLike)) else "motion")
    step = fps / clip.fps        # 1 after resampling; else keep the clip's timing
    props = {f"anima_{k}": v for k, v in meta.items()
             if k in ("caption", "matched_caption", "source", "licence", "license", "prompt",
                      "seed", "attribution")}
    props.update(info or {})
    action = keys.write_rig_pose(
        arm_obj, pose, action_name or keys.action_name_for(caption), frame_start,
        push_to_nla=push_to_nla, frame_step=step,
        fk_switch=[tuple(x) for x in (bm.extras or {}).get("fk_switch", [])], meta=props)
    if detected:                 # remember the automatic mapping (editable in the panel)
        mapping_to_props(arm_obj.data.anima_mapping, bm)
        log_mapping(arm_obj, bm)
    if extend_scene:
        end = int(np.ceil(frame_start + (clip.num_frames - 1) * step - 1e-6))
        if end > scene.frame_end:
            scene.frame_end = end
    return action


# ----------------------------------------------------------------------------- presets
def presets_dir() -> str:
    return preferences.user_dir("presets")


def _safe_filename(name: str) -> str:
    name = re.sub(r"[^\w\- .]+", "_", name.strip()).strip(" .")
    return name or "mapping"


def preset_files() -> list[str]:
    d = presets_dir()
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.lower().endswith(".json"))


_preset_items_cache = []  # Blender needs the enum item strings kept alive


def _preset_items(self, context):
    global _preset_items_cache
    items = [(p, os.path.splitext(os.path.basename(p))[0], p) for p in preset_files()]
    _preset_items_cache = items or [("", "(no presets)", "Save a mapping preset first")]
    return _preset_items_cache


def _active_armature(context):
    obj = context.active_object
    if obj is None or obj.type != "ARMATURE":
        return None
    return obj


# ----------------------------------------------------------------------------- operators
class ANIMA_OT_mapping_auto(bpy.types.Operator):
    """Detect which bone of the active armature plays each canonical joint"""
    bl_idname = "anima.mapping_auto"
    bl_label = "Auto-Detect Mapping"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return _active_armature(context) is not None

    def execute(self, context):
        arm = _active_armature(context)
        try:
            bm = auto_map_armature(arm)
        except _bonemap().MappingError as e:
            # Still list the joints so the user can complete the mapping by hand.
            if not len(arm.data.anima_mapping.joints):
                mapping_to_props(arm.data.anima_mapping,
                                 _bonemap().BoneMap(rig_type="custom", bones={}, root_bone=None,
                                                     extras={}))
            self.report({"ERROR"}, f"Automatic mapping failed: {e}")
            return {"CANCELLED"}
        mapping_to_props(arm.data.anima_mapping, bm)
        log_mapping(arm, bm)
        low = bm.low_confidence()
        if low:
            self.report({"WARNING"}, f"Mapped {len(bm.bones)} joints ({bm.rig_type}), but check "
                                     f"{', '.join(low)}: low confidence")
        else:
            self.report({"INFO"}, f"Mapped {len(bm.bones)} joints ({bm.rig_type}, by "
                                  f"{bm.method}, confidence {bm.overall_confidence:.2f})")
        return {"FINISHED"}


class ANIMA_OT_mapping_clear(bpy.types.Operator):
    """Forget the bone mapping of the active armature"""
    bl_idname = "anima.mapping_clear"
    bl_label = "Clear Mapping"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return _active_armature(context) is not None

    def execute(self, context):
        m = _active_armature(context).data.anima_mapping
        m.joints.clear()
        m.rig_type = m.root_bone = ""
        m.extras_json = "{}"
        return {"FINISHED"}


class ANIMA_OT_mapping_save_preset(bpy.types.Operator):
    """Save the active armature's bone mapping as a preset (JSON file in the user folder)"""
    bl_idname = "anima.mapping_save_preset"
    bl_label = "Save Mapping Preset"

    name: StringProperty(name="Preset Name", default="")
    filepath: StringProperty(subtype="FILE_PATH", options={"SKIP_SAVE"},
                             description="Write to this file instead of the presets folder")

    @classmethod
    def poll(cls, context):
        return _active_armature(context) is not None

    def invoke(self, context, event):
        if not self.name:
            arm = _active_armature(context)
            self.name = arm.data.anima_mapping.rig_type or arm.data.name
        return context.window_manager.invoke_props_dialog(self)

    def execute(self, context):
        bm = mapping_from_props(_active_armature(context).data.anima_mapping)
        if bm is None:
            self.report({"ERROR"}, "Nothing to save: the bone mapping is empty")
            return {"CANCELLED"}
        path = self.filepath or os.path.join(presets_dir(), _safe_filename(self.name) + ".json")
        try:
            _bonemap().save_preset(path, bm)
        except OSError as e:
            self.report({"ERROR"}, f"Could not write {path!r}: {e.strerror}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Saved mapping preset {path}")
        return {"FINISHED"}


class ANIMA_OT_mapping_load_preset(bpy.types.Operator):
    """Load a bone mapping preset onto the active armature"""
    bl_idname = "anima.mapping_load_preset"
    bl_label = "Load Mapping Preset"
    bl_options = {"REGISTER", "UNDO"}

    preset: EnumProperty(name="Preset", items=_preset_items)
    filepath: StringProperty(subtype="FILE_PATH", options={"SKIP_SAVE"},
                             description="Load this file instead of a preset from the folder")

    @classmethod
    def poll(cls, context):
        return _active_armature(context) is not None

    def execute(self, context):
        arm = _active_armature(context)
        path = self.filepath or self.preset
        if not path or not os.path.isfile(path):
            self.report({"ERROR"}, f"Mapping preset not found: {path!r}")
            return {"CANCELLED"}
        try:
            bm = _bonemap().load_preset(path)
        except (OSError, ValueError, KeyError, TypeError) as e:
            self.report({"ERROR"}, f"Not a valid mapping preset {path!r}: {e}")
            return {"CANCELLED"}
        mapping_to_props(arm.data.anima_mapping, bm)
        missing = sorted(b for b in bm.bones.values() if arm.data.bones.get(b) is None)
        if missing:
            self.report({"WARNING"}, f"Preset names bones this armature lacks: "
                                     f"{', '.join(missing[:6])}{'...' if len(missing) > 6 else ''}")
        else:
            self.report({"INFO"}, f"Loaded mapping preset {os.path.basename(path)}")
        return {"FINISHED"}


CLASSES = [AnimaJointBone, AnimaMapping, ANIMA_OT_mapping_auto, ANIMA_OT_mapping_clear,
           ANIMA_OT_mapping_save_preset, ANIMA_OT_mapping_load_preset]

PROPS = [(bpy.types.Armature, "anima_mapping",
          lambda: bpy.props.PointerProperty(type=AnimaMapping))]
