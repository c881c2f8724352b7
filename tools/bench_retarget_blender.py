"""Blender side of `python -m backend bench retarget` (runs inside a bpy process).

Writes a 10 s, 30 fps canonical clip onto a generated Rigify rig with Anima (mapping, rest-pose
extraction, retargeting, bulk keyframes into a new Action) and imports the same frames with
Blender's own BVH importer (`bpy.ops.import_anim.bvh`), each REPEATS times in the same process;
prints one line of key=value pairs.
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
import numpy as np  # noqa: E402

from addon_loader import load_addon  # noqa: E402

REPEATS = 5
SECONDS = 10.0
FPS = 30


def bench_clip(anima):
    from anima.backend.data.library import DEFAULT_LIBRARY, MotionLibrary
    from anima.backend.motion.resample import resample
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    need = int(SECONDS * FPS)
    # The longest clip (walking/dance mocap), cut to exactly 10 s at 30 fps.
    best = max(range(len(lib)), key=lambda i: lib.entries[i].length / lib.entries[i].fps)
    clip = resample(lib.clip(best), FPS)
    if clip.num_frames < need:
        reps = int(np.ceil(need / clip.num_frames))
        from anima.backend.motion.clip import Clip
        clip = Clip(np.concatenate([clip.local_rotations] * reps)[:need],
                    np.concatenate([clip.root_translation] * reps)[:need], FPS, clip.skeleton,
                    clip.meta)
    return clip.slice(0, need)


def main() -> int:
    anima = load_addon(register=True)
    from anima.backend.motion import axes
    from anima.backend.motion.bvh import write_bvh
    from anima.operators import character, retarget

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    meta = character.build_armature(scene, "rigify")
    rig = character.generate_rigify(meta)
    clip = bench_clip(anima)
    tmp = Path(tempfile.mkdtemp(prefix="anima-bench-"))
    atexit.register(shutil.rmtree, tmp, True)
    bvh = tmp / "clip.bvh"
    skel, rots, root = axes.skeleton_clip_blender_to_y_up(clip.skeleton, clip.local_rotations,
                                                          clip.root_translation)
    write_bvh(bvh, skel, rots, root, clip.fps)

    ours, theirs = [], []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        action = retarget.apply_clip_to_armature(rig, clip, frame_start=1, scene=scene)
        ours.append(time.perf_counter() - t0)
        keyed = action
        rig.animation_data.action = None
        bpy.data.actions.remove(keyed)
        t0 = time.perf_counter()
        bpy.ops.import_anim.bvh(filepath=str(bvh), target="ARMATURE", frame_start=1,
                                use_fps_scale=False, update_scene_fps=False,
                                update_scene_duration=False, global_scale=0.01)
        theirs.append(time.perf_counter() - t0)
        imported = bpy.context.active_object
        act = imported.animation_data.action if imported.animation_data else None
        bpy.data.objects.remove(imported)
        if act is not None:
            bpy.data.actions.remove(act)
    o, b = statistics.median(ours), statistics.median(theirs)
    print(f"frames={clip.num_frames} fps={FPS} rig_bones={len(rig.data.bones)} "
          f"ours_ms={o * 1000:.1f} blender_bvh_ms={b * 1000:.1f} ratio={b / o:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
