"""Follow Path in real Blender (operators/path_follow.py): a shipped rig with a walk Action
follows a Bezier curve and a chain of empties carrying `anima_frame` arrival frames. A new
Action version is written (the original kept, `anima_version_of` naming it), the rig's hips
read back from the evaluated pose stay near the path and reach the empties on their frames;
bad paths report a clear error and leave the scene as it was."""
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import retarget_accuracy as RA  # noqa: E402

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("fresh_scene")]

MAX_MEAN_DISTANCE = 0.10      # m: the rig's hips (on the floor) to the path
MAX_ARRIVAL_FRAMES = 2.0


@pytest.fixture()
def follow_op(anima):
    """The operator, registered here if the add-on does not register it (yet)."""
    from anima.operators import path_follow
    from anima.panels import path_follow as panel
    added = []
    for cls in path_follow.CLASSES + panel.CLASSES:
        if not hasattr(bpy.types, cls.__name__):
            bpy.utils.register_class(cls)
            added.append(cls)
    yield path_follow
    for cls in reversed(added):
        bpy.utils.unregister_class(cls)


def _rig_with_walk(make_armature):
    from anima.operators import retarget
    arm = make_armature("game_engine")
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    action = retarget.apply_clip_to_armature(arm, RA.library_clip("walk"), frame_start=1,
                                             scene=scene)
    return arm, action


def _select(arm, objects):
    for o in bpy.context.view_layer.objects:
        o.select_set(False)
    for o in objects:
        o.select_set(True)
    arm.select_set(True)
    bpy.context.view_layer.objects.active = arm


def _bezier_curve(name, points, handles="AUTO"):
    data = bpy.data.curves.new(name, "CURVE")
    data.dimensions = "3D"
    spline = data.splines.new("BEZIER")
    spline.bezier_points.add(len(points) - 1)
    for bp, co in zip(spline.bezier_points, points):
        bp.co = co
        bp.handle_left_type = bp.handle_right_type = handles
    if handles == "FREE":                     # handles on the points: straight segments
        for bp in spline.bezier_points:
            bp.handle_left = bp.handle_right = bp.co
    obj = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def _empties(spec):
    """Empties {name: (location, frame or None)} linked to the scene."""
    out = []
    for name, (loc, frame) in spec.items():
        e = bpy.data.objects.new(name, None)
        e.location = loc
        if frame is not None:
            e["anima_frame"] = frame
        bpy.context.scene.collection.objects.link(e)
        out.append(e)
    bpy.context.view_layer.update()
    return out


def _hips_track(arm):
    """The new Action read back from the rig: its canonical root (T, 3) and first frame."""
    from anima.operators import rig_motion
    start, end = rig_motion.action_frame_range(arm)
    clip = rig_motion.canonical_clip_from_armature(arm, start, end)
    return clip.root_translation, start


def _state():
    return (sorted(a.name for a in bpy.data.actions),
            [(o.name, o.animation_data.action.name if o.animation_data and
              o.animation_data.action else None) for o in bpy.data.objects],
            bpy.context.scene.frame_end, bpy.context.scene.frame_current)


def test_follows_a_bezier_curve(make_armature, follow_op):
    from anima.backend.motion import path as path_mod
    arm, original = _rig_with_walk(make_armature)
    curve = _bezier_curve("Path", [(0, 0, 0), (3, 1, 0), (5, 4, 0), (4, 7, 0)])
    _select(arm, [curve])
    assert bpy.ops.anima.follow_path() == {"FINISHED"}
    new = arm.animation_data.action
    assert new != original and new.name == f"{original.name} (path)"
    assert new["anima_version_of"] == original.name and original.use_fake_user
    assert original.name in bpy.data.actions
    points = follow_op.curve_points(curve, bpy.context.evaluated_depsgraph_get())
    hips, _ = _hips_track(arm)
    length = path_mod.arc_lengths(points)[-1]
    chords = path_mod.arc_lengths(np.array([(0, 0, 0), (3, 1, 0), (5, 4, 0), (4, 7, 0.0)]))[-1]
    assert chords < length < 1.1 * chords          # the curve itself, not its control points
    assert path_mod.distance_to_path(hips, points).mean() <= MAX_MEAN_DISTANCE
    assert np.linalg.norm(hips[-1, :2] - points[-1, :2]) < 0.1
    assert np.linalg.norm(hips[0, :2] - points[0, :2]) < 0.1


