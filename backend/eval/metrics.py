"""Evaluation metrics for generated motion. Numpy (and scipy for the matrix square root).

Distribution metrics work on recognizer features (``backend.eval.recognizer``), as in
action-conditioned generation papers (Action2Motion, ACTOR):

- ``fid(a, b)``: Fréchet distance between Gaussians fitted to two feature sets.
- ``diversity(feats)``: mean Euclidean distance between random pairs of feature vectors.
- ``recognition_accuracy(pred, true)``: fraction of predicted labels equal to the true ones.

Physical metrics work on joint positions **in HumanML3D's Y-up axes** (metres, y = height
above the floor), which is what ``backend.motion.humanml3d.recover_joints`` returns for
features; ``positions_from_features`` wraps it. Positions are (T, 22, 3) in canonical joint
order; ``fps`` is the frame rate (20 for HumanML3D features). Definitions:

- ``foot_skating_ratio``: fraction of frame transitions t -> t+1 in which at least one foot
  joint (left/right ankle or foot(toe) joint) is below ``height`` (5 cm) in *both* frames and
  moves faster than ``speed`` (0.5 m/s, 2.5 cm per frame at 20 fps) horizontally.
- ``ground_penetration``: mean over frames of the depth below y = 0 of the lowest joint
  (0 for frames whose lowest joint is at or above the floor).
- ``floating``: mean over frames of the height of the lowest joint when it is more than
  ``tolerance`` (5 cm) above the floor, 0 otherwise (a jump counts too, so compare with the
  real data's row).
- ``jerk``: mean magnitude (m/s^3) of the third time derivative of the joint positions
  (third finite difference times fps^3), over joints and frames.
"""
from __future__ import annotations

import numpy as np

from ..motion.humanml3d import recover_joints
from ..motion.skeleton import FOOT_JOINTS

FOOT_INDICES = tuple(sorted(FOOT_JOINTS.values()))    # 7, 8 ankles; 10, 11 feet (toes)
SKATE_HEIGHT = 0.05          # m
SKATE_SPEED = 0.5            # m/s
FLOAT_TOLERANCE = 0.05       # m
UP = 1                       # Y-up: the height axis of positions


# --------------------------------------------------------------------------- features
def _as_2d(feats) -> np.ndarray:
    f = np.asarray(feats, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"features must be (N, D), got {f.shape}")
    return f


def fid(feats_a, feats_b, eps: float = 1e-6) -> float:
    """Fréchet distance between N(mu_a, S_a) and N(mu_b, S_b) fitted to (N, D) features:
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))."""
    from scipy import linalg

    a, b = _as_2d(feats_a), _as_2d(feats_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} vs {b.shape[1]}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("FID needs at least 2 samples on each side")
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s_a @ s_b, disp=False)
    if not np.isfinite(covmean).all():
        off = np.eye(s_a.shape[0]) * eps
        covmean = linalg.sqrtm((s_a + off) @ (s_b + off))
    covmean = np.real(covmean)
    d = mu_a - mu_b
    return float(max(d @ d + np.trace(s_a) + np.trace(s_b) - 2.0 * np.trace(covmean), 0.0))


def diversity(feats, pairs: int = 300, seed: int = 0) -> float:
    """Mean Euclidean distance between `pairs` random pairs of distinct rows of (N, D)
    features (Action2Motion's diversity; pairs drawn with replacement across pairs)."""
    f = _as_2d(feats)
    n = len(f)
    if n < 2:
        raise ValueError("diversity needs at least 2 samples")
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, size=pairs)
    j = (i + rng.integers(1, n, size=pairs)) % n          # j != i
    return float(np.linalg.norm(f[i] - f[j], axis=1).mean())


def recognition_accuracy(pred, true) -> float:
    """Fraction of items whose predicted label equals the true one; items whose true label is
    None are left out (NaN when none is left)."""
    pred, true = list(pred), list(true)
    if len(pred) != len(true):
        raise ValueError(f"{len(pred)} predictions for {len(true)} labels")
    pairs = [(p, t) for p, t in zip(pred, true) if t is not None]
    if not pairs:
        return float("nan")
    return float(np.mean([p == t for p, t in pairs]))


# --------------------------------------------------------------------------- physics
def positions_from_features(features) -> np.ndarray:
    """Joint positions (T, 22, 3), Y up, metres, from un-normalised 263-dim features."""
    return recover_joints(features)


def _check_positions(positions) -> np.ndarray:
    p = np.asarray(positions, dtype=np.float64)
    if p.ndim != 3 or p.shape[-1] != 3:
        raise ValueError(f"positions must be (T, J, 3), got {p.shape}")
    return p


def foot_skating_mask(positions, fps: float, height: float = SKATE_HEIGHT,
                      speed: float = SKATE_SPEED, feet=FOOT_INDICES) -> np.ndarray:
    """(T-1, F) bool: foot joint `feet[f]` is near the floor at both ends of transition t and
    slides faster than `speed` (module notes)."""
    p = _check_positions(positions)
    f = p[:, list(feet)]                                     # (T, F, 3)
    low = np.maximum(f[:-1, :, UP], f[1:, :, UP]) < height   # (T-1, F)
    horiz = [k for k in range(3) if k != UP]
    v = np.linalg.norm(f[1:][..., horiz] - f[:-1][..., horiz], axis=-1) * fps
    return low & (v > speed)


def foot_skating_ratio(positions, fps: float, height: float = SKATE_HEIGHT,
                       speed: float = SKATE_SPEED, feet=FOOT_INDICES) -> float:
    """Fraction of transitions in which a foot joint near the floor slides (module notes)."""
    p = _check_positions(positions)
    if len(p) < 2:
        return 0.0
    return float(np.any(foot_skating_mask(p, fps, height, speed, feet), axis=1).mean())


def ground_penetration(positions) -> float:
    """Mean depth (m) of the lowest joint below y = 0 per frame (0 when above)."""
    p = _check_positions(positions)
    lowest = p[..., UP].min(axis=1)
    return float(np.maximum(-lowest, 0.0).mean())


def floating(positions, tolerance: float = FLOAT_TOLERANCE) -> float:
    """Mean over frames of the lowest joint's height where it is above `tolerance` (0 on the
    other frames), metres."""
    p = _check_positions(positions)
    lowest = p[..., UP].min(axis=1)
    return float(np.where(lowest > tolerance, lowest, 0.0).mean())


def jerk(positions, fps: float) -> float:
    """Mean magnitude of the third derivative of joint positions, m/s^3."""
    p = _check_positions(positions)
    if len(p) < 4:
        return 0.0
    d3 = (p[3:] - 3.0 * p[2:-1] + 3.0 * p[1:-2] - p[:-3]) * fps ** 3
    return float(np.linalg.norm(d3, axis=-1).mean())


def physical_metrics(features_list, fps: float = 20.0) -> dict[str, float]:
    """Means over clips of skate / penetration / floating / jerk, from un-normalised feature
    arrays (each (T, 263))."""
    rows = {"skate": [], "penetration": [], "floating": [], "jerk": []}
    weights = []
    for f in features_list:
        p = positions_from_features(f)
        rows["skate"].append(foot_skating_ratio(p, fps))
        rows["penetration"].append(ground_penetration(p))
        rows["floating"].append(floating(p))
        rows["jerk"].append(jerk(p, fps))
        weights.append(len(p))
    if not weights:
        return {k: float("nan") for k in rows}
    w = np.asarray(weights, dtype=np.float64)
    # frame-weighted, so a long clip counts as much as its frames
    return {k: float(np.average(v, weights=w)) for k, v in rows.items()}
