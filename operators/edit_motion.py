"""Generator edits of the active armature's Action (issue 8): In-between, Regenerate Range,
Continue, Body Part. Each reads the Action back as a canonical clip, sends it with an `edit`
job (``backend/models/editing/job.py``), and writes the answer as a NEW Action version on the
rig (``splice.write_edit_version``): what was not edited keeps its values to the last bit, the
user's keyed poses are met exactly, the original Action is kept; one undo step. Nothing in the
scene changes when the input is bad or the job fails.

Scripting (blocking in background mode)::

    from anima.operators import edit_motion as em
    em.run_edit(rig, "inbetween")                       # fill between the rig's keyed frames
    em.run_edit(rig, "regenerate", start=40, end=80, text="jumps over a log")
    em.run_edit(rig, "continue", seconds=2.0, text="sits down")
    em.run_edit(rig, "body_part", parts=["upper_body"], text="waves with both hands")
"""
from __future__ import annotations

import numpy as np

from ..backend.motion.joints import JOINT_GROUPS, group_joints
from ..backend.motion.skeleton import CANONICAL_NAMES
from ..backend.motion.wire import clip_to_wire
from . import jobs, retarget, rig_motion, splice

EDIT_LABELS = {"inbetween": "in-between", "regenerate": "regenerated", "continue": "continued",
               "body_part": "body part", "join": "join"}
FRAME_TOLERANCE = 1e-3        # a key this close to a whole frame is on it


class EditPlan:
    """What an edit sends and how its answer lands: frames (T,) scene frames, edited (T,)
    bool, anchors (indices), bones (rig bone names or None), params (the job's)."""

    def __init__(self, frames, edited, anchors, bones, params, label, ref_from_new=None):
        self.frames, self.edited, self.anchors = frames, edited, anchors
        self.bones, self.params, self.label = bones, params, label
        self.ref_from_new = ref_from_new    # (T,) bool: frames whose kept values are the new
        #                                     motion's (the second clip of a join)


def current_action(arm_obj):
    """The armature's Action to edit (ValueError for the user otherwise)."""
    if arm_obj is None or arm_obj.type != "ARMATURE":
        raise ValueError("Select an armature whose motion to edit")
    if arm_obj.mode == "EDIT":
        raise ValueError(f"Leave Edit Mode on {arm_obj.name!r} first")
    anim = arm_obj.animation_data
    action = anim.action if anim is not None else None
    if action is None:
        raise ValueError(f"Armature {arm_obj.name!r} has no action to edit")
    if anim.use_tweak_mode:
        raise ValueError(f"Armature {arm_obj.name!r} is in NLA tweak mode: exit it first")
    import bpy
    owner = action.get("anima_armature")
    other = bpy.data.objects.get(owner) if isinstance(owner, str) else None
    if other is not None and other != arm_obj and other.type == "ARMATURE":
        raise ValueError(f"Action {action.name!r} belongs to armature {owner!r}, not "
                         f"{arm_obj.name!r}: edit it on {owner!r}, or give {arm_obj.name!r} "
                         f"its own motion")
    return action


def _check_idle(arm_obj) -> None:
    session = jobs.get_session()
    if session.busy:
        rec = session.job or session.pending
        what = f" ({rec.label})" if rec is not None and rec.label else ""
        raise ValueError(f"Anima is still working on a job{what}: wait for it or cancel it "
                         f"before editing {arm_obj.name!r}")


def _range(frames: np.ndarray, start, end) -> np.ndarray:
    """(T,) bool of scene frames start..end, checked against the Action's frames."""
    if start is None or end is None:
        raise ValueError("Give the frames to edit (the preview range, or start and end)")
    start, end = int(round(start)), int(round(end))
    first, last = int(frames[0]), int(frames[-1])
    if end < start:
        raise ValueError(f"The range {start}-{end} is empty: its end is before its start")
    if start < first or end > last:
        raise ValueError(f"The range {start}-{end} is outside the Action's frames "
                         f"{first}-{last}")
    if start <= first + 1 and end >= last - 1:
        raise ValueError(f"The range {start}-{end} covers the whole Action ({first}-{last}): "
                         f"nothing is left to keep; generate a new clip instead")
    return (frames >= start) & (frames <= end)


