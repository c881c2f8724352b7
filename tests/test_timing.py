"""Timing edits (backend/motion/timing.py) on real clips of the shipped mocap library: retime
keeps the duration, frame rate and root travel right and planted feet planted; make_loop
closes a clip into a cycle whose seam is no bigger a velocity jump than the clip's own 95th
percentile of frame-to-frame velocity change; bad input gets a clear ValueError."""
import numpy as np
import pytest

from backend.data.library import DEFAULT_LIBRARY, MotionLibrary
from backend.eval.metrics import foot_skating_ratio
from backend.motion import quat, timing
from backend.motion.resample import resample_arrays, source_positions
from backend.motion.clip import Clip

PLANTED_SLACK = 0.02        # m/s: planted feet may not slide faster than in the source + this
SKATE_SLACK = 0.02          # foot_skating_ratio: retimed slower may not be worse than this
POP_SLACK = 1.15            # largest velocity change after an edit vs before
LEG_JOINTS = {1, 2, 4, 5, 7, 8}


@pytest.fixture(scope="module")
def library():
    return MotionLibrary.load(DEFAULT_LIBRARY)


def _clip(library, caption: str) -> Clip:
    for i, e in enumerate(library.entries):
        if e.captions and e.captions[0] == caption:
            return library.clip(i)
    raise LookupError(caption)


@pytest.fixture(scope="module", params=["walk", "run", "punch/strike"])
def clip(request, library):
    return _clip(library, request.param)


def _naive(clip: Clip, factor: float) -> Clip:
    """Resampling alone (no foot fix): the same frames retime samples, relabelled."""
    rots, trans = resample_arrays(clip.local_rotations, clip.root_translation, clip.fps,
                                  clip.fps / factor)
    return Clip(rots, trans, clip.fps, clip.skeleton)


def _skate(c: Clip) -> float:
    return foot_skating_ratio(c.positions()[..., [0, 2, 1]], c.fps)     # the metric is Y-up


@pytest.mark.parametrize("factor", [0.5, 2.0, 1.5])
def test_retime_duration_fps_and_travel(clip, factor):
    out = timing.retime(clip, factor=factor)
    T = clip.num_frames
    assert out.fps == clip.fps
    assert out.num_frames == round((T - 1) / factor) + 1
    # The same path: first and last positions exact, every frame on the source's path.
    assert np.allclose(out.root_translation[[0, -1], :2], clip.root_translation[[0, -1], :2])
    s = source_positions(T, clip.fps, clip.fps / factor)
    for axis in (0, 1):
        path = np.interp(s, np.arange(T), clip.root_translation[:, axis])
        assert np.abs(out.root_translation[:, axis] - path).max() < 1e-9
    # Everything but the legs is the slerped source; the ankles keep their world orientation.
    naive = _naive(clip, factor)
    body = [j for j in range(len(clip.skeleton)) if j not in LEG_JOINTS]
    d = np.abs(np.sum(out.local_rotations[:, body] * naive.local_rotations[:, body], -1))
    assert d.min() > 1 - 1e-9
    w_out = out.skeleton.fk(out.local_rotations, out.root_translation)[0]
    w_naive = naive.skeleton.fk(naive.local_rotations, naive.root_translation)[0]
    assert np.abs(np.sum(w_out[:, [7, 8]] * w_naive[:, [7, 8]], -1)).min() > 1 - 1e-9


def test_retime_to_seconds(library):
    walk = _clip(library, "walk")
    out = timing.retime(walk, seconds=2.0)
    assert out.num_frames == 60 and out.fps == walk.fps
    assert out.seconds == pytest.approx(2.0)
    assert out.meta["retime_factor"] == pytest.approx((walk.num_frames - 1) / 59)


@pytest.mark.parametrize("caption", ["walk", "run/jog", "run"])
@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_retime_keeps_planted_feet_planted(library, caption, factor):
    src = _clip(library, caption)
    out = timing.retime(src, factor=factor)
    naive = _naive(src, factor)
    masks_src = timing.planted_masks(src)
    masks_out = timing.planted_masks(src, source_positions(src.num_frames, src.fps,
                                                           src.fps / factor))
    assert sum(m.sum() for m in masks_src.values()) >= 5            # the feet do plant
    before = timing.planted_speed(src, masks_src)
    after = timing.planted_speed(out, masks_out)
    resampled_only = timing.planted_speed(naive, masks_out)
    print(f"{caption} x{factor:g}: planted-foot speed source {before:.3f} m/s, resampled "
          f"{resampled_only:.3f}, retimed {after:.3f}; skating ratio source {_skate(src):.3f} "
          f"resampled {_skate(naive):.3f} retimed {_skate(out):.3f}")
    assert after <= before + PLANTED_SLACK
    # Holding the feet adds no pop: the largest frame-to-frame velocity change stays close
    # to that of resampling alone.
    pops = [timing.velocity_changes(c.positions(), c.fps).max() for c in (out, naive)]
    assert pops[0] <= POP_SLACK * pops[1]
    assert after <= resampled_only
    if factor < 1:          # slower: the floor-level metric may not get worse than the source
        assert _skate(out) <= _skate(src) + SKATE_SLACK
    else:                   # faster: every speed doubles; the fix must not add to that
        assert _skate(out) <= _skate(naive) + SKATE_SLACK


