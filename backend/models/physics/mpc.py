"""Predictive sampling over PD-target offsets: the smallest sampling MPC (issue 11, item 2).
Numpy + mujoco only.

Every PLAN_EVERY control frames, ``Planner.offset(d, k)`` copies the simulation state
(``mujoco.mj_copyData``), rolls out SAMPLES candidate offsets of the PD targets for HORIZON
control frames with the very controller that runs the simulation (``controller.Controller``),
and keeps the cheapest. A candidate is one constant offset (rad, in each ball joint's tangent
space) of the balance joints - the hips and ankles (hip and ankle strategies) and the lower
spine (upper body) - held over the horizon. The samples are warm-started: the previous best
(decayed towards the reference by DECAY), the reference itself (no offset), and the previous
best plus Gaussian noise (SIGMA). A rollout's cost, summed at the end of each control frame:
the root's position error (m^2) and orientation error (rad^2) against the reference, the mean
squared joint error, and the root wrench it needed (share of body weight, squared) - so the
planner looks for the posture that keeps the body over its feet with the least help.
Seeded: the same clip and options give the same motion.
"""
from __future__ import annotations

import numpy as np

PLAN_EVERY = 6              # control frames between plans (0.1 s at 60 Hz)
HORIZON = 12                # control frames a rollout looks ahead (0.2 s at 60 Hz)
SAMPLES = 6                 # rollouts per plan (the first two: decayed best, no offset)
SIGMA = 0.15                # rad: spread of the sampled offsets
DECAY = 0.8                 # the previous best shrinks by this towards the reference
MAX_OFFSET = 0.35           # rad: no joint is offset further
BALANCE_JOINTS = ("spine1", "left_hip", "right_hip", "left_ankle", "right_ankle")
W_ROOT_POSITION = 100.0     # per m^2
W_ROOT_ROTATION = 10.0      # per rad^2
W_JOINTS = 1.0              # per rad^2 (mean over joints)
W_HELP = 1.0                # per (root force / body weight)^2
SEED = 0


class Planner:
    """Sampling MPC over PD-target offsets for a ``controller.Controller`` (module doc)."""

    def __init__(self, controller, options=None):
        import mujoco

        self.mujoco = mujoco
        self.control = controller
        hum = controller.hum
        self.model = hum.model
        self.scratch = mujoco.MjData(self.model)
        names = list(hum.skeleton.names)
        self.dofs = np.concatenate([np.arange(hum.dof_address[names.index(n)],
                                              hum.dof_address[names.index(n)] + 3)
                                    for n in BALANCE_JOINTS])
        self.best = np.zeros(len(self.dofs))
        self.current = np.zeros(self.model.nv)
        self.rng = np.random.default_rng(SEED)
        self.err = np.zeros(self.model.nv)
        self.weight = hum.weight
        root = hum.dof_address[0]
        self.root_pos = slice(root, root + 3)
        self.root_rot = slice(root + 3, root + 6)
        self.joints = slice(root + 6, self.model.nv)
        self.plans = 0

    def _full(self, small: np.ndarray) -> np.ndarray:
        out = np.zeros(self.model.nv)
        out[self.dofs] = small
        return out

    def _rollout(self, d, k: int, offset: np.ndarray) -> float:
        mujoco, m, s, control = self.mujoco, self.model, self.scratch, self.control
        mujoco.mj_copyData(s, m, d)
        last = len(control.prep.qpos) - 1
        cost = 0.0
        for h in range(HORIZON):
            kk = min(k + h, last - 1)
            help_sq = 0.0
            for i in range(control.prep.substeps):
                force, _torque = control.apply(s, kk, i, offset)
                help_sq += float(force @ force)
                mujoco.mj_step(m, s)
            mujoco.mj_differentiatePos(m, self.err, 1.0, s.qpos, control.prep.qpos[kk + 1])
            e = self.err
            cost += (W_ROOT_POSITION * float(e[self.root_pos] @ e[self.root_pos])
                     + W_ROOT_ROTATION * float(e[self.root_rot] @ e[self.root_rot])
                     + W_JOINTS * float(np.mean(e[self.joints] ** 2))
                     + W_HELP * help_sq / control.prep.substeps / self.weight ** 2)
        return cost

    def offset(self, d, k: int) -> np.ndarray:
        """The PD-target offset (nv,) for control frame k from state d (replanned every
        PLAN_EVERY frames)."""
        if k % PLAN_EVERY:
            return self.current
        n = len(self.dofs)
        candidates = [self.best * DECAY, np.zeros(n)]
        while len(candidates) < SAMPLES:
            candidates.append(self.best + SIGMA * self.rng.standard_normal(n))
        candidates = [np.clip(c, -MAX_OFFSET, MAX_OFFSET) for c in candidates]
        costs = [self._rollout(d, k, self._full(c)) for c in candidates]
        self.best = candidates[int(np.argmin(costs))]
        self.current = self._full(self.best)
        self.plans += 1
        return self.current
