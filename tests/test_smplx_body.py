"""SMPL-X bodies from model files (backend/body/smplx_body.py, job `smplx_body`), with real
`smplx` and torch on synthetic model files in the SMPL-X layout (the real ones cannot be
shipped)."""
from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("smplx")
torch = pytest.importorskip("torch")

from backend.body import smplx_body as sb  # noqa: E402
from backend.jobs import JobContext, JobError  # noqa: E402
from backend.motion import amass, axes  # noqa: E402
from backend.motion.skeleton import CANONICAL_NAMES  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "smplx_synthetic", Path(__file__).resolve().parent / "smplx_synthetic.py")
syn = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(syn)


@pytest.fixture()
def models(tmp_path):
    """Official layout: <tmp>/models/smplx/SMPLX_NEUTRAL.npz (+ FEMALE with another seed)."""
    syn.write_model(tmp_path / "models" / "smplx", "smplx", "neutral", seed=0)
    syn.write_model(tmp_path / "models" / "smplx", "smplx", "female", seed=1)
    return tmp_path / "models"


def test_body_arrays_have_the_smplx_shapes_and_anima_axes(models):
    body = sb.build_body(models)
    data = syn.model_arrays("smplx", seed=0)
    V = len(data["v_template"])
    assert body.vertices.shape == (V, 3) and body.faces.shape == data["f"].shape
    assert body.joints.shape == (55, 3) and body.weights.shape == (V, 55)
    assert body.joint_names[:22] == CANONICAL_NAMES and len(body.joint_names) == 55
    np.testing.assert_array_equal(body.parents[1:], data["kintree_table"][0, 1:])
    assert body.parents[0] == -1
    np.testing.assert_allclose(body.weights.sum(axis=1), 1.0, atol=1e-6)
    # Joints are where the model's regressor puts them (on the returned, moved vertices).
    np.testing.assert_allclose(data["J_regressor"] @ body.vertices, body.joints, atol=1e-5)
    # Anima axes: feet on the floor, pelvis above the origin, head up, left +X, toes to -Y.
    j = {n: body.joints[i] for i, n in enumerate(body.joint_names)}
    assert abs(body.vertices[:, 2].min()) < 1e-9
    np.testing.assert_allclose(j["pelvis"][:2], 0.0, atol=1e-9)
    assert j["head"][2] > j["pelvis"][2] + 0.4 and j["left_hip"][0] > 0.05
    assert j["left_foot"][1] < j["left_ankle"][1] - 0.05
    # joints_model: the same joints in the model's frame (for amass.load_amass).
    np.testing.assert_allclose(axes.y_up_to_blender_points(body.joints_model) + body.offset,
                               body.joints, atol=1e-9)


def test_betas_change_the_shape_along_the_shape_directions(models):
    rest = sb.build_body(models)
    shaped = sb.build_body(models, betas=[2.0, 0.0, -1.0])
    data = syn.model_arrays("smplx", seed=0)
    expected = axes.y_up_to_blender_points(2.0 * data["shapedirs"][:, :, 0]
                                           - 1.0 * data["shapedirs"][:, :, 2])
    moved = (shaped.vertices - shaped.offset) - (rest.vertices - rest.offset)
    np.testing.assert_allclose(moved, expected, atol=1e-5)
    assert np.abs(moved).max() > 0.01
    np.testing.assert_allclose(shaped.betas[:3], [2.0, 0.0, -1.0])


def test_gender_flat_folder_and_pkl_files(models, tmp_path):
    female = sb.build_body(models, "female")
    neutral = sb.build_body(models, "neutral")
    assert female.gender == "female" and female.model_file.endswith("SMPLX_FEMALE.npz")
    assert np.abs(female.vertices - neutral.vertices).max() > 1e-3
    flat = sb.build_body(models / "smplx")                           # the folder itself
    np.testing.assert_allclose(flat.vertices, neutral.vertices)
    pkl_dir = tmp_path / "pkl"
    pkl_dir.mkdir()
    with open(pkl_dir / "SMPLX_MALE.pkl", "wb") as f:
        pickle.dump(syn.model_arrays("smplx", seed=0), f)
    from_pkl = sb.build_body(pkl_dir, "male")
    np.testing.assert_allclose(from_pkl.vertices, neutral.vertices, atol=1e-6)


