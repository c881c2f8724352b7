"""Animate Camera in real Blender (operators/camera*.py, panels/camera.py): the scene exported
as the planner's triangles and the subject's track; a `camera` result shown as preview curves,
picked and keyed on the camera in new Actions (undo restores); bad input changes nothing; the
contact sheet. Results are hand-made here (a circle of look-at poses, the job's shape); the
end-to-end test runs the real backend once backend/models/camera/job.py exists."""
import base64
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
from mathutils import Vector  # noqa: E402  (after bpy)

pytestmark = [pytest.mark.blender]
REPO = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- helpers
def _box(name, size, centre, rotation_z_deg=0.0):
    bpy.ops.mesh.primitive_cube_add(size=1.0)
    obj = bpy.context.active_object
    obj.name = name
    obj.scale = size
    obj.rotation_euler = (0.0, 0.0, math.radians(rotation_z_deg))
    obj.location = centre
    return obj


def _camera(name="Cam", location=(0.0, -8.0, 2.0)):
    data = bpy.data.cameras.new(name)
    cam = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(cam)
    cam.location = location
    return cam


def _look_at(eye, target):
    q = (Vector(target) - Vector(eye)).to_track_quat("-Z", "Y")
    return [q.w, q.x, q.y, q.z]


def _circle_result(T=25, fps=12.0, radius=5.0, centre=(0.0, 0.0, 1.0), paths=2):
    """A `camera` result: `paths` circles (radius + k) at 2 m height looking at `centre`."""
    out = []
    for k in range(paths):
        r = radius + k
        angles = np.linspace(0.0, math.pi, T)
        loc = [[centre[0] + r * math.cos(a), centre[1] + r * math.sin(a), 2.0 + k]
               for a in angles]
        out.append({"name": f"orbit, left, {r:g} m", "shot": "orbit", "location": loc,
                    "rotation": [_look_at(p, centre) for p in loc],
                    "lens_mm": list(np.linspace(30.0, 50.0, T)),
                    "metrics": {"crashes": k, "min_clearance_m": 1.5 - k, "in_frame": 1.0,
                                "unoccluded": 0.97, "framing_error": 0.05, "jerk": 0.2,
                                "catmull_rom_jerk": 0.9, "max_speed": 2.0, "max_accel": 1.0}})
    return {"fps": fps, "frames": T, "paths": out, "selected": 0,
            "warnings": ["a test warning"]}


def _snapshot():
    scene = bpy.context.scene

    def anim(idb):
        a = idb.animation_data
        return a.action.name if a is not None and a.action is not None else None
    return {"objects": sorted(o.name for o in bpy.data.objects),
            "actions": sorted(a.name for a in bpy.data.actions),
            "collections": sorted(c.name for c in bpy.data.collections),
            "curves": sorted(c.name for c in bpy.data.curves),
            "frame": scene.frame_current,
            "animated": sorted((o.name, anim(o), anim(o.data) if o.type == "CAMERA" else None)
                               for o in bpy.data.objects),
            "paths": len(scene.anima_camera.paths),
            "result": scene.anima_camera.result_path}


