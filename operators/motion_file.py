"""Motion files onto the rig: .bvh, .fbx, .glb/.gltf (through Blender's importers), Anima .npz
clips and AMASS / SMPL-X .npz files, applied to an armature as a new Action.

Scripting (batch folders)::

    from anima.operators import motion_file
    for path in sorted(glob.glob("/mocap/*.bvh")):
        motion_file.apply_motion_file(rig, path, root_mode="in_place", push_to_nla=True)

or `apply_motion_folder(rig, "/mocap")`. The operator `anima.apply_motion_file` does the same
for the active armature, with the scene's retarget options, as one undo step.
"""
from __future__ import annotations

import os

import bpy
import numpy as np
from bpy.props import EnumProperty, StringProperty

from . import file_import, keys, retarget, rig_rules
from .file_import import MotionFileError, SeveralArmaturesError

EXTENSIONS = (*file_import.IMPORT_EXTENSIONS, ".npz")
FILTER_GLOB = ";".join(f"*{e}" for e in EXTENSIONS)


def _npz_kind(path: str) -> str:
    """'anima' (a Clip: local_rotations) or 'amass' (poses), else MotionFileError."""
    try:
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
    except (OSError, ValueError) as e:
        raise MotionFileError(f"{os.path.basename(path)} is not a readable .npz file ({e})") \
            from None
    if "local_rotations" in names:
        return "anima"
    if "poses" in names:
        return "amass"
    raise MotionFileError(f"{os.path.basename(path)} is neither an Anima clip "
                          f"(local_rotations) nor an AMASS/SMPL-X file (poses)")


def _load_amass(path: str):
    try:
        from ..backend.motion import amass
    except ImportError as e:
        raise MotionFileError(f"AMASS/SMPL-X files cannot be read by this version of Anima "
                              f"(backend.motion.amass is missing: {e})") from None
    return amass.load_amass(path)


def _check_inputs(arm_obj, path: str) -> str:
    if arm_obj is None or arm_obj.type != "ARMATURE":
        raise MotionFileError("Select an armature to animate")
    if arm_obj.mode == "EDIT":
        raise MotionFileError(f"Leave Edit Mode on {arm_obj.name!r} first")
    if not path:
        raise MotionFileError("Choose a motion file (.bvh, .fbx, .glb, .gltf or .npz)")
    ext = os.path.splitext(path)[1].lower()
    if ext not in EXTENSIONS:
        raise MotionFileError(f"Unsupported motion file type {ext or '(none)'!r}: use "
                              f"{', '.join(EXTENSIONS)}")
    if not os.path.isfile(path):
        raise MotionFileError(f"Motion file not found: {path!r}")
    return ext


def _note_rate(messages, name: str, src_fps, fps: float) -> None:
    if messages is not None and src_fps and abs(float(src_fps) - fps) > 1e-3:
        messages.append(f"{name}: {float(src_fps):g} fps resampled to the scene's {fps:g} fps")


def apply_motion_file(arm_obj, filepath, *, root_mode: str = "hips",
                      frame_start: float | None = None, push_to_nla: bool = False,
                      source_armature: str | None = None, scene=None, foot_ik: bool = True,
                      extend_scene: bool = True, messages: list | None = None,
                      twist_share: float = 0.0):
    """Apply the motion in `filepath` to `arm_obj` as a new Action named "Anima: <stem>".

    root_mode: "hips" | "root_bone" | "in_place"; frame_start: first frame (None: the current
    frame); push_to_nla: into a new NLA track instead of the active action; source_armature:
    which armature of a file that holds several (SeveralArmaturesError lists them otherwise).
    The motion is resampled to the scene frame rate (a note is appended to `messages` when
    the file's rate differs). Returns the Action. Raises MotionFileError / MappingError /
    ValueError with a message for the user; then nothing in the scene has changed.
    """
    scene = scene or bpy.context.scene
    path = os.path.abspath(bpy.path.abspath(os.fspath(filepath)))
    ext = _check_inputs(arm_obj, path)
    name = os.path.basename(path)
    action_name = keys.action_name_for(os.path.splitext(name)[0])
    fps = retarget.scene_fps(scene)
    info = {"anima_source": name}
    if ext == ".npz":
        kind = _npz_kind(path)
        clip = retarget.load_clip(path) if kind == "anima" else _load_amass(path)
        _note_rate(messages, name, clip.fps, fps)
        info["anima_source_fps"] = float(clip.fps)
        return retarget.apply_clip_to_armature(
            arm_obj, clip, root_mode=root_mode, foot_ik=foot_ik, twist_share=twist_share,
            frame_start=frame_start,
            push_to_nla=push_to_nla, action_name=action_name, extend_scene=extend_scene,
            scene=scene, info=info)

    # Check the target first: a bad rig or mapping fails before the (slow) import.
    rig_rules.check_armature(arm_obj)
    bm, detected = retarget.ensure_mapping(arm_obj, store=False)
    rig_rules.check_armature(arm_obj, bm)
    motion = file_import.read_motion_file(path, fps, source_armature)
    _note_rate(messages, name, motion.file_fps, fps)
    if motion.file_fps:
        info["anima_source_fps"] = float(motion.file_fps)
    info["anima_source_armature"] = motion.armature_name
    return write_file_motion(arm_obj, motion, bm, detected, root_mode=root_mode,
                             foot_ik=foot_ik, twist_share=twist_share, frame_start=frame_start, push_to_nla=push_to_nla,
                             action_name=action_name, extend_scene=extend_scene, scene=scene,
                             info=info)


