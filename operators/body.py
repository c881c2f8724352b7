"""SMPL-X bodies in the scene, and SMPL-X export of any rig's motion.

ANIMA_OT_add_smplx_body runs the backend's `smplx_body` job on the model folder set in the
add-on preferences (the user's own SMPL-X download: the files are never shipped) and builds
an armature (55 joints; the 22 body joints carry the canonical names, so the normal bone
mapping fits) and a mesh skinned to it with the model's blend weights. Motion then goes on it
like on any rig. ANIMA_OT_export_smplx writes the active armature's motion as an AMASS-style
SMPL-X .npz (backend/motion/amass.py).
"""
from __future__ import annotations

import os

import bpy
import numpy as np
from bpy.props import EnumProperty, FloatVectorProperty, IntProperty, StringProperty

from .. import preferences
from ..backend.motion import amass
from ..backend.motion.skeleton import CANONICAL_NAMES
from . import character, jobs, retarget

GENDER_ITEMS = [("neutral", "Neutral", "The gender-neutral SMPL-X model"),
                ("female", "Female", "The female SMPL-X model"),
                ("male", "Male", "The male SMPL-X model")]
UI_BETAS = 10
# What the panel and the errors tell a user without model files.
DOWNLOAD_STEPS = (
    "Register (free) at smpl-x.is.tue.mpg.de and download SMPL-X v1.1 (models_smplx_v1_1.zip)",
    "Unzip it; it holds models/smplx/SMPLX_NEUTRAL.npz, SMPLX_MALE.npz, SMPLX_FEMALE.npz",
    "Preferences > Add-ons > Anima > SMPL-X Model Folder: choose that 'models' folder",
)
MAIN_CHILD = {"pelvis": "spine1", "spine3": "neck", "left_wrist": "left_middle1",
              "right_wrist": "right_middle1"}
LEAF_LIKE = {"head"}            # its first child is the jaw: point it up, along the neck
MIN_BONE = 0.02


def model_folder(context=None) -> str:
    """The SMPL-X folder from the preferences; ValueError with the download steps if unset."""
    folder = (getattr(preferences.get_prefs(context), "smplx_folder", "") or "").strip()
    if not folder:
        raise ValueError("No SMPL-X model folder set. " + " ".join(
            f"{i + 1}. {s}." for i, s in enumerate(DOWNLOAD_STEPS)))
    return bpy.path.abspath(folder)


# ----------------------------------------------------------------------------- building
def bone_tails(joints: np.ndarray, parents: np.ndarray, names: list[str]) -> np.ndarray:
    """(J, 3) tail per joint: towards its main child; leaves (and the head) continue their
    parent segment's direction."""
    tails = np.zeros_like(joints)
    index = {n: i for i, n in enumerate(names)}
    for j, name in enumerate(names):
        kids = [k for k in range(len(names)) if parents[k] == j]
        child = index.get(MAIN_CHILD.get(name, ""), kids[0] if kids else None)
        if child is not None and name not in LEAF_LIKE and \
                np.linalg.norm(joints[child] - joints[j]) > MIN_BONE:
            tails[j] = joints[child]
            continue
        p = parents[j]
        seg = joints[j] - joints[p] if p >= 0 else np.array([0.0, 0.0, 0.1])
        length = np.linalg.norm(seg)
        direction = seg / length if length > 1e-9 else np.array([0.0, 0.0, 1.0])
        tails[j] = joints[j] + direction * max(0.5 * length, MIN_BONE)
    return tails


