"""`make demo`: a prompt -> the CC0 MakeHuman character animated in Blender, headless.

Runs the add-on exactly as a user would in background mode: add the default character, type a
prompt, press Generate (the backend process is spawned from this venv; in background mode the
operator waits for the job instead of using the timer pump), then save out/demo.blend and render
out/demo.png, a contact sheet of 8 frames.

The sheet is seen from a fixed camera, three-quarter from the character's front left and
above, that frames the whole path (every bone over the whole action), over a 1 m checkered
floor with the pelvis's path drawn on it, so travel shows as the figure moving across the
tiles. ``--clip file.npz`` renders a canonical clip saved with ``Clip.save_npz`` instead of
generating (``anima.apply_clip``), e.g. to look at a composed prompt.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy  # noqa: E402
import numpy as np  # noqa: E402
from mathutils import Vector  # noqa: E402

from addon_loader import enable_preferences, load_addon  # noqa: E402

SHEET_FRAMES = 8
TILE = (480, 360)
VIEW_DIRECTION = (1.0, -1.0, 0.8)        # from the target towards the camera: front left, above
TILE_COLORS = ((0.62, 0.64, 0.67, 1.0), (0.47, 0.49, 0.52, 1.0))
PATH_COLOR = (0.85, 0.45, 0.12, 1.0)


def _floor_and_path(lo, hi, pelvis_xy):
    """Temporary checkered floor (1 m tiles covering [lo, hi] + 1 m) and a pelvis-path strip;
    returns the new objects, meshes and materials."""
    from anima.operators.character import _material
    ids = []
    mats = [_material(f"AnimaDemoTile{i}", c) for i, c in enumerate(TILE_COLORS)]
    path_mat = _material("AnimaDemoPath", PATH_COLOR)
    ids += mats + [path_mat]
    x0, y0 = math.floor(lo[0]) - 1, math.floor(lo[1]) - 1
    x1, y1 = math.ceil(hi[0]) + 1, math.ceil(hi[1]) + 1
    verts, faces, mat_index = [], [], []
    for i in range(x0, x1):
        for j in range(y0, y1):
            k = len(verts)
            verts += [(i, j, 0.0), (i + 1, j, 0.0), (i + 1, j + 1, 0.0), (i, j + 1, 0.0)]
            faces.append((k, k + 1, k + 2, k + 3))
            mat_index.append((i + j) % 2)
    floor = bpy.data.meshes.new("AnimaDemoFloor")
    floor.from_pydata(verts, [], faces)
    for m in mats:
        floor.materials.append(m)
    floor.polygons.foreach_set("material_index", mat_index)
    # the path: a 6 cm wide strip 2 mm above the floor
    p = np.asarray(pelvis_xy, np.float64)
    d = np.gradient(p, axis=0) if len(p) > 1 else np.zeros_like(p)
    n = np.stack([-d[:, 1], d[:, 0]], 1)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)
    a, b = p + 0.03 * n, p - 0.03 * n
    pverts = [(x, y, 0.002) for x, y in np.concatenate([a, b])]
    m = len(p)
    pfaces = [(i, i + 1, m + i + 1, m + i) for i in range(m - 1)]
    path = bpy.data.meshes.new("AnimaDemoPath")
    path.from_pydata(pverts, [], pfaces)
    path.materials.append(path_mat)
    objs = []
    for mesh in (floor, path):
        ob = bpy.data.objects.new(mesh.name, mesh)
        bpy.context.scene.collection.objects.link(ob)
        objs.append(ob)
    return objs + [floor, path] + ids


def render_path_sheet(scene, arm, frames: list[int], out_png: str, size=TILE) -> str:
    """Render `frames` of `arm` from one fixed three-quarter camera that sees the whole path
    (see the module doc) and tile them, 4 per row, into `out_png`. Temporary objects are
    removed afterwards; the scene's render settings are those of a fresh demo scene."""
    from anima.operators.character import _fit_camera, _motion_points
    w, h = size
    first, last = scene.frame_start, scene.frame_end
    every = list(range(first, last + 1, max(1, (last - first) // 40))) + [last]
    points = _motion_points(scene, arm, every)
    bones = [pb for pb in arm.pose.bones if pb.bone.use_deform] or list(arm.pose.bones)
    pelvis = []                        # the body's centre (mean of the bone heads) on the floor
    for f in range(first, last + 1, 2):
        scene.frame_set(f)
        heads = [arm.matrix_world @ pb.head for pb in bones]
        pelvis.append((sum(v.x for v in heads) / len(heads), sum(v.y for v in heads) / len(heads)))
    lo, hi = points.min(axis=0), points.max(axis=0)
    hfov = math.radians(40.0)
    target, loc = _fit_camera(points, 0.3, w / h, hfov, VIEW_DIRECTION)
    temp = _floor_and_path(lo, hi, pelvis)
    cam_data = bpy.data.cameras.new("AnimaDemoCam")
    cam_data.sensor_fit, cam_data.angle = "HORIZONTAL", hfov
    cam_data.clip_start, cam_data.clip_end = 0.05, 1000.0
    cam = bpy.data.objects.new("AnimaDemoCam", cam_data)
    scene.collection.objects.link(cam)
    cam.location = Vector(loc)
    cam.rotation_euler = (Vector(target) - Vector(loc)).to_track_quat("-Z", "Y").to_euler()
    temp = [cam, cam_data] + temp
    if scene.world is None:
        scene.world = bpy.data.worlds.new("AnimaDemoWorld")
        scene.world.color = (0.16, 0.17, 0.19)
    scene.camera = cam
    r = scene.render
    r.engine = "BLENDER_WORKBENCH"
    r.resolution_x, r.resolution_y, r.resolution_percentage = w, h, 100
    r.image_settings.file_format = "PNG"
    r.use_stamp, r.use_stamp_frame = True, True
    for attr in ("use_stamp_date", "use_stamp_time", "use_stamp_render_time",
                 "use_stamp_filename", "use_stamp_scene", "use_stamp_camera",
                 "use_stamp_memory", "use_stamp_hostname", "use_stamp_frame_range",
                 "use_stamp_lens", "use_stamp_marker", "use_stamp_sequencer_strip"):
        if hasattr(r, attr):
            setattr(r, attr, False)
    r.stamp_font_size = max(10, h // 18)
    scene.view_settings.view_transform = "Standard"
    scene.display.light_direction = (0.35, -0.45, 0.82)
    shading = scene.display.shading
    shading.light, shading.color_type = "STUDIO", "MATERIAL"
    shading.show_shadows, shading.shadow_intensity = True, 0.45
    tmpdir = tempfile.mkdtemp(prefix="anima_demo_")
    tiles = []
    try:
        for i, f in enumerate(frames):
            scene.frame_set(f)
            r.filepath = os.path.join(tmpdir, f"tile_{i:02d}.png")
            bpy.ops.render.render(write_still=True, scene=scene.name)
            img = bpy.data.images.load(r.filepath, check_existing=False)
            px = np.empty(w * h * 4, np.float32)
            img.pixels.foreach_get(px)
            bpy.data.images.remove(img)
            tiles.append(px.reshape(h, w, 4))
        cols = min(len(tiles), 4)
        rows = -(-len(tiles) // cols)
        sheet = np.ones((rows * h, cols * w, 4), np.float32)
        for i, tile in enumerate(tiles):
            rr, c = divmod(i, cols)
            y0 = (rows - 1 - rr) * h                  # Blender pixel rows go bottom-up
            sheet[y0:y0 + h, c * w:(c + 1) * w] = tile
        sheet[..., 3] = 1.0
        out = bpy.data.images.new("AnimaDemoSheet", cols * w, rows * h, alpha=True)
        out.pixels.foreach_set(sheet.ravel())
        out.filepath_raw, out.file_format = out_png, "PNG"
        out.save()
        bpy.data.images.remove(out)
    finally:
        for idb in temp:
            with contextlib.suppress(Exception):
                getattr(bpy.data, {"OBJECT": "objects", "MESH": "meshes", "CAMERA": "cameras",
                                   "MATERIAL": "materials"}[idb.id_type]).remove(idb)
        shutil.rmtree(tmpdir, ignore_errors=True)
    return out_png


def start_demo(out: Path):
    """The add-on loaded into an empty file, the backend this interpreter (cache in
    out/cache), a 30 fps scene from frame 1: what every demo starts from. Returns the scene."""
    load_addon(register=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    prefs = enable_preferences()
    prefs.python_path = sys.executable
    prefs.cache_dir = str(out / "cache")
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    scene.frame_start = scene.frame_current = 1
    return scene


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompt", default="a person walks forward and waves")
    parser.add_argument("--seconds", type=float, default=0.0, help="0: the clip's own length")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--clip", type=Path, default=None,
                        help="render this canonical clip (.npz) instead of generating")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    scene = start_demo(out)
    result = bpy.ops.anima.import_character()
    if result != {"FINISHED"}:
        print("error: could not add the character", file=sys.stderr)
        return 1
    arm = bpy.context.view_layer.objects.active
    if args.clip is not None:
        what = str(args.clip)
        result = bpy.ops.anima.apply_clip(filepath=str(args.clip.resolve()))
    else:
        what = args.prompt
        kwargs = {"prompt": args.prompt, "seed": args.seed, "variations": 1}
        if args.seconds > 0:
            kwargs["seconds"] = args.seconds
        result = bpy.ops.anima.generate(**kwargs)
    if result != {"FINISHED"} or arm.animation_data is None or arm.animation_data.action is None:
        print(f"error: could not animate the character with {what!r}", file=sys.stderr)
        return 1
    action = arm.animation_data.action
    first, last = (int(round(v)) for v in action.frame_range)
    scene.frame_start, scene.frame_end = first, last
    step = max(1, (last - first) // (SHEET_FRAMES - 1))
    frames = [min(first + i * step, last) for i in range(SHEET_FRAMES)]

    from anima.operators import jobs
    jobs.shutdown()
    blend = out / "demo.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    png = render_path_sheet(scene, arm, frames, str(out / "demo.png"))
    print(f"motion: {what!r}")
    print(f"action: {action.name!r}, frames {first}-{last} at {scene.render.fps} fps; "
          f"source {action.get('anima_source', '?')}, licence {action.get('anima_licence', '?')}")
    print(f"wrote {blend} and {png} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
