"""HumanML3D 263-dim features: layout, recovery, the forward direction and clip conversion.

Fixtures: /work/shared/data/humanml3d-format (clip 012314 from the HumanML3D repository;
override with ANIMA_HUMANML3D_FIXTURES). Tests that need them are skipped when it is missing.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from backend.motion import axes, quat
from backend.motion import humanml3d as H
from backend.motion.clip import Clip
from backend.motion.skeleton import CANONICAL, CANONICAL_PARENTS, Skeleton

FIXTURES = Path(os.environ.get("ANIMA_HUMANML3D_FIXTURES", "/work/shared/data/humanml3d-format"))
CLIP_ID = "012314"
needs_fixtures = pytest.mark.skipif(
    not (FIXTURES / "new_joint_vecs" / f"{CLIP_ID}.npy").is_file(),
    reason=f"HumanML3D format fixtures not found in {FIXTURES} (set ANIMA_HUMANML3D_FIXTURES)")


@pytest.fixture(scope="module")
def feats():
    return np.load(FIXTURES / "new_joint_vecs" / f"{CLIP_ID}.npy").astype(np.float64)


@pytest.fixture(scope="module")
def joints():
    return np.load(FIXTURES / "new_joints" / f"{CLIP_ID}.npy").astype(np.float64)


@pytest.fixture(scope="module")
def joints_full(feats, joints):
    """The clip's T+1 source frames: the fixture lacks the last one (the features drop it), but
    LOCAL_VEL of the last row says where every joint went."""
    heading, _ = H.recover_root(feats)
    last = joints[-1] + quat.inv_rotate(heading[-1], feats[-1, H.LOCAL_VEL].reshape(22, 3))
    return np.concatenate([joints, last[None]])


def _block_errors(a, b):
    return {name: float(np.abs(a[:, s] - b[:, s]).max()) for name, s in H.BLOCKS.items()}


def _bone_dirs(p):
    d = p[..., 1:, :] - p[..., CANONICAL_PARENTS[1:], :]
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


# ----------------------------------------------------------------------------- layout
def test_layout_adds_up():
    sizes = {name: s.stop - s.start for name, s in H.BLOCKS.items()}
    assert sizes == {"ROOT_ROT_VEL": 1, "ROOT_LIN_VEL": 2, "ROOT_HEIGHT": 1, "RIC": 63,
                     "ROT6D": 126, "LOCAL_VEL": 66, "FOOT_CONTACT": 4}
    assert sum(sizes.values()) == H.FEATURE_DIM == 263
    order = list(H.BLOCKS.values())
    assert order[0].start == 0 and order[-1].stop == H.FEATURE_DIM
    for a, b in zip(order[:-1], order[1:]):
        assert a.stop == b.start
    assert (H.RIC.start, H.ROT6D.start, H.LOCAL_VEL.start, H.FOOT_CONTACT.start) == (4, 67, 193, 259)
    assert H.RIC.stop - H.RIC.start == (H.NUM_JOINTS - 1) * 3
    assert H.FEET_THRESHOLD == 0.002 and H.FPS == 20.0


@needs_fixtures
def test_std_is_constant_per_block():
    _, std = H.load_mean_std(FIXTURES)
    for name, s in H.BLOCKS.items():
        if name == "ROOT_ROT_VEL" or s.stop - s.start == 1:
            continue
        assert np.ptp(std[s]) < 1e-6, name


# ---------------------------------------------------------------------------- recovery
@needs_fixtures
def test_recover_joints_matches_new_joints(feats, joints):
    rec = H.recover_joints(feats)
    assert rec.shape == joints.shape == (170, 22, 3)
    assert np.abs(rec - joints).max() < 1e-5   # measured 2.1e-7 (float32 fixture)


@needs_fixtures
def test_recover_batched_and_float32(feats, joints):
    batch = np.stack([feats, feats[::-1].copy()]).astype(np.float32)
    rec = H.recover_joints(batch)
    assert rec.shape == (2, 170, 22, 3)
    assert np.abs(rec[0] - joints).max() < 1e-5


@needs_fixtures
def test_recover_root(feats, joints):
    heading, root = H.recover_root(feats)
    assert heading.shape == (170, 4) and root.shape == (170, 3)
    np.testing.assert_allclose(heading[0], [1, 0, 0, 0])
    np.testing.assert_allclose(heading[:, [1, 3]], 0.0)          # pure yaw
    np.testing.assert_allclose(np.linalg.norm(heading, axis=-1), 1.0)
    np.testing.assert_allclose(root[0, [0, 2]], 0.0)
    np.testing.assert_allclose(root[:, 1], feats[:, 3])
    assert np.abs(root - joints[:, 0]).max() < 1e-5


def test_recover_rejects_bad_shapes():
    with pytest.raises(ValueError):
        H.recover_joints(np.zeros((10, 262)))
    with pytest.raises(ValueError):
        H.recover_joints(np.zeros(263))


# --------------------------------------------------------------------- forward direction
@needs_fixtures
def test_features_from_joints_reproduces_dataset(feats, joints_full):
    ours = H.features_from_joints(joints_full)
    assert ours.shape == feats.shape
    err = _block_errors(ours, feats)
    # Measured: all blocks <= 4e-7 except ROT6D 7.8e-6; the fixture is float32.
    for name, e in err.items():
        assert e < (1e-4 if name == "ROT6D" else 1e-5), (name, err)
    assert err["FOOT_CONTACT"] == 0.0


@needs_fixtures
def test_features_from_170_frames(feats, joints):
    """Without the missing last frame only the heading smoothing near the end differs."""
    ours = H.features_from_joints(joints)
    assert ours.shape == (169, 263)
    err = _block_errors(ours, feats[:169])
    assert err["ROOT_HEIGHT"] < 1e-6 and err["FOOT_CONTACT"] == 0.0
    assert err["ROOT_ROT_VEL"] < 1e-3
    early = _block_errors(ours[:60], feats[:60])   # beyond the smoothing window's reach
    for name, e in early.items():
        assert e < 1e-4, (name, early)
    np.testing.assert_allclose(H.recover_joints(ours), joints[:-1], atol=1e-5)


@needs_fixtures
def test_normalize_joints_places_clip(joints):
    q = quat.from_axis_angle([0, 1, 0], 2.1)
    moved = quat.rotate(q, joints) + np.array([3.0, 0.7, -1.5])
    placed = H.normalize_joints(moved)
    assert abs(placed[..., 1].min()) < 1e-12
    np.testing.assert_allclose(placed[0, 0, [0, 2]], 0.0, atol=1e-12)
    np.testing.assert_allclose(placed, joints, atol=1e-5)   # the fixture is already placed


@needs_fixtures
def test_round_trip_any_placement(joints):
    q = quat.from_axis_angle([0, 1, 0], -0.8)
    moved = quat.rotate(q, joints) + np.array([-2.0, 0.3, 4.0])
    rec = H.recover_joints(H.features_from_joints(moved))
    np.testing.assert_allclose(rec, H.normalize_joints(moved)[:-1], atol=1e-6)


@needs_fixtures
def test_round_trip_turning_past_180_degrees(joints):
    """A clip that spins 1.5 turns: the heading wraps past 180 degrees from the start."""
    n = len(joints)
    angles = np.linspace(0.0, 3 * np.pi, n)
    q = quat.from_axis_angle(np.array([0.0, 1.0, 0.0]), angles)[:, None]
    root = joints[:, :1] * np.array([1, 0, 1])
    spun = quat.rotate(q, joints - root) + root
    f = H.features_from_joints(spun)
    np.testing.assert_allclose(H.recover_joints(f), H.normalize_joints(spun)[:-1], atol=1e-6)
    assert np.abs(f[:, 0]).max() < 0.2   # no fake near-180-degree jumps


@needs_fixtures
def test_rest_directions_only_change_rot6d(joints_full):
    a = H.features_from_joints(joints_full)
    b = H.features_from_joints(joints_full, rest_directions="canonical")
    mask = np.ones(H.FEATURE_DIM, bool)
    mask[H.ROT6D] = False
    np.testing.assert_array_equal(a[:, mask], b[:, mask])
    assert np.abs(a[:, H.ROT6D] - b[:, H.ROT6D]).max() > 0.1
    for rest, f in (("humanml3d", a), ("canonical", b)):
        dirs = H.bone_directions_from_rot6d(f, rest)[:, 1:]
        np.testing.assert_allclose(dirs, _bone_dirs(joints_full[:-1]), atol=1e-6)


@needs_fixtures
def test_rot6d_decodes_to_bone_directions(feats, joints):
    dirs = H.bone_directions_from_rot6d(feats)[:, 1:]
    assert np.abs(dirs - _bone_dirs(joints)).max() < 1e-3   # measured ~1e-5


def test_canonical_rest_directions():
    d = H.canonical_rest_directions()
    assert d.shape == (22, 3)
    np.testing.assert_allclose(np.linalg.norm(d[1:], axis=-1), 1.0)
    # Blender (x, y, z) is Y-up (x, z, -y): left is +X, forward +Z. Each direction is the
    # canonical bone from the parent joint to the joint.
    from backend.motion.skeleton import CANONICAL
    _, rest = CANONICAL.rest_world()
    for j in (1, 3, 10, 18):
        v = rest[j] - rest[CANONICAL.parents[j]]
        v = np.array([v[0], v[2], -v[1]])
        np.testing.assert_allclose(d[j], v / np.linalg.norm(v), atol=1e-12)
    np.testing.assert_allclose(d[18], [1.0, 0.0, 0.0], atol=1e-12)   # left upper arm: +X
    assert d[10][2] > 0.5 and d[1][0] > 0.5   # left foot points forward, left hip to the left


def test_features_from_joints_validates():
    with pytest.raises(ValueError):
        H.features_from_joints(np.zeros((1, 22, 3)))
    with pytest.raises(ValueError):
        H.features_from_joints(np.zeros((5, 21, 3)))
    bad = np.zeros((5, 22, 3))
    bad[2, 3, 1] = np.nan
    with pytest.raises(ValueError):
        H.features_from_joints(bad)
    with pytest.raises(ValueError):
        H.features_from_joints(np.random.default_rng(0).normal(size=(5, 22, 3)),
                               rest_directions="tpose")


# --------------------------------------------------------------------------- clips
@needs_fixtures
@pytest.mark.parametrize("rotations", ["ik", "rot6d"])
def test_features_to_clip_canonical(feats, rotations):
    clip = H.features_to_clip(feats, rotations=rotations)
    assert isinstance(clip, Clip)
    assert clip.num_frames == 170 and clip.fps == 20.0
    assert clip.skeleton.names == CANONICAL.names
    assert clip.meta["source"] == "humanml3d"
    ric = axes.y_up_to_blender_points(H.recover_joints(feats))
    pos = clip.positions()
    np.testing.assert_allclose(pos[:, 0], ric[:, 0], atol=1e-12)      # root from RIC
    err = np.linalg.norm(pos - ric, axis=-1)
    # The fixture is an SMPL body; the canonical skeleton has the default character's
    # proportions (hip joints 2.4 cm below the pelvis instead of ~8 cm), so FK positions on it
    # cannot match the data exactly. Measured: max 0.151 m, mean ~0.08 m.
    assert err.max() < 0.2 and err.mean() < 0.1
    # Bones whose parent has a single child point exactly where RIC says.
    single = [j for j in range(1, 22) if len(CANONICAL.children(CANONICAL_PARENTS[j])) == 1]
    got, want = _bone_dirs(pos), _bone_dirs(ric)
    tol = 1e-6 if rotations == "ik" else 1e-3
    assert np.abs(got[:, np.array(single) - 1] - want[:, np.array(single) - 1]).max() < tol
    # Z up in Blender: the pelvis stays well above the floor.
    assert pos[:, 0, 2].min() > 0.5
    dots = np.abs(np.sum(clip.local_rotations[1:] * clip.local_rotations[:-1], axis=-1))
    assert dots.min() > 0.5   # continuous, no sign flips


@needs_fixtures
def test_features_to_clip_exact_on_matching_skeleton(feats):
    """On a skeleton with the data's own rest geometry FK lands on RIC exactly."""
    ric = axes.y_up_to_blender_points(H.recover_joints(feats))
    offsets = ric[0].copy()
    offsets[1:] = ric[0, 1:] - ric[0, CANONICAL_PARENTS[1:]]
    skel = Skeleton(CANONICAL.names, CANONICAL.parents, offsets)
    for rotations in ("ik", "rot6d"):
        clip = H.features_to_clip(feats, skeleton=skel, rotations=rotations)
        assert np.abs(clip.positions() - ric).max() < 1e-4   # measured 1.8e-6
    back = H.clip_to_features(H.features_to_clip(feats, skeleton=skel))
    assert back.shape == (169, 263)
    np.testing.assert_allclose(H.recover_joints(back), H.recover_joints(feats)[:-1], atol=1e-5)