def _weights_as_index(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense (V, J) weights -> (V, K) bone index and weight of the K largest per vertex,
    K the most non-zero weights any vertex has (so nothing is dropped)."""
    k = max(1, int((weights > 0).sum(axis=1).max()))
    index = np.argsort(-weights, axis=1)[:, :k]
    return index, np.take_along_axis(weights, index, axis=1)


def build_smplx_objects(arrays: dict, collection, name: str = "SMPLX"):
    """Armature + skinned mesh from the `smplx_body` job's arrays (see backend/models/body/
    job.py). Returns (armature_obj, mesh_obj); the mesh is parented to the armature with an
    Armature modifier."""
    joints = np.asarray(arrays["joints"], dtype=np.float64)
    parents = np.asarray(arrays["parents"], dtype=np.int64)
    names = [str(n) for n in arrays["joint_names"]]
    if names[:22] != list(CANONICAL_NAMES):
        raise ValueError("the body's joints are not in the SMPL-X order")
    tails = bone_tails(joints, parents, names)

    arm = bpy.data.armatures.new(name)
    arm_obj = bpy.data.objects.new(name, arm)
    collection.objects.link(arm_obj)
    arm_obj.show_in_front = True
    with character._active(arm_obj, "EDIT"):
        ebones = []
        for j, bone_name in enumerate(names):
            eb = arm.edit_bones.new(bone_name)
            eb.head, eb.tail = joints[j].tolist(), tails[j].tolist()
            if parents[j] >= 0:
                eb.parent = ebones[parents[j]]
            ebones.append(eb)

    verts = np.asarray(arrays["vertices"], dtype=np.float32)
    faces = np.asarray(arrays["faces"], dtype=np.int32)
    mesh = bpy.data.meshes.new(f"{name}_Body")
    mesh.vertices.add(len(verts))
    mesh.vertices.foreach_set("co", verts.ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.update(calc_edges=True)
    mesh.validate(clean_customdata=False)
    if hasattr(mesh, "shade_smooth"):
        mesh.shade_smooth()
    mesh_obj = bpy.data.objects.new(f"{name}_Body", mesh)
    collection.objects.link(mesh_obj)
    index, weight = _weights_as_index(np.asarray(arrays["weights"], dtype=np.float64))
    character._add_vertex_groups(mesh_obj, names, index, weight)
    character.skin_to(mesh_obj, arm_obj)

    arm_obj["anima_smplx"] = True
    arm_obj["anima_smplx_gender"] = str(arrays["gender"])
    arm_obj["anima_smplx_betas"] = [float(b) for b in np.asarray(arrays["betas"]).ravel()]
    # Rest joints in the model frame: what a rest-aware AMASS import onto this body needs.
    arm_obj["anima_smplx_joints_model"] = np.asarray(arrays["joints_model"],
                                                     dtype=np.float64).ravel().tolist()
    bm = retarget._bonemap().BoneMap(rig_type="SMPL-X", bones={n: n for n in CANONICAL_NAMES},
                                      method="SMPL-X joint names")
    retarget.mapping_to_props(arm.anima_mapping, bm)
    return arm_obj, mesh_obj


def add_body_from_result(result: dict, collection_name: str, name: str):
    """on_result of the `smplx_body` job: build the objects and select the armature."""
    path = jobs.local_path((result.get("artifacts") or {}).get("body"), result)
    if not path:
        raise ValueError("The backend returned no SMPL-X body file")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    collection = bpy.data.collections.get(collection_name) or bpy.context.scene.collection
    arm_obj, _mesh = build_smplx_objects(arrays, collection, name)
    view_layer = bpy.context.view_layer
    if view_layer.objects.get(arm_obj.name) is arm_obj:
        for o in view_layer.objects:
            o.select_set(False)
        arm_obj.select_set(True)
        view_layer.objects.active = arm_obj
    return arm_obj


# ----------------------------------------------------------------------------- operators
class ANIMA_OT_add_smplx_body(bpy.types.Operator):
    """Add an SMPL-X body (mesh and armature) built from your SMPL-X model files"""
    bl_idname = "anima.add_smplx_body"
    bl_label = "Add SMPL-X Body"
    bl_options = {"REGISTER", "UNDO"}

    gender: EnumProperty(name="Gender", items=GENDER_ITEMS, default="neutral")
    betas: FloatVectorProperty(name="Shape (betas)", size=UI_BETAS, default=(0.0,) * UI_BETAS,
                               soft_min=-3.0, soft_max=3.0,
                               description="SMPL-X shape coefficients (0: the mean shape)")
    name: StringProperty(name="Name", default="SMPLX")

    def execute(self, context):
        try:
            folder = model_folder(context)
        except ValueError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        session = jobs.get_session()
        if session.busy:
            self.report({"ERROR"}, "Anima is already working on a job: wait or cancel it")
            return {"CANCELLED"}
        if context.mode != "OBJECT" and context.active_object is not None:
            bpy.ops.object.mode_set(mode="OBJECT")
        params = {"folder": folder, "gender": self.gender,
                  "betas": [float(b) for b in self.betas]}
        collection_name, name = context.collection.name, self.name or "SMPLX"

        def on_result(result):
            return add_body_from_result(result, collection_name, name)

        try:
            record = session.submit("smplx_body", params, label="SMPL-X body",
                                    on_result=on_result, undo_message="Anima: SMPL-X body",
                                    context=context)
        except jobs.JobFailed as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        if record.done and record.error:
            self.report({"ERROR"}, record.error)
            return {"CANCELLED"}
        return {"FINISHED"}


class ANIMA_OT_export_smplx(bpy.types.Operator):
    """Export the active armature's motion as SMPL-X parameters (AMASS-style .npz)"""
    bl_idname = "anima.export_smplx"
    bl_label = "Export SMPL-X Motion"
    bl_options = {"REGISTER"}

    filepath: StringProperty(name="File", subtype="FILE_PATH", options={"SKIP_SAVE"})
    filter_glob: StringProperty(default="*.npz", options={"HIDDEN"})
    gender: EnumProperty(name="Gender", items=GENDER_ITEMS, default="neutral",
                         description="Gender written to the file (an SMPL-X body's own "
                                     "gender and shape are used when the armature is one)")
    frame_start: IntProperty(name="Start", default=-1, options={"SKIP_SAVE"},
                             description="First frame (-1: the action's range)")
    frame_end: IntProperty(name="End", default=-1, options={"SKIP_SAVE"})

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return obj is not None and obj.type == "ARMATURE"

    def invoke(self, context, event):
        if not self.filepath:
            self.filepath = bpy.path.ensure_ext(context.active_object.name + "_smplx", ".npz")
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        from . import rig_motion
        try:
            arm = context.active_object
            if arm is None or arm.type != "ARMATURE":
                raise ValueError("Select the armature whose motion to export")
            if not self.filepath:
                raise ValueError("Choose a file to export to (.npz)")
            path = bpy.path.abspath(self.filepath)
            if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
                raise ValueError(f"Folder does not exist: {os.path.dirname(path)!r}")
            start = self.frame_start if self.frame_start >= 0 else None
            end = self.frame_end if self.frame_end >= 0 else None
            clip = rig_motion.canonical_clip_from_armature(arm, start, end)
            gender = str(arm.get("anima_smplx_gender", self.gender))
            betas = list(arm["anima_smplx_betas"]) if "anima_smplx_betas" in arm else None
            out = amass.save_smplx(clip, path, gender=gender, betas=betas or None)
        except Exception as e:  # noqa: BLE001 - every failure becomes a report
            self.report({"ERROR"}, jobs.user_message(e))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Exported {clip.num_frames} frames to {os.path.basename(out)}")
        return {"FINISHED"}


CLASSES = [ANIMA_OT_add_smplx_body, ANIMA_OT_export_smplx]
