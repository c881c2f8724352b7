"""The physics core (issue 11): the MuJoCo humanoid built from the canonical skeleton and the
tracking controller, with real MuJoCo on small clips."""
import time

import numpy as np
import pytest

pytest.importorskip("mujoco")

from backend.motion import quat
from backend.motion.clip import Clip
from backend.motion.skeleton import CANONICAL, CANONICAL_NAMES, Skeleton
from backend.models.physics.mjcf import MASS_FRACTIONS, build_humanoid
from backend.models.physics.track import (Push, TrackingCancelled, TrackOptions, TrackResult,
                                          needed_force_report, track_clip)

HEAD = CANONICAL_NAMES.index("head")


def standing(frames=60, fps=30.0, lift=0.0) -> Clip:
    root = np.tile(CANONICAL.offsets[0], (frames, 1))
    root[:, 2] += lift
    return Clip(quat.identity((frames, 22)), root, fps)


def backflip(fps=30.0) -> Clip:
    """Stand, leap 0.6 m with a full backward turn of the pelvis and tucked legs, land."""
    T = 45
    rots = quat.identity((T, 22))
    root = np.tile(CANONICAL.offsets[0], (T, 1))
    s = np.clip((np.arange(T) - 10) / 20.0, 0.0, 1.0)
    x = np.array([1.0, 0.0, 0.0])
    rots[:, 0] = quat.from_axis_angle(x, 2 * np.pi * s)
    tuck = np.sin(np.pi * s)
    for j in (1, 2):
        rots[:, j] = quat.from_axis_angle(x, -1.8 * tuck)
    for j in (4, 5):
        rots[:, j] = quat.from_axis_angle(x, 2.2 * tuck)
    root[:, 2] += 2.4 * s * (1 - s)
    return Clip(rots, root, fps)


def scaled(skeleton: Skeleton, factor: float, arms: float = 1.0) -> Skeleton:
    out = skeleton.copy()
    out.offsets = out.offsets * factor
    out.tails = out.tails * factor
    for name in ("left_elbow", "right_elbow", "left_wrist", "right_wrist"):
        out.offsets[CANONICAL_NAMES.index(name)] *= arms
    return Skeleton(out.names, out.parents, out.offsets, out.rest_rotations, out.tails)


# ------------------------------------------------------------------------------- the body
def test_humanoid_for_canonical_has_sane_masses_and_limits():
    import mujoco
    h = build_humanoid(CANONICAL)
    m = h.model
    assert m.nbody == 23 and m.nu == 63 and m.nv == 6 + 21 * 3
    assert 55 < h.mass < 70                       # BMI 22 at 1.67 m
    assert sum(m.body_mass) == pytest.approx(h.mass, rel=1e-3)
    thigh = m.body_mass[h.body_ids[CANONICAL_NAMES.index("left_hip")]]
    hand = m.body_mass[h.body_ids[CANONICAL_NAMES.index("left_wrist")]]
    assert thigh / h.mass == pytest.approx(MASS_FRACTIONS["left_hip"], rel=1e-3)
    assert thigh > 5 * hand
    knee = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, "left_knee")
    neck = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, "neck")
    assert m.jnt_limited[knee] and 2.5 < m.jnt_range[knee, 1] < 3.0          # radians
    assert m.jnt_range[neck, 1] < m.jnt_range[knee, 1]
    # the rest pose stands on the floor: the soles touch z = 0
    d = mujoco.MjData(m)
    mujoco.mj_kinematics(m, d)
    feet = np.concatenate([h.foot_geoms["left_foot"], h.foot_geoms["right_foot"]])
    bottoms = [d.geom_xpos[g][2] - np.abs(d.geom_xmat[g].reshape(3, 3)[2]) @ m.geom_size[g]
               for g in feet]
    assert min(bottoms) == pytest.approx(0.0, abs=2e-3)


def test_humanoid_scales_with_the_character():
    small = build_humanoid(CANONICAL)
    big = build_humanoid(scaled(CANONICAL, 1.15, arms=1.3))
    assert big.height == pytest.approx(small.height * 1.15, rel=1e-3)
    assert big.mass > 1.25 * small.mass
    assert big.torque_limit.max() > 1.4 * small.torque_limit.max()
    heavy = build_humanoid(CANONICAL, mass_kg=95.0, friction=0.5, gravity=3.7)
    assert heavy.mass == 95.0 and heavy.model.opt.gravity[2] == pytest.approx(-3.7)
    assert heavy.model.geom_friction[0, 0] == pytest.approx(0.5)


