"""One control step of the tracking controller: floating-base computed torque whose root
force comes from the floor, with a capped root residual for the rest (see ``track``'s module
notes). Numpy + mujoco (+ scipy in ``contact_plan``).

``Controller(prep, options)`` holds the gains and caps for a prepared clip;
``controller.apply(d, k, i, offset)`` sets ``d.ctrl``, ``d.qfrc_applied`` and the pushes in
``d.xfrc_applied`` for simulation substep i of control frame k and returns the root force
and torque it applied. ``offset`` (nv,) shifts the PD targets (the sampling planner in
``mpc`` searches over it); None tracks the reference as it is. The same object drives the
simulation and the planner's rollouts, so what the planner predicts is what then runs.

A step:
- desired accelerations: the reference's plus PD (stiff on the joints and on the root's
  horizontal position and orientation, softer vertically);
- inverse dynamics without constraints gives the generalized force they need, root rows
  included;
- ``contact_plan`` chooses the forces the feet touching the floor push with (inside the
  friction pyramid, at the contact points) to give the root rows; the joint torques subtract
  them (``tau = M qacc* + h - J_c^T f_c``), so the legs push the floor; only a foot the
  reference has on the floor pushes (one the body puts down early or lifts late does not);
- the **residual** on the root is what the floor cannot give: the rest of the root rows
  (never pulling down, and lifting no more than the soft vertical PD would), or, while no
  foot touches or the reference is in the air, the reference's own unphysical wrench plus
  the root PD. It is capped by the assistance, and the joint torques are corrected for the
  root acceleration the cap leaves (``M_jr M_rr^-1 (applied - wanted)``) so the joints
  still track.
"""
from __future__ import annotations

import numpy as np

from .contact_plan import ContactPlanner
from .reference import CONTACT_TOLERANCE

JOINT_OMEGA = 30.0          # rad/s: joint PD natural frequency (kp = w^2, kd = 2 w)
ROOT_OMEGA = 30.0           # rad/s: root PD natural frequency (horizontal, rotation)
ROOT_OMEGA_HELP_XY = 15.0   # rad/s: horizontal root PD of the residual (30 as the plan's: on
                            # the 13 held-out and 10 generated clips help 30.4 -> 29.4 % of
                            # the weight, MPJPE 15.7 -> 15.5 mm; 8: 29.4 %, 16.2 mm)
ROOT_OMEGA_UP = 4.0         # rad/s: vertical root PD of the residual, soft: the feet carry
                            # the weight
ROOT_OMEGA_UP_FLOOR = 8.0   # rad/s: vertical root PD the floor's plan asks of the legs (4 let
                            # a jog's push-off lift the body 10 cm too high; 8 and 12: MPJPE
                            # 20.1 -> 17.7 / 16.3 mm and floating 1.61 -> 1.40 / 1.31 cm on
                            # the generated clips, skating 0.112 -> 0.101 / 0.116)
FOOT_JOINTS = (7, 8, 10, 11)
FOOT_SPRING_CAP = 0.02      # x weight x height: most the ankle and toe springs push
FULL_FORCE = 3.0            # residual force cap at assistance 1, x body weight
FULL_TORQUE = 1.5           # residual torque cap at assistance 1, x body weight x height


def cap(vector: np.ndarray, limit: float) -> np.ndarray:
    """`vector` scaled down to norm `limit` when longer."""
    norm = float(np.linalg.norm(vector))
    return vector if norm <= limit else vector * (limit / max(norm, 1e-12))


