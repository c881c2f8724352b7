"""The Versions panel: every motion Anima writes for an armature is a version of it, listed
newest first, and switching between them keeps every one."""
import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

pytestmark = pytest.mark.blender


def _clip(steps):
    from anima.backend.motion.clip import Clip
    from anima.backend.motion.skeleton import CANONICAL
    T = 10
    rots = np.zeros((T, len(CANONICAL), 4))
    rots[..., 0] = 1.0
    root = np.tile(CANONICAL.offsets[0], (T, 1))
    root[:, 1] -= np.linspace(0, steps, T)
    return Clip(rots, root, 30.0, CANONICAL.copy(), {"caption": f"walk {steps}"})


def test_versions_listed_and_switched(make_armature):
    from anima.operators import retarget, versions
    from anima.panels import versions as panel
    arm = make_armature("game_engine")
    other = make_armature("mixamo", "Other")
    first = retarget.apply_clip_to_armature(arm, _clip(0.2), frame_start=1)
    second = retarget.apply_clip_to_armature(arm, _clip(0.5), frame_start=1)
    retarget.apply_clip_to_armature(other, _clip(0.3), frame_start=1)
    assert versions.versions_of(arm) == [first, second]
    assert arm.animation_data.action == second
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.anima.use_version(action=first.name) == {"FINISHED"}
    assert arm.animation_data.action == first and second.use_fake_user
    bpy.context.scene.frame_set(10)           # the switched-to motion is what plays
    bpy.context.scene.frame_set(1)
    # Another armature's version is refused; nothing changes.
    foreign = versions.versions_of(other)[0]
    with pytest.raises(RuntimeError, match="was made for"):
        bpy.ops.anima.use_version(action=foreign.name)
    assert arm.animation_data.action == first
    assert panel.ANIMA_PT_versions.poll(bpy.context)