def test_bad_bodies_are_refused_clearly():
    zero = CANONICAL.copy()
    zero.offsets[CANONICAL_NAMES.index("left_knee")] = 0.0
    with pytest.raises(ValueError, match="left_hip.*left_knee"):
        build_humanoid(Skeleton(zero.names, zero.parents, zero.offsets, None, zero.tails))
    with pytest.raises(ValueError, match="22 canonical joints"):
        build_humanoid(CANONICAL.subset(list(range(12))))
    for kwargs, what in (({"gravity": 0.0}, "gravity"), ({"gravity": -9.81}, "gravity"),
                         ({"friction": 0.0}, "friction"), ({"mass_kg": 0.1}, "mass_kg")):
        with pytest.raises(ValueError, match=what):
            build_humanoid(CANONICAL, **kwargs)


# ---------------------------------------------------------------------------- tracking
def test_standing_holds_without_any_assistance():
    r = track_clip(standing(60), TrackOptions(assistance=0.0))
    assert isinstance(r, TrackResult) and r.clip.num_frames == 60 and r.clip.fps == 30.0
    assert not r.fell and r.success
    assert np.abs(r.residual).max() == 0.0
    assert r.contacts["left_foot"][5:].all() and r.contacts["right_foot"][5:].all()
    assert r.mpjpe.max() < 0.08
    assert r.report["penetration_after"] < 0.005


def test_held_out_walk_is_tracked(capsys):
    from backend.models.editing.evaluate import held_out_clips
    caption, clip = next((cap, c) for cap, c in held_out_clips() if cap.startswith("walk"))
    t0 = time.process_time()
    r = track_clip(clip)
    cpu = time.process_time() - t0
    with capsys.disabled():
        print(f"\nphysics: {caption!r} {clip.seconds:.1f} s, mpjpe "
              f"{r.report['tracking_error_mm_mean']:.1f} mm, residual "
              f"{r.report['residual_force_pct_weight_mean']:.0f}% of weight, "
              f"{cpu / clip.seconds:.3f} CPU-s per motion-s")
    assert not r.fell and r.success
    assert r.mpjpe.mean() < 0.06
    assert r.contacts["left_foot"].any() and r.contacts["right_foot"].any()
    assert r.residual.shape == (clip.num_frames, 6)
    assert cpu / clip.seconds < 5.0               # the goal is <= 2; loose on a busy machine
    # the raw simulation is reported apart from the contact pass that follows it
    rep = r.report
    assert isinstance(r.simulated, Clip) and r.simulated.num_frames == clip.num_frames
    assert not np.allclose(r.simulated.local_rotations, r.clip.local_rotations)
    for key in ("skate", "floating", "penetration", "planted_speed"):
        assert rep[f"{key}_after_simulated"] >= 0.0
    # a foot labelled in contact stays put and touches the floor in the output
    assert rep["contact_frames_after"] == rep["contact_frames_simulated"] >= 20
    assert rep["contact_slide_after"] < 0.02
    assert rep["contact_slide_after"] < 0.5 * rep["contact_slide_simulated"]
    assert abs(rep["contact_height_after"]) < 0.02


def test_push_deviates_then_recovers():
    """Without the recovery steps the help holds the body near its path, even through a
    shove that would fell a person."""
    quiet = track_clip(standing(90))
    pushed = track_clip(standing(90), TrackOptions(
        recover=False, pushes=(Push(20, (0.0, 1500.0, 0.0), 0.15),)))
    after = pushed.mpjpe[20:45].max()
    assert after > 0.02 and after > 10 * quiet.mpjpe.max()
    assert pushed.mpjpe[-5:].max() < 0.01          # back on the reference
    assert not pushed.fell


def test_a_shoved_body_steps_to_catch_itself_and_stays_where_it_landed():
    """A 600 N shove for 0.2 s (2 m/s): the foot nearer the capture point steps, the body
    does not fall and ends upright, displaced along the push; a 150 N one the feet absorb
    where they stand. The help took none of it back."""
    clip = standing(120)
    shove = track_clip(clip, TrackOptions(pushes=(Push(20, (600.0, 0.0, 0.0), 0.2),)))
    (row,) = shove.report["pushes"]
    assert not shove.fell and len(row["steps"]) >= 1 and 20 <= row["steps"][0] <= 30
    assert row["help_absorbed_pct"] == 0.0
    pos = shove.clip.positions()
    moved = pos[-1, :, :2] - pos[19, :, :2]
    assert moved[0, 0] > 0.08                                   # the pelvis went with the push
    ankles = np.linalg.norm(moved[[7, 8]], axis=1)
    lift = pos[20:45, [7, 8], 2].max(axis=0) - pos[19, [7, 8], 2]
    assert ankles.max() > 0.05 and lift.max() > 0.03            # a foot stepped
    assert shove.mpjpe[-10:].max() < 0.05                       # standing again, upright
    assert pos[-1, HEAD, 2] > 0.9 * clip.positions()[-1, HEAD, 2]
    nudge = track_clip(clip, TrackOptions(pushes=(Push(20, (150.0, 0.0, 0.0), 0.2),)))
    assert nudge.report["pushes"][0]["steps"] == [] and not nudge.fell
    feet = nudge.clip.positions()[:, [7, 8], :2]
    assert np.abs(feet[-1] - feet[19]).max() < 0.02             # the feet stayed put


