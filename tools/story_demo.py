"""`make story-demo`: an example story played by the MakeHuman character in its scene, headless.

Runs the add-on as a user would in background mode: the example's scene is built
(tools/story_scene_blender.py: a box per chair, table, door, wall ...), the default character
is added where the story starts, the story is typed into the Story panel, Plan Story and Make
Motion are pressed (the backend is spawned from this venv; in background mode the operators
wait for their jobs), then it saves ``out/story.blend`` and renders

* ``out/story.png``: a contact sheet of 8 frames (one per segment, spread over the story) seen
  from a fixed three-quarter camera over a 1 m checkered floor with the pelvis's path;
* ``out/story_top.png``: the scene from above, every object's name on it, the path drawn.

``--story FILE`` picks another example (default assets/stories/01_tired_evening.json).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy  # noqa: E402
from mathutils import Vector  # noqa: E402

from demo import TILE, _floor_and_path, render_path_sheet, start_demo  # noqa: E402
from story_scene_blender import build_scene  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_STORY = REPO / "assets" / "stories" / "01_tired_evening.json"
TOP_SIZE = (960, 720)
LABEL_COLOR = (0.1, 0.1, 0.12, 1.0)
SHEET_VIEW = (0.7, -1.0, 1.6)          # steeper than make demo's: over the walls


def _place_character(arm, example: dict) -> None:
    ch = example["scene"].get("character", {})
    x, y = (list(ch.get("position", (0.0, 0.0))) + [0.0, 0.0])[:2]
    arm.location = (float(x), float(y), 0.0)
    arm.rotation_mode = "XYZ"
    arm.rotation_euler = (0.0, 0.0, math.radians(float(ch.get("yaw", 0.0))))
    bpy.context.view_layer.update()


def _labels(objects: dict) -> list:
    """A flat text label above each object (removed after rendering)."""
    from anima.operators.character import _material
    mat = _material("AnimaStoryLabel", LABEL_COLOR)
    made = [mat]
    for name, obj in objects.items():
        if name == "Floor":
            continue
        curve = bpy.data.curves.new(f"Label {name}", "FONT")
        curve.body, curve.size, curve.align_x = name, 0.22, "CENTER"
        curve.materials.append(mat)
        label = bpy.data.objects.new(f"Label {name}", curve)
        top = max((obj.matrix_world @ Vector(c)).z for c in obj.bound_box) \
            if obj.type == "MESH" else obj.location.z
        label.location = (obj.location.x, obj.location.y, top + 0.05)
        bpy.context.scene.collection.objects.link(label)
        made += [label, curve]
    return made


def render_top(scene, arm, objects: dict, out_png: str) -> str:
    """The whole scene from straight above (orthographic), the pelvis path drawn, names on."""
    first, last = scene.frame_start, scene.frame_end
    pelvis = []                        # the body's centre (mean of the bone heads)
    bones = [pb for pb in arm.pose.bones if pb.bone.use_deform] or list(arm.pose.bones)
    for f in range(first, last + 1, 2):
        scene.frame_set(f)
        heads = [arm.matrix_world @ pb.head for pb in bones]
        pelvis.append((sum(v.x for v in heads) / len(heads),
                       sum(v.y for v in heads) / len(heads)))
    xs = [v[0] for o in objects.values() if o.type == "MESH"
          for v in (o.matrix_world @ Vector(c) for c in o.bound_box)]
    ys = [v[1] for o in objects.values() if o.type == "MESH"
          for v in (o.matrix_world @ Vector(c) for c in o.bound_box)]
    floor = objects.get("Floor")
    if floor is not None:
        floor.hide_render = True                      # the checkered floor replaces it
    lo = (min(xs + [p[0] for p in pelvis]), min(ys + [p[1] for p in pelvis]))
    hi = (max(xs + [p[0] for p in pelvis]), max(ys + [p[1] for p in pelvis]))
    temp = _floor_and_path(lo, hi, pelvis) + _labels(objects)
    cam_data = bpy.data.cameras.new("AnimaTopCam")
    cam_data.type = "ORTHO"
    w, h = TOP_SIZE
    cam_data.ortho_scale = max(hi[0] - lo[0] + 1.0, (hi[1] - lo[1] + 1.0) * w / h)
    cam = bpy.data.objects.new("AnimaTopCam", cam_data)
    scene.collection.objects.link(cam)
    cam.location = ((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, 30.0)
    cam_data.clip_end = 100.0
    temp = [cam, cam_data] + temp
    old_camera = scene.camera
    scene.camera = cam
    r = scene.render
    r.resolution_x, r.resolution_y = w, h
    r.use_stamp = False
    r.filepath = out_png
    try:
        scene.frame_set(last)
        bpy.ops.render.render(write_still=True, scene=scene.name)
    finally:
        scene.camera = old_camera
        if floor is not None:
            floor.hide_render = False
        for idb in temp:
            with contextlib.suppress(Exception):
                getattr(bpy.data, {"OBJECT": "objects", "MESH": "meshes", "CAMERA": "cameras",
                                   "MATERIAL": "materials", "CURVE": "curves"}[idb.id_type]
                        ).remove(idb)
    return out_png


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--story", type=Path, default=DEFAULT_STORY)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    example = json.loads(args.story.read_text(encoding="utf-8"))

    t0 = time.perf_counter()
    scene = start_demo(out)
    objects = build_scene(example)
    if bpy.ops.anima.import_character() != {"FINISHED"}:
        print("error: could not add the character", file=sys.stderr)
        return 1
    arm = bpy.context.view_layer.objects.active
    _place_character(arm, example)
    story = scene.anima_story
    story.story, story.seed, story.rig = example["story"], args.seed, arm
    if bpy.ops.anima.story_plan() != {"FINISHED"} or not len(story.segments):
        print("error: the story could not be planned", file=sys.stderr)
        return 1
    if bpy.ops.anima.story_make() != {"FINISHED"}:
        print("error: the story motion could not be made", file=sys.stderr)
        return 1
    result = json.loads(story.result_json)
    strips = [s for t in arm.animation_data.nla_tracks for s in t.strips]
    first = int(min(s.frame_start for s in strips))
    last = int(max(s.frame_end for s in strips))
    scene.frame_start, scene.frame_end = first, last
    markers = sorted(m.frame for m in scene.timeline_markers)
    rate = scene.render.fps / float(result["fps"])
    frames = [min(last, int(m + 0.5 * (r["end"] - r["start"]) * rate))   # mid-segment
              for m, r in zip(markers, result["segments"])]
    if len(frames) > 8:
        frames = [frames[round(i * (len(frames) - 1) / 7)] for i in range(8)]

    from anima.operators import jobs
    jobs.shutdown()
    blend = out / "story.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    walls = [o for n, o in objects.items() if n.lower().startswith("wall")]
    for o in walls:                   # see into the room
        o.display_type = "WIRE"
    import demo
    demo.VIEW_DIRECTION = SHEET_VIEW
    sheet = render_path_sheet(scene, arm, frames, str(out / "story.png"), size=TILE)
    top = render_top(scene, arm, objects, str(out / "story_top.png"))
    print(f"story: {args.story.name}: {len(result['segments'])} segments, "
          f"{result['frames'] / result['fps']:.1f} s, {len(strips)} NLA strips")
    for w in result.get("warnings", []):
        print(f"  warning: {w}")
    print(f"wrote {blend}, {sheet} and {top} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
