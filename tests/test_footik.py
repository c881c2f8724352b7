"""Two-bone leg IK (backend/motion/footik.two_bone_ik): knees bend forward, goals are reached,
and a leg already at its goal is left as it is."""
import numpy as np

from backend.motion import quat
from backend.motion.footik import two_bone_ik

HIP = np.array([[0.0, 0.0, 1.0]])
HINT = np.array([[-1.0, 0.0, 0.0]])          # bend plane's normal: knees bend towards -Y


def _leg(knee_bend_deg):
    """A leg of two 0.45 m bones from HIP, its knee bent by `knee_bend_deg` (negative: the
    knee bent backwards, towards +Y) in the Y-Z plane; identity world rotations."""
    t = np.radians(knee_bend_deg)
    knee = HIP + [[0.0, 0.0, -0.45]]
    ankle = knee + 0.45 * np.array([[0.0, np.sin(t), -np.cos(t)]])
    return knee, ankle, quat.identity((1,)), quat.identity((1,))


def _solve(knee, ankle, w_thigh, w_shin, target, knees_forward=True):
    thigh, shin = two_bone_ik(HIP, knee, ankle, target, w_thigh, w_shin, HINT, knees_forward)
    new_knee = HIP + quat.rotate(thigh, knee - HIP)
    new_ankle = new_knee + quat.rotate(shin, ankle - knee)
    return new_knee, new_ankle


def _forward(knee, ankle):
    """Signed bend about the hint: > 0 when the knee bends forward (towards -Y)."""
    return float(np.sum(np.cross(ankle - HIP, knee - HIP) * HINT))


def test_a_hyperextended_knee_that_must_bend_more_bends_forward():
    knee, ankle, wt, ws = _leg(-8.0)                     # slightly bent backwards
    target = HIP + [[0.0, 0.0, -0.70]]                   # nearer: the knee must bend more
    new_knee, new_ankle = _solve(knee, ankle, wt, ws, target)
    np.testing.assert_allclose(new_ankle, target, atol=1e-6)
    assert _forward(new_knee, new_ankle) > 0.0          # forward, not further backwards
    assert new_knee[0, 1] < HIP[0, 1]                    # the knee is in front of the hip
    # retargeting keeps a source's knee as it is bent: the plane it is in
    new_knee, new_ankle = _solve(knee, ankle, wt, ws, target, knees_forward=False)
    np.testing.assert_allclose(new_ankle, target, atol=1e-6)
    assert _forward(new_knee, new_ankle) < 0.0


def test_a_forward_knee_is_solved_in_its_own_plane_and_a_reached_goal_changes_nothing():
    knee, ankle, wt, ws = _leg(30.0)
    target = HIP + [[0.0, -0.10, -0.65]]
    new_knee, new_ankle = _solve(knee, ankle, wt, ws, target)
    np.testing.assert_allclose(new_ankle, target, atol=1e-6)
    assert _forward(new_knee, new_ankle) > 0.0
    for bend in (-8.0, 30.0):                           # the goal is where the ankle is
        for forward in (True, False):
            knee, ankle, wt, ws = _leg(bend)
            new_knee, new_ankle = _solve(knee, ankle, wt, ws, ankle.copy(), forward)
            np.testing.assert_allclose(new_knee, knee, atol=1e-7)
            np.testing.assert_allclose(new_ankle, ankle, atol=1e-7)
