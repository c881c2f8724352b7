"""Settings of the learned in-betweener (``InbetweenConfig``), saved in its checkpoint."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

CHECKPOINT_FORMAT = "anima-inbetween"
CHECKPOINT_VERSION = 1
NUM_JOINTS = 22
ROT_DIM = NUM_JOINTS * 6           # local rotations as 6D (first two matrix columns)
POSE_DIM = ROT_DIM + 3             # + root position relative to the reference frame


class InbetweenConfigError(ValueError):
    """A configuration that cannot describe a model; the message names the field."""


@dataclass
class InbetweenConfig:
    """Model and training-window shape.

    context: frames given before the gap (the last one is the reference: position/heading).
    max_gap: the longest gap (missing frames) the network fills in one pass; longer gaps fall
        back to slerp (see ``learned.py``).
    d_model / layers / heads / ff_mult / dropout: the transformer encoder.
    fps: the frame rate the network was trained at (clips are resampled to it).
    """
    context: int = 10
    max_gap: int = 45
    d_model: int = 128
    layers: int = 4
    heads: int = 4
    ff_mult: int = 4
    dropout: float = 0.0
    fps: float = 30.0

    def __post_init__(self):
        for name in ("context", "max_gap", "d_model", "layers", "heads", "ff_mult"):
            if int(getattr(self, name)) < 1:
                raise InbetweenConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.d_model % self.heads:
            raise InbetweenConfigError(f"d_model {self.d_model} is not a multiple of heads "
                                       f"{self.heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise InbetweenConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if not self.fps > 0:
            raise InbetweenConfigError(f"fps must be positive, got {self.fps}")

    @property
    def max_frames(self) -> int:
        """Window length of the longest gap: context + gap + target."""
        return self.context + self.max_gap + 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "InbetweenConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise InbetweenConfigError(f"unknown in-betweener settings: {sorted(unknown)}")
        return cls(**d)
