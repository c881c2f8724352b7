"""The floor forces the feet should push with: contact-force distribution for the tracking
controller (issue 11). Numpy + mujoco + scipy.

The root of a floating body has no motor. Computed torque gives the generalized force the
desired accelerations need, root rows included; a body can only make that root force by
pushing on the floor. ``ContactPlanner.plan`` chooses, at each foot contact MuJoCo reports,
a force inside the friction pyramid (non-negative weights on its four edges), so that
together they give the root rows as nearly as they can (weighted non-negative least
squares). What they cannot give is the residual, which the controller caps and applies on
the root as help. The joint torques subtract the planned forces
(``tau = M qacc* + h - J_c^T f_c``), so the legs push the floor and the floor pushes the
body, as in a whole-body controller.

The forces sit at the contact points (the corners of the foot boxes that touch the floor),
so the centre of pressure stays under the feet: a body leaning past its support gets the
rest from the root, within the cap, not from an impossible ankle torque. Toe forces cost a
thousand times more than the sole's: a plan that loads the toe tips makes the weak ankle
raise the body onto them (measured: a sad walk rose 10 cm on its toes), so the toes push
only where the sole does not touch or cannot give the force.
"""
from __future__ import annotations

import numpy as np

from .mjcf import CANONICAL_NAMES

CONE_MARGIN = 0.8        # the pyramid's edges at this share of the friction coefficient
TORQUE_ROW_WEIGHT = 1.0  # per metre: a root torque error of 1 N m weighs as 1 N of force
HEEL_COST = 1e-3         # weight of a heel-and-sole force's size (picks one of equal plans)
TOE_COST = 1.0           # ... of a toe force's: the toes push only where the sole cannot


class ContactPlanner:
    """Plans floor forces for the humanoid's feet on MjData (module notes): ``collect(d)``
    reads the contacts, ``plan(wanted_root)`` distributes a root wrench over them."""

    def __init__(self, humanoid, friction: float):
        import mujoco
        from scipy.optimize import nnls

        self.mujoco, self.nnls = mujoco, nnls
        m = self.model = humanoid.model
        self.floor = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "floor")
        self.feet = {int(g) for ids in humanoid.foot_geoms.values() for g in ids}
        self.root = slice(humanoid.dof_address[0], humanoid.dof_address[0] + 6)
        mu = CONE_MARGIN * float(friction)
        edges = np.array([[mu, 0, 1], [-mu, 0, 1], [0, mu, 1], [0, -mu, 1]], dtype=np.float64)
        self.edges = (edges / np.linalg.norm(edges, axis=1, keepdims=True)).T   # (3, 4)
        self.row_weight = np.array([1.0, 1.0, 1.0] + [TORQUE_ROW_WEIGHT] * 3)
        self.jacp = np.zeros((3, m.nv))
        toes = {int(humanoid.body_ids[CANONICAL_NAMES.index(n)])
                for n in ("left_foot", "right_foot")}
        self.toes = {g for g in self.feet if int(m.geom_bodyid[g]) in toes}
        self.side = {int(g): i for i, key in enumerate(("left_foot", "right_foot"))
                     for g in humanoid.foot_geoms[key]}
        self.columns: np.ndarray | None = None     # (nv, 4P) generalized force per edge
        self.points = 0

    def collect(self, d, feet=(True, True)) -> None:
        """Read the feet's floor contacts of MjData d; feet (left, right): which feet may
        push (a foot the reference lifts does not, even where the body still has it down).
        Call it before anything that skips collision (inverse dynamics without constraints
        clears the contacts)."""
        mujoco, m = self.mujoco, self.model
        columns, costs = [], []
        for c in range(d.ncon):
            g1, g2 = int(d.contact.geom1[c]), int(d.contact.geom2[c])
            if g1 == self.floor and g2 in self.feet:
                foot = g2
            elif g2 == self.floor and g1 in self.feet:
                foot = g1
            else:
                continue
            if not feet[self.side[foot]]:
                continue
            mujoco.mj_jac(m, d, self.jacp, None, d.contact.pos[c], int(m.geom_bodyid[foot]))
            columns.append(self.jacp.T @ self.edges)
            costs.extend([TOE_COST if foot in self.toes else HEEL_COST] * 4)
        self.points = len(columns)
        self.columns = np.concatenate(columns, axis=1) if columns else None
        self.costs = np.sqrt(np.asarray(costs, dtype=np.float64))

    def plan(self, wanted_root: np.ndarray):
        """For the contacts of the last ``collect``: (the planned floor forces as a
        generalized force (nv,), or None when no foot touches; the root wrench (6,) they
        leave to the residual)."""
        G = self.columns
        if G is None:
            return None, np.array(wanted_root, dtype=np.float64)
        n = G.shape[1]
        A = np.vstack([G[self.root] * self.row_weight[:, None], np.diag(self.costs)])
        b = np.concatenate([wanted_root * self.row_weight, np.zeros(n)])
        weights, _ = self.nnls(A, b, maxiter=20 * n)
        floor = G @ weights
        return floor, wanted_root - floor[self.root]
