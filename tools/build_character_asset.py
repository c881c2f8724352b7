"""Build the compact default-character assets in ``assets/character/``.

Developer tool, not used at runtime. It reads the MakeHuman / MPFB2 data (CC0) from
``/work/shared/data/makehuman`` (or ``--src``) and writes:

* ``makehuman_body.npz``  body mesh (+ the two eyeballs), Blender metres, Z up, facing -Y,
  feet on the floor (z_min = 0); quads, UVs, material index per face, source vertex indices.
* ``rigs.json``           bone tables for the shipped rigs, with heads and tails recomputed from
  the mesh with each bone's placement strategy (CUBE / VERTEX / MEAN / XYZ + offset), in the
  same frame as the mesh; roll strategies are baked into ``roll``.
* ``skin_game_engine.npz`` skin weights of the ``game_engine`` rig on the mesh vertices,
  normalised per vertex, padded to the maximum number of influences.

Run:  .venv/bin/python tools/build_character_asset.py [--src DIR] [--out DIR]

``import bpy`` is used only for ``mathutils`` and ``Bone.AxisRollFromMatrix`` (roll strategies).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

DEFAULT_SRC = Path("/work/shared/data/makehuman")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "assets" / "character"

# (asset rig name, file relative to rigs/)
RIGS = [
    ("default", "standard/rig.default.json"),
    ("game_engine", "standard/rig.game_engine.json"),
    ("mixamo", "standard/rig.mixamo.json"),
    ("cmu_mb", "standard/rig.cmu_mb.json"),
    ("rigify", "rigify/rig.human.json"),
    ("rigify_toes", "rigify/rig.human_toes.json"),
]
SKIN_RIG = ("game_engine", "standard/weights.game_engine.json")

# Parts of base.obj kept in the mesh (inclusive ranges, from hm08_config.json) and their
# material slot.
PARTS = [("body", 0), ("helper-l-eye", 1), ("helper-r-eye", 1)]
MATERIALS = ["skin", "eye"]

POS_DECIMALS = 5  # 10 micrometres


# --------------------------------------------------------------------------------------------
# mesh


def read_obj(path: Path):
    verts, uvs, faces, face_uvs = [], [], [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("v "):
                verts.append([float(t) for t in line.split()[1:4]])
            elif line.startswith("vt "):
                uvs.append([float(t) for t in line.split()[1:3]])
            elif line.startswith("f "):
                toks = [t.split("/") for t in line.split()[1:]]
                if len(toks) != 4:
                    raise ValueError("base.obj is expected to hold quads only")
                faces.append([int(t[0]) - 1 for t in toks])
                face_uvs.append([int(t[1]) - 1 for t in toks])
    return (np.asarray(verts, np.float64), np.asarray(uvs, np.float64),
            np.asarray(faces, np.int64), np.asarray(face_uvs, np.int64))


def obj_to_blender(v: np.ndarray) -> np.ndarray:
    """MakeHuman OBJ (decimetres, Y up, facing +Z) -> Blender (metres, Z up, facing -Y)."""
    v = np.asarray(v, np.float64) * 0.1
    return np.stack([v[..., 0], -v[..., 2], v[..., 1]], axis=-1)


# --------------------------------------------------------------------------------------------
# rigs


def group_indices(groups: dict, name: str) -> np.ndarray:
    return np.concatenate([np.arange(a, b + 1) for a, b in groups[name]])


def end_position(info: dict, verts: np.ndarray, groups: dict) -> np.ndarray:
    """Head or tail position from its MPFB placement strategy (verts in the final frame)."""
    strategy = info["strategy"]
    if strategy == "CUBE":
        pos = verts[group_indices(groups, info["cube_name"])].mean(axis=0)
    elif strategy == "VERTEX":
        pos = verts[info["vertex_index"]].copy()
    elif strategy == "MEAN":
        pos = verts[np.asarray(info["vertex_indices"])].mean(axis=0)
    elif strategy == "XYZ":  # one vertex per coordinate (Rigify heel markers)
        idx = info["vertex_indices"]
        pos = np.array([verts[idx[i]][i] for i in range(3)])
    else:
        raise ValueError(f"unknown placement strategy {strategy!r}")
    if "offset" in info:  # metres, Blender axes (MPFB: offset * scale_factor / rig scale = 1)
        pos = pos + np.asarray(info["offset"], np.float64)
    return pos


def roll_from_strategy(head, tail, strategy: str) -> float:
    """MPFB roll strategies: align the bone's local Z (or X) with world Z (or X)."""
    import bpy  # noqa: F401  (makes mathutils importable)
    from mathutils import Matrix, Vector

    y = Vector(tail) - Vector(head)
    y.normalize()
    if strategy == "ALIGN_Z_WORLD_Z":
        x = y.cross(Vector((0, 0, 1))).normalized()
        z = x.cross(y)
    elif strategy == "ALIGN_X_WORLD_X":
        z = Vector((1, 0, 0)).cross(y).normalized()
        x = y.cross(z)
    else:
        raise ValueError(f"unknown roll strategy {strategy!r}")
    mat = Matrix((x, y, z)).transposed()
    return float(bpy.types.Bone.AxisRollFromMatrix(mat, axis=y)[1])


