"""Foot clean-up of generated features (backend.motion.cleanup) on real CMU walks from the
shipped library: real motion is left (nearly) alone, a root that drifts under planted feet
(the typical error of a generator) is corrected, the floor is found, rows are kept."""
from __future__ import annotations

import numpy as np
import pytest

from backend.data.library import DEFAULT_LIBRARY, MotionLibrary
from backend.eval import metrics as M
from backend.motion import cleanup as C
from backend.motion import humanml3d as H
from backend.motion.resample import resample


@pytest.fixture(scope="module")
def walks() -> list[np.ndarray]:
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    out = []
    for i, e in enumerate(lib.entries):
        if any("walk" in c.lower() for c in e.captions) and e.length / e.fps >= 3:
            clip = resample(lib.clip(i), 20.0)
            out.append(H.clip_to_features(clip).astype(np.float32)[:200])
        if len(out) == 6:
            break
    assert len(out) == 6
    return out


def _drift(features: np.ndarray, speed: float) -> np.ndarray:
    """The same pose, with the root sliding sideways at `speed` m/s on top of its motion."""
    f = features.copy()
    f[:, H.ROOT_LIN_VEL.start] += speed / 20.0          # local x velocity, m per row
    return f


def test_real_motion_is_left_nearly_alone(walks):
    drift = []                    # m/s: how far the pelvis ends up from where it was
    for f in walks:
        out = C.clean_features(f)
        assert out.shape == f.shape and out.dtype == np.float32
        a, b = H.recover_joints(f), H.recover_joints(out)
        drift.append(np.linalg.norm(a[-1, 0] - b[-1, 0]) / (len(f) / 20.0))
    # pinning removes the mocap's own slides (CMU walks slide a little): centimetres a second
    assert np.median(drift) < 0.03 and max(drift) < 0.12, drift
    raw, clean = M.physical_metrics(walks, 20.0), M.physical_metrics(
        [C.clean_features(f) for f in walks], 20.0)
    assert clean["skate"] <= 1.05 * raw["skate"]
    assert clean["jerk"] < 1.1 * raw["jerk"]


def test_a_drifting_root_is_pinned_back(walks):
    drifted = [_drift(f, 0.6) for f in walks]
    before = M.physical_metrics(drifted, 20.0)
    after = M.physical_metrics([C.clean_features(f) for f in drifted], 20.0)
    real = M.physical_metrics(walks, 20.0)
    assert before["skate"] > 2 * real["skate"]
    assert after["skate"] <= real["skate"] * 1.1, (before, after, real)


def test_feet_locked_by_leg_ik_keep_bone_lengths(walks):
    """A generator's legs often slide against each other (no single root shift fixes both
    feet): shift one leg's foot back and forth under the body; the lock holds it, and thigh
    and shin keep their lengths."""
    for f in walks[:3]:
        j = C.ground(H.recover_joints(f))
        wobble = 0.04 * np.sin(np.arange(len(j)) * 0.9)          # 4 cm, ~3 Hz
        w = C.contact_weights(f, j)
        k = j.copy()
        k[:, [7, 10], 0] += wobble[:, None]                       # left ankle + toe
        out = C.lock_feet(k, w)
        for a, b in ((1, 4), (4, 7), (2, 5), (5, 8)):
            before = np.linalg.norm(k[:, a] - k[:, b], axis=-1)
            after = np.linalg.norm(out[:, a] - out[:, b], axis=-1)
            if (a, b) == (4, 7):         # the shifted shin was stretched; IK restores thigh
                continue
            np.testing.assert_allclose(after, before, atol=2e-3)
        planted = w[:, :2].max(1) > C.CONTACT_ON
        toe_speed = np.linalg.norm(np.diff(out[:, 10][:, [0, 2]], axis=0), axis=-1) * 20
        wob_speed = np.linalg.norm(np.diff(k[:, 10][:, [0, 2]], axis=0), axis=-1) * 20
        both = planted[1:] & planted[:-1]
        assert both.sum() > 5 and toe_speed[both].mean() < 0.5 * wob_speed[both].mean()


def test_the_floor_is_found():
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    f = H.clip_to_features(resample(lib.clip(0), 20.0)).astype(np.float32)
    for dy in (-0.2, 0.3):
        g = f.copy()
        g[:, H.ROOT_HEIGHT] += dy
        g[:, H.RIC.start + 1:H.RIC.stop:3] += dy              # every joint's height
        low = np.percentile(H.recover_joints(C.clean_features(g))[:, :, 1].min(1), 20)
        assert C.GROUND_BAND[0] - 0.005 <= low <= C.GROUND_BAND[1] + 0.005  # (+ leg IK)