def test_a_second_push_during_the_reaction_to_the_first_gets_its_own():
    clip = standing(120)
    both = track_clip(clip, TrackOptions(pushes=(Push(15, (600.0, 0.0, 0.0), 0.2),
                                                 Push(45, (-600.0, 0.0, 0.0), 0.2))))
    first, second = both.report["pushes"]
    assert not both.fell and first["steps"] and any(f >= 45 for f in second["steps"])
    pelvis = both.clip.positions()[:, 0, 0]
    assert pelvis[44] > pelvis[14] + 0.05 and pelvis[-1] < pelvis[44] - 0.05   # and back


def test_the_report_says_how_much_of_a_push_the_help_took():
    """Without the recovery steps, the root help takes back much of a shove at the default
    assistance; the report and a warning say so. Without assistance there is no help to take
    anything."""
    shove = (Push(20, (600.0, 0.0, 0.0), 0.2),)
    helped = track_clip(standing(90), TrackOptions(pushes=shove, first_frame=100,
                                                   recover=False))
    (row,) = helped.report["pushes"]
    assert row["frame"] == 120 and row["impulse_Ns"] == pytest.approx(120.0)
    assert 30.0 < row["help_absorbed_pct"] < 100.0
    assert 5.0 < row["peak_error_mm"] < 100.0
    assert any("push at frame 120" in w and "Step to Recover" in w
               for w in helped.report["warnings"])
    alone = track_clip(standing(90), TrackOptions(assistance=0.0,
                                                   pushes=(Push(20, (40.0, 0, 0), 0.2),)))
    assert alone.report["pushes"][0]["help_absorbed_pct"] == 0.0
    assert not any("push" in w for w in alone.report["warnings"])
    assert track_clip(standing(30)).report["pushes"] == []


def test_clip_in_the_air_is_put_on_the_floor():
    r = track_clip(standing(45, lift=0.3))
    assert any("in the air" in w for w in r.report["warnings"])
    assert r.report["floating_before"] > 0.25
    assert r.report["floating_after"] < 0.1 * r.report["floating_before"]
    assert r.clip.positions()[:, :, 2].min() < 0.03


def jump(frames=60, fps=30.0, height=0.25) -> Clip:
    """Stand, hop `height` m straight up between frames 20 and 34 (legs straight), land."""
    clip = standing(frames, fps)
    s = np.clip((np.arange(frames) - 20) / 14.0, 0.0, 1.0)
    clip.root_translation[:, 2] += 4 * height * s * (1 - s)
    return clip


def test_floating_splits_into_real_flight_and_the_rest():
    r = track_clip(jump(), TrackOptions(assistance=1.0))
    rep = r.report
    assert rep["floating_after_flight"] + rep["floating_after_ground"] == \
        pytest.approx(rep["floating_after"], abs=1e-12)
    # the reference's soles are above the floor for most of the 14 hop frames
    assert 8 / 60 <= rep["flight_share"] <= 15 / 60
    assert rep["floating_reference"] > 0.03                # the hop, as it is tracked
    # all the floating left is in the hop (straight legs cannot push off: it stays low)
    assert 0.0 < rep["floating_after_flight"] < rep["floating_reference"]
    assert rep["floating_after_ground"] == 0.0
    standing_still = track_clip(standing(30)).report
    assert standing_still["flight_share"] == 0.0 == standing_still["floating_after_flight"]


def test_reference_holds_the_inputs_planted_feet_still():
    """A standing clip whose whole body drifts 5 cm/s sideways: its feet slide; the reference
    the humanoid tracks keeps them planted, and so does the simulation."""
    from backend.models.physics.reference import clip_arrays_from_qpos
    from backend.models.physics.track import _prepare
    from backend.motion.footplant import planted_masks, planted_speed
    clip = standing(40)
    clip.root_translation[:, 0] += 0.05 * np.arange(40) / 30.0
    before = planted_speed(clip, planted_masks(clip))
    assert before == pytest.approx(0.05, rel=0.05)
    prep = _prepare(clip, TrackOptions())
    ref = Clip(*clip_arrays_from_qpos(prep.humanoid, prep.qpos[::prep.factor]), clip.fps)
    assert planted_speed(ref, planted_masks(clip)) < 0.2 * before
    r = track_clip(clip)
    assert r.report["contact_slide_simulated"] < 0.2 * before


