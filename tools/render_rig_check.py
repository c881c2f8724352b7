"""Look at a retarget: apply a library clip to a rig of the zoo and render a contact sheet.

The zoo's rigs have no meshes, so each mapped bone gets a stick from its joint to the next
mapped joint, and the head, hands and feet get a block that shows which way they face (built
from the rig's anatomical frames, not its bone axes: a head turned 90 degrees, or a hand
rolled over, is plain to see). Runs inside a bpy process:

    .venv/bin/python tools/render_rig_check.py --rig biped_standard --clip "punch/strike" \\
        --out out/rig_check.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from addon_loader import load_addon  # noqa: E402

# End segments drawn as blocks: canonical joint -> (length along, width, depth) in metres and
# the canonical T-pose direction they point (world axes; the character faces -Y).
BLOCKS = {"head": ((0.0, 0.0, 1.0), (0.0, -1.0, 0.0), 0.2),
          "left_wrist": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), 0.16),
          "right_wrist": ((-1.0, 0.0, 0.0), (0.0, 0.0, -1.0), 0.16),
          "left_ankle": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0), 0.2),
          "right_ankle": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0), 0.2)}
STICKS = [("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("right_hip", "right_knee"),
          ("right_knee", "right_ankle"), ("left_shoulder", "left_elbow"),
          ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"),
          ("right_elbow", "right_wrist"), ("pelvis", "spine3"), ("spine3", "neck"),
          ("left_collar", "left_shoulder"), ("right_collar", "right_shoulder")]


def _box(name, a, b, side, width, color):
    """A box mesh from a to b (world), `side` giving its flat direction."""
    axis = np.asarray(b, float) - np.asarray(a, float)
    length = float(np.linalg.norm(axis))
    u = axis / max(length, 1e-9)
    s = np.asarray(side, float) - np.dot(side, u) * u
    s = s / max(np.linalg.norm(s), 1e-9)
    t = np.cross(u, s)
    corners = []
    for k in (0.0, 1.0):
        for i in (-1, 1):
            for j in (-1, 1):
                corners.append(np.asarray(a) + u * length * k + s * width * i * 1.2 +
                               t * width * j * 0.5)
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4),
             (1, 5, 7, 3)]
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([tuple(c) for c in corners], [], faces)
    obj = bpy.data.objects.new(name, mesh)
    obj.color = color
    bpy.context.scene.collection.objects.link(obj)
    return obj


def _attach(obj, arm, bone):
    """Parent obj to a bone without moving it (bone parenting, world kept)."""
    world = obj.matrix_world.copy()
    obj.parent = arm
    obj.parent_type = "BONE"
    obj.parent_bone = bone
    bpy.context.view_layer.update()
    obj.matrix_world = world


def dress(arm, spec, bm):
    """Sticks and blocks on the rig's mapped bones, at rest."""
    from anima.backend.motion import quat
    from anima.operators import retarget
    skel = retarget.armature_skeleton(arm)
    heads = {j: skel.rest_world()[1][skel.index(b)] for j, b in bm.bones.items()}
    height = float(max(h[2] for h in heads.values()) - min(h[2] for h in heads.values()))
    width = 0.02 * height
    for a, b in STICKS:
        if a in heads and b in heads:
            _attach(_box(f"stick {a}", heads[a], heads[b], (0, 0, 1) if "hip" not in a
                         and "knee" not in a else (1, 0, 0), width, (0.8, 0.8, 0.8, 1)),
                    arm, bm.bones[a])
    for j, (direction, side, size) in BLOCKS.items():
        if j not in heads:
            continue
        r = np.eye(3)
        anat = spec.anatomical.get(bm.bones[j]) if spec is not None else None
        if anat is not None:
            r = np.asarray(anat)
        d = r @ np.asarray(direction) * size * height / 1.7
        _attach(_box(f"block {j}", heads[j], heads[j] + d, r @ np.asarray(side), 2 * width,
                     (0.9, 0.35, 0.2, 1)), arm, bm.bones[j])
    del quat


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rig", default="biped_standard")
    parser.add_argument("--clip", default="punch/strike")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--out", default="out/rig_check.png")
    args = parser.parse_args(argv)
    load_addon(register=True)
    import retarget_accuracy as RA
    import rig_zoo
    import rig_zoo_heldout
    from anima.operators import character, retarget
    specs = {s.name: s for s in rig_zoo.zoo() + rig_zoo_heldout.heldout()}
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    clip = RA.library_clip(args.clip)
    scene.render.fps, scene.render.fps_base = int(round(clip.fps)), 1.0
    spec = specs.get(args.rig)
    arm = rig_zoo.build_rig(spec) if spec is not None else RA.build_rig(args.rig)
    bpy.context.view_layer.objects.active = arm
    bm = retarget.auto_map_armature(arm)
    dress(arm, spec, bm)
    retarget.apply_clip_to_armature(arm, clip, frame_start=1, scene=scene)
    frames = np.linspace(1, clip.num_frames, args.frames).round().astype(int).tolist()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    character.render_contact_sheet(scene, arm, frames, args.out, follow=True)
    print(f"wrote {args.out} ({args.rig}, {args.clip}, frames {frames})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
