"""Measure retargeting accuracy in real Blender (run inside a bpy process).

For each shipped rig: build it, apply a canonical clip with the add-on's own operator code,
evaluate the posed armature with Blender (constraints included, e.g. generated Rigify rigs),
then compare
  * mapped joint world positions, each side normalised by its height, both starting at the
    origin: mean and 95th percentile error in % of height;
  * foot planting: for every stretch where a source ankle is planted (slow and low), how far
    the rig's ankle slides (metres), next to how far the source's own ankle slides (scaled).

    .venv/bin/python tools/retarget_accuracy.py [--caption walk]
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


def library_clip(caption: str):
    from anima.backend.data.library import DEFAULT_LIBRARY, MotionLibrary
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    for i, e in enumerate(lib.entries):
        if e.captions and e.captions[0] == caption:
            return lib.clip(i)
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


def measure(rig: str, clip) -> dict:
    from anima.backend.motion.retarget import position_error
    from anima.backend.motion.skeleton import CANONICAL
    from anima.operators import retarget

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = int(round(clip.fps)), 1.0
    arm = build_rig(rig)
    rest_height = retarget.armature_skeleton(arm).height()
    retarget.apply_clip_to_armature(arm, clip, frame_start=1, scene=scene)
    bm, _ = retarget.ensure_mapping(arm)
    joints = [j for j in CANONICAL.names if j in bm.bones]
    deform = RIGIFY_DEF if rig == "rigify_generated" else {}
    bones = [deform.get(bm.bones[j], bm.bones[j]) for j in joints]
    T = clip.num_frames
    tgt = np.empty((T, len(joints), 3))
    mw = np.array(arm.matrix_world)
    for t in range(T):
        scene.frame_set(1 + t)
        heads = np.array([arm.pose.bones[b].head for b in bones])
        tgt[t] = heads @ mw[:3, :3].T + mw[:3, 3]
    src = clip.positions()[:, [CANONICAL.index(j) for j in joints]]
    err = position_error(src, CANONICAL.height(), tgt, rest_height)
    scale = rest_height / CANONICAL.height()
    # Planted = the source ankle is slow and low (the same contact test the retargeter uses
    # for foot locking, backend.motion.retarget.contact_segments).
    from anima.backend.motion.retarget import contact_segments
    slides, src_slides = [], []
    rest_ankle = float(CANONICAL.rest_world()[1][CANONICAL.index("left_ankle"), 2])
    for side in ("left_ankle", "right_ankle"):
        k = joints.index(side)
        for a, b in contact_segments(src[:, k], clip.fps, rest_ankle):
            seg_t, seg_s = tgt[a:b, k], src[a:b, k]
            slides.append(np.linalg.norm(seg_t - seg_t[0], axis=-1).max())
            src_slides.append(scale * np.linalg.norm(seg_s - seg_s[0], axis=-1).max())
    if PER_JOINT:
        for j, b, e in zip(joints, bones, err.mean(axis=0)):
            print(f"  {j:15s} {b:22s} {100 * e:5.2f}%")
    return {"rig": rig, "bones": len(arm.data.bones), "frames": T,
            "mean_err_pct": 100 * float(err.mean()),
            "p95_err_pct": 100 * float(np.percentile(err, 95)),
            "plants": len(slides),
            "max_slide_m": float(max(slides)) if slides else float("nan"),
            "mean_slide_m": float(np.mean(slides)) if slides else float("nan"),
            "src_max_slide_m": float(max(src_slides)) if slides else float("nan")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--caption", default="walk")
    parser.add_argument("--rigs", default=",".join(RIGS))
    parser.add_argument("--per-joint", action="store_true")
    args = parser.parse_args(argv)
    global PER_JOINT
    PER_JOINT = args.per_joint
    load_addon(register=True)
    clip = library_clip(args.caption)
    for rig in args.rigs.split(","):
        r = measure(rig, clip)
        print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