def test_sampling_planner_keeps_a_walk_up_with_little_help():
    """At assistance 0.1 the plain controller lets this held-out walk fall; predictive
    sampling over the balance joints' PD targets keeps it up, with no more help."""
    from backend.models.editing.evaluate import held_out_clips
    clip = next(c for cap, c in held_out_clips() if cap.startswith("walk, exaggerated"))
    plain = track_clip(clip, TrackOptions(assistance=0.1))
    planned = track_clip(clip, TrackOptions(assistance=0.1, planner=True))
    assert plain.fell and not plain.success
    assert planned.success and not planned.fell and planned.mpjpe.mean() < 0.2   # 161 mm
    assert planned.report["planner"] and not plain.report["planner"]
    assert planned.report["plans"] >= (clip.num_frames - 1) * 2 // 6 and \
        plain.report["plans"] == 0
    assert planned.report["residual_force_pct_weight_mean"] <= \
        plain.report["residual_force_pct_weight_mean"] + 0.5
    short = clip.slice(0, 16)
    once, again = (track_clip(short, TrackOptions(assistance=0.1, planner=True))
                   for _ in range(2))
    np.testing.assert_array_equal(once.clip.local_rotations, again.clip.local_rotations)


def test_backflip_without_assistance_falls_and_says_so():
    clip = backflip()
    r = track_clip(clip, TrackOptions(assistance=0.0))
    assert r.fell and not r.success and r.fell_frame is not None and r.fell_frame > 10
    assert r.report["fell"] and "fell" in r.report["message"]
    need = needed_force_report(clip)
    assert need["needed_force_pct_weight_max"] > 100.0
    assert needed_force_report(standing(20))["needed_force_N_max"] < 1.0


def test_other_frame_rates_keep_frame_count():
    r = track_clip(standing(37, fps=24.0))
    assert r.clip.num_frames == 37 and r.clip.fps == 24.0
    assert r.mpjpe.shape == (37,) and r.contacts["left_foot"].shape == (37,)


@pytest.mark.parametrize("options, match", [
    (TrackOptions(assistance=1.5), "assistance"),
    (TrackOptions(friction=0.0), "friction"),
    (TrackOptions(gravity=-9.81), "gravity"),
    (TrackOptions(max_seconds=0), "max_seconds"),
    (TrackOptions(planner="yes"), "planner"),
    (TrackOptions(first_frame=2.5), "first_frame"),
    (TrackOptions(recover=1), "recover"),
    (TrackOptions(pushes=(Push(3, (1.0, 0.0, 0.0), body="tail"),)), "tail"),
    (TrackOptions(pushes=(Push(3, (1.0, 0.0)),)), "force"),
    (TrackOptions(pushes=(Push(10, (1.0, 0.0, 0.0)),)), "after the clip's last frame"),
])
def test_bad_options_raise_clear_errors(options, match):
    with pytest.raises(ValueError, match=match):
        track_clip(standing(10), options)


def test_one_frame_clip_is_refused():
    with pytest.raises(ValueError, match="at least 2 frames"):
        track_clip(standing(1))


def test_endless_runs_stop_at_max_seconds():
    r = track_clip(standing(300), TrackOptions(max_seconds=0.05))
    assert r.report["timed_out"] and not r.success
    assert r.clip.num_frames == 300
    assert any("max_seconds" in w for w in r.report["warnings"])


def test_progress_is_reported_and_cancel_stops_the_run():
    seen = []
    track_clip(standing(40), progress=lambda f, msg="": seen.append(f))
    assert seen and seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen)
    with pytest.raises(TrackingCancelled):
        track_clip(standing(40), cancelled=lambda: True)


def test_state_round_trip_on_a_rig_with_rest_rotations():
    """A Blender-style skeleton (bone frames not world-aligned) maps to MuJoCo and back."""
    from backend.models.physics.reference import clip_arrays_from_qpos, qpos_from_clip
    rng = np.random.default_rng(3)
    _, pos = CANONICAL.rest_world()
    frames = np.tile(np.eye(4), (22, 1, 1))
    frames[:, :3, :3] = quat.to_matrix(quat.normalize(rng.normal(size=(22, 4))))
    frames[:, :3, 3] = pos
    rig = Skeleton.from_rest_matrices(CANONICAL_NAMES, CANONICAL.parents, frames,
                                      lengths=np.full(22, 0.05))
    h = build_humanoid(rig)
    pose = quat.normalize(quat.identity((5, 22)) + 0.3 * rng.normal(size=(5, 22, 4)))
    root = pos[0] + rng.normal(size=(5, 3)) * 0.1
    rots, trans = clip_arrays_from_qpos(h, qpos_from_clip(h, pose, root))
    np.testing.assert_allclose(rig.fk(rots, trans)[1], rig.fk(pose, root)[1], atol=1e-9)