def retarget_file_motion(arm_obj, motion, bm, *, root_mode: str = "hips",
                         foot_ik: bool = True, twist_share: float = 0.0):
    """RigPose for `arm_obj` (locations in its own units) from a FileMotion."""
    from ..backend.motion.retarget import retarget as retarget_world
    skel = retarget.armature_skeleton(arm_obj)
    followers = rig_rules.constraint_followers(arm_obj, bm)
    pose = retarget_world(motion.skeleton, None, None, motion.bonemap.bones, skel, bm.bones,
                          root_mode=root_mode, root_bone=bm.root_bone, foot_ik=foot_ik,
                          fps=motion.fps, src_world=(motion.world_rot, motion.world_pos),
                          followers=followers, twist_share=twist_share)
    rig_rules.skip_mechanism_bones(arm_obj, pose, bm, followers)
    scale = retarget.object_scale(arm_obj)
    if abs(scale - 1.0) > 1e-9:
        pose.locations = np.asarray(pose.locations) / scale
    return pose


def write_file_motion(arm_obj, motion, bm, detected: bool, *, root_mode, foot_ik, frame_start,
                      twist_share=0.0,
                      push_to_nla, action_name, extend_scene, scene, info):
    """Retarget a FileMotion onto `arm_obj` and key it (see apply_motion_file)."""
    pose = retarget_file_motion(arm_obj, motion, bm, root_mode=root_mode, foot_ik=foot_ik,
                                twist_share=twist_share)
    if frame_start is None:
        frame_start = scene.frame_current
    action = keys.write_rig_pose(
        arm_obj, pose, action_name, frame_start, push_to_nla=push_to_nla, frame_step=1.0,
        fk_switch=[tuple(x) for x in (bm.extras or {}).get("fk_switch", [])], meta=info)
    if detected:
        retarget.mapping_to_props(arm_obj.data.anima_mapping, bm)
        retarget.log_mapping(arm_obj, bm)
    if extend_scene:
        end = int(np.ceil(frame_start + motion.world_rot.shape[0] - 1 - 1e-6))
        if end > scene.frame_end:
            scene.frame_end = end
    return action


def apply_motion_folder(arm_obj, folder, *, recursive: bool = False, **options):
    """Apply every motion file in `folder` (sorted by name), each as its own Action.

    options: as apply_motion_file (push_to_nla=True lines them up as NLA tracks).
    Returns (actions, failures): the new Actions, and (path, message) for the files that
    could not be applied (they change nothing)."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise MotionFileError(f"Not a folder: {folder!r}")
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        paths += [os.path.join(root, f) for f in sorted(files)
                  if os.path.splitext(f)[1].lower() in EXTENSIONS]
        if not recursive:
            break
    actions, failures = [], []
    for path in paths:
        try:
            actions.append(apply_motion_file(arm_obj, path, **options))
        except (ValueError, RuntimeError) as e:
            failures.append((path, str(e)))
    return actions, failures


# ----------------------------------------------------------------------------- operator
_ROOT_ITEMS = [("SCENE", "Scene Setting", "Use the Root Motion option of the Anima panel"),
               *retarget.ROOT_MODES]


class ANIMA_OT_apply_motion_file(bpy.types.Operator):
    """Apply a motion file (.bvh, .fbx, .glb/.gltf, Anima or AMASS .npz) to the active
    armature as a new Action"""
    bl_idname = "anima.apply_motion_file"
    bl_label = "Apply Motion File"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="File", subtype="FILE_PATH", options={"SKIP_SAVE"})
    filter_glob: StringProperty(default=FILTER_GLOB, options={"HIDDEN"})
    source_armature: StringProperty(
        name="Source Armature", options={"SKIP_SAVE"},
        description="Armature to take the motion from, for files that hold several")
    root_mode: EnumProperty(name="Root Motion", items=_ROOT_ITEMS, default="SCENE",
                            options={"SKIP_SAVE"})

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return obj is not None and obj.type == "ARMATURE"

    def invoke(self, context, event):
        if self.filepath:
            return self.execute(context)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def _ask_armature(self, context, error: SeveralArmaturesError):
        path = self.filepath
        root_mode = self.root_mode

        def draw(menu, _context):
            for name in error.names:
                op = menu.layout.operator(ANIMA_OT_apply_motion_file.bl_idname, text=name,
                                          icon="ARMATURE_DATA")
                op.filepath, op.source_armature, op.root_mode = path, name, root_mode

        context.window_manager.popup_menu(draw, title="Take the motion from", icon="QUESTION")

    def execute(self, context):
        from .generate import options_from_settings
        arm = context.active_object
        opts = options_from_settings(context.scene.anima, context.scene)
        root_mode = opts["root_mode"] if self.root_mode == "SCENE" else self.root_mode
        notes: list[str] = []
        try:
            action = apply_motion_file(
                arm, self.filepath, root_mode=root_mode, frame_start=opts["frame_start"],
                push_to_nla=opts["push_to_nla"], source_armature=self.source_armature or None,
                scene=context.scene, foot_ik=opts["foot_ik"], twist_share=opts["twist_share"],
                extend_scene=opts["extend_scene"], messages=notes)
        except SeveralArmaturesError as e:
            if self.options.is_invoke and context.window is not None:
                self._ask_armature(context, e)      # runs the operator again with a choice
                self.report({"INFO"}, str(e))
            else:
                self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        except Exception as e:  # noqa: BLE001 - every failure becomes a report
            from .jobs import user_message
            self.report({"ERROR"}, user_message(e))
            return {"CANCELLED"}
        for note in notes:
            self.report({"WARNING"}, note)
        self.report({"INFO"}, f"Applied {os.path.basename(self.filepath)} as {action.name!r}")
        return {"FINISHED"}


CLASSES = [ANIMA_OT_apply_motion_file]