def _retargeted_bones(arm_obj, clip) -> set[str]:
    pose = retarget.rig_pose_for_clip(arm_obj, clip.slice(0, min(2, clip.num_frames)))[0]
    return {n for n, r, l in zip(pose.bone_names, pose.rot_keyed, pose.loc_keyed) if r or l}


def _key_anchors(arm_obj, action, frames, clip) -> np.ndarray:
    """Indices into frames of the user's keyed poses (checked: whole frames, mapped bones)."""
    known_bones = _retargeted_bones(arm_obj, clip)
    keyed = splice.keyed_frames(action, arm_obj)
    unknown = sorted(b for b in keyed if b not in known_bones)
    if unknown:
        shown = ", ".join(unknown[:6]) + (" ..." if len(unknown) > 6 else "")
        raise ValueError(f"Keys on bones Anima's mapping does not know: {shown}. Map them in "
                         f"the Mapping panel, or remove their keys, then try again")
    all_frames = np.unique(np.concatenate(list(keyed.values()))) if keyed else np.zeros(0)
    for bone, fr in keyed.items():
        off = fr[np.abs(fr - np.round(fr)) > FRAME_TOLERANCE]
        if off.size:
            near = all_frames[(np.abs(all_frames - off[0]) < 1) & (all_frames != off[0])]
            if near.size:
                raise ValueError(f"Keys closer than one frame: {bone!r} at frame {off[0]:g} "
                                 f"and a key at {near[0]:g}. Keep one key per frame")
            raise ValueError(f"{bone!r} has a key between frames (frame {off[0]:g}): snap keys "
                             f"to whole frames (Key > Snap) and try again")
    whole = np.unique(np.round(all_frames).astype(int))
    idx = np.flatnonzero(np.isin(frames.astype(int), whole))
    if idx.size < 2:
        raise ValueError(f"In-betweening needs at least two keyed poses; {arm_obj.name!r} has "
                         f"{idx.size} keyed frame(s)")
    if np.all(np.diff(idx) <= 1):
        raise ValueError("Every frame between the keys is keyed: nothing to fill. Key only "
                         "the poses to keep, or use In-between on a frame range")
    return idx