def test_v11_files_give_no_warning_and_use_more_betas(tmp_path):
    syn.write_model(tmp_path / "smplx", "smplx", "neutral", shape_dims=400)
    body = sb.build_body(tmp_path, betas=np.linspace(-1, 1, 16))
    assert body.warnings == [] and body.betas.size == 16
    v10 = tmp_path / "v10"
    syn.write_model(v10 / "smplx", "smplx", "neutral", shape_dims=20)
    old = sb.build_body(v10, betas=np.ones(16))
    assert old.betas.size == 10 and any("v1.0" in w for w in old.warnings)
    assert any("first 10 betas" in w for w in old.warnings)


def test_rest_joints_feed_the_rest_aware_amass_import(models, tmp_path):
    body = sb.build_body(models)
    poses, trans = syn.random_amass_poses(30, seed=2)
    np.savez(tmp_path / "m.npz", poses=poses, trans=trans, mocap_frame_rate=np.array(30.0))
    clip = amass.load_amass(tmp_path / "m.npz", rest_joints=body.joints_model)
    assert clip.num_frames == 30 and np.isfinite(clip.positions()).all()


@pytest.mark.parametrize("setup, gender, message", [
    ("missing", "neutral", "does not exist"),
    ("empty", "neutral", r"No SMPLX_NEUTRAL\.npz or \.pkl.*smpl-x\.is\.tue\.mpg\.de"),
    ("neutral_only", "male", r"No SMPLX_MALE.*it has SMPLX_NEUTRAL\.npz"),
    ("smpl", "neutral", r"looks like SMPL, not SMPL-X"),
    ("smplh", "neutral", r"looks like SMPL\+H"),
    ("not_a_model", "neutral", "not an SMPL-family body model"),
    ("corrupt", "neutral", "not a readable .npz"),
    ("broken_regressor", "neutral", "J_regressor has shape"),
    ("neutral_only", "robot", "unknown gender 'robot'"),
])
def test_wrong_folders_and_files_are_refused_clearly(tmp_path, setup, gender, message):
    root = tmp_path / "m"
    sub = root / "smplx"
    if setup != "missing":
        sub.mkdir(parents=True)
    if setup == "neutral_only":
        syn.write_model(sub, "smplx", "neutral")
    elif setup in ("smpl", "smplh"):
        # An SMPL / SMPL+H file under the SMPL-X name (a common mix-up).
        np.savez(sub / "SMPLX_NEUTRAL.npz", **syn.model_arrays(setup))
    elif setup == "not_a_model":
        np.savez(sub / "SMPLX_NEUTRAL.npz", poses=np.zeros((3, 165)))
    elif setup == "corrupt":
        (sub / "SMPLX_NEUTRAL.npz").write_bytes(b"PK\x03\x04 truncated")
    elif setup == "broken_regressor":
        arrays = syn.model_arrays("smplx")
        arrays["J_regressor"] = arrays["J_regressor"][:, :-1]
        np.savez(sub / "SMPLX_NEUTRAL.npz", **arrays)
    with pytest.raises(sb.BodyModelError, match=message):
        sb.build_body(root, gender)


def test_unreadable_pickle_and_bad_betas(models, tmp_path):
    (tmp_path / "SMPLX_NEUTRAL.pkl").write_bytes(b"\x80\x04not a pickle")
    with pytest.raises(sb.BodyModelError, match="not a readable .pkl"):
        sb.build_body(tmp_path)
    with pytest.raises(sb.BodyModelError, match="betas"):
        sb.build_body(models, betas=[np.nan])


