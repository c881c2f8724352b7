"""Bone mapping by names and hierarchy (no geometry): the fallback for rigs whose rest pose
is not a standing humanoid, the check that names agree with the skeleton's shape, and the
guess of which tool made a rig. Used by bonemap.auto_map. numpy only (for spine heights).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

class NameMapError(ValueError):
    """The names and hierarchy do not describe a humanoid (the message says what is missing)."""


# Canonical joints a rig must have for retargeting to make sense.
REQUIRED = ["pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
            "right_ankle", "spine3", "left_shoulder", "right_shoulder", "left_elbow",
            "right_elbow", "left_wrist", "right_wrist"]


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


def ancestors(i: int, parents: list[int]) -> list[int]:
    out = []
    p = parents[i]
    while p >= 0:
        out.append(p)
        p = parents[p]
    return out


def _depth(i: int, parents: list[int]) -> int:
    return len(ancestors(i, parents))


def lca(indices: list[int], parents: list[int]) -> int | None:
    chains = [[i] + ancestors(i, parents) for i in indices]
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
    for a in ancestors(start, parents):
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


def name_map(names: list[str], parents: list[int], rest_heads=None) -> tuple[dict, str | None]:
    """Map by names and hierarchy alone: ({canonical joint: bone}, root bone or None).
    Raises NameMapError with what could not be found."""
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
        raise NameMapError("not a humanoid rig Anima can map automatically; could not find: "
                           + ", ".join(problems)
                           + ". Map the bones by hand in the Anima > Bone Mapping panel.")

    neck = _find_up(head, "neck", bones, parents)
    upper_l, upper_r = limbs["Larm"][1], limbs["Rarm"][1]
    thigh_l, thigh_r = limbs["Lleg"][0], limbs["Rleg"][0]
    chest = lca([upper_l, upper_r, head], parents)
    pelvis = lca([thigh_l, thigh_r, head], parents)
    if chest is None or pelvis is None or chest == pelvis:
        raise NameMapError("arms and legs of this rig do not share a spine (is it one "
                           "humanoid skeleton?); map the bones by hand in the Bone Mapping panel")
    if neck is None:
        # The bone just above the chest on the way to the head.
        path = [head] + ancestors(head, parents)
        k = path.index(chest) if chest in path else -1
        neck = path[k - 1] if k >= 2 else None
    # Spine bones strictly between pelvis and chest, bottom to top.
    path = ancestors(chest, parents)
    if pelvis not in path:
        raise NameMapError("the chest bone does not descend from the pelvis bone")
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
        raise NameMapError(f"could not map required joints: {missing}")
    # A root bone for "root motion on a root bone": a parentless ancestor of the pelvis.
    anc = ancestors(pelvis, parents)
    root = names[anc[-1]] if anc else None
    return out, root


_HEAD_FALLBACK_NAMES = ("spine.006",)


def guess_type(names: list[str]) -> str:
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