def plan_edit(arm_obj, edit: str, clip, action, *, start=None, end=None, seconds=None,
              parts=None, bones=None, text: str = "", seed: int = 0, model: str = "starter",
              method: str = "auto", join_with=None) -> EditPlan:
    """Check the request against the rig and its Action and build the job (ValueError)."""
    frames = np.arange(clip.num_frames, dtype=np.float64) + \
        round(rig_motion.action_frame_range(arm_obj)[0])
    params = {"edit": edit, "clip": clip_to_wire(clip), "seed": int(seed), "model": model}
    if text.strip():
        params["text"] = text.strip()
    T = clip.num_frames
    if edit == "inbetween":
        if start is not None or end is not None:
            edited = _range(frames, start, end)
            anchors = np.flatnonzero(~edited)
        else:
            anchors = _key_anchors(arm_obj, action, frames, clip)
            edited = np.zeros(T, bool)
            edited[anchors[0]:anchors[-1] + 1] = True
            edited[anchors] = False
        params.update(keys=[int(i) for i in np.flatnonzero(~edited)], method=method)
        label = "in-between"
    elif edit == "regenerate":
        if not text.strip():
            raise ValueError("Type what the new frames should show")
        edited = _range(frames, start, end)
        anchors = np.flatnonzero(~edited)
        idx = np.flatnonzero(edited)
        params.update(start=int(idx[0]), end=int(idx[-1]))
        label = f"regenerated {int(frames[idx[0]])}-{int(frames[idx[-1]])}"
    elif edit == "continue":
        if seconds is None or not 0 < float(seconds) <= 30:
            raise ValueError("Continue by more than 0 and at most 30 seconds")
        extra = max(1, int(round(float(seconds) * clip.fps)))
        frames = np.arange(T + extra, dtype=np.float64) + frames[0]
        edited = np.zeros(T + extra, bool)
        edited[T:] = True
        anchors = np.arange(T)
        params["seconds"] = float(seconds)
        label = f"continued +{float(seconds):g} s"
    elif edit == "body_part":
        if not text.strip():
            raise ValueError("Type what the body part should do")
        if bones:
            parts = _joints_of_bones(arm_obj, bones)
        joints = group_joints(parts or [])
        bones = _rig_bones_of(arm_obj, joints)
        if start is not None or end is not None:
            edited = _range(frames, start, end)
            idx = np.flatnonzero(edited)
            params.update(start=int(idx[0]), end=int(idx[-1]))
        else:
            edited = np.ones(T, bool)
        anchors = np.flatnonzero(~edited)
        params["parts"] = list(parts)
        label = " + ".join(p.replace("_", " ") for p in parts)
    elif edit == "join":
        second, gap = join_with
        known = second["known"]
        edited = np.ones(T, bool)
        edited[known] = False
        anchors = known
        params.update(edit="inbetween", keys=[int(i) for i in known], method=method)
        ref_from_new = np.zeros(T, bool)
        ref_from_new[known[known > int(np.flatnonzero(edited)[0])]] = True
        return EditPlan(frames, edited, anchors, None, params,
                        f"+ {second['name']}", ref_from_new)
    else:
        raise ValueError(f"Unknown edit {edit!r}")
    return EditPlan(frames, edited, anchors, bones if edit == "body_part" else None, params,
                    label)


def _joints_of_bones(arm_obj, bone_names) -> list[str]:
    bm, _ = retarget.ensure_mapping(arm_obj, store=False)
    of_bone = {b: j for j, b in bm.bones.items()}
    joints = sorted({of_bone[b] for b in bone_names if b in of_bone},
                    key=CANONICAL_NAMES.index)
    if not joints:
        raise ValueError(f"None of the selected bones ({', '.join(list(bone_names)[:5])}) is "
                         f"mapped to a body joint: select mapped bones or pick a body part")
    return joints


def _rig_bones_of(arm_obj, joints) -> set[str]:
    """Rig bones that move with the canonical `joints`: the mapped bones and the unmapped
    bones (twist, helpers) whose nearest mapped ancestor is one of them."""
    bm, _ = retarget.ensure_mapping(arm_obj, store=False)
    wanted = {CANONICAL_NAMES[j] for j in joints}
    of_bone = {b: j for j, b in bm.bones.items()}
    out = set()
    for bone in arm_obj.data.bones:
        b = bone
        while b is not None and b.name not in of_bone:
            b = b.parent
        if b is not None and of_bone[b.name] in wanted:
            out.add(bone.name)
    return out


def apply_edit(result: dict, target: str, action_name: str, plan: EditPlan, options: dict,
               scene_name: str | None = None):
    """Write an `edit` job's answer onto armature `target` as a new version of `action_name`
    (returned). ValueError when the armature or its Action changed meanwhile."""
    import bpy
    from ..backend.motion.clip import Clip
    from .generate import parse_search_result
    obj = bpy.data.objects.get(target)
    action = bpy.data.actions.get(action_name)
    if obj is None or obj.type != "ARMATURE" or action is None:
        raise ValueError(f"The armature {target!r} or its Action {action_name!r} is gone; "
                         f"the edit was not applied")
    scene = bpy.data.scenes.get(scene_name) if scene_name else bpy.context.scene
    clips, selected, _warnings = parse_search_result(result)
    clip = Clip.load_npz(clips[selected]["clip"])
    pose, _bm, _det, clip = retarget.rig_pose_for_clip(
        obj, clip, root_mode=options.get("root_mode", "hips"),
        foot_ik=options.get("foot_ik", True), fps=retarget.scene_fps(scene))
    if clip.num_frames != len(plan.frames):
        raise ValueError(f"The edit came back with {clip.num_frames} frames, expected "
                         f"{len(plan.frames)}")
    info = {"anima_edit": plan.label, "anima_licence": str(result.get("clips", [{}])[0]
                                                          .get("licence", ""))}
    if plan.params.get("text"):
        info["anima_prompt"] = plan.params["text"]
    name = f"{action_name} ({plan.label})"[:60]
    new = splice.write_edit_version(obj, action, pose, plan.frames, plan.edited,
                                    plan.anchors, plan.bones, name, info,
                                    ref_from_new=plan.ref_from_new)
    if plan.frames[-1] > scene.frame_end:
        scene.frame_end = int(plan.frames[-1])
    return new