def test_follows_empties_with_arrival_frames(make_armature, follow_op):
    from anima.backend.motion import path as path_mod
    arm, original = _rig_with_walk(make_armature)
    # A to B: 4 m in 3.33 s (1.2 m/s); B to C: 3 m in 2 s (1.5 m/s); C to D: natural speed.
    spec = {"A": ((0, 0, 0), 11), "B": ((4, 0, 0), 111), "C": ((4, 3, 0), 171),
            "D": ((1, 3, 0), None)}
    empties = _empties(spec)
    _select(arm, empties)
    assert bpy.ops.anima.follow_path() == {"FINISHED"}
    new = arm.animation_data.action
    assert new["anima_version_of"] == original.name
    hips, start = _hips_track(arm)
    assert start == 11
    points = np.array([loc for loc, _ in spec.values()], dtype=float)
    assert path_mod.distance_to_path(hips, points).mean() <= MAX_MEAN_DISTANCE
    progress = path_mod.progress_along(hips, points)
    u = path_mod.arc_lengths(points)
    for k, (_, frame) in enumerate(spec.values()):
        if frame is None or k == 0:
            continue
        reached = start + float(np.interp(u[k], progress, np.arange(len(progress))))
        assert abs(reached - frame) <= MAX_ARRIVAL_FRAMES, (k, reached, frame)


def test_named_path_and_library_walk(make_armature, follow_op):
    arm = make_armature("game_engine")                       # no Action: the library walk
    parent = bpy.data.objects.new("Route", None)
    bpy.context.scene.collection.objects.link(parent)
    for e in _empties({"R1": ((0, 0, 0), None), "R2": ((0, -5, 0), None)}):
        e.parent = parent
    bpy.context.view_layer.update()
    _select(arm, [])
    assert bpy.ops.anima.follow_path(path="Route", gait="LIBRARY") == {"FINISHED"}
    action = arm.animation_data.action
    assert action.name == "Follow Route" and "anima_version_of" not in action
    hips, _ = _hips_track(arm)
    assert np.abs(hips[:, 0]).mean() < MAX_MEAN_DISTANCE
    assert hips[-1, 1] < -4.9 and hips[0, 1] > -0.1


def test_bad_paths_change_nothing(make_armature, follow_op):
    arm, original = _rig_with_walk(make_armature)
    cases = []
    flat = _bezier_curve("Dot", [(1, 1, 0), (1, 1, 0)], handles="FREE")
    cases.append(([flat], "zero length"))
    crossing = _bezier_curve("Knot", [(0, 0, 0), (3, 3, 0), (3, 0, 0), (0, 3, 0)],
                             handles="FREE")
    cases.append(([crossing], "crosses itself"))
    fast = _empties({"E1": ((0, 0, 0), 1), "E2": ((2, 0, 0), 61), "E3": ((8, 0, 0), 66)})
    cases.append((fast, r"empty 'E2' to empty 'E3' \(6.00 m in 0.17 s\) needs 36.00 m/s"))
    back = _empties({"F1": ((0, 5, 0), 10), "F2": ((2, 5, 0), 40), "F3": ((4, 5, 0), 30)})
    cases.append((back, "must increase along the path: empty 'F2' at .* then empty 'F3'"))
    single = _empties({"G1": ((0, 9, 0), None)})
    cases.append((single, "at least 2 points"))
    cases.append(([], "Select the path"))
    before = _state()
    for objects, message in cases:
        _select(arm, objects)
        with pytest.raises(RuntimeError, match=message):
            bpy.ops.anima.follow_path()
        assert _state() == before
    with pytest.raises(RuntimeError, match="No object named 'Nowhere'"):
        bpy.ops.anima.follow_path(path="Nowhere")
    assert _state() == before and arm.animation_data.action == original


def test_panel_draws(make_armature, follow_op):
    arm, _ = _rig_with_walk(make_armature)
    panel = bpy.types.ANIMA_PT_follow_path
    assert panel.poll(bpy.context)
    assert panel.bl_parent_id == "ANIMA_PT_main"
