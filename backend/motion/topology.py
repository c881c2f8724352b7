"""Bone mapping by topology and geometry: which bone of a humanoid rig carries each canonical
joint, found from the hierarchy and the rest pose alone (names are not needed).

The rest pose of a humanoid rig, whatever its naming convention, stands upright (Z up) with the
legs reaching the floor and the arms out to the sides (T- or A-pose). From that:

1. the *top* is the highest point of the rig (a head bone, its end, an eye, hair); its path
   down the hierarchy is the body's central line, and the mean of that line's bones is the
   body's midline;
2. walking down that line, the first bone whose other branches hold two *legs* (chains that
   reach the floor through a knee-height joint, leaving the midline at hip height) is the hip
   branch; the pelvis joint goes to it, or to the bone above it when that one sits at the
   same place (a 3ds Max Biped's `Bip01 Pelvis` above thighs hung under `Bip01 Spine`);
3. each leg: hip = the first bone that leaves the midline, ankle = the first bone below 13%
   of the height, knee = the bone between them nearest the canonical knee's share of the
   leg, ball of the foot = the low bone nearest the canonical distance in front of the ankle
   (none for a fan of separate toes); left-right is the line through the hips, and the toes
   say which way is forward;
4. each arm: the branch off the central line that reaches furthest to that side; wrist = the
   bone where three or more finger chains split (or the bone nearest the wrist's share of the
   arm), shoulder and elbow = the pair, with the shoulder 5.5-14% of the height off the
   midline, that makes upper arm and forearm as long as each other (this skips scapula
   helpers and twist bones), collar = the first bone between the spine and the shoulder;
5. chest = the central bone the arms hang from (or the one below it when they hang from a
   neck, as on a Biped), neck = the next one up, head = the central bone a canonical neck's
   length above the neck, spine1/spine2 = the bones between pelvis and chest nearest the
   canonical relative heights.

Every joint gets a confidence in [0, 1] (how far its bone sits from where that joint is
expected, and whether left and right agree). Pure numpy; used by `bonemap.auto_map`.
"""
from __future__ import annotations

import itertools

import numpy as np

from .shape import Rig, TopologyError, nearest_on, path_up, subtree
from .shape import conf as _conf
from .shape import topmost_same_place


# Proportions below are the canonical skeleton's (backend/motion/skeleton.py), as shares of
# the height or of a limb.
KNEE_FRACTION = 0.52       # knee's share of the hip-to-ankle drop
ELBOW_FRACTION = 0.50      # elbow's share of the shoulder-to-wrist distance
WRIST_FRACTION = 0.72      # wrist's share of the shoulder-to-fingertip distance
ARM_RATIO = 1.03           # upper arm length / forearm length
FLOOR_BAND = 0.045         # leaf ends below this share of the height are on the floor
KNEE_BAND = (0.15, 0.45)
ANKLE_BELOW = 0.13
OFF_CENTRE = 0.035         # hips leave the centre line by more than this share of height
SHOULDER_OFF = 0.055       # shoulders sit further than this from the centre line
SHOULDER_MAX = 0.14        # ... and not further (canonical 0.10; mid upper arm is beyond)
BALL_FORWARD = 0.073       # the ball of the foot sits this far in front of the ankle
NECK_LENGTH = 0.065        # head joint above the neck joint, share of the height (canonical)
NECK_ABOVE_SHOULDERS = 0.075  # a neck joint sits at most this far above the shoulders (0.04)
SHOULDERS_TO_HEAD = 0.104  # head joint above the shoulder joints
MIN_ARM_REACH = 0.1        # a hand reaches at least this far to the side (arms down: 0.12)


def _legs_below(rig: Rig, x: int, skip: int | None, centre: np.ndarray
                ) -> dict[int, list[int]]:
    """Legs hanging from bone x (not through its child `skip`): {hip bone: [floor leaves]}.
    Hips are the first bones that leave the vertical line through `centre` (the top)."""
    origin = centre
    legs: dict[int, list[int]] = {}
    for c in rig.kids[x]:
        if c == skip:
            continue
        for leaf in subtree(c, rig.kids):
            if not rig.leaf[leaf] or rig.low_z(leaf) > FLOOR_BAND:
                continue
            path = list(reversed(path_up(leaf, rig.parents)))
            path = path[path.index(x) + 1:]
            hip = next((b for b in path if rig.horiz(b, origin) > OFF_CENTRE
                        and rig.z(b) > 0.3), None)
            if hip is None:
                continue
            below = path[path.index(hip):]
            if not any(KNEE_BAND[0] <= rig.z(b) <= KNEE_BAND[1] for b in below):
                continue
            if rig.z(hip) - rig.low_z(leaf) < 0.3:
                continue
            legs.setdefault(hip, []).append(leaf)
    return legs


