"""Loading a text-to-motion checkpoint and sampling motion from it.

    gen = load_generator("starter")               # or "clean", or a path to a .pt file
    feats = gen.generate(["a person waves"], [None], [0])[0]     # (T, 263), unnormalised
    clip = gen.to_clip(feats)                     # canonical Clip on the floor, at the origin

Sampling integrates the rectified flow with ``steps`` Euler steps from Gaussian noise (t = 0)
to motion (t = 1), with classifier-free guidance (on the network's output: the clean-motion
prediction, or the velocity for "velocity" models). Editing (``Keep``): at every step the known
features are overwritten with their straight-line interpolant ``t * x1 + (1 - t) * x0`` (x0 is
the sample's own noise) and also given to the network as a condition; the result carries the
known features exactly. Clips longer than the training window are made window by window, each
window continuing the previous one's tail (see ``WINDOW_OVERLAP_S``).
"""
from __future__ import annotations

import contextlib
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ...motion import humanml3d as H
from ...paths import REPO_ROOT
from ...text.snap import Blend
from .config import (CHECKPOINT_FORMAT, CHECKPOINT_MIN_VERSION, CHECKPOINT_VERSION, DEFAULT_GUIDANCE, DEFAULT_STEPS,
                     FEATURE_DIM, FPS, MAX_SECONDS, SHIPPED, TEXT_DIM, ConfigError,
                     ModelConfig, model_config_from_dict)
from . import laterality, style_layer
from .keep import Keep
from .length import LENGTH_MODES, choose_seconds
from .model import Text2Motion

MODELS_DIR = REPO_ROOT / "assets" / "models"
# Long clips: windows of the training length that overlap by 2 s. The first 1.5 s of the
# overlap are kept exactly from the previous window (an inpainting mask: the network continues
# them); over the last 0.5 s the new window's frames are crossfaded in linearly.
WINDOW_OVERLAP_S = 2.0
WINDOW_CROSSFADE_S = 0.5


class CheckpointError(ValueError):
    """A missing, unreadable or mismatched checkpoint; the message names the file."""


_CANCEL = threading.local()


@contextlib.contextmanager
def cancel_checks(check):
    """Within the block, every sampling step of every generator on this thread calls
    ``check()`` (a job's ``ctx.check_cancelled``), so a cancelled job stops within one
    network evaluation instead of at the end of a batch."""
    previous = getattr(_CANCEL, "check", None)
    _CANCEL.check = check
    try:
        yield
    finally:
        _CANCEL.check = previous


def _check_cancelled() -> None:
    check = getattr(_CANCEL, "check", None)
    if check is not None:
        check()


def checkpoint_path(name_or_path: str | Path) -> Path:
    """``"starter"`` / ``"clean"`` -> assets/models/text2motion_<name>.pt; anything else is a
    path."""
    if isinstance(name_or_path, str) and name_or_path in SHIPPED:
        return MODELS_DIR / f"text2motion_{name_or_path}.pt"
    return Path(name_or_path)


def load_checkpoint(path: str | Path) -> dict:
    """Read and check a checkpoint written by ``train.py``; raises ``CheckpointError`` naming
    the file for anything missing, unreadable or not matching this code."""
    from ..checkpoint import read_checkpoint
    path = Path(path)
    hint = ""
    if path.parent == MODELS_DIR and path.stem.startswith("text2motion_"):
        name = path.stem[len("text2motion_"):]
        hint = (f" (the {name!r} model is not installed; train it with `python -m backend "
                f"train text2motion --preset {name} --out {path}`)")
    ck = read_checkpoint(path, "text-to-motion", CHECKPOINT_FORMAT,
                         (CHECKPOINT_MIN_VERSION, CHECKPOINT_VERSION), CheckpointError, hint)
    for key in ("model_config", "state_dict", "mean", "std", "dataset"):
        if key not in ck:
            raise CheckpointError(f"{path}: checkpoint lacks {key!r}")
    try:
        cfg = model_config_from_dict(ck["model_config"])
    except (ConfigError, TypeError) as e:
        raise CheckpointError(f"{path}: model config does not match this code ({e})") from None
    if cfg.text_dim != TEXT_DIM:
        raise CheckpointError(f"{path}: text dim {cfg.text_dim}, the text encoder gives {TEXT_DIM}")
    for key in ("mean", "std"):
        shape = tuple(getattr(ck[key], "shape", ()))
        if shape != (FEATURE_DIM,):
            raise CheckpointError(f"{path}: {key} has shape {shape}, expected ({FEATURE_DIM},)")
    ck["model_config"] = cfg
    return ck


