"""Body points as the camera's subject (backend/models/camera: metrics.point_visibility,
job.check_points, the planner's line of sight)."""
from __future__ import annotations

import numpy as np
import pytest

from backend.jobs import JobError
from backend.models.camera.geometry import SceneGeometry
from backend.models.camera.job import check_points
from backend.models.camera.metrics import point_visibility


def _wall(x: float, height: float) -> SceneGeometry:
    """A wall in the plane x = `x`, 10 m wide (y), from the floor up to `height`."""
    v = np.array([[x, -5, 0], [x, 5, 0], [x, 5, height], [x, -5, height]], np.float32)
    return SceneGeometry(v, np.array([[0, 1, 2], [0, 2, 3]], np.int32))


def test_points_behind_a_low_wall_are_hidden_and_those_above_are_seen():
    scene = _wall(2.0, 1.0)
    cams = np.array([[0.0, 0.0, 1.2], [0.0, 0.0, 5.0]])
    body = np.array([[4.0, 0.0, 0.3], [4.0, 0.0, 1.6]])       # a foot and a head behind it
    seen = point_visibility(scene, cams, np.stack([body, body]))
    assert seen[0] == pytest.approx(0.5)                        # at eye level: the head only
    assert seen[1] == pytest.approx(1.0)                        # from above: both


def test_points_are_checked():
    spec = {"points": [[[0, 0, 1]] * 3] * 4}
    assert check_points(spec, 4).shape == (4, 3, 3)
    assert check_points({}, 4) is None
    with pytest.raises(JobError, match="for each of the 5 frames"):
        check_points(spec, 5)
    with pytest.raises(JobError, match="NaN"):
        check_points({"points": [[[0, 0, float("nan")]]] * 4}, 4)
    with pytest.raises(JobError, match="1 to 32"):
        check_points({"points": [[[0, 0, 1]] * 40] * 4}, 4)
