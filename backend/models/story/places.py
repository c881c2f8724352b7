"""Places in a story resolved against the scene: which object "the red chair" is, and where
the character stands to use it. Names are matched with the standard library and a small
lexicon (no text encoder); the stand points use numpy and the planner's map.

- ``resolve_place(phrase, scene, near)``: the name of the scene object a place phrase means,
  matching the words of object names (Blender suffixes ".001" dropped, CamelCase and
  snake_case split, plurals made singular, a small lexicon of synonyms and kinds of thing).
- ``stand_point(obj, purpose, from_xy, occ)``: where the character stands to "sit" on, to
  "reach" or to be "at" an object, and which way it faces there.
- ``route(obj, purpose, from_xy, occ)``: the walk there (``planner.plan_path``) round the
  object itself, with a last short step to a stand point closer than the body radius.
"""
from __future__ import annotations

import math
import re

import numpy as np

from ...motion.path import check_path
from .planner import (OccupancyMap, PlanError, box_distance, footprint_boxes, plan_path,
                      sample_polyline)
from .schema import Scene, SceneObject, front_of, yaw_of

# a word of a name or phrase -> the word it means (synonyms)
SYNONYMS = {
    "couch": "sofa", "settee": "sofa", "divan": "sofa", "desk": "table",
    "exit": "door", "doorway": "door", "entrance": "door", "entry": "door", "gate": "door",
    "armchair": "chair", "cupboard": "cabinet", "closet": "wardrobe", "fridge": "refrigerator",
    "tv": "television", "telly": "television", "light": "lamp", "bookcase": "shelf",
    "bookshelf": "shelf", "sink": "basin", "washbasin": "basin", "loo": "toilet",
}
# kinds of thing: a phrase word naming a kind matches every member
KINDS = {
    "seat": {"chair", "stool", "bench", "sofa", "seat", "armchair"},
    "furniture": {"chair", "stool", "bench", "sofa", "table", "cabinet", "bed", "shelf"},
}
IGNORED = {"the", "a", "an", "to", "at", "of", "his", "her", "their", "its", "my", "your",
           "our", "that", "this", "those", "these", "over", "near", "by", "toward",
           "towards", "in", "on", "into", "onto", "next", "one", "some"}
# "back", "front", "side" are kept: in a noun phrase they tell doors apart ("the back door")
EXACT, SAME_WORD, SYNONYM, KIND = 100.0, 10.0, 8.0, 5.0
MODIFIER_SHARE = 0.3             # a describing word ("red") counts this much of the head noun
EXTRA_WORD = 0.5                 # each word of a name the phrase does not mention
SEAT_GAP = 0.15                  # m between a seat's front edge and where the character stands
REACH_GAP = 0.05                 # m beyond the body radius when reaching an object
SEARCH = 2.0                     # m around a blocked stand point searched for a free one


def singular(word: str) -> str:
    """"chairs" -> "chair", "benches" -> "bench", "shelves" -> "shelf" (English's usual
    plurals; a word that is no plural is kept)."""
    if len(word) > 4 and word.endswith("lves"):
        return word[:-3] + "f"
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def name_words(name: str) -> list[str]:
    """Lower-case singular words of an object name or phrase: "Chair_Red.001" -> [chair,
    red], "TVStand" -> [tv, stand], "the kitchen doors" -> [the, kitchen, door]."""
    name = re.sub(r"\.\d+$", "", name.strip())             # Blender's duplicate suffix
    parts = re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", name)
    return [singular(p.lower()) for p in parts if not p.isdigit()]


def _meaning(word: str) -> str:
    return SYNONYMS.get(word, word)


def _word_match(phrase_word: str, name_word: str) -> float:
    if phrase_word == name_word:
        return SAME_WORD
    a, b = _meaning(phrase_word), _meaning(name_word)
    if a == b:
        return SYNONYM
    if b in KINDS.get(a, ()) or name_word in KINDS.get(a, ()):
        return KIND
    return 0.0


def place_score(phrase_words: list[str], obj_name: str) -> float:
    """How well a phrase (its words, the head noun last) names an object; 0: not at all."""
    words = name_words(obj_name)
    if not words or not phrase_words:
        return 0.0
    if "".join(phrase_words) == "".join(words):               # "arm chair" ~ "ArmChair"
        return EXACT
    *modifiers, head = phrase_words
    head_hits = [_word_match(head, w) for w in words]
    if max(head_hits) == 0.0:
        return 0.0
    used = {head_hits.index(max(head_hits))}
    score = max(head_hits)
    for m in modifiers:
        hits = [_word_match(m, w) if i not in used else 0.0 for i, w in enumerate(words)]
        if max(hits, default=0.0) > 0.0:
            used.add(hits.index(max(hits)))
            score += MODIFIER_SHARE * max(hits)
        else:
            score -= EXTRA_WORD
    return score - EXTRA_WORD * (len(words) - len(used))


