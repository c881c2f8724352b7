"""Frame-rate conversion of clips (backend/motion/resample.py)."""
from __future__ import annotations

import numpy as np
import pytest

from backend.motion import quat
from backend.motion.clip import Clip
from backend.motion.resample import (resample, resample_arrays, resampled_frame_count,
                                     source_positions)


def smooth_motion(T, fps, J=22, seed=0):
    """Smooth random motion: per-joint axis-angle sinusoids, root on a curve (t in seconds)."""
    rng = np.random.default_rng(seed)
    t = np.arange(T) / fps
    amp = rng.uniform(0.2, 1.0, (J, 3))
    freq = rng.uniform(0.2, 1.0, (J, 3))
    phase = rng.uniform(0, 2 * np.pi, (J, 3))
    aa = amp * np.sin(2 * np.pi * freq * t[:, None, None] + phase)     # (T, J, 3)
    angle = np.linalg.norm(aa, axis=-1)
    rots = quat.from_axis_angle(aa, angle)
    root = np.stack([np.sin(t), 0.3 * t, 0.9 + 0.05 * np.cos(3 * t)], axis=-1)
    return rots, root


def same_rotation(a, b, atol):
    """|dot| == 1: the same rotation, whatever the quaternion signs."""
    dot = np.abs(np.sum(quat.normalize(a) * quat.normalize(b), axis=-1))
    return np.all(dot > 1 - atol)


def angle_between(a, b):
    """Rotation angle from a to b (radians, 0..pi), precise near zero."""
    d = quat.inv_mul(quat.normalize(a), quat.normalize(b))
    return 2 * np.arctan2(np.linalg.norm(d[..., 1:], axis=-1), np.abs(d[..., 0]))


# ------------------------------------------------------------------------ frame counts
@pytest.mark.parametrize("T, src, dst, expected", [
    (121, 120, 30, 31), (31, 30, 24, 25), (21, 20, 60, 61), (1, 30, 60, 1), (30, 30, 60, 59),
    (59, 60, 30, 30), (100, 30, 24, 80), (2, 120, 1, 1), (10, 24, 24, 10),
])
def test_frame_count_rule(T, src, dst, expected):
    assert resampled_frame_count(T, src, dst) == expected
    rots, root = smooth_motion(T, src)
    r, p = resample_arrays(rots, root, src, dst)
    assert r.shape == (expected, 22, 4) and p.shape == (expected, 3)


def test_source_positions_cover_the_span():
    s = source_positions(100, 30, 24)
    assert s[0] == 0.0 and s[-1] == 99.0
    np.testing.assert_allclose(np.diff(s), 99 / 79)
    np.testing.assert_array_equal(source_positions(121, 120, 30), np.arange(0, 121, 4))


# --------------------------------------------------------------------------- behaviour
def test_identity_at_same_fps():
    rots, root = smooth_motion(40, 30)
    rots[5] *= -1
    r, p = resample_arrays(rots, root, 30, 30.0)
    np.testing.assert_array_equal(r, rots)
    np.testing.assert_array_equal(p, root)
    assert r is not rots


@pytest.mark.parametrize("src, dst", [(120, 30), (30, 24), (20, 60), (24, 30), (30, 7.3)])
def test_exact_endpoints(src, dst):
    rots, root = smooth_motion(50, src)
    r, p = resample_arrays(rots, root, src, dst)
    assert same_rotation(r[0], rots[0], 1e-12) and same_rotation(r[-1], rots[-1], 1e-12)
    np.testing.assert_array_equal(p[0], root[0])
    np.testing.assert_array_equal(p[-1], root[-1])


def test_downsample_whole_ratio_picks_frames():
    rots, root = smooth_motion(121, 120)
    r, p = resample_arrays(rots, root, 120, 30)
    assert same_rotation(r, rots[::4], 1e-12)
    np.testing.assert_array_equal(p, root[::4])


@pytest.mark.parametrize("src, mid", [(30, 60), (30, 24), (60, 25), (20, 60), (120, 30)])
def test_round_trip_recovers_frames(src, mid):
    T = 121 if src == 120 else 61
    rots, root = smooth_motion(T, src)
    r, p = resample_arrays(*resample_arrays(rots, root, src, mid), mid, src)
    assert r.shape == rots.shape
    if mid % src == 0:        # up by a whole ratio and back: the very same frames
        tol_angle, tol_pos = 1e-9, 1e-9
    else:                     # frames dropped or moved come back interpolated, only close
        tol_angle, tol_pos = 0.05, 0.01
    assert angle_between(r, rots).max() < tol_angle
    assert np.abs(p - root).max() < tol_pos


