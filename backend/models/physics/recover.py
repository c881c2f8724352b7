"""A pushed body catches itself with a step (issue 11, perturbations). Numpy + mujoco.

Without it, a push met feet that stay where the reference has them: the root help pulled
the body back onto its path (at the default assistance it took 35-72 % of a push back, and
a 600 N shove moved a standing body 14 mm), and without help a 150 N push felled it.

``Recovery`` runs beside the controller from the start of each push
(``update(d, k, touching)`` before every control frame):

* **The path gives way.** While it reacts, the root's horizontal target follows the body
  (the reference's path plus the body's offset from it) and the help gives no force against
  the push (``Controller.react``): the floor, through the feet, stops the body. When the
  reaction ends the offset stays: the motion resumes from where the push left the body, as
  a person does not walk back to where they were shoved.
* **Feet stay where they stand.** A foot on the floor when the push comes is pinned where
  it is (its leg re-aimed by two-bone IK every frame) until the reference lifts it.
* **A step when balance needs one.** The capture point (the centre of mass plus its
  velocity over sqrt(g / height), the linear inverted pendulum's) is checked every frame;
  when it lies more than ``SUPPORT_MARGIN`` outside the soles of the standing feet (their
  convex hull) and more than ``DEVIATION`` from where the reference's own capture point
  is (plus the offset: a walk's is ahead of its feet at every step), the foot nearer to it
  steps: it lifts ``STEP_HEIGHT`` and lands over ``STEP_SECONDS`` a little past the capture
  point (at most ``MAX_STEP`` leg lengths away), does not push the floor while it swings,
  and is pinned where it lands. Up to ``MAX_STEPS`` steps per push. When the foot nearer the
  capture point is the one standing (a sideways push loads the foot on its side), the other
  foot steps, but never across: where the feet stand abreast it lands at least ``FEET_GAP``
  beside the standing foot, and the next step, the unloaded standing foot's, goes out (in a
  stride, a step past the standing foot is not a crossing).

The reaction ends ``REACT_SECONDS`` after the push once no step is under way. It changes the
PD targets only (``Controller.targets``, ``may_push``), never the simulation's physics.
"""
from __future__ import annotations

import math

import numpy as np

from ...motion.footplant import LEG_NAMES as LEGS
from .reference import CONTACT_TOLERANCE, clip_arrays_from_qpos, qpos_from_clip

REACT_SECONDS = 1.0      # s after a push's end during which the body may step
SUPPORT_MARGIN = 0.06    # m (x height / 1.75): capture point this far outside the feet: step
STEP_SECONDS = 0.3       # s: one step, lift to landing
STEP_HEIGHT = 0.06       # m (x height / 1.75): how high the stepping ankle lifts
OVERSHOOT = 0.05         # m (x height / 1.75): a step lands this far past the capture point
MAX_STEP = 0.8           # x leg length: the longest step
MAX_STEPS = 3            # per push
SIDE_BY_SIDE = 0.7       # cosine between the feet's line and the hips': the feet stand abreast
FEET_GAP = 0.2           # m (x height / 1.75): a step lands at least this far beside the other
                         # (0.14: a 600 N sideways shove at assistance 0.2 fell; 0.2, 0.26: not)
DEVIATION = 0.12         # m (x height / 1.75): ... and this far from the reference's own
HEEL_SHARE = 0.4         # x ankle-to-ball: the sole reaches this far behind the ankle
TOE_SHARE = 0.4          # ... and this far in front of the ball
HALF_WIDTH = 0.045       # m (x height / 1.75): half the sole's width


def _smooth(s: float) -> float:
    s = min(max(s, 0.0), 1.0)
    return s * s * (3.0 - 2.0 * s)


def _distance_to_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    ab = b - a
    t = 0.0 if float(ab @ ab) < 1e-12 else min(max(float((p - a) @ ab / (ab @ ab)), 0.0), 1.0)
    return float(np.linalg.norm(p - (a + t * ab)))