def hierarchy_order(bones: dict) -> list[str]:
    """Bone names with every parent before its children (depth first, file order)."""
    children: dict[str, list[str]] = {}
    roots = []
    for name, info in bones.items():
        parent = info.get("parent") or ""
        if parent:
            if parent not in bones:
                raise ValueError(f"bone {name!r}: unknown parent {parent!r}")
            children.setdefault(parent, []).append(name)
        else:
            roots.append(name)
    order: list[str] = []
    stack = list(reversed(roots))
    while stack:
        name = stack.pop()
        order.append(name)
        stack.extend(reversed(children.get(name, [])))
    assert len(order) == len(bones), "cycle in the bone hierarchy"
    return order


def rnd(v) -> list[float]:
    return [round(float(x), POS_DECIMALS) + 0.0 for x in v]


def build_rig(name: str, path: Path, verts: np.ndarray, groups: dict) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    bones = data["bones"] if "bones" in data else data
    is_rigify = "rigify" in name
    out_bones = []
    for bname in hierarchy_order(bones):
        info = bones[bname]
        head = end_position(info["head"], verts, groups)
        tail = end_position(info["tail"], verts, groups)
        if np.linalg.norm(tail - head) < 1e-5:
            raise ValueError(f"{name}: zero-length bone {bname}")
        roll = float(info.get("roll", 0.0))
        if info.get("roll_strategy"):
            roll = roll_from_strategy(head, tail, info["roll_strategy"])
        bone = {
            "name": bname,
            "parent": info.get("parent") or "",
            "head": rnd(head),
            "tail": rnd(tail),
            "roll": round(roll, 6),
            "use_connect": bool(info.get("use_connect", False)),
        }
        if info.get("inherit_scale", "FULL") != "FULL":
            bone["inherit_scale"] = info["inherit_scale"]
        if not info.get("use_inherit_rotation", True):
            bone["use_inherit_rotation"] = False
        if not info.get("use_local_location", True):
            bone["use_local_location"] = False
        if is_rigify:
            rig = info.get("rigify") or {}
            if rig.get("rigify_type"):
                bone["rigify_type"] = rig["rigify_type"]
            if rig.get("rigify_parameters"):
                bone["rigify_parameters"] = rig["rigify_parameters"]
            for key in ("collections", "constraints", "rotation_mode", "bendy_bone"):
                if info.get(key):
                    bone[key] = info[key]
        out_bones.append(bone)
    rig = {"source": f"rigs/{path.relative_to(path.parents[1]).as_posix()}", "bones": out_bones}
    if is_rigify:
        for key in ("collections", "rigify_ui", "extra_bones"):
            if key in data:
                rig[key] = data[key]
    return rig