# ----------------------------------------------------------------------------- geometry
def test_geometry_is_the_visible_meshes_without_the_subject(make_armature, tmp_path):
    from anima.operators import camera_scene
    arm = make_armature("game_engine")
    box = _box("Wall", (2.0, 1.0, 3.0), (1.0, 2.0, 1.5), 90.0)
    _box("Hidden", (1, 1, 1), (5, 5, 5)).hide_set(True)
    _box("Child", (0.3, 0.3, 0.3), (0, 0, 1)).parent = arm               # the subject's own
    skin = _box("Skin", (0.4, 0.3, 1.7), (0.0, 0.0, 0.85))              # deformed by the rig
    skin.modifiers.new("Armature", "ARMATURE").object = arm
    _camera()
    exclude = camera_scene.subject_objects(arm, bpy.context.scene)
    assert {o.name for o in exclude} == {arm.name, "Child", "Skin"}
    # Choosing the character's skin as the subject leaves out the whole character too.
    assert camera_scene.subject_objects(skin, bpy.context.scene) == exclude
    assert camera_scene.subject_objects(box, bpy.context.scene) == {box}

    verts, tris = camera_scene.scene_triangles(bpy.context, exclude)
    assert verts.dtype == np.float32 and tris.dtype == np.int32
    assert verts.shape == (8, 3) and tris.shape == (12, 3)               # only the wall
    # Rotated 90 degrees about Z: 1 m along X, 2 m along Y, 3 m tall, centred at (1, 2, 1.5).
    expected = {(round(x, 4), round(y, 4), round(z, 4)) for x in (0.5, 1.5)
                for y in (1.0, 3.0) for z in (0.0, 3.0)}
    assert {tuple(np.round(v, 4)) for v in verts.astype(np.float64)} == expected
    a, b, c = verts[tris[:, 0]], verts[tris[:, 1]], verts[tris[:, 2]]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum()
    assert area == pytest.approx(2 * (1 * 2 + 2 * 3 + 1 * 3), rel=1e-5)   # 22 m^2

    # Modifiers are applied; without exclusions the character's meshes are there too.
    box.modifiers.new("Array", "ARRAY").count = 3
    verts2, tris2 = camera_scene.scene_triangles(bpy.context, exclude)
    assert tris2.shape == (36, 3) and verts2[:, 0].max() == pytest.approx(1.5, abs=1e-5)
    assert verts2[:, 1].max() == pytest.approx(7.0, abs=1e-5)       # local X is world Y
    assert len(camera_scene.scene_triangles(bpy.context)[1]) == 36 + 24
    # A collection instance is one more copy of its meshes where the instancer puts it.
    props = bpy.data.collections.new("Props")
    crate = bpy.data.objects.new("Crate", box.data)                 # 1 m cube, not in the scene
    props.objects.link(crate)
    bpy.ops.object.collection_instance_add(collection=props.name, location=(-10.0, 0.0, 0.5))
    verts3, tris3 = camera_scene.scene_triangles(bpy.context, exclude)
    assert tris3.shape == (48, 3)
    crate_v = verts3[verts3[:, 0] < -5]
    assert len(crate_v) == 8 and crate_v.min(0) == pytest.approx([-10.5, -0.5, 0.0], abs=1e-5)
    bpy.data.objects.remove(bpy.context.active_object)

    # Local backend: an .npz in the cache; remote: the inline base64 form.
    local = camera_scene.geometry_param(verts2, tris2, str(tmp_path), remote=False)
    with np.load(local["path"]) as z:
        assert z["vertices"].dtype == np.float32 and z["triangles"].dtype == np.int32
        assert np.array_equal(z["vertices"], verts2) and np.array_equal(z["triangles"], tris2)
    again = camera_scene.geometry_param(verts2, tris2, str(tmp_path), remote=False)
    assert Path(again["path"]).is_file() and not Path(local["path"]).exists()  # no pile-up
    inline = camera_scene.geometry_param(verts2, tris2, str(tmp_path), remote=True)
    assert inline["format"] == "anima-mesh-b64" and inline["counts"] == [len(verts2), 36]
    raw_v = np.frombuffer(base64.b64decode(inline["vertices"]), dtype="<f4").reshape(-1, 3)
    raw_t = np.frombuffer(base64.b64decode(inline["triangles"]), dtype="<i4").reshape(-1, 3)
    assert np.array_equal(raw_v, verts2) and np.array_equal(raw_t, tris2)
    json.dumps(inline)                                               # travels as JSON
    from anima.backend.models.camera import wire
    with pytest.raises(ValueError):
        wire.mesh_from_wire(dict(inline, counts=[len(verts2), 35]))


def test_the_backend_reads_both_geometry_forms(fresh_scene, tmp_path):
    from anima.backend.models.camera import wire
    from anima.operators import camera_scene
    _box("Wall", (2.0, 1.0, 3.0), (1.0, 2.0, 1.5), 30.0)
    _box("Roof", (4.0, 4.0, 0.2), (0.0, 0.0, 3.0))
    verts, tris = camera_scene.scene_triangles(bpy.context)
    for remote in (False, True):
        param = json.loads(json.dumps(camera_scene.geometry_param(verts, tris, str(tmp_path),
                                                                  remote)))
        v, t = wire.geometry_from_param(param)
        assert np.array_equal(v, verts.astype(np.float64)) and np.array_equal(t, tris)
    empty = camera_scene.geometry_param(np.zeros((0, 3)), np.zeros((0, 3)), str(tmp_path), True)
    assert [len(a) for a in wire.geometry_from_param(empty)] == [0, 0]       # open sky