def resolve_place(phrase: str, scene: Scene, near=None) -> tuple[str | None, list[str]]:
    """The name of the scene object ``phrase`` means (or None) and warnings (list of str).

    Equally good matches: the one nearest ``near`` (x, y) if given, else the first by name,
    with a warning naming every candidate. No match: None and a warning naming the phrase and
    some of the scene's objects."""
    if not isinstance(phrase, str) or not phrase.strip():
        return None, ["no place named: the place phrase is empty"]
    names = [o.name for o in scene.objects]
    bare = re.sub(r"^(?:(?:the|a|an|to|at)\s+)+", "", phrase.strip().lower())
    for o in scene.objects:                                 # the exact name, any case
        if o.name.lower() in (phrase.strip().lower(), bare):
            return o.name, []
    words = [w for w in name_words(re.sub(r"[^\w\s.]", " ", phrase)) if w not in IGNORED]
    scores = {o.name: place_score(words, o.name) for o in scene.objects}
    top = max(scores.values(), default=0.0)
    if top <= 0.0:
        known = ", ".join(sorted(names)[:10]) + (", ..." if len(names) > 10 else "")
        return None, [f"no object in the scene matches {phrase.strip()!r} "
                      f"(objects: {known or 'none'})"]
    best = sorted(n for n, s in scores.items() if s >= top - 1e-9)
    chosen, warnings = best[0], []
    if len(best) > 1 and near is not None:
        x, y = float(near[0]), float(near[1])
        chosen = min(best, key=lambda n: math.hypot(scene.get(n).position[0] - x,
                                                    scene.get(n).position[1] - y))
    if len(best) > 1:
        warnings.append(f"{phrase.strip()!r} could be any of {', '.join(best)}: using "
                        f"{chosen} ({'the nearest' if near is not None else 'the first by name'})")
    missing = [w for w in words[:-1] if top < EXACT and
               not any(_word_match(w, n) for n in name_words(chosen))]
    if missing:
        warnings.append(f"no object in the scene is {' '.join(missing)!r} as in "
                        f"{phrase.strip()!r}: using {chosen}, the closest match")
    return chosen, warnings


# ----------------------------------------------------------------------------- stand points
def _free_near(occ: OccupancyMap, want: np.ndarray, used: SceneObject, gap: float
               ) -> np.ndarray | None:
    """The point nearest ``want`` (2,), on the map grid within SEARCH m, whose body is clear
    of the map's other obstacles and which is ``gap`` m or more from the used object."""
    n = int(round(SEARCH / occ.cell))
    off = np.arange(-n, n + 1) * occ.cell
    gx, gy = np.meshgrid(off, off)
    cand = occ.origin + occ.cell * occ.index_of(want)[0] + np.stack([gx.ravel(), gy.ravel()], 1)
    cand = cand[occ.on_map(cand)]
    ok = (occ.exact_clearance(cand, ignore=[used.name]) >= occ.body_radius) & (
        box_distance(cand, footprint_boxes([used]))[:, 0] >= gap)
    if not ok.any():
        return None
    cand = cand[ok]
    return cand[int(np.argmin(np.sum((cand - want) ** 2, axis=1)))]


def _closest_on_footprint(obj: SceneObject, xy: np.ndarray) -> np.ndarray:
    """The point (2,) of the object's footprint (a box) nearest xy (2,)."""
    r = math.radians(obj.yaw)
    ax, ay = np.array([math.cos(r), math.sin(r)]), np.array([-math.sin(r), math.cos(r)])
    d = xy - np.asarray(obj.position[:2])
    lx = np.clip(d @ ax, -obj.size[0] / 2, obj.size[0] / 2)
    ly = np.clip(d @ ay, -obj.size[1] / 2, obj.size[1] / 2)
    return np.asarray(obj.position[:2]) + lx * ax + ly * ay


