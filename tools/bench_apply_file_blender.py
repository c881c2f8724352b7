"""Blender side of `python -m backend bench apply_file` (runs inside a bpy process).

Applies a 10 s, 30 fps BVH file (a library walk written by backend.motion.bvh.write_bvh) to a
generated Rigify rig with `operators.motion_file.apply_motion_file` REPEATS times and prints
one line of key=value pairs: apply_s (median of the full calls) and the split of the same work
done step by step: import_s (Blender's BVH importer into the temporary scene), read_s
(mapping the file's skeleton and sampling its evaluated pose), cleanup_s (removing what the
import created), retarget_s and write_s (keys into a new Action), each a median.
"""
from __future__ import annotations

import atexit
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy  # noqa: E402

from addon_loader import load_addon  # noqa: E402
from bench_retarget_blender import FPS, bench_clip  # noqa: E402

REPEATS = 3


def _drop(rig, action) -> None:
    rig.animation_data.action = None
    bpy.data.actions.remove(action)


def split_run(rig, path: str, scene) -> dict:
    """The steps of apply_motion_file, timed one by one (seconds)."""
    from anima.operators import file_import, keys, motion_file, retarget
    fps = retarget.scene_fps(scene)
    times = {}
    t0 = time.perf_counter()
    imported = file_import.imported_scene(path, fps)
    temp = imported.__enter__()
    t1 = time.perf_counter()
    try:
        motion = file_import.read_scene_motion(temp, path, fps)
        t2 = time.perf_counter()
    finally:
        imported.__exit__(None, None, None)
    t3 = time.perf_counter()
    bm, _ = retarget.ensure_mapping(rig)
    pose = motion_file.retarget_file_motion(rig, motion, bm)
    t4 = time.perf_counter()
    action = keys.write_rig_pose(rig, pose, "bench", 1, frame_step=1.0,
                                 fk_switch=[tuple(x) for x in bm.extras.get("fk_switch", [])])
    t5 = time.perf_counter()
    _drop(rig, action)
    times.update(import_s=t1 - t0, read_s=t2 - t1, cleanup_s=t3 - t2, retarget_s=t4 - t3,
                 write_s=t5 - t4)
    return times


def main() -> int:
    load_addon(register=True)
    from anima.backend.motion import axes
    from anima.backend.motion.bvh import write_bvh
    from anima.operators import character, motion_file

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    meta = character.build_armature(scene, "rigify")
    rig = character.generate_rigify(meta)
    bpy.context.view_layer.objects.active = rig
    clip = bench_clip(None)
    tmp = tempfile.mkdtemp(prefix="anima-bench-")
    atexit.register(shutil.rmtree, tmp, True)
    path = str(Path(tmp) / "walk_10s.bvh")
    skel, rots, root = axes.skeleton_clip_blender_to_y_up(clip.skeleton, clip.local_rotations,
                                                          clip.root_translation)
    write_bvh(path, skel, rots, root, clip.fps)

    full = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        action = motion_file.apply_motion_file(rig, path, frame_start=1, scene=scene)
        full.append(time.perf_counter() - t0)
        _drop(rig, action)
    splits = [split_run(rig, path, scene) for _ in range(REPEATS)]
    parts = {k: statistics.median(s[k] for s in splits) for k in splits[0]}
    print(f"frames={clip.num_frames} fps={FPS} rig_bones={len(rig.data.bones)} "
          + " ".join(f"{k}={v:.3f}" for k, v in parts.items())
          + f" apply_s={statistics.median(full):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
