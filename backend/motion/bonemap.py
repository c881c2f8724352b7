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
import re
from dataclasses import dataclass, field
from pathlib import Path

from .skeleton import CANONICAL_NAMES


class MappingError(ValueError):
    """The rig could not be mapped: the message says which joints are missing and why."""


# Below this confidence a joint's automatic mapping is reported as a warning, not applied
# silently.
LOW_CONFIDENCE = 0.5


# Canonical joints a rig must have for retargeting to make sense.
REQUIRED = ["pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
            "right_ankle", "spine3", "left_shoulder", "right_shoulder", "left_elbow",
            "right_elbow", "left_wrist", "right_wrist"]


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
    path.write_text(bonemap.to_json(), encoding="utf-8")
    return path


def load_preset(path) -> BoneMap:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise MappingError(f"cannot read mapping preset {path}: {e.strerror}") from None
    return BoneMap.from_json(text)


# ------------------------------------------------------------------------------ names
_PREFIX = re.compile(r"^(mixamorig\d*:|cc_base_|def-|org-|mch-|bip\d*\s|b_|bn_|j_|jnt_|"
                     r"[a-z0-9_]+:)", re.IGNORECASE)
_SIDE_SUFFIX = re.compile(r"(?:[._\-\s])(l|r|left|right)$", re.IGNORECASE)
_SIDE_PREFIX_WORD = re.compile(r"^(left|right)(?=[A-Z_.\-\s]|$)", re.IGNORECASE)
_SIDE_PREFIX_LETTER = re.compile(r"^(l|r)(?=[A-Z_.\-\s])")
_SIDE_PREFIX_LETTER_ANYCASE = re.compile(r"^(l|r)[_.\-\s]", re.IGNORECASE)
_NUMBER_SUFFIX = re.compile(r"(\.\d{3})+$")

# Words that mark helper bones, never the main bone of a joint.
# Words (whole name tokens: "lForearmBend" is forearm + bend, not "end") that mark helper
# bones, never the main bone of a joint.
_HELPER_WORDS = {"twist", "roll", "share", "helper", "pole", "target", "tweak", "socket",
                 "corrective", "end", "nub", "ik", "ikfk", "parent", "mch", "org", "prop",
                 "jiggle", "dyn", "ctrl", "weapon", "attach", "tip",
                 "mstr", "master", "pivot", "snap", "sec", "adj", "bust"}
_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


@dataclass
class _Bone:
    index: int
    name: str
    side: str        # "L", "R" or "C"
    key: str         # lower-case letters/digits of the cleaned name, side removed
    numbered: bool   # Blender ".001"-style duplicate (twist segments, Rigify chains)


def _side_and_key(name: str) -> tuple[str, str, bool]:
    n = name.strip()
    while True:
        m = _PREFIX.match(n)
        if not m or m.end() == len(n):
            break
        n = n[m.end():]
    numbered = bool(_NUMBER_SUFFIX.search(n))
    n = _NUMBER_SUFFIX.sub("", n)
    side = "C"
    m = _SIDE_SUFFIX.search(n)
    if m:
        side, n = m.group(1)[0].upper(), n[:m.start()]
    else:
        for pattern in (_SIDE_PREFIX_WORD, _SIDE_PREFIX_LETTER, _SIDE_PREFIX_LETTER_ANYCASE):
            m = pattern.match(n)
            if m:
                side, n = m.group(1)[0].upper(), n[m.end():]
                break
        else:
            m = re.search(r"[_.\s](l|r|left|right)[_.\s]", n, re.IGNORECASE)
            if m:
                side, n = m.group(1)[0].upper(), n[:m.start()] + "_" + n[m.end():]
    key = re.sub(r"[^a-z0-9]", "", n.lower())
    return side, key, numbered


def _tokens(name: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(name)]


def _is_helper(name: str) -> bool:
    return any(t in _HELPER_WORDS for t in _tokens(name))


