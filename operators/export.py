"""Export an armature's Action: Blender's own FBX / glTF / BVH exporters with the options game
engines expect, or a BVH of the canonical skeleton written by the backend.

`export_motion(arm_obj, filepath, fmt, root_motion)`:
  FBX            the armature and its meshes only, baked animation of the active action over
                 its frame range, no leaf bones, no NLA / other actions, exact keys.
  GLTF           .glb (or .gltf + .bin) of the armature and its meshes, the active action.
  BVH            Blender's BVH exporter (every bone of the armature).
  CANONICAL_BVH  the inverse retarget (rig_motion.canonical_clip_from_armature) written with
                 backend.motion.bvh.write_bvh: the 22-joint canonical skeleton, Y up, cm.
root_motion: ACTION exports the action as keyed; ROOT_BONE / HIPS / IN_PLACE re-bake it through
the retargeter (canonical clip -> the rig with that root mode) into a temporary action that is
exported and then removed, the user's action, pose and selection restored.
"""
from __future__ import annotations

import os
from contextlib import contextmanager

import bpy
import numpy as np
from bpy.props import EnumProperty, StringProperty

from . import retarget, rig_motion

FORMATS = [
    ("FBX", "FBX", "Armature and its meshes, baked animation (game engines)"),
    ("GLTF", "glTF", "Binary .glb (or .gltf) with the active action"),
    ("BVH", "BVH", "Blender's BVH exporter: every bone of the armature"),
    ("CANONICAL_BVH", "BVH (Canonical Skeleton)",
     "The motion on Anima's 22-joint canonical skeleton (inverse retarget)"),
]
EXTENSIONS = {"FBX": (".fbx",), "GLTF": (".glb", ".gltf"), "BVH": (".bvh",),
              "CANONICAL_BVH": (".bvh",)}
ROOT_MOTION = [
    ("ACTION", "As Keyed", "Export the action exactly as it is keyed"),
    ("ROOT_BONE", "Root Bone", "Re-bake: travel on the rig's root bone, the hips relative to it"),
    ("HIPS", "Hips", "Re-bake: travel on the hips bone, the root bone stays put"),
    ("IN_PLACE", "In Place", "Re-bake: no horizontal travel"),
]
_ROOT_MODE = {"ROOT_BONE": "root_bone", "HIPS": "hips", "IN_PLACE": "in_place"}


class ExportError(ValueError):
    """The motion cannot be exported; the message is for the user."""


def _check_path(filepath, fmt: str) -> str:
    if fmt not in EXTENSIONS:
        raise ExportError(f"Unknown export format {fmt!r}: use one of {', '.join(EXTENSIONS)}")
    if not filepath:
        raise ExportError("Choose a file to export to")
    path = os.path.abspath(bpy.path.abspath(os.fspath(filepath)))
    ext = os.path.splitext(path)[1].lower()
    if not ext:
        path += EXTENSIONS[fmt][0]
    elif ext not in EXTENSIONS[fmt]:
        raise ExportError(f"A {fmt} export needs a file ending in "
                          f"{' or '.join(EXTENSIONS[fmt])}, not {ext!r}")
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise ExportError(f"Folder not found: {folder!r}")
    return path


def _meshes_of(arm_obj, scene) -> list:
    """Mesh objects of the scene deformed by or parented to the armature."""
    out = []
    for obj in scene.objects:
        if obj.type != "MESH":
            continue
        deformed = any(m.type == "ARMATURE" and m.object == arm_obj for m in obj.modifiers)
        if deformed or obj.parent == arm_obj:
            out.append(obj)
    return out


@contextmanager
def _selected_only(context, objects, active):
    """Select exactly `objects` (active: `active`) in the view layer, restore afterwards."""
    layer = context.view_layer
    layer.update()                  # objects linked since the last sync are listed after it
    before = [o for o in layer.objects if o.select_get()]
    before_active = layer.objects.active
    try:
        for o in before:
            o.select_set(False)
        for o in objects:
            o.select_set(True)
        layer.objects.active = active
        yield
    finally:
        for o in layer.objects:
            o.select_set(False)
        for o in before:
            if o.name in layer.objects:
                o.select_set(True)
        layer.objects.active = before_active


@contextmanager
def _keep_mode(arm_obj):
    """Some exporters (glTF, BVH) leave Pose Mode; come back to it. Needs arm_obj active."""
    mode = arm_obj.mode
    try:
        yield
    finally:
        if arm_obj.mode != mode and bpy.ops.object.mode_set.poll():
            bpy.ops.object.mode_set(mode=mode)


@contextmanager
def _frame_range(scene, first: int, last: int):
    saved = scene.frame_start, scene.frame_end, scene.frame_current
    try:
        scene.frame_start, scene.frame_end = first, last
        yield
    finally:
        scene.frame_start, scene.frame_end = saved[0], saved[1]
        scene.frame_set(saved[2])