# ----------------------------------------------------------------------------- subject
def test_subject_track_of_a_moving_object(fresh_scene):
    from anima.operators import camera_scene
    scene = fresh_scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    obj = _box("Ball", (1.0, 2.0, 2.0), (0.0, 0.0, 1.0))
    obj.keyframe_insert("location", frame=1)
    obj.location = (9.0, 0.0, 1.0)
    obj.keyframe_insert("location", frame=10)
    for fc in obj.animation_data.action.layers[0].strips[0].channelbag(
            obj.animation_data.action_slot).fcurves:
        for kp in fc.keyframe_points:
            kp.interpolation = "LINEAR"
    scene.frame_set(7)
    track = camera_scene.subject_track(scene, obj, 1, 10)
    assert scene.frame_current == 7                                   # put back
    assert track["fps"] == 30.0 and len(track["positions"]) == 10
    pos = np.array(track["positions"])
    assert pos[:, 0] == pytest.approx(np.arange(10.0), abs=1e-5)     # 1 m a frame
    assert pos[:, 1:] == pytest.approx(np.tile([0.0, 1.0], (10, 1)), abs=1e-5)
    assert track["radius"] == pytest.approx(0.5 * math.sqrt(1 + 4 + 4), abs=1e-5)
    with pytest.raises(ValueError, match="frame range 5-5 is empty"):
        camera_scene.subject_track(scene, obj, 5, 5)


def test_subject_track_of_an_armature_follows_its_bones(make_armature):
    from anima.operators import camera_scene
    scene = bpy.context.scene
    arm = make_armature("game_engine")
    arm.keyframe_insert("location", frame=1)
    arm.location = (0.0, -4.0, 0.0)
    arm.keyframe_insert("location", frame=21)
    track = camera_scene.subject_track(scene, arm, 1, 21)
    assert scene.frame_current == 1 and len(track["positions"]) == 21
    from anima.operators.retarget import ensure_mapping
    body = set(ensure_mapping(arm, store=False)[0].bones.values())
    for frame in (1, 11, 21):                     # an independent reading of the body bones
        scene.frame_set(frame)
        pts = [arm.matrix_world @ v for pb in arm.pose.bones if pb.name in body
               for v in (pb.head, pb.tail)]
        lo = np.min([tuple(p) for p in pts], axis=0)
        hi = np.max([tuple(p) for p in pts], axis=0)
        assert track["positions"][frame - 1] == pytest.approx((lo + hi) / 2, abs=1e-5)
    pos = np.array(track["positions"])
    assert pos[-1] - pos[0] == pytest.approx([0.0, -4.0, 0.0], abs=1e-5)
    points = np.array(track["points"])                  # head, chest, hips, wrists, ankles
    assert points.shape == (21, len(camera_scene.SIGHT_JOINTS), 3)
    assert points[-1] - points[0] == pytest.approx(np.tile([0.0, -4.0, 0.0], (7, 1)), abs=1e-4)
    assert points[0, 0, 2] > points[0, 2, 2] > points[0, 5, 2]     # head > hips > ankle
    height = pos[0][2] * 2
    print(f"armature subject: centre z {pos[0][2]:.3f} m, radius {track['radius']:.3f} m")
    assert 0.7 < height < 2.2 and 0.5 < track["radius"] < 1.3       # a human-sized sphere


def test_a_root_bone_left_at_the_origin_is_not_the_subject(make_armature):
    """Rigs (MakeHuman, game rigs) keep a root bone at the origin while the body walks away
    with the hips: the subject is the body, not a sphere from the origin to the body."""
    from anima.operators import camera_scene
    from anima.operators.retarget import ensure_mapping
    scene = bpy.context.scene
    arm = make_armature("game_engine")
    hips = arm.pose.bones[ensure_mapping(arm, store=False)[0].bones["pelvis"]]
    hips.keyframe_insert("location", frame=1)
    world_move = np.array([0.0, -3.0, 0.0])               # 3 m along world -Y
    local = np.array(hips.bone.matrix_local.to_3x3().inverted()) @ \
        (np.array(arm.matrix_world.to_3x3().inverted()) @ world_move)
    hips.location = tuple(local)
    hips.keyframe_insert("location", frame=21)
    track = camera_scene.subject_track(scene, arm, 1, 21)
    pos = np.array(track["positions"])
    assert np.linalg.norm(pos[-1] - pos[0] - world_move) < 0.05
    assert track["radius"] < 1.3                           # not stretched to the origin