def test_a_bounce_is_one_stance_a_step_is_not():
    from backend.models.physics.contacts import merge_bounces
    mask = np.array([1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1], bool)
    still = np.zeros((14, 3))
    merged = merge_bounces(mask, still, gap=3, distance=0.03)
    assert merged[:7].all()                             # off 2 frames, back in place
    assert not merged[7:12].any() and merged[12:].all()  # off 5 frames: a new contact
    stepped = still.copy()
    stepped[5:, 0] = 0.10                               # came down 10 cm further on
    assert not merge_bounces(mask, stepped, gap=3, distance=0.03)[3:5].any()


def test_a_swinging_foot_dragged_low_is_lifted_back_to_the_reference():
    """The output pass raises a swinging foot that the simulation carries lower than the
    reference, and leaves the planted foot and the other frames alone."""
    from backend.models.physics.contacts import lock_contacts
    T = 30
    ref = standing(T)
    left_hip = CANONICAL_NAMES.index("left_hip")
    left_knee = CANONICAL_NAMES.index("left_knee")
    x = np.array([1.0, 0.0, 0.0])
    lift = np.sin(np.pi * np.clip((np.arange(T) - 5) / 20.0, 0.0, 1.0))
    rots = ref.local_rotations.copy()                  # the reference swings its left leg
    rots[:, left_hip] = quat.from_axis_angle(x, -0.6 * lift)
    rots[:, left_knee] = quat.from_axis_angle(x, 1.2 * lift)
    ref = Clip(rots, ref.root_translation, ref.fps)
    low = rots.copy()                                  # the simulation: half the knee bend
    low[:, left_knee] = quat.from_axis_angle(x, 0.6 * lift)
    sim = Clip(low, ref.root_translation, ref.fps)
    contacts = {"left_foot": lift < 1e-6, "right_foot": np.ones(T, bool)}
    out = lock_contacts(sim, contacts, ref)
    ankle = CANONICAL_NAMES.index("left_ankle")
    z_sim, z_ref, z_out = (c.positions()[:, ankle, 2] for c in (sim, ref, out))
    swing = np.flatnonzero(lift > 0.5)
    assert (z_ref[swing] - z_sim[swing]).min() > 0.02          # the simulation is lower
    np.testing.assert_allclose(z_out[swing], z_ref[swing], atol=0.01)
    # the planted right foot and the frames before the swing are untouched
    right = CANONICAL_NAMES.index("right_ankle")
    np.testing.assert_allclose(out.positions()[:, right], sim.positions()[:, right], atol=1e-3)
    np.testing.assert_allclose(z_out[:4], z_sim[:4], atol=1e-6)
    # without a reference only the contacts are held
    assert np.allclose(lock_contacts(sim, contacts).positions()[swing, ankle, 2], z_sim[swing])


def test_skating_splits_into_feet_on_the_floor_and_low_swings():
    """A planted foot dragged along the floor counts as touching; the same foot swung 3 cm
    above the floor (its ball still under the 5 cm skating height) counts as a swing."""
    from backend.eval.metrics import foot_skating_ratio
    from backend.models.physics.report import positions_y_up, skate_split
    T, fps = 31, 30.0
    still = standing(T, fps)
    assert skate_split(still, "x") == {"skate_x_touching": 0.0, "skate_x_swing": 0.0}
    root = still.root_translation.copy()
    root[:, 1] += np.arange(T) * 1.0 / fps                  # the whole body glides 1 m/s
    dragged = Clip(still.local_rotations, root, fps)
    rep = skate_split(dragged, "d")
    assert rep["skate_d_touching"] == 1.0 and rep["skate_d_swing"] == 0.0
    assert foot_skating_ratio(positions_y_up(dragged), fps) == 1.0
    root[:, 2] += 0.03                                      # and 3 cm up: feet off the floor
    low = Clip(still.local_rotations, root, fps)
    rep = skate_split(low, "s")
    assert rep["skate_s_touching"] == 0.0 and rep["skate_s_swing"] == 1.0
    assert foot_skating_ratio(positions_y_up(low), fps) == 1.0
