"""backend/motion/keyreduce.py: Blender Bezier evaluation replica and tolerance-bound key
reduction (numpy only; tests/blender/test_clean_keys.py checks against Blender itself)."""
from __future__ import annotations

import numpy as np
import pytest

from backend.motion import keyreduce, quat
from backend.motion.skeleton import CANONICAL


def _reference_bezier(p0, h0, h1, p1, x, iters=200):
    """Independent reference: bisection on x(t) (handles inside the segment), then y(t)."""
    def cubic(c, t):
        s = 1 - t
        return c[0] * s ** 3 + 3 * c[1] * t * s * s + 3 * c[2] * t * t * s + c[3] * t ** 3
    xs = (p0[0], h0[0], h1[0], p1[0])
    ys = (p0[1], h0[1], h1[1], p1[1])
    lo, hi = 0.0, 1.0
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if cubic(xs, mid) < x:
            lo = mid
        else:
            hi = mid
    return cubic(ys, 0.5 * (lo + hi))


def test_bezier_segment_matches_reference_for_uneven_handles():
    rng = np.random.default_rng(0)
    for _ in range(50):
        x0, x1 = 3.0, 3.0 + rng.uniform(1, 20)
        span = x1 - x0
        p0 = np.array([x0, rng.normal()])
        p1 = np.array([x1, rng.normal()])
        h0 = np.array([x0 + rng.uniform(0.05, 0.5) * span, rng.normal()])
        h1 = np.array([x1 - rng.uniform(0.05, 0.5) * span, rng.normal()])
        xq = rng.uniform(x0, x1, size=7)
        ours = keyreduce.bezier_segment(p0, h0, h1, p1, xq)
        ref = [_reference_bezier(p0, h0, h1, p1, x) for x in xq]
        np.testing.assert_allclose(ours, ref, atol=1e-9)


def test_overlong_handles_are_shortened_like_blender():
    """Handles reaching past the other key are scaled together (correct_bezpart): the result
    equals the segment with the shortened handles given explicitly."""
    p0, p1 = np.array([0.0, 0.0]), np.array([10.0, 1.0])
    h0, h1 = np.array([8.0, 2.0]), np.array([2.0, -1.0])        # 8 + 8 > 10: factor 10/16
    fac = 10.0 / 16.0
    h0s, h1s = p0 + fac * (h0 - p0), p1 + fac * (h1 - p1)
    xq = np.linspace(0.0, 10.0, 11)
    np.testing.assert_allclose(keyreduce.bezier_segment(p0, h0, h1, p1, xq),
                               keyreduce.bezier_segment(p0, h0s, h1s, p1, xq), atol=1e-12)


def test_evaluate_bezier_keys_extrapolation_and_thirds():
    """At keys: the key value; outside: constant; handles at thirds: the cubic Hermite."""
    frames = np.array([0.0, 4.0, 10.0])
    vals = np.array([0.0, 2.0, 1.0])
    slopes = np.array([0.5, 0.0, -0.25])
    co = np.stack([frames, vals], axis=1)[:, None, :]
    gaps = np.array([4.0, 4.0, 6.0, 6.0])
    hl = co.copy()
    hr = co.copy()
    hl[:, 0, 0] -= gaps[[0, 0, 2]] / 3
    hl[:, 0, 1] -= slopes * gaps[[0, 0, 2]] / 3
    hr[:, 0, 0] += gaps[[0, 2, 2]] / 3
    hr[:, 0, 1] += slopes * gaps[[0, 2, 2]] / 3
    x = np.array([-5.0, 0.0, 1.0, 4.0, 7.0, 10.0, 12.0])
    got = keyreduce.evaluate_bezier(co, hl, hr, x)[:, 0]

    def hermite(a, b, t):
        d = frames[b] - frames[a]
        h00, h10 = 2 * t ** 3 - 3 * t ** 2 + 1, t ** 3 - 2 * t ** 2 + t
        h01, h11 = -2 * t ** 3 + 3 * t ** 2, t ** 3 - t ** 2
        return h00 * vals[a] + h10 * d * slopes[a] + h01 * vals[b] + h11 * d * slopes[b]
    want = [0.0, 0.0, hermite(0, 1, 0.25), 2.0, hermite(1, 2, 0.5), 1.0, 1.0]
    np.testing.assert_allclose(got, want, atol=1e-6)


def _smooth_motion(T=240, seed=1):
    """A smooth synthetic 'walk-like' motion on the canonical skeleton: every joint swings
    about a random axis with a few sines, the root travels forward and bobs."""
    rng = np.random.default_rng(seed)
    J = len(CANONICAL)
    t = np.arange(T)[:, None] / 30.0
    axes = rng.normal(size=(J, 3))
    angle = np.zeros((T, J))
    for freq, amp in ((0.9, 0.3), (1.8, 0.08)):
        angle += amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6, size=J))
    rot = quat.from_axis_angle(np.broadcast_to(axes, (T, J, 3)), angle)
    loc = np.zeros((T, J, 3))
    loc[:, 0, 1] = -1.2 * t[:, 0]
    loc[:, 0, 2] = 0.03 * np.sin(2 * np.pi * 2.0 * t[:, 0])
    return quat.unroll(rot, axis=0), loc