def test_plan_request_follows_the_job_contract(fresh_scene):
    from anima import preferences
    from anima.operators import camera
    scene, cam, _mine = _plan_scene()
    for i, x in enumerate((3.0, -3.0)):
        _box(f"Pillar{i}", (0.6, 0.6, 4.0), (x, 3.0, 2.0))
    s = scene.anima_camera
    s.shot, s.distance, s.side, s.drone, s.alternatives, s.seed = "fly_by", 6.0, "right", \
        "fpv", 4, 7
    req = camera.plan_request(bpy.context)
    params = json.loads(json.dumps(req.params))                       # plain JSON
    assert sorted(params) == sorted(["geometry", "subject", "shot", "options",
                                     "alternatives", "seed"])
    assert params["shot"] == "fly_by" and params["alternatives"] == 4 and params["seed"] == 7
    assert params["options"] == {"side": "right", "drone": "fpv", "distance": 6.0}
    subject = params["subject"]
    assert sorted(subject) == ["fps", "positions", "radius"] and subject["fps"] == 24.0
    assert len(subject["positions"]) == 53 - 5 + 1
    assert subject["positions"][0] == pytest.approx([0.0, 0.0, 1.0], abs=1e-6)
    with np.load(params["geometry"]["path"]) as z:                    # the hero is not in it
        assert z["triangles"].shape == (24, 3) and req.triangles == 24
        assert z["vertices"][:, 1].min() == pytest.approx(2.7, abs=1e-5)
    assert req.camera == cam and req.frame_start == 5
    assert camera.job_label("orbit", 1_002_528) == "camera orbit (1,002,528 triangles)"
    prefs = preferences.get_prefs(bpy.context)
    prefs.backend_mode = "REMOTE"
    try:
        inline = camera.plan_request(bpy.context).params["geometry"]
    finally:
        prefs.backend_mode = "LOCAL"
    assert inline["format"] == "anima-mesh-b64" and inline["counts"] == [16, 24]


def test_a_million_triangles_export_quickly(fresh_scene, tmp_path):
    import time
    from anima.operators import camera_scene
    bpy.ops.mesh.primitive_grid_add(x_subdivisions=708, y_subdivisions=708, size=50.0)
    t0 = time.perf_counter()
    verts, tris = camera_scene.scene_triangles(bpy.context)
    path = camera_scene.geometry_param(verts, tris, str(tmp_path), remote=False)["path"]
    seconds = time.perf_counter() - t0
    print(f"{len(tris):,} triangles exported in {seconds:.2f} s")
    assert len(tris) == 2 * 708 * 708 and len(verts) == 709 * 709
    assert Path(path).stat().st_size > 18e6
    assert seconds < 10.0


# ----------------------------------------------------------------------------- result -> scene
def _plan_scene():
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 24, 1.0
    cam = _camera()
    scene.camera = cam
    cam.keyframe_insert("location", frame=1)                     # the user's own animation
    mine = cam.animation_data.action
    mine.name = "MyCameraMove"
    subject = _box("Hero", (0.5, 0.5, 2.0), (0.0, 0.0, 1.0))
    scene.anima_camera.subject = subject
    scene.anima_camera.use_scene_range = False
    scene.anima_camera.frame_start, scene.anima_camera.frame_end = 5, 53
    return scene, cam, mine


