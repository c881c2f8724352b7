"""SMPL-X body meshes from model files the user owns (never shipped: licence), via `smplx`.

The user downloads SMPL-X from https://smpl-x.is.tue.mpg.de (registration required) and
points Anima at the unpacked ``models_smplx_v1_1.zip``: a folder holding
``smplx/SMPLX_NEUTRAL.npz`` (and ``SMPLX_MALE``, ``SMPLX_FEMALE``, ``.npz`` or ``.pkl``), or
that ``smplx`` folder itself. ``build_body`` loads the file for a gender with
``smplx.create``, shapes it with the betas and returns everything the Blender side needs to
build a skinned mesh and an armature (``SMPLXBody``), in Anima axes (Z up, facing -Y,
metres), feet on z = 0 and the pelvis above the origin.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..fileio import atomic_write
from ..motion import axes

GENDERS = ("neutral", "male", "female")
SMPLX_JOINTS = 55
# Joint counts of the other models of the family: what a wrong file most likely is.
OTHER_MODELS = {24: "SMPL", 52: "SMPL+H (the model AMASS's SMPL-H files use)",
                16: "MANO (a hand model)", 5: "FLAME (a head model)"}
DOWNLOAD_HINT = ("download SMPL-X from https://smpl-x.is.tue.mpg.de (free registration), "
                 "unzip models_smplx_v1_1.zip and choose the folder that holds 'smplx/'")
REQUIRED_KEYS = ("v_template", "f", "J_regressor", "weights", "kintree_table", "shapedirs",
                 "posedirs")


class BodyModelError(ValueError):
    """The model folder / file cannot give an SMPL-X body; the message says why and what to do."""


@dataclass
class SMPLXBody:
    """A shaped SMPL-X body at rest (zero pose: a T-pose), Anima axes, metres.

    vertices (V, 3); faces (F, 3) int; joints (55, 3) rest joint positions; parents (55,)
    (-1 for the pelvis); joint_names (55,) (the first 22 are the canonical names); weights
    (V, 55) linear-blend-skinning weights (rows sum to 1); joints_model (55, 3) the same joints
    in the model's own frame (Y up, not re-centred: what ``amass.load_amass(rest_joints=)``
    expects); offset (3,): added to the model's points after the axis change.
    """
    vertices: np.ndarray
    faces: np.ndarray
    joints: np.ndarray
    parents: np.ndarray
    joint_names: list[str]
    weights: np.ndarray
    joints_model: np.ndarray
    offset: np.ndarray
    betas: np.ndarray
    gender: str
    model_file: str
    warnings: list[str] = field(default_factory=list)

    def to_arrays(self) -> dict:
        return {"vertices": self.vertices.astype(np.float32), "faces": self.faces.astype(np.int32),
                "joints": self.joints, "parents": self.parents,
                "joint_names": np.array(self.joint_names),
                "weights": self.weights.astype(np.float32),
                "joints_model": self.joints_model, "offset": self.offset, "betas": self.betas,
                "gender": np.array(self.gender), "model_file": np.array(self.model_file)}


# ----------------------------------------------------------------------------- finding
def find_model_file(folder, gender: str = "neutral") -> Path:
    """The SMPL-X file for `gender` in the user's folder (official layout or flat)."""
    gender = _gender(gender)
    if not str(folder or "").strip():
        raise BodyModelError(f"No SMPL-X model folder set: {DOWNLOAD_HINT}")
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise BodyModelError(f"SMPL-X model folder {str(root)!r} does not exist: "
                             f"{DOWNLOAD_HINT}")
    stem = f"SMPLX_{gender.upper()}"
    candidates = [d / f"{stem}.{ext}" for d in (root / "smplx", root) for ext in ("npz", "pkl")]
    for c in candidates:
        if c.is_file():
            return c
    others = sorted(p.name for d in (root / "smplx", root) if d.is_dir() for p in d.iterdir()
                    if p.suffix in (".npz", ".pkl"))
    seen = f" (it has {', '.join(others[:6])})" if others else ""
    raise BodyModelError(f"No {stem}.npz or .pkl in {str(root)!r} or its 'smplx' "
                         f"folder{seen}: {DOWNLOAD_HINT}")


def _gender(gender: str) -> str:
    g = str(gender).strip().lower()
    if g not in GENDERS:
        raise BodyModelError(f"unknown gender {gender!r}; expected one of {', '.join(GENDERS)}")
    return g


# ----------------------------------------------------------------------------- checking
def model_file_shapes(path) -> dict[str, tuple]:
    """Array name -> shape of a model file, without loading the big arrays of an .npz."""
    path = Path(path)
    shapes = {}
    if path.suffix == ".npz":
        try:
            with zipfile.ZipFile(path) as zf:
                for name in zf.namelist():
                    with zf.open(name) as f:
                        version = np.lib.format.read_magic(f)
                        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                else np.lib.format.read_array_header_2_0)
                        shapes[name.removesuffix(".npy")] = tuple(read(f)[0])
        except (zipfile.BadZipFile, ValueError, OSError) as e:
            raise BodyModelError(f"{path.name} is not a readable .npz model file ({e})") from None
        return shapes
    for key, value in _load_pickle(path).items():
        shapes[key] = tuple(np.shape(value))
    return shapes


