"""Figures of a physics run: what the floor sees of a clip, before and after. Numpy only.

* ``physical(clip, when)``: penetration / floating (m) and the foot skating ratio
  (``eval.metrics``: share of frames with a foot joint under 5 cm moving faster than 0.5 m/s)
  and footplant's planted-foot speed (m/s, the same detector on input and output).
* ``contact_figures(clip, contacts, when)``: how still and how low the feet are on the frames
  the contact labels say they touch the floor (the labels' promise: a labelled foot does not
  slide and touches the floor).
* ``flight_split(clip, airborne, when)``: the floating figure split into the frames where no
  foot should touch the floor (the reference is in the air: jumps, flips) and the others; the
  two parts add up to the floating figure.
* ``push_figures(...)``: per push, the share of its impulse the root help took back and how
  far the body went off the motion.
* ``skate_split(clip, when)``: the foot skating figure split into the transitions where a
  skating foot joint's foot stands at floor level (sliding, or rolling over heel or toes)
  and the rest (a toe passing low in a swing: the ball of the foot rests 7 mm above the
  floor, so a natural swing counts as skating in every step).
"""
from __future__ import annotations

import math

import numpy as np

from ...eval.metrics import (FLOAT_TOLERANCE, floating, foot_skating_mask, foot_skating_ratio,
                             ground_penetration)
from ...motion.clip import Clip

SOLE_JOINTS = {"left_foot": (7, 10), "right_foot": (8, 11)}   # ankle, ball of the foot


def positions_y_up(clip: Clip) -> np.ndarray:
    """Joint positions (T, J, 3) with Y up, as ``eval.metrics`` wants them."""
    return clip.positions()[..., [0, 2, 1]]


def physical(clip: Clip, when: str) -> dict:
    """penetration_<when>, floating_<when> (m), skate_<when> (ratio) and
    planted_speed_<when> (m/s) of `clip`."""
    from ...motion.footplant import planted_masks, planted_speed
    p = positions_y_up(clip)
    return {f"penetration_{when}": ground_penetration(p), f"floating_{when}": floating(p),
            f"skate_{when}": foot_skating_ratio(p, clip.fps),
            f"planted_speed_{when}": float(planted_speed(clip, planted_masks(clip)))}


def contact_figures(clip: Clip, contacts: dict, when: str) -> dict:
    """contact_slide_<when>: mean horizontal speed (m/s) of the labelled foot (the slower of
    its ankle and ball) over transitions labelled in contact at both ends;
    contact_height_<when>: mean over labelled frames of the foot's height above the rest
    pose's (the lower of ankle and ball; 0: touching as at rest);
    contact_frames_<when>: labelled foot-frames. contacts: {"left_foot", "right_foot":
    (T,) bool}."""
    pos = clip.positions()
    _, rest = clip.skeleton.rest_world()
    speeds, heights = [], []
    for key, (ankle, ball) in SOLE_JOINTS.items():
        on = np.asarray(contacts.get(key, np.zeros(len(pos), bool)), bool)[:len(pos)]
        both = on[1:] & on[:-1]
        # a foot rolling over its heel or its ball is not sliding: the slower of the two
        v = np.linalg.norm(np.diff(pos[:, [ankle, ball], :2], axis=0), axis=-1).min(axis=1)
        speeds.append(v[both] * clip.fps)
        lift = pos[:, [ankle, ball], 2] - rest[[ankle, ball], 2]
        heights.append(lift.min(axis=1)[on])
    v, h = np.concatenate(speeds), np.concatenate(heights)
    return {f"contact_slide_{when}": float(v.mean()) if v.size else 0.0,
            f"contact_height_{when}": float(h.mean()) if h.size else 0.0,
            f"contact_frames_{when}": int(h.size)}


TOUCH_LIFT = 0.02           # m: a foot this close to its standing height stands on the floor


def skate_split(clip: Clip, when: str) -> dict:
    """skate_<when>_touching + skate_<when>_swing >= skate_<when> (``physical``): the share
    of transitions in which a skating foot joint (``eval.metrics.foot_skating_ratio``)
    belongs to a foot whose lower point (ankle or ball) is within TOUCH_LIFT of its rest
    height at both ends, and the share in which one skates with its foot off the floor (a
    transition can count in both, with one foot each)."""
    pos = clip.positions()
    _, rest = clip.skeleton.rest_world()
    if len(pos) < 2:
        return {f"skate_{when}_touching": 0.0, f"skate_{when}_swing": 0.0}
    touching, swing = [], []
    y_up = positions_y_up(clip)
    for ankle, ball in SOLE_JOINTS.values():
        skates = foot_skating_mask(y_up, clip.fps, feet=(ankle, ball)).any(axis=1)
        lift = (pos[:, [ankle, ball], 2] - rest[[ankle, ball], 2]).min(axis=1)
        down = np.maximum(lift[1:], lift[:-1]) < TOUCH_LIFT
        touching.append(skates & down)
        swing.append(skates & ~down)
    return {f"skate_{when}_touching": float(np.any(touching, axis=0).mean()),
            f"skate_{when}_swing": float(np.any(swing, axis=0).mean())}