def test_resampled_matches_analytic_motion():
    rots30, root30 = smooth_motion(91, 30)           # 3 s
    rots24, root24 = smooth_motion(73, 24)           # the same 3 s at 24 fps
    r, p = resample_arrays(rots30, root30, 30, 24)
    assert r.shape[0] == 73
    assert angle_between(r, rots24).max() < 0.01
    assert np.abs(p - root24).max() < 1e-3


def test_constant_velocity_rotation_stays_constant():
    axis = quat.normalize(np.array([0.3, 1.0, -0.2]))
    omega = 2.5                                          # rad/s, > 2 turns over the clip
    src, dst = 30, 24
    for T in (166, 169):   # 5.5 s span (132 frames at 24 fps) and 5.6 s (stretched)
        t = np.arange(T) / src
        rots = quat.from_axis_angle(axis, omega * t)[:, None]
        r, _ = resample_arrays(rots, np.zeros((T, 3)), src, dst)
        step = omega * (T - 1) / src / (len(r) - 1)       # = omega / dst when not stretched
        np.testing.assert_allclose(angle_between(r[1:, 0], r[:-1, 0]), step, atol=1e-9)
        want = quat.from_axis_angle(axis, step * np.arange(len(r)))
        assert angle_between(r[:, 0], want).max() < 1e-9
        if T == 166:
            assert step == pytest.approx(omega / dst)


def test_sign_flips_do_not_spin():
    rots, root = smooth_motion(60, 30, seed=3)
    flipped = rots.copy()
    mask = np.random.default_rng(1).random(rots.shape[:2]) < 0.5
    flipped[mask] *= -1
    for dst in (24, 60, 7):
        a, _ = resample_arrays(rots, root, 30, dst)
        b, _ = resample_arrays(flipped, root, 30, dst)
        assert same_rotation(a, b, 1e-12)
        # Output is sign-continuous and never turns faster than the source does.
        assert np.all(np.sum(b[1:] * b[:-1], axis=-1) > 0)
        src_step = angle_between(rots[1:], rots[:-1]).max()
        assert angle_between(b[1:], b[:-1]).max() <= src_step * 30 / dst * 1.2


def test_linear_root_translation():
    T = 31
    root = np.outer(np.arange(T), [0.1, -0.2, 0.0]) + [1.0, 2.0, 0.9]
    _, p = resample_arrays(quat.identity((T, 3)), root, 30, 24)
    np.testing.assert_allclose(np.diff(p, axis=0), [[0.125, -0.25, 0.0]] * (len(p) - 1),
                               atol=1e-12)


def test_one_frame_clip():
    rots, root = smooth_motion(1, 30)
    for dst in (24, 60, 120):
        r, p = resample_arrays(rots, root, 30, dst)
        assert r.shape == (1, 22, 4)
        np.testing.assert_array_equal(p, root)


@pytest.mark.parametrize("bad", [0, -30, float("nan"), float("inf"), "fast", None])
def test_bad_fps_raises(bad):
    rots, root = smooth_motion(5, 30)
    with pytest.raises(ValueError):
        resample_arrays(rots, root, 30, bad)
    with pytest.raises(ValueError):
        resample_arrays(rots, root, bad, 30)


def test_bad_shapes_raise():
    with pytest.raises(ValueError):
        resample_arrays(np.zeros((5, 22, 3)), np.zeros((5, 3)), 30, 24)
    with pytest.raises(ValueError):
        resample_arrays(quat.identity((5, 22)), np.zeros((4, 3)), 30, 24)


# -------------------------------------------------------------------------------- Clip
def test_resample_clip():
    rots, root = smooth_motion(121, 120)
    clip = Clip(rots, root, 120.0, meta={"caption": "wave"})
    out = resample(clip, 30)
    assert out.fps == 30.0 and out.num_frames == 31
    assert out.skeleton.names == clip.skeleton.names
    assert out.meta == {"caption": "wave"} and out.meta is not clip.meta
    np.testing.assert_allclose(out.positions(), clip.positions()[::4], atol=1e-9)
    with pytest.raises(ValueError):
        resample(clip, 0)


def test_catmull_rom_goes_through_its_keys_on_any_shape():
    """The motion core's spline (camera paths, a style layer's re-timing): exact at the keys,
    smooth between them, for points of any trailing shape."""
    from backend.motion.resample import catmull_rom
    t = np.arange(6, dtype=float)
    pts = np.random.default_rng(0).normal(size=(6, 22, 3))
    np.testing.assert_allclose(catmull_rom(t, pts, t), pts, atol=1e-12)
    line = np.stack([t, 2 * t, -t], 1)                 # a straight line stays one
    s = np.linspace(0, 5, 41)
    np.testing.assert_allclose(catmull_rom(t, line, s), np.stack([s, 2 * s, -s], 1),
                               atol=1e-12)
    assert catmull_rom(t, pts, s).shape == (41, 22, 3)
