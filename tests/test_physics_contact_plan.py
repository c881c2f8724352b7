"""The floor pushes the body (issue 11): the tracking controller's contact-force plan
(``backend/models/physics/contact_plan.py``), with real MuJoCo and real scipy."""
import numpy as np
import pytest

pytest.importorskip("mujoco")
pytest.importorskip("scipy")

from backend.motion import quat
from backend.motion.clip import Clip
from backend.motion.skeleton import CANONICAL, CANONICAL_NAMES
from backend.models.physics.contact_plan import CONE_MARGIN, ContactPlanner
from backend.models.physics.mjcf import build_humanoid
from backend.models.physics.reference import qpos_from_clip, sole_heights
from backend.models.physics.track import TrackOptions, track_clip

FRICTION = 0.9


def standing(frames=60, fps=30.0) -> Clip:
    return Clip(quat.identity((frames, 22)), np.tile(CANONICAL.offsets[0], (frames, 1)), fps)


def test_a_heel_strike_touches_the_floor_with_the_heel():
    """sole_heights(heels=True) counts the foot box's back edge: with the foot pitched up
    20 degrees at the ankle (toes up, as at heel strike) the heel is the lowest point, lower
    than the ball; flat, the heel edge and the sole are at the same height."""
    hum = build_humanoid(CANONICAL, friction=FRICTION)
    clip = standing(1)
    flat = sole_heights(hum, clip.local_rotations, clip.root_translation)
    flat_heels = sole_heights(hum, clip.local_rotations, clip.root_translation, heels=True)
    assert np.allclose(flat, flat_heels, atol=2e-3)
    rots = clip.local_rotations.copy()
    left = CANONICAL_NAMES.index("left_ankle")
    rots[0, left] = quat.from_axis_angle(np.array([1.0, 0.0, 0.0]), np.array(np.radians(-20)))
    balls = sole_heights(hum, rots, clip.root_translation)
    heels = sole_heights(hum, rots, clip.root_translation, heels=True)
    assert abs(balls[0, 0] - flat[0, 0]) > 0.02               # the ball moved off the floor
    assert heels[0, 0] < balls[0, 0] - 0.02 and heels[0, 0] < flat[0, 0] + 0.02
    assert np.isclose(heels[0, 1], balls[0, 1], atol=2e-3)    # the other foot is flat


def body_on_floor(lift: float):
    """A humanoid standing with its soles `lift` m above the floor (negative: 3 mm into it,
    so MuJoCo reports the feet's contacts) and its planner, after collect()."""
    import mujoco
    hum = build_humanoid(CANONICAL, friction=FRICTION)
    clip = standing(1)
    qpos = qpos_from_clip(hum, clip.local_rotations, clip.root_translation)[0]
    sole = float(sole_heights(hum, clip.local_rotations, clip.root_translation).min())
    qpos[hum.qpos_address[0] + 2] += lift - sole
    d = mujoco.MjData(hum.model)
    d.qpos[:] = qpos
    mujoco.mj_forward(hum.model, d)
    plan = ContactPlanner(hum, FRICTION)
    plan.collect(d)
    return hum, plan, d


def floor_wrench(hum, d, force) -> np.ndarray:
    """The root wrench (6,) of `force` (3,) acting on the floor midway between the ankles,
    as the root rows of a generalized force (what inverse dynamics asks of the floor)."""
    import mujoco
    ankles = [hum.body_ids[CANONICAL_NAMES.index(n)] for n in ("left_ankle", "right_ankle")]
    point = d.xpos[ankles].mean(axis=0)
    point[2] = 0.0
    qfrc = np.zeros(hum.model.nv)
    mujoco.mj_applyFT(hum.model, d, np.asarray(force, dtype=np.float64), np.zeros(3), point,
                      int(hum.body_ids[0]), qfrc)
    return qfrc[hum.dof_address[0]:hum.dof_address[0] + 6]


def test_the_feet_carry_the_weight_and_push_sideways_inside_the_cone():
    hum, plan, d = body_on_floor(-0.003)
    assert plan.points >= 4                         # corners of both soles touch
    weight = hum.weight
    up = floor_wrench(hum, d, [0.0, 0.0, weight])
    floor, rest = plan.plan(up)
    assert floor.shape == (hum.model.nv,)
    assert np.linalg.norm(rest) < 0.01 * weight     # the floor gives all of it
    np.testing.assert_allclose(floor[plan.root], up - rest, atol=1e-9)
    # sideways half the weight: inside the (margin) friction cone, the floor gives it
    _, rest = plan.plan(floor_wrench(hum, d, [0.5 * weight, 0.0, weight]))
    assert np.linalg.norm(rest[:3]) < 0.02 * weight
    # sideways the whole weight: past the cone, the rest is left to the residual
    _, rest = plan.plan(floor_wrench(hum, d, [weight, 0.0, weight]))
    past = (1.0 - CONE_MARGIN * FRICTION) * weight
    assert np.linalg.norm(rest[:3]) > 0.5 * past
    # a floor never pulls: a wanted downward force is all residual
    floor, rest = plan.plan(-up)
    np.testing.assert_allclose(rest, -up, atol=1e-6 * weight)
    assert np.abs(floor).max() < 1e-6 * weight