# --------------------------------------------------------------------------------------------
# weights


def build_skin(path: Path, bone_names: list[str], source_index: np.ndarray, verts: np.ndarray):
    """Per-vertex influences (padded) for the kept vertices, normalised per vertex.

    ``verts``: positions of the kept vertices. The MakeHuman game_engine weights hold 11 stray
    influences (<= 0.5 %) of a left bone on a right-side vertex or vice versa (e.g. ``ball_l``
    on the right toes); those are dropped before normalising."""
    weights = json.loads(path.read_text(encoding="utf-8"))["weights"]
    n_src = int(source_index.max()) + 1
    remap = np.full(n_src, -1, np.int64)
    remap[source_index] = np.arange(len(source_index))
    entries = []  # (vertex, bone, weight)
    for bone, pairs in weights.items():
        if not pairs:
            continue
        if bone not in bone_names:
            raise ValueError(f"weights name unknown bone {bone!r}")
        a = np.asarray(pairs, np.float64)
        src = a[:, 0].astype(np.int64)
        keep = src < n_src
        dst = remap[src[keep]]
        ok = dst >= 0
        w = a[keep, 1][ok]
        entries.append(np.stack([dst[ok], np.full(ok.sum(), bone_names.index(bone)), w], 1))
    e = np.concatenate(entries)
    e = e[e[:, 2] > 0]
    bone_side = np.array([1 if b.endswith(("_l", ".L", "Left")) else
                          -1 if b.endswith(("_r", ".R", "Right")) else 0 for b in bone_names])
    vx = verts[e[:, 0].astype(np.int64), 0]
    bs = bone_side[e[:, 1].astype(np.int64)]
    stray = (bs != 0) & (np.abs(vx) > 0.02) & (np.sign(vx) != bs) & (e[:, 2] < 0.01)
    if stray.any():
        print(f"dropping {int(stray.sum())} stray cross-side influences "
              f"(max weight {e[stray, 2].max():.4f})")
    e = e[~stray]
    n = len(source_index)
    v = e[:, 0].astype(np.int64)
    counts = np.bincount(v, minlength=n)
    if counts.min() == 0:
        raise ValueError(f"{int((counts == 0).sum())} vertices have no weight")
    k = int(counts.max())
    # sort by vertex, then by weight descending
    order = np.lexsort((-e[:, 2], v))
    e = e[order]
    v = e[:, 0].astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(len(e)) - starts[v]
    idx = np.zeros((n, k), np.uint8)
    wts = np.zeros((n, k), np.float64)
    idx[v, slot] = e[:, 1].astype(np.uint8)
    wts[v, slot] = e[:, 2]
    wts /= wts.sum(axis=1, keepdims=True)
    return idx, wts.astype(np.float16), k


