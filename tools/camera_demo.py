"""`make camera-demo`: a drone-style camera films the example story, headless.

The story demo's steps first (tools/story_demo.py: the example's scene from boxes, the
MakeHuman character, Plan Story and Make Motion through the operators), then a camera is
added and the Camera panel's operators run as a user would press them: Plan Camera with the
character as the subject and the chosen shot (default "follow"), the first alternative picked,
Animate Camera, Contact Sheet. Writes ``out/camera.blend`` and ``out/camera.png`` (8 frames
seen from the planned camera) and prints each alternative's metrics.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy  # noqa: E402

from demo import start_demo  # noqa: E402
from story_demo import DEFAULT_STORY, _place_character  # noqa: E402
from story_scene_blender import build_scene  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--story", type=Path, default=DEFAULT_STORY)
    parser.add_argument("--shot", default="follow")
    parser.add_argument("--seconds", type=float, default=12.0,
                        help="how much of the story the camera films (from its start)")
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    example = json.loads(args.story.read_text(encoding="utf-8"))

    t0 = time.perf_counter()
    scene = start_demo(out)
    build_scene(example)
    if bpy.ops.anima.import_character() != {"FINISHED"}:
        print("error: could not add the character", file=sys.stderr)
        return 1
    arm = bpy.context.view_layer.objects.active
    _place_character(arm, example)
    story = scene.anima_story
    story.story, story.rig = example["story"], arm
    if bpy.ops.anima.story_plan() != {"FINISHED"} or bpy.ops.anima.story_make() != {"FINISHED"}:
        print("error: the story motion could not be made", file=sys.stderr)
        return 1
    cam_data = bpy.data.cameras.new("DroneCam")
    cam = bpy.data.objects.new("DroneCam", cam_data)
    scene.collection.objects.link(cam)
    scene.camera = cam
    cam.location = (0.0, -6.0, 3.0)
    scene.frame_start, scene.frame_end = 1, int(round(args.seconds * scene.render.fps))
    settings = scene.anima_camera
    settings.subject, settings.shot = arm, args.shot
    bpy.context.view_layer.objects.active = cam
    if bpy.ops.anima.camera_plan() != {"FINISHED"} or not len(settings.paths):
        print(f"error: no camera path: {settings.warnings}", file=sys.stderr)
        return 1
    for i, p in enumerate(settings.paths):
        print(f"  {i}: {p.name}: crashes {p.crashes}, in frame {p.in_frame:.0%}, unoccluded "
              f"{p.unoccluded:.0%}, framing error {p.framing_error:.3f}, jerk {p.jerk:.2f} "
              f"(Catmull-Rom {p.catmull_rom_jerk:.2f}), clearance {p.min_clearance_m:.2f} m")
    bpy.ops.anima.camera_pick(index=0)
    if bpy.ops.anima.camera_apply() != {"FINISHED"}:
        print("error: the camera could not be animated", file=sys.stderr)
        return 1
    from anima.operators import jobs
    jobs.shutdown()
    blend = out / "camera.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    if bpy.ops.anima.camera_contact_sheet() != {"FINISHED"}:
        print("error: the contact sheet could not be rendered", file=sys.stderr)
        return 1
    sheet = out / "camera.png"
    Path(settings.sheet_path).replace(sheet)
    for w in settings.warnings.splitlines():
        print(f"  warning: {w}")
    print(f"wrote {blend} and {sheet} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
