"""Configuration of the text-to-motion generator: network shape (`ModelConfig`) and training run
(`TrainConfig`). Both are plain dataclasses saved as dicts inside every checkpoint, so a
checkpoint rebuilds its own network without this file's defaults.

Presets (``PRESETS``): ``tiny`` (tests, seconds on a CPU), ``starter`` (Bandai-Namco + CMU,
non-commercial because of Bandai's CC BY-NC 4.0) and ``clean`` (commercially usable data only,
the same network).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ...params import Spec
from ...text.encoder import MAX_PROMPT_CHARS

FEATURE_DIM = 263                 # HumanML3D features (backend.motion.humanml3d)
TEXT_DIM = 384                    # MiniLM sentence embedding (backend.text.encoder)
FPS = 20.0                        # HumanML3D rows per second
CHECKPOINT_FORMAT = "anima-text2motion"
CHECKPOINT_VERSION = 2
CHECKPOINT_MIN_VERSION = 2        # version 1: the Conv1d network of before, not readable
SHIPPED = ("starter", "clean")    # assets/models/text2motion_<name>.pt
MAX_SECONDS = 60.0                # longest clip a request may ask for
DEFAULT_GUIDANCE = 2.5
DEFAULT_STEPS = 10
MAX_STEPS = 50
MAX_GUIDANCE = 10.0
MIN_SECONDS = 0.25                # shortest clip a request may ask for (5 frames at 20 fps)
SEED_MAX = 2**31 - 1              # seeds are 0..SEED_MAX (Blender's IntProperty range)
MAX_PATH_CHARS = 4096

TEXT_SPEC = Spec("string", "what the motion shows, e.g. 'a person walks forward and waves'",
                 required=True, nullable=False, min=1, max=MAX_PROMPT_CHARS)
SECONDS_SPEC = Spec("number", "length of the motion (default: predicted from the text)", None,
                    min=MIN_SECONDS, max=MAX_SECONDS)

# Parameters every job that runs the generator takes (generate, edit, story).
SEED_SPEC = Spec("integer", "random seed; same request and seed give the same motion "
                 "(default: random, reported back)", None, min=0, max=SEED_MAX)
GENERATOR_PARAMS = {
    "model": Spec("string", f"the generator: {' | '.join(SHIPPED)} or a checkpoint .pt file",
                  "starter", nullable=False, min=1, max=MAX_PATH_CHARS),
    "seed": SEED_SPEC,
    "steps": Spec("integer", "sampling steps", DEFAULT_STEPS, min=1, max=MAX_STEPS),
    "guidance": Spec("number", "how strongly the text steers the motion", DEFAULT_GUIDANCE,
                     min=0.0, max=MAX_GUIDANCE),
}
PREDICTIONS = ("x1", "velocity")


class ConfigError(ValueError):
    """A configuration file or dict that cannot be used."""


@dataclass
class ModelConfig:
    feature_dim: int = FEATURE_DIM
    text_dim: int = TEXT_DIM
    d_model: int = 256            # transformer width (latent tokens)
    d_frame: int = 128            # width of the full-frame-rate conv path (skip connection)
    layers: int = 6
    heads: int = 4
    ff_mult: int = 4
    dropout: float = 0.1
    down_factor: int = 4          # frames per latent token (two stride-2 convs for 4)
    max_frames: int = 200         # training window: 10 s at 20 fps
    # length predictor: bins of `length_bin_s` from `length_min_s` to `length_max_s`
    length_min_s: float = 1.0
    length_max_s: float = 10.0
    length_bin_s: float = 0.5
    length_hidden: int = 256
    prediction: str = "x1"        # network output: "x1" (clean motion) or "velocity" (x1 - x0)
    lateral_code: float = 0.0     # left/right code added to the text embedding (laterality.py)

    @property
    def max_tokens(self) -> int:
        return -(-self.max_frames // self.down_factor)

    @property
    def length_bins(self) -> int:
        return int(round((self.length_max_s - self.length_min_s) / self.length_bin_s)) + 1

    def validate(self) -> "ModelConfig":
        if self.feature_dim != FEATURE_DIM:
            raise ConfigError(f"feature_dim must be {FEATURE_DIM} (HumanML3D features), "
                              f"got {self.feature_dim}")
        if self.down_factor not in (1, 2, 4, 8):
            raise ConfigError(f"down_factor must be 1, 2, 4 or 8, got {self.down_factor}")
        if self.d_model % self.heads:
            raise ConfigError(f"d_model ({self.d_model}) must be a multiple of heads "
                              f"({self.heads})")
        if self.prediction not in PREDICTIONS:
            raise ConfigError(f"prediction must be one of {PREDICTIONS}, got {self.prediction!r}")
        if self.max_frames < self.length_max_s * FPS:
            raise ConfigError("max_frames must cover length_max_s")
        return self


@dataclass
class TrainConfig:
    name: str = "custom"
    # data: a saved T2MDataset (`dataset`), or libraries to build one from
    dataset: str | None = None
    libraries: list[str] = field(default_factory=list)   # "default" = shipped CMU library
    humanml3d: str | None = None                          # HumanML3D-layout folder
    commercial_only: bool = False
    # optimisation
    steps: int = 40_000
    batch: int = 64
    lr: float = 2e-4
    weight_decay: float = 0.01
    warmup: int = 1000
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    ema_start: int = 500
    # flow matching
    p_uncond: float = 0.1          # condition dropout for classifier-free guidance
    p_edit: float = 0.3            # share of samples trained with a random keep-mask
    t_logit_std: float = 1.0       # logit-normal sampling of flow time
    min_crop_frames: int = 20      # 1 s
    bucket: bool = True            # batches of similar lengths (less padding)
    length_loss_weight: float = 0.1
    vel_loss_weight: float = 1.0   # MSE of the predicted clean motion's frame-to-frame
                                   # differences (against jitter; MDM's velocity loss)
    # text robustness (issue 9; backend/text/paraphrase.py)
    paraphrase: float = 0.0        # share of samples conditioned on a paraphrase of the clip's
                                   # (action, style) labels instead of one of its captions
    paraphrase_pool: int = 64      # paraphrases written per (action, style) pair
    text_noise: float = 0.0        # std of Gaussian noise added to the caption embedding
    balance: float = 0.0           # rare actions repeated (reference count / count) ** balance
    balance_style: float = 0.0     # rare styles repeated, the same way (factors multiply)
    balance_max: int = 8           # times at most
    amp: str = "auto"              # "auto" (bf16 autocast where native: CUDA, AVX512-BF16/AMX
                                   # CPUs; else fp32) | "bf16" | "none"
    # bookkeeping
    seed: int = 0
    log_every: int = 50
    val_every: int = 1000
    val_batches: int = 8
    ckpt_every: int = 2000
    workers: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)

    # ------------------------------------------------------------------ io
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        model = d.pop("model", {}) or {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown training option(s): {', '.join(unknown)}")
        cfg = cls(**d, model=model_config_from_dict(model))
        if cfg.amp not in ("auto", "bf16", "none"):
            raise ConfigError(f"amp must be 'auto', 'bf16' or 'none', got {cfg.amp!r}")
        return cfg

    @classmethod
    def load(cls, path) -> "TrainConfig":
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ConfigError(f"{path}: cannot read the training config ({e})") from e
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the training config must be a JSON object")
        try:
            return cls.from_dict(data)
        except (TypeError, ConfigError) as e:
            raise ConfigError(f"{path}: {e}") from e


def model_config_from_dict(d: dict) -> ModelConfig:
    known = {f.name for f in fields(ModelConfig)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(f"unknown model option(s): {', '.join(unknown)}")
    return ModelConfig(**d).validate()


def _tiny() -> TrainConfig:
    return TrainConfig(
        name="tiny", libraries=["default"], steps=20, batch=8, lr=1e-3, warmup=2, ema_decay=0.9,
        ema_start=0, log_every=5, val_every=10, val_batches=1, ckpt_every=10,
        model=ModelConfig(d_model=64, d_frame=32, layers=2, heads=2, ff_mult=2,
                          length_hidden=32, dropout=0.0))


# The recipes of the shipped checkpoints (assets/models/*.md), sized for this project's 2-core
# CPU: about 2 steps/s each with two runs side by side on one thread each (bf16 autocast, length
# buckets), so starter ~95 min and clean ~55 min. Starter: ~5.6k train items (88 steps per
# epoch); clean: 560 CMU windows (9 steps per epoch, fewer steps against over-fitting).
def _starter() -> TrainConfig:
    return TrainConfig(name="starter", libraries=["default", "bandai"], commercial_only=False,
                       steps=11_000, lr=3e-4, val_every=500, ckpt_every=500,
                       model=ModelConfig(lateral_code=0.5))


def _clean() -> TrainConfig:
    return TrainConfig(name="clean", libraries=["default"], commercial_only=True, steps=4_500,
                       lr=3e-4, val_every=500, ckpt_every=500)


# Issue 9: the shipped models continued on their own data with paraphrased captions and
# embedding noise (`train text2motion --preset starter-text --continue-from starter`).
def _text_recipe(cfg: TrainConfig) -> TrainConfig:
    cfg.paraphrase, cfg.text_noise = 0.6, 0.02
    cfg.lr, cfg.warmup, cfg.min_lr_ratio = 1e-4, 200, 0.1
    cfg.ema_start, cfg.ema_decay = 0, 0.998
    return cfg


def _starter_text() -> TrainConfig:
    cfg = _text_recipe(_starter())
    cfg.steps, cfg.balance = 2_500, 0.5
    return cfg


def _clean_text() -> TrainConfig:
    cfg = _text_recipe(_clean())
    cfg.steps, cfg.balance = 1_500, 0.5
    return cfg


PRESETS = {"tiny": _tiny, "starter": _starter, "clean": _clean,
           "starter-text": _starter_text, "clean-text": _clean_text}


def preset(name: str) -> TrainConfig:
    try:
        return PRESETS[name]()
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; choose one of "
                          f"{', '.join(sorted(PRESETS))}") from None