@contextmanager
def _rebaked(arm_obj, scene, root_motion: str):
    """Temporarily make a re-baked copy of the motion (root mode `root_motion`) the active
    action; the user's action, slot, rotation modes and mapping come back afterwards."""
    if root_motion == "ACTION":
        yield arm_obj.animation_data.action
        return
    anim = arm_obj.animation_data
    action, slot = anim.action, getattr(anim, "action_slot", None)
    fake_user = action.use_fake_user
    modes = {pb.name: pb.rotation_mode for pb in arm_obj.pose.bones}
    props = arm_obj.data.anima_mapping
    had_mapping = retarget.mapping_from_props(props) is not None
    bm, _detected = retarget.ensure_mapping(arm_obj, store=False)
    switches = [(pb, prop, pb.get(prop)) for bone, prop, _v in
                (bm.extras or {}).get("fk_switch", [])
                if (pb := arm_obj.pose.bones.get(bone)) is not None]
    first, _last = rig_motion.action_frame_range(arm_obj)
    clip = rig_motion.canonical_clip_from_armature(arm_obj, scene=scene)
    baked = retarget.apply_clip_to_armature(
        arm_obj, clip, root_mode=_ROOT_MODE[root_motion], frame_start=first,
        action_name="Anima Export", extend_scene=False, scene=scene)
    try:
        yield baked
    finally:
        anim.action = action
        if slot is not None and hasattr(anim, "action_slot"):
            anim.action_slot = slot
        action.use_fake_user = fake_user
        bpy.data.actions.remove(baked)
        for pb in arm_obj.pose.bones:
            if pb.name in modes:
                pb.rotation_mode = modes[pb.name]
        for pb, prop, value in switches:
            if value is None:
                pb.pop(prop, None)
            else:
                pb[prop] = value
        if not had_mapping:
            props.joints.clear()
            props.rig_type = props.root_bone = ""
            props.extras_json = "{}"


