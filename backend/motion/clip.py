"""The motion clip that crosses every boundary in Anima."""
from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..fileio import atomic_write
from .skeleton import CANONICAL, Skeleton


@dataclass
class Clip:
    """Motion on a skeleton.

    local_rotations: (T, J, 4) wxyz pose rotations relative to the skeleton's rest.
    root_translation: (T, 3) world position of joint 0, metres, Z up (Blender axes).
    fps: frames per second.
    meta: free-form JSON-serialisable information (caption, source, licence ...).
    """
    local_rotations: np.ndarray
    root_translation: np.ndarray
    fps: float
    skeleton: Skeleton = field(default_factory=CANONICAL.copy)
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.local_rotations = np.asarray(self.local_rotations, dtype=np.float64)
        self.root_translation = np.asarray(self.root_translation, dtype=np.float64)
        T = self.local_rotations.shape[0]
        if self.local_rotations.shape != (T, len(self.skeleton), 4):
            raise ValueError(f"local_rotations has shape {self.local_rotations.shape}, expected "
                             f"({T}, {len(self.skeleton)}, 4)")
        if self.root_translation.shape != (T, 3):
            raise ValueError(f"root_translation has shape {self.root_translation.shape}, "
                             f"expected ({T}, 3)")
        if not (self.fps > 0):
            raise ValueError(f"fps must be positive, got {self.fps}")

    @property
    def num_frames(self) -> int:
        return int(self.local_rotations.shape[0])

    @property
    def seconds(self) -> float:
        return self.num_frames / self.fps

    def positions(self) -> np.ndarray:
        """World joint positions (T, J, 3)."""
        return self.skeleton.fk(self.local_rotations, self.root_translation)[1]

    def slice(self, start: int, stop: int) -> "Clip":
        return Clip(self.local_rotations[start:stop].copy(), self.root_translation[start:stop].copy(),
                    self.fps, self.skeleton, dict(self.meta))

    # ------------------------------------------------------------------ npz io
    def check_valid(self, what: str = "clip") -> "Clip":
        """Raise ``ValueError`` unless the clip has frames, a positive finite frame rate and
        finite rotations and translations: no empty or NaN clip leaves the backend."""
        if self.num_frames < 1:
            raise ValueError(f"{what} has no frames")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"{what} has frame rate {self.fps}; it must be a positive number")
        for name, array in (("rotations", self.local_rotations),
                            ("root translation", self.root_translation)):
            bad = ~np.isfinite(array)
            if bad.any():
                frame = int(np.argwhere(bad)[0][0])
                raise ValueError(f"{what} has non-finite {name} (NaN or infinity) from frame "
                                 f"{frame}, {int(bad.any(axis=tuple(range(1, bad.ndim))).sum())} "
                                 f"frames in all")
        return self

    def save_npz(self, path) -> Path:
        """Write the clip to ``path`` (atomically; refused when ``check_valid`` fails)."""
        path = Path(path)
        self.check_valid(f"clip for {path.name}")
        with atomic_write(path) as f:
            np.savez_compressed(
                f,
                local_rotations=self.local_rotations.astype(np.float32),
                root_translation=self.root_translation.astype(np.float32),
                fps=np.float64(self.fps),
                meta=np.array(json.dumps(self.meta)),
                **self.skeleton.to_arrays(),
            )
        return path

    @classmethod
    def load_npz(cls, path) -> "Clip":
        """Read a clip written by ``save_npz``; ``ValueError`` naming the file for anything
        else (missing, empty, truncated, another format, mismatched or non-finite arrays)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                skel = Skeleton.from_arrays(z)
                meta = json.loads(str(z["meta"]))
                clip = cls(z["local_rotations"], z["root_translation"], float(z["fps"]), skel,
                           meta if isinstance(meta, dict) else {})
        except (KeyError, ValueError, OSError, EOFError, TypeError, IndexError,
                zipfile.BadZipFile) as e:
            raise ValueError(f"{path}: not an Anima clip file ({type(e).__name__}: "
                             f"{str(e)[:200]})") from None
        try:
            return clip.check_valid("clip")
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None
