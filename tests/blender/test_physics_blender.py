"""Make Physically Plausible in real Blender (operators/physics.py, panels/physics.py).

Bad requests are refused with a clear message before anything changes; a `physics` result
(hand-made here: a canonical clip saved to disk and a report of the job's shape) lands as a
new Action version with the foot contacts keyed on the armature and the report stored, frames
outside the range bit-identical, one undo step; and, once the backend's physics job and core
exist, the same end to end through the real backend, and cancel."""
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
import retarget_accuracy as RA  # noqa: E402

pytestmark = [pytest.mark.blender]
OPTIONS = {"root_mode": "hips", "foot_ik": True}
CONTACT_PATHS = ('["anima_contact_left"]', '["anima_contact_right"]')


def _rig_with(make_armature, caption="walk", seconds=3.0, rig="game_engine"):
    from anima.operators import retarget
    arm = make_armature(rig)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    action = retarget.apply_clip_to_armature(arm, RA.library_clip(caption, seconds=seconds),
                                             frame_start=1, scene=scene)
    return arm, action


def _values(action, arm, frames):
    """{(data_path, index): values at frames} of every F-curve."""
    from anima.operators import keys
    return {(fc.data_path, fc.array_index): np.array([fc.evaluate(f) for f in frames])
            for fc in keys.fcurves_of(action, arm)}


def _state():
    return (sorted(a.name for a in bpy.data.actions),
            [(o.name, o.animation_data.action.name if o.animation_data and
              o.animation_data.action else None, sorted(o.keys())) for o in bpy.data.objects],
            sorted((a.name, k) for a in bpy.data.actions for k in a.keys()),
            bpy.context.scene.frame_end)


def _report(**over):
    report = {"mpjpe_mm_mean": 31.5, "mpjpe_mm_max": 74.0, "success": True, "fell": True,
              "fell_frame": 12, "residual_n_mean": 40.0, "residual_n_max": 310.0,
              "residual_pct_weight_mean": 5.8, "penetration_before": 0.021,
              "penetration_after": 0.003, "floating_before": 0.04, "floating_after": 0.005,
              "skate_before": 0.3, "skate_after": 0.1, "needed_force_pct_weight": 12.5}
    report.update(over)
    return report


def _handmade_result(clip, tmp_path, plan, contacts):
    """What the `physics` job answers: the sent clip with its root 3 cm lower on the simulated
    frames, saved like a job artifact, plus a report and the contacts."""
    from anima.backend.motion.clip import Clip
    root = clip.root_translation.copy()
    root[plan.edited, 2] -= 0.03
    out = Clip(clip.local_rotations.copy(), root, clip.fps, clip.skeleton, dict(clip.meta))
    path = out.save_npz(tmp_path / "physics.npz")
    return {"clips": [{"artifact": "clip", "name": "physics (track)",
                       "caption": "physically plausible", "source": "test", "licence": "CMU",
                       "commercial_ok": True, "attribution": "", "seconds": out.seconds}],
            "selected": 0, "edit": "physics", "method": "track", "warnings": ["a test note"],
            "report": _report(), "contacts": contacts, "artifacts": {"clip": str(path)}}