def test_result_previews_picks_and_keys_the_camera_with_undo(fresh_scene, tmp_path):
    from anima.operators import camera, camera_scene
    scene, cam, mine = _plan_scene()
    bpy.ops.ed.undo_push(message="before the plan")
    result = _circle_result()
    curve = camera.apply_plan_result(result, scene.name, cam.name, 5, str(tmp_path))
    s = scene.anima_camera
    coll = camera_scene.preview_collection(scene)
    assert coll.name.startswith("Anima Camera Preview") and coll.hide_render
    curves = sorted(coll.objects, key=lambda o: o["anima_camera_alternative"])
    assert [o.type for o in curves] == ["CURVE", "CURVE"] and curve == curves[0]
    pts = np.empty(25 * 4, np.float32)
    curves[1].data.splines[0].points.foreach_get("co", pts)
    assert pts.reshape(25, 4)[:, :3] == pytest.approx(np.array(result["paths"][1]["location"]),
                                                      abs=1e-5)
    assert curves[0].data.bevel_depth > 0 and curves[1].data.bevel_depth == 0
    assert [p.name for p in s.paths] == ["orbit, left, 5 m", "orbit, left, 6 m"]
    assert s.paths[1].crashes == 1 and s.paths[0].unoccluded == pytest.approx(0.97)
    assert s.warnings == "a test warning" and Path(s.result_path).is_file()
    assert bpy.ops.anima.camera_pick(index=1) == {"FINISHED"}
    assert s.chosen == 1 and curves[1].data.bevel_depth > 0 and curves[0].data.bevel_depth == 0
    assert bpy.ops.anima.camera_pick(index=0) == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Anima: plan camera")            # what the job pump does
    actions = {a.name for a in bpy.data.actions}

    assert {"REGISTER", "UNDO"} <= camera.ANIMA_OT_camera_apply.bl_options
    assert bpy.ops.anima.camera_apply() == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Animate Camera")    # what Blender does for an UNDO operator
    new = {a.name for a in bpy.data.actions} - actions
    assert len(new) == 2
    obj_action, data_action = cam.animation_data.action, cam.data.animation_data.action
    assert {obj_action.name, data_action.name} == new
    assert mine.use_fake_user and obj_action["anima_previous_action"] == "MyCameraMove"
    assert cam.rotation_mode == "QUATERNION"
    assert camera_scene.preview_collection(scene) is None
    assert not any(o.name.startswith("Anima Camera Path") for o in bpy.data.objects)
    # 12 fps result on a 24 fps scene from frame 5: key t at frame 5 + 2 t.
    path = result["paths"][0]
    for t in (0, 7, 12, 24):
        scene.frame_set(5 + 2 * t)
        mw = cam.matrix_world
        assert tuple(mw.translation) == pytest.approx(path["location"][t], abs=1e-4)
        q = mw.to_quaternion()
        dot = abs(float(np.dot([q.w, q.x, q.y, q.z], path["rotation"][t])))
        assert dot == pytest.approx(1.0, abs=1e-5)
        assert cam.data.lens == pytest.approx(path["lens_mm"][t], abs=1e-3)
        forward = mw.to_quaternion() @ Vector((0, 0, -1))             # it looks at the subject
        to_subject = (Vector((0, 0, 1)) - mw.translation).normalized()
        assert forward.dot(to_subject) == pytest.approx(1.0, abs=1e-5)
    scene.frame_set(6)                                                # between two keys
    mid = (np.array(path["location"][0]) + np.array(path["location"][1])) / 2
    assert tuple(cam.matrix_world.translation) == pytest.approx(mid, abs=1e-4)

    bpy.ops.ed.undo()                                   # Animate Camera is one step
    cam = bpy.data.objects["Cam"]
    assert cam.animation_data.action.name == "MyCameraMove"
    assert cam.data.animation_data is None or cam.data.animation_data.action is None
    assert not new & {a.name for a in bpy.data.actions}
    assert camera_scene.preview_collection(bpy.context.scene) is not None   # preview is back


def test_apply_scales_the_lens_to_the_sensor_and_clear_preview(fresh_scene, tmp_path):
    from anima.operators import camera, camera_scene
    scene, cam, _mine = _plan_scene()
    cam.data.sensor_width = 24.0                         # a smaller sensor: shorter lens
    camera.apply_plan_result(_circle_result(paths=3), scene.name, cam.name, 5, str(tmp_path))
    assert len(camera_scene.preview_collection(scene).objects) == 3
    assert bpy.ops.anima.camera_clear_preview() == {"FINISHED"}
    assert camera_scene.preview_collection(scene) is None
    assert not any(c.name.startswith("Anima Camera Path") for c in bpy.data.curves)
    assert bpy.ops.anima.camera_apply() == {"FINISHED"}
    scene.frame_set(5)
    assert cam.data.lens == pytest.approx(30.0 * 24.0 / 36.0, abs=1e-3)


