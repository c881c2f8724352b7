"""Measure retargeting as a user sees it, in real Blender (run inside a bpy process).

For each rig (the shipped ones and the rig zoo built by code, tools/rig_zoo.py, also with
scrambled names), apply a canonical clip with the add-on's own code, evaluate the posed
armature with Blender (constraints included), then compare with the source clip
(backend/eval/retarget_metrics.py):
  * mapping: the automatic mapping against the zoo's expected one;
  * joint positions against where they should be (the source's segment directions on the
    rig's own segment lengths, hung from a mid-hip point that travels like the source's,
    scaled by leg height), in % of the rig's height measured from its joints: mean and 95th
    percentile; the same with the rig's own mid-hip path (the pose alone);
  * segment directions (degrees), and the way end bones face (head, hands, feet, toes;
    degrees), measured through each rig's anatomical frames, not its bone axes;
  * planted feet: how far the rig's ankle slides while the source's is planted;
  * bones that must move (e.g. a Biped's pelvis) and did not.

    .venv/bin/python tools/retarget_accuracy.py [--clips walk,punch/strike] [--rigs shipped,zoo]
        [--scrambled] [--per-joint]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from addon_loader import load_addon  # noqa: E402

RIGS = ["default", "game_engine", "mixamo", "cmu_mb", "rigify", "rigify_generated"]
CLIPS = ["walk", "punch/strike"]
CLIP_SECONDS = 8.0          # long clips are cut to this much (speed)
PER_JOINT = False

# Generated Rigify rigs are driven through FK controls; measure the deforming bones.
# The pelvis joint is measured on the torso control itself: the MPFB meta-rig's first spine
# bone (DEF-spine) starts at the crotch, 12 cm below any pelvis joint.
RIGIFY_DEF = {"spine_fk.001": "DEF-spine.001",
              "spine_fk.002": "DEF-spine.002", "spine_fk.003": "DEF-spine.003",
              "spine_fk.004": "DEF-spine.004", "neck": "DEF-spine.005", "head": "DEF-spine.006"}
for _s in ("L", "R"):
    RIGIFY_DEF.update({f"thigh_fk.{_s}": f"DEF-thigh.{_s}", f"shin_fk.{_s}": f"DEF-shin.{_s}",
                       f"foot_fk.{_s}": f"DEF-foot.{_s}", f"toe_fk.{_s}": f"DEF-toe.{_s}",
                       f"shoulder.{_s}": f"DEF-shoulder.{_s}",
                       f"upper_arm_fk.{_s}": f"DEF-upper_arm.{_s}",
                       f"forearm_fk.{_s}": f"DEF-forearm.{_s}", f"hand_fk.{_s}": f"DEF-hand.{_s}"})


def library_clip(caption: str, seconds: float = CLIP_SECONDS):
    from anima.backend.data.library import DEFAULT_LIBRARY, MotionLibrary
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    for i, e in enumerate(lib.entries):
        if e.captions and e.captions[0] == caption:
            clip = lib.clip(i)
            n = min(clip.num_frames, int(round(seconds * clip.fps)))
            return clip.slice(0, n)
    raise LookupError(f"no library clip captioned {caption!r}")


def build_rig(rig: str):
    from anima.operators import character
    scene = bpy.context.scene
    if rig == "rigify_generated":
        meta = character.build_armature(scene, "rigify")
        arm = character.generate_rigify(meta)
        meta.hide_set(True)
    else:
        arm = character.build_armature(scene, rig)
    bpy.context.view_layer.objects.active = arm
    return arm


def _world_pose(arm, bones: list[str], frames: range):
    """Posed world rotations (T, B, 4), head positions (T, B, 3) and rest world rotations
    (B, 4) of `bones`, as Blender evaluates them (operators.rig_motion, constraints
    included)."""
    from anima.operators import retarget, rig_motion
    skel = retarget.armature_skeleton(arm)
    rots, pos = rig_motion.evaluated_world_pose(arm, np.asarray(list(frames), float))
    at = [skel.index(b) for b in bones]
    return rots[:, at], pos[:, at], skel.rest_world()[0][at]


def measure_armature(arm, clip, *, expected: dict | None = None,
                     anatomical: dict | None = None, must_move=(), measure_bones=None,
                     alternatives: dict | None = None) -> dict:
    """Apply `clip` to `arm` with the add-on's code and measure it (see the module doc)."""
    from anima.backend.eval import retarget_metrics as M
    from anima.backend.motion import quat
    from anima.backend.motion.skeleton import CANONICAL
    from anima.operators import retarget

    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = int(round(clip.fps)), 1.0
    skel = retarget.armature_skeleton(arm)
    retarget.apply_clip_to_armature(arm, clip, frame_start=1, scene=scene)
    bm, _ = retarget.ensure_mapping(arm)
    out = {"bones": len(arm.data.bones), "frames": clip.num_frames,
           "confidence": round(bm.overall_confidence, 2)}
    if expected:
        alternatives = alternatives or {}
        wrong = sorted(j for j, b in expected.items() if bm.bones.get(j) != b
                       and bm.bones.get(j) not in alternatives.get(j, ()))
        out["mapping_ok"] = not wrong
        out["wrong"] = ",".join(f"{j}:{bm.bones.get(j)}!={expected[j]}" for j in wrong) or "-"
    joints = [j for j in CANONICAL.names if j in bm.bones]
    measure_bones = measure_bones or {}
    bones = [measure_bones.get(bm.bones[j], bm.bones[j]) for j in joints]
    frames = range(1, clip.num_frames + 1)
    t_rot, t_pos, t_rest = _world_pose(arm, bones, frames)
    c_rot, c_pos = CANONICAL.fk(clip.local_rotations, clip.root_translation)
    ci = [CANONICAL.index(j) for j in joints]
    src_pos, src_rot = c_pos[:, ci], c_rot[:, ci]
    rig_rest = skel.rest_world()[1][[skel.index(b) for b in bones]]
    pj = [joints.index(j) for j in M.POSITION_JOINTS if j in joints]
    src_d = {joints[i]: src_pos[:, i] for i in pj}
    rest_d = {joints[i]: rig_rest[i] for i in pj}
    act_d = {joints[i]: t_pos[:, i] for i in pj}
    height = M.stature(rest_d)
    act_mid = 0.5 * (act_d["left_hip"] + act_d["right_hip"])
    # Where the joints should be: the source's segment directions on the rig's own segment
    # lengths; the mid-hip point travels like the source's, scaled by leg height.
    c_rest = CANONICAL.rest_world()[1]
    src_rest = {j: c_rest[CANONICAL.index(j)] for j in src_d}
    want = M.expected_positions(src_d, src_rest, rest_d, act_mid[0])
    want_pose = M.expected_positions(src_d, src_rest, rest_d, act_mid[0], tgt_mid=act_mid)
    pj = [i for i in pj if joints[i] in want]
    names_pj = [joints[i] for i in pj]
    pos_err = np.stack([np.linalg.norm(act_d[j] - want[j], axis=-1) for j in names_pj], 1)
    pos_err /= height
    local_err = np.stack([np.linalg.norm(act_d[j] - want_pose[j], axis=-1) for j in names_pj],
                         1) / height
    src_h = M.leg_height({j: c_rest[CANONICAL.index(j)] for j in src_d})
    tgt_h = M.leg_height(rest_d)
    pairs = [(joints.index(a), joints.index(b)) for a, b in M.SEGMENTS
             if a in joints and b in joints]
    seg = M.segment_angles(src_pos, t_pos, pairs)
    leaves = [j for j in M.LEAVES if j in joints]
    li = [joints.index(j) for j in leaves]
    if anatomical:
        anat = np.array([anatomical.get(bones[i], np.eye(3)) for i in li]).reshape(-1, 3, 3)
        anat = quat.from_matrix(anat)
    else:
        anat = M.default_anatomical(joints, rig_rest)[li]
    t_delta = quat.mul(t_rot[:, li], quat.conjugate(t_rest[li])[None])
    leaf = M.orientation_errors(src_rot[:, li], t_delta, anat)
    ankles = [joints.index("left_ankle"), joints.index("right_ankle")]
    rest_ankle = float(CANONICAL.rest_world()[1][CANONICAL.index("left_ankle"), 2])
    slides, _ = M.foot_slides(src_pos[:, ankles], t_pos[:, ankles], clip.fps, rest_ankle,
                              tgt_h / max(src_h, 1e-9))
    # Slides in metres of the character (a rig in centimetres has 100 units to the metre).
    slides = [d * M.metres_per_unit(height) for d in slides]
    out.update(M.summarise(pos_err, local_err, seg, leaf, slides))
    if must_move:
        m_rot, m_pos, _ = _world_pose(arm, list(must_move), frames)
        moved = (np.linalg.norm(m_pos - m_pos[:1], axis=-1).max(axis=0) > 1e-3) | \
            (M.rotation_angle(m_rot, m_rot[:1]).max(axis=0) > 1.0)
        out["unmoved"] = ",".join(b for b, ok in zip(must_move, moved) if not ok) or "-"
    if PER_JOINT:
        for (a, b), d in zip(pairs, seg.mean(axis=0)):
            print(f"  segment {joints[a]:>15s} -> {joints[b]:15s} {d:6.1f} deg")
        for i, (j, b) in enumerate(zip(joints, bones)):
            extra = f" leaf {leaf[:, li.index(i)].mean():6.1f} deg" if i in li else ""
            err = f"{100 * pos_err[:, pj.index(i)].mean():5.2f}% " \
                f"(pose {100 * local_err[:, pj.index(i)].mean():5.2f}%)" if i in pj else "   -  "
            print(f"  {j:15s} {b:26s} {err}{extra}")
    return out