def _mirrored_pair(rig: Rig, legs: dict, centre: np.ndarray) -> dict:
    """Of several leg-like chains, the two that mirror each other across the midline: hips on
    opposite sides, as far out and as high, feet as low."""
    best, best_cost = None, np.inf
    hips = list(legs)
    for i, a in enumerate(hips):
        for b in hips[i + 1:]:
            da, db = (rig.heads[a] - centre)[:2], (rig.heads[b] - centre)[:2]
            na, nb = np.linalg.norm(da), np.linalg.norm(db)
            opposite = float(da @ db) / max(na * nb, 1e-12)         # -1: mirrored
            cost = (1.0 + opposite) + abs(na - nb) / rig.H * 10 + abs(rig.z(a) - rig.z(b)) * 10
            cost += abs(min(rig.low_z(f) for f in legs[a]) -
                        min(rig.low_z(f) for f in legs[b])) * 10
            if cost < best_cost:
                best, best_cost = (a, b), cost
    return {h: legs[h] for h in best}


def _wrist_without_fingers(rig: Rig, arm: list[int], sh0: int, lateral: list[float]):
    """On an arm without finger chains: the furthest bone w that ends an upper arm and a
    forearm of about one length (a shoulder s and an elbow e between), so that a prop or an
    attachment hanging off the hand, or twist bones halfway along, are not taken for it.
    Returns (index in arm, how far the length ratio is off) or (None, inf)."""
    found = []                                   # (w, reach, how far off one length)
    for w in range(sh0 + 2, len(arm)):
        for s_k in range(sh0, w - 1):
            if not SHOULDER_OFF < lateral[s_k] <= SHOULDER_MAX:
                continue
            for e in range(s_k + 1, w):
                upper = np.linalg.norm(rig.heads[arm[e]] - rig.heads[arm[s_k]])
                lower = np.linalg.norm(rig.heads[arm[w]] - rig.heads[arm[e]])
                if upper < 1e-9 or lower < 1e-9:
                    continue
                off = abs(np.log(upper / lower / ARM_RATIO))
                if off < 0.25:
                    found.append((w, np.linalg.norm(rig.heads[arm[w]] - rig.heads[arm[s_k]]),
                                  off))
    if not found:
        return None, np.inf
    # Twist bones halfway make a half-length "arm": keep the full-length ones, then the
    # best-matched lengths (a grip or prop bone just past the hand matches worse).
    longest = max(r for _, r, _ in found)
    w, _, off = min((f for f in found if f[1] >= 0.75 * longest), key=lambda f: f[2])
    return w, off