def flight_split(clip: Clip, airborne: np.ndarray, when: str) -> dict:
    """floating_<when>_flight + floating_<when>_ground = floating_<when> (m): the part of the
    mean floating from frames where `airborne` (T,) bool says no foot should touch, and from
    the rest; flight_share: the share of such frames."""
    low = positions_y_up(clip)[..., 1].min(axis=1)
    part = np.where(low > FLOAT_TOLERANCE, low, 0.0)
    T = max(len(low), 1)
    air = np.asarray(airborne, bool)[:len(low)]
    return {f"floating_{when}_flight": float(part[air].sum() / T),
            f"floating_{when}_ground": float(part[~air].sum() / T),
            "flight_share": float(air.mean()) if air.size else 0.0}



HELP_WARN_PCT = 75.0         # % of body weight: a second of help above this gets a warning
HELP_WINDOW_S = 1.0


def help_warning(force_pct: np.ndarray, fps: float, first_frame: int = 0) -> str | None:
    """A warning naming the second where the root help (per frame, % of body weight) was
    largest, when its mean there is above HELP_WARN_PCT: there the simulated body did not
    perform the motion on its own, the help held it up (a motion no body can do, or one this
    controller cannot: runs and jumps are often carried). None otherwise. Frames are named
    from `first_frame` (the clip's first frame in the user's timeline)."""
    pct = np.asarray(force_pct, dtype=np.float64)
    if len(pct) == 0:
        return None
    n = max(1, min(len(pct), int(round(HELP_WINDOW_S * fps))))
    means = np.convolve(pct, np.ones(n) / n, mode="valid")
    start = int(np.argmax(means))
    if means[start] <= HELP_WARN_PCT:
        return None
    a, b = first_frame + start, first_frame + start + n - 1
    return (f"frames {a}-{b}: the body did not do this on its own; the root help held it up "
            f"with {means[start]:.0f}% of its weight on average (the whole clip: "
            f"{pct.mean():.0f}%). Lower Root Assistance to see what it can do alone")


PUSH_SETTLE_S = 0.5          # s after a push over which the help's answer to it is counted
PUSH_WARN_PCT = 50.0         # % of a push's impulse: the help took more, the user is told


def push_figures(residual: np.ndarray, mpjpe: np.ndarray, pushes, fps: float,
                 first_frame: int = 0, steps=(), recovering: bool = False) -> tuple[list, list]:
    """(one dict per push, warnings): how much of each push the root help took back, and
    how far the body went off the motion. residual (T, 6) root force (N, world) and torque
    per frame; mpjpe (T,) m; pushes: ``track.Push`` objects (frames of the clip).

    help_absorbed_pct: the help's impulse against the push over the push and PUSH_SETTLE_S
    after it, less the help the same number of frames before the push gave along the same
    axis (a walk's own help), as % of the push's impulse (0 where the help pushed along with
    it). The rest the floor took, or it
    moved the body. peak_error_mm: the largest tracking error from the push to 1 s after
    (against the reference as the reaction re-aimed it); steps: the frames (of the clip) at
    which a recovery step began within that second. The warning (more than PUSH_WARN_PCT
    taken back) is for runs without recovery (`recovering`): with it the help never pushes
    against a push, and what the figure shows is the help a walk got before it."""
    rows, warnings = [], []
    T = len(residual)
    for push in pushes:
        force = np.asarray(push.force, dtype=np.float64)
        size = float(np.linalg.norm(force))
        if size <= 0 or push.frame >= T:
            continue
        axis = force / size
        a = int(push.frame)
        n = max(1, int(math.ceil((push.seconds + PUSH_SETTLE_S) * fps)))
        along = residual[:, :3] @ axis
        during = along[a:a + n]
        before = along[max(0, a - len(during)):a]
        base = float(before.mean()) if before.size else 0.0
        impulse = size * push.seconds
        absorbed = max(0.0, -float((during - base).sum()) / fps / impulse * 100.0)
        peak = float(mpjpe[a:a + int(round(fps)) + n].max()) * 1000.0
        stop = a + int(round(fps)) + n
        row = {"frame": first_frame + a, "force_N": size, "seconds": float(push.seconds),
               "impulse_Ns": impulse, "help_absorbed_pct": absorbed, "peak_error_mm": peak,
               "steps": [first_frame + int(f) for f in steps if a <= f < stop]}
        rows.append(row)
        if absorbed > PUSH_WARN_PCT and not recovering:
            warnings.append(
                f"the push at frame {row['frame']} ({size:.0f} N for {push.seconds:g} s): the "
                f"root help took {absorbed:.0f}% of it back, so the body went only "
                f"{peak:.0f} mm off the motion. Turn on Step to Recover to let the body take "
                f"the push and step to catch itself (or fall), or lower Root Assistance")
    return rows, warnings
