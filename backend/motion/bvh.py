"""BVH reading and writing, numpy only.

`read_bvh` turns a BVH file (or its text) into a `BvhData`: a `Skeleton` with identity rest
rotations (BVH joint frames are world-aligned at rest), offsets in metres, pose rotations
(T, J, 4) relative to that rest, the root's world translation (T, 3) in metres and the frame
rate. The file's axes are kept (BVH is Y-up almost always); importers convert with
`backend/motion/axes.py`, the one place where axes change.

Semantics, as most BVH tools read them (Blender's importer included):

- A joint's rotation channels, in the order they are listed, give R = R(c0) R(c1) R(c2)
  (intrinsic; `quat.from_euler(angles, "ZXY")` for `Zrotation Xrotation Yrotation`), degrees.
- Position channels give a joint's translation. Only the root's drive `root_translation`; the
  position channels of other joints (every Bandai-Namco joint has 6 channels) are ignored for
  the pose but kept, in metres, in `BvhData.positions` (components without a channel keep the
  OFFSET value), with a warning when they move more than 1 cm away from the joint's OFFSET.
  Whether the root's channels replace its OFFSET ("absolute", how Blender reads them) or add
  to it ("relative", the original BVH description) differs between exporters: Bandai-Namco
  writes absolute hip positions next to an unrelated "start location" OFFSET, iClone puts the
  hip height in the OFFSET and small channel values. `root_position="auto"` (default) keeps
  them equal when the OFFSET is zero and otherwise picks the reading that brings the lowest
  joint nearest the floor (Y = 0) at some point of the clip. `BvhData.root_position` says
  which was used; pass "absolute" or "relative" when the exporter is known.
- A root with a single child joint (and no End Site) whose child branches (has two or more
  children, like a hip) is a carrier: Bandai-Namco's `joint_Root`
  sits still at the origin while `Hips` carries the motion in its own position channels, and
  iClone's `RL_BoneRoot` holds a Z-up hierarchy upright with a -90 degree X rotation. By
  default (`collapse_root=True`) such a root is folded into its child, exactly (rest frames are
  world-aligned, so the child's world rotation is R_root R_child and its position
  t_root + R_root t_child). Joint 0 is then the joint that really moves; `BvhData.removed_root`
  names the dropped one. iClone's 101-joint files then match its 100-joint ones.
- Tails (where each bone points, `Skeleton.tails`): see `bone_tails`. Leaves point at their
  End Site; a leaf whose End Site is zero-length (Bandai writes `OFFSET 0 0 0`) continues its
  own bone at half length, so every bone has a direction.
- The rest pose is whatever the file's zero rotations give. That is a T-pose for CMU/cgspeed
  and ASF files, but NOT for Bandai-Namco (every bone lies along +X at rest) or iClone (every
  bone along +Y): a retargeter must not read a T-pose from their rest, nor any bone's twist.
  `rebase_rest` moves such a skeleton onto a real pose, exactly (the source readers do, with
  a bind / standing pose per skeleton type).

Units. `scale` multiplies file units into metres. Without it, the unit is guessed from the
skeleton's size, measured pose-independently as the longest path between two joints or End
Sites through the hierarchy (the "tree diameter", roughly toe tip to finger tip: 1.0–1.3 x
the stature of a human). The candidate units are metres (1), CMU ASF units (0.0564444 m:
1/0.45 inch), inches (0.0254), centimetres (0.01) and millimetres (0.001); the one whose
metric diameter comes nearest (in log scale) to 1.9 m wins. That gives these file-unit
ranges: < 8 m, 8–50 ASF, 50–119 in, 119–600 cm, > 600 mm. Decimetres are not a candidate (a
dm-scaled human reads as ASF units); pass `scale` for anything unusual, and for non-human
skeletons. The unit found is in `BvhData.units` ("explicit" when `scale` was given).

Errors raise `BvhError` (a ValueError) naming the file and the line.
"""
from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..fileio import atomic_write
from . import quat
from .skeleton import Skeleton

__all__ = ["BvhError", "BvhData", "read_bvh", "write_bvh", "UNIT_SCALES", "guess_scale",
           "bone_tails", "tree_diameter", "rebase_rest"]


class BvhError(ValueError):
    """A BVH file that cannot be read; the message names the file and, where it helps, the
    line (1-based)."""


# File units -> metres, for the unit heuristic.
UNIT_SCALES = {"m": 1.0, "asf": 2.54 / 45.0, "inch": 0.0254, "cm": 0.01, "mm": 0.001}
_TYPICAL_DIAMETER_M = 1.9
_POS_CHANNELS = {"Xposition": 0, "Yposition": 1, "Zposition": 2}
_ROT_CHANNELS = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}
_CHANNEL_NAMES = {name.lower(): name for name in (*_POS_CHANNELS, *_ROT_CHANNELS)}
_MOVING_POSITION_WARN_M = 0.01