def test_no_contact_no_plan_and_the_pressure_stays_under_the_feet():
    hum, plan, d = body_on_floor(0.10)
    assert plan.points == 0
    wanted = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    floor, rest = plan.plan(wanted)
    assert floor is None and np.array_equal(rest, wanted)
    # on the floor: the weight pressing 2 cm to one side is under the feet and is given;
    # pressing 1 m to that side (far outside the feet) is mostly left to the residual
    hum, plan, d = body_on_floor(-0.003)
    weight = hum.weight
    up = floor_wrench(hum, d, [0.0, 0.0, weight])
    for lever, most in ((0.02, 0.02), (1.0, None)):
        wanted = up.copy()
        wanted[3:] += np.cross([lever, 0.0, 0.0], [0.0, 0.0, weight])   # pelvis ~ world axes
        _, rest = plan.plan(wanted)
        if most is not None:
            assert np.linalg.norm(rest) < most * weight
        else:
            assert np.linalg.norm(rest[3:]) > 0.3 * lever * weight


def test_standing_needs_no_help_at_the_default_assistance():
    r = track_clip(standing(45))
    assert r.success and not r.fell
    assert r.report["residual_force_pct_weight_mean"] < 1.0


def test_held_out_walks_get_most_of_their_push_from_the_floor():
    """The four held-out CMU walks at the default assistance: before the feet pushed the
    floor, the root help averaged 61 % of the body weight and the feet labelled in contact
    slid 0.49 m/s; now the legs push (42, 52, 26 and 40 %; 0.21 m/s)."""
    from backend.models.editing.evaluate import held_out_clips
    walks = [c for cap, c in held_out_clips() if cap.startswith("walk")]
    assert len(walks) == 4
    runs = [track_clip(c) for c in walks]
    assert all(r.success and not r.fell for r in runs)
    help_ = np.mean([r.report["residual_force_pct_weight_mean"] for r in runs])
    slide = np.mean([r.report["contact_slide_simulated"] for r in runs])
    assert help_ < 50.0 and slide < 0.35
    assert np.mean([r.report["tracking_error_mm_mean"] for r in runs]) < 45.0
    # a heel strike is not flight: before the heels counted, 11, 33, 6 and 14 % of these
    # walks' frames were called flight; the three plain walks have none now
    shares = [r.report["flight_share"] for r in runs]
    assert sum(s == 0.0 for s in shares) >= 3 and max(shares) < 0.25, shares
    # help is capped: none at assistance 0, where this walk falls
    none = track_clip(walks[1], TrackOptions(assistance=0.0))
    assert none.fell and none.report["residual_force_pct_weight_max"] == 0.0


def test_bench_physics_reports_the_root_help():
    from backend.models.physics.bench import benchmark
    out = benchmark(n=1)
    assert set(out) >= {"cpu_s_per_motion_s", "success", "mpjpe_mm", "root_help_pct_weight"}
    assert out["success"] == 1.0 and 0.0 < out["root_help_pct_weight"] < 60.0


def test_the_clips_not_used_to_choose_the_controller():
    from backend.models.physics.evaluate import (FRESH_PROMPTS, GEN_PROMPTS, TRAIN_CLIPS,
                                                 TRAIN_MAX_FRAMES, train_clips)
    train = train_clips()
    assert len(train) == TRAIN_CLIPS
    assert all(c.num_frames <= TRAIN_MAX_FRAMES and c.fps == 30.0 for _n, c in train)
    assert len({n for n, _c in train}) > 8            # spread over the library, not one take
    assert not set(FRESH_PROMPTS) & set(GEN_PROMPTS)


def test_a_second_held_up_by_the_help_is_named_in_the_warnings():
    from backend.models.physics.report import HELP_WARN_PCT, help_warning
    pct = np.full(90, 10.0)
    assert help_warning(pct, 30.0) is None and help_warning(np.zeros(0), 30.0) is None
    pct[40:70] = 120.0
    text = help_warning(pct, 30.0)
    assert text.startswith("frames 40-69:") and "120%" in text
    # levitating: the body rises 30 cm, hangs there for a second and comes down; only the
    # help can hold it up
    clip = standing(90)
    up = np.clip(np.minimum(np.arange(90) - 20, 75 - np.arange(90)) / 8.0, 0.0, 1.0)
    clip.root_translation[:, 2] += 0.3 * up
    held = track_clip(clip, TrackOptions(assistance=1.0))
    assert any(w.startswith("frames ") and "held it up" in w for w in held.report["warnings"])
    assert held.report["residual_force_pct_weight_max"] > HELP_WARN_PCT
    assert not any("held it up" in w for w in track_clip(standing(45)).report["warnings"])


def test_a_clip_put_on_the_floor_at_its_first_frame_does_not_start_with_a_jump():
    """The first frame goes on the floor when the rolling grounding leaves it further off,
    and eases back to the rolling offsets: no step at frame 0 (a step of 7 cm in one frame
    started a CMU run at 4 m/s upwards)."""
    from backend.models.physics.track import START_EASE_S, _start_on_the_floor
    fps = 60.0
    rolling = np.full(120, 0.02)
    lowest = np.full(120, 0.02)
    lowest[0] = 0.09                                 # the first frame 7 cm further up
    out = _start_on_the_floor(rolling, lowest, fps)
    assert out[0] == pytest.approx(0.09)
    np.testing.assert_allclose(out[int(START_EASE_S * fps):], 0.02)
    assert np.abs(np.diff(out)).max() < 0.07 / (START_EASE_S * fps) * 1.6   # smooth
    # nearer than the rolling offset: the rolling one stays
    np.testing.assert_allclose(_start_on_the_floor(rolling, np.full(120, 0.01), fps), rolling)
