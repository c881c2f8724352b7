"""Automatic mapping of any humanoid rig's bones (or BVH joints) onto the canonical 22 joints.

A mapping says, for each canonical joint, which bone carries it: the bone whose head sits at
that joint and whose rotation moves the body segment below it (left_knee -> the shin bone).
Rigs rarely match one to one; bones that are not mapped (twist bones, extra spine or neck
bones, pelvis helpers) simply follow their parent during retargeting.

Detection works on names *and* hierarchy, so it covers Blender's Human meta-rig (and MPFB's
variant with one more spine bone), generated Rigify rigs (a table of their FK controls), Mixamo, Unreal mannequins, MakeHuman rigs, CMU/BVH skeletons and most others:
  1. every bone gets a side (left / right / centre) and a cleaned name;
  2. hands and feet are found by keyword, then arm and leg chains are walked up the hierarchy;
  3. pelvis = lowest common ancestor of both thighs and the neck; chest = lowest common
     ancestor of both arms and the neck; the spine bones between are spread over spine1..3.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..fileio import write_text
from .bonenames import NameMapError, ancestors, guess_type, lca, name_map
from .skeleton import CANONICAL_NAMES


class MappingError(ValueError):
    """The rig could not be mapped: the message says which joints are missing and why."""


# Below this confidence a joint's automatic mapping is reported as a warning, not applied
# silently.
LOW_CONFIDENCE = 0.5




@dataclass
class BoneMap:
    """canonical joint name -> bone name, plus rig-specific extras."""
    rig_type: str
    bones: dict[str, str]
    root_bone: str | None = None
    # e.g. {"fk_switch": [[bone, property, value], ...]} for generated Rigify rigs.
    extras: dict = field(default_factory=dict)
    # How sure the automatic mapping is of each joint (0..1), and what it noticed.
    confidence: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    method: str = "names"

    @property
    def overall_confidence(self) -> float:
        """The least sure joint's confidence (1.0 for a mapping made or checked by hand)."""
        return float(min(self.confidence.values())) if self.confidence else 1.0

    def low_confidence(self, threshold: float = None) -> list[str]:
        """Joints whose confidence is below `threshold` (LOW_CONFIDENCE by default)."""
        t = LOW_CONFIDENCE if threshold is None else threshold
        return [j for j in CANONICAL_NAMES if self.confidence.get(j, 1.0) < t
                and j in self.bones]

    def report(self) -> str:
        """One line per joint: bone, confidence; then the notes (for the log and the panel)."""
        lines = [f"{self.rig_type} rig, mapped by {self.method}; confidence "
                 f"{self.overall_confidence:.2f}"]
        for j in CANONICAL_NAMES:
            if j in self.bones:
                c = self.confidence.get(j)
                lines.append(f"  {j:15s} -> {self.bones[j]}" + (f"  ({c:.2f})" if c is not None
                                                                else ""))
            else:
                lines.append(f"  {j:15s} -> (follows its parent)")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({"format": "anima-bonemap", "version": 1, "rig_type": self.rig_type,
                           "bones": self.bones, "root_bone": self.root_bone,
                           "extras": self.extras}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "BoneMap":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise MappingError(f"mapping preset is not valid JSON: {e}") from None
        if not isinstance(d, dict) or d.get("format") != "anima-bonemap":
            raise MappingError("not an Anima bone-mapping preset (missing format 'anima-bonemap')")
        bones = d.get("bones", {})
        unknown = sorted(set(bones) - set(CANONICAL_NAMES))
        if unknown:
            raise MappingError(f"mapping preset names unknown canonical joints: {unknown}")
        return cls(d.get("rig_type", "custom"), dict(bones), d.get("root_bone"),
                   dict(d.get("extras", {})))

    def missing(self, names: list[str]) -> list[str]:
        """Mapped bone names that are not in `names` (e.g. a preset made for another rig)."""
        present = set(names)
        return sorted(b for b in self.bones.values() if b not in present)


def save_preset(path, bonemap: BoneMap) -> Path:
    path = Path(path)
    write_text(path, bonemap.to_json())
    return path


def load_preset(path) -> BoneMap:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise MappingError(f"cannot read mapping preset {path}: {e.strerror}") from None
    return BoneMap.from_json(text)


# ------------------------------------------------------------------- known rig tables
_RIGIFY_GENERATED = {  # FK controls of a rig generated from the Human meta-rig.
    "pelvis": "torso", "spine1": "spine_fk.001", "spine2": "spine_fk.002",
    "spine3": "spine_fk.003", "neck": "neck", "head": "head",
    "left_hip": "thigh_fk.L", "left_knee": "shin_fk.L", "left_ankle": "foot_fk.L",
    "left_foot": "toe_fk.L",
    "right_hip": "thigh_fk.R", "right_knee": "shin_fk.R", "right_ankle": "foot_fk.R",
    "right_foot": "toe_fk.R",
    "left_collar": "shoulder.L", "left_shoulder": "upper_arm_fk.L", "left_elbow": "forearm_fk.L",
    "left_wrist": "hand_fk.L",
    "right_collar": "shoulder.R", "right_shoulder": "upper_arm_fk.R",
    "right_elbow": "forearm_fk.R", "right_wrist": "hand_fk.R",
}


def _rigify_generated(names: list[str]) -> BoneMap | None:
    present = set(names)
    if not ({"torso", "ORG-spine", "DEF-spine"} <= present):
        return None
    bones = {j: b for j, b in _RIGIFY_GENERATED.items() if b in present}
    # Newer Rigify names the FK toe "toe_fk.L", older "toe.L".
    for side in ("L", "R"):
        joint = "left_foot" if side == "L" else "right_foot"
        if joint not in bones and f"toe.{side}" in present:
            bones[joint] = f"toe.{side}"
    # Older spines have no FK spine controls: fall back to the IK-style ones.
    if "spine3" not in bones and "chest" in present:
        bones["spine3"] = "chest"
    switches = []
    for limb in ("upper_arm_parent.L", "upper_arm_parent.R", "thigh_parent.L",
                 "thigh_parent.R"):
        if limb in present:
            # Drive the limbs through their FK controls. FK_limb_follow is the influence of
            # a Copy Rotation from the root on the limb's parent: 0 lets the limb turn with
            # the body (its hierarchy), which is what the retargeter solves against.
            switches.append([limb, "IK_FK", 1.0])
            switches.append([limb, "FK_limb_follow", 0.0])
    if "torso" in present:
        # The neck and head controls follow the torso's rotation by default (isolated head);
        # with follow = 1 they turn with the spine below them, as a skeleton does.
        switches += [["torso", "neck_follow", 1.0], ["torso", "head_follow", 1.0]]
    root = "root" if "root" in present else None
    return BoneMap("rigify", bones, root, {"fk_switch": switches}, {j: 1.0 for j in bones},
                   ["generated Rigify rig: FK controls keyed, IK/FK switches set to FK"],
                   "Rigify table")


# ------------------------------------------------------------------------ main entry
def auto_map(names: list[str], parents: list[int], rest_heads=None, rest_tails=None) -> BoneMap:
    """Map a rig's bones onto the canonical joints.

    names: bone names in hierarchy order; parents: parent index per bone (-1 for roots).
    rest_heads / rest_tails: optional (J, 3) rest positions of the bone heads and tails in
    world axes (Z up). With them the mapping is made from the hierarchy and the geometry
    (backend/motion/topology.py), so any naming convention (or none: "Bone.001") works, and
    the names only break ties between bones at the same place; the result carries a
    confidence per joint and notes. Without them, names and hierarchy alone are used.
    Raises MappingError with what could not be found.
    """
    names = [str(n) for n in names]
    parents = [int(p) for p in parents]
    if len(names) != len(parents):
        raise MappingError(f"{len(names)} bone names but {len(parents)} parent indices")
    if not names:
        raise MappingError("the armature has no bones")

    found = _rigify_generated(names) or _auto_rig_pro_controls(names, parents)
    if found is not None:
        return found
    if rest_heads is None or len(rest_heads) != len(names):
        return _generic_map(names, parents, rest_heads)
    return _geometry_map(names, parents, rest_heads, rest_tails)


def _geometry_map(names, parents, rest_heads, rest_tails) -> BoneMap:
    import numpy as np

    from .shape import SAME_PLACE
    from .topology import TopologyError, geometric_map
    try:
        idx, conf, notes, root = geometric_map(parents, rest_heads, rest_tails)
    except TopologyError as e:
        try:   # names may still describe a humanoid whose rest pose is unusual
            bm = _generic_map(names, parents, rest_heads)
        except MappingError:
            raise MappingError(f"not a humanoid rig Anima can map automatically: {e}. Map "
                               f"the bones by hand in the Anima > Bone Mapping panel.") from None
        bm.confidence = {j: 0.3 for j in bm.bones}
        bm.notes = [f"the rest pose does not look like a standing humanoid ({e}); mapped by "
                    "names only: check the mapping"]
        return bm
    bones = {j: names[i] for j, i in idx.items()}
    try:
        by_name = _generic_map(names, parents, rest_heads).bones
    except MappingError:
        by_name = {}
    heads = np.asarray(rest_heads, dtype=float)
    height = float(np.ptp(heads[:, 2])) or 1.0
    pos = {n: i for i, n in enumerate(names)}
    informative = sum(by_name.get(j) == b for j, b in bones.items()) >= len(bones) // 2
    swapped = [j for j, b in bones.items() if j.startswith(("left_", "right_")) and
               by_name.get(_other_side(j)) == b]
    if len(swapped) >= 4:
        notes.append("the bone names say left where the skeleton's shape says right (a rig "
                      "facing away from its feet, or mirrored?): the shape was used; check the "
                      "sides")
        for j in swapped:
            conf[j] = min(conf.get(j, 1.0), 0.3)
    for j, b in list(bones.items()):
        other = by_name.get(j)
        if other is None or other == b or not informative or j.startswith("spine"):
            continue
        same_place = np.linalg.norm(heads[pos[other]] - heads[pos[b]]) < 2 * SAME_PLACE * height
        one_chain = pos[b] in ancestors(pos[other], parents) or \
            pos[other] in ancestors(pos[b], parents)
        if same_place:          # two bones at one joint: the name says which is the main one
            bones[j] = other
        elif one_chain:         # which bone of one chain sits at the joint: the shape knows
            notes.append(f"{j}: {b!r} sits at the joint ({other!r} by its name is further "
                         "along the chain)")
        else:
            conf[j] = min(conf.get(j, 1.0), 0.45)
            notes.append(f"{j}: the names suggest {other!r}, the skeleton's shape {b!r} "
                         f"(used)")
    method = "skeleton shape and names" if informative else "skeleton shape (names not used)"
    return BoneMap(guess_type(names), bones, names[root] if root is not None else None,
                   {}, {j: round(float(c), 3) for j, c in conf.items()}, notes, method)


def _other_side(joint: str) -> str:
    return ("right_" + joint[5:]) if joint.startswith("left_") else ("left_" + joint[6:])


_ARP_CONTROLS = {
    "pelvis": "c_root.x", "spine1": "c_spine_01.x", "spine2": "c_spine_02.x",
    "spine3": "c_spine_03.x", "neck": "c_neck.x", "head": "c_head.x",
    "left_hip": "c_thigh_fk.l", "left_knee": "c_leg_fk.l", "left_ankle": "c_foot_fk.l",
    "left_foot": "c_toes_fk.l", "left_collar": "c_shoulder.l", "left_shoulder": "c_arm_fk.l",
    "left_elbow": "c_forearm_fk.l", "left_wrist": "c_hand_fk.l",
}
_ARP_CONTROLS.update({k.replace("left_", "right_"): v[:-2] + ".r"
                      for k, v in list(_ARP_CONTROLS.items()) if k.startswith("left_")})


def _auto_rig_pro_controls(names: list[str], parents: list[int]) -> BoneMap | None:
    """Auto-Rig Pro control rigs: drive the FK controls (the deform bones follow them)."""
    present = set(names)
    if not {"c_root_master.x", "c_thigh_fk.l", "c_arm_fk.l"} <= present:
        return None
    bones = {j: b for j, b in _ARP_CONTROLS.items() if b in present}
    # The pelvis joint goes to the control that carries both the spine and the legs.
    pos = {n: i for i, n in enumerate(names)}
    if "c_spine_01.x" in present:
        common = lca([pos["c_spine_01.x"], pos["c_thigh_fk.l"]], parents)
        if common is not None and names[common] in ("c_root.x", "c_root_master.x"):
            bones["pelvis"] = names[common]
    root = "c_traj" if "c_traj" in present else None
    switches = [[b, "ik_fk_switch", 1.0] for b in ("c_foot_ik.l", "c_foot_ik.r",
                                                    "c_hand_ik.l", "c_hand_ik.r")
                if b in present]
    return BoneMap("auto_rig_pro", bones, root, {"fk_switch": switches},
                   {j: 1.0 for j in bones}, ["Auto-Rig Pro controls: FK chains keyed, IK/FK "
                                             "switches set to FK"], "Auto-Rig Pro table")




def _generic_map(names: list[str], parents: list[int], rest_heads=None) -> BoneMap:
    """Names and hierarchy alone (bonenames.name_map), as a BoneMap."""
    try:
        bones, root = name_map(names, parents, rest_heads)
    except NameMapError as e:
        raise MappingError(str(e)) from None
    return BoneMap(guess_type(names), bones, root)