def test_bad_requests_change_nothing(session, make_armature):
    from anima.operators import jobs, physics
    with pytest.raises(ValueError, match="Select an armature"):
        physics.run_physics(None)
    assert not bpy.ops.anima.make_physical.poll()           # the button needs an armature
    bare = make_armature("game_engine", name="Bare")
    with pytest.raises(ValueError, match="'Bare' has no action"):
        physics.run_physics(bare)
    arm, walk = _rig_with(make_armature)
    last = int(walk.frame_range[1])
    state = _state()
    cases = [
        (dict(start=60, end=30), "empty: its end is before its start"),
        (dict(start=20, end=last + 50), "outside the Action's frames"),
        (dict(start=40, end=40), "single frame"),
        (dict(start=40), "both the first and the last frame"),
        (dict(gravity=0.0), "Gravity must be above 0"),
        (dict(gravity=-9.81), "Gravity must be above 0"),
        (dict(gravity=100.0), "Gravity must be between 0.1 and 30"),
        (dict(friction=0.0), "Friction must be above 0"),
        (dict(friction=9.0), "Friction must be between 0.05 and 3"),
        (dict(assistance=1.5), "Root assistance must be between 0 and 1"),
        (dict(assistance=float("nan")), "Root assistance must be a number"),
        (dict(start=20, end=40, push={"frame": 60, "force": (0, 300, 0)}),
         "push at frame 60 is outside the simulated frames 20-40"),
        (dict(push={"frame": 30, "force": (0, 0, 0)}), "no strength"),
        (dict(push={"frame": float("nan"), "force": (0, 300, 0)}), "whole frame"),
        (dict(push={"frame": 30, "force": (0, float("inf"), 0)}), "three numbers"),
        (dict(push={"frame": 30, "force": (0, 6000, 0)}), "6000 N is more than 5000 N"),
        (dict(push={"frame": 30, "force": (0, 300, 0), "seconds": 5}),
         "push duration must be between 0.01 and 2"),
        (dict(push={"frame": 30, "force": (0, 300, 0), "body": "tail"}), "not 'tail'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            physics.run_physics(arm, **kwargs)
        assert _state() == state, kwargs
    # The operator: the same checks, an error report, nothing changed; no silent clamping.
    scene = bpy.context.scene
    scene.use_preview_range = False
    for kwargs, message in [(dict(gravity=-1.0), "Gravity must be above 0"),
                            (dict(frames="RANGE"), "turn on the preview range"),
                            (dict(use_push=True, push_direction=(0, 0, 0)), "direction"),
                            (dict(start=50, end=10), "empty")]:
        with pytest.raises(RuntimeError, match=message):
            bpy.ops.anima.make_physical(**kwargs)
        assert _state() == state, kwargs
    # A busy session, an Action that belongs to another armature.
    s = jobs.get_session()
    s.pending = jobs.JobRecord("generate", {}, label="a person waves")
    try:
        with pytest.raises(ValueError, match="still working on a job .a person waves."):
            physics.run_physics(arm)
    finally:
        s.pending = None
    from anima.operators import keys
    keys.assign_action(bare, walk)
    with pytest.raises(ValueError, match="belongs to armature"):
        physics.run_physics(bare)


def test_a_physics_result_lands_as_a_new_version(session, make_armature, tmp_path):
    from anima.operators import physics, rig_motion
    arm, walk = _rig_with(make_armature)
    first, last = (int(round(f)) for f in walk.frame_range)
    frames = list(range(first, last + 1))
    before = _values(walk, arm, frames)
    clip = rig_motion.canonical_clip_from_armature(arm, first, last)
    plan = physics.plan_physics(clip, first, start=20, end=50, friction=0.6)
    assert plan.params["start"] == 20 - first and plan.params["end"] == 50 - first
    assert plan.params["friction"] == 0.6 and plan.params["gravity"] == 9.81
    T = clip.num_frames
    left = [int((t // 15) % 2 == 0) for t in range(T)]
    right = [1 - v for v in left]
    result = _handmade_result(clip, tmp_path, plan, {"left_foot": left, "right_foot": right})

    # Broken results change nothing.
    state = _state()
    for broken, message in [({"report": None}, "no report"),
                            ({"contacts": {"left_foot": left}}, "right foot contacts"),
                            ({"contacts": {"left_foot": left[:-1], "right_foot": right}},
                             "left foot contacts are not one 0/1 per frame")]:
        with pytest.raises(ValueError, match=message):
            physics.apply_physics(dict(result, **broken), arm.name, walk.name, plan, OPTIONS)
        assert _state() == state

    bpy.ops.ed.undo_push(message="before physics")
    new = physics.apply_physics(result, arm.name, walk.name, plan, OPTIONS)
    bpy.ops.ed.undo_push(message="Anima: physics 20-50")    # what the job pump does
    assert arm.animation_data.action == new and new != walk
    assert new["anima_version_of"] == walk.name and new["anima_edit"] == "physics 20-50"

    # Outside the range every channel keeps its values exactly; inside the hips went down.
    after = _values(new, arm, frames)
    outside = [i for i, f in enumerate(frames) if not 20 <= f <= 50]
    for k, v in before.items():
        assert np.array_equal(after[k][outside], v[outside]), k
    assert all(np.array_equal(v, b) for v, b in
               zip(_values(walk, arm, frames).values(), before.values()))   # original kept
    from anima.operators import keys, retarget
    hips = retarget.armature_skeleton(arm).names.index(
        retarget.ensure_mapping(arm, store=False)[0].bones["pelvis"])
    _r, pos_new = rig_motion.evaluated_world_pose(arm, [35])
    keys.assign_action(arm, walk)
    _r, pos_old = rig_motion.evaluated_world_pose(arm, [35])
    keys.assign_action(arm, new)
    drop = float(pos_old[0, hips, 2] - pos_new[0, hips, 2])
    print(f"hips lowered by {1000 * drop:.2f} mm (30 mm on the canonical skeleton, scaled "
          f"to the rig)")
    assert 0.015 < drop < 0.045

    # The contacts: two keyed custom properties, constant, one key per frame.
    curves = {fc.data_path: fc for fc in keys.fcurves_of(new, arm)
              if fc.data_path in CONTACT_PATHS}
    assert set(curves) == set(CONTACT_PATHS)
    for path, want in zip(CONTACT_PATHS, (left, right)):
        fc = curves[path]
        assert len(fc.keyframe_points) == T
        assert {k.interpolation for k in fc.keyframe_points} == {"CONSTANT"}
        assert [fc.evaluate(f) for f in frames] == want
        assert fc.evaluate(frames[14] + 0.9) == want[14]          # held, not blended
    bpy.context.scene.frame_set(first + 15)
    assert arm["anima_contact_left"] == left[15] == 0 and arm["anima_contact_right"] == 1
    assert not any(fc.data_path in CONTACT_PATHS for fc in keys.fcurves_of(walk, arm))

    # The report, on the Action and in the panel.
    assert new["anima_physics_mpjpe_mm_mean"] == 31.5
    assert new["anima_physics_fell_frame"] == first + 12           # a scene frame
    assert new["anima_physics_friction"] == 0.6 and new["anima_physics_frames"] == "20-50"
    from anima.panels.physics import report_lines
    lines = report_lines(physics.report_of(new))
    assert f"Fell at frame {first + 12}" in lines
    assert "Tracking error 32 mm mean, 74 max" in lines
    assert "Penetration 2.1 -> 0.3 cm" in lines and "Floating 4.0 -> 0.5 cm" in lines
    assert "Foot skating 30.0 -> 10.0%" in lines
    assert physics.report_of(walk) is None
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_panels import RecordingLayout
    from anima.panels.physics import ANIMA_PT_physics
    log = []
    panel = type("P", (), {})()
    panel.layout = RecordingLayout(log)
    ANIMA_PT_physics.draw(panel, bpy.context)
    assert ("operator", "anima.make_physical") in log and ("prop", "gravity") in log
    assert ("label", "Penetration 2.1 -> 0.3 cm") in log

    # A second run on the physics version replaces its contact curves and report.
    clip2 = rig_motion.canonical_clip_from_armature(arm, first, last)
    plan2 = physics.plan_physics(clip2, first)
    result2 = _handmade_result(clip2, tmp_path, plan2, {"left_foot": [1] * T,
                                                        "right_foot": [0] * T})
    # ... here with the tracker's own report (backend/models/physics/track.py: cm, nested).
    result2["report"] = {"tracking_error_mm_mean": 41.0, "tracking_error_mm_max": 90.0,
                         "residual_force_N_mean": 12.0, "residual_force_N_max": 80.0,
                         "residual_force_pct_weight_mean": 1.7, "fell": False,
                         "fell_frame": None, "success": True,
                         "before": {"penetration_cm": 1.5, "floating_cm": 3.0,
                                    "foot_skating": 0.2},
                         "after": {"penetration_cm": 0.2, "floating_cm": 0.4,
                                   "foot_skating": 0.05}}
    newer = physics.apply_physics(result2, arm.name, new.name, plan2, OPTIONS)
    assert sum(fc.data_path in CONTACT_PATHS for fc in keys.fcurves_of(newer, arm)) == 2
    assert "anima_physics_fell_frame" not in newer and newer["anima_physics_frames"] == \
        f"{first}-{last}"
    assert newer["anima_physics_penetration_before"] == pytest.approx(0.015)
    lines = report_lines(physics.report_of(newer))
    assert "Stayed on its feet" in lines and "Tracking error 41 mm mean, 90 max" in lines
    assert "Penetration 1.5 -> 0.2 cm" in lines and "Foot skating 20.0 -> 5.0%" in lines
    bpy.ops.ed.undo_push(message="Anima: physics")

    # One undo step per run takes it back.
    name, walk_name, new_name, newer_name = arm.name, walk.name, new.name, newer.name
    bpy.ops.ed.undo()
    arm = bpy.data.objects[name]
    assert arm.animation_data.action.name == new_name and newer_name not in bpy.data.actions
    bpy.ops.ed.undo()
    arm = bpy.data.objects[name]
    assert arm.animation_data.action.name == walk_name
    assert "anima_contact_left" not in arm.keys()
    assert new_name not in bpy.data.actions


def test_the_operator_takes_the_markers(session, make_armature, monkeypatch):
    """The operator reads the range from two selected markers and the push from its fields,
    and submits exactly that job (the job itself is replaced here: it is the backend's)."""
    from anima.operators import jobs
    arm, walk = _rig_with(make_armature, seconds=2.0)
    scene = bpy.context.scene
    scene.use_preview_range = False
    for name, frame in (("A", 10), ("B", 40)):
        scene.timeline_markers.new(name, frame=frame).select = True
    sent = []

    def submit(kind, params, **kwargs):
        sent.append((kind, params, kwargs))
        return jobs.JobRecord(kind, params, done=True, error="not run in this test")

    monkeypatch.setattr(jobs.get_session(), "submit", submit)
    state = _state()
    with pytest.raises(RuntimeError, match="not run in this test"):
        bpy.ops.anima.make_physical(frames="RANGE", assistance=0.25, gravity=1.62,
                                    planner=True, use_push=True, push_frame=25, push_direction=(0, 2, 0),
                                    push_strength=400.0, push_body="pelvis", push_recover=False)
    assert _state() == state
    (kind, params, kwargs), = sent
    assert kind == "physics" and kwargs["undo_message"] == "Anima: physics 10-40"
    assert (params["start"], params["end"]) == (9, 39)              # clip frames
    assert params["assistance"] == 0.25 and params["gravity"] == pytest.approx(1.62)
    assert params["planner"] is True and params["recover"] is False
    assert params["pushes"] == [{"frame": 24, "force": [0.0, 400.0, 0.0], "seconds":
                                 pytest.approx(0.1), "body": "pelvis"}]
    assert params["clip"]["frames"] == int(walk.frame_range[1])
    assert params["first_frame"] == 1          # messages name the scene's frames




def test_end_to_end_with_the_real_backend(session, make_armature):
    from anima.operators import physics
    arm, walk = _rig_with(make_armature, seconds=2.0)
    frames = list(range(1, int(walk.frame_range[1]) + 1))
    before = _values(walk, arm, frames)
    t0 = time.monotonic()
    rec = physics.run_physics(arm, start=10, end=45, assistance=0.5,
                              push={"frame": 25, "force": (0, 200, 0)})
    print(f"physics job on {len(frames)} frames: {time.monotonic() - t0:.1f} s")
    assert not rec.error, rec.error
    new = arm.animation_data.action
    assert new["anima_version_of"] == walk.name and new["anima_edit"] == "physics 10-45"
    after = _values(new, arm, frames)
    outside = [i for i, f in enumerate(frames) if not 10 <= f <= 45]
    for k, v in before.items():
        assert np.array_equal(after[k][outside], v[outside]), k
    report = physics.report_of(new)
    print("report:", report)
    assert np.isfinite(report["mpjpe_mm_mean"]) and report["pushes"] == 1
    # the backend names the push by the scene frame it was given, in its report and notes
    (row,) = rec.result["report"]["pushes"]
    assert row["frame"] == 25 and row["force_N"] == pytest.approx(200.0)
    assert report["push_steps"] == len(row["steps"])
    from anima.panels.physics import report_lines
    assert any(line.startswith("Push: ") for line in report_lines(report))
    for note in rec.result["warnings"]:
        assert "push at frame" not in note or "push at frame 25 " in note
    # What the rig now shows is the simulated motion the backend sent (read back canonical).
    from anima.backend.motion.clip import Clip
    from anima.operators import rig_motion
    sim = Clip.load_npz(rec.result["artifacts"]["clip"]).positions()
    shown = rig_motion.canonical_clip_from_armature(arm, frames[0], frames[-1]).positions()
    inside = [i for i, f in enumerate(frames) if 10 <= f <= 45]
    err_mm = 1000 * np.linalg.norm(shown[inside] - sim[inside], axis=-1).mean(axis=1)
    print(f"rig vs simulated clip: {err_mm.mean():.1f} mm mean, {err_mm.max():.1f} max")
    assert err_mm.mean() < 10.0
    left = [bpy.context.scene.frame_set(f) or arm["anima_contact_left"] for f in frames]
    assert set(left) <= {0, 1} and sum(left[9:45]) > 0         # the walk's left foot lands



def test_cancel_while_the_body_runs_changes_nothing(session, make_armature):
    """Cancel while the simulation runs: the job stops before its end, no new version."""
    from anima.operators import physics
    arm, _walk = _rig_with(make_armature, seconds=8.0)
    state = _state()
    s = session

    def cancel_when_running():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if s.job is not None and s.job.progress >= 0.05:
                s.cancel()
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=cancel_when_running, daemon=True)
    watcher.start()
    rec = physics.run_physics(arm, assistance=0.5)
    watcher.join()
    print(f"after cancel: {rec.error!r} at {100 * rec.progress:.0f}%")
    # "Cancelled"; until backend/models/physics/job.py maps the tracker's TrackingCancelled to
    # a cancel it reads "The backend failed: TrackingCancelled: ... was cancelled".
    assert "cancel" in rec.error.lower() and rec.result is None and rec.progress < 1.0
    assert _state() == state


def test_a_later_edit_drops_the_physics_contacts_and_report(make_armature, tmp_path):
    """Contacts and the report describe the simulated motion only: an edit made from a
    physics version does not carry them into its own version."""
    from anima.operators import keys, splice
    arm = make_armature("game_engine")
    arm.animation_data_create()
    action = bpy.data.actions.new("physics version")
    arm.animation_data.action = action
    action["anima_physics_mpjpe_mm_mean"] = 12.0
    arm["anima_contact_left"] = 0
    ch = keys._Channels(action, arm)
    ch.write('["anima_contact_left"]', 0, "Anima Contacts", np.arange(1, 5, dtype=float),
             np.array([1.0, 0.0, 1.0, 1.0]), interpolation="CONSTANT")
    assert any(fc.data_path == '["anima_contact_left"]' for fc in keys.fcurves_of(action, arm))
    new = action.copy()
    splice._drop_derived(new, arm, keys._Channels(new, arm, existing=True))
    assert not any(fc.data_path.startswith('["anima_contact_')
                   for fc in keys.fcurves_of(new, arm))
    assert "anima_physics_mpjpe_mm_mean" not in new.keys()
    assert "anima_physics_mpjpe_mm_mean" in action.keys()           # the old version keeps it
