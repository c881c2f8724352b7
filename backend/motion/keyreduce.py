"""Key reduction ("clean keys", unbaking): dense per-frame keys -> a sparse, editable set.

Input: a rig's channels sampled on every frame, rotations (T, K, 4) wxyz (Blender's pose-bone
`rotation_quaternion`, one curve per component) and locations (T, K, 3) (pose-bone `location`),
plus tolerances: a position error in metres measured on the rig's joints (bone heads and tails,
by forward kinematics of a `Skeleton`) and a rotation error in degrees per bone (local and
world rotation). Output: ONE shared set of key frames (the same frames on every channel, the
first and last always kept) with Bezier handles for every channel.

The curve we rely on (and check) is exactly what Blender evaluates for Bezier keys:
  * every kept key has the original sample value;
  * between two kept keys a and b, the right handle of a and the left handle of b sit a third
    of the way along in time (a + (b-a)/3, b - (b-a)/3), which makes Blender's time-to-
    parameter solve linear; their values are fitted by least squares to the samples between
    (each curve on its own, `fit_segment`), so tangents are broken at keys (Blender handle
    type FREE, which Blender never recalculates);
  * `evaluate_bezier` replicates Blender's F-curve evaluation for ANY handles
    (BKE_fcurve_correct_bezpart handle shortening, solving x(t) = frame for t, the cubic in t
    for the value, constant extrapolation) on float32-rounded keys and handles, as Blender
    stores them; the reduction checks every frame with it. Quaternion component curves are
    evaluated separately and normalised before the rotation error is measured, as Blender's
    pose evaluation does.

Key choice: a segment's curve depends only on the samples from its first to its last key, so
whether it keeps every frame in between within tolerance is a property of the pair (a, b);
from each kept key the next one is the furthest frame whose segment is valid (greedy; ends
beyond a window that stops yielding valid segments are not tried). Every segment of the
result is valid, so every frame is within tolerance.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import quat
from .skeleton import Skeleton

SAFETY = 0.995        # check against 99.5 % of the tolerance: room for float32 evaluation


# ----------------------------------------------------------------------- Bezier evaluation
def bezier_segment(p0, h0, h1, p1, x):
    """Blender's evaluation of one Bezier segment at time x.

    p0, h0, h1, p1: (..., 2) key, its right handle, the next key's left handle, the next key
    (time, value); x: (...) times inside [p0.x, p1.x]. Returns values (...)."""
    p0, h0, h1, p1 = (np.asarray(a, dtype=np.float64) for a in (p0, h0, h1, p1))
    x = np.asarray(x, dtype=np.float64)
    # Handles reaching past the other key in time are shortened together (correct_bezpart).
    d0 = p0 - h0
    d1 = p1 - h1
    span = p1[..., 0] - p0[..., 0]
    reach = np.abs(d0[..., 0]) + np.abs(d1[..., 0])
    fac = np.where(reach > span, span / np.where(reach > 0, reach, 1.0), 1.0)[..., None]
    h0 = p0 - fac * d0
    h1 = p1 - fac * d1
    # x(t) = x0 (1-t)^3 + 3 x1 t (1-t)^2 + 3 x2 t^2 (1-t) + x3 t^3: monotone for handles
    # inside the segment; solve by Newton steps from the linear guess, bisection-safeguarded.
    xs = np.stack([p0[..., 0], h0[..., 0], h1[..., 0], p1[..., 0]], axis=-1)
    ys = np.stack([p0[..., 1], h0[..., 1], h1[..., 1], p1[..., 1]], axis=-1)
    lo = np.zeros_like(x)
    hi = np.ones_like(x)
    t = np.clip((x - xs[..., 0]) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    for _ in range(40):
        fx = _cubic(xs, t) - x
        lo = np.where(fx < 0, t, lo)
        hi = np.where(fx >= 0, t, hi)
        dx = _cubic_slope(xs, t)
        step = np.where(np.abs(dx) > 1e-12, fx / np.where(np.abs(dx) > 1e-12, dx, 1.0), 0.0)
        t_new = t - step
        bad = (t_new <= lo) | (t_new >= hi) | (np.abs(dx) <= 1e-12)
        t_new = np.where(bad, 0.5 * (lo + hi), t_new)
        if np.all(np.abs(t_new - t) < 1e-13):
            t = t_new
            break
        t = t_new
    return _cubic(ys, t)


def _cubic(c, t):
    s = 1.0 - t
    return (c[..., 0] * s * s * s + 3.0 * c[..., 1] * t * s * s
            + 3.0 * c[..., 2] * t * t * s + c[..., 3] * t * t * t)


def _cubic_slope(c, t):
    s = 1.0 - t
    return 3.0 * ((c[..., 1] - c[..., 0]) * s * s + 2.0 * (c[..., 2] - c[..., 1]) * s * t
                  + (c[..., 3] - c[..., 2]) * t * t)


def evaluate_bezier(co, handle_left, handle_right, x):
    """Evaluate Bezier F-curves at times x, as Blender's `fcurve.evaluate` does.

    co, handle_left, handle_right: (N, C, 2) keys (time, value) of C curves sharing the same
    N sorted key times (float32-rounded here, as Blender stores them); x: (F,) times.
    Returns (F, C). Outside the keys the curve is constant (Blender's default extrapolation)."""
    co, hl, hr = (np.asarray(a, dtype=np.float32).astype(np.float64)
                  for a in (co, handle_left, handle_right))
    x = np.asarray(x, dtype=np.float64)
    keys_x = co[:, 0, 0]
    n = len(keys_x)
    out = np.empty((len(x), co.shape[1]))
    before = x <= keys_x[0]
    after = x >= keys_x[-1]
    out[before] = co[0, :, 1]
    out[after] = co[-1, :, 1]
    inside = ~(before | after)
    if n > 1 and inside.any():
        xi = x[inside]
        seg = np.clip(np.searchsorted(keys_x, xi, side="right") - 1, 0, n - 2)
        on_key = np.abs(keys_x[seg] - xi) < 1e-8
        vals = bezier_segment(co[seg], hr[seg], hl[seg + 1], co[seg + 1],
                              np.broadcast_to(xi[:, None], (len(xi), co.shape[1])))
        vals[on_key] = co[seg[on_key], :, 1]
        out[inside] = vals
    return out


# --------------------------------------------------------------------------- reduction
@dataclass
class ReducedKeys:
    """The kept keys. frames (N,) sample indices (0 and T-1 included); co, handle_left,
    handle_right (N, C, 2) per channel in (sample index, value) units, float32-exact, channels
    ordered K rotations x 4 (w, x, y, z) then K locations x 3. Map time with `to_frames`."""
    frames: np.ndarray
    co: np.ndarray
    handle_left: np.ndarray
    handle_right: np.ndarray
    max_position_error: float      # metres, over all frames and joints (replica evaluation)
    max_rotation_error: float      # degrees, local or world, over all frames and bones

    def to_frames(self, frame_start: float, frame_step: float = 1.0):
        """co, handle_left, handle_right with times as scene frames frame_start + i * step."""
        out = []
        for a in (self.co, self.handle_left, self.handle_right):
            a = a.astype(np.float64).copy()
            a[..., 0] = frame_start + a[..., 0] * frame_step
            out.append(a.astype(np.float32))
        return tuple(out)


def sample_slopes(values: np.ndarray) -> np.ndarray:
    """Central-difference slope per sample (value per sample) of (T, C) values; one-sided at
    the ends, 0 for a single sample."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return np.zeros_like(values)
    return np.gradient(values, axis=0)


def assemble_keys(frames: np.ndarray, values: np.ndarray, slopes: np.ndarray):
    """Keys and handles of the segments between consecutive kept frames (N,) (fit_segment).
    The outer handles of the first and last key mirror their inner ones.
    Returns co, handle_left, handle_right (N, C, 2) float32."""
    n, c = len(frames), values.shape[1]
    co = np.empty((n, c, 2), dtype=np.float32)
    hl, hr = np.empty_like(co), np.empty_like(co)
    co[:, :, 0] = frames[:, None]
    co[:, :, 1] = values[frames]
    for i in range(n - 1):
        _k0, hr[i], hl[i + 1], _k1 = fit_segment(int(frames[i]), int(frames[i + 1]),
                                                 values, slopes)
    if n == 1:
        hl[0], hr[0] = co[0], co[0]
        hl[0, :, 0] -= 1.0
        hr[0, :, 0] += 1.0
    else:
        hl[0] = 2 * co[0] - hr[0]
        hr[-1] = 2 * co[-1] - hl[-1]
    return co, hl, hr


class _ErrorMeter:
    """Error ratio (error / tolerance, max over bones and joints) of evaluated channels
    against the original samples."""

    def __init__(self, rotations, locations, skeleton, bone_index, position_tol, rotation_tol):
        self.K = rotations.shape[1]
        self.skeleton = skeleton
        self.bone_index = bone_index
        self.pos_tol = position_tol * SAFETY
        self.rot_tol = np.radians(rotation_tol) * SAFETY
        self.orig_rot = quat.normalize(rotations)
        self.orig = self._fk(self.orig_rot, locations)

    def _fk(self, rot, loc):
        if self.skeleton is None:
            return None
        T = rot.shape[0]
        J = len(self.skeleton)
        full_rot = quat.identity((T, J))
        full_loc = np.zeros((T, J, 3))
        full_rot[:, self.bone_index] = rot
        full_loc[:, self.bone_index] = loc
        wrot, heads = self.skeleton.fk(full_rot, locations=full_loc)
        tails = heads + quat.rotate(wrot, self.skeleton.tails[None])
        return wrot[:, self.bone_index], np.concatenate([heads, tails], axis=1)

    def ratios(self, frames, values):
        """frames (F,) sample indices, values (F, C) evaluated channels -> (F,) ratios and
        the (F,) position errors (m) and rotation errors (rad) behind them."""
        K = self.K
        rot = quat.normalize(values[:, :4 * K].reshape(-1, K, 4))
        loc = values[:, 4 * K:].reshape(-1, K, 3)
        rot_err = _angle(self.orig_rot[frames], rot).max(axis=1)
        pos_err = np.zeros(len(frames))
        if self.skeleton is not None:
            wrot, pts = self._fk(rot, loc)
            owrot, opts = self.orig[0][frames], self.orig[1][frames]
            rot_err = np.maximum(rot_err, _angle(owrot, wrot).max(axis=1))
            pos_err = np.linalg.norm(pts - opts, axis=-1).max(axis=1)
        return np.maximum(pos_err / self.pos_tol, rot_err / self.rot_tol), pos_err, rot_err


def _angle(a, b):
    """Rotation angle (rad) between unit quaternions a and b (..., 4), sign-insensitive."""
    rel = quat.mul(quat.conjugate(a), b)
    return 2.0 * np.arctan2(np.linalg.norm(rel[..., 1:], axis=-1), np.abs(rel[..., 0]))


def reduce_keys(rotations, locations, skeleton: Skeleton | None = None, bone_index=None,
                position_tol: float = 0.001, rotation_tol: float = 0.5,
                max_segment: int = 512) -> ReducedKeys:
    """Choose shared key frames and handles that reproduce every sample within tolerance.

    rotations: (T, K, 4) wxyz component curves (as keyed: not renormalised, sign as keyed);
    locations: (T, K, 3) pose-bone locations, in the skeleton's units (metres);
    skeleton: the rig's rest skeleton for the position check (None: rotations only);
    bone_index: (K,) skeleton joint of each channel bone (default 0..K-1); joints not listed
        stay at rest in the check;
    position_tol: metres (> 0); rotation_tol: degrees (> 0).
    """
    rotations = np.asarray(rotations, dtype=np.float64)
    locations = np.asarray(locations, dtype=np.float64)
    if rotations.ndim != 3 or rotations.shape[2] != 4:
        raise ValueError(f"rotations must be (T, K, 4), got {rotations.shape}")
    T, K = rotations.shape[:2]
    if locations.shape != (T, K, 3):
        raise ValueError(f"locations must be ({T}, {K}, 3), got {locations.shape}")
    if T == 0:
        raise ValueError("no samples to reduce")
    if not (position_tol > 0 and rotation_tol > 0):
        raise ValueError(f"tolerances must be positive, got {position_tol} m, {rotation_tol} deg")
    if not (np.all(np.isfinite(rotations)) and np.all(np.isfinite(locations))):
        raise ValueError("samples contain NaN or infinite values")
    bone_index = np.arange(K) if bone_index is None else np.asarray(bone_index, dtype=np.int64)
    if skeleton is not None and (bone_index.shape != (K,) or bone_index.min(initial=0) < 0
                                 or bone_index.max(initial=0) >= len(skeleton)):
        raise ValueError(f"bone_index must give a joint of the {len(skeleton)}-joint skeleton "
                         f"for each of the {K} bones")
    values = np.concatenate([rotations.reshape(T, 4 * K), locations.reshape(T, 3 * K)], axis=1)
    slopes = sample_slopes(values)
    meter = _ErrorMeter(rotations, locations, skeleton, bone_index, position_tol, rotation_tol)
    frames = _greedy_keys(T, values, slopes, meter, max_segment)
    co, hl, hr = assemble_keys(frames, values, slopes)
    # The whole result, float32 as Blender stores it, evaluated on every frame.
    evaluated = evaluate_bezier(co, hl, hr, np.arange(T, dtype=np.float64))
    _ratio, pos_err, rot_err = meter.ratios(np.arange(T), evaluated)
    return ReducedKeys(frames, co, hl, hr, float(pos_err.max()),
                       float(np.degrees(rot_err.max())))


def _greedy_keys(T, values, slopes, meter, max_segment) -> np.ndarray:
    """Kept frames: from each kept frame, the furthest end whose segment is within tolerance
    (on the generated 10 s walk of tests/blender/test_clean_keys.py this kept as few keys as
    the optimum found by dynamic programming over all valid segments, at a third of the
    cost)."""
    kept = [0]
    while kept[-1] < T - 1:
        kept.append(max(_valid_ends(kept[-1], T, values, slopes, meter, max_segment)))
    return np.array(kept, dtype=np.int64)


def _valid_ends(a, T, values, slopes, meter, max_segment) -> list[int]:
    """The ends b > a whose segment a..b keeps every frame in it within tolerance (a + 1
    always: no frame in between). The window doubles while its upper half has valid ends."""
    window = 16
    done = a + 1
    valid = [a + 1]
    while True:
        last = min(T - 1, a + window, a + max_segment)
        cands = np.arange(done + 1, last + 1)
        if len(cands) == 0:
            return valid
        ok = _segments_ok(a, cands, values, slopes, meter)
        valid.extend(int(b) for b in cands[ok])
        done = last
        if last == T - 1 or last == a + max_segment or not ok[len(ok) // 2:].any():
            return valid
        window *= 2


def _segments_ok(a, cands, values, slopes, meter) -> np.ndarray:
    """For each candidate end b in cands: every frame a..b within tolerance on the fitted,
    float32-rounded segment."""
    pair_b = np.concatenate([np.full(b - a + 1, b) for b in cands])
    pair_f = np.concatenate([np.arange(a, b + 1) for b in cands])
    idx = np.searchsorted(cands, pair_b)
    co0, hr0, hl1, co1 = (np.stack(x) for x in zip(
        *[fit_segment(a, int(b), values, slopes) for b in cands]))      # (B, C, 2) each
    C = values.shape[1]
    x = np.broadcast_to(pair_f[:, None].astype(np.float64), (len(pair_f), C))
    vals = bezier_segment(co0[idx], hr0[idx], hl1[idx], co1[idx], x)
    ratio = meter.ratios(pair_f, vals)[0]
    worst = np.full(len(cands), -np.inf)
    np.maximum.at(worst, idx, ratio)
    return worst <= 1.0


def fit_segment(a: int, b: int, values: np.ndarray, slopes: np.ndarray, ridge: float = 1e-3):
    """Bezier segment from sample a to sample b (a < b) for all C channels of values (T, C).

    Keys: the samples at a and b. Handles at a third of the segment in time; their values are
    fitted by least squares to the samples strictly between (each curve on its own), pulled
    lightly (`ridge`) towards the central-difference slopes so short segments stay smooth.
    Returns float32 (C, 2) arrays: key a, its right handle, key b's left handle, key b."""
    C = values.shape[1]
    n = b - a
    ya, yb = values[a], values[b]
    ref0 = ya + slopes[a] * n / 3.0
    ref1 = yb - slopes[b] * n / 3.0
    if n > 1:
        t = np.arange(1, n) / n
        s = 1.0 - t
        basis = np.stack([3 * t * s * s, 3 * t * t * s], axis=1)          # (n-1, 2)
        resid = values[a + 1:b] - np.outer(s ** 3, ya) - np.outer(t ** 3, yb)
        lhs = basis.T @ basis + ridge * np.eye(2)
        rhs = basis.T @ resid + ridge * np.stack([ref0, ref1])
        h0, h1 = np.linalg.solve(lhs, rhs)
    else:
        h0, h1 = ref0, ref1
    def point(x, y):
        out = np.empty((C, 2))
        out[:, 0] = x
        out[:, 1] = y
        return out.astype(np.float32)
    return (point(a, ya), point(a + n / 3.0, h0), point(b - n / 3.0, h1), point(b, yb))