def run_edit(arm_obj, edit: str, *, scene=None, options: dict | None = None,
             block: bool | None = None, context=None, **kwargs):
    """Plan, submit and (blocking: at once, else when the job ends) apply an edit. Returns
    the jobs.JobRecord. ValueError / jobs.JobFailed for the user; nothing changes then."""
    import bpy
    scene = scene or bpy.context.scene
    action = current_action(arm_obj)
    _check_idle(arm_obj)
    first, last = rig_motion.action_frame_range(arm_obj)
    clip = rig_motion.canonical_clip_from_armature(arm_obj, round(first), round(last), scene)
    if edit == "join":
        clip, kwargs = _joined(arm_obj, action, clip, scene, **kwargs)
    plan = plan_edit(arm_obj, edit, clip, action, **kwargs)
    options = dict(options or {"root_mode": "hips", "foot_ik": True})
    target, action_name, scene_name = arm_obj.name, action.name, scene.name

    def on_result(result):
        return apply_edit(result, target, action_name, plan, options, scene_name)

    return jobs.get_session().submit(
        "edit", plan.params, label=f"{EDIT_LABELS[edit]} on {target}", on_result=on_result,
        undo_message=f"Anima: {plan.label}", context=context, block=block)


def _joined(arm_obj, action, clip, scene, *, other=None, gap_frames: int = 10, **kwargs):
    """The active clip, a gap and the Action `other` (name) placed after it, for a join."""
    import bpy
    from ..backend.motion.join import join_with_gap
    second = bpy.data.actions.get(other) if isinstance(other, str) else other
    if second is None:
        raise ValueError(f"No Action named {other!r} to join")
    if second == action:
        raise ValueError("Pick another Action to join: this one is the active Action")
    owner = second.get("anima_armature")
    if isinstance(owner, str) and owner != arm_obj.name and \
            bpy.data.objects.get(owner) is not None:
        raise ValueError(f"Action {second.name!r} belongs to armature {owner!r}, not "
                         f"{arm_obj.name!r}")
    anim = arm_obj.animation_data
    slot = getattr(anim, "action_slot", None)
    try:
        from . import keys
        anim.action = second
        if keys.is_slotted(second) and len(second.slots) and hasattr(anim, "action_slot"):
            anim.action_slot = next((s for s in second.slots
                                     if s.identifier == "OB" + arm_obj.name), second.slots[0])
        a, b = rig_motion.action_frame_range(arm_obj)
        other_clip = rig_motion.canonical_clip_from_armature(arm_obj, round(a), round(b), scene)
    finally:
        anim.action = action
        if slot is not None:
            anim.action_slot = slot
    try:
        joined, known = join_with_gap(clip, other_clip, int(gap_frames))
    except ValueError as e:
        raise ValueError(f"Cannot join: {e}") from None
    kwargs["join_with"] = ({"known": known, "name": second.name}, int(gap_frames))
    return joined, kwargs


PART_ITEMS = [(k, k.replace("_", " ").title(), f"Edit the {k.replace('_', ' ')}")
              for k in JOINT_GROUPS] + [("SELECTED", "Selected Bones",
                                         "Edit the selected pose bones")]