def test_bad_input_gives_clear_errors_and_changes_nothing(fresh_scene, tmp_path):
    from anima.operators import camera
    scene = fresh_scene
    s = scene.anima_camera
    subject = _box("Hero", (0.5, 0.5, 2.0), (0.0, 0.0, 1.0))
    before = _snapshot()
    with pytest.raises(RuntimeError, match="No camera"):
        bpy.ops.anima.camera_plan()
    cam = _camera()
    bpy.context.view_layer.objects.active = cam
    before = _snapshot()
    with pytest.raises(RuntimeError, match="Choose the subject"):
        bpy.ops.anima.camera_plan()
    s.subject = subject
    s.use_scene_range, s.frame_start, s.frame_end = False, 20, 20
    with pytest.raises(RuntimeError, match="frame range 20-20 is empty"):
        bpy.ops.anima.camera_plan()
    with pytest.raises(RuntimeError, match="Plan the camera first"):
        bpy.ops.anima.camera_apply()
    with pytest.raises(RuntimeError, match="no alternative 3"):
        bpy.ops.anima.camera_pick(index=2)
    assert _snapshot() == before
    good = _circle_result()
    bad_shapes = json.loads(json.dumps(good))
    bad_shapes["paths"][1]["lens_mm"] = bad_shapes["paths"][1]["lens_mm"][:-1]
    not_finite = json.loads(json.dumps(good))
    not_finite["paths"][0]["location"][3][0] = float("nan")
    for result, message in [(bad_shapes, "path 2 arrays disagree"),
                            (not_finite, "not finite"), (dict(good, paths=[]), "no paths"),
                            (dict(good, fps=0), "no valid fps")]:
        with pytest.raises(ValueError, match=message):
            camera.apply_plan_result(result, scene.name, cam.name, 1, str(tmp_path))
        assert _snapshot() == before
    # A plan whose camera was deleted since: Animate Camera refuses, nothing changes.
    camera.apply_plan_result(good, scene.name, "Gone", 1, str(tmp_path))
    before = _snapshot()
    with pytest.raises(RuntimeError, match="planned camera 'Gone' is not in this scene"):
        bpy.ops.anima.camera_apply()
    assert _snapshot() == before


# ----------------------------------------------------------------------------- contact sheet
def test_contact_sheet_renders_eight_frames_from_the_camera(fresh_scene, tmp_path):
    from anima.operators import camera, camera_scene
    scene, cam, _mine = _plan_scene()
    _box("Floor", (20.0, 20.0, 0.1), (0.0, 0.0, -0.05))
    camera.apply_plan_result(_circle_result(), scene.name, cam.name, 5, str(tmp_path))
    assert bpy.ops.anima.camera_apply() == {"FINISHED"}
    other = _camera("Other")
    scene.camera, scene.render.engine, scene.render.resolution_x = other, "CYCLES", 1000
    scene.frame_set(3)
    assert bpy.ops.anima.camera_contact_sheet() == {"FINISHED"}
    out = Path(scene.anima_camera.sheet_path)
    assert out.is_file() and out.parent == Path(camera._cache_dir(bpy.context))
    assert (scene.camera, scene.render.engine, scene.render.resolution_x,
            scene.frame_current) == (other, "CYCLES", 1000, 3)            # all put back
    img = bpy.data.images.load(str(out), check_existing=False)
    try:
        w, h = camera_scene.SHEET_TILE
        assert tuple(img.size) == (4 * w, 2 * h)
        px = np.empty(img.size[0] * img.size[1] * 4, np.float32)
        img.pixels.foreach_get(px)
    finally:
        bpy.data.images.remove(img)
    px = px.reshape(2 * h, 4 * w, 4)[..., :3]
    tiles = [px[r * h:(r + 1) * h, c * w:(c + 1) * w] for r in range(2) for c in range(4)]
    diffs = [float(np.abs(a - b).mean()) for a, b in zip(tiles, tiles[1:])]
    print("contact sheet tile differences:", [f"{d:.4f}" for d in diffs])
    assert min(diffs) > 1e-3                        # the camera moves: every tile differs
    assert camera_scene.sheet_frames(5, 53) == [5, 12, 19, 26, 32, 39, 46, 53]