@dataclass
class BvhData:
    """What `read_bvh` returns. Lengths in metres, axes as in the file (usually Y-up)."""
    skeleton: Skeleton                 # identity rest rotations, offsets (J, 3) in metres
    local_rotations: np.ndarray        # (T, J, 4) wxyz, relative to the (identity) rest
    root_translation: np.ndarray       # (T, 3) world position of joint 0, metres
    fps: float                         # 1 / Frame Time (rounded when within 0.1% of an integer)
    frame_time: float                  # seconds, as written in the file
    channels: list                     # per joint: tuple of channel names, as in the file
    end_sites: dict                    # joint index -> End Site offset (3,), metres
    positions: dict = field(default_factory=dict)   # joint name -> (T, 3) position channels
    scale: float = 1.0                 # file units -> metres
    units: str = "m"                   # "m" | "asf" | "inch" | "cm" | "mm" | "explicit"
    name: str = "<string>"             # file name used in messages
    removed_root: str | None = None    # carrier root folded away by collapse_root
    root_position: str = "absolute"    # how root position channels were read (see read_bvh)
    warnings: list = field(default_factory=list)
    declared_frames: int = 0           # the Frames: value in the header

    @property
    def num_frames(self) -> int:
        return int(self.local_rotations.shape[0])

    @property
    def names(self) -> list:
        return self.skeleton.names

    def rotation_orders(self) -> list:
        """Per joint: the Euler order of its rotation channels ("" when it has none)."""
        return ["".join(_ROT_CHANNELS[c] for c in ch if c in _ROT_CHANNELS)
                for ch in self.channels]


# ======================================================================================
# reading
# ======================================================================================
class _Joint:
    __slots__ = ("name", "parent", "offset", "channels", "line", "end_site", "first_col")

    def __init__(self, name, parent, line):
        self.name, self.parent, self.line = name, parent, line
        self.offset = None
        self.channels = ()
        self.end_site = None
        self.first_col = 0


def _load_text(path_or_text, name):
    """Return (text, display name)."""
    if isinstance(path_or_text, bytes):
        return path_or_text.decode("utf-8-sig", errors="replace"), name or "<bytes>"
    if isinstance(path_or_text, os.PathLike) or (
            isinstance(path_or_text, str) and "\n" not in path_or_text
            and "HIERARCHY" not in path_or_text):
        p = Path(path_or_text)
        try:
            data = p.read_bytes()
        except OSError as e:
            raise BvhError(f"{name or p}: cannot read BVH file ({e.strerror or e})") from e
        return data.decode("utf-8-sig", errors="replace"), name or p.name
    if not isinstance(path_or_text, str):
        raise TypeError(f"read_bvh expects a path, str or bytes, not {type(path_or_text)!r}")
    return path_or_text, name or "<string>"


