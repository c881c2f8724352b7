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
_HELPER_WORDS = ("twist", "roll", "share", "helper", "pole", "target", "tweak", "socket",
                 "corrective", "bend", "end", "nub", "_ik", "ik_", "ikfk", "parent", "mch",
                 "org", "prop", "jiggle", "dyn", "ctrl_", "weapon", "attach")


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


def _is_helper(name: str) -> bool:
    low = name.lower()
    return any(w in low for w in _HELPER_WORDS)


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
            # Drive the limbs through their FK controls. Arms follow the chest (their
            # parents are then the chest bones the retargeter solves against); legs keep
            # Rigify's default of not following the torso's rotation, because the leg
            # parents sit under the hip pivot rather than under the torso control.
            switches.append([limb, "IK_FK", 1.0])
            switches.append([limb, "FK_limb_follow", 1.0 if limb.startswith("upper_arm")
                             else 0.0])
    root = "root" if "root" in present else None
    return BoneMap("rigify", bones, root, {"fk_switch": switches})


# ------------------------------------------------------------------------ main entry
def auto_map(names: list[str], parents: list[int], rest_heads=None) -> BoneMap:
    """Map a rig's bones onto the canonical joints.

    names: bone names in hierarchy order; parents: parent index per bone (-1 for roots).
    rest_heads: optional (J, 3) rest positions of the bone heads (Z up). With them, spine
    bones are matched to spine1..3 by height, so the rig bends where the source bends.
    Raises MappingError with the list of what could not be found.
    """
    names = [str(n) for n in names]
    parents = [int(p) for p in parents]
    if len(names) != len(parents):
        raise MappingError(f"{len(names)} bone names but {len(parents)} parent indices")
    if not names:
        raise MappingError("the armature has no bones")

    generated = _rigify_generated(names)
    if generated is not None:
        return generated
    return _generic_map(names, parents, rest_heads)


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
    joined = " ".join(names)
    if "spine.006" in names and "upper_arm.L" in names:
        return "metarig"
    if "mixamorig" in joined:
        return "mixamo"
    if "CC_Base_" in joined:
        return "iclone"
    if "spine_01" in names and "thigh_l" in names:
        return "unreal"
    if "upperleg01.L" in names:
        return "makehuman"
    if "LeftUpLeg" in names and "LHipJoint" in names:
        return "cmu"
    return "generic"