# Keywords per body part, tested against the cleaned key (most specific first).
_KEYS = {
    "hand": ["hand", "wrist"],
    "forearm": ["forearm", "lowerarm", "elbow", "radius", "lowarm", "foreArm".lower()],
    "upperarm": ["upperarm", "uparm", "humerus", "shldr", "arm"],
    "collar": ["clavicle", "collar", "shoulder"],
    "foot": ["foot", "ankle"],
    "toe": ["toebase", "toe", "ball"],
    "shin": ["calf", "shin", "lowerleg", "lowleg", "knee", "tibia", "leg"],
    "thigh": ["thigh", "upleg", "upperleg", "femur"],
    "neck": ["neck"],
    "head": ["head"],
}
_FINGER_WORDS = ("thumb", "index", "middle", "ring", "pinky", "finger", "metacarpal", "palm",
                 "carpal")


def _matches(bone: _Bone, part: str) -> bool:
    if _is_helper(bone.name) or any(w in bone.key for w in _FINGER_WORDS):
        return False
    k = bone.key.rstrip("0123456789")
    for word in _KEYS[part]:
        if part == "upperarm" and word == "arm":
            if k in ("arm", "upperarm") or k.endswith("arm") and not k.endswith("forearm") \
                    and not k.endswith("lowerarm"):
                return True
            continue
        if part == "shin" and word == "leg":
            if k == "leg" or (k.endswith("leg") and not any(
                    k.endswith(s) for s in ("upleg", "upperleg"))):
                return True
            continue
        if word in k:
            return True
    return False


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

    from .topology import SAME_PLACE, TopologyError, geometric_map
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
        one_chain = pos[b] in _ancestors(pos[other], parents) or \
            pos[other] in _ancestors(pos[b], parents)
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
    return BoneMap(_guess_type(names), bones, names[root] if root is not None else None,
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
        lca = _lca([pos["c_spine_01.x"], pos["c_thigh_fk.l"]], parents)
        if lca is not None and names[lca] in ("c_root.x", "c_root_master.x"):
            bones["pelvis"] = names[lca]
    root = "c_traj" if "c_traj" in present else None
    switches = [[b, "ik_fk_switch", 1.0] for b in ("c_foot_ik.l", "c_foot_ik.r",
                                                    "c_hand_ik.l", "c_hand_ik.r")
                if b in present]
    return BoneMap("auto_rig_pro", bones, root, {"fk_switch": switches},
                   {j: 1.0 for j in bones}, ["Auto-Rig Pro controls: FK chains keyed, IK/FK "
                                             "switches set to FK"], "Auto-Rig Pro table")


def _ancestors(i: int, parents: list[int]) -> list[int]:
    out = []
    p = parents[i]
    while p >= 0:
        out.append(p)
        p = parents[p]
    return out


def _depth(i: int, parents: list[int]) -> int:
    return len(_ancestors(i, parents))


def _lca(indices: list[int], parents: list[int]) -> int | None:
    chains = [[i] + _ancestors(i, parents) for i in indices]
    common = set(chains[0]).intersection(*map(set, chains[1:]))
    for b in chains[0]:
        if b in common:
            return b
    return None


def _topmost_run(start: int, part: str, bones: list[_Bone], parents: list[int]) -> int:
    """From a bone matching `part`, climb while the parent matches the same part (twist
    segments such as upperleg01/upperleg02 or thigh/thigh.001) and return the top one."""
    i = start
    while parents[i] >= 0 and _matches(bones[parents[i]], part) \
            and bones[parents[i]].side == bones[i].side:
        i = parents[i]
    return i


def _find_up(start: int, part: str, bones, parents, stop_parts=()) -> int | None:
    """Nearest ancestor of `start` matching `part` (then its topmost run)."""
    for a in _ancestors(start, parents):
        if _matches(bones[a], part):
            return _topmost_run(a, part, bones, parents)
        if any(_matches(bones[a], s) for s in stop_parts):
            return None
    return None


# Cost (in pelvis-to-head heights) of leaving a canonical spine joint unmapped when the rig's
# spine bones sit elsewhere: the bones then follow the nearest mapped joint below them.
SPINE_SKIP_COST = 0.1


def _spine_by_height(candidates: list[int], heads, pelvis: int, head: int) -> dict[str, int]:
    """Assign spine1..3 to candidate bones (bottom to top) so that their heights, measured
    from the pelvis to the head as 0..1, best match the canonical skeleton's."""
    import itertools

    import numpy as np

    from .skeleton import CANONICAL
    _, cpos = CANONICAL.rest_world()
    lo, hi = cpos[CANONICAL.index("pelvis"), 2], cpos[CANONICAL.index("head"), 2]
    want = {j: (cpos[CANONICAL.index(j), 2] - lo) / (hi - lo)
            for j in ("spine1", "spine2", "spine3")}
    heads = np.asarray(heads, dtype=float)
    rlo, rhi = heads[pelvis, 2], heads[head, 2]
    if rhi - rlo < 1e-6:
        return {}
    have = {c: (heads[c, 2] - rlo) / (rhi - rlo) for c in candidates}
    joints = list(want)
    best, best_cost = {}, float("inf")
    for k in range(1, min(len(joints), len(candidates)) + 1):
        for js in itertools.combinations(joints, k):
            for cs in itertools.combinations(candidates, k):
                cost = sum(abs(want[j] - have[c]) for j, c in zip(js, cs))
                cost += SPINE_SKIP_COST * (len(joints) - k)
                if cost < best_cost:
                    best, best_cost = dict(zip(js, cs)), cost
    return best


def _generic_map(names: list[str], parents: list[int], rest_heads=None) -> BoneMap:
    bones = [_Bone(i, n, *_side_and_key(n)) for i, n in enumerate(names)]
    out: dict[str, str] = {}
    problems = []

    def pick(part: str, side: str) -> int | None:
        cands = [b.index for b in bones if b.side == side and _matches(b, part)]
        if not cands:
            return None
        # Prefer un-numbered bones high in the hierarchy (the main bone, not a twist segment).
        cands.sort(key=lambda i: (bones[i].numbered, _depth(i, parents)))
        return _topmost_run(cands[0], part, bones, parents)

    limbs = {}
    for side, word in (("L", "left"), ("R", "right")):
        hand = pick("hand", side)
        foot = pick("foot", side)
        if hand is None:
            problems.append(f"{word} hand/wrist")
        else:
            fore = _find_up(hand, "forearm", bones, parents) or \
                (parents[hand] if parents[hand] >= 0 else None)
            if fore is not None and _matches(bones[fore], "upperarm") and \
                    not _matches(bones[fore], "forearm"):
                # The hand hangs directly off the upper arm: no forearm bone to find by name.
                fore = None
            upper = None
            if fore is not None:
                upper = _find_up(fore, "upperarm", bones, parents, stop_parts=("neck",))
                if upper is None and parents[fore] >= 0:
                    upper = parents[fore]
            collar = None
            if upper is not None:
                collar = _find_up(upper, "collar", bones, parents, stop_parts=("neck",))
                if collar is not None and bones[collar].side != side:
                    collar = None
            if fore is None or upper is None:
                problems.append(f"{word} arm chain above the hand '{names[hand]}'")
            limbs[side + "arm"] = (collar, upper, fore, hand)
        if foot is None:
            problems.append(f"{word} foot/ankle")
        else:
            shin = _find_up(foot, "shin", bones, parents) or \
                (parents[foot] if parents[foot] >= 0 else None)
            thigh = None
            if shin is not None:
                thigh = _find_up(shin, "thigh", bones, parents)
                if thigh is None and parents[shin] >= 0:
                    thigh = parents[shin]
            toe_children = [b.index for b in bones if parents[b.index] == foot
                            and _matches(b, "toe")]
            toe = toe_children[0] if toe_children else None
            if shin is None or thigh is None:
                problems.append(f"{word} leg chain above the foot '{names[foot]}'")
            limbs[side + "leg"] = (thigh, shin, foot, toe)

    head = pick("head", "C")
    if head is None:
        # Rigify meta-rigs name the head bone after the spine.
        head = next((i for i, n in enumerate(names) if n in _HEAD_FALLBACK_NAMES), None)
    if head is None:
        problems.append("head")
    if problems:
        raise MappingError("not a humanoid rig Anima can map automatically; could not find: "
                           + ", ".join(problems)
                           + ". Map the bones by hand in the Anima > Bone Mapping panel.")

    neck = _find_up(head, "neck", bones, parents)
    upper_l, upper_r = limbs["Larm"][1], limbs["Rarm"][1]
    thigh_l, thigh_r = limbs["Lleg"][0], limbs["Rleg"][0]
    chest = _lca([upper_l, upper_r, head], parents)
    pelvis = _lca([thigh_l, thigh_r, head], parents)
    if chest is None or pelvis is None or chest == pelvis:
        raise MappingError("arms and legs of this rig do not share a spine (is it one "
                           "humanoid skeleton?); map the bones by hand in the Bone Mapping panel")
    if neck is None:
        # The bone just above the chest on the way to the head.
        path = [head] + _ancestors(head, parents)
        k = path.index(chest) if chest in path else -1
        neck = path[k - 1] if k >= 2 else None
    # Spine bones strictly between pelvis and chest, bottom to top.
    path = _ancestors(chest, parents)
    if pelvis not in path:
        raise MappingError("the chest bone does not descend from the pelvis bone")
    between = list(reversed(path[:path.index(pelvis)]))

    out["pelvis"] = names[pelvis]
    if rest_heads is not None and len(rest_heads) == len(names):
        for j, c in _spine_by_height(between + [chest], rest_heads, pelvis, head).items():
            out[j] = names[c]
    else:
        out["spine3"] = names[chest]
        if between:
            out["spine1"] = names[between[0]]
            if len(between) >= 2:
                out["spine2"] = names[between[len(between) // 2]] if len(between) > 2 \
                    else names[between[1]]
    if neck is not None and neck != chest:
        out["neck"] = names[neck]
    if head != chest:
        out["head"] = names[head]
    for side, word in (("L", "left"), ("R", "right")):
        collar, upper, fore, hand = limbs[side + "arm"]
        thigh, shin, foot, toe = limbs[side + "leg"]
        if collar is not None and collar != chest:
            out[f"{word}_collar"] = names[collar]
        out[f"{word}_shoulder"] = names[upper]
        out[f"{word}_elbow"] = names[fore]
        out[f"{word}_wrist"] = names[hand]
        out[f"{word}_hip"] = names[thigh]
        out[f"{word}_knee"] = names[shin]
        out[f"{word}_ankle"] = names[foot]
        if toe is not None:
            out[f"{word}_foot"] = names[toe]

    if "spine3" not in out:  # height matching left the chest joint out: the chest it is
        out["spine3"] = names[chest]
    missing = [j for j in REQUIRED if j not in out]
    if missing:
        raise MappingError(f"could not map required joints: {missing}")
    # A root bone for "root motion on a root bone": a parentless ancestor of the pelvis.
    anc = _ancestors(pelvis, parents)
    root = names[anc[-1]] if anc else None
    rig_type = _guess_type(names)
    return BoneMap(rig_type, out, root)


_HEAD_FALLBACK_NAMES = ("spine.006",)


def _guess_type(names: list[str]) -> str:
    present = set(names)
    joined = " ".join(names)
    checks = [
        ("metarig", lambda: "spine.006" in present and "upper_arm.L" in present),
        ("mixamo", lambda: "mixamorig" in joined),
        ("character_creator", lambda: "CC_Base_" in joined),
        ("daz_genesis8", lambda: "lShldrBend" in present),
        ("daz_genesis9", lambda: "l_upperarm" in present and "l_forearm" in present),
        ("daz_genesis3", lambda: "lShldr" in present or "lForeArm" in present),
        ("3ds_max_biped", lambda: any(n.endswith(" Pelvis") and n.startswith("Bip")
                                      for n in names)),
        ("3ds_max_cat", lambda: any(n.endswith("Ribcage") for n in names)),
        ("vroid", lambda: "J_Bip_C_Hips" in present),
        ("vrm_humanoid", lambda: "leftUpperArm" in present),
        ("unreal5", lambda: "spine_05" in present and "thigh_l" in present),
        ("unreal", lambda: "spine_01" in present and "thigh_l" in present),
        ("auto_rig_pro", lambda: "root.x" in present or "c_root_master.x" in present),
        ("makehuman", lambda: "upperleg01.L" in present),
        ("cmu", lambda: "LeftUpLeg" in present and "LHipJoint" in present),
    ]
    return next((name for name, test in checks if test()), "generic")