def _export_canonical_bvh(arm_obj, path: str, root_motion: str, scene) -> None:
    from ..backend.motion import axes
    from ..backend.motion.bvh import write_bvh
    clip = rig_motion.canonical_clip_from_armature(arm_obj, scene=scene)
    root = clip.root_translation.copy()
    if root_motion == "IN_PLACE":          # no travel: keep the sway around the mean path
        window = max(1, int(round(0.5 * clip.fps)) | 1)
        kernel = np.ones(window) / window
        for d in (0, 1):
            padded = np.pad(root[:, d], window // 2, mode="edge")
            root[:, d] -= np.convolve(padded, kernel, mode="valid")
            root[:, d] += clip.root_translation[0, d]
    skel, rots, trans = axes.skeleton_clip_blender_to_y_up(clip.skeleton, clip.local_rotations,
                                                           root)
    write_bvh(path, skel, rots, trans, clip.fps)


def _run_exporter(fmt: str, path: str, arm_obj, scene, first: int, last: int) -> None:
    if fmt == "FBX":
        bpy.ops.export_scene.fbx(
            filepath=path, use_selection=True, object_types={"ARMATURE", "MESH"},
            add_leaf_bones=False, armature_nodetype="NULL", bake_anim=True,
            bake_anim_use_all_bones=True, bake_anim_use_nla_strips=False,
            bake_anim_use_all_actions=False, bake_anim_force_startend_keying=True,
            bake_anim_step=1.0, bake_anim_simplify_factor=0.0, use_custom_props=False,
            apply_scale_options="FBX_SCALE_ALL", path_mode="AUTO")
    elif fmt == "GLTF":
        glb = path.lower().endswith(".glb")
        bpy.ops.export_scene.gltf(
            filepath=path, export_format="GLB" if glb else "GLTF_SEPARATE",
            use_selection=True, export_animations=True, export_animation_mode="ACTIVE_ACTIONS",
            export_frame_range=False, export_force_sampling=True, export_def_bones=False,
            export_anim_single_armature=True, export_reset_pose_bones=True,
            export_cameras=False, export_lights=False)
    else:
        bpy.ops.export_anim.bvh(filepath=path, frame_start=first, frame_end=last,
                                global_scale=1.0, rotate_mode="NATIVE",
                                root_transform_only=False)


def _export_replacing(fmt: str, path: str, arm_obj, scene, first: int, last: int) -> None:
    """Run Blender's exporter into a temporary file beside ``path`` and rename it over
    ``path`` only when it succeeded, so a failed export (full disk, exporter error) never
    leaves a truncated file where the user's good one was. A .gltf with separate files is
    written in place: its .bin is named after the file it is written as."""
    if fmt == "GLTF" and not path.lower().endswith(".glb"):
        _run_exporter(fmt, path, arm_obj, scene, first, last)
        return
    folder, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    tmp = os.path.join(folder, f".{stem}.anima-tmp{ext}")
    try:
        _run_exporter(fmt, tmp, arm_obj, scene, first, last)
        if not os.path.isfile(tmp) or os.path.getsize(tmp) == 0:
            raise ExportError(f"Blender's {fmt} exporter wrote nothing to {path}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def export_motion(arm_obj, filepath, fmt: str = "FBX", root_motion: str = "ACTION",
                  context=None) -> str:
    """Export `arm_obj`'s active action to `filepath` (extension added when missing) in
    `fmt` (FBX | GLTF | BVH | CANONICAL_BVH) with `root_motion` (ACTION | ROOT_BONE | HIPS |
    IN_PLACE). Returns the written path. Raises ExportError / ValueError / MappingError for
    the user; the scene (action, pose, selection, frame range) is as before either way."""
    context = context or bpy.context
    scene = context.scene
    if arm_obj is None or arm_obj.type != "ARMATURE":
        raise ExportError("Select the armature whose motion to export")
    if arm_obj.mode == "EDIT":
        raise ExportError(f"Leave Edit Mode on {arm_obj.name!r} first")
    if root_motion not in dict((k, 1) for k, _n, _d in ROOT_MOTION):
        raise ExportError(f"Unknown root motion option {root_motion!r}")
    anim = arm_obj.animation_data
    if anim is None or anim.action is None:
        raise ExportError(f"{arm_obj.name!r} has no active action to export")
    if anim.use_tweak_mode:
        raise ExportError(f"{arm_obj.name!r} is in NLA tweak mode: exit it first")
    path = _check_path(filepath, fmt)
    if scene.objects.get(arm_obj.name) != arm_obj:
        raise ExportError(f"{arm_obj.name!r} is not in the scene {scene.name!r}")
    if fmt == "CANONICAL_BVH":
        _export_canonical_bvh(arm_obj, path, root_motion, scene)
        return path
    first, last = (int(round(x)) for x in rig_motion.action_frame_range(arm_obj))
    with _rebaked(arm_obj, scene, root_motion):
        with _selected_only(context, [arm_obj, *_meshes_of(arm_obj, scene)], arm_obj), \
                _keep_mode(arm_obj), _frame_range(scene, first, last):
            try:
                _export_replacing(fmt, path, arm_obj, scene, first, last)
            except RuntimeError as e:
                lines = [ln for ln in str(e).splitlines() if ln.strip()]
                raise ExportError(f"Blender's {fmt} exporter failed: "
                                  f"{lines[-1].strip() if lines else e}") from None
    return path


# ----------------------------------------------------------------------------- operator
class ANIMA_OT_export_motion(bpy.types.Operator):
    """Export the active armature's action (FBX, glTF, BVH, or BVH on the canonical
    skeleton)"""
    bl_idname = "anima.export_motion"
    bl_label = "Export Motion"

    filepath: StringProperty(name="File", subtype="FILE_PATH", options={"SKIP_SAVE"})
    filter_glob: StringProperty(default="*.fbx;*.glb;*.gltf;*.bvh", options={"HIDDEN"})
    check_existing: bpy.props.BoolProperty(default=True, options={"HIDDEN"})
    format: EnumProperty(name="Format", items=FORMATS, default="FBX")
    root_motion: EnumProperty(name="Root Motion", items=ROOT_MOTION, default="ACTION")

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return (obj is not None and obj.type == "ARMATURE" and obj.animation_data is not None
                and obj.animation_data.action is not None)

    def _with_extension(self, path: str) -> str:
        stem, ext = os.path.splitext(path)
        if ext.lower() in EXTENSIONS[self.format]:
            return path
        return (stem if ext.lower() in (".fbx", ".glb", ".gltf", ".bvh") else path) + \
            EXTENSIONS[self.format][0]

    def check(self, context):
        new = self._with_extension(self.filepath)
        if new != self.filepath:
            self.filepath = new
            return True
        return False

    def invoke(self, context, event):
        if not self.filepath:
            action = context.active_object.animation_data.action
            stem = bpy.path.clean_name(action.name.replace("Anima: ", "")) or "motion"
            folder = os.path.dirname(bpy.data.filepath) if bpy.data.filepath else ""
            self.filepath = os.path.join(folder, stem)
        self.filepath = self._with_extension(self.filepath)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        try:
            path = export_motion(context.active_object, self.filepath, self.format,
                                 self.root_motion, context)
        except Exception as e:  # noqa: BLE001 - every failure becomes a report
            from .jobs import user_message
            self.report({"ERROR"}, user_message(e))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Exported {os.path.basename(path)}")
        return {"FINISHED"}


CLASSES = [ANIMA_OT_export_motion]
