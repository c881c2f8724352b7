"""Make the MuJoCo humanoid perform a clip: tracking without training, on one CPU thread.

Reference (``_prepare``): the feet the input plants are held still
(``footplant.keep_feet_planted``: the body tracks where a foot is put down, not how the
input slides it), the clip is resampled to an integer multiple of its rate near 60 Hz, feet
near the floor are laid flat (``reference.flatten_feet``), and it is put on the floor: a
rolling low percentile of the sole height over 1.5 s is removed from the root, so a clip that
floats, sinks or starts in the air stands on the floor while jumps keep their flight.
Tracking error (mpjpe) is measured against this grounded reference.

Controller (``controller.Controller``, every simulation step, ~480 Hz), floating-base
computed torque:
- desired acceleration ``qacc* = qacc_ref + kp (q_ref - q) + kd (qvel_ref - qvel)``;
- ``mujoco.mj_inverse`` without constraints gives the forces, the root's rows included;
- ``contact_plan.ContactPlanner`` chooses forces at the feet's floor contacts, inside the
  friction pyramid, that give the root's rows as nearly as they can; the joint torques
  subtract them, so the legs push the floor and the floor pushes the body. Only a foot the
  reference has on the floor pushes: one the body puts down early or lifts late does not;
- the root residual wrench is what the floor cannot give (never pulling down), or, while no
  foot touches or the reference is in the air, the reference's unphysical wrench
  (``reference.unphysical_wrenches``) plus a root PD (soft vertically); it is capped by
  ``options.assistance`` (1: 3 x body weight and 1.5 x weight x height); the joint torques
  are corrected for the root acceleration the cap leaves (``M_jr M_rr^-1 (applied -
  wanted)``) so the joints still track;
- joint springs (``mjcf.STIFFNESS``) give the stiffness computed torque lacks when a contact
  holds a light segment; the ankle and toe springs are capped so a foot balances the body
  without launching it.
The residual is recorded per frame and reported, so a hard clip degrades gracefully.
With ``options.planner`` a sampling MPC (``mpc.Planner``) offsets the PD targets of the
balance joints every 0.1 s. With pushes and ``options.recover`` (default),
``recover.Recovery`` lets the path give way to a push and steps where the capture point
leaves the feet; tracking error is then measured against the reference as it re-aimed it.
Afterwards ``contacts.lock_contacts`` holds each foot still through its MuJoCo contact runs
(an output pass, reported apart: ``*_after_simulated`` are the simulation's own figures,
``*_after`` the returned motion's).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .contacts import lock_contacts
from .controller import Controller
from ...motion.clip import Clip
from ...motion.resample import resample_arrays
from .mjcf import Humanoid, build_humanoid, check_skeleton
from .reference import (CONTACT_TOLERANCE, clip_arrays_from_qpos, describe_start, flatten_feet,
                        ground_offsets, qpos_from_clip, sole_heights, unphysical_wrenches,
                        velocities)
from .mpc import Planner
from .recover import Recovery
from .report import (contact_figures, flight_split, help_warning, physical, push_figures,
                     skate_split)

CONTROL_FPS = 60.0
SIM_HZ = 480.0
SUCCESS_MPJPE = 0.5         # m: PHC's rule
FALL_HEAD_DROP = 0.35       # x height: head this far below the reference's counts as a fall
HEAD = 15
START_EASE_S = 0.5          # s: a clip put on the floor at its first frame eases back
REFERENCE_FEET_STILL = True  # track the input with its planted feet held still


class TrackingCancelled(Exception):
    """Raised by track_clip when its `cancelled` callback returns True."""


@dataclass
class Push:
    """A shove: `force` (3,) newtons in world axes on `body` from input frame `frame` for
    `seconds`."""
    frame: int
    force: tuple = (0.0, 0.0, 0.0)
    seconds: float = 0.1
    body: str = "spine3"


@dataclass
class TrackOptions:
    assistance: float = 0.5          # 0..1 residual root wrench budget
    friction: float = 0.9
    gravity: float = 9.81            # m/s^2, downward
    pushes: tuple = ()               # Push, ...
    max_seconds: float = 300.0       # wall-clock bound: the run stops and says so
    mass_kg: float | None = None     # None: BMI 22 for the character's height
    planner: bool = False            # sampling MPC over PD-target offsets (``mpc.Planner``)
    recover: bool = True             # a pushed body steps to catch itself (``recover.py``)
    first_frame: int = 0             # the clip's first frame in the user's timeline: messages
                                     # name frames from it

    def validate(self) -> None:
        def number(name, value, low, high):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not math.isfinite(value) or not (low <= value <= high):
                raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
        number("assistance", self.assistance, 0.0, 1.0)
        for name in ("friction", "gravity"):
            value = getattr(self, name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        number("friction", self.friction, 1e-6, 5.0)
        number("gravity", self.gravity, 1e-6, 100.0)
        number("max_seconds", self.max_seconds, 1e-3, 86400.0)
        if isinstance(self.first_frame, bool) or not isinstance(self.first_frame,
                                                                 (int, np.integer)):
            raise ValueError(f"first_frame must be an int, got {self.first_frame!r}")
        if not isinstance(self.recover, bool):
            raise ValueError(f"recover must be True or False, got {self.recover!r}")
        if not isinstance(self.planner, bool):
            raise ValueError(f"planner must be True or False, got {self.planner!r}")
        from .mjcf import CANONICAL_NAMES
        for p in self.pushes:
            if not isinstance(p, Push):
                raise ValueError(f"pushes must be Push objects, got {p!r}")
            force = np.asarray(p.force, dtype=np.float64)
            if force.shape != (3,) or not np.isfinite(force).all():
                raise ValueError(f"push force must be 3 finite numbers (N), got {p.force!r}")
            if p.body not in CANONICAL_NAMES:
                raise ValueError(f"push body {p.body!r} is not a canonical joint name")
            number("push seconds", p.seconds, 1e-4, 10.0)
            if not isinstance(p.frame, (int, np.integer)) or p.frame < 0:
                raise ValueError(f"push frame must be a non-negative int, got {p.frame!r}")


@dataclass
class TrackResult:
    clip: Clip                    # simulated motion, same skeleton, fps and frame count
    contacts: dict                # "left_foot"/"right_foot" -> (T,) bool
    residual: np.ndarray          # (T, 6) root force (N) and torque (N m), world axes
    mpjpe: np.ndarray             # (T,) metres against the grounded reference
    fell: bool
    fell_frame: int | None
    success: bool
    report: dict = field(default_factory=dict)
    simulated: Clip | None = None  # the simulation itself, before the contact pass (`clip`)


@dataclass
class _Prepared:
    humanoid: Humanoid
    factor: int                   # control frames per input frame
    control_fps: float
    substeps: int
    qpos: np.ndarray              # (N, nq) grounded reference
    qvel: np.ndarray              # (N, nv)
    qacc: np.ndarray              # (N, nv)
    offsets: np.ndarray           # (N,) height removed from the reference root
    start: str
    needed: np.ndarray            # (N, 6) root wrench the reference needs beyond the floor's
    soles: np.ndarray             # (N, 2) grounded reference's sole heights (left, right), m
    feet_low: np.ndarray          # (N,) the lowest point of either foot box, heels too, m


def _planted_still(clip: Clip) -> Clip:
    """The clip with the feet it plants held still (``footplant.keep_feet_planted``): the
    body tracks where the feet are put down, not how the input slides them."""
    from ...motion.footplant import has_legs, keep_feet_planted
    if clip.num_frames < 3 or not has_legs(clip.skeleton):
        return clip
    return keep_feet_planted(clip, clip, np.arange(clip.num_frames, dtype=np.float64))


def _start_on_the_floor(offsets: np.ndarray, lowest: np.ndarray, fps: float) -> np.ndarray:
    """The grounding offsets with the first frame on the floor when the rolling offset
    leaves it further off (a clip that starts in the air or in the floor), eased back to
    the rolling offsets over START_EASE_S: a step at frame 0 made the reference start with a
    jump (a run starting mid-stride launched the body 30 cm)."""
    first = lowest[0] if abs(lowest[0]) > abs(offsets[0]) else offsets[0]
    n = max(1, int(round(START_EASE_S * fps)))
    x = np.clip(np.arange(len(offsets)) / n, 0.0, 1.0)
    return offsets + (first - offsets[0]) * (1.0 - x * x * (3.0 - 2.0 * x))


def _prepare(clip: Clip, options: TrackOptions) -> _Prepared:
    if not isinstance(clip, Clip):
        raise ValueError(f"expected a Clip, got {type(clip).__name__}")
    if clip.num_frames < 2:
        raise ValueError(f"physics needs at least 2 frames of motion, the clip has "
                         f"{clip.num_frames}; select a longer frame range")
    if not (np.isfinite(clip.local_rotations).all() and np.isfinite(clip.root_translation).all()):
        raise ValueError("the clip contains NaN or infinite values")
    options.validate()
    for p in options.pushes:
        if p.frame >= clip.num_frames:
            raise ValueError(f"push at frame {p.frame} is after the clip's last frame "
                             f"{clip.num_frames - 1}")
    check_skeleton(clip.skeleton)
    factor = max(1, int(round(CONTROL_FPS / clip.fps)))
    control_fps = clip.fps * factor
    substeps = max(1, int(round(SIM_HZ / control_fps)))
    humanoid = build_humanoid(clip.skeleton, options.mass_kg, options.friction, options.gravity,
                              timestep=1.0 / (control_fps * substeps))
    source = _planted_still(clip) if REFERENCE_FEET_STILL else clip
    rots, trans = resample_arrays(source.local_rotations, source.root_translation, clip.fps,
                                  control_fps)
    qpos = qpos_from_clip(humanoid, rots, trans)
    per_foot = sole_heights(humanoid, rots, trans)
    first = float(per_foot[0].min())
    qpos = flatten_feet(humanoid, qpos, per_foot - ground_offsets(per_foot.min(axis=1),
                                                                  control_fps)[:, None])
    soles = sole_heights(humanoid, *clip_arrays_from_qpos(humanoid, qpos))
    lowest = soles.min(axis=1)
    offsets = ground_offsets(lowest, control_fps)
    offsets = _start_on_the_floor(offsets, lowest, control_fps)
    qpos[:, humanoid.qpos_address[0] + 2] -= offsets
    lowest = lowest - offsets
    soles = soles - offsets[:, None]
    # a heel strike touches the floor with the ball and toes up: not flight
    feet_low = sole_heights(humanoid, *clip_arrays_from_qpos(humanoid, qpos),
                            heels=True).min(axis=1)
    qvel, qacc = velocities(humanoid.model, qpos, control_fps)
    needed = unphysical_wrenches(humanoid, qpos, qvel, qacc, lowest, options.friction)
    return _Prepared(humanoid, factor, control_fps, substeps, qpos, qvel, qacc, offsets,
                     describe_start(first), needed, soles, feet_low)


def track_clip(clip: Clip, options: TrackOptions = TrackOptions(), progress=None,
               cancelled=None) -> TrackResult:
    """Simulate the humanoid tracking `clip` (T >= 2 frames, canonical joints) and return
    the physically corrected motion; see the module notes. progress(fraction, message) is
    called now and then; cancelled() -> True stops with TrackingCancelled."""
    import mujoco

    cpu0, wall0 = time.process_time(), time.monotonic()
    prep = _prepare(clip, options)
    hum, m = prep.humanoid, prep.humanoid.model
    d = mujoco.MjData(m)
    N = len(prep.qpos)
    pelvis_body = int(hum.body_ids[0])
    push_windows = []
    for p in options.pushes:
        body = int(hum.body_ids[hum.skeleton.names.index(p.body)])
        t0 = p.frame / clip.fps
        push_windows.append((t0, t0 + p.seconds, body, np.asarray(p.force, dtype=np.float64)))
    control = Controller(prep, options, push_windows)
    planner = Planner(control, options) if options.planner else None
    recovery = Recovery(prep, control, push_windows, options.gravity) \
        if push_windows and options.recover else None
    left = set(hum.foot_geoms["left_foot"].tolist())
    right = set(hum.foot_geoms["right_foot"].tolist())

    d.qpos[:] = prep.qpos[0]
    d.qvel[:] = prep.qvel[0]
    sim_qpos = np.empty((N, m.nq))
    contacts = np.zeros((N, 2), dtype=bool)
    residual = np.zeros((N, 6))
    timed_out = False
    offset = None
    mujoco.mj_forward(m, d)
    for k in range(N):
        sim_qpos[k] = d.qpos
        for c in range(d.ncon):
            g1, g2 = d.contact.geom1[c], d.contact.geom2[c]
            contacts[k, 0] |= g1 in left or g2 in left
            contacts[k, 1] |= g1 in right or g2 in right
        if recovery is not None:        # the last frame too: it sets what the body is
            recovery.update(d, k, contacts[k])      # measured against
        if k == N - 1:
            residual[k] = residual[k - 1]
            break
        if k % 16 == 0:
            if cancelled is not None and cancelled():
                raise TrackingCancelled("physics tracking was cancelled")
            if time.monotonic() - wall0 > options.max_seconds:
                timed_out = True
                sim_qpos[k:] = prep.qpos[k:]
                residual[k:] = residual[k - 1] if k else 0.0
                break
            if progress is not None:
                progress(k / N, f"simulating frame {k // prep.factor} of {clip.num_frames}")
        if planner is not None:
            offset = planner.offset(d, k)
        for i in range(prep.substeps):
            force, torque = control.apply(d, k, i, offset)
            residual[k, :3] += force / prep.substeps
            rot = d.xmat[pelvis_body].reshape(3, 3)
            residual[k, 3:] += rot @ torque / prep.substeps
            mujoco.mj_step(m, d)
    if progress is not None:
        progress(1.0, "physics done")
    steps = [] if recovery is None else [k // prep.factor for k, _side, _land in recovery.log]
    return _finish(clip, prep, sim_qpos, contacts, residual, timed_out, options,
                   time.process_time() - cpu0, planner.plans if planner is not None else 0,
                   control.targets, steps)


def _finish(clip, prep, sim_qpos, contacts, residual, timed_out, options, cpu_s,
            plans, targets, steps) -> TrackResult:
    hum = prep.humanoid
    every = slice(None, None, prep.factor)
    rots, trans = clip_arrays_from_qpos(hum, sim_qpos[every])
    meta = dict(clip.meta)
    meta["physics"] = {"assistance": options.assistance, "friction": options.friction,
                       "gravity": options.gravity, "planner": options.planner}
    out = Clip(rots, trans, clip.fps, clip.skeleton, meta)
    cflags = contacts[::prep.factor]
    foot_contacts = {"left_foot": cflags[:, 0].copy(), "right_foot": cflags[:, 1].copy()}
    simulated = out
    airborne = prep.feet_low[every] > CONTACT_TOLERANCE   # no part of a foot should touch
    # what the body was asked to do: the grounded reference, as a push reaction re-aimed it
    reference = Clip(*clip_arrays_from_qpos(hum, targets[every]), clip.fps, clip.skeleton)
    # feet still where the floor holds them, swinging feet as high as the reference's
    out = lock_contacts(out, foot_contacts, reference, grounded=~airborne)
    target = reference.positions()
    sim_pos = out.positions()
    mpjpe = np.linalg.norm(sim_pos - target, axis=-1).mean(axis=1)
    head_drop = target[:, HEAD, 2] - sim_pos[:, HEAD, 2]
    fallen = (mpjpe > SUCCESS_MPJPE) | (head_drop > FALL_HEAD_DROP * hum.height)
    fell_frame = int(np.argmax(fallen)) if fallen.any() else None
    success = bool(mpjpe.max() <= SUCCESS_MPJPE and not timed_out)
    res = residual[every]
    force = np.linalg.norm(res[:, :3], axis=1)
    torque = np.linalg.norm(res[:, 3:], axis=1)
    warnings = [prep.start] if "put on the floor" in prep.start else []
    report = {
        "frames": clip.num_frames, "fps": clip.fps, "assistance": options.assistance,
        "planner": options.planner, "plans": plans,
        "tracking_error_mm_mean": float(mpjpe.mean() * 1000),
        "tracking_error_mm_max": float(mpjpe.max() * 1000),
        "residual_force_N_mean": float(force.mean()), "residual_force_N_max": float(force.max()),
        "residual_force_pct_weight_mean": float(force.mean() / hum.weight * 100),
        "residual_force_pct_weight_max": float(force.max() / hum.weight * 100),
        "residual_torque_Nm_mean": float(torque.mean()),
        "residual_torque_Nm_max": float(torque.max()),
        **physical(clip, "before"), **physical(out, "after"),
        **physical(simulated, "after_simulated"), **physical(reference, "reference"),
        **contact_figures(simulated, foot_contacts, "simulated"),
        **contact_figures(out, foot_contacts, "after"),
        **flight_split(out, airborne, "after"),
        **flight_split(simulated, airborne, "after_simulated"),
        **skate_split(clip, "before"), **skate_split(reference, "reference"),
        **skate_split(out, "after"),
        "fell": fell_frame is not None, "fell_frame": fell_frame, "success": success,
        "timed_out": timed_out, "start": prep.start,
        "grounding_shift_cm_mean": float(np.abs(prep.offsets).mean() * 100),
        "mass_kg": hum.mass, "cpu_seconds": cpu_s,
        "cpu_s_per_motion_s": cpu_s / max((clip.num_frames - 1) / clip.fps, 1e-9),
    }
    if timed_out:
        warnings.append(f"stopped after max_seconds={options.max_seconds}: the rest of the "
                        "clip is the reference")
    if fell_frame is not None:
        report["message"] = f"the character fell at frame {options.first_frame + fell_frame}"
    helped = help_warning(force / hum.weight * 100, clip.fps, options.first_frame)
    if helped is not None:
        warnings.append(helped)
    report["pushes"], pushed = push_figures(res, mpjpe, options.pushes, clip.fps,
                                            options.first_frame, steps, options.recover)
    warnings.extend(pushed)
    report["warnings"] = warnings
    return TrackResult(out, foot_contacts, res, mpjpe, fell_frame is not None, fell_frame,
                       success, report, simulated)


def needed_force_report(clip: Clip, options: TrackOptions = TrackOptions()) -> dict:
    """Inverse dynamics on the (grounded) reference: the root force no body has that the
    clip needs, frame by frame (``reference.unphysical_wrenches``: the floor gives what lies
    in its friction cone while a sole touches it; torque counts only in the air)."""
    prep = _prepare(clip, options)
    needed = prep.needed[::prep.factor]
    forces = np.linalg.norm(needed[:, :3], axis=1)
    torques = np.linalg.norm(needed[:, 3:], axis=1)
    weight = prep.humanoid.weight
    return {"needed_force_N_mean": float(forces.mean()), "needed_force_N_max": float(forces.max()),
            "needed_force_pct_weight_mean": float(forces.mean() / weight * 100),
            "needed_force_pct_weight_max": float(forces.max() / weight * 100),
            "needed_torque_Nm_mean": float(torques.mean()),
            "needed_torque_Nm_max": float(torques.max()), "start": prep.start}