def _parse_hierarchy(lines, start, name):
    """Parse HIERARCHY lines[start:] up to MOTION. Returns (joints, motion line index)."""
    joints: list[_Joint] = []
    stack: list = []           # open blocks: a _Joint, or "end" for an End Site block
    pending = None             # joint/end site declared, waiting for its '{'
    i = start
    n = len(lines)
    seen_root = False

    def err(msg, ln):
        raise BvhError(f"{name}, line {ln + 1}: {msg}")

    while i < n:
        raw = lines[i]
        toks = raw.replace("{", " { ").replace("}", " } ").split()
        if not toks:
            i += 1
            continue
        k = 0
        while k < len(toks):
            t = toks[k]
            tu = t.upper()
            if tu == "MOTION":
                if stack or pending is not None:
                    err("MOTION found before the hierarchy's braces are closed", i)
                if not joints:
                    err("HIERARCHY declares no joints", i)
                return joints, i
            if tu in ("ROOT", "JOINT"):
                if pending is not None:
                    err(f"{t} found where '{{' was expected", i)
                if tu == "ROOT":
                    if stack:
                        err("ROOT inside another joint", i)
                    if seen_root:
                        err("more than one ROOT hierarchy is not supported", i)
                    seen_root = True
                    parent = -1
                else:
                    if not stack or not isinstance(stack[-1], _Joint):
                        err("JOINT outside a ROOT block" if not stack
                            else "JOINT inside an End Site", i)
                    parent = joints.index(stack[-1])
                rest = [x for x in toks[k + 1:] if x not in "{}"]
                if not rest:
                    err(f"{t} without a name", i)
                jname = " ".join(rest)
                pending = _Joint(jname, parent, i)
                # the rest of the line is the name; a '{' on it opens the block
                if "{" in toks[k + 1:]:
                    stack.append(pending)
                    joints.append(pending)
                    pending = None
                break
            if tu == "END":
                if k + 1 < len(toks) and toks[k + 1].upper() == "SITE":
                    if not stack or not isinstance(stack[-1], _Joint):
                        err("End Site outside a joint", i)
                    pending = "end"
                    if "{" in toks[k + 2:]:
                        stack.append("end")
                        pending = None
                    break
                err(f"unexpected token {t!r} in HIERARCHY", i)
            if t == "{":
                if pending is None:
                    err("'{' without a ROOT, JOINT or End Site before it", i)
                if isinstance(pending, _Joint):
                    joints.append(pending)
                stack.append(pending)
                pending = None
                k += 1
                continue
            if t == "}":
                if not stack:
                    err("'}' without a matching '{'", i)
                top = stack.pop()
                if isinstance(top, _Joint) and top.offset is None:
                    err(f"joint {top.name!r} has no OFFSET", i)
                k += 1
                continue
            if tu == "OFFSET":
                if not stack:
                    err("OFFSET outside a joint block", i)
                vals = toks[k + 1:k + 4]
                try:
                    off = np.array([float(v) for v in vals], dtype=np.float64)
                except ValueError:
                    err(f"OFFSET needs 3 numbers, got {' '.join(toks[k + 1:])!r}", i)
                if off.shape != (3,) or not np.all(np.isfinite(off)):
                    err(f"OFFSET needs 3 numbers, got {' '.join(toks[k + 1:])!r}", i)
                top = stack[-1]
                if top == "end":
                    owner = stack[-2]
                    if owner.end_site is None:
                        owner.end_site = off
                else:
                    top.offset = off
                k += 4
                continue
            if tu == "CHANNELS":
                if not stack or not isinstance(stack[-1], _Joint):
                    err("CHANNELS outside a joint block", i)
                try:
                    count = int(toks[k + 1])
                except (IndexError, ValueError):
                    err(f"CHANNELS needs a count, got {' '.join(toks[k + 1:])!r}", i)
                names = toks[k + 2:k + 2 + count]
                if len(names) != count or count < 0:
                    err(f"CHANNELS says {count} channels but lists {len(toks) - k - 2}: "
                        f"{' '.join(toks[k + 2:])!r}", i)
                chans = []
                for c in names:
                    canon = _CHANNEL_NAMES.get(c.lower())
                    if canon is None:
                        err(f"unknown channel name {c!r} for joint {stack[-1].name!r} "
                            f"(expected Xposition/Yposition/Zposition/Xrotation/Yrotation/"
                            f"Zrotation)", i)
                    chans.append(canon)
                if sum(c in _ROT_CHANNELS for c in chans) > 3:
                    err(f"joint {stack[-1].name!r} has more than 3 rotation channels", i)
                if len(set(chans)) != len(chans):
                    err(f"joint {stack[-1].name!r} repeats a channel: {' '.join(chans)}", i)
                stack[-1].channels = tuple(chans)
                k += 2 + count
                continue
            err(f"unexpected token {t!r} in HIERARCHY", i)
        i += 1
    raise BvhError(f"{name}: no MOTION section (the file ends inside or after HIERARCHY)")


def tree_diameter(parents, offsets, end_sites=None) -> float:
    """Longest path (sum of offset lengths) between two joints or End Sites of a hierarchy.
    Pose-independent size measure used by the unit heuristic."""
    parents = np.asarray(parents)
    lengths = np.linalg.norm(np.asarray(offsets, dtype=np.float64), axis=-1)
    J = len(parents)
    # deepest descending path from each joint (including end sites)
    down = np.zeros(J)
    if end_sites:
        for j, off in end_sites.items():
            down[j] = float(np.linalg.norm(off))
    best = 0.0
    top2 = [[0.0, 0.0] for _ in range(J)]
    for j in range(J):
        top2[j] = [down[j], 0.0]
    for j in range(J - 1, 0, -1):
        p = parents[j]
        if p < 0:
            continue
        d = top2[j][0] + lengths[j]
        a = top2[p]
        if d > a[0]:
            a[1], a[0] = a[0], d
        elif d > a[1]:
            a[1] = d
    for j in range(J):
        best = max(best, top2[j][0] + top2[j][1])
    return float(best)


def guess_scale(parents, offsets, end_sites=None) -> tuple[float, str]:
    """(metres per file unit, unit name) from the skeleton's size; see the module notes."""
    d = tree_diameter(parents, offsets, end_sites)
    if not d > 0:
        return 1.0, "m"
    best = min(UNIT_SCALES.items(),
               key=lambda kv: abs(math.log(d * kv[1] / _TYPICAL_DIAMETER_M)))
    return best[1], best[0]


def _round_fps(frame_time: float) -> float:
    fps = 1.0 / frame_time
    r = round(fps)
    if r > 0 and abs(fps - r) <= 1e-3 * r:
        return float(r)
    return float(fps)


