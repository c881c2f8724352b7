"""AMASS / SMPL-X motion files (backend/motion/amass.py) on synthetic files in the AMASS layout."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from backend.motion import amass, quat
from backend.motion.clip import Clip
from backend.motion.normalize import ground
from backend.motion.skeleton import CANONICAL, CANONICAL_NAMES, CANONICAL_PARENTS

_spec = importlib.util.spec_from_file_location(
    "smplx_synthetic", Path(__file__).resolve().parent / "smplx_synthetic.py")
syn = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(syn)


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def _amass_file(tmp_path, frames=60, joints=52, seed=0, name="clip.npz", **extra):
    poses, trans = syn.random_amass_poses(frames, seed, joints)
    arrays = dict(poses=poses, trans=trans, mocap_framerate=np.array(120.0),
                  betas=np.zeros(16), gender=np.array("female"))
    arrays.update(extra)
    return _write(tmp_path / name, **{k: v for k, v in arrays.items() if v is not None})


def _rodrigues(aa):
    """Independent axis-angle -> matrix (..., 3, 3)."""
    theta = np.linalg.norm(aa, axis=-1, keepdims=True)[..., None]
    k = aa / np.maximum(np.linalg.norm(aa, axis=-1, keepdims=True), 1e-12)
    K = np.zeros(aa.shape[:-1] + (3, 3))
    K[..., 0, 1], K[..., 0, 2], K[..., 1, 2] = -k[..., 2], k[..., 1], -k[..., 0]
    K = K - np.swapaxes(K, -1, -2)
    return np.eye(3) + np.sin(theta) * K + (1 - np.cos(theta)) * K @ K


def _smpl_world(poses, trans, rest):
    """SMPL-style FK written from the model's definition: world joint positions (T, 22, 3)
    and rotations (T, 22, 3, 3) in the capture world; pelvis at trans + J0."""
    R = _rodrigues(poses[:, :66].reshape(-1, 22, 3))
    T = len(poses)
    G = np.zeros((T, 22, 3, 3))
    P = np.zeros((T, 22, 3))
    for j in range(22):
        p = CANONICAL_PARENTS[j]
        if p < 0:
            G[:, j], P[:, j] = R[:, j], trans + rest[0]
        else:
            G[:, j] = G[:, p] @ R[:, j]
            P[:, j] = P[:, p] + np.einsum("tij,j->ti", G[:, p], rest[j] - rest[p])
    return P, G


# ----------------------------------------------------------------------------- axes
def test_upright_zero_pose_is_the_canonical_rest_facing_minus_y(tmp_path):
    poses = np.zeros((3, 165))
    poses[:, 0] = np.pi / 2                               # model Y-up -> world Z-up
    path = _write(tmp_path / "stand.npz", poses=poses, trans=np.tile([0.3, 0.2, 0.9], (3, 1)),
                  mocap_frame_rate=np.array(30.0), gender=np.array("neutral"))
    clip = amass.load_amass(path)
    assert clip.skeleton.names == CANONICAL_NAMES and clip.fps == 30.0
    np.testing.assert_allclose(quat.abs_w(clip.local_rotations), quat.identity((3, 22)),
                               atol=1e-9)
    pos = clip.positions()[0]
    rest = CANONICAL.rest_world()[1]
    np.testing.assert_allclose(pos - pos[0], rest - rest[0], atol=1e-9)
    assert abs(pos[:, 2].min() - rest[:, 2].min()) < 1e-6          # grounded like the rest


def test_turned_body_faces_where_root_orient_says(tmp_path):
    turn = quat.from_axis_angle(np.array([0, 0, 1.0]), np.array(np.pi / 2))
    up = quat.from_axis_angle(np.array([1.0, 0, 0]), np.array(np.pi / 2))
    axis, angle = quat.to_axis_angle(quat.mul(turn, up))
    poses = np.zeros((2, 156))
    poses[:, :3] = axis * angle
    path = _write(tmp_path / "turn.npz", poses=poses, trans=np.zeros((2, 3)),
                  mocap_framerate=np.array(60.0))
    pos = amass.load_amass(path).positions()[0]
    left = pos[CANONICAL_NAMES.index("left_hip")] - pos[CANONICAL_NAMES.index("right_hip")]
    toes = pos[CANONICAL_NAMES.index("left_foot")] - pos[CANONICAL_NAMES.index("left_ankle")]
    # Facing -Y turned +90 deg about Z faces +X; the left side moves from +X to +Y.
    assert left[1] > 0.15 and abs(left[0]) < 1e-6
    assert toes[0] > 0.1


def test_world_rotations_match_an_independent_smpl_forward_kinematics(tmp_path):
    path = _amass_file(tmp_path, frames=40, joints=55, seed=3)
    with np.load(path) as z:
        poses, trans = z["poses"], z["trans"]
    clip = amass.load_amass(path, ground=False)
    rots, pos = CANONICAL.fk(clip.local_rotations, clip.root_translation)
    _, G = _smpl_world(poses, trans, syn.smpl_like_rest_joints())
    C = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])            # Y-up -> Z-up, -Y forward
    # A canonical joint frame is the model's joint frame seen through C: G C^-1.
    np.testing.assert_allclose(quat.to_matrix(rots), G @ C.T, atol=1e-9)
    np.testing.assert_allclose(pos[:, 0], trans, atol=1e-12)        # J0 unknown: trans


def test_smpl_smplh_smplx_layouts_give_the_same_body_motion(tmp_path):
    poses, trans = syn.random_amass_poses(30, 5, 55)
    clips = []
    for width in (72, 156, 165):
        p = np.zeros((30, width))
        p[:, :66] = poses[:, :66]
        p[:, 66:] = 0.3                                   # hands / face must not matter
        clips.append(amass.load_amass(_write(tmp_path / f"w{width}.npz", poses=p, trans=trans,
                                             mocap_framerate=np.array(30.0))))
    assert [c.meta["model"] for c in clips] == ["SMPL", "SMPL-H", "SMPL-X"]
    for c in clips[1:]:
        np.testing.assert_allclose(c.positions(), clips[0].positions(), atol=1e-12)


# ------------------------------------------------------------------------ round trip
def _canonical_clip(frames=90, seed=11) -> Clip:
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None] / 30.0
    aa = (rng.uniform(0.1, 0.8, (1, 66)) * np.sin(2 * np.pi * rng.uniform(0.2, 1.2, (1, 66)) * t
                                                   + rng.uniform(0, 6, (1, 66))))
    aa[:, :3] *= 3.0                                       # big root turns, past 180 deg
    rots = amass.axis_angle_to_quat(aa.reshape(frames, 22, 3))
    root = np.stack([np.sin(t[:, 0]), 0.7 * t[:, 0], 0.9 + 0.05 * np.cos(3 * t[:, 0])], 1)
    return ground(Clip(rots, root, 30.0, CANONICAL.copy()))


def _angle_deg(a, b):
    d = np.abs(np.sum(quat.normalize(a) * quat.normalize(b), axis=-1))
    return np.degrees(2 * np.arccos(np.clip(d, -1, 1)))


def test_round_trip_reproduces_the_clip(tmp_path):
    clip = _canonical_clip()
    path = amass.save_smplx(clip, tmp_path / "out", gender="male", betas=np.arange(10) * 0.1)
    assert path.name == "out.npz"
    back = amass.load_amass(path)
    assert np.abs(back.positions() - clip.positions()).max() < 1e-3        # 1 mm
    assert _angle_deg(back.local_rotations, clip.local_rotations).max() < 0.5
    assert back.fps == clip.fps and back.meta["gender"] == "male"
    assert back.meta["betas"][:3] == [0.0, 0.1, 0.2]


def test_saved_file_has_the_smplx_fields(tmp_path):
    clip = _canonical_clip(20)
    path = amass.save_smplx(clip, tmp_path / "x.npz")
    with np.load(path, allow_pickle=False) as z:
        T = 20
        assert z["poses"].shape == (T, 165) and z["trans"].shape == (T, 3)
        np.testing.assert_array_equal(z["root_orient"], z["poses"][:, :3])
        np.testing.assert_array_equal(z["pose_body"], z["poses"][:, 3:66])
        assert z["pose_hand"].shape == (T, 90) and z["pose_jaw"].shape == (T, 3)
        assert z["pose_eye"].shape == (T, 6) and not z["pose_hand"].any()
        assert str(z["surface_model_type"]) == "smplx" and str(z["gender"]) == "neutral"
        assert float(z["mocap_frame_rate"]) == float(z["mocap_framerate"]) == 30.0
        assert z["betas"].shape == (16,) and int(z["num_betas"]) == 16
        assert np.linalg.norm(z["poses"].reshape(T, 55, 3), axis=-1).max() <= np.pi + 1e-9


def test_save_refuses_bad_input_and_writes_nothing(tmp_path):
    clip = _canonical_clip(10)
    other = Clip(clip.local_rotations[:, :3], clip.root_translation, 30.0,
                 CANONICAL.subset([0, 1, 2]))
    nan = Clip(clip.local_rotations.copy(), clip.root_translation.copy(), 30.0)
    nan.root_translation[4, 1] = np.nan
    cases = [(other, {}, "canonical"), (clip, {"gender": "robot"}, "unknown gender"),
             (nan, {}, "NaN"), (clip, {"betas": [np.inf]}, "betas"),
             (clip, {"betas": np.zeros(401)}, "betas")]
    for c, kwargs, msg in cases:
        with pytest.raises(ValueError, match=msg):
            amass.save_smplx(c, tmp_path / "bad.npz", **kwargs)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("change, message", [
    ({"poses": None}, "missing the 'poses'"),
    ({"trans": None}, "missing the 'trans'"),
    ({"mocap_framerate": None}, "frame rate"),
    ({"poses": np.zeros((10, 100))}, r"poses has shape \(10, 100\).*T x 156 \(SMPL-H\)"),
    ({"poses": np.zeros(156)}, "poses has shape"),
    ({"trans": np.zeros((10, 2))}, r"trans has shape \(10, 2\)"),
    ({"poses": np.zeros((0, 156)), "trans": np.zeros((0, 3))}, "no frames"),
    ({"poses": np.where(np.arange(156) == 7, np.nan, 0.0)[None].repeat(10, 0)},
     "poses has NaN.*frame 0"),
    ({"trans": np.where(np.arange(30).reshape(10, 3) == 14, np.inf, 0.0)},
     "trans has NaN.*frame 4"),
    ({"gender": np.array("robot")}, "unknown gender 'robot'"),
    ({"gender": np.array(["male", "female"])}, "gender"),
    ({"mocap_framerate": np.array(0.0)}, "positive frame rate"),
    ({"mocap_framerate": np.array(-30.0)}, "positive frame rate"),
    ({"mocap_framerate": np.array([30.0, 60.0])}, "one number"),
    ({"betas": np.array([np.nan])}, "betas"),
])
def test_bad_amass_files_are_refused_with_a_specific_message(tmp_path, change, message):
    arrays = dict(poses=np.zeros((10, 156)), trans=np.zeros((10, 3)),
                  mocap_framerate=np.array(60.0), betas=np.zeros(16), gender=np.array("male"))
    arrays.update(change)
    path = _write(tmp_path / "bad.npz", **{k: v for k, v in arrays.items() if v is not None})
    before = path.read_bytes()
    with pytest.raises(ValueError, match=message):
        amass.load_amass(path)
    assert path.read_bytes() == before


def test_bytes_gender_and_per_frame_betas_are_read(tmp_path):
    path = _amass_file(tmp_path, frames=5, gender=np.array(b"Male"),
                       betas=np.tile(np.arange(10.0), (5, 1)))
    clip = amass.load_amass(path)
    assert clip.meta["gender"] == "male" and clip.meta["betas"] == list(np.arange(10.0))


def test_unreadable_files_are_refused(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    with pytest.raises(ValueError, match="not a readable .npz"):
        amass.load_amass(text)
    with pytest.raises(ValueError, match="no such file"):
        amass.load_amass(tmp_path / "missing.npz")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, poses=np.zeros((2, 156)), trans=np.zeros((2, 3)),
             mocap_framerate=np.array(30.0), gender=np.array({"a": 1}, dtype=object))
    with pytest.raises(ValueError, match="pickled"):
        amass.load_amass(pickled)


# -------------------------------------------------------------------- rest alignment
def test_rest_direction_error_is_what_joint_by_joint_transfer_costs(tmp_path):
    """The synthetic SMPL-like rest pose differs from the canonical T-pose by known tilts.
    Joint-by-joint transfer is off by exactly those tilts in every frame; the rest-aware
    path (model rest joints given) removes them on the arms and spine, and on the legs leaves
    only what foot IK changes to keep the ankles where the source's are."""
    rest = syn.smpl_like_rest_joints()
    errors = amass.rest_direction_errors(rest)
    expected = {n: abs(d) for n, (_a, d) in syn._TILTS_DEG.items()}
    for j, name in enumerate(CANONICAL_NAMES):
        assert errors[j] == pytest.approx(expected.get(name, 0.0), abs=0.01), name

    path = _amass_file(tmp_path, frames=120, joints=55, seed=1)
    with np.load(path) as z:
        src_pos, _ = _smpl_world(z["poses"], z["trans"], rest)
    src_dir = syn.segment_directions(src_pos)

    def seg_error(clip):
        d = syn.segment_directions(clip.positions())
        return np.degrees(np.arccos(np.clip(np.sum(d * src_dir, -1), -1, 1)))   # (T, 21)

    direct = seg_error(amass.load_amass(path))
    aware_clip = amass.load_amass(path, rest_joints=rest)
    aware = seg_error(aware_clip)
    np.testing.assert_allclose(direct, np.broadcast_to(errors[1:], direct.shape), atol=1e-4)
    upper = [CANONICAL_NAMES.index(n) - 1 for n in
             ("spine2", "spine3", "left_elbow", "right_elbow", "left_wrist", "right_wrist")]
    assert aware[:, upper].max() < 0.5
    assert aware.mean() < 0.5 * direct.mean()
    assert aware_clip.meta["rest_alignment"] == "model rest joints"
    with pytest.raises(ValueError, match="rest_joints"):
        amass.load_amass(path, rest_joints=rest[:10])
