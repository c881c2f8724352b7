"""The one place where axis conventions change.

Sources (BVH files, HumanML3D, DeepMimic) are Y-up with the character facing +Z.
Anima works in Blender's world axes: Z up, the character faces -Y, its left is +X.
The change is the rotation (x, y, z) -> (x, -z, y).
"""
from __future__ import annotations

import numpy as np

from . import quat

# Rotation matrix taking Y-up/+Z-forward coordinates to Blender's Z-up/-Y-forward ones.
Y_UP_TO_BLENDER = np.array([[1.0, 0.0, 0.0],
                            [0.0, 0.0, -1.0],
                            [0.0, 1.0, 0.0]])
BLENDER_TO_Y_UP = Y_UP_TO_BLENDER.T
_Q_Y_UP_TO_BLENDER = quat.from_matrix(Y_UP_TO_BLENDER)


def y_up_to_blender_points(p: np.ndarray) -> np.ndarray:
    """(..., 3) points or vectors from Y-up to Blender axes."""
    return np.asarray(p, dtype=np.float64) @ Y_UP_TO_BLENDER.T


def blender_to_y_up_points(p: np.ndarray) -> np.ndarray:
    return np.asarray(p, dtype=np.float64) @ BLENDER_TO_Y_UP.T


def y_up_to_blender_rotations(q: np.ndarray) -> np.ndarray:
    """Conjugate world-aligned rotations (..., 4): C q C^-1."""
    c = _Q_Y_UP_TO_BLENDER
    return quat.mul(quat.mul(c, q), quat.conjugate(c))


def blender_to_y_up_rotations(q: np.ndarray) -> np.ndarray:
    c = quat.conjugate(_Q_Y_UP_TO_BLENDER)
    return quat.mul(quat.mul(c, q), quat.conjugate(c))


def skeleton_clip_y_up_to_blender(skeleton, local_rotations, root_translation):
    """Convert a skeleton with world-aligned joint frames (identity rest rotations, as in BVH)
    and its motion from Y-up to Blender axes. Returns (skeleton, local_rotations, root_translation).
    """
    from .skeleton import Skeleton
    if not np.allclose(skeleton.rest_rotations, quat.identity((len(skeleton),))):
        raise ValueError("axis change expects world-aligned joint frames (identity rest rotations)")
    skel = Skeleton(skeleton.names, skeleton.parents, y_up_to_blender_points(skeleton.offsets),
                    None, y_up_to_blender_points(skeleton.tails))
    return (skel, y_up_to_blender_rotations(local_rotations),
            y_up_to_blender_points(root_translation))


def skeleton_clip_blender_to_y_up(skeleton, local_rotations, root_translation):
    """Inverse of skeleton_clip_y_up_to_blender (for writing BVH files other tools expect)."""
    from .skeleton import Skeleton
    if not np.allclose(skeleton.rest_rotations, quat.identity((len(skeleton),))):
        raise ValueError("axis change expects world-aligned joint frames (identity rest rotations)")
    skel = Skeleton(skeleton.names, skeleton.parents, blender_to_y_up_points(skeleton.offsets),
                    None, blender_to_y_up_points(skeleton.tails))
    return (skel, blender_to_y_up_rotations(local_rotations),
            blender_to_y_up_points(root_translation))


# --------------------------------------------------------------------- SMPL family (AMASS)
# SMPL, SMPL-H and SMPL-X define the body in a Y-up frame facing +Z with its left on +X (the
# same as BVH sources), and AMASS turns it into its Z-up capture world with the global
# orientation (`root_orient`), which is already in the world's axes: an upright body facing
# -Y has root_orient = Y_UP_TO_BLENDER. The other joints' rotations are in the model frame.

def smpl_root_to_blender(root_orient: np.ndarray) -> np.ndarray:
    """AMASS global orientations (..., 4) (model frame -> Z-up world) as the rotation of a
    pelvis whose rest frame is Blender's world axes: root_orient C^-1."""
    return quat.mul(root_orient, quat.conjugate(_Q_Y_UP_TO_BLENDER))


def blender_root_to_smpl(pelvis_rotation: np.ndarray) -> np.ndarray:
    """Inverse of smpl_root_to_blender."""
    return quat.mul(pelvis_rotation, _Q_Y_UP_TO_BLENDER)