# ----------------------------------------------------------------------------- panel
def test_camera_panel_draws_in_every_state(fresh_scene, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_panels import RecordingLayout                 # the panels' recording layout
    from anima.operators import camera
    from anima.panels import camera as camera_panel

    def draw():
        log = []
        panel = type("P", (), {})()
        panel.layout = RecordingLayout(log)
        camera_panel.ANIMA_PT_camera.draw(panel, bpy.context)
        return log

    assert hasattr(bpy.types, "ANIMA_PT_camera")
    log = draw()
    assert ("label", "No camera: add one or make one active") in log
    assert ("operator", "anima.camera_plan") in log and ("prop", "subject") in log
    assert ("operator", "anima.camera_apply") not in log
    s, scene = bpy.context.scene.anima_camera, bpy.context.scene
    scene.frame_start, scene.frame_end = 10, 90
    assert camera.frame_range(scene) == (10, 90)
    s.use_scene_range = False                          # the own range starts as the scene's
    assert (s.frame_start, s.frame_end) == (10, 90) and camera.frame_range(scene) == (10, 90)
    s.frame_end = 40
    assert camera.frame_range(scene) == (10, 40)
    scene, cam, _mine = _plan_scene()
    camera.apply_plan_result(_circle_result(), scene.name, cam.name, 5, str(tmp_path))
    log = draw()
    assert ("label", "Camera: Cam") in log
    assert [t for k, t in log if k == "operator"].count("anima.camera_pick") == 2
    assert ("operator", "anima.camera_apply") in log
    assert ("label", "0 crashes, clearance 1.50 m, in frame 100%, unoccluded 97%") in log
    assert any(k == "label" and "a test warning" in t for k, t in log)
    st = bpy.context.window_manager.anima
    st.busy, st.progress, st.job_label = True, 0.25, "camera orbit (1,000,000 triangles)"
    try:
        log = draw()
    finally:
        st.busy, st.progress, st.job_label = False, 0.0, ""
    assert ("operator", "anima.cancel") in log and ("progress", 0.25) in log
    assert ("operator", "anima.camera_plan") not in log


# ----------------------------------------------------------------------------- end to end
def _pillar_scene():
    scene, cam, mine = _plan_scene()
    for i, (x, y) in enumerate([(3.0, 3.0), (-3.0, 3.0), (3.0, -3.0), (-3.0, -3.0)]):
        _box(f"Pillar{i}", (0.6, 0.6, 4.0), (x, y, 2.0))
    _box("Floor", (30.0, 30.0, 0.1), (0.0, 0.0, -0.05))
    hero = scene.anima_camera.subject
    hero.keyframe_insert("location", frame=5)
    hero.location = (1.5, -1.0, 1.0)                     # walks 1.8 m during the shot
    hero.keyframe_insert("location", frame=53)
    return scene, cam, mine


def _assert_the_camera_films_the_subject(scene, cam, positions, frame_start):
    """The keyed camera sees the subject's centre inside its frame at every 4th frame."""
    from bpy_extras.object_utils import world_to_camera_view
    worst = 0.0
    for t in range(0, len(positions), 4):
        scene.frame_set(frame_start + t)
        x, y, depth = world_to_camera_view(scene, cam, Vector(positions[t]))
        assert depth > 0 and 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0, (t, x, y, depth)
        worst = max(worst, abs(x - 0.5), abs(y - 0.5))
    print(f"subject at most {worst:.3f} of the frame from its centre")




@pytest.mark.parametrize("shot", ["orbit", "follow", "dronie"])
def test_the_real_planner_result_keys_a_camera_that_films_the_subject(fresh_scene, shot):
    """The planner run in this process (the job's own function) on the add-on's request."""
    from anima.backend.models.camera.job import run_camera
    from anima.operators import camera
    scene, cam, _mine = _pillar_scene()
    scene.anima_camera.shot = shot
    req = camera.plan_request(bpy.context)
    result = run_camera(json.loads(json.dumps(req.params)))
    camera.apply_plan_result(result, scene.name, cam.name, req.frame_start, req.cache_dir)
    s = scene.anima_camera
    assert len(s.paths) == 3 and all(p.crashes == 0 for p in s.paths)
    assert bpy.ops.anima.camera_pick(index=1) == {"FINISHED"}
    assert bpy.ops.anima.camera_apply() == {"FINISHED"}
    assert cam.animation_data.action["anima_camera_path"] == result["paths"][1]["name"]
    positions = req.params["subject"]["positions"]
    assert result["frames"] == len(positions) == 49
    _assert_the_camera_films_the_subject(scene, cam, positions, req.frame_start)


def test_following_a_walking_character_ignores_its_own_skin(make_armature):
    """The character's skin (a closed box around the rig) is no obstacle for its camera."""
    from anima.backend.models.camera.job import run_camera
    from anima.operators import camera
    scene, cam, _mine = _pillar_scene()
    bpy.data.objects.remove(scene.anima_camera.subject)
    arm = make_armature("game_engine")
    skin = _box("Skin", (0.8, 0.6, 2.0), (0.0, 0.0, 1.0))
    skin.modifiers.new("Armature", "ARMATURE").object = arm
    arm.keyframe_insert("location", frame=5)
    arm.location = (0.0, -2.5, 0.0)
    arm.keyframe_insert("location", frame=53)
    s = scene.anima_camera
    s.subject, s.shot = arm, "follow"
    req = camera.plan_request(bpy.context)
    assert req.triangles == 12 * 5                                    # pillars + floor only
    result = run_camera(req.params)
    camera.apply_plan_result(result, scene.name, cam.name, req.frame_start, req.cache_dir)
    assert "closed mesh" not in s.warnings and s.paths[0].crashes == 0
    assert bpy.ops.anima.camera_apply() == {"FINISHED"}
    _assert_the_camera_films_the_subject(scene, cam, req.params["subject"]["positions"], 5)


def test_a_subject_inside_a_closed_mesh_shows_the_planner_warning(fresh_scene):
    from anima.backend.models.camera.job import run_camera
    from anima.operators import camera
    from anima.panels import camera as camera_panel
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_panels import RecordingLayout
    scene, cam, _mine = _plan_scene()
    _box("Shed", (4.0, 4.0, 4.0), (0.0, 0.0, 1.5))                  # closed, around the hero
    req = camera.plan_request(bpy.context)
    result = run_camera(req.params)
    camera.apply_plan_result(result, scene.name, cam.name, req.frame_start, req.cache_dir)
    warnings = scene.anima_camera.warnings
    print("planner warnings:", warnings.splitlines())
    assert "inside a closed mesh" in warnings and len(scene.anima_camera.paths) >= 1
    panel = type("P", (), {})()
    panel.layout = RecordingLayout(log := [])
    camera_panel.ANIMA_PT_camera.draw(panel, bpy.context)
    assert "inside a closed mesh" in " ".join(t for k, t in log if k == "label")


def test_camera_end_to_end_through_the_backend(session, tmp_path):
    from anima.operators import camera_scene
    scene, cam, _mine = _pillar_scene()
    s = scene.anima_camera
    s.shot, s.alternatives = "orbit", 2
    assert bpy.ops.anima.camera_plan() == {"FINISHED"}
    assert 1 <= len(s.paths) <= 2 and s.triangles == 12 * 5         # 4 pillars, the floor
    for item in s.paths:
        print(f"{item.name}: crashes {item.crashes}, in frame {item.in_frame:.2f}, "
              f"unoccluded {item.unoccluded:.2f}, jerk {item.jerk:.3g} vs "
              f"{item.catmull_rom_jerk:.3g}")
    coll = camera_scene.preview_collection(scene)
    assert coll is not None and len(coll.objects) == len(s.paths)
    assert bpy.ops.anima.camera_apply() == {"FINISHED"}
    action = cam.animation_data.action
    assert action.get("anima_camera_shot") and action.frame_range[0] == pytest.approx(5.0)
    assert cam.data.animation_data.action is not None
    positions = camera_scene.subject_track(scene, s.subject, 5, 53)["positions"]
    _assert_the_camera_films_the_subject(scene, cam, positions, 5)
