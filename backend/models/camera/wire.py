"""The scene's triangles between the add-on and the backend.

Two forms of the job's ``geometry`` parameter:
* ``{"path": "/cache/scene.npz"}``: a file with arrays ``vertices`` (V, 3) float32 and
  ``triangles`` (F, 3) int32 (a local backend reads it);
* ``{"format": "anima-mesh-b64", "vertices": b64 float32 little-endian, "triangles": b64 int32
  little-endian, "counts": [V, F]}`` (inline, for a remote backend).
Both are checked: sizes, finite coordinates, indices in range. Empty geometry (V = F = 0) is
allowed: open sky.
"""
from __future__ import annotations

import base64
import binascii
from pathlib import Path

import numpy as np

WIRE_FORMAT = "anima-mesh-b64"


class MeshError(ValueError):
    """Geometry that cannot be used, with the reason."""


def check_mesh(vertices, triangles) -> tuple[np.ndarray, np.ndarray]:
    """Validated (vertices (V, 3) float64, triangles (F, 3) int64); MeshError otherwise."""
    v = np.asarray(vertices)
    f = np.asarray(triangles)
    if v.size == 0 and f.size == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    if v.ndim != 2 or v.shape[1] != 3:
        raise MeshError(f"vertices must have shape (V, 3), got {v.shape}")
    if f.ndim != 2 or f.shape[1] != 3:
        raise MeshError(f"triangles must have shape (F, 3), got {f.shape}")
    if not np.issubdtype(v.dtype, np.number) or not np.issubdtype(f.dtype, np.integer):
        raise MeshError("vertices must be numbers and triangles integers")
    v = v.astype(np.float64)
    if not np.all(np.isfinite(v)):
        raise MeshError(f"{int((~np.isfinite(v).all(axis=1)).sum())} vertices are not finite "
                        f"(NaN or infinite coordinates)")
    f = f.astype(np.int64)
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise MeshError(f"triangle indices must lie in 0..{len(v) - 1}, got "
                        f"{int(f.min())}..{int(f.max())}")
    return v, f


def mesh_to_wire(vertices, triangles) -> dict:
    """The inline wire form of a mesh (checked first)."""
    v, f = check_mesh(vertices, triangles)
    return {"format": WIRE_FORMAT,
            "vertices": base64.b64encode(v.astype("<f4").tobytes()).decode("ascii"),
            "triangles": base64.b64encode(f.astype("<i4").tobytes()).decode("ascii"),
            "counts": [len(v), len(f)]}


def _decode(text, dtype: str, count: int, what: str) -> np.ndarray:
    if not isinstance(text, str):
        raise MeshError(f"{what} must be a base64 string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise MeshError(f"{what} is not valid base64 ({e})") from None
    if len(raw) != count * 12:
        raise MeshError(f"{what} holds {len(raw)} bytes, but counts say {count} x 3 x 4 = "
                        f"{count * 12}")
    return np.frombuffer(raw, dtype=dtype).reshape(count, 3)


def mesh_from_wire(data) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (V, 3) float64, triangles (F, 3) int64) from the inline wire form."""
    if not isinstance(data, dict) or data.get("format") != WIRE_FORMAT:
        raise MeshError(f"inline geometry must be an object with format {WIRE_FORMAT!r}")
    counts = data.get("counts")
    if not (isinstance(counts, list) and len(counts) == 2 and all(
            isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts)):
        raise MeshError("counts must be [V, F], two whole numbers >= 0")
    v = _decode(data.get("vertices"), "<f4", counts[0], "vertices")
    f = _decode(data.get("triangles"), "<i4", counts[1], "triangles")
    return check_mesh(v, f)


def load_mesh_file(path) -> tuple[np.ndarray, np.ndarray]:
    """(vertices, triangles) from an ``.npz`` with arrays ``vertices`` and ``triangles``."""
    path = Path(path)
    if not path.is_file():
        raise MeshError(f"geometry file {str(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = {"vertices", "triangles"} - set(data.files)
            if missing:
                raise MeshError(f"geometry file {path.name} lacks {', '.join(sorted(missing))}")
            return check_mesh(data["vertices"], data["triangles"])
    except (OSError, ValueError) as e:
        if isinstance(e, MeshError):
            raise
        raise MeshError(f"cannot read geometry file {path.name}: {e}") from None


def geometry_from_param(spec) -> tuple[np.ndarray, np.ndarray]:
    """The job's ``geometry`` parameter (either form) as (vertices, triangles)."""
    if isinstance(spec, dict) and "path" in spec:
        if not isinstance(spec["path"], str):
            raise MeshError("geometry.path must be a string")
        return load_mesh_file(spec["path"])
    if isinstance(spec, dict) and "format" in spec:
        return mesh_from_wire(spec)
    raise MeshError('geometry must be {"path": ".npz"} or {"format": "anima-mesh-b64", ...}')