def stand_point(obj: SceneObject, purpose: str, from_xy, occ: OccupancyMap
                ) -> tuple[np.ndarray, float | None, list[str]]:
    """Where the character stands (2,) to use ``obj``, its facing yaw there (degrees; None:
    keep its facing) and warnings.

    purpose: "sit" (SEAT_GAP in front of the seat's front edge, back to the seat), "reach"
    (just clear of the object on the side the character comes from, facing its centre), "at"
    (a non-obstacle's position, e.g. an Empty or a rug; obstacles are reached instead).
    A blocked spot (the body within body_radius of another obstacle, or too near obj itself)
    moves to the nearest free one with a warning; PlanError if none is within SEARCH m.
    Works the same whether ``occ`` ignores obj or not (for "sit", ``plan_path`` needs a map
    that ignores the seat, or use ``route``)."""
    r = occ.body_radius
    centre = np.asarray(obj.position[:2], dtype=np.float64)
    origin = np.asarray(from_xy, dtype=np.float64).ravel()[:2]
    others = [n for n in occ.names if n != obj.name]
    warnings: list[str] = []
    if purpose == "at" and obj.obstacle:
        purpose = "reach"
    if purpose == "sit":            # SEAT_GAP in front of the seat, looking where it looks
        want = centre + np.asarray(front_of(obj.yaw)) * (obj.size[1] / 2 + SEAT_GAP)
        facing, gap = float(obj.yaw), SEAT_GAP - 1e-9
    elif purpose == "reach":        # just clear of it on the side the character comes from
        edge = _closest_on_footprint(obj, origin)
        out = origin - edge
        if np.linalg.norm(out) < 1e-6:                  # coming from inside its footprint
            out = origin - centre
        if np.linalg.norm(out) < 1e-6:
            out = np.asarray(front_of(obj.yaw))
        want = edge + out / np.linalg.norm(out) * (r + REACH_GAP)
        facing, gap = None, r
    elif purpose == "at":           # on it (a rug, an empty): it is no obstacle
        want, facing, gap = centre, None, -math.inf
    else:
        raise PlanError(f"unknown purpose {purpose!r} for {obj.name!r}: use sit, reach or at")
    bad = occ.exact_clearance(want[None], ignore=[obj.name])[0] < r or \
        box_distance(want[None], footprint_boxes([obj]))[0, 0] < gap
    if bad:
        free = _free_near(occ, want, obj, gap)
        if free is None:
            raise PlanError(f"no free spot within {SEARCH:.0f} m of {obj.name!r} for the "
                            f"character to stand: it is hemmed in by other objects")
        doing = {"sit": "to sit on", "reach": "beside", "at": "at"}.get(purpose, "at")
        warnings.append(f"the spot {doing} {obj.name!r} is blocked"
                        f"{' by ' + repr(_blocker(occ, want, obj.name)) if others else ''}: "
                        f"using the nearest free spot, {np.linalg.norm(free - want):.2f} m away")
        want = free
    if purpose == "reach":
        facing = yaw_of(*(centre - want))
    return want, facing, warnings


def _blocker(occ: OccupancyMap, xy: np.ndarray, used: str) -> str:
    keep = [k for k, n in enumerate(occ.names) if n != used]
    d = box_distance(xy[None], occ.boxes[keep])[0]
    return occ.names[keep[int(np.argmin(d))]]


def route(obj: SceneObject, purpose: str, from_xy, occ: OccupancyMap
          ) -> tuple[np.ndarray, float | None, list[str]]:
    """The walk (N, 2) from from_xy to where the character uses ``obj`` (``stand_point``), its
    facing yaw at the end (None: keep) and warnings.

    ``occ`` should hold obj as an obstacle: the walk then goes round it, to a point just clear
    of it, and a last short straight leg reaches a stand point closer than the body radius
    (the spot in front of a seat)."""
    point, facing, warnings = stand_point(obj, purpose, from_xy, occ)
    here = np.asarray(from_xy, dtype=np.float64).ravel()[:2]
    name = repr(obj.name)
    if obj.name not in occ.names or np.linalg.norm(point - here) < occ.cell:
        pts, more = plan_path(occ, here, point, name)
        return pts, facing, warnings + more
    approach = point
    if occ.clearance_at(point[None])[0] < occ.body_radius:     # within the seat's reach
        edge = _closest_on_footprint(obj, point)
        out = (point - edge) / max(float(np.linalg.norm(point - edge)), 1e-9)
        approach = edge + out * (occ.body_radius + REACH_GAP)
        if occ.clearance_at(approach[None])[0] < occ.body_radius:
            approach = occ.nearest_free(point)
    pts, more = plan_path(occ, here, approach, name)
    if np.linalg.norm(pts[-1] - approach) < 1e-6 and np.linalg.norm(approach - point) > 1e-6:
        leg = sample_polyline(np.stack([approach, point]), 0.01)
        walk = np.vstack([pts, point])                      # the last step, up to the seat
        if occ.exact_clearance(leg, ignore=[obj.name]).min() >= occ.body_radius - occ.cell \
                and _walkable(walk):
            pts = walk
        else:
            more.append(f"the last step to {name} is blocked: the walk stops "
                        f"{np.linalg.norm(point - approach):.2f} m short")
    return pts, facing, warnings + more


def _walkable(points_xy: np.ndarray) -> bool:
    try:
        check_path(np.concatenate([points_xy, np.zeros((len(points_xy), 1))], 1))
    except ValueError:
        return False
    return True
