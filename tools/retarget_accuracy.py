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
PLANT_SPEED = 0.25      # m/s: a source ankle slower than this ...
PLANT_HEIGHT = 0.03     # m: ... and within this of its lowest height is planted
MIN_PLANT_FRAMES = 6

# Generated Rigify rigs are driven through FK controls; measure the deforming bones.
RIGIFY_DEF = {"torso": "DEF-spine", "spine_fk.001": "DEF-spine.001",
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
    slides, src_slides = [], []
    for side in ("left_ankle", "right_ankle"):
        k = joints.index(side)
        s = src[:, k]
        speed = np.linalg.norm(np.diff(s[:, :2], axis=0), axis=-1) * clip.fps
        planted = np.zeros(T, dtype=bool)
        planted[1:] = (speed < PLANT_SPEED) & (s[1:, 2] < s[:, 2].min() + PLANT_HEIGHT)
        t = 0
        while t < T:
            if not planted[t]:
                t += 1
                continue
            u = t
            while u < T and planted[u]:
                u += 1
            if u - t >= MIN_PLANT_FRAMES:
                seg_t = tgt[t:u, k]
                seg_s = s[t:u]
                slides.append(np.linalg.norm(seg_t - seg_t[0], axis=-1).max())
                src_slides.append(scale * np.linalg.norm(seg_s - seg_s[0], axis=-1).max())
            t = u
    return {"rig": rig, "bones": len(arm.data.bones), "frames": T,
            "mean_err_pct": 100 * float(err.mean()),
            "p95_err_pct": 100 * float(np.percentile(err, 95)),
            "plants": len(slides),
            "max_slide_m": float(max(slides)) if slides else float("nan"),
            "mean_slide_m": float(np.mean(slides)) if slides else float("nan"),
            "max_excess_slide_m": float(max(np.array(slides) - np.array(src_slides)))
            if slides else float("nan")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--caption", default="walk")
    parser.add_argument("--rigs", default=",".join(RIGS))
    args = parser.parse_args(argv)
    load_addon(register=True)
    clip = library_clip(args.caption)
    for rig in args.rigs.split(","):
        r = measure(rig, clip)
        print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