def _load_pickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            data = pickle.load(f, encoding="latin1")
    except ModuleNotFoundError as e:
        raise BodyModelError(f"{path.name} needs the Python package {e.name!r} to be read "
                             f"(old SMPL / SMPL+H .pkl files do); use the SMPL-X .npz files "
                             f"instead") from None
    except Exception as e:  # noqa: BLE001 - any unreadable pickle gets the same message
        raise BodyModelError(f"{path.name} is not a readable .pkl model file ({e})") from None
    if not isinstance(data, dict):
        raise BodyModelError(f"{path.name} holds a {type(data).__name__}, not a body model")
    return data


def check_smplx_layout(shapes: dict[str, tuple], name: str = "model file") -> list[str]:
    """Refuse anything that is not an SMPL-X model (saying what it looks like); returns
    warnings for SMPL-X files that work with limits (v1.0: 10 shape components)."""
    missing = [k for k in REQUIRED_KEYS if k not in shapes]
    if missing:
        raise BodyModelError(f"{name} is not an SMPL-family body model (missing "
                             f"{', '.join(missing)})")
    J = shapes["kintree_table"][-1] if len(shapes["kintree_table"]) == 2 else -1
    if J != SMPLX_JOINTS:
        what = OTHER_MODELS.get(J, f"a model with {J} joints")
        raise BodyModelError(f"{name} looks like {what}, not SMPL-X ({SMPLX_JOINTS} joints): "
                             f"{DOWNLOAD_HINT}")
    V = shapes["v_template"][0] if len(shapes["v_template"]) == 2 else -1
    expect = {"v_template": (V, 3), "J_regressor": (J, V), "weights": (V, J)}
    for key, shape in expect.items():
        if tuple(shapes[key]) != shape:
            raise BodyModelError(f"{name}: {key} has shape {shapes[key]}, expected {shape} "
                                 f"(a damaged or unknown SMPL-X version)")
    sd, pd = shapes["shapedirs"], shapes["posedirs"]
    if len(sd) != 3 or sd[:2] != (V, 3) or len(pd) != 3 or pd[:2] != (V, 3) \
            or pd[2] != 9 * (J - 1):
        raise BodyModelError(f"{name}: shapedirs {sd} / posedirs {pd} do not fit an SMPL-X "
                             f"model with {V} vertices")
    for key in ("lmk_faces_idx", "lmk_bary_coords", "hands_componentsl", "hands_meanl"):
        if key not in shapes:
            raise BodyModelError(f"{name} lacks {key!r}, which SMPL-X files have: not an "
                                 f"SMPL-X model ({DOWNLOAD_HINT})")
    warnings = []
    if sd[2] < 300:
        warnings.append(f"{name} is an SMPL-X v1.0 file with {min(sd[2], 10)} shape "
                        f"components; betas beyond those are ignored (v1.1 has 300)")
    return warnings


# ----------------------------------------------------------------------------- building
def require_smplx() -> None:
    if importlib.util.find_spec("smplx") is None or importlib.util.find_spec("torch") is None:
        raise BodyModelError("SMPL-X bodies need the Python packages 'torch' and 'smplx' in "
                             "the backend's interpreter: `python -m pip install smplx==0.1.28`")


def build_body(folder, gender: str = "neutral", betas=None) -> SMPLXBody:
    """Load the user's SMPL-X model for `gender`, shape it with `betas` ((B,) floats, missing
    ones 0) and return the body at rest in Anima axes. Raises BodyModelError."""
    gender = _gender(gender)
    path = find_model_file(folder, gender)
    warnings = check_smplx_layout(model_file_shapes(path), path.name)
    betas = np.zeros(10) if betas is None else np.asarray(betas, dtype=np.float64).reshape(-1)
    if betas.size > 400 or not np.isfinite(betas).all():
        raise BodyModelError("betas must be at most 400 finite numbers")
    require_smplx()
    import smplx
    import torch
    from smplx.joint_names import JOINT_NAMES
    from smplx.lbs import blend_shapes, vertices2joints

    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            model = smplx.create(str(path), model_type="smplx", gender=gender,
                                 ext=path.suffix[1:], num_betas=max(int(betas.size), 1),
                                 use_pca=False, flat_hand_mean=True)
    except Exception as e:  # noqa: BLE001 - smplx asserts / raises many kinds
        raise BodyModelError(f"smplx could not load {path.name}: {type(e).__name__}: {e}") \
            from None
    used = int(model.num_betas)
    if betas.size > used and np.abs(betas[used:]).max() > 0:
        warnings.append(f"only the first {used} betas are used by this model file")
    b = np.zeros(used)
    b[:min(used, betas.size)] = betas[:used]
    with torch.no_grad():
        shaped = model.v_template[None] + blend_shapes(
            torch.tensor(b[None], dtype=model.v_template.dtype), model.shapedirs)
        joints = vertices2joints(model.J_regressor, shaped)[0].double().numpy()
        verts = shaped[0].double().numpy()
    parents = model.parents.numpy().astype(np.int64)
    parents[0] = -1
    weights = model.lbs_weights.double().numpy()
    faces = np.asarray(model.faces, dtype=np.int64)

    v = axes.y_up_to_blender_points(verts)
    j = axes.y_up_to_blender_points(joints)
    offset = np.array([-j[0, 0], -j[0, 1], -v[:, 2].min()])
    return SMPLXBody(v + offset, faces, j + offset, parents, list(JOINT_NAMES[:SMPLX_JOINTS]),
                     weights, joints, offset, b, gender, str(path), warnings)


def save_body(body: SMPLXBody, path) -> Path:
    path = Path(path)
    with atomic_write(path) as f:
        np.savez_compressed(f, **body.to_arrays())
    return path


def load_body_arrays(path) -> dict:
    """The arrays save_body wrote (plain numpy, no pickles)."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