def _errors(rot, loc, reduced, skeleton=CANONICAL):
    """Max joint position error (m, heads and tails) and max local rotation error (deg) of
    the reduced curves, evaluated by the replica on every frame, measured independently."""
    T, K = rot.shape[:2]
    vals = keyreduce.evaluate_bezier(reduced.co, reduced.handle_left, reduced.handle_right,
                                     np.arange(T, dtype=float))
    r = quat.normalize(vals[:, :4 * K].reshape(T, K, 4))
    lc = vals[:, 4 * K:].reshape(T, K, 3)
    w0, p0 = skeleton.fk(quat.normalize(rot), locations=loc)
    w1, p1 = skeleton.fk(r, locations=lc)
    t0 = p0 + quat.rotate(w0, skeleton.tails[None])
    t1 = p1 + quat.rotate(w1, skeleton.tails[None])
    pos = max(np.linalg.norm(p1 - p0, axis=-1).max(), np.linalg.norm(t1 - t0, axis=-1).max())
    dots = np.abs(np.sum(r * quat.normalize(rot), axis=-1)).clip(0, 1)
    return pos, np.degrees(2 * np.arccos(dots)).max()


@pytest.mark.parametrize("pos_tol,rot_tol,min_factor", [(0.001, 0.5, 4.5), (0.005, 2.0, 7.0)])
def test_tolerance_on_every_frame_shared_keys_and_reduction(pos_tol, rot_tol, min_factor):
    rot, loc = _smooth_motion()
    T = len(rot)
    reduced = keyreduce.reduce_keys(rot, loc, CANONICAL, position_tol=pos_tol,
                                    rotation_tol=rot_tol)
    frames = reduced.frames
    assert frames[0] == 0 and frames[-1] == T - 1
    assert np.all(np.diff(frames) > 0)
    C = 7 * len(CANONICAL)
    assert reduced.co.shape == (len(frames), C, 2)
    # One shared set of key times on every channel.
    np.testing.assert_array_equal(reduced.co[:, :, 0], np.repeat(frames[:, None], C, 1))
    pos, ang = _errors(rot, loc, reduced)
    assert pos <= pos_tol and ang <= rot_tol
    assert reduced.max_position_error == pytest.approx(pos, rel=1e-6, abs=1e-9)
    assert T / len(frames) >= min_factor, f"only {T / len(frames):.2f}x fewer keys"


def test_tighter_tolerance_keeps_more_keys_and_noise_keeps_all():
    rot, loc = _smooth_motion(T=120)
    loose = keyreduce.reduce_keys(rot, loc, CANONICAL, position_tol=0.01, rotation_tol=5.0)
    tight = keyreduce.reduce_keys(rot, loc, CANONICAL, position_tol=0.0002, rotation_tol=0.1)
    assert len(loose.frames) < len(tight.frames)
    # Frame-to-frame noise far above the tolerance: a segment with one frame inside can
    # still be fitted exactly by its two handles, two or more cannot, so every other frame
    # stays a key at least.
    rng = np.random.default_rng(3)
    noisy = quat.normalize(rot + rng.normal(scale=0.05, size=rot.shape))
    kept = keyreduce.reduce_keys(noisy, loc, CANONICAL, position_tol=0.001, rotation_tol=0.5)
    assert np.diff(kept.frames).max() <= 2
    pos, ang = _errors(noisy, loc, kept)
    assert pos <= 0.001 and ang <= 0.5


def test_rotation_only_without_skeleton_and_bone_subset():
    rot, loc = _smooth_motion(T=90)
    sub = [0, 1, 4, 7]                                    # pelvis and a leg
    reduced = keyreduce.reduce_keys(rot[:, sub], loc[:, sub], None, rotation_tol=0.5)
    assert reduced.max_position_error == 0.0 and reduced.max_rotation_error <= 0.5
    with_skel = keyreduce.reduce_keys(rot[:, sub], loc[:, sub], CANONICAL, bone_index=sub)
    assert with_skel.max_rotation_error <= 0.5 and with_skel.max_position_error <= 0.001


def test_to_frames_maps_times_and_keeps_thirds():
    rot, loc = _smooth_motion(T=60)
    reduced = keyreduce.reduce_keys(rot, loc, CANONICAL)
    co, hl, hr = reduced.to_frames(frame_start=11.0, frame_step=2.0)
    np.testing.assert_allclose(co[:, 0, 0], 11.0 + 2.0 * reduced.frames)
    gaps = np.diff(co[:, 0, 0])
    np.testing.assert_allclose(hr[:-1, 0, 0] - co[:-1, 0, 0], gaps / 3, rtol=1e-5)
    np.testing.assert_allclose(co[1:, 0, 0] - hl[1:, 0, 0], gaps / 3, rtol=1e-5)


@pytest.mark.parametrize("kwargs,match", [
    ({"position_tol": 0.0}, "positive"),
    ({"rotation_tol": -1.0}, "positive"),
])
def test_bad_input(kwargs, match):
    rot, loc = _smooth_motion(T=10)
    with pytest.raises(ValueError, match=match):
        keyreduce.reduce_keys(rot, loc, CANONICAL, **kwargs)
    with pytest.raises(ValueError, match="locations"):
        keyreduce.reduce_keys(rot, loc[:, :3], CANONICAL)
    with pytest.raises(ValueError, match="rotations"):
        keyreduce.reduce_keys(rot[..., :3], loc, CANONICAL)
    bad = rot.copy()
    bad[2, 1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        keyreduce.reduce_keys(bad, loc, CANONICAL)
    with pytest.raises(ValueError, match="bone_index"):
        keyreduce.reduce_keys(rot, loc, CANONICAL, bone_index=np.arange(len(CANONICAL)) + 1)
