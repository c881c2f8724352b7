"""One control step of the tracking controller: floating-base computed torque with a capped
root residual wrench (see ``track``'s module notes). Numpy + mujoco only.

``Controller(prep, options)`` holds the gains and caps for a prepared clip;
``controller.apply(d, k, i, offset)`` sets ``d.ctrl``, ``d.qfrc_applied`` and the pushes in
``d.xfrc_applied`` for simulation substep i of control frame k and returns the root force
and torque it applied. ``offset`` (nv,) shifts the PD targets (the sampling planner in
``mpc`` searches over it); None tracks the reference as it is. The same object drives the
simulation and the planner's rollouts, so what the planner predicts is what then runs.
"""
from __future__ import annotations

import numpy as np

JOINT_OMEGA = 30.0          # rad/s: joint PD natural frequency (kp = w^2, kd = 2 w)
ROOT_OMEGA = 30.0           # rad/s: root PD natural frequency (horizontal, rotation)
ROOT_OMEGA_UP = 4.0         # rad/s: vertical root PD, soft so the feet carry the weight
FOOT_JOINTS = (7, 8, 10, 11)
UNCOMPENSATED_JOINTS = FOOT_JOINTS   # joints that leave the floor's push to their springs
FOOT_COMPENSATION = 0.0     # share of the floor's push on the feet that the ankles cancel
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
        # The floor's push on the feet is left to the ankle springs, so the feet settle on it.
        self.compensate = np.ones(nv)
        self.spring_cap = np.full(nv, np.inf)
        for j in UNCOMPENSATED_JOINTS:
            self.compensate[hum.dof_address[j]:hum.dof_address[j] + 3] = FOOT_COMPENSATION
        for j in FOOT_JOINTS:
            feet = slice(hum.dof_address[j], hum.dof_address[j] + 3)
            # enough to balance over the foot, too little to launch the body off its toes
            self.spring_cap[feet] = FOOT_SPRING_CAP * hum.weight * hum.height
        kp[up], kd[up] = ROOT_OMEGA_UP ** 2, 2.0 * ROOT_OMEGA_UP
        self.kp, self.kd = kp, kd
        self.force_cap = options.assistance * FULL_FORCE * hum.weight
        self.torque_cap = options.assistance * FULL_TORQUE * hum.weight * hum.height
        self.act_dof = hum.actuator_dof
        self.limit, self.spring = hum.torque_limit, hum.stiffness
        self.push_windows = list(push_windows)
        self.targets = prep.qpos.copy()     # PD targets (N, nq): the reference, or re-solved
        self.err = np.zeros(nv)
        self.contact_force = np.zeros(nv)
        self.mass_matrix = np.zeros((nv, nv))
        self.shortfall, self.coupling = np.zeros(nv), np.zeros(nv)
        # Inverse dynamics without constraints, minus the contact and limit forces of the
        # last step: soft-contact inverse dynamics is too stiff to use inside a feedback loop.
        self.flags = int(m.opt.disableflags)
        self.no_constraints = self.flags | int(mujoco.mjtDisableBit.mjDSBL_CONSTRAINT)

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
        np.multiply(d.qfrc_constraint, self.compensate, out=self.contact_force)
        m.opt.disableflags = self.no_constraints
        mujoco.mj_inverse(m, d)
        m.opt.disableflags = self.flags
        f = d.qfrc_inverse - self.contact_force
        M = self.mass_matrix
        mujoco.mj_fullM(m, d, M)
        # Residual: PD on the root alone (scaled by the body's inertia), capped.
        pd = self.kp[root] * err[root] + self.kd[root] * (v_ref[root] - d.qvel[root])
        wanted = prep.needed[k].copy()
        wanted[:3] += self.hum.mass * pd[:3]            # no lift from turning errors
        wanted[3:] += M[self.r3, self.r3] @ pd[3:]
        force = cap(wanted[:3], self.force_cap)
        torque = cap(wanted[3:], self.torque_cap)
        wrench = np.concatenate([force, torque])
        # The root accelerates by M_rr^-1 (applied - wanted) off its target; the joint
        # torques that still give the wanted joint accelerations carry M_jr times that.
        self.shortfall[root] = np.linalg.solve(M[root, root], wrench - f[root])
        mujoco.mj_mulM(m, d, self.coupling, self.shortfall)
        f = f + self.coupling
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