def _motion_header(lines, i, name):
    """Parse 'MOTION', 'Frames:', 'Frame Time:'. Returns (frames, frame_time, data start)."""
    n = len(lines)
    j = i + 1

    def next_nonempty(j):
        while j < n and not lines[j].strip():
            j += 1
        return j

    j = next_nonempty(j)
    if j >= n:
        raise BvhError(f"{name}, line {i + 1}: MOTION section has no 'Frames:' line")
    m = re.match(r"\s*Frames\s*:?\s*(\S*)\s*$", lines[j], re.IGNORECASE)
    if not m:
        raise BvhError(f"{name}, line {j + 1}: expected 'Frames: <count>', got "
                       f"{lines[j].strip()[:60]!r}")
    try:
        frames = int(m.group(1))
    except ValueError:
        raise BvhError(f"{name}, line {j + 1}: frame count {m.group(1)!r} is not an integer"
                       ) from None
    if frames <= 0:
        raise BvhError(f"{name}, line {j + 1}: the file declares {frames} frames; "
                       f"a BVH clip needs at least one")
    j = next_nonempty(j + 1)
    if j >= n:
        raise BvhError(f"{name}: no 'Frame Time:' line after line {i + 2}")
    m = re.match(r"\s*Frame\s*Time\s*:?\s*(\S*)\s*$", lines[j], re.IGNORECASE)
    if not m:
        raise BvhError(f"{name}, line {j + 1}: expected 'Frame Time: <seconds>', got "
                       f"{lines[j].strip()[:60]!r}")
    try:
        ft = float(m.group(1))
    except ValueError:
        raise BvhError(f"{name}, line {j + 1}: bad Frame Time {m.group(1)!r} "
                       f"(not a number)") from None
    if not (math.isfinite(ft) and ft > 0):
        raise BvhError(f"{name}, line {j + 1}: bad Frame Time {m.group(1)!r} "
                       f"(must be a positive number of seconds)")
    return frames, ft, j + 1


def _diagnose_motion(lines, start, frames, n_chan, name, strict, warn_list):
    """Slow path, run only when the fast parse disagrees: find the offending line.
    Returns the (F, C) array of complete frames when strict=False allows it."""
    rows = []
    line_nos = []
    for k in range(start, len(lines)):
        s = lines[k].split()
        if s:
            rows.append(s)
            line_nos.append(k)
    # non-numeric values first (they are the clearest to report)
    for r, ln in zip(rows, line_nos):
        for col, tok in enumerate(r):
            try:
                float(tok)
            except ValueError:
                raise BvhError(f"{name}, line {ln + 1}: value {col + 1} of the motion line, "
                               f"{tok[:40]!r}, is not a number") from None
    complete = 0
    for idx, (r, ln) in enumerate(zip(rows, line_nos)):
        if len(r) == n_chan:
            if idx < frames:
                complete += 1
            continue
        is_last = idx == len(rows) - 1
        if is_last and len(r) < n_chan and idx < frames:
            break  # a cut-off final line: the file is truncated, handled below
        if idx >= frames:
            break
        raise BvhError(f"{name}, line {ln + 1}: motion line has {len(r)} values, expected "
                       f"{n_chan} (the sum of the CHANNELS counts)")
    if complete < frames:
        msg = (f"{name}: truncated file: the header declares {frames} frames but only "
               f"{complete} complete frame{'s' if complete != 1 else ''} found")
        if strict or complete == 0:
            raise BvhError(msg + ("" if complete == 0 else
                                  " (read_bvh(..., strict=False) keeps the complete frames)"))
        warn_list.append(msg + "; keeping the complete frames")
        warnings.warn(msg + "; keeping the complete frames", stacklevel=3)
        data = np.array(rows[:complete], dtype=np.float64)
        return data
    extra = len(rows) - frames
    msg = (f"{name}: the header declares {frames} frames but the file has {len(rows)} motion "
           f"lines")
    if strict:
        raise BvhError(msg + f" ({extra} extra; read_bvh(..., strict=False) keeps the declared "
                       f"frames)")
    warn_list.append(msg + "; keeping the declared frames")
    warnings.warn(msg + "; keeping the declared frames", stacklevel=3)
    return np.array(rows[:frames], dtype=np.float64)