# --------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    src: Path = args.src
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    cfg = json.loads((src / "mesh_metadata/hm08_config.json").read_text())
    groups = json.loads((src / "mesh_metadata/basemesh_vertex_groups.json").read_text())
    v_obj, uv_all, f_all, fuv_all = read_obj(src / "3dobjs/base.obj")
    verts_all = obj_to_blender(v_obj)

    # --- frame: feet on the floor (lowest body vertex at z = 0); x, y untouched
    lo, hi = cfg["groups_by_range"]["body"]
    z_shift = -verts_all[lo:hi + 1, 2].min()
    verts_all[:, 2] += z_shift

    # sanity: facing -Y (toes in front of the heels), left side +X
    body = verts_all[lo:hi + 1]
    feet = body[body[:, 2] < 0.03]
    assert feet[:, 1].min() < -0.15 and feet[:, 1].max() < 0.1, "facing check failed"
    lk = group_indices(groups, "joint-l-knee")
    assert verts_all[lk].mean(0)[0] > 0.05, "left side should be +X"

    # --- mesh: kept vertex ranges, reindexed
    source_index = []
    part_ranges = {}
    for part, _mat in PARTS:
        a, b = cfg["groups_by_range"][part]
        part_ranges[part] = [len(source_index), len(source_index) + (b - a)]
        source_index.extend(range(a, b + 1))
    source_index = np.asarray(source_index, np.int64)
    remap = np.full(len(verts_all), -1, np.int64)
    remap[source_index] = np.arange(len(source_index))
    face_keep = (remap[f_all] >= 0).all(axis=1)
    faces = remap[f_all[face_keep]]
    face_uv_src = fuv_all[face_keep]
    # material per face from the part of its first vertex
    mat_of_vertex = np.zeros(len(source_index), np.uint8)
    for part, mat in PARTS:
        a, b = part_ranges[part]
        mat_of_vertex[a:b + 1] = mat
    face_mat = mat_of_vertex[faces[:, 0]]
    # compact UV table
    used_uv, face_uv = np.unique(face_uv_src.ravel(), return_inverse=True)
    uvs = uv_all[used_uv]
    verts = verts_all[source_index]

    meta = {
        "source": "MakeHuman hm08 base mesh (3dobjs/base.obj), CC0 1.0",
        "frame": "Blender metres, Z up, character faces -Y, its left side is +X, "
                 "lowest body vertex at z = 0",
        "obj_to_blender": "(x, y, z)_obj -> (x, -z, y) * 0.1, then z += z_shift",
        "z_shift": round(float(z_shift), 6),
        "parts": part_ranges,
        "materials": MATERIALS,
    }
    np.savez_compressed(
        out / "makehuman_body.npz",
        vertices=verts.astype(np.float32),
        faces=faces.astype(np.int32),
        uvs=uvs.astype(np.float32),
        face_uvs=face_uv.reshape(-1, 4).astype(np.int32),
        face_material=face_mat,
        source_index=source_index.astype(np.int32),
        meta=np.array(json.dumps(meta)),
    )

    # --- rigs (positions computed from ALL vertices, incl. joint cubes, in the same frame)
    rigs = {}
    for name, rel in RIGS:
        rigs[name] = build_rig(name, src / "rigs" / rel, verts_all, groups)
    doc = {
        "format": "anima-rigs-1",
        "frame": meta["frame"],
        "note": "head/tail recomputed from base.obj with each bone's MPFB placement strategy; "
                "roll in radians (roll strategies baked); bones listed parents first",
        "licence": "CC0 1.0 (MakeHuman / MPFB2)",
        "rigs": rigs,
    }
    with open(out / "rigs.json", "w", encoding="utf-8") as fh:
        json.dump(doc, fh, separators=(",", ":"), sort_keys=False)

    # --- skin weights of the default character's rig
    skin_rig, skin_rel = SKIN_RIG
    bone_names = [b["name"] for b in rigs[skin_rig]["bones"]]
    idx, wts, k = build_skin(src / "rigs" / skin_rel, bone_names, source_index, verts)
    np.savez_compressed(
        out / f"skin_{skin_rig}.npz",
        bone_names=np.asarray(bone_names),
        index=idx,
        weight=wts,
        meta=np.array(json.dumps({"rig": skin_rig, "source": f"rigs/{skin_rel}",
                                  "influences": k, "normalised": True})),
    )

    total = 0
    for p in sorted(out.iterdir()):
        total += p.stat().st_size
        print(f"{p.name:28s} {p.stat().st_size / 1024:9.1f} KiB")
    print(f"{'total':28s} {total / 1024:9.1f} KiB")
    print(f"mesh: {len(verts)} vertices, {len(faces)} quads, height "
          f"{verts[:, 2].max():.3f} m; skin: {k} influences max")
    for name, rig in rigs.items():
        print(f"rig {name}: {len(rig['bones'])} bones")
    return 0


if __name__ == "__main__":
    sys.exit(main())
