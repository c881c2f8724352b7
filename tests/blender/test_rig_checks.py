"""Rigs Anima cannot animate as shown get a clear message, and nothing in the scene changes:
zero / mirrored / uneven object scale, a linked armature, mapped bones held by drivers or
constraints, a quadruped, a rig missing an arm. An unsure automatic mapping warns (a rig
whose shape does not stand like a humanoid but whose names do is mapped by its names, with
low confidence on every joint)."""
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import rig_zoo  # noqa: E402

pytestmark = pytest.mark.blender


@pytest.fixture()
def clip(anima):
    from anima.backend.motion.skeleton import CANONICAL
    from anima.backend.motion.clip import Clip
    T = 12
    rots = np.zeros((T, len(CANONICAL), 4))
    rots[..., 0] = 1.0
    root = np.tile(CANONICAL.offsets[0], (T, 1))
    root[:, 1] -= np.linspace(0, 0.3, T)
    return Clip(rots, root, 30.0, CANONICAL.copy(), {"caption": "step"})


def _state(arm):
    anim = arm.animation_data
    return (len(bpy.data.actions), anim.action.name if anim and anim.action else None,
            len(arm.data.anima_mapping.joints))


def _refused(arm, clip, match):
    from anima.operators import retarget
    before = _state(arm)
    with pytest.raises(ValueError, match=match):
        retarget.apply_clip_to_armature(arm, clip, frame_start=1)
    assert _state(arm) == before


@pytest.mark.parametrize("scale,match", [((0.0, 1.0, 1.0), "zero scale"),
                                         ((-1.0, 1.0, 1.0), "mirrored"),
                                         ((1.0, 2.0, 1.0), "unevenly")])
def test_bad_object_scale(make_armature, clip, scale, match):
    arm = make_armature("game_engine")
    arm.scale = scale
    bpy.context.view_layer.update()
    _refused(arm, clip, match)


def test_driver_on_a_mapped_bone(make_armature, clip):
    arm = make_armature("game_engine")
    fc = arm.pose.bones["upperarm_l"].driver_add("rotation_quaternion", 1)
    fc.driver.expression = "0.1"
    _refused(arm, clip, "drivers .* upperarm_l")


def test_constraint_overriding_a_mapped_bone(make_armature, clip):
    arm = make_armature("game_engine")
    c = arm.pose.bones["lowerarm_l"].constraints.new("IK")
    c.name = "Arm IK"
    _refused(arm, clip, "lowerarm_l \\(Arm IK\\)")
    c.mute = True                        # muted: fine
    from anima.operators import retarget
    assert retarget.apply_clip_to_armature(arm, clip, frame_start=1) is not None


def test_linked_armature(make_armature, clip, tmp_path):
    arm = make_armature("game_engine", "Linked")
    lib_path = str(tmp_path / "rig.blend")
    bpy.data.libraries.write(lib_path, {arm.data, arm})
    bpy.data.objects.remove(arm)
    with bpy.data.libraries.load(lib_path, link=True) as (src, dst):
        dst.objects = ["Linked"]
    linked = dst.objects[0]
    bpy.context.scene.collection.objects.link(linked)
    assert linked.library is not None
    _refused(linked, clip, "linked from another file")


def _armature(names, parents, heads, tails):
    data = bpy.data.armatures.new("Creature")
    obj = bpy.data.objects.new("Creature", data)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    for n, p, h, t in zip(names, parents, heads, tails):
        eb = data.edit_bones.new(n)
        eb.head, eb.tail = h, t
        if p >= 0:
            eb.parent = data.edit_bones[names[p]]
    bpy.ops.object.mode_set(mode="OBJECT")
    for o in bpy.context.view_layer.objects:
        o.select_set(o == obj)
    return obj


def test_quadruped_is_refused(fresh_scene, clip):
    from anima.operators import retarget
    names, parents, heads = rig_zoo.quadruped()
    tails = heads + np.array([0.0, -0.05, 0.02])
    arm = _armature(names, parents, heads, tails)
    before = _state(arm)
    with pytest.raises(ValueError, match="not a humanoid"):
        retarget.apply_clip_to_armature(arm, clip, frame_start=1)
    assert _state(arm) == before
    with pytest.raises(RuntimeError, match="a quadruped"):   # the operator's error report
        bpy.ops.anima.mapping_auto()


def test_rig_missing_an_arm_is_refused(fresh_scene, clip):
    from anima.operators import retarget
    spec = next(s for s in rig_zoo.zoo() if s.name == "generic_bones")
    gone = spec.expected["right_collar"]
    names, parents = spec.names(), spec.parent_indices()
    drop = set()
    for i in range(len(names)):
        j = i
        while j >= 0 and names[j] != gone:
            j = parents[j]
        if j >= 0:
            drop.add(i)
    keep = [i for i in range(len(names)) if i not in drop]
    pos = {old: new for new, old in enumerate(keep)}
    arm = _armature([names[i] for i in keep],
                    [pos[parents[i]] if parents[i] >= 0 else -1 for i in keep],
                    spec.world_heads()[keep], spec.world_tails()[keep])
    before = _state(arm)
    with pytest.raises(ValueError, match="right"):
        retarget.apply_clip_to_armature(arm, clip, frame_start=1)
    assert _state(arm) == before


def test_unsure_mapping_warns_in_the_panel(fresh_scene, clip):
    """Names that say left on the right side: the shape is used, the joints are marked."""
    from anima.operators import retarget
    spec = next(s for s in rig_zoo.zoo() if s.name == "ue4_mannequin")
    for b in spec.bones:
        if b.name.endswith(("_l", "_r")):
            b.name = b.name[:-2] + ("_r" if b.name.endswith("_l") else "_l")
        if b.parent.endswith(("_l", "_r")):
            b.parent = b.parent[:-2] + ("_r" if b.parent.endswith("_l") else "_l")
    arm = rig_zoo.build_rig(spec)
    for o in bpy.context.view_layer.objects:
        o.select_set(o == arm)
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.anima.mapping_auto() == {"FINISHED"}
    mapping = arm.data.anima_mapping
    assert "left_hip" in mapping.low_confidence()
    assert "names say left" in mapping.notes
    # Picking the bone by hand clears that joint's warning.
    mapping.joints["left_hip"].bone = mapping.joints["left_hip"].bone
    assert "left_hip" not in mapping.low_confidence()
    retarget.apply_clip_to_armature(arm, clip, frame_start=1)   # still applies