def measure(rig: str, clip) -> dict:
    """A shipped rig (operators/character.py)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    arm = build_rig(rig)
    r = measure_armature(arm, clip,
                         measure_bones=RIGIFY_DEF if rig == "rigify_generated" else None)
    return {"rig": rig, **r}


def measure_zoo(spec, clip) -> dict:
    """A rig of the zoo (tools/rig_zoo.py)."""
    import rig_zoo
    bpy.ops.wm.read_factory_settings(use_empty=True)
    arm = rig_zoo.build_rig(spec)
    bpy.context.view_layer.objects.active = arm
    r = measure_armature(arm, clip, expected=spec.expected, anatomical=spec.anatomical,
                         must_move=list(spec.must_move),
                         alternatives=getattr(spec, "alternatives", None))
    return {"rig": spec.name, **r}


def _line(r: dict) -> str:
    return " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in r.items())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", default=",".join(CLIPS))
    parser.add_argument("--rigs", default="shipped,zoo",
                        help="'shipped', 'zoo', 'heldout', 'heldout2', or names of such rigs")
    parser.add_argument("--scrambled", action="store_true", help="zoo rigs with scrambled names")
    parser.add_argument("--per-joint", action="store_true")
    args = parser.parse_args(argv)
    global PER_JOINT
    PER_JOINT = args.per_joint
    load_addon(register=True)
    import rig_zoo
    import rig_zoo_heldout
    import rig_zoo_heldout2
    zoo = {s.name: s for s in rig_zoo.zoo()}
    heldout = {s.name: s for s in rig_zoo_heldout.heldout()}
    heldout2 = {s.name: s for s in rig_zoo_heldout2.heldout2()}
    zoo.update(heldout)
    zoo.update(heldout2)
    wanted = []
    for name in args.rigs.split(","):
        wanted += {"shipped": RIGS, "zoo": [s.name for s in rig_zoo.zoo()],
                   "heldout": list(heldout), "heldout2": list(heldout2)}.get(name, [name])
    for caption in args.clips.split(","):
        clip = library_clip(caption)
        print(f"# clip {caption!r}: {clip.num_frames} frames at {clip.fps:g} fps")
        for name in wanted:
            try:
                if name in zoo:
                    spec = rig_zoo.scrambled(zoo[name], 7) if args.scrambled else zoo[name]
                    r = measure_zoo(spec, clip)
                else:
                    r = measure(name, clip)
            except Exception as e:      # report and go on: one bad rig must not hide the rest
                r = {"rig": name, "error": f"{type(e).__name__}: {e}"}
            print(_line(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