def read_bvh(path_or_text, scale: float | None = None, *, strict: bool = True,
             collapse_root: bool = True, root_position: str = "auto",
             name: str | None = None) -> BvhData:
    """Read a BVH file.

    path_or_text: a path (str or PathLike), the file's text (a str containing "HIERARCHY" or a
        newline) or its bytes.
    scale: metres per file unit (0.01 for centimetres); None guesses it (see module notes).
    strict: when False, a truncated file keeps its complete frames (with a warning) and extra
        motion lines are dropped, instead of raising BvhError.
    collapse_root: fold a root that has a single, branching child joint into that child (see
        module notes).
    root_position: how the root's position channels combine with its OFFSET: "absolute"
        (they replace it), "relative" (they add to it) or "auto" (see module notes).
    name: the name used in messages (defaults to the file name).
    """
    text, name = _load_text(path_or_text, name)
    lines = text.splitlines()
    # --- HIERARCHY
    h = 0
    while h < len(lines) and not lines[h].strip():
        h += 1
    if h >= len(lines):
        raise BvhError(f"{name}: empty file")
    if lines[h].strip().upper() != "HIERARCHY":
        raise BvhError(f"{name}, line {h + 1}: expected 'HIERARCHY' as the first line, got "
                       f"{lines[h].strip()[:60]!r}")
    joints, m = _parse_hierarchy(lines, h + 1, name)
    frames, frame_time, data_start = _motion_header(lines, m, name)

    J = len(joints)
    col = 0
    for jt in joints:
        jt.first_col = col
        col += len(jt.channels)
    n_chan = col
    warn_list: list[str] = []

    # --- MOTION: every number at once
    data = None
    if n_chan == 0:
        data = np.zeros((frames, 0))
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = np.loadtxt(lines[data_start:], dtype=np.float64, ndmin=2,
                                  comments=None)
        except ValueError:
            data = None
        if data is not None and data.shape != (frames, n_chan):
            data = None
        if data is None:
            data = _diagnose_motion(lines, data_start, frames, n_chan, name, strict, warn_list)
        if not np.all(np.isfinite(data)):
            r, c = np.argwhere(~np.isfinite(data))[0]
            ln = [k for k in range(data_start, len(lines)) if lines[k].strip()][r]
            raise BvhError(f"{name}, line {ln + 1}: value {c + 1} of the motion line is not "
                           f"finite ({data[r, c]})")
    T = data.shape[0]

    # --- rotations, grouped by Euler order
    rots = np.zeros((T, J, 4))
    rots[..., 0] = 1.0
    by_order: dict[str, tuple[list, list]] = {}
    for j, jt in enumerate(joints):
        cols, axes = [], []
        for k, c in enumerate(jt.channels):
            if c in _ROT_CHANNELS:
                cols.append(jt.first_col + k)
                axes.append(_ROT_CHANNELS[c])
        if not cols:
            continue
        # Pad missing axes with zero angles at the end: R(a)R(b)R(c=0) == R(a)R(b).
        order = "".join(axes) + "".join(a for a in "XYZ" if a not in axes)
        js, cs = by_order.setdefault(order, ([], []))
        js.append(j)
        cs.append(cols + [n_chan] * (3 - len(cols)))
    if by_order:
        half = np.empty((T, n_chan + 1))
        np.multiply(data, np.pi / 360.0, out=half[:, :n_chan])   # degrees -> half radians
        half[:, n_chan] = 0.0                                      # the padding column
        for order, (js, cs) in by_order.items():
            rots[:, js] = _euler_half_to_quat(half[:, np.array(cs)], order)

    # --- translations (file units)
    def translation_of(j, mode):
        jt = joints[j]
        t = np.zeros((T, 3)) if mode == "relative" else np.tile(jt.offset, (T, 1))
        has = False
        for k, c in enumerate(jt.channels):
            if c in _POS_CHANNELS:
                t[:, _POS_CHANNELS[c]] = data[:, jt.first_col + k]
                has = True
        if mode == "relative":
            t += jt.offset
        return t, has

    names = [jt.name for jt in joints]
    parents = np.array([jt.parent for jt in joints], dtype=np.int64)
    offsets = np.stack([jt.offset for jt in joints])
    end_sites_raw = {j: jt.end_site for j, jt in enumerate(joints) if jt.end_site is not None}
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        warn_list.append(f"{name}: duplicate joint names {dup}")

    # A carrier root with a single child joint (Bandai's static joint_Root, iClone's Z-up
    # RL_BoneRoot) is folded into that child. Exact: BVH rest frames are world-aligned, so the
    # child's world rotation is R_root R_child and its position t_root + R_root t_child.
    removed_root = None
    mover = 0
    children0 = [j for j in range(1, J) if parents[j] == 0]
    carrier_t = carrier_r = None
    if (collapse_root and len(children0) == 1 and 0 not in end_sites_raw
            and np.count_nonzero(parents == children0[0]) >= 2):
        mover = children0[0]                      # == 1: parents come first
        removed_root = names[0]
        carrier_t, _ = translation_of(0, "absolute")
        carrier_r = rots[:, 0].copy()
        rots[:, mover] = quat.mul(carrier_r, rots[:, mover])
    kp = np.arange(mover, J)

    def root_translation_for(mode):
        t, _ = translation_of(mover, mode)
        if mover:
            t = carrier_t + quat.rotate(carrier_r, t)
        return t

    mode = root_position
    if mode not in ("auto", "absolute", "relative"):
        raise ValueError(f"root_position must be 'auto', 'absolute' or 'relative', got {mode!r}")
    if mode == "auto":
        mode = _guess_root_position_mode(joints[mover], rots[:, kp], parents[kp] - mover,
                                         offsets[kp], root_translation_for)
    root_t = root_translation_for(mode)
    rest_root = offsets[0] + offsets[mover] if mover else offsets[0]

    positions = {}
    moving = []
    for j in kp[1:]:
        t, has = translation_of(j, "absolute")
        if has:
            positions[names[j]] = t
            dev = float(np.max(np.linalg.norm(t - joints[j].offset, axis=-1)))
            moving.append((dev, names[j]))

    # --- units
    new_parents = parents[kp] - mover
    new_parents[0] = -1
    new_offsets = offsets[kp].copy()
    new_offsets[0] = rest_root
    new_end_sites = {int(j - mover): e for j, e in end_sites_raw.items() if j >= mover}
    if scale is None:
        scale_used, units = guess_scale(new_parents, new_offsets, new_end_sites)
    else:
        scale_used, units = float(scale), "explicit"
        if not (math.isfinite(scale_used) and scale_used > 0):
            raise ValueError(f"scale must be a positive number, got {scale!r}")
    big = [(d, n) for d, n in moving if d * scale_used > _MOVING_POSITION_WARN_M]
    if big:
        d, n = max(big)
        warn_list.append(f"{name}: {len(big)} non-root joint(s) have position channels that "
                         f"move away from their OFFSET (largest: {n!r}, {d * scale_used:.3f} m); "
                         f"they are ignored for the pose (see BvhData.positions)")

    new_offsets *= scale_used
    end_sites = {j: e * scale_used for j, e in new_end_sites.items()}
    tails = bone_tails(new_parents, new_offsets, end_sites)
    skel = Skeleton([names[j] for j in kp], new_parents, new_offsets, None, tails)
    return BvhData(
        skeleton=skel,
        local_rotations=rots[:, kp] if mover else rots,
        root_translation=root_t * scale_used,
        fps=_round_fps(frame_time),
        frame_time=frame_time,
        channels=[joints[j].channels for j in kp],
        end_sites=end_sites,
        positions={k: v * scale_used for k, v in positions.items()},
        scale=scale_used,
        units=units,
        name=name,
        removed_root=removed_root,
        root_position=mode,
        warnings=warn_list,
        declared_frames=frames,
    )