def build_model(ck: dict, path: Path | str = "checkpoint") -> Text2Motion:
    """The network of a checked checkpoint dict, with its (EMA) weights, in eval mode."""
    model = Text2Motion(ck["model_config"])
    expected = model.state_dict()
    state = ck["state_dict"]
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{path}: weights do not match the network (missing "
                              f"{missing[:3]}{'...' if len(missing) > 3 else ''}, unexpected "
                              f"{unexpected[:3]}{'...' if len(unexpected) > 3 else ''})")
    for k, v in expected.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise CheckpointError(f"{path}: weight {k} has shape {tuple(state[k].shape)}, the "
                                  f"network expects {tuple(v.shape)}")
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()


@dataclass
class _Window:
    item: int
    rows: int
    known: np.ndarray | None     # (rows, 263) normalised
    mask: np.ndarray | None      # (rows, 263) bool


# ----------------------------------------------------------------------------- generator
class Generator:
    """A loaded text-to-motion model: ``generate`` features, ``to_clip`` them."""

    def __init__(self, model: Text2Motion, mean: np.ndarray, std: np.ndarray, meta: dict,
                 device: str = "cpu", path: Path | None = None, encoder=None):
        self.model = model.to(device).eval()
        self.cfg: ModelConfig = model.cfg
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.meta = dict(meta)
        self.device = device
        self.path = path
        self._encoder = encoder
        self.warnings: list[str] = []     # messages of the last generate call (OOM fallback)

    @classmethod
    def from_checkpoint(cls, path, device: str = "cpu", encoder=None) -> "Generator":
        path = Path(path)
        ck = load_checkpoint(path)
        model = build_model(ck, path)
        meta = {"dataset": ck["dataset"], "steps": ck.get("steps"),
                "code_version": ck.get("code_version"), "name": ck.get("name", path.stem),
                "train_config": ck.get("train_config"), "val_loss": ck.get("val_loss")}
        return cls(model, ck["mean"].float().numpy(), ck["std"].float().numpy(), meta,
                   device, path, encoder)

    # ------------------------------------------------------------------ properties
    @property
    def licence(self) -> str:
        return str(self.meta.get("dataset", {}).get("licence", "unknown"))

    @property
    def commercial_ok(self) -> bool:
        return bool(self.meta.get("dataset", {}).get("commercial_ok", False))

    @property
    def attribution(self) -> str:
        return str(self.meta.get("dataset", {}).get("attribution", ""))

    # ------------------------------------------------------------------ text
    @property
    def encoder(self):
        if self._encoder is None:
            from ...text.encoder import TextEncoder
            self._encoder = TextEncoder.shared()
        return self._encoder

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """MiniLM embeddings (N, 384), each distinct text encoded once (with the laterality
        code when the model uses one); a ``Blend`` is its base's embedding moved ``weight``
        of the way to its own."""
        plain = [str(t) for t in texts] + [t.base for t in texts if isinstance(t, Blend)]
        unique = list(dict.fromkeys(plain))
        emb = laterality.apply(np.asarray(self.encoder.encode(unique), np.float32), unique,
                               self.cfg.lateral_code)
        index = {t: i for i, t in enumerate(unique)}
        out = emb[[index[str(t)] for t in texts]]
        for i, t in enumerate(texts):
            if isinstance(t, Blend):
                base = emb[index[t.base]]
                out[i] = base + np.float32(t.weight) * (out[i] - base)
        return out

    def predict_seconds(self, texts: Sequence[str], seeds: Sequence[int],
                        mode: str = "sample", embeddings: np.ndarray | None = None) -> list[float]:
        """Length (s) for each text when none is given: a draw from the length predictor's
        distribution with the seed (``mode="sample"``) or its mode."""
        emb = self.encode(texts) if embeddings is None else embeddings
        with torch.inference_mode():
            logits = self.model.length(torch.as_tensor(emb, device=self.device))
        return choose_seconds(logits, list(seeds), self.cfg, mode)

    # ------------------------------------------------------------------ sampling
    def generate(self, texts: Sequence[str], seconds: Sequence[float | None],
                 seeds: Sequence[int], *, keep: Sequence[Keep | None] | None = None,
                 guidance: float = DEFAULT_GUIDANCE, steps: int = DEFAULT_STEPS,
                 length_mode: str = "sample") -> list[np.ndarray]:
        """Features (T_i, 263), unnormalised, 20 rows per second, one array per text.

        seconds[i]: length (0 < s <= 60), or None: the length of ``keep[i]`` if given, else
        predicted from the text (``length_mode``). seeds[i]: the noise (and length draw); the
        same seed gives the same motion whatever else is in the batch. keep[i]: a ``Keep``
        (features to keep exactly; the rest is generated to fit them).
        """
        n = len(texts)
        if not (len(seconds) == len(seeds) == n):
            raise ValueError(f"texts, seconds and seeds must have the same length, got "
                             f"{n}, {len(seconds)}, {len(seeds)}")
        keep = list(keep) if keep is not None else [None] * n
        if len(keep) != n:
            raise ValueError(f"keep must have one entry per text, got {len(keep)} for {n}")
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        if length_mode not in LENGTH_MODES:
            raise ValueError(f"length_mode must be one of {LENGTH_MODES}, got {length_mode!r}")
        self.warnings = []
        if n == 0:
            return []
        emb = self.encode(list(texts))
        masks = [k.full_mask() if k is not None else None for k in keep]
        need = [i for i in range(n) if seconds[i] is None and keep[i] is None]
        predicted = {}
        if need:
            secs = self.predict_seconds([texts[i] for i in need], [seeds[i] for i in need],
                                        length_mode, emb[need])
            predicted = dict(zip(need, secs))
        rows = []
        for i in range(n):
            s = seconds[i]
            if s is None:
                r = (len(keep[i].features) if keep[i] is not None
                     else int(round(predicted[i] * FPS)))
                if not 0 < r <= MAX_SECONDS * FPS:
                    raise ValueError(f"keep has {r} rows; a clip has 1 to "
                                     f"{int(MAX_SECONDS * FPS)} rows ({MAX_SECONDS:g} s)")
            else:
                s = float(s)
                if not (0.0 < s <= MAX_SECONDS):
                    raise ValueError(f"seconds must be more than 0 and at most {MAX_SECONDS:g}, "
                                     f"got {s:g}")
                r = max(1, int(round(s * FPS)))
                if keep[i] is not None and len(keep[i].features) > r:
                    raise ValueError(f"keep has {len(keep[i].features)} rows, more than the "
                                     f"{r} rows of {s:g} s")
            rows.append(r)
        # a thin style's layer re-times the clip to these rows (style_layer.py)
        targets, rows = rows, style_layer.layered_rows(texts, rows, keep)
        known = []
        for i in range(n):
            if keep[i] is None:
                known.append((None, None))
                continue
            k = np.zeros((rows[i], FEATURE_DIM), np.float32)
            m = np.zeros((rows[i], FEATURE_DIM), bool)
            kf = np.asarray(keep[i].features, np.float32)
            k[:len(kf)] = (kf - self.mean) / self.std
            m[:len(kf)] = masks[i]
            known.append((np.where(m, k, 0.0).astype(np.float32), m))
        try:
            out = self._generate_rows(emb, rows, seeds, known, guidance, steps)
        except torch.cuda.OutOfMemoryError:
            if self.device == "cpu":
                raise
            msg = (f"the GPU ran out of memory generating {n} clip(s); generated on the CPU "
                   f"instead")
            warnings.warn(msg)
            self.warnings.append(msg)
            torch.cuda.empty_cache()
            self.model.to("cpu")
            self.device = "cpu"
            out = self._generate_rows(emb, rows, seeds, known, guidance, steps)
        result = []
        for i, x in enumerate(out):
            f = x * self.std + self.mean
            if keep[i] is not None:
                kf = np.asarray(keep[i].features, np.float32)
                f[:len(kf)] = np.where(masks[i], kf, f[:len(kf)])
            result.append(f.astype(np.float32))
        return style_layer.apply_layers(texts, result, targets, keep)

    def _generate_rows(self, emb, rows, seeds, known, guidance, steps) -> list[np.ndarray]:
        W = self.cfg.max_frames
        overlap = int(round(WINDOW_OVERLAP_S * FPS))
        fade = int(round(WINDOW_CROSSFADE_S * FPS))
        hard = overlap - fade
        stride = W - overlap
        starts = [[0] + list(range(stride, max(r - W, 0) + stride, stride)) if r > W else [0]
                  for r in rows]
        gens = [torch.Generator().manual_seed(int(s) & 0x7FFF_FFFF_FFFF_FFFF) for s in seeds]
        result = [np.zeros((r, FEATURE_DIM), np.float32) for r in rows]
        for rnd in range(max(len(s) for s in starts)):
            windows = []
            for i, st in enumerate(starts):
                if rnd >= len(st):
                    continue
                s0 = st[rnd]
                w = min(W, rows[i] - s0)
                k, m = known[i]
                k = None if k is None else k[s0:s0 + w].copy()
                m = None if m is None else m[s0:s0 + w].copy()
                if rnd > 0:
                    if k is None:
                        k = np.zeros((w, FEATURE_DIM), np.float32)
                        m = np.zeros((w, FEATURE_DIM), bool)
                    k[:hard] = result[i][s0:s0 + hard]
                    m[:hard] = True
                windows.append(_Window(i, w, k, m))
            outs = self._sample(windows, emb, gens, guidance, steps)
            for win, x in zip(windows, outs):
                i, s0 = win.item, starts[win.item][rnd]
                if rnd == 0:
                    result[i][:win.rows] = x
                else:
                    a = (np.arange(1, fade + 1, dtype=np.float32) / (fade + 1))[:, None]
                    prev = result[i][s0 + hard:s0 + overlap]
                    result[i][s0 + hard:s0 + overlap] = (1 - a) * prev + a * x[hard:overlap]
                    result[i][s0 + overlap:s0 + win.rows] = x[overlap:]
        return result

    @torch.inference_mode()
    def _sample(self, windows: list[_Window], emb: np.ndarray, gens, guidance: float,
                steps: int) -> list[np.ndarray]:
        dev = self.device
        f = self.cfg.down_factor
        B = len(windows)
        T = -(-max(w.rows for w in windows) // f) * f
        x0 = torch.zeros(B, T, FEATURE_DIM)
        for b, w in enumerate(windows):
            x0[b, :w.rows] = torch.randn(w.rows, FEATURE_DIM, generator=gens[w.item])
        x0 = x0.to(dev)
        lengths = torch.tensor([w.rows for w in windows], device=dev)
        text = torch.as_tensor(emb[[w.item for w in windows]], device=dev)
        known = mask = None
        if any(w.mask is not None for w in windows):
            known = torch.zeros(B, T, FEATURE_DIM)
            mask = torch.zeros(B, T, FEATURE_DIM)
            for b, w in enumerate(windows):
                if w.mask is not None:
                    known[b, :w.rows] = torch.from_numpy(w.known)
                    mask[b, :w.rows] = torch.from_numpy(w.mask.astype(np.float32))
            known, mask = known.to(dev), mask.to(dev)
        net = self.model.flow
        cfg_on = guidance != 1.0
        if cfg_on:
            text_in = torch.cat([text, net.null_text.expand(B, -1)])
            len_in = torch.cat([lengths, lengths])
            known_in = None if known is None else torch.cat([known, known])
            mask_in = None if mask is None else torch.cat([mask, mask])
        x1_pred = self.cfg.prediction == "x1"
        x = x0.clone()
        for i in range(steps):
            _check_cancelled()
            t = i / steps
            if mask is not None:
                x = torch.where(mask > 0, t * known + (1 - t) * x0, x)
            if cfg_on:
                tt = torch.full((2 * B,), t, device=dev)
                out = net(torch.cat([x, x]), tt, text_in, len_in, known_in, mask_in)
                oc, ou = out[:B], out[B:]
                out = ou + guidance * (oc - ou)
            else:
                out = net(x, torch.full((B,), t, device=dev), text, lengths, known, mask)
            # Euler step along the velocity; from a clean-motion prediction the velocity is
            # (x1 - x_t) / (1 - t), so the last step lands exactly on the prediction
            v = (out - x) / (1.0 - t) if x1_pred else out
            x = x + v / steps
        if mask is not None:
            x = torch.where(mask > 0, known, x)
        x = x.float().cpu().numpy()
        return [x[b, :w.rows] for b, w in enumerate(windows)]

    # ------------------------------------------------------------------ clips
    def to_clip(self, features: np.ndarray, meta: dict | None = None, cleanup: bool = True):
        """A canonical ``Clip`` (20 fps) of generated features, standing on the floor, pelvis
        above the origin at frame 0, facing -Y; meta carries the model and its licence.

        cleanup: ground the motion and pin planted feet first
        (``backend.motion.cleanup.clean_features``; it moves the root trajectory a little,
        so edits that must keep given frames bit-exact pass False)."""
        _check_cancelled()
        from ...motion.cleanup import clean_features
        from ...motion.normalize import standardize

        info = {"source": f"text2motion:{self.meta.get('name', 'model')}",
                "licence": self.licence, "commercial_ok": self.commercial_ok,
                "attribution": self.attribution, "cleanup": bool(cleanup)}
        info.update(meta or {})
        f = clean_features(features) if cleanup else features
        clip = H.features_to_clip(np.asarray(f, np.float64), FPS, meta=info)
        return standardize(clip)


_cache_lock = threading.Lock()
_cache: dict[tuple, Generator] = {}


def load_generator(name_or_path: str | Path = "starter", device: str = "cpu",
                   cache: bool = True) -> Generator:
    """A ``Generator`` for a shipped model name ("starter", "clean") or a checkpoint path;
    cached per file (and its modification time) and device. Raises ``CheckpointError``
    (naming the file) for a missing, corrupt or mismatched checkpoint. A CUDA device that is
    not available falls back to the CPU with a warning."""
    path = checkpoint_path(name_or_path)
    if device.startswith("cuda") and not torch.cuda.is_available():
        warnings.warn(f"device {device!r} is not available; using the CPU")
        device = "cpu"
    if not cache:
        return Generator.from_checkpoint(path, device)
    mtime = path.stat().st_mtime if path.is_file() else None
    key = (str(path.resolve()), mtime, device)
    with _cache_lock:
        gen = _cache.get(key)
        if gen is None:
            gen = Generator.from_checkpoint(path, device)
            for k in [k for k in _cache if k[0] == key[0] and k[2] == device]:
                del _cache[k]                  # an older version of the same file
            _cache[key] = gen
        return gen


def random_generator(cfg: ModelConfig, seed: int = 0, name: str = "untrained") -> Generator:
    """A ``Generator`` of randomly initialised weights (every matrix, the zero-initialised
    output layers included, drawn from N(0, 0.02^2)) and identity normalisation: its output
    depends on text, length and noise like a trained model's, but means nothing. For timing
    and for tests of the sampling plumbing."""
    torch.manual_seed(seed)
    net = Text2Motion(cfg)
    with torch.no_grad():
        for p in net.parameters():
            if p.ndim >= 2:
                torch.nn.init.normal_(p, std=0.02)
    return Generator(net, np.zeros(FEATURE_DIM), np.ones(FEATURE_DIM),
                     {"name": name, "dataset": {}}, "cpu")


# ----------------------------------------------------------------------------- benchmark