def _cross(o, a, b) -> float:
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def distance_outside(point: np.ndarray, corners: np.ndarray) -> float:
    """How far (m) `point` (2,) lies outside the convex hull of `corners` (K, 2); 0 inside."""
    pts = sorted(map(tuple, np.asarray(corners, np.float64)))
    if len(pts) == 1:
        return float(np.linalg.norm(point - np.asarray(pts[0])))
    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and _cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and _cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    hull = [np.asarray(p) for p in lower[:-1] + upper[:-1]]
    if len(hull) >= 3 and all(_cross(hull[i], hull[(i + 1) % len(hull)], point) >= 0
                              for i in range(len(hull))):
        return 0.0
    return min(_distance_to_segment(point, hull[i], hull[(i + 1) % len(hull)])
               for i in range(len(hull)))


class Recovery:
    """Push reactions for one prepared clip and its controller (module notes)."""

    def __init__(self, prep, control, push_windows, gravity: float):
        import mujoco

        self.mujoco = mujoco
        self.prep, self.control = prep, control
        hum = self.hum = prep.humanoid
        skel = hum.skeleton
        self.legs = [tuple(skel.index(n) for n in leg) for leg in LEGS]
        self.leg_qpos = np.concatenate([np.arange(hum.qpos_address[j], hum.qpos_address[j] + 4)
                                        for leg in self.legs for j in leg])
        self.root_xy = slice(hum.qpos_address[0], hum.qpos_address[0] + 2)
        self.pelvis = int(hum.body_ids[0])
        size = hum.height / 1.75
        self.margin, self.lift, self.overshoot = (SUPPORT_MARGIN * size, STEP_HEIGHT * size,
                                                  OVERSHOOT * size)
        self.deviation = DEVIATION * size
        self.gap = FEET_GAP * size
        _, rest = skel.rest_world()
        hip, knee, ankle = (skel.index(n) for n in LEGS[0][:3])
        self.leg_length = float(np.linalg.norm(rest[knee] - rest[hip])
                                + np.linalg.norm(rest[ankle] - rest[knee]))
        self.ankle_rest = float(rest[ankle, 2] - rest[:, 2].min())
        self.gravity = gravity
        dt = 1.0 / prep.control_fps
        self.windows = [(int(t0 / dt), int(math.ceil((t1 + REACT_SECONDS) / dt)),
                         np.asarray(push[:2], np.float64) / max(float(np.linalg.norm(push[:2])),
                                                                1e-9))
                        for t0, t1, _body, push in push_windows]
        self.ref_capture = self._reference_capture_points(gravity)
        self.offset = np.zeros(2)
        self.active = False
        self.started: set = set()               # pushes whose reaction has begun
        self.pins: list = [None, None]          # per foot: ankle goal (3,) while pinned
        self.step: dict | None = None
        self.steps_taken = 0
        self.window_end = -1
        self.log: list = []                     # (control frame, foot, landing xy) per step

    def _reference_capture_points(self, gravity: float) -> np.ndarray:
        """(N, 2) the grounded reference's own capture point per control frame."""
        mujoco, m = self.mujoco, self.hum.model
        data = mujoco.MjData(m)
        com = np.empty((len(self.prep.qpos), 3))
        for k, q in enumerate(self.prep.qpos):
            data.qpos[:] = q
            mujoco.mj_kinematics(m, data)
            mujoco.mj_comPos(m, data)
            com[k] = data.subtree_com[self.pelvis]
        vel = np.gradient(com, 1.0 / self.prep.control_fps, axis=0) if len(com) > 1 \
            else np.zeros_like(com)
        omega = np.sqrt(gravity / np.maximum(com[:, 2], 0.1))
        return com[:, :2] + vel[:, :2] / omega[:, None]

    # ------------------------------------------------------------------ the body's state
    def _feet(self, d) -> np.ndarray:
        """(2, 3) ankle positions of the simulated body."""
        return np.array([d.xpos[int(self.hum.body_ids[leg[2]])] for leg in self.legs])

    def _centres(self, d) -> np.ndarray:
        """(2, 2) horizontal foot centres (ankle and ball of the foot)."""
        return np.array([(d.xpos[int(self.hum.body_ids[leg[2]])][:2]
                          + d.xpos[int(self.hum.body_ids[leg[3]])][:2]) / 2
                         for leg in self.legs])

    def _soles(self, d, sides) -> np.ndarray:
        """(4 per foot, 2) heel and toe corners of the feet `sides` on the floor plane."""
        out = []
        for side in sides:
            ankle = d.xpos[int(self.hum.body_ids[self.legs[side][2]])][:2]
            ball = d.xpos[int(self.hum.body_ids[self.legs[side][3]])][:2]
            along = ball - ankle
            n = float(np.linalg.norm(along))
            across = np.array([-along[1], along[0]]) / max(n, 1e-9) * HALF_WIDTH * \
                self.hum.height / 1.75
            heel, toe = ankle - HEEL_SHARE * along, ball + TOE_SHARE * along
            out += [heel + across, heel - across, toe + across, toe - across]
        return np.array(out)

    def _capture_point(self, d) -> np.ndarray:
        self.mujoco.mj_subtreeVel(self.hum.model, d)
        com = d.subtree_com[self.pelvis]
        vel = d.subtree_linvel[self.pelvis]
        omega = math.sqrt(self.gravity / max(float(com[2]), 0.1))
        return com[:2] + vel[:2] / omega

    # ----------------------------------------------------------------------- each frame
    def update(self, d, k: int, touching: np.ndarray) -> None:
        """Before control frame k: start, follow or end a reaction and set the controller's
        targets for frame k. touching (2,) bool: each foot on the floor now."""
        for index, (a, b, axis) in enumerate(self.windows):
            if a <= k < b and index not in self.started:    # a push begins, even during
                self.started.add(index)                     # the reaction to another
                self._start(d, k, b, touching, axis)
        if not self.active:
            return
        prep, control = self.prep, self.control
        ref = prep.qpos[k]
        reference_down = prep.soles[k] < CONTACT_TOLERANCE
        for side in range(2):                   # the reference lifts it: its own motion again
            if self.pins[side] is not None and not reference_down[side] and \
                    (self.step is None or self.step["side"] != side):
                self.pins[side] = None
        if k < self.window_end or self.step is not None:
            self.offset = d.qpos[self.root_xy] - ref[self.root_xy]
            # the rest of the path moves with the body (and keeps the last offset after)
            control.targets[k:, self.root_xy] = prep.qpos[k:, self.root_xy] + self.offset
            self._maybe_step(d, k, touching)
        else:
            control.react = None
            if all(p is None for p in self.pins):
                self.active = False
        self._aim_legs(d, k, touching)

    def _start(self, d, k: int, end: int, touching: np.ndarray, axis: np.ndarray) -> None:
        self.active, self.steps_taken = True, 0
        self.window_end = max(self.window_end, end)
        self.control.react = axis
        feet = self._feet(d)
        for side in range(2):
            if touching[side] and self.pins[side] is None:
                self.pins[side] = feet[side].copy()

    def _maybe_step(self, d, k: int, touching: np.ndarray) -> None:
        dt = 1.0 / self.prep.control_fps
        if self.step is not None:
            s = (k - self.step["k0"]) * dt / STEP_SECONDS
            if s >= 1.0 and touching[self.step["side"]]:
                self.pins[self.step["side"]] = self._feet(d)[self.step["side"]].copy()
                self.step = None
            elif s >= 1.5:                      # never landed in time: let the foot down
                self.pins[self.step["side"]] = None
                self.step = None
            return
        if self.steps_taken >= MAX_STEPS or k >= self.window_end:
            return
        standing = [side for side in range(2) if touching[side]]
        if not standing:
            return
        xi = self._capture_point(d)
        centres = self._centres(d)
        a, b = centres[standing[0]], centres[standing[-1]]
        # outside the standing soles, and off where the motion itself has it (a walk's
        # capture point is ahead of its feet at every step: that is walking, not a fall)
        if distance_outside(xi, self._soles(d, standing)) <= self.margin or \
                np.linalg.norm(xi - self.ref_capture[k] - self.offset) <= self.deviation:
            return
        side = int(np.argmin(np.linalg.norm(centres - xi, axis=1)))
        if len(standing) == 1 and standing[0] == side:
            side = 1 - side                     # the standing foot holds: the other steps
        start = self._feet(d)[side].copy()
        ball_offset = centres[side] - start[:2]
        away = xi - (a + b) / 2
        away = away / max(float(np.linalg.norm(away)), 1e-9)
        land = xi + self.overshoot * away - ball_offset
        if len(standing) == 1:          # never across the standing foot: beside it, and
            stance = centres[standing[0]]   # the next step (that foot's) goes out
            hips = [d.xpos[int(self.hum.body_ids[leg[0]])][:2] for leg in self.legs]
            lateral = hips[side] - hips[1 - side]       # the body's side of the stepping leg
            lateral = lateral / max(float(np.linalg.norm(lateral)), 1e-9)
            side_of = centres[side] - stance
            side_of = side_of / max(float(np.linalg.norm(side_of)), 1e-9)
            along = float((land + ball_offset - stance) @ side_of)
            # only where the feet stand side by side: in a stride one is ahead of the other,
            # and a step forward past the standing foot is no crossing
            if float(side_of @ lateral) > SIDE_BY_SIDE and along < self.gap:
                land = land + (self.gap - along) * side_of
        reach = land - start[:2]
        longest = MAX_STEP * self.leg_length
        if float(np.linalg.norm(reach)) > longest:
            land = start[:2] + reach * (longest / float(np.linalg.norm(reach)))
        self.step = {"side": side, "k0": k, "start": start, "land": land}
        self.pins[side] = None
        self.steps_taken += 1
        self.log.append((k, side, land.copy()))

    def _aim_legs(self, d, k: int, touching: np.ndarray) -> None:
        """Re-aim the legs' targets of frame k at the pins and the step (two-bone IK on the
        target pose); the stepping foot may not push."""
        from ...motion.clip import Clip
        from ...motion.footplant import reach_ankles

        prep, control = self.prep, self.control
        goals = [p for p in self.pins]
        if self.step is not None:
            s = (k - self.step["k0"]) / prep.control_fps / STEP_SECONDS
            w = _smooth(s)
            start, land = self.step["start"], self.step["land"]
            xy = start[:2] + w * (land - start[:2])
            z = start[2] + (self.ankle_rest - start[2]) * w + self.lift * math.sin(
                math.pi * min(max(s, 0.0), 1.0))
            goals[self.step["side"]] = np.array([xy[0], xy[1], z])
            control.may_push[k, self.step["side"]] = False
        for side in range(2):
            if self.pins[side] is not None:
                control.may_push[k, side] = True
        if all(g is None for g in goals):
            return
        rots, trans = clip_arrays_from_qpos(self.hum, control.targets[k:k + 1])
        pose = Clip(rots, trans, prep.control_fps, self.hum.skeleton)
        _, pos = self.hum.skeleton.fk(rots, trans)
        goal = np.stack([g if g is not None else pos[0, self.legs[i][2]]
                         for i, g in enumerate(goals)])[None]
        aimed = reach_ankles(pose, goal)
        q = qpos_from_clip(self.hum, aimed.local_rotations, trans)
        control.targets[k, self.leg_qpos] = q[0, self.leg_qpos]
