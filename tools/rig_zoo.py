"""The rig zoo: humanoid rigs of every major naming / building convention, made by code, to
test the automatic bone mapper and the retargeter on rigs they were not written for.

    from rig_zoo import zoo, scrambled, build_rig
    for spec in zoo(): ...                 # list[RigSpec], numpy only
    build_rig(spec)                        # a Blender armature object (imports bpy lazily)
    .venv/bin/python tools/rig_zoo.py      # table: which joints today's auto_map gets right

Each `RigSpec` (tools/rig_zoo_geometry.py) holds bones in *armature space* (heads, tails,
rolls, parents, deform flags, parents first), the object transform an importer would give
(FBX: rotated 90° about X, scale 0.01 so armature units are cm), `expected` (canonical joint
-> the bone whose head sits at that joint and whose rotation swings the segment below it),
`anatomical` (bone -> (3, 3) world rotation of its segment relative to the canonical T-pose),
`must_move` (deforming bones a walk must key), `pose` ("T" / "A"), `notes`, and
`alternatives` (spine3 on rigs with many spine bones: two defensible answers, both accepted).

The conventions were written from how each tool names and builds its skeleton (Daz, 3ds Max
Biped/CAT, Character Creator, VRoid/VRM, Mixamo, Unreal, Auto-Rig Pro, MakeHuman, Blender's
meta-rig), independently of backend/motion/bonemap.py.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
for _p in (str(_HERE), str(_HERE.parent)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import rig_zoo_blender_rigs  # noqa: E402
import rig_zoo_character_rigs  # noqa: E402
import rig_zoo_game_rigs  # noqa: E402
from rig_zoo_geometry import (RigSpec, ZooBone, bone_matrix, euler_xyz_matrix,  # noqa: E402,F401
                              roll_for_x)

_BUILDERS = rig_zoo_character_rigs.SPECS + rig_zoo_game_rigs.SPECS + rig_zoo_blender_rigs.SPECS


def zoo() -> list[RigSpec]:
    """Every rig of the zoo (fresh objects each call)."""
    return [make() for make in _BUILDERS]


def scrambled(spec: RigSpec, seed: int = 0) -> RigSpec:
    """The same rig with every bone renamed to a random hexadecimal token (hierarchy,
    geometry and bone order kept; expected / anatomical / must_move translated)."""
    rng = np.random.default_rng(seed)
    tokens: list[str] = []
    while len(tokens) < len(spec.bones):
        token = "b" + "".join(rng.choice(list("0123456789abcdef"), 7))
        if token not in tokens:
            tokens.append(token)
    new = dict(zip(spec.names(), tokens))
    bones = [ZooBone(new[b.name], new[b.parent] if b.parent else "", b.head.copy(),
                     b.tail.copy(), b.roll, b.deform) for b in spec.bones]
    return replace(spec, name=f"{spec.name}~scrambled{seed}", bones=bones,
                   expected={j: new[b] for j, b in spec.expected.items()},
                   must_move=[new[b] for b in spec.must_move],
                   anatomical={new[b]: m.copy() for b, m in spec.anatomical.items()},
                   alternatives={j: [new[b] for b in bs] for j, bs in spec.alternatives.items()},
                   notes=spec.notes + " (names scrambled)")


def build_rig(spec: RigSpec, collection=None):
    """Create `spec` as an armature object in the current Blender file, linked to
    `collection` (default: the scene's collection), object transform applied; returns it.
    Leaves the scene in object mode with the new armature active."""
    import bpy

    if bpy.context.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")
    scene = bpy.context.scene
    collection = collection or scene.collection
    if collection != scene.collection and collection not in scene.collection.children_recursive:
        raise ValueError(f"collection {collection.name!r} is not in the scene "
                         f"{scene.name!r}: link it before building {spec.name!r} into it")
    arm = bpy.data.armatures.new(spec.name)
    obj = bpy.data.objects.new(spec.name, arm)
    collection.objects.link(obj)
    view_layer = bpy.context.view_layer
    for other in view_layer.objects:
        other.select_set(False)
    view_layer.objects.active = obj
    obj.select_set(True)
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        ebones = arm.edit_bones
        for b in spec.bones:
            eb = ebones.new(b.name)
            eb.head = [float(v) for v in b.head]
            eb.tail = [float(v) for v in b.tail]
            eb.roll = float(b.roll)
            eb.use_deform = bool(b.deform)
        for b in spec.bones:
            if b.parent:
                ebones[b.name].parent = ebones[b.parent]
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
    if len(arm.bones) != len(spec.bones):
        raise RuntimeError(f"{spec.name}: Blender kept {len(arm.bones)} of "
                           f"{len(spec.bones)} bones")
    obj.rotation_mode = "XYZ"
    obj.rotation_euler = [float(a) for a in spec.object_rotation]
    obj.scale = [float(spec.object_scale)] * 3
    view_layer.update()
    return obj


# ------------------------------------------------------------------------ mapping report
def spec_problems(spec: RigSpec, must_map) -> list[str]:
    """What is wrong with a rig spec as a test case (empty when sound): unique names, parents
    first, finite bones, the joints `must_map` expected, expected and alternative bones that
    exist and differ, anatomical frames (rotations) for each, and must-move bones that deform.
    Shared by the zoo's and the held-out sets' tests."""
    from backend.motion.skeleton import CANONICAL_NAMES
    out = []
    names = spec.names()
    if len(set(names)) != len(names):
        out.append("duplicate bone names")
    seen = set()
    for b in spec.bones:
        if b.parent and b.parent not in seen:
            out.append(f"{b.name}: parent {b.parent!r} not before it")
        seen.add(b.name)
        if np.shape(b.head) != (3,) or np.shape(b.tail) != (3,) or not np.isfinite(b.roll):
            out.append(f"{b.name}: bad head, tail or roll")
    missing = set(must_map) - set(spec.expected)
    if missing:
        out.append(f"expected mapping lacks {sorted(missing)}")
    if not set(spec.expected) <= set(CANONICAL_NAMES):
        out.append("expected mapping names unknown joints")
    if not set(spec.expected.values()) <= set(names):
        out.append("expected bones missing from the rig")
    if len(set(spec.expected.values())) != len(spec.expected):
        out.append("one bone expected for two joints")
    alternatives = {b for bs in spec.alternatives.values() for b in bs}
    if not alternatives <= set(names) or alternatives & set(spec.expected.values()):
        out.append("alternative bones missing or also expected")
    if set(spec.anatomical) != set(spec.expected.values()) | alternatives:
        out.append("anatomical frames do not cover the expected bones exactly")
    for bone, m in spec.anatomical.items():
        m = np.asarray(m)
        if m.shape != (3, 3) or not np.allclose(m @ m.T, np.eye(3), atol=1e-9) \
                or abs(np.linalg.det(m) - 1.0) > 1e-9:
            out.append(f"{bone}: anatomical frame is not a rotation")
    if not set(spec.must_move) <= {b.name for b in spec.bones if b.deform}:
        out.append("a must-move bone does not deform")
    return out


def quadruped() -> tuple[list[str], list[int], np.ndarray]:
    """A four-legged rig (names, parents, heads in world metres): a horizontal spine with
    legs at both ends and a head forward, for the "not a humanoid" checks."""
    names = ["root", "hips", "spine", "chest", "neck", "head",
             "thigh.L", "shin.L", "foot.L", "thigh.R", "shin.R", "foot.R",
             "upperarm.L", "forearm.L", "paw.L", "upperarm.R", "forearm.R", "paw.R"]
    parents = [-1, 0, 1, 2, 3, 4, 1, 6, 7, 1, 9, 10, 3, 12, 13, 3, 15, 16]
    heads = np.array([[0, 0.4, 0], [0, 0.4, 0.6], [0, 0.1, 0.62], [0, -0.2, 0.64],
                      [0, -0.45, 0.7], [0, -0.6, 0.85],
                      [0.12, 0.4, 0.55], [0.12, 0.45, 0.3], [0.12, 0.42, 0.05],
                      [-0.12, 0.4, 0.55], [-0.12, 0.45, 0.3], [-0.12, 0.42, 0.05],
                      [0.14, -0.2, 0.55], [0.14, -0.22, 0.3], [0.14, -0.2, 0.05],
                      [-0.14, -0.2, 0.55], [-0.14, -0.22, 0.3], [-0.14, -0.2, 0.05]], float)
    return names, parents, heads


def map_spec(spec: RigSpec):
    """Run today's auto_map on `spec`. Returns (correct joints, wrong {joint: (got,
    expected)}, error message or "")."""
    from backend.motion.bonemap import auto_map
    try:
        result = auto_map(spec.names(), spec.parent_indices(), spec.world_heads(),
                          spec.world_tails())
    except Exception as exc:  # a MappingError (or a crash) is a failed mapping
        wrong = {j: (None, b) for j, b in spec.expected.items()}
        return [], wrong, f"{type(exc).__name__}: {exc}"
    correct, wrong = [], {}
    for joint, bone in spec.expected.items():
        got = result.bones.get(joint)
        if got == bone or got in spec.alternatives.get(joint, []):
            correct.append(joint)
        else:
            wrong[joint] = (got, bone)
    return correct, wrong, ""


def zoo_mapping_report(seed: int = 0, verbose: bool = True) -> list[dict]:
    """Map every rig, named and scrambled; print a table; return one row per rig:
    {rig, named_ok, scrambled_ok, total, named_wrong, scrambled_wrong, named_error, ...}."""
    rows = []
    for spec in zoo():
        ok, wrong, err = map_spec(spec)
        sok, swrong, serr = map_spec(scrambled(spec, seed))
        rows.append(dict(rig=spec.name, total=len(spec.expected), named_ok=len(ok),
                         scrambled_ok=len(sok), named_wrong=wrong, scrambled_wrong=swrong,
                         named_error=err, scrambled_error=serr))
    if verbose:
        print(f"{'rig':24s} {'named':>7s} {'scrambled':>10s}  wrong (named | scrambled)")
        for r in rows:
            named = r["named_error"] or ", ".join(sorted(r["named_wrong"])) or "-"
            scr = r["scrambled_error"] or ", ".join(sorted(r["scrambled_wrong"])) or "-"
            print(f"{r['rig']:24s} {r['named_ok']:>3d}/{r['total']:<3d} "
                  f"{r['scrambled_ok']:>5d}/{r['total']:<4d}  {named[:70]} | {scr[:70]}")
        full = sum(r["named_ok"] == r["total"] for r in rows)
        sfull = sum(r["scrambled_ok"] == r["total"] for r in rows)
        print(f"rigs mapped exactly: named {full}/{len(rows)}, scrambled {sfull}/{len(rows)}")
    return rows


if __name__ == "__main__":
    zoo_mapping_report()