def _guess_root_position_mode(root, rots, parents, offsets, root_translation_for):
    """'absolute' (position channels replace the root OFFSET, as Blender reads them) or
    'relative' (they add to it, as the original BVH description says). Files disagree:
    Bandai-Namco writes absolute hip positions next to an unrelated OFFSET, iClone writes
    the hip height in the OFFSET and small channel values. Where the OFFSET is zero the two
    agree. Otherwise the reading that brings the lowest joint nearest the floor (Y = 0) wins,
    judged on the 5th percentile over the clip of each frame's lowest joint (a clip may climb
    or jump, but nearly every clip touches the floor at some point); a tie reads 'absolute'."""
    if not any(c in _POS_CHANNELS for c in root.channels) or not np.any(root.offset):
        return "absolute"
    T = rots.shape[0]
    sel = np.unique(np.linspace(0, T - 1, min(T, 64)).astype(int))
    skel = Skeleton([str(i) for i in range(len(parents))], parents, offsets)
    scores = {}
    for mode in ("absolute", "relative"):
        _, pos = skel.fk(rots[sel], root_translation_for(mode)[sel])
        scores[mode] = abs(float(np.percentile(pos[..., 1].min(axis=1), 5)))
    return "relative" if scores["relative"] < 0.5 * scores["absolute"] else "absolute"


def _euler_half_to_quat(half: np.ndarray, order: str) -> np.ndarray:
    """Same as quat.from_euler(2 * half, order), for half-angles (..., 3), written out."""
    c = np.cos(half)
    s = np.sin(half)
    ax = ["XYZ".index(a) + 1 for a in order]
    q = np.zeros(half.shape[:-1] + (4,))
    q[..., 0] = c[..., 0]
    q[..., ax[0]] = s[..., 0]
    f = np.zeros_like(q)
    for i in (1, 2):
        f[...] = 0.0
        f[..., 0] = c[..., i]
        f[..., ax[i]] = s[..., i]
        q = quat.mul(q, f)
    return q