def geometric_map(parents, heads, tails=None) -> tuple[dict, dict, list[str], int | None]:
    """Map a rig from its hierarchy and rest pose.

    parents: (J,) parent index (-1 for roots; parents first); heads / tails: (J, 3) rest
    positions in world axes (Z up). Returns ({canonical joint: bone index},
    {canonical joint: confidence 0..1}, notes, root bone index or None).
    Raises TopologyError when the rig is not a standing humanoid.
    """
    rig = Rig(parents, heads, tails)
    n = len(rig.parents)
    notes: list[str] = []
    conf: dict[str, float] = {}
    out: dict[str, int] = {}

    # 1. The central line, from the top down.
    top = int(np.argmax([rig.top_z(i) for i in range(n)]))
    down = path_up(top, rig.parents)                    # top ... root
    # The body's midline: where the central line's bones stand on average (the top itself
    # may be an eye, off to one side).
    centre = rig.heads[down].mean(axis=0)
    # 2. The hip branch: the first bone on the way down with two legs off the line.
    hip_branch, legs = None, {}
    for k, x in enumerate(down):
        found = _legs_below(rig, x, down[k - 1] if k > 0 else None, centre)
        if len(found) >= 2:
            hip_branch, legs = k, found
            break
    if hip_branch is None:
        raise TopologyError("no two legs reaching the floor were found below the head: not a "
                            "standing humanoid rig (a quadruped, a rig missing a leg, or one "
                            "not in a standing rest pose?)")
    if len(legs) > 2:       # a tail, a skirt or hind limbs reach the floor too
        legs = _mirrored_pair(rig, legs, centre)
    pk = hip_branch
    while pk + 1 < len(down):
        up = down[pk + 1]
        if rig.parents[up] < 0 or np.linalg.norm(rig.heads[up] - rig.heads[down[hip_branch]]) \
                > 0.06 * rig.H:
            break
        pk += 1
    pelvis = down[pk]
    if pk != hip_branch:
        notes.append("the legs hang below the pelvis bone (from a spine bone at the same "
                     "place); the pelvis joint drives the bone above them")
    out["pelvis"] = pelvis
    central = list(reversed(down[:pk + 1]))              # pelvis ... top

    # 3. Legs; forward and left from the feet.
    hip_mid = np.mean([rig.heads[h] for h in legs], axis=0)
    leg_chains = {}
    forward = np.zeros(3)
    for hip, leaves in legs.items():
        lowest = min(leaves, key=rig.low_z)
        any_path = list(reversed(path_up(lowest, rig.parents)))
        any_path = any_path[any_path.index(hip):]
        ankle = next((b for b in any_path if rig.z(b) < ANKLE_BELOW), None)
        if ankle is None or any_path.index(ankle) < 2:
            raise TopologyError("a leg has no separate shin and foot bones")
        # The toes reach further from the ankle along the floor than the heel does.
        tip = max(leaves, key=lambda f: np.hypot(*(rig.ends[f] - rig.heads[ankle])[:2]))
        path = list(reversed(path_up(tip, rig.parents)))
        path = path[path.index(hip):]
        if ankle not in path:
            ankle = next(b for b in path if rig.z(b) < ANKLE_BELOW)
        ankle_k = path.index(ankle)
        knee_k, knee_dev = nearest_on(rig, path, 1, ankle_k, rig.heads[path[0]],
                                       rig.heads[ankle], KNEE_FRACTION)
        toe_k = None
        fan = sum(1 for c in rig.kids[ankle]
                  if any(rig.low_z(f) < FLOOR_BAND for f in subtree(c, rig.kids)
                         if rig.leaf[f]))
        balls = [k for k in range(ankle_k + 1, len(path)) if rig.z(path[k]) < 0.035
                 and rig.horiz(path[k], rig.heads[ankle]) > 0.035]
        if balls:
            toe_k = min(balls, key=lambda k: abs(rig.horiz(path[k], rig.heads[ankle]) -
                                                 BALL_FORWARD))
        if fan >= 3 and toe_k == ankle_k + 1:
            toe_k = None          # a fan of separate toes: leave them with the foot
        # Forward: the toes' tip, or the foot bone's own end where it reaches further (a foot
        # without toe bones, with only an attachment under it).
        reach = rig.ends[tip] - rig.heads[ankle]
        own = rig.tails[ankle] - rig.heads[ankle]
        if np.hypot(*own[:2]) > np.hypot(*reach[:2]) and rig.low_z(ankle) < 0.08:
            reach = own
        forward += reach
        leg_chains[hip] = (path, knee_k, knee_dev, ankle_k, toe_k)
    # Left-right is the line through the hips; the feet only say which way is forward.
    up = np.array([0.0, 0.0, 1.0])
    h1, h2 = list(leg_chains)
    across = rig.heads[h1] - rig.heads[h2]
    across[2] = 0.0
    facing = np.cross(across, up)
    if np.linalg.norm(facing) < 1e-9:
        raise TopologyError("both hips sit at one place: not a humanoid rig")
    facing /= np.linalg.norm(facing)
    forward[2] = 0.0
    if abs(np.dot(forward, facing)) < 1e-9:
        notes.append("the feet give no forward direction: assuming the rig faces -Y")
        forward = np.array([0.0, -1.0, 0.0])
    forward = facing if np.dot(forward, facing) > 0 else -facing
    left = np.cross(up, forward)

    def side_of(p) -> str:
        return "left" if np.dot(p - rig.heads[pelvis], left) > 0 else "right"

    sides = {side_of(rig.heads[h]): h for h in leg_chains}
    if len(sides) != 2:
        raise TopologyError("both legs are on the same side of the body")
    for side, hip in sides.items():
        path, knee_k, knee_dev, ankle_k, toe_k = leg_chains[hip]
        out[f"{side}_hip"] = path[0]
        out[f"{side}_knee"] = path[knee_k]
        out[f"{side}_ankle"] = path[ankle_k]
        conf[f"{side}_knee"] = _conf(knee_dev, 0.15)
        conf[f"{side}_hip"] = conf[f"{side}_ankle"] = 1.0
        if toe_k is not None:
            out[f"{side}_foot"] = path[toe_k]
            conf[f"{side}_foot"] = 0.9

    # 4. Arms: the branch off the central line reaching furthest to each side.
    leg_bones = set()
    for hip in legs:
        leg_bones.update(subtree(hip, rig.kids))
    on_line = set(central)
    arm_pool = []
    for k, c in enumerate(central):
        nxt = central[k + 1] if k + 1 < len(central) else None
        for child in rig.kids[c]:
            if child != nxt and child not in leg_bones:
                arm_pool.extend(b for b in subtree(child, rig.kids) if b not in leg_bones)
    pelvis_pos = rig.heads[pelvis]
    branches = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        if not arm_pool:
            raise TopologyError(f"no {side} arm")
        reach = np.array([sign * np.dot(rig.ends[b] - pelvis_pos, left) for b in arm_pool])
        tip = arm_pool[int(np.argmax(reach))]
        if reach.max() < MIN_ARM_REACH * rig.H:
            raise TopologyError(f"no {side} arm reaching out to the side")
        path = list(reversed(path_up(tip, rig.parents)))
        branch = max(k for k, b in enumerate(path) if b in on_line)
        branches[side] = central.index(path[branch])
        arm = path[branch + 1:]
        lateral = [sign * np.dot(rig.heads[b] - pelvis_pos, left) / rig.H for b in arm]
        sh0 = next((k for k, v in enumerate(lateral) if v > SHOULDER_OFF), None)
        if sh0 is None or sh0 >= len(arm) - 2:
            raise TopologyError(f"the {side} arm has no upper arm, forearm and hand bones")
        leaves_below = [sum(rig.leaf[subtree(b, rig.kids)]) for b in arm]
        wrist_k = next((k for k in range(len(arm) - 1, sh0 + 1, -1) if leaves_below[k] >= 3),
                       None)
        wrist_dev = 0.0
        if wrist_k is None:     # no fingers: the wrist ends two arm segments of one length
            wrist_k, wrist_dev = _wrist_without_fingers(rig, arm, sh0, lateral)
        if wrist_k is None:
            wrist_k, wrist_dev = nearest_on(rig, arm, sh0 + 2, len(arm), rig.heads[arm[sh0]],
                                             rig.ends[tip], WRIST_FRACTION)
            if wrist_k is None:
                raise TopologyError(f"the {side} arm has no separate forearm and hand bones")
        wrist_k = topmost_same_place(rig, arm, wrist_k)
        if wrist_k - sh0 < 2:
            raise TopologyError(f"the {side} arm has no separate forearm and hand bones")
        # Shoulder and elbow: upper arm and forearm are about as long as each other (between
        # a scapula helper and a twist bone, the real shoulder gives the best ratio).
        w = rig.heads[arm[wrist_k]]
        best = None
        for s_k in range(sh0, wrist_k - 1):
            if not SHOULDER_OFF < lateral[s_k] <= SHOULDER_MAX:
                continue
            for e_k in range(s_k + 1, wrist_k):
                upper = np.linalg.norm(rig.heads[arm[e_k]] - rig.heads[arm[s_k]])
                lower = np.linalg.norm(w - rig.heads[arm[e_k]])
                if upper < 1e-9 or lower < 1e-9:
                    continue
                cost = abs(np.log(upper / lower / ARM_RATIO))
                if best is None or cost < best[0] - 1e-9:
                    best = (cost, s_k, e_k)
        if best is None:
            raise TopologyError(f"the {side} arm has no separate upper arm and forearm bones")
        _, sh, elbow_k = best
        sh = topmost_same_place(rig, arm, sh)
        elbow_k = max(sh + 1, topmost_same_place(rig, arm, elbow_k))
        elbow_dev = best[0]
        out[f"{side}_shoulder"] = arm[sh]
        out[f"{side}_elbow"] = arm[elbow_k]
        out[f"{side}_wrist"] = arm[wrist_k]
        conf[f"{side}_shoulder"] = 1.0
        conf[f"{side}_elbow"] = _conf(elbow_dev, 0.3)
        conf[f"{side}_wrist"] = _conf(wrist_dev, 0.15)
        if sh > 0:
            out[f"{side}_collar"] = arm[0]
            conf[f"{side}_collar"] = 0.9 if sh == 1 else 0.6
        arm_pool = [b for b in arm_pool if b not in set(subtree(arm[0], rig.kids))]
    # 5. Chest, neck, head and spine along the central line. The arms branch off the chest
    #    (or, on a 3ds Max Biped, off the neck: then the chest is the bone below it).
    if max(rig.heads[top, 2], rig.ends[top, 2]) - hip_mid[2] < 0.2 * rig.H:
        raise TopologyError("the body does not rise above the hips: the rig lies down or its "
                            "spine is horizontal (a quadruped?)")
    chest_k = min(branches.values())
    neck_k = None
    shoulders_z = 0.5 * (rig.heads[out["left_shoulder"], 2] + rig.heads[out["right_shoulder"], 2])
    if chest_k >= 2 and rig.heads[central[chest_k], 2] > shoulders_z - 0.03 * rig.H:
        neck_k, chest_k = chest_k, chest_k - 1     # a 3ds Max Biped: clavicles on the neck
        notes.append("the arms hang from a neck bone; the chest joint drives the bone below")
    elif (chest_k + 1 < len(central) - 1 or (chest_k + 1 < len(central)
                                             and not rig.leaf[central[chest_k + 1]])) and \
            rig.heads[central[chest_k + 1], 2] < shoulders_z + NECK_ABOVE_SHOULDERS * rig.H:
        neck_k = chest_k + 1      # (a bone much higher than that is the head: no neck bone)
    if chest_k >= 1:
        out["spine3"] = central[chest_k]
        conf["spine3"] = 1.0
    # The head: where the skull starts, a canonical neck's length above the neck joint
    # (skull tops, nubs and hair are not reliable: many rigs end at the head joint).
    low = neck_k if neck_k is not None else chest_k
    above = list(range(low + 1, len(central)))
    if above:
        want = rig.heads[central[low], 2] + NECK_LENGTH * rig.H if neck_k is not None \
            else shoulders_z + SHOULDERS_TO_HEAD * rig.H
        head_k = min(above, key=lambda k: abs(rig.heads[central[k], 2] - want))
    elif neck_k is not None:
        head_k, neck_k = neck_k, None
    else:
        raise TopologyError("no head bone above the shoulders")
    head_k = max(low + 1 if low + 1 <= head_k else head_k,
                 topmost_same_place(rig, central, head_k))
    if neck_k is not None and neck_k >= head_k:
        neck_k = None
    out["head"] = central[head_k]
    conf["head"] = _conf((rig.heads[central[head_k], 2] - want) / rig.H, 0.04) \
        if above else 0.5
    if neck_k is not None:
        out["neck"] = central[neck_k]
        conf["neck"] = 1.0
    # spine1 and spine2 between the pelvis and the chest, by relative height (canonical:
    # 22% and 55% of the way up from the pelvis joint to the chest joint).
    lo, hi = rig.heads[pelvis, 2], rig.heads[central[chest_k], 2]
    between = central[1:chest_k]
    if between and hi - lo > 1e-6:
        rel = {b: (rig.heads[b, 2] - lo) / (hi - lo) for b in between}
        want = {"spine1": 0.22, "spine2": 0.55}
        best, best_cost = {}, float("inf")
        for r in range(0, min(2, len(between)) + 1):
            for js in itertools.combinations(want, r):
                for bs in itertools.combinations(between, r):
                    cost = sum(abs(want[j] - rel[b]) for j, b in zip(js, bs)) + \
                        0.25 * (2 - r)
                    if cost < best_cost:
                        best, best_cost = dict(zip(js, bs)), cost
        out.update(best)
        for j, b in best.items():
            conf[j] = _conf(rel[b] - want[j], 0.35)
    conf["pelvis"] = 1.0

    # Left/right agreement: mirrored positions of paired joints.
    for j in list(out):
        if j.startswith("left_"):
            other = "right_" + j[5:]
            if other in out:
                a = rig.heads[out[j]] - pelvis_pos
                b = rig.heads[out[other]] - pelvis_pos
                mirror = b - 2 * np.dot(b, left) * left
                c = _conf(np.linalg.norm(a - mirror) / rig.H, 0.08)
                conf[j] = min(conf.get(j, 1.0), c)
                conf[other] = min(conf.get(other, 1.0), c)
    root = down[-1] if down[-1] != pelvis else None
    return out, conf, notes, root
