"""What Anima checks and reads on a rig before keying it (Blender layer): armatures whose keys
could not show (linked, badly scaled, mapped bones held by drivers or constraints), bones that a
constraint makes copy another bone (the retargeter solves against what they follow), and keys
that could do nothing (constraint-driven bones at rest). Used by operators/retarget.py and the
motion-file operators.
"""
from __future__ import annotations

import re

import numpy as np

# Constraint types that set a bone's rotation and so override keyed rotations.
_OVERRIDING = {"COPY_ROTATION", "COPY_TRANSFORMS", "TRACK_TO", "DAMPED_TRACK", "LOCKED_TRACK",
               "IK", "SPLINE_IK", "CHILD_OF", "ARMATURE", "TRANSFORM", "ACTION"}


def check_armature(arm_obj, bm=None) -> None:
    """Refuse, with what to do about it, an armature that Anima's keys cannot animate as
    shown: linked from another file, zero / negative (mirrored) / non-uniform object scale,
    or mapped bones whose rotation a driver or an active constraint overrides. Changes
    nothing."""
    name = arm_obj.name
    if arm_obj.library is not None or (arm_obj.data.library is not None and
                                       arm_obj.override_library is None):
        raise ValueError(f"{name!r} is linked from another file and cannot be animated here: "
                         "make a library override (Object > Library Override) first")
    m = np.array(arm_obj.matrix_world, dtype=np.float64)[:3, :3]
    scales = np.linalg.norm(m, axis=0)
    if scales.min() < 1e-8:
        raise ValueError(f"{name!r} has a zero scale: set its scale to 1 (or apply it)")
    if np.linalg.det(m) < 0:
        raise ValueError(f"{name!r} has a negative (mirrored) scale: left and right would be "
                         "swapped; apply the scale (Ctrl+A > Scale) or un-mirror it first")
    if scales.max() / scales.min() > 1.01:
        raise ValueError(f"{name!r} is scaled unevenly ({', '.join(f'{v:.3g}' for v in scales)}"
                         "): apply the scale (Ctrl+A > Scale) first")
    if bm is None:
        return
    mapped = set(bm.bones.values())
    driven = set()
    anim = arm_obj.animation_data
    if anim is not None:
        for fc in anim.drivers:
            m_ = re.match(r'pose\.bones\["(.+?)"\]\.(rotation_\w+|location)', fc.data_path)
            if m_ and m_.group(1) in mapped and not fc.mute:
                driven.add(m_.group(1))
    if driven:
        raise ValueError(f"drivers set the rotation or location of mapped bones "
                         f"{', '.join(sorted(driven))}: their keys would be ignored; remove the "
                         "drivers or map other bones in Anima > Bone Mapping")
    held = []
    for b in sorted(mapped):
        pb = arm_obj.pose.bones.get(b)
        if pb is None:
            continue
        for c in pb.constraints:
            if c.type in _OVERRIDING and not getattr(c, "mute", False) and c.influence > 0:
                held.append(f"{b} ({c.name})")
    if held:
        raise ValueError(f"constraints override the rotation of mapped bones: "
                         f"{', '.join(held[:6])}{'...' if len(held) > 6 else ''}; mute them "
                         "(or set their influence to 0), or map the bones that drive them")


MECHANISM_PREFIXES = ("MCH-", "ORG-", "DEF-")   # Rigify's constraint-driven bones


def constraint_followers(arm_obj, bm=None) -> dict[str, str]:
    """{bone: bone it copies}: pose bones that a full-influence Copy Transforms or Copy
    Rotation constraint (world space, replace, from another bone of the same armature with the
    same rest orientation) makes turn with another bone rather than with their parent, as
    Rigify's ORG bones follow their controls. The retargeter then solves their children
    against the bone they really follow. With a mapping `bm`, only the bones above mapped
    bones are looked at (the only ones that matter)."""
    bones = arm_obj.data.bones
    pose_bones = arm_obj.pose.bones
    if bm is not None:
        names = set()
        for b in list(bm.bones.values()):
            bone = bones.get(b)
            while bone is not None and bone.name not in names:
                names.add(bone.name)
                bone = bone.parent
        candidates = [pose_bones[n] for n in names]
    else:
        candidates = list(pose_bones)
    out = {}
    for pb in candidates:
        for c in pb.constraints:
            if c.type not in ("COPY_TRANSFORMS", "COPY_ROTATION") or getattr(c, "mute", False):
                continue
            if c.influence < 0.999 or c.target != arm_obj or not c.subtarget or \
                    c.subtarget == pb.name or bones.get(c.subtarget) is None:
                continue
            if c.owner_space != "WORLD" or c.target_space != "WORLD":
                continue
            if c.type == "COPY_ROTATION" and (not (c.use_x and c.use_y and c.use_z) or
                                              c.invert_x or c.invert_y or c.invert_z or
                                              c.mix_mode != "REPLACE"):
                continue
            if c.type == "COPY_TRANSFORMS" and c.mix_mode != "REPLACE":
                continue
            a = np.array(bones[pb.name].matrix_local, dtype=np.float64)[:3, :3]
            b = np.array(bones[c.subtarget].matrix_local, dtype=np.float64)[:3, :3]
            a /= np.linalg.norm(a, axis=0, keepdims=True)
            b /= np.linalg.norm(b, axis=0, keepdims=True)
            if (np.trace(a.T @ b) - 1.0) / 2.0 > np.cos(np.radians(1.0)):
                out[pb.name] = c.subtarget
    return out


def skip_mechanism_bones(arm_obj, pose, bm, followers=None) -> None:
    """Leave out keys that cannot do anything: unmapped bones that stay in their rest pose and
    are driven by constraints (Rigify's MCH/ORG/DEF bones, or any bone with constraints), and
    bones whose every channel a full-influence Copy Transforms replaces (`followers`)."""
    mapped = set(bm.bones.values()) | ({bm.root_bone} if bm.root_bone else set())
    rot = np.asarray(pose.rotations)
    still = np.all(np.abs(np.abs(rot[..., 0]) - 1.0) < 1e-9, axis=0)       # (K,)
    keyed = np.asarray(pose.rot_keyed, dtype=bool).copy()
    copies = set()
    for name in (followers or {}):
        pb = arm_obj.pose.bones.get(name)
        if pb is not None and any(c.type == "COPY_TRANSFORMS" and c.influence >= 0.999
                                  and not getattr(c, "mute", False) for c in pb.constraints):
            copies.add(name)
    for k, name in enumerate(pose.bone_names):
        if not keyed[k] or name in mapped or pose.loc_keyed[k]:
            continue
        if name in copies:
            keyed[k] = False
            continue
        if not still[k]:
            continue
        pb = arm_obj.pose.bones.get(name)
        if name.startswith(MECHANISM_PREFIXES) or (pb is not None and len(pb.constraints)):
            keyed[k] = False
    pose.rot_keyed = keyed
