"""Does a clip show an action? Simple kinematic checks on joint positions.

Used two ways:

* the generator's take check (``backend/models/text2motion/takes.py``): a generated take
  that does not show the asked action is made again with another seed;
* the compound evaluation (``backend/eval/compound_eval.py``): every part of a composed
  prompt looked for in its share of the clip (the issue's "wrist above the shoulder while
  the pelvis travels >= 1 m").

Positions are (T, 22, 3) in metres, Z up, canonical joint order. ``score`` is the measure
over its threshold, so 1.0 and above passes; ``None`` means no check for that action.

* locomotion (walk..., run, dash): the pelvis travels >= 1 m on the floor over a whole clip
  (>= 0.5 m over a share of one);
* arm gestures (wave, raise, bye, call, respond): a wrist above its shoulder in >= 15 % of
  the frames. The evaluation takes either hand. ``sided=True`` (the take check) also
  wants the hands the action names: for a one-hand wave or raise, the named hand up and
  the other up in at most 15 % of the frames; for both hands, each hand up. On the data's
  real clips the stricter rule passes as many (0.87 / 0.86: a real one-hand wave or raise
  never lifts the other hand, and a real two-hand one lifts both);
* with ``sided=True`` a locomotion must also go the way it names, measured from the
  body's facing over its first tenth: forward (walk, run, dash) within 45 deg, backwards
  at least 135 deg off, to the named side 10-80 deg, and a walk-and-turn turns at least
  45 deg to its side. Real clips: walks, runs and dashes travel within 9 deg (10th-90th
  percentile), walks backwards 149-180 deg off, to one side 20-52 deg, and turns turn
  85-99 deg;
* guide (showing the way with an open arm, held about waist to chest high): a wrist reaches
  >= 0.53 m out from the chest's vertical axis (90th percentile of the frames). A wrist
  above the shoulder passed only 13 % of the data's 30 real guiding clips; the reach passes
  87 % of them, and 4-6 % of the real walks, runs and walks backwards;
* jump: the pelvis rises >= 0.15 m above its median height; kick: an ankle >= 0.35 m above
  the floor; bow: the head drops >= 0.15 m below its standing height (90th percentile);
* other actions (dance, punch, spin, ...): no check.

Some styles do not pass some checks in real motion: a feminine wave or raised hand of the
data stays under the shoulder (0 of 55 feminine waves pass), a proud or sad bow stays
shallow. ``style_mark(action, style)`` is 1.0 where the real clips of that style of the
action pass the take check at least half the time (``presence_rates.json``, counts and
median scores from the dataset, rebuilt by ``python -m backend.eval.compound_eval
--write-rates``); where they do not, the generator's takes must reach half the real clips'
median score instead (``style_mark``: a proud bow still bows a little), and are not
checked where that is 0 (a feminine wave).

Each check's pass rate on the real clips of its action (every clip of the dataset,
``python -m backend.eval.compound_eval`` prints the table): bow 87 %, bye 69 %, byebye 75 %,
call 50 % (4 clips), guide 87 %, the rest 90-100 %.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from .normalize import facing_yaw
from .skeleton import CANONICAL_NAMES

J = {n: i for i, n in enumerate(CANONICAL_NAMES)}
LOCOMOTION = frozenset({"walk", "walk-back", "walk-left", "walk-right", "walk-turn-left",
                        "walk-turn-right", "run", "dash"})
GESTURES = frozenset({"wave-both-hands", "wave-left-hand", "wave-right-hand",
                      "raise-up-both-hands", "raise-up-left-hand", "raise-up-right-hand",
                      "bye", "byebye", "call", "respond"})
CHECKABLE = LOCOMOTION | GESTURES | {"guide", "jump", "kick", "bow"}
ONE_HAND = {a: a.split("-")[-2] for a in GESTURES if a.endswith(("-left-hand", "-right-hand"))}
BOTH_HANDS = frozenset({"wave-both-hands", "raise-up-both-hands"})

TRAVEL_WHOLE_M = 1.0        # a locomotion over a whole clip
TRAVEL_SHARE_M = 0.5        # ... over one part's share of a clip
HAND_UP_SHARE = 0.15        # frames with a wrist above its shoulder
GUIDE_REACH_M = 0.53        # a guiding wrist's reach from the chest axis
JUMP_RISE_M = 0.15
KICK_ANKLE_M = 0.35
BOW_DROP_M = 0.15
# the take check's direction of a locomotion: angle of the travel from the first frames'
# facing (real clips: walks, runs and dashes within 9 deg, walking backwards 149-180,
# to one side 20-52, walk-and-turn 85-99 deg of turn)
FORWARD_MAX_DEG = 45.0
BACKWARD_DEG = 135.0
SIDE_MIN_DEG, SIDE_MAX_DEG = 10.0, 80.0
TURN_MIN_DEG = 45.0


def _wrap_deg(a: float) -> float:
    return float((a + 180.0) % 360.0 - 180.0)


def _direction(action: str, pos: np.ndarray) -> float:
    """The take check's direction score of a locomotion (>= 1 passes; module doc). Angles
    are yaws about +Z, positive to the body's left (``normalize.facing_yaw``)."""
    k = max(1, len(pos) // 10)
    start = np.degrees(facing_yaw(pos[:k], J.__getitem__))
    end = np.degrees(facing_yaw(pos[-k:], J.__getitem__))
    travel = pos[-1, J["pelvis"], :2] - pos[0, J["pelvis"], :2]
    # the travel's direction on the facing's scale (a body facing its way of travel: 0)
    way = _wrap_deg(np.degrees(np.arctan2(travel[0], -travel[1])) - start) \
        if np.linalg.norm(travel) > 1e-6 else 0.0
    if action == "walk-back":
        return abs(way) / BACKWARD_DEG
    if action in ("walk-left", "walk-right"):
        side = way * (1 if action == "walk-left" else -1)
        return max(0.0, min(side / SIDE_MIN_DEG, SIDE_MAX_DEG / max(side, 1e-9)))
    if action in ("walk-turn-left", "walk-turn-right"):
        turn = _wrap_deg(end - start) * (1 if action == "walk-turn-left" else -1)
        return max(0.0, turn / TURN_MIN_DEG)
    return FORWARD_MAX_DEG / max(abs(way), 1e-9)            # walk, run, dash: forward


def score(action: str, pos: np.ndarray, whole: bool = False, sided: bool = False):
    """The check's measure over its threshold (>= 1 passes), or None when `action` has no
    check. whole: `pos` is a whole clip (locomotion must travel further)."""
    pos = np.asarray(pos, np.float64)
    if pos.ndim != 3 or pos.shape[1:] != (len(CANONICAL_NAMES), 3) or len(pos) < 2:
        raise ValueError(f"positions must be (T >= 2, {len(CANONICAL_NAMES)}, 3), got "
                         f"{pos.shape}")
    pelvis = pos[:, J["pelvis"]]
    if action in LOCOMOTION:
        travel = np.linalg.norm(pelvis[-1, :2] - pelvis[0, :2])
        out = float(travel / (TRAVEL_WHOLE_M if whole else TRAVEL_SHARE_M))
        return min(out, _direction(action, pos)) if sided else out
    if action in GESTURES:
        up = {s: float((pos[:, J[f"{s}_wrist"], 2] > pos[:, J[f"{s}_shoulder"], 2]).mean())
              for s in ("left", "right")}
        if sided and action in ONE_HAND:
            named = ONE_HAND[action]
            other = up["right" if named == "left" else "left"]
            return float(min(up[named] / HAND_UP_SHARE, HAND_UP_SHARE / max(other, 1e-9)))
        if sided and action in BOTH_HANDS:
            return float(min(up.values()) / HAND_UP_SHARE)
        return float(max(up.values()) / HAND_UP_SHARE)
    if action == "guide":
        chest = pos[:, J["spine3"], :2]
        reach = [np.percentile(np.linalg.norm(pos[:, J[f"{s}_wrist"], :2] - chest, axis=1), 90)
                 for s in ("left", "right")]
        return float(max(reach) / GUIDE_REACH_M)
    if action == "jump":
        return float((pelvis[:, 2].max() - np.median(pelvis[:, 2])) / JUMP_RISE_M)
    if action == "kick":
        floor = pos[:, :, 2].min()
        return float((max(pos[:, J["left_ankle"], 2].max(), pos[:, J["right_ankle"], 2].max())
                      - floor) / KICK_ANKLE_M)
    if action == "bow":
        head = pos[:, J["head"], 2]
        return float((np.percentile(head, 90) - head.min()) / BOW_DROP_M)
    return None


def present(action: str, pos: np.ndarray, whole: bool = False, sided: bool = False) -> bool:
    """Whether the clip shows `action` by its check (ValueError for an action with none)."""
    s = score(action, pos, whole, sided)
    if s is None:
        raise ValueError(f"no kinematic check for {action!r}")
    return s >= 1.0


RATES_PATH = Path(__file__).with_name("presence_rates.json")
STYLE_PASS_MIN = 0.5        # real clips of a style that must pass its action's take check
STYLE_RELAX = 0.5           # else a take must show this much of their median score


@lru_cache(maxsize=1)
def _rates() -> dict:
    try:
        return json.loads(RATES_PATH.read_text(encoding="utf-8"))["rates"]
    except (OSError, ValueError, KeyError):
        return {}


def style_mark(action: str, style: str | None) -> float:
    """The score a take of `style` of `action` must reach (module doc): 1.0, the check's
    own threshold, unless under ``STYLE_PASS_MIN`` of that style's real clips pass it; then
    ``STYLE_RELAX`` of their median score (0.0: they show none of it, no check)."""
    if not style or style == "normal":
        return 1.0
    cell = _rates().get(action, {}).get(style)
    if not cell or not cell[1] or cell[0] / cell[1] >= STYLE_PASS_MIN:
        return 1.0
    return round(STYLE_RELAX * float(cell[2]), 3) if len(cell) > 2 else 0.0

