"""`make demo`: a prompt -> the CC0 MakeHuman character animated in Blender, headless.

Runs the add-on exactly as a user would in background mode: add the default character, type a
prompt, press Generate (the backend process is spawned from this venv; in background mode the
operator waits for the job instead of using the timer pump), then save out/demo.blend and render
out/demo.png, a contact sheet of 8 frames.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy  # noqa: E402

from addon_loader import enable_preferences, load_addon  # noqa: E402

SHEET_FRAMES = 8


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompt", default="a person walks forward and waves")
    parser.add_argument("--seconds", type=float, default=0.0, help="0: the clip's own length")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    load_addon(register=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    prefs = enable_preferences()
    prefs.python_path = sys.executable
    prefs.cache_dir = str(out / "cache")
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    scene.frame_start = scene.frame_current = 1

    result = bpy.ops.anima.import_character()
    if result != {"FINISHED"}:
        print("error: could not add the character", file=sys.stderr)
        return 1
    arm = bpy.context.view_layer.objects.active
    kwargs = {"prompt": args.prompt, "seed": args.seed}
    if args.seconds > 0:
        kwargs["seconds"] = args.seconds
    result = bpy.ops.anima.generate(**kwargs)
    if result != {"FINISHED"} or arm.animation_data is None or arm.animation_data.action is None:
        print(f"error: generation failed for {args.prompt!r}", file=sys.stderr)
        return 1
    action = arm.animation_data.action
    first, last = (int(round(v)) for v in action.frame_range)
    scene.frame_start, scene.frame_end = first, last
    step = max(1, (last - first) // (SHEET_FRAMES - 1))
    frames = [min(first + i * step, last) for i in range(SHEET_FRAMES)]

    from anima.operators import character, jobs
    jobs.shutdown()
    blend = out / "demo.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    png = character.render_contact_sheet(scene, arm, frames, str(out / "demo.png"), follow=True)
    print(f"prompt: {args.prompt!r}")
    print(f"action: {action.name!r}, frames {first}-{last} at {scene.render.fps} fps; "
          f"source {action.get('anima_source', '?')}, licence {action.get('anima_licence', '?')}")
    print(f"wrote {blend} and {png} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
