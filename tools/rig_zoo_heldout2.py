"""The SECOND held-out rig set: humanoid rigs of conventions in neither the rig zoo
(tools/rig_zoo.py) nor the first held-out set (tools/rig_zoo_heldout.py), written to measure
the automatic bone mapper on rigs nobody tuned it for. While writing it, backend/motion/
bonemap.py, bonenames.py, topology.py and docs/retargeting.md were not read, and nothing in
the mapper was changed.

    from rig_zoo_heldout2 import heldout2, heldout2_report
    for spec in heldout2(): ...                   # list[RigSpec] (tools/rig_zoo_geometry.py)
    .venv/bin/python tools/rig_zoo_heldout2.py    # table: what today's auto_map gets right

Conventions: Godot 4 SkeletonProfileHumanoid, an "Armature|"-prefixed Mecanim FBX, Ready
Player Me, Meta OVR full body, a Poser BVH, Blender's legacy (2.6x) Human meta-rig
(tools/rig_zoo_heldout2_engines.py); a CATS-fixed VRChat avatar with hair/skirt chains, a
three-fingered toon with long ears and a tail, a child-proportioned Maya _JNT rig, a tall
thin rig with bent arms and IK/pole bones on the joints, a German-named rig with a prop root
(tools/rig_zoo_heldout2_shapes.py); a Perception Neuron BVH and an Azure Kinect skeleton
(tools/rig_zoo_heldout2_mocap.py).

Expectations follow tools/rig_zoo_heldout.py: the bone whose head sits at the canonical
joint and whose rotation swings the segment below it; pelvis = the bone that moves the whole
body; spine3 = the bone the clavicles and neck hang from (with RigBuilder's nearest-chest
alternative when spine1/2 are not named); spine1/spine2 only where the rig has exactly three
spine bones.
"""
from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for _p in (str(_HERE), str(_HERE.parent)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import rig_zoo_heldout2_engines  # noqa: E402
import rig_zoo_heldout2_mocap  # noqa: E402
import rig_zoo_heldout2_shapes  # noqa: E402
from rig_zoo import scrambled  # noqa: E402
from rig_zoo_geometry import RigSpec  # noqa: E402
from rig_zoo_heldout import map_heldout  # noqa: E402
from rig_zoo_heldout_mocap import turned_around  # noqa: E402

_BUILDERS = (rig_zoo_heldout2_engines.SPECS + rig_zoo_heldout2_shapes.SPECS
             + rig_zoo_heldout2_mocap.SPECS)
# Rigs whose object the user spun to face +Y (variety of object transforms).
_TURNED = {"ready_player_me"}


def heldout2() -> list[RigSpec]:
    """Every rig of the second held-out set (fresh objects each call)."""
    specs = []
    for make in _BUILDERS:
        spec = make()
        if spec.name in _TURNED:
            spec = turned_around(spec, "turned to face the camera on +Y")
        specs.append(spec)
    return specs


def heldout2_report(seed: int = 0, verbose: bool = True) -> list[dict]:
    """Map every rig of the set, named and scrambled (rig_zoo.scrambled); print a table;
    return one row per rig and variant: {rig, variant, total, correct, wrong {joint: (chosen,
    expected)} in the original bone names, error, confidence}."""
    rows = []
    for spec in heldout2():
        for variant, s in (("named", spec), ("scrambled", scrambled(spec, seed))):
            m = map_heldout(s)
            if variant == "scrambled":
                back = dict(zip(s.names(), spec.names()))
                m["wrong"] = {j: (back.get(g, g), back[w]) for j, (g, w) in m["wrong"].items()}
            rows.append(dict(rig=spec.name, variant=variant, total=len(spec.expected),
                             correct=len(m["correct"]), wrong=m["wrong"], error=m["error"],
                             confidence=m["confidence"]))
    if verbose:
        print(f"{'rig':25s} {'variant':9s} {'joints':>6s} {'conf':>5s}  "
              "wrong joint: chosen (expected)")
        for r in rows:
            conf = "-" if r["confidence"] is None else f"{r['confidence']:.2f}"
            what = r["error"] or "; ".join(f"{j}: {g} ({w})" for j, (g, w)
                                            in sorted(r["wrong"].items())) or "-"
            print(f"{r['rig']:25s} {r['variant']:9s} {r['correct']:>2d}/{r['total']:<3d} "
                  f"{conf:>5s}  {what}")
        for variant in ("named", "scrambled"):
            got = [r for r in rows if r["variant"] == variant]
            exact = sum(r["correct"] == r["total"] for r in got)
            print(f"{variant}: {exact}/{len(got)} rigs mapped exactly ({exact / len(got):.0%})")
    return rows


if __name__ == "__main__":
    heldout2_report()
