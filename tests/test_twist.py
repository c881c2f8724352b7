"""Twist bones share a limb's twist when asked (backend/motion/twist.py): Daz-style twist
bones inside the chain, Unreal-style twist bones hanging off it. Joints do not move."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import rig_zoo  # noqa: E402
from rig_zoo_geometry import bone_matrix  # noqa: E402

from backend.motion import quat  # noqa: E402
from backend.motion.bonemap import auto_map  # noqa: E402
from backend.motion.clip import Clip  # noqa: E402
from backend.motion.retarget import retarget_to_rig  # noqa: E402
from backend.motion.skeleton import CANONICAL, Skeleton  # noqa: E402

ZOO = {s.name: s for s in rig_zoo.zoo()}


def skeleton_of(spec) -> Skeleton:
    """The spec's rest pose as a Skeleton in world axes (what armature_skeleton gives)."""
    om = spec.object_matrix()
    scale = float(np.linalg.norm(om[:3, 0]))
    mats = []
    for b in spec.bones:
        m = bone_matrix(b.head, b.tail, b.roll)
        w = np.eye(4)
        w[:3, :3] = (om[:3, :3] / scale) @ m[:3, :3]
        w[:3, 3] = om @ np.asarray(b.head)
        mats.append(w)
    lengths = [scale * np.linalg.norm(np.subtract(b.tail, b.head)) for b in spec.bones]
    return Skeleton.from_rest_matrices(spec.names(), spec.parent_indices(), np.array(mats),
                                       lengths)


def forearm_turn_clip():
    """The left hand turns 80 degrees about the forearm while the arm holds still."""
    T = 10
    rots = quat.identity((T, len(CANONICAL)))
    axis = np.array([1.0, 0.0, 0.0])                 # the T-pose forearm points along +X
    rots[:, CANONICAL.index("left_wrist")] = quat.from_axis_angle(
        np.tile(axis, (T, 1)), np.radians(np.linspace(0, 80, T)))
    rots[:, CANONICAL.index("left_shoulder")] = quat.from_axis_angle(
        np.tile(axis, (T, 1)), np.radians(np.linspace(0, 60, T)))
    root = np.tile(CANONICAL.offsets[0], (T, 1))
    return Clip(rots, root, 30.0)


@pytest.mark.parametrize("name,upper,lower", [
    ("daz_g8_apose", "lShldrTwist", "lForearmTwist"),
    ("ue4_mannequin", "upperarm_twist_01_l", "lowerarm_twist_01_l")])
def test_twist_share_spreads_twist_and_keeps_joints(name, upper, lower):
    spec = ZOO[name]
    rig = skeleton_of(spec)
    bm = auto_map(spec.names(), spec.parent_indices(), spec.world_heads(), spec.world_tails())
    clip = forearm_turn_clip()
    plain = retarget_to_rig(clip, rig, bm, foot_ik=False)
    shared = retarget_to_rig(clip, rig, bm, foot_ik=False, twist_share=0.5)
    pw = rig.fk(*plain.expanded(rig)[:1], None, plain.expanded(rig)[1])
    sw = rig.fk(*shared.expanded(rig)[:1], None, shared.expanded(rig)[1])
    joints = [rig.index(bm.bones[j]) for j in ("left_shoulder", "left_elbow", "left_wrist")]
    # Joints stay where they were; the hand turns the same.
    assert np.abs(pw[1][:, joints] - sw[1][:, joints]).max() < 1e-6
    hand = rig.index(bm.bones["left_wrist"])
    assert np.abs(np.abs(np.sum(pw[0][:, hand] * sw[0][:, hand], -1)) - 1).max() < 1e-9

    def angle_to(world, k, ref):
        d = np.abs(np.sum(world[:, k] * world[:, ref], -1))
        return np.degrees(2 * np.arccos(np.clip(d, 0, 1)))[-1]
    fore = rig.index(bm.bones["left_elbow"])
    lo = rig.index(lower)
    # Without a share the forearm twist bone turns with the forearm; with 0.5 it takes about
    # half of the hand's 80 degrees.
    assert angle_to(pw[0], lo, fore) < 1.0
    assert 30.0 < angle_to(sw[0], lo, fore) < 50.0
    up = rig.index(upper)
    sh = rig.index(bm.bones["left_shoulder"])
    assert angle_to(pw[0], up, sh) < 1.0 or name.startswith("daz")
    assert angle_to(sw[0], up, sh) > 15.0