class Controller:
    """Computed torque + capped root residual for one prepared clip (``track._Prepared``)."""

    def __init__(self, prep, options, push_windows=()):
        import mujoco

        self.mujoco = mujoco
        hum = prep.humanoid
        m = self.model = hum.model
        self.prep, self.hum = prep, hum
        nv = m.nv
        self.dt = m.opt.timestep
        kp = np.full(nv, JOINT_OMEGA ** 2)
        kd = np.full(nv, 2.0 * JOINT_OMEGA)
        root = self.root = slice(hum.dof_address[0], hum.dof_address[0] + 6)
        kp[root], kd[root] = ROOT_OMEGA ** 2, 2.0 * ROOT_OMEGA
        up = hum.dof_address[0] + 2
        self.r3 = slice(hum.dof_address[0] + 3, hum.dof_address[0] + 6)
        self.spring_cap = np.full(nv, np.inf)
        for j in FOOT_JOINTS:
            feet = slice(hum.dof_address[j], hum.dof_address[j] + 3)
            # enough to balance over the foot, too little to launch the body off its toes
            self.spring_cap[feet] = FOOT_SPRING_CAP * hum.weight * hum.height
        kp[up], kd[up] = ROOT_OMEGA_UP ** 2, 2.0 * ROOT_OMEGA_UP
        self.kp_help, self.kd_help = kp[root].copy(), kd[root].copy()   # the residual's PD
        self.kp_help[:2], self.kd_help[:2] = ROOT_OMEGA_HELP_XY ** 2, 2.0 * ROOT_OMEGA_HELP_XY
        kp[up], kd[up] = ROOT_OMEGA_UP_FLOOR ** 2, 2.0 * ROOT_OMEGA_UP_FLOOR
        self.kp, self.kd = kp, kd
        self.force_cap = options.assistance * FULL_FORCE * hum.weight
        self.torque_cap = options.assistance * FULL_TORQUE * hum.weight * hum.height
        self.act_dof = hum.actuator_dof
        self.limit, self.spring = hum.torque_limit, hum.stiffness
        self.push_windows = list(push_windows)
        self.targets = prep.qpos.copy()     # PD targets (N, nq): the reference, or re-aimed
        self.react = None       # (2,) a push's horizontal direction while the body reacts
        self.err = np.zeros(nv)
        self.mass_matrix = np.zeros((nv, nv))
        self.shortfall, self.coupling = np.zeros(nv), np.zeros(nv)
        # Inverse dynamics without constraints: the floor's part is planned, not measured
        # (soft-contact inverse dynamics is too stiff to use inside a feedback loop).
        self.flags = int(m.opt.disableflags)
        self.no_constraints = self.flags | int(mujoco.mjtDisableBit.mjDSBL_CONSTRAINT)
        self.floor = ContactPlanner(hum, options.friction)
        # A foot pushes only where the reference has it on the floor (its sole within
        # CONTACT_TOLERANCE): with the reference in the air, the floor is not counted on,
        # whatever the body touches.
        self.may_push = prep.soles < CONTACT_TOLERANCE    # (N, 2); a push reaction re-sets

    def apply(self, d, k: int, i: int, offset: np.ndarray | None = None):
        """Set the controls of substep i of control frame k on MjData d; returns the applied
        root (force (3,), torque (3,) in the pelvis frame)."""
        mujoco, m, prep = self.mujoco, self.model, self.prep
        root, err = self.root, self.err
        q_ref, v_ref, a_ref = self.targets[k], prep.qvel[k], prep.qacc[k]
        mujoco.mj_differentiatePos(m, err, 1.0, d.qpos, q_ref)
        err += v_ref * (i * self.dt)
        if offset is not None:
            err += offset
        d.qacc[:] = a_ref + self.kp * err + self.kd * (v_ref - d.qvel)
        # before inverse dynamics, which skips collision
        self.floor.collect(d, self.may_push[k])
        m.opt.disableflags = self.no_constraints
        mujoco.mj_inverse(m, d)
        m.opt.disableflags = self.flags
        f = d.qfrc_inverse.copy()
        M = self.mass_matrix
        mujoco.mj_fullM(m, d, M)
        # While no foot that may push touches: the reference's unphysical wrench plus the
        # root PD.
        pd = self.kp_help * err[root] + self.kd_help * (v_ref[root] - d.qvel[root])
        airborne = prep.needed[k].copy()
        airborne[:3] += self.hum.mass * pd[:3]          # no lift from turning errors
        airborne[3:] += M[self.r3, self.r3] @ pd[3:]
        floor, rest = self.floor.plan(f[root])
        if floor is None:
            rest = airborne
        else:
            f -= floor
            rest[2] = min(max(rest[2], 0.0), max(airborne[2], 0.0))
        if self.react is not None:      # a pushed body stops itself: the help does not
            against = float(rest[:2] @ self.react)      # push back against the shove
            if against < 0.0:
                rest[:2] -= against * self.react
        force = cap(rest[:3], self.force_cap)
        torque = cap(rest[3:], self.torque_cap)
        wrench = np.concatenate([force, torque])
        # The root accelerates by M_rr^-1 (applied - wanted) off its target; the joint
        # torques that still give the wanted joint accelerations carry M_jr times that.
        self.shortfall[root] = np.linalg.solve(M[root, root], wrench - f[root])
        mujoco.mj_mulM(m, d, self.coupling, self.shortfall)
        f += self.coupling
        f += np.clip(self.spring * err, -self.spring_cap, self.spring_cap)
        act = self.act_dof
        d.ctrl[:] = np.clip(f[act], -self.limit[act], self.limit[act])
        d.qfrc_applied[root] = wrench
        if self.push_windows:
            now = (k * prep.substeps + i) * self.dt
            d.xfrc_applied[:] = 0.0
            for t0, t1, body, push in self.push_windows:
                if t0 <= now < t1:
                    d.xfrc_applied[body, :3] += push
        return force, torque
