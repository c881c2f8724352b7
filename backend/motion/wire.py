"""A canonical clip inside a job's JSON parameters (the add-on sends the motion to edit).

Jobs return files (artifacts); what goes *to* the server must travel in the request itself,
because a remote server cannot read the add-on's disk. ``clip_to_wire`` packs a canonical Clip
as ``{"format", "fps", "frames", "local_rotations", "root_translation"}`` with the arrays as
base64 float32 (little-endian, C order): about 0.5 MB per minute at 30 fps, well inside the
protocol's 16 MB message line. ``clip_from_wire`` checks everything a hostile or broken
client could send (format, sizes, finite values, unit quaternions) before any numpy math.
"""
from __future__ import annotations

import base64
import binascii

import numpy as np

from . import quat
from .clip import Clip
from .skeleton import NUM_JOINTS

WIRE_FORMAT = "anima-clip-b64f32"
MAX_WIRE_FRAMES = 60 * 120          # one minute at 120 fps


def _pack(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def _unpack(text, count: int, what: str) -> np.ndarray:
    if not isinstance(text, str):
        raise ValueError(f"clip {what} must be a base64 string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise ValueError(f"clip {what} is not valid base64 ({e})") from None
    if len(raw) != 4 * count:
        raise ValueError(f"clip {what} has {len(raw)} bytes, expected {4 * count}")
    a = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"clip {what} contains NaN or infinite values")
    return a


def clip_to_wire(clip: Clip) -> dict:
    """JSON-able form of a canonical clip (T, 22, 4) / (T, 3)."""
    if len(clip.skeleton) != NUM_JOINTS:
        raise ValueError(f"only canonical clips ({NUM_JOINTS} joints) travel to the server, "
                         f"got {len(clip.skeleton)} joints")
    return {"format": WIRE_FORMAT, "fps": float(clip.fps), "frames": clip.num_frames,
            "local_rotations": _pack(clip.local_rotations),
            "root_translation": _pack(clip.root_translation)}


def clip_from_wire(data, meta: dict | None = None) -> Clip:
    """The Clip packed by ``clip_to_wire``; ValueError with the reason on anything else."""
    if not isinstance(data, dict) or data.get("format") != WIRE_FORMAT:
        raise ValueError(f"clip must be an object with format {WIRE_FORMAT!r}")
    fps, frames = data.get("fps"), data.get("frames")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 1.0 <= fps <= 240.0:
        raise ValueError(f"clip fps must be a number in 1..240, got {fps!r}")
    if isinstance(frames, bool) or not isinstance(frames, int) or \
            not 1 <= frames <= MAX_WIRE_FRAMES:
        raise ValueError(f"clip frames must be an integer in 1..{MAX_WIRE_FRAMES}, got "
                         f"{frames!r}")
    rots = _unpack(data.get("local_rotations"), frames * NUM_JOINTS * 4, "local_rotations")
    root = _unpack(data.get("root_translation"), frames * 3, "root_translation")
    rots = rots.reshape(frames, NUM_JOINTS, 4)
    norms = np.linalg.norm(rots, axis=-1)
    if np.any(np.abs(norms - 1.0) > 1e-2):
        raise ValueError("clip local_rotations are not unit quaternions")
    if np.any(np.abs(root) > 1e4):
        raise ValueError("clip root_translation is beyond 10 km: not metres?")
    return Clip(quat.normalize(rots), root.reshape(frames, 3), float(fps), meta=dict(meta or {}))
