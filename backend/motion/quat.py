"""Quaternion helpers, numpy only. Order is (w, x, y, z) everywhere in Anima.

Every function broadcasts over leading dimensions: a quaternion array has shape (..., 4),
a vector array (..., 3). Quaternions are unit length unless a function says otherwise.
"""
from __future__ import annotations

import numpy as np

EPS = 1e-8


def identity(shape=()) -> np.ndarray:
    """Identity quaternions of shape (*shape, 4)."""
    q = np.zeros(tuple(shape) + (4,), dtype=np.float64)
    q[..., 0] = 1.0
    return q


def normalize(q: np.ndarray) -> np.ndarray:
    return q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), EPS)


def conjugate(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


inverse = conjugate  # for unit quaternions


def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a * b (apply b first, then a)."""
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], axis=-1)


def inv_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """inverse(a) * b."""
    return mul(conjugate(a), b)


def mul_inv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a * inverse(b)."""
    return mul(a, conjugate(b))


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product over the last axis (np.cross is slow on small arrays)."""
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=-1)


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by quaternions q (..., 4)."""
    w = q[..., :1]
    u = q[..., 1:]
    t = 2.0 * _cross(u, v)
    return v + w * t + _cross(u, t)


def inv_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    return rotate(conjugate(q), v)


def from_axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    axis = np.asarray(axis, dtype=np.float64)
    angle = np.asarray(angle, dtype=np.float64)
    axis = axis / np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), EPS)
    half = angle[..., None] * 0.5
    return np.concatenate([np.cos(half), np.sin(half) * axis], axis=-1)


def to_axis_angle(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q = normalize(abs_w(q))
    s = np.linalg.norm(q[..., 1:], axis=-1)
    angle = 2.0 * np.arctan2(s, q[..., 0])
    axis = q[..., 1:] / np.maximum(s[..., None], EPS)
    return axis, angle


def log(q: np.ndarray) -> np.ndarray:
    """Rotation vectors (..., 3): axis * angle of the shorter rotation (angle in [0, pi])."""
    axis, angle = to_axis_angle(q)
    return axis * angle[..., None]


def exp(v: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) of rotation vectors (..., 3) (inverse of ``log``)."""
    v = np.asarray(v, dtype=np.float64)
    return from_axis_angle(v, np.linalg.norm(v, axis=-1))


def abs_w(q: np.ndarray) -> np.ndarray:
    """Same rotation with w >= 0 (the shorter of the two representations)."""
    return np.where(q[..., :1] < 0, -q, q)


def between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest-arc rotation taking direction a (..., 3) onto direction b (..., 3)."""
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), EPS)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), EPS)
    c = np.cross(a, b)
    d = np.sum(a * b, axis=-1, keepdims=True)
    q = np.concatenate([1.0 + d, c], axis=-1)
    # Opposite directions: rotate 180 degrees about any axis perpendicular to a.
    opposite = (1.0 + d[..., 0]) < 1e-8
    if np.any(opposite):
        ortho = np.cross(a, np.array([1.0, 0.0, 0.0]))
        small = np.linalg.norm(ortho, axis=-1) < 1e-6
        ortho = np.where(small[..., None], np.cross(a, np.array([0.0, 1.0, 0.0])), ortho)
        q = np.where(opposite[..., None], np.concatenate([np.zeros_like(d), ortho], axis=-1), q)
    return normalize(q)