def bone_tails(parents, offsets, end_sites, eps=1e-4):
    """Tail per joint (metres, joint frame), chosen so each bone points where it visibly goes:

    - a joint with children points at one child's offset. A child at (nearly) the joint's own
      position (a twist or "share" bone, ASF's lhipjoint/lowerback) stands in with its own tail.
      Among several, the one continuing the joint's own bone direction wins (the middle finger
      for a hand, the neck for a chest, the foot for a calf with twist bones); where the joint
      has no bone of its own (a root, a zero-offset joint) the child with the largest subtree
      wins (the spine for a hip root);
    - a leaf points at its End Site; a leaf with a zero End Site (Bandai) continues its own bone
      at half its length.
    """
    J = len(parents)
    tails = np.zeros((J, 3))
    lengths = np.linalg.norm(offsets, axis=-1)
    size = np.ones(J, dtype=np.int64)
    for j in range(J - 1, 0, -1):
        if parents[j] >= 0:
            size[parents[j]] += size[j]
    children = [[] for _ in range(J)]
    for j in range(1, J):
        if parents[j] >= 0:
            children[parents[j]].append(j)
    for j in range(J - 1, -1, -1):
        cands = []
        for c in children[j]:
            v = offsets[c] if lengths[c] > eps else tails[c]
            n = float(np.linalg.norm(v))
            if n > eps:
                cands.append((c, v, n))
        if cands:
            if lengths[j] > eps and parents[j] >= 0:
                own = offsets[j] / lengths[j]
                longest = max(n for _, _, n in cands)
                score = [float(v @ own) / n + 0.01 * n / longest for _, v, n in cands]
            else:
                score = [float(size[c]) for c, _, _ in cands]
            tails[j] = cands[int(np.argmax(score))][1]
            continue
        e = end_sites.get(j)
        if e is not None and np.linalg.norm(e) > eps:
            tails[j] = e
        elif parents[j] >= 0 and lengths[j] > eps:
            tails[j] = 0.5 * offsets[j]
    return tails


def rebase_rest(skeleton: Skeleton, local_rotations, bind_rotations, end_sites=None
                ) -> tuple[Skeleton, np.ndarray]:
    """Give a world-aligned skeleton (BVH semantics) a different rest pose, exactly.

    bind_rotations (J, 4): the world orientation, in the current rest frames, that each joint
    has in the wanted rest pose (identity: keep). Returns (skeleton, local_rotations) with
    identity rest rotations again, offsets B(parent) offset and tails B(joint) tail (recomputed
    with `bone_tails` when `end_sites` {joint: offset} is given), and local rotations
    B(parent) L B(joint)^-1, so world positions are unchanged on every frame (the root
    translation is unchanged too) while "zero rotation" now means the new rest pose.

    Why: Bandai-Namco's and iClone's zero-rotation pose is not a human pose (every bone along
    one axis: +X, or +Y with the legs pointing up), so rest directions and, worse, each bone's
    twist about its own axis mean nothing there; a retargeter that aligns rest frames (and
    measures motion as rotation away from rest) twists limbs and torso. Rebasing them onto a
    real bind or standing pose fixes that without touching the motion."""
    parents = np.asarray(skeleton.parents)
    B = quat.normalize(np.asarray(bind_rotations, dtype=np.float64))
    J = len(parents)
    if B.shape != (J, 4):
        raise ValueError(f"bind_rotations must be ({J}, 4), got {B.shape}")
    if not np.allclose(skeleton.rest_rotations, quat.identity((J,)), atol=1e-6):
        raise ValueError("rebase_rest expects identity rest rotations (BVH semantics)")
    Bp = np.stack([B[p] if p >= 0 else quat.identity() for p in parents])
    offsets = skeleton.offsets.copy()
    offsets[1:] = quat.rotate(Bp[1:], skeleton.offsets[1:])
    if end_sites is not None:
        ends = {int(j): quat.rotate(B[int(j)], np.asarray(e, dtype=np.float64))
                for j, e in end_sites.items()}
        tails = bone_tails(parents, offsets, ends)
    else:
        tails = quat.rotate(B, skeleton.tails)
    q = np.asarray(local_rotations, dtype=np.float64)
    rots = quat.mul(quat.mul(Bp[None], q), quat.conjugate(B)[None])
    skel = Skeleton(list(skeleton.names), parents.copy(), offsets, None, tails)
    return skel, quat.normalize(rots)


# ======================================================================================
# writing
# ======================================================================================
MAX_WRITE_FPS = 1000.0      # a higher frame rate is a typo, and writes gigabytes