def test_skinning_data_reproduces_smplx_forward(tmp_path):
    """Full-size synthetic model (smplx's landmark vertices need >= 9930 vertices; no pose
    correctives): linear blend skinning with the returned vertices, joints, parents and weights
    -- what the Blender armature does -- gives smplx's own posed mesh."""
    import smplx

    path = syn.write_model(tmp_path / "smplx", "smplx", "neutral", verts_per_joint=191)
    body = sb.build_body(tmp_path, betas=[0.5, -0.3])
    model = smplx.create(str(path), model_type="smplx", num_betas=2, use_pca=False,
                         flat_hand_mean=True)
    rng = np.random.default_rng(4)
    body_pose = rng.normal(0, 0.3, (1, 63))
    orient = np.array([[np.pi / 2, 0.0, 0.0]]) + rng.normal(0, 0.1, (1, 3))
    with torch.no_grad():
        out = model(betas=torch.tensor([[0.5, -0.3]], dtype=torch.float32),
                    body_pose=torch.tensor(body_pose, dtype=torch.float32),
                    global_orient=torch.tensor(orient, dtype=torch.float32))
    expected = out.vertices[0].double().numpy()          # AMASS world (model frame, Z up)
    expected_pelvis = out.joints[0, 0].double().numpy()

    # What the armature does in Anima axes, with load_amass's rotations: pelvis R0 C^-1,
    # every other joint C R C^-1 (so the chain is R0 R1 .. Rj C^-1 on the rest in Anima axes).
    from backend.motion import quat
    C = axes.Y_UP_TO_BLENDER
    aa = np.concatenate([orient, body_pose, np.zeros((1, 99))], 1).reshape(55, 3)
    R = quat.to_matrix(amass.axis_angle_to_quat(aa))
    G = np.zeros((55, 4, 4))
    for j in range(55):
        local = np.eye(4)
        local[:3, :3] = C @ R[j] @ C.T if j else R[0] @ C.T
        p = body.parents[j]
        local[:3, 3] = body.joints[j] - (body.joints[p] if p >= 0 else 0.0)
        G[j] = G[p] @ local if p >= 0 else local
    unrest = np.tile(np.eye(4), (55, 1, 1))
    unrest[:, :3, 3] = -body.joints
    M = np.einsum("vj,jab->vab", body.weights, G @ unrest)
    v = np.concatenate([body.vertices, np.ones((len(body.vertices), 1))], 1)
    posed = np.einsum("vab,vb->va", M, v)[:, :3]
    np.testing.assert_allclose(posed - G[0, :3, 3], expected - expected_pelvis, atol=2e-5)
    assert np.abs(posed - body.vertices).max() > 0.05          # it did move


def test_job_writes_the_body_npz(models, tmp_path):
    from backend.models.body.job import smplx_body_job
    ctx = JobContext("j1", tmp_path / "cache")
    result = smplx_body_job({"folder": str(models), "gender": "female", "betas": [1.0]}, ctx)
    arrays = sb.load_body_arrays(result["artifacts"]["body"])
    assert result["joints"] == 55 and result["gender"] == "female"
    assert arrays["vertices"].shape == (result["vertices"], 3)
    assert arrays["weights"].shape == (result["vertices"], 55)
    assert list(arrays["joint_names"][:22]) == CANONICAL_NAMES
    with pytest.raises(JobError, match="does not exist") as e:
        smplx_body_job({"folder": str(tmp_path / "nowhere")}, ctx)
    assert e.value.code == "bad_params"
    with pytest.raises(JobError, match="betas"):
        smplx_body_job({"folder": str(models), "betas": ["a"]}, ctx)


def test_amass_clip_job_aligns_rests_with_the_users_model(models, tmp_path):
    from backend.models.body.job import amass_clip_job
    from backend.motion.clip import Clip
    ctx = JobContext("j2", tmp_path / "cache")
    poses, trans = syn.random_amass_poses(40, seed=6)
    path = tmp_path / "female_smplx.npz"
    np.savez(path, poses=poses, trans=trans, mocap_frame_rate=np.array(60.0),
             gender=np.array("female"), betas=np.array([0.8, -0.2]),
             surface_model_type=np.array("smplx"))
    result = amass_clip_job({"path": str(path), "folder": str(models)}, ctx)
    assert result["rest_alignment"] == "model rest joints" and result["model"] == "SMPL-X"
    clip = Clip.load_npz(result["artifacts"]["clip"])
    rest = sb.build_body(models, "female", [0.8, -0.2]).joints_model
    np.testing.assert_allclose(clip.positions(), amass.load_amass(path, rest).positions(),
                               atol=1e-5)                       # float32 in the clip file
    plain = amass_clip_job({"path": str(path)}, ctx)
    assert plain["rest_alignment"] == "joint-by-joint"

    bad = tmp_path / "bad.npz"
    np.savez(bad, poses=np.zeros((5, 99)), trans=np.zeros((5, 3)), mocap_framerate=30.0)
    with pytest.raises(JobError, match="poses has shape"):
        amass_clip_job({"path": str(bad)}, ctx)
    np.savez(tmp_path / "male.npz", poses=poses, trans=trans, mocap_framerate=30.0,
             gender=np.array("male"))
    with pytest.raises(JobError, match="No SMPLX_MALE"):
        amass_clip_job({"path": str(tmp_path / "male.npz"), "folder": str(models)}, ctx)