@needs_fixtures
def test_clip_to_features_matches_positions(feats):
    clip = H.features_to_clip(feats)
    f = H.clip_to_features(clip)
    assert f.shape == (169, 263)
    y_up = axes.blender_to_y_up_points(clip.positions())
    np.testing.assert_allclose(H.recover_joints(f), H.normalize_joints(y_up)[:-1], atol=1e-6)


def test_clip_to_features_needs_canonical_topology():
    skel = Skeleton(["a", "b"], [-1, 0], [[0, 0, 1], [0, 0, 0.5]])
    clip = Clip(quat.identity((3, 2)), np.zeros((3, 3)), 20.0, skel)
    with pytest.raises(ValueError, match="canonical"):
        H.clip_to_features(clip)


def test_t_pose_clip_round_trip():
    """A standing T-pose walking forward (-Y in Blender) comes back walking forward."""
    T = 30
    rots = quat.identity((T, 22))
    root = np.zeros((T, 3))
    root[:, 1] = -0.05 * np.arange(T)     # Blender forward is -Y
    root[:, 2] = 0.95
    clip = Clip(rots, root, 20.0)
    f = H.clip_to_features(clip)
    np.testing.assert_allclose(f[:, H.ROOT_ROT_VEL], 0.0, atol=1e-9)
    np.testing.assert_allclose(f[:, H.ROOT_LIN_VEL], [[0.0, 0.05]] * (T - 1), atol=1e-9)
    # HumanML3D puts the lowest joint (the balls of the feet) on the floor.
    lowest = float(clip.positions()[0, :, 2].min())
    np.testing.assert_allclose(f[:, H.ROOT_HEIGHT], 0.95 - lowest, atol=1e-9)
    back = H.features_to_clip(f)
    pos, want = back.positions(), clip.positions()[:-1]
    want = want - want[:1, :1] * np.array([1, 1, 0]) - np.array([0, 0, lowest])
    np.testing.assert_allclose(pos, want, atol=1e-6)
    np.testing.assert_allclose(
        np.abs(np.sum(back.local_rotations * quat.identity((1, 22)), -1)), 1.0, atol=1e-6)


# ------------------------------------------------------------------------ normalisation
@needs_fixtures
def test_normalize_round_trip(feats):
    mean, std = H.load_mean_std(FIXTURES)
    assert mean.shape == std.shape == (263,)
    z = H.normalize(feats, mean, std)
    assert np.abs(z.mean()) < 1.0 and np.all(np.isfinite(z))
    np.testing.assert_allclose(H.denormalize(z, mean, std), feats, atol=1e-9)
    np.testing.assert_allclose(H.denormalize(H.normalize(feats, mean, std, 1e-6), mean, std, 1e-6),
                               feats, atol=1e-9)


def test_load_mean_std_missing(tmp_path):
    with pytest.raises(FileNotFoundError):
        H.load_mean_std(tmp_path)