def write_bvh(path, skeleton: Skeleton, local_rotations, root_translation, fps: float,
              order: str = "ZXY", scale: float = 100.0) -> Path:
    """Write a BVH file.

    skeleton: identity rest rotations (BVH joint frames are world-aligned; raises ValueError
        otherwise), one root (joint 0), metres.
    local_rotations (T, J, 4), root_translation (T, 3) metres, fps.
    order: Euler channel order for every joint ("ZXY" -> Zrotation Xrotation Yrotation).
    scale: file units per metre (100 writes centimetres).
    The root gets 6 channels (absolute world positions; its OFFSET is written as 0 0 0), the
    other joints 3; each leaf gets an End Site at its tail. Joints are written depth-first
    from the root, so a skeleton whose order is not depth-first reads back reordered.
    Whitespace in joint names becomes '_' (BVH names are single tokens for most readers).
    """
    order = order.upper()
    if sorted(order) != ["X", "Y", "Z"]:
        raise ValueError(f"order must be a permutation of XYZ, got {order!r}")
    J = len(skeleton)
    if not np.allclose(skeleton.rest_rotations, quat.identity((J,)), atol=1e-6):
        bad = [skeleton.names[j] for j in range(J)
               if not np.allclose(skeleton.rest_rotations[j], (1, 0, 0, 0), atol=1e-6)
               and not np.allclose(skeleton.rest_rotations[j], (-1, 0, 0, 0), atol=1e-6)]
        if bad:
            raise ValueError(f"write_bvh needs identity rest rotations (world-aligned joint "
                             f"frames, BVH semantics); joints {bad[:5]} have rotated rests. "
                             f"Bake the rest into the pose first.")
    if np.count_nonzero(skeleton.parents < 0) != 1 or skeleton.parents[0] >= 0:
        raise ValueError("write_bvh needs exactly one root, at index 0")
    q = np.asarray(local_rotations, dtype=np.float64)
    t = np.asarray(root_translation, dtype=np.float64)
    T = q.shape[0]
    if q.shape != (T, J, 4) or t.shape != (T, 3):
        raise ValueError(f"shapes disagree: rotations {q.shape}, translation {t.shape}, "
                         f"skeleton has {J} joints")
    if not (math.isfinite(fps) and 0 < fps <= MAX_WRITE_FPS):
        raise ValueError(f"fps must be a number in (0, {MAX_WRITE_FPS:g}], got {fps}")
    if T < 1:
        raise ValueError(f"nothing to write to {Path(path).name}: the motion has no frames")
    if not (np.isfinite(q).all() and np.isfinite(t).all()):
        frame = int(np.argwhere(~np.isfinite(q).reshape(T, -1).all(1)
                                | ~np.isfinite(t).all(1))[0][0])
        raise ValueError(f"refusing to write {Path(path).name}: the motion has non-finite "
                         f"values (NaN or infinity) from frame {frame}")
    names = [re.sub(r"\s+", "_", n) or f"joint{j}" for j, n in enumerate(skeleton.names)]
    rot_names = " ".join(f"{a}rotation" for a in order)
    children = [[] for _ in range(J)]
    for j in range(1, J):
        children[skeleton.parents[j]].append(j)

    out: list[str] = ["HIERARCHY"]

    def fmt(v):
        return " ".join(f"{x * scale:.6f}" for x in v)

    def emit(j, depth):
        ind = "  " * depth
        if j == 0:
            out.append(f"ROOT {names[j]}")
        else:
            out.append(f"{ind}JOINT {names[j]}")
        out.append(f"{ind}{{")
        # The root's OFFSET is written as zero: its channels then mean the same whether a
        # reader adds them to the OFFSET (the BVH description) or replaces it (Blender).
        out.append(f"{ind}  OFFSET {fmt(skeleton.offsets[j] if j else np.zeros(3))}")
        if j == 0:
            out.append(f"{ind}  CHANNELS 6 Xposition Yposition Zposition {rot_names}")
        else:
            out.append(f"{ind}  CHANNELS 3 {rot_names}")
        if children[j]:
            for c in children[j]:
                emitted.append(c)
                emit(c, depth + 1)
        else:
            out.append(f"{ind}  End Site")
            out.append(f"{ind}  {{")
            out.append(f"{ind}    OFFSET {fmt(skeleton.tails[j])}")
            out.append(f"{ind}  }}")
        out.append(f"{ind}}}")

    # BVH nests blocks depth-first from the root; the motion columns follow that order.
    emitted: list[int] = []

    emitted.append(0)
    emit(0, 0)
    order_idx = np.array(emitted)

    angles = np.degrees(quat.to_euler(quat.normalize(q[:, order_idx]), order))  # (T, J, 3)
    motion = np.concatenate([t * scale, angles.reshape(T, -1)], axis=1)
    out.append("MOTION")
    out.append(f"Frames: {T}")
    out.append(f"Frame Time: {1.0 / fps:.8f}")
    path = Path(path)
    with atomic_write(path, "w", newline="\n") as f:
        f.write("\n".join(out))
        f.write("\n")
        np.savetxt(f, motion, fmt="%.6f")
    return path