def test_make_loop_closes_and_the_seam_is_smooth(clip):
    loop = timing.make_loop(clip, blend_seconds=0.3)
    n = loop.num_frames
    assert loop.fps == clip.fps and n >= 0.3 * clip.fps
    s, e = loop.meta["loop_start"], loop.meta["loop_end"]
    assert e - s == n - 1 and 0 <= s < e < clip.num_frames
    # First and last frames: the same pose (root: same height, tilt; turned by the heading).
    assert np.abs(loop.local_rotations[0, 1:] - loop.local_rotations[-1, 1:]).max() < 1e-9
    assert loop.root_translation[0, 2] == pytest.approx(loop.root_translation[-1, 2])
    up = np.array([0.0, 0.0, 1.0])
    r0, r1 = loop.local_rotations[[0, -1], 0]
    assert np.allclose(quat.inv_rotate(r0, up), quat.inv_rotate(r1, up), atol=1e-9)
    # Chained twice: the velocity jump at the seam vs the clip's own frame-to-frame changes.
    two = timing.chain(loop, 2)
    assert two.num_frames == 2 * n - 1
    jump = timing.seam_velocity_jump(two.slice(0, n), two.slice(n - 1, two.num_frames))
    p95 = float(np.percentile(timing.velocity_changes(clip.positions(), clip.fps), 95))
    raw = timing.chain(clip.slice(s, e + 1), 2)           # the same cut, not blended
    cut = timing.seam_velocity_jump(raw.slice(0, n), raw.slice(n - 1, raw.num_frames))
    print(f"{clip.meta.get('name', '')} loop {s}..{e}: seam jump {jump:.3f} m/s, source p95 "
          f"{p95:.3f} m/s (a plain cut there: {cut:.3f})")
    assert jump <= p95 and jump < cut
    # ... and nowhere in the loop (blends, held feet) is there a bigger pop than in the clip.
    inside = timing.velocity_changes(two.positions(), two.fps).max()
    assert inside <= POP_SLACK * timing.velocity_changes(clip.positions(), clip.fps).max()
    # Travel: the second cycle goes on from where the first ended (nothing jumps back).
    step = np.linalg.norm(np.diff(two.root_translation[:, :2], axis=0), axis=-1)
    assert step[n - 2: n].max() <= np.percentile(step, 99) + 1e-9


def test_loop_travel_carries_over(library):
    walk = _clip(library, "walk")
    loop = timing.make_loop(walk)
    three = timing.chain(loop, 3)
    n = loop.num_frames
    travel = loop.root_translation[-1, :2] - loop.root_translation[0, :2]
    assert np.linalg.norm(travel) > 0.5
    for k in (1, 2):        # each cycle covers the same ground (no heading drift on a walk)
        a, b = k * (n - 1), (k + 1) * (n - 1)
        d = three.root_translation[b, :2] - three.root_translation[a, :2]
        assert np.linalg.norm(d) == pytest.approx(np.linalg.norm(travel), rel=1e-9)
    # The seam sits where the chained clip's first cycle ends, continuing the same way.
    v_in = three.root_translation[n - 1, :2] - three.root_translation[n - 2, :2]
    v_out = three.root_translation[n, :2] - three.root_translation[n - 1, :2]
    assert np.dot(v_in, v_out) > 0.9 * np.linalg.norm(v_in) * np.linalg.norm(v_out)


def test_loop_cycle_length(library):
    walk = _clip(library, "walk")
    loop = timing.make_loop(walk, blend_seconds=0.2, cycle=2.0)
    assert abs((loop.num_frames - 1) / walk.fps - 2.0) <= 0.1 * 2.0 + 0.5 / walk.fps


def test_seam_metric_matches_the_clip_inside(library):
    walk = _clip(library, "walk")
    inside = timing.velocity_changes(walk.positions(), walk.fps)
    # Cutting a clip in two and playing the halves in a row: the seam is what was there.
    assert timing.seam_velocity_jump(walk.slice(0, 40), walk.slice(40, 85)) == \
        pytest.approx(max(inside[38], inside[39]))
    # A shared frame (b starts with a's last frame) is played once.
    assert timing.seam_velocity_jump(walk.slice(0, 41), walk.slice(40, 85)) == \
        pytest.approx(inside[39])


def test_bad_input(library):
    walk = _clip(library, "walk")
    before = (walk.local_rotations.copy(), walk.root_translation.copy())
    for kwargs, message in (({"factor": 0}, "positive"), ({"factor": -2}, "positive"),
                            ({"factor": float("nan")}, "positive"),
                            ({"factor": 100}, "between 0.1 and 10"),
                            ({"factor": "fast"}, "must be a number"),
                            ({}, "exactly one"), ({"factor": 2, "seconds": 1}, "exactly one"),
                            ({"seconds": 0.01}, "at least 2 frames"),
                            ({"seconds": 1000}, "between")):
        with pytest.raises(ValueError, match=message):
            timing.retime(walk, **kwargs)
    with pytest.raises(ValueError, match="at least 2"):
        timing.retime(walk.slice(0, 1), factor=2)
    with pytest.raises(ValueError, match="too short to loop"):
        timing.make_loop(walk.slice(0, 8))
    with pytest.raises(ValueError, match="too short to loop"):
        timing.make_loop(walk, blend_seconds=5.0)
    with pytest.raises(ValueError, match="zero or more"):
        timing.make_loop(walk, blend_seconds=-1)
    with pytest.raises(ValueError, match="No loop of about 10 s"):
        timing.make_loop(walk, cycle=10.0)
    with pytest.raises(ValueError, match="cycles"):
        timing.chain(timing.make_loop(walk), 0)
    assert np.array_equal(walk.local_rotations, before[0])
    assert np.array_equal(walk.root_translation, before[1])