def test_bad_input():
    with pytest.raises(ValueError, match="shape"):
        C.clean_features(np.zeros((10, 5)))
    with pytest.raises(ValueError, match="NaN"):
        C.clean_features(np.full((10, H.FEATURE_DIM), np.nan))
    short = np.zeros((2, H.FEATURE_DIM), np.float32)
    assert C.clean_features(short).shape == (2, H.FEATURE_DIM)


def test_velocity_fusion_keeps_consistent_motion_and_removes_position_noise(walks):
    f = walks[0]
    exact = H.recover_joints(f)
    np.testing.assert_allclose(C.fuse_velocities(f), exact, atol=0.02)   # blocks agree
    noisy = f.copy()
    rng = np.random.default_rng(0)
    noisy[:, H.RIC] += rng.normal(scale=0.02, size=noisy[:, H.RIC].shape)  # 2 cm jitter
    err_noisy = np.abs(H.recover_joints(noisy) - exact)[:, 1:].mean()
    err_fused = np.abs(C.fuse_velocities(noisy) - exact)[:, 1:].mean()
    assert err_fused < 0.5 * err_noisy


def test_the_lock_adds_little_jerk_and_holds_the_middle_of_a_contact(walks):
    """A generated foot drifts while planted; holding it still must not make the leg jerk
    where the hold starts and ends (the old linear, unfiltered lock raised the knees' jerk on
    generated clips from 81 to 138 m/s^3). The middle of each contact is held exactly."""
    ratios = []
    for f in walks[:4]:
        j = C.ground(H.recover_joints(f))
        w = C.contact_weights(f, j)
        k = j.copy()
        k[:, [7, 10], 0] += 0.03 * np.sin(np.arange(len(j)) * 0.9)[:, None]  # left foot drifts
        out = C.lock_feet(k, w)
        jerk = lambda p: M.jerk(p[:, [4, 7]], 20.0)                          # left knee, ankle
        ratios.append(jerk(out) / jerk(k))
        on = w[:, :2].max(1) > C.CONTACT_ON
        for a, b in C._segments(on):
            middle = out[a + C.LOCK_EXACT_INSET:b - C.LOCK_EXACT_INSET, 10][:, [0, 2]]
            if len(middle):
                assert np.abs(middle - middle.mean(0)).max() < 0.005     # (reach clamp)
    assert np.mean(ratios) < 1.03, ratios       # the old lock: 1.10


def test_a_knee_bent_backwards_is_put_in_front_and_real_knees_are_left_alone(walks):
    """Generated motion bends a knee backwards now and then (a bow, an angry walk backwards:
    20 % of 40 clips past 10 degrees); knees_forward reflects such a knee to the front of
    its hip-ankle line, keeping the hip, the ankle and both bone lengths."""
    for f in walks:
        j = H.recover_joints(f.astype(np.float64))
        np.testing.assert_allclose(C.knees_forward(j), j, atol=0.02)   # real walks: in front
    j = H.recover_joints(walks[0].astype(np.float64))
    (hip, knee, ankle, _toe), _ = C.LEGS[0]
    lateral = j[:, C.LEGS[1][0][0]] - j[:, hip]
    forward = np.cross([0.0, 1.0, 0.0], lateral)
    forward /= np.linalg.norm(forward, axis=1, keepdims=True)
    bent = j.copy()
    # the left knee put 8 cm behind the middle of its hip-ankle line (bone lengths then
    # differ from the walk's: compare with the bent pose's own)
    bent[:, knee] = (j[:, hip] + j[:, ankle]) / 2 - 0.08 * forward
    out = C.knees_forward(bent)
    for a, b in ((hip, knee), (knee, ankle)):
        np.testing.assert_allclose(np.linalg.norm(out[:, a] - out[:, b], axis=1),
                                   np.linalg.norm(bent[:, a] - bent[:, b], axis=1), atol=1e-9)
    np.testing.assert_array_equal(out[:, [hip, ankle]], bent[:, [hip, ankle]])
    mid = (out[:, hip] + out[:, ankle]) / 2
    assert ((out[:, knee] - mid) * forward).sum(1).mean() > 0.03          # now in front
    assert ((bent[:, knee] - mid) * forward).sum(1).mean() < 0