def from_matrix(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) to quaternions (..., 4), w >= 0."""
    m = np.asarray(m, dtype=np.float64)
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    # Four candidate solutions; pick the numerically largest per element.
    cands = np.stack([
        np.stack([1 + m00 + m11 + m22, m21 - m12, m02 - m20, m10 - m01], -1),
        np.stack([m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20], -1),
        np.stack([m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21], -1),
        np.stack([m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22], -1),
    ], axis=-2)  # (..., 4, 4)
    diag = np.stack([m00 + m11 + m22, m00, m11, m22], -1)
    diag[..., 1:] -= np.stack([m11 + m22, m00 + m22, m00 + m11], -1)
    best = np.argmax(diag, axis=-1)
    q = np.take_along_axis(cands, best[..., None, None], axis=-2)[..., 0, :]
    return abs_w(normalize(q))


def to_matrix(q: np.ndarray) -> np.ndarray:
    """Quaternions (..., 4) to rotation matrices (..., 3, 3)."""
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], axis=-2)


_AXIS = {"X": np.array([1.0, 0, 0]), "Y": np.array([0, 1.0, 0]), "Z": np.array([0, 0, 1.0])}


def from_euler(angles: np.ndarray, order: str) -> np.ndarray:
    """Intrinsic Euler angles in radians, as BVH writes them.

    `order` names the axes in the order the channels appear (e.g. "ZXY" for
    Zrotation Xrotation Yrotation); the result is R = R(order[0]) R(order[1]) R(order[2]).
    angles: (..., 3) in that same channel order.
    """
    angles = np.asarray(angles, dtype=np.float64)
    q = from_axis_angle(_AXIS[order[0]], angles[..., 0])
    for i in (1, 2):
        q = mul(q, from_axis_angle(_AXIS[order[i]], angles[..., i]))
    return q


def to_euler(q: np.ndarray, order: str) -> np.ndarray:
    """Inverse of from_euler: (..., 4) -> (..., 3) radians in channel order."""
    m = to_matrix(normalize(q))
    i, j, k = ("XYZ".index(order[0]), "XYZ".index(order[1]), "XYZ".index(order[2]))
    # parity: +1 for cyclic orders (XYZ, YZX, ZXY), -1 otherwise
    sign = 1.0 if (j - i) % 3 == 1 else -1.0
    # R = R_i(a) R_j(b) R_k(c); element [i, k] = sign * sin(b)
    sb = np.clip(sign * m[..., i, k], -1.0, 1.0)
    b = np.arcsin(sb)
    gimbal = np.abs(sb) > 1 - 1e-9
    a = np.arctan2(-sign * m[..., j, k], m[..., k, k])
    c = np.arctan2(-sign * m[..., i, j], m[..., i, i])
    # In gimbal lock put all of the remaining rotation into a.
    a_lock = np.arctan2(sign * m[..., k, j], m[..., j, j])
    a = np.where(gimbal, a_lock, a)
    c = np.where(gimbal, 0.0, c)
    return np.stack([a, b, c], axis=-1)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation between a and b (..., 4) at t (...,) in [0, 1]."""
    t = np.asarray(t, dtype=np.float64)[..., None]
    d = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(d < 0, -b, b)
    d = np.abs(d)
    theta = np.arccos(np.clip(d, -1.0, 1.0))
    s = np.sin(theta)
    near = s < 1e-6
    wa = np.where(near, 1.0 - t, np.sin((1.0 - t) * theta) / np.where(near, 1.0, s))
    wb = np.where(near, t, np.sin(t * theta) / np.where(near, 1.0, s))
    return normalize(wa * a + wb * b)


def unroll(q: np.ndarray, axis: int = 0) -> np.ndarray:
    """Flip signs along `axis` (time) so consecutive quaternions lie in the same hemisphere,
    which keeps keyframe interpolation from spinning the long way round. q: (T, ..., 4)."""
    q = np.moveaxis(np.array(q, dtype=np.float64), axis, 0)
    if q.shape[0] > 1:
        # Frame t keeps its sign if it agrees with frame t-1 *as already flipped*, so the
        # signs are a running product of the agreements of the original neighbours.
        agree = np.where(np.sum(q[1:] * q[:-1], axis=-1) < 0, -1.0, 1.0)
        sign = np.concatenate([np.ones_like(agree[:1]), np.cumprod(agree, axis=0)])
        q = q * sign[..., None]
    return np.moveaxis(q, 0, axis)


def to_6d(q: np.ndarray) -> np.ndarray:
    """Continuous 6D rotation representation: the first two columns of the matrix,
    flattened column-major as HumanML3D stores them... (..., 6)."""
    m = to_matrix(q)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def from_6d(d6: np.ndarray) -> np.ndarray:
    a1, a2 = d6[..., :3], d6[..., 3:6]
    b1 = a1 / np.maximum(np.linalg.norm(a1, axis=-1, keepdims=True), EPS)
    b2 = a2 - np.sum(b1 * a2, axis=-1, keepdims=True) * b1
    b2 = b2 / np.maximum(np.linalg.norm(b2, axis=-1, keepdims=True), EPS)
    b3 = np.cross(b1, b2)
    return from_matrix(np.stack([b1, b2, b3], axis=-1))
