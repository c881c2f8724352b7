"""Make the MuJoCo humanoid perform a clip: tracking without training, on one CPU thread.

Reference (``_prepare``): the clip is resampled to an integer multiple of its rate near
60 Hz, feet near the floor are laid flat (``reference.flatten_feet``), and it is put on the
floor: a rolling low percentile of the sole height over 1.5 s is removed from the root, so a
clip that floats, sinks or starts in the air stands on the floor while jumps keep their
flight. Tracking error (mpjpe) is measured against this grounded reference.

Controller (every simulation step, ~480 Hz), floating-base computed torque:
- desired acceleration ``qacc* = qacc_ref + kp (q_ref - q) + kd (qvel_ref - qvel)``;
- ``mujoco.mj_inverse`` without constraints, minus the contact forces of the last step
  (soft-contact inverse dynamics is too stiff for a feedback loop), gives the forces;
- the root residual wrench is a PD on the root (soft vertically, so the feet carry the
  weight) plus the wrench the reference needs beyond what the floor can give
  (``reference.unphysical_wrenches``), capped by ``options.assistance`` (1: 3 x body weight
  and 1.5 x weight x height); the joint torques are corrected for the root acceleration the
  cap leaves (``M_jr M_rr^-1 (applied - wanted)``) so the joints still track;
- joint springs (``mjcf.STIFFNESS``) give the stiffness computed torque lacks when a contact
  holds a light segment; the ankle and toe springs are capped so a foot balances the body
  without launching it; the floor's push on the feet is not cancelled, so they settle on it.
The residual is recorded per frame and reported, so a hard clip degrades gracefully.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ...eval.metrics import floating, foot_skating_ratio, ground_penetration
from .contacts import lock_contacts
from ...motion.clip import Clip
from ...motion.resample import resample_arrays
from .mjcf import Humanoid, build_humanoid, check_skeleton
from .reference import (clip_arrays_from_qpos, describe_start, flatten_feet, ground_offsets,
                        qpos_from_clip, sole_heights, unphysical_wrenches, velocities)

CONTROL_FPS = 60.0
SIM_HZ = 480.0
JOINT_OMEGA = 30.0          # rad/s: joint PD natural frequency (kp = w^2, kd = 2 w)
ROOT_OMEGA = 30.0           # rad/s: root PD natural frequency (horizontal, rotation)
ROOT_OMEGA_UP = 4.0         # rad/s: vertical root PD, soft so the feet carry the weight
FOOT_JOINTS = (7, 8, 10, 11)
FOOT_COMPENSATION = 0.0     # share of the floor's push on the feet that the ankles cancel
FOOT_SPRING_CAP = 0.02      # x weight x height: most the ankle and toe springs push
FULL_FORCE = 3.0            # residual force cap at assistance 1, x body weight
FULL_TORQUE = 1.5           # residual torque cap at assistance 1, x body weight x height
SUCCESS_MPJPE = 0.5         # m: PHC's rule
FALL_HEAD_DROP = 0.35       # x height: head this far below the reference's counts as a fall
HEAD = 15


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
    rots, trans = resample_arrays(clip.local_rotations, clip.root_translation, clip.fps,
                                  control_fps)
    qpos = qpos_from_clip(humanoid, rots, trans)
    per_foot = sole_heights(humanoid, rots, trans)
    first = float(per_foot[0].min())
    qpos = flatten_feet(humanoid, qpos, per_foot - ground_offsets(per_foot.min(axis=1),
                                                                  control_fps)[:, None])
    lowest = sole_heights(humanoid, *clip_arrays_from_qpos(humanoid, qpos)).min(axis=1)
    offsets = ground_offsets(lowest, control_fps)
    offsets[0] = lowest[0] if abs(lowest[0]) > abs(offsets[0]) else offsets[0]
    qpos[:, humanoid.qpos_address[0] + 2] -= offsets
    lowest = lowest - offsets
    qvel, qacc = velocities(humanoid.model, qpos, control_fps)
    needed = unphysical_wrenches(humanoid, qpos, qvel, qacc, lowest, options.friction)
    return _Prepared(humanoid, factor, control_fps, substeps, qpos, qvel, qacc, offsets,
                     describe_start(first), needed)


def _cap(vector: np.ndarray, limit: float) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector if norm <= limit else vector * (limit / max(norm, 1e-12))


def _positions_y_up(clip: Clip) -> np.ndarray:
    return clip.positions()[..., [0, 2, 1]]


def _planted(clip: Clip, when: str) -> dict:
    """Mean horizontal speed (m/s) of the feet where they are planted (footplant's detector,
    the same on the input and the output): sliding, apart from swing feet near the floor."""
    from ...motion.footplant import planted_masks, planted_speed
    return {f"planted_speed_{when}": float(planted_speed(clip, planted_masks(clip)))}


def _physical(clip: Clip, when: str) -> dict:
    """penetration_<when>, floating_<when> (m) and skate_<when> (ratio) of the clip."""
    p = _positions_y_up(clip)
    return {f"penetration_{when}": ground_penetration(p), f"floating_{when}": floating(p),
            f"skate_{when}": foot_skating_ratio(p, clip.fps)}


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
    N, nv = len(prep.qpos), m.nv
    dt = m.opt.timestep
    kp = np.full(nv, JOINT_OMEGA ** 2)
    kd = np.full(nv, 2.0 * JOINT_OMEGA)
    root = slice(hum.dof_address[0], hum.dof_address[0] + 6)
    kp[root], kd[root] = ROOT_OMEGA ** 2, 2.0 * ROOT_OMEGA
    up = hum.dof_address[0] + 2
    r3 = slice(hum.dof_address[0] + 3, hum.dof_address[0] + 6)
    # The floor's push on the feet is left to the ankle springs, so the feet settle on it.
    compensate = np.ones(nv)
    spring_cap = np.full(nv, np.inf)
    for j in FOOT_JOINTS:
        feet = slice(hum.dof_address[j], hum.dof_address[j] + 3)
        compensate[feet] = FOOT_COMPENSATION
        # enough to balance over the foot, too little to launch the body off its toes
        spring_cap[feet] = FOOT_SPRING_CAP * hum.weight * hum.height
    kp[up], kd[up] = ROOT_OMEGA_UP ** 2, 2.0 * ROOT_OMEGA_UP
    force_cap = options.assistance * FULL_FORCE * hum.weight
    torque_cap = options.assistance * FULL_TORQUE * hum.weight * hum.height
    act_dof = hum.actuator_dof
    limit, spring = hum.torque_limit, hum.stiffness
    pelvis_body = int(hum.body_ids[0])
    push_windows = []
    for p in options.pushes:
        body = int(hum.body_ids[hum.skeleton.names.index(p.body)])
        t0 = p.frame / clip.fps
        push_windows.append((t0, t0 + p.seconds, body, np.asarray(p.force, dtype=np.float64)))
    left = set(hum.foot_geoms["left_foot"].tolist())
    right = set(hum.foot_geoms["right_foot"].tolist())

    d.qpos[:] = prep.qpos[0]
    d.qvel[:] = prep.qvel[0]
    sim_qpos = np.empty((N, m.nq))
    contacts = np.zeros((N, 2), dtype=bool)
    residual = np.zeros((N, 6))
    err = np.zeros(nv)
    contact_force = np.zeros(nv)
    mass_matrix, shortfall, coupling = np.zeros((nv, nv)), np.zeros(nv), np.zeros(nv)
    # Inverse dynamics without constraints, minus the contact and limit forces of the last
    # step: soft-contact inverse dynamics is too stiff to use inside a feedback loop.
    flags = int(m.opt.disableflags)
    no_constraints = flags | int(mujoco.mjtDisableBit.mjDSBL_CONSTRAINT)
    timed_out = False
    mujoco.mj_forward(m, d)
    for k in range(N):
        sim_qpos[k] = d.qpos
        for c in range(d.ncon):
            g1, g2 = d.contact.geom1[c], d.contact.geom2[c]
            contacts[k, 0] |= g1 in left or g2 in left
            contacts[k, 1] |= g1 in right or g2 in right
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
        q_ref, v_ref, a_ref, needed = prep.qpos[k], prep.qvel[k], prep.qacc[k], prep.needed[k]
        for i in range(prep.substeps):
            mujoco.mj_differentiatePos(m, err, 1.0, d.qpos, q_ref)
            err += v_ref * (i * dt)
            d.qacc[:] = a_ref + kp * err + kd * (v_ref - d.qvel)
            np.multiply(d.qfrc_constraint, compensate, out=contact_force)
            m.opt.disableflags = no_constraints
            mujoco.mj_inverse(m, d)
            m.opt.disableflags = flags
            f = d.qfrc_inverse - contact_force
            mujoco.mj_fullM(m, d, mass_matrix)
            # Residual: PD on the root alone (scaled by the body's inertia), capped.
            pd = kp[root] * err[root] + kd[root] * (v_ref[root] - d.qvel[root])
            wanted = needed.copy()
            wanted[:3] += hum.mass * pd[:3]            # no lift from turning errors
            wanted[3:] += mass_matrix[r3, r3] @ pd[3:]
            force = _cap(wanted[:3], force_cap)
            torque = _cap(wanted[3:], torque_cap)
            wrench = np.concatenate([force, torque])
            # The root accelerates by M_rr^-1 (applied - wanted) off its target; the joint
            # torques that still give the wanted joint accelerations carry M_jr times that.
            shortfall[root] = np.linalg.solve(mass_matrix[root, root], wrench - f[root])
            mujoco.mj_mulM(m, d, coupling, shortfall)
            f = f + coupling
            f += np.clip(spring * err, -spring_cap, spring_cap)
            d.ctrl[:] = np.clip(f[act_dof], -limit[act_dof], limit[act_dof])
            d.qfrc_applied[root] = wrench
            residual[k, :3] += force / prep.substeps
            rot = d.xmat[pelvis_body].reshape(3, 3)
            residual[k, 3:] += rot @ torque / prep.substeps
            if push_windows:
                now = (k * prep.substeps + i) * dt
                d.xfrc_applied[:] = 0.0
                for t0, t1, body, push in push_windows:
                    if t0 <= now < t1:
                        d.xfrc_applied[body, :3] += push
            mujoco.mj_step(m, d)
    if progress is not None:
        progress(1.0, "physics done")
    return _finish(clip, prep, sim_qpos, contacts, residual, timed_out, options,
                   time.process_time() - cpu0)


def _finish(clip, prep, sim_qpos, contacts, residual, timed_out, options, cpu_s) -> TrackResult:
    hum = prep.humanoid
    every = slice(None, None, prep.factor)
    rots, trans = clip_arrays_from_qpos(hum, sim_qpos[every])
    meta = dict(clip.meta)
    meta["physics"] = {"assistance": options.assistance, "friction": options.friction,
                       "gravity": options.gravity}
    out = Clip(rots, trans, clip.fps, clip.skeleton, meta)
    cflags = contacts[::prep.factor]
    foot_contacts = {"left_foot": cflags[:, 0].copy(), "right_foot": cflags[:, 1].copy()}
    simulated = out
    out = lock_contacts(out, foot_contacts)        # feet still where the floor holds them
    target = clip.skeleton.fk(*clip_arrays_from_qpos(hum, prep.qpos[every]))[1]
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
        "tracking_error_mm_mean": float(mpjpe.mean() * 1000),
        "tracking_error_mm_max": float(mpjpe.max() * 1000),
        "residual_force_N_mean": float(force.mean()), "residual_force_N_max": float(force.max()),
        "residual_force_pct_weight_mean": float(force.mean() / hum.weight * 100),
        "residual_force_pct_weight_max": float(force.max() / hum.weight * 100),
        "residual_torque_Nm_mean": float(torque.mean()),
        "residual_torque_Nm_max": float(torque.max()),
        **_physical(clip, "before"), **_physical(out, "after"),
        "skate_after_simulated": _physical(simulated, "x")["skate_x"],
        **_planted(clip, "before"), **_planted(out, "after"),
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
        report["message"] = f"the character fell at frame {fell_frame}"
    report["warnings"] = warnings
    return TrackResult(out, foot_contacts,
                       res, mpjpe, fell_frame is not None, fell_frame, success, report)


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
