"""Camera planner geometry (backend/models/camera/geometry.py, wire.py): clearance and ray casts
against analytic answers, the six-ray crash rule, the mesh on the wire and bad meshes."""
import base64

import numpy as np
import pytest

from backend.models.camera.geometry import SceneGeometry
from backend.models.camera.wire import (MeshError, geometry_from_param, mesh_from_wire,
                                        mesh_to_wire)


def quad(z=0.0, half=10.0):
    v = np.array([[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]])
    return v, np.array([[0, 1, 2], [0, 2, 3]])


def wall_scene():
    """Ground at z=0 (20 x 20 m) and a wall in the plane x=2 (y -5..5, z 0..5)."""
    v, f = quad()
    wall = np.array([[2, -5, 0], [2, 5, 0], [2, 5, 5], [2, -5, 5]], float)
    return np.concatenate([v, wall]), np.concatenate([f, np.array([[4, 5, 6], [4, 6, 7]])])


def test_clearance_is_a_tight_lower_bound_of_the_distance():
    scene = SceneGeometry(*wall_scene())
    points = np.array([[0, 0, 1.0], [1.2, 0, 3.0], [0, 0, 0.3], [-5, 0, 2.5], [2, 8, 1.0]])
    exact = np.array([1.0, 0.8, 0.3, 2.5, 1.0])          # to the ground / wall / wall's edge
    got = scene.clearance(points)
    assert np.all(got <= exact + 1e-9)
    assert np.all(got >= exact - 2 * scene.spacing)


def test_raycast_hits_where_geometry_says():
    scene = SceneGeometry(*wall_scene())
    o = np.array([[0, 0, 1.0], [0, 0, 1.0], [0, 0, 1.0], [0, 0, 1.0], [0, 0, 1.0]])
    d = np.array([[1, 0, 0], [-1, 0, 0], [0, 0, -1], [0, 0, 1], [1, 0, 1] / np.sqrt(2)])
    hit, t = scene.raycast(o, d, 30.0)
    assert hit.tolist() == [True, False, True, False, True]
    np.testing.assert_allclose(t[[0, 2, 4]], [2.0, 1.0, 2 * np.sqrt(2)], atol=1e-9)
    hit, _ = scene.raycast(o[:1], d[:1], 1.99)               # stops short of the wall
    assert not hit[0]


def test_raycast_matches_brute_force_on_random_triangles():
    rng = np.random.default_rng(3)
    centres = rng.uniform(-5, 5, (300, 3))
    v = np.concatenate([centres + rng.normal(0, 0.6, (300, 3)) for _ in range(3)])
    f = np.stack([np.arange(300), np.arange(300) + 300, np.arange(300) + 600], 1)
    scene = SceneGeometry(v, f)
    o = rng.uniform(-6, 6, (400, 3))
    d = rng.normal(size=(400, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    hit, t = scene.raycast(o, d, 8.0)
    from backend.models.camera.geometry import _moller_trumbore
    tris = v[f]
    brute = np.full(400, np.inf)
    for i in range(400):
        th = _moller_trumbore(np.repeat(o[i:i + 1], 300, 0), np.repeat(d[i:i + 1], 300, 0), tris)
        th = th[(th >= 0) & (th <= 8.0)]
        brute[i] = th.min() if len(th) else np.inf
    assert hit.sum() > 50
    np.testing.assert_array_equal(hit, np.isfinite(brute))
    np.testing.assert_allclose(t[hit], brute[hit])


def test_six_ray_crash_rule():
    scene = SceneGeometry(*wall_scene())
    pts = np.array([[0, 0, 0.45], [0, 0, 0.55], [1.55, 0, 2], [1.45, 0, 2], [2.3, 3, 2],
                    [2.3, 5.6, 2]])
    # 0.45 above ground: -Z ray hits; 0.55: none; 0.45 from the wall: +X hits; 0.55: none;
    # behind the wall (two-sided); beside the wall's end, 0.6 m away along +Y: the wall
    # is 0.3 m off in x but no axis ray reaches it within 0.5 m
    assert scene.crashes(pts).tolist() == [True, False, True, False, True, False]


def test_empty_geometry_is_open_sky():
    scene = SceneGeometry(np.zeros((0, 3)), np.zeros((0, 3), int))
    assert np.isinf(scene.clearance([[0, 0, 0]])).all()
    assert not scene.crashes([[0, 0, 0]]).any()
    hit, _ = scene.raycast([[0, 0, 0]], [[1, 0, 0]], 10.0)
    assert not hit.any()


def test_wire_round_trip_and_file():
    v, f = wall_scene()
    wire = mesh_to_wire(v, f)
    assert wire["counts"] == [8, 4]
    v2, f2 = mesh_from_wire(wire)
    np.testing.assert_allclose(v2, v.astype(np.float32))
    np.testing.assert_array_equal(f2, f)
    empty = mesh_from_wire(mesh_to_wire(np.zeros((0, 3)), np.zeros((0, 3), int)))
    assert empty[0].shape == (0, 3) and empty[1].shape == (0, 3)


def test_npz_file_geometry(tmp_path):
    v, f = wall_scene()
    path = tmp_path / "scene.npz"
    np.savez(path, vertices=v.astype(np.float32), triangles=f.astype(np.int32))
    v2, f2 = geometry_from_param({"path": str(path)})
    np.testing.assert_array_equal(f2, f)
    np.savez(tmp_path / "bad.npz", vertices=v.astype(np.float32))
    with pytest.raises(MeshError, match="lacks triangles"):
        geometry_from_param({"path": str(tmp_path / "bad.npz")})
    with pytest.raises(MeshError, match="does not exist"):
        geometry_from_param({"path": str(tmp_path / "missing.npz")})


@pytest.mark.parametrize("mutate, message", [
    (lambda w: w.update(counts=[9, 4]), "counts say"),
    (lambda w: w.update(counts=[8]), r"counts must be \[V, F\]"),
    (lambda w: w.update(vertices="not base64!"), "not valid base64"),
    (lambda w: w.update(format="obj"), "format"),
    (lambda w: w.update(triangles=base64.b64encode(
        np.array([[0, 1, 8]] * 4, "<i4").tobytes()).decode()), r"indices must lie in 0\.\.7"),
    (lambda w: w.update(vertices=base64.b64encode(
        np.full((8, 3), np.nan, "<f4").tobytes()).decode()), "not finite"),
])
def test_bad_wire_meshes_are_refused(mutate, message):
    wire = mesh_to_wire(*wall_scene())
    mutate(wire)
    with pytest.raises(MeshError, match=message):
        mesh_from_wire(wire)


def test_bad_geometry_spec():
    with pytest.raises(MeshError, match="geometry must be"):
        geometry_from_param([1, 2, 3])
