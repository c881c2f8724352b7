"""Every rig of the zoo (tools/rig_zoo.py) built in real Blender: world-space bone heads,
parents, deform flags and bone frames (head/tail/roll) are what the spec says."""
import sys
import time
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import rig_zoo  # noqa: E402

pytestmark = pytest.mark.blender


def _check(obj, spec):
    bones = obj.data.bones
    assert [b.name for b in bones] == spec.names() or \
        sorted(b.name for b in bones) == sorted(spec.names())
    world = np.array(obj.matrix_world)
    for b in spec.bones:
        bone = bones[b.name]
        assert (bone.parent.name if bone.parent else "") == b.parent, b.name
        assert bone.use_deform == b.deform, b.name
        head_w = (world @ np.append(np.array(bone.head_local), 1.0))[:3]
        want = spec.object_matrix() @ b.head
        assert np.abs(head_w - want).max() < 1e-4, (spec.name, b.name, head_w, want)
        frame = np.array(bone.matrix_local)[:3, :3]
        np.testing.assert_allclose(frame, rig_zoo.bone_matrix(b.head, b.tail, b.roll),
                                   atol=1e-4, err_msg=f"{spec.name}: {b.name}")
    np.testing.assert_allclose(world[:3, :3], spec.object_matrix(), atol=1e-6)


def test_every_zoo_rig_builds_as_specified(fresh_scene):
    start = time.perf_counter()
    specs = rig_zoo.zoo()
    objects = [rig_zoo.build_rig(spec) for spec in specs]
    built = time.perf_counter() - start
    for obj, spec in zip(objects, specs):
        assert obj.type == "ARMATURE" and obj.name in fresh_scene.objects
        _check(obj, spec)
    assert bpy.context.mode == "OBJECT"
    print(f"built {len(specs)} rigs ({sum(len(s.bones) for s in specs)} bones) in {built:.2f} s")
    assert built < 10.0


def test_scrambled_rig_builds_into_a_given_collection(fresh_scene):
    coll = bpy.data.collections.new("Zoo")
    fresh_scene.collection.children.link(coll)
    spec = rig_zoo.scrambled(rig_zoo.zoo()[0], seed=2)
    obj = rig_zoo.build_rig(spec, coll)
    assert obj.name in coll.objects and obj.name not in fresh_scene.collection.objects
    _check(obj, spec)


def test_collection_outside_the_scene_is_refused(fresh_scene):
    loose = bpy.data.collections.new("NotLinked")
    before = (len(bpy.data.objects), len(bpy.data.armatures))
    with pytest.raises(ValueError, match="not in the scene"):
        rig_zoo.build_rig(rig_zoo.zoo()[0], loose)
    assert (len(bpy.data.objects), len(bpy.data.armatures)) == before
