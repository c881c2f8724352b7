"""A schedule becomes one canonical clip in the scene: segments made one by one, placed where
and facing the way the story says, transitions in-betweened.

    story = compose_story(gen, schedule, scene, seed=0, progress=..., cancelled=...)
    story.clip           # canonical Clip at the generator's rate, world coordinates
    story.segments       # [{"index", "text", "kind", "start", "end", ...}] frames, end exclusive
    story.transitions    # [{"between": [i, i + 1], "start", "end"}]

Per segment (``schema.Segment``):

* ``move``: the place's stand point (``places.stand_point``: in front of a seat, beside a
  table, on an empty) and the path there around the obstacles (``planner.plan_path`` on a 2-D
  occupancy map; the object sat on is not an obstacle for that path); a gait is generated once
  per (gait, style) and carried along the path by ``motion.pathfollow.follow_path`` at the
  asked speed, feet planted; an ``overlay`` re-makes its upper body (``editing.edits.body_part``).
* ``act``: generated from its text (snapped to a training-like caption when the prompt checker
  is sure), turned to its facing and put where the character stands.
* ``pose``: ``poses.pose_clip`` (sit on the seat, stand, idle, turn, lie), with an overlay on
  the upper body when the story says so ("sits down and waves").

Between two segments a gap (TRANSITION_* seconds: longer for a long turn, a walk to the next
start, sitting down or getting up) is filled by the learned in-betweener (slerp when its
checkpoint is missing). Frames of the segments themselves are never changed by the filling.

Cancelling keeps the segments made so far (``StoryResult.partial``). ``previous`` (a former
result's clip and segment table) plus ``regenerate`` (indices) keeps every other segment's
frames exactly and re-makes only those segments and the transitions beside them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ...motion import quat
from ...motion.clip import Clip
from ...motion.looping import _heading, _rotate_xy, _yaw_quat
from .schema import Scene, Schedule, Segment, front_of, wrap_degrees, yaw_of

TRANSITION_MIN_S = 0.7
TRANSITION_MAX_S = 2.5
TRANSITION_POSTURE_S = 1.0       # sitting down, getting up, lying down
TRANSITION_TURN_S = 1.2          # per 180 degrees of turning on the spot (dev set: jerk)
TRANSITION_WALK_SPEED = 1.0      # m/s for the distance bridged by a transition
SHORT_MOVE = 0.3                 # m: a place nearer than this is not walked to
DEFAULT_POSE_S = {"sit": 3.0, "lie": 3.0, "stand": 0.6, "idle": 2.0, "turn": 0.6}
OVERLAY_CHUNK_S = 9.0            # body-part edits in windows of at most this (the generator's)
UPPER_BODY = ["upper_body"]
MAX_CELL = 0.4                   # m: the coarsest planning grid for a very large scene
SEAT_TOP = 0.45                  # m: a sofa's seat (its box is as high as its back)
ACT_CLEARANCE = 0.15             # m an action's root keeps from obstacles (less if it starts
                                 # nearer)
TRAVEL_SHARES = (1.0, 0.75, 0.5, 0.25, 0.0)


@dataclass
class _Piece:
    """A made segment: its clip (world coordinates) and where it leaves the character."""
    clip: Clip
    end_xy: tuple
    end_yaw: float
    posture: str
    info: dict = field(default_factory=dict)


@dataclass
class StoryResult:
    clip: Clip | None
    segments: list[dict]
    transitions: list[dict]
    warnings: list[str]
    partial: bool = False
    metrics: dict = field(default_factory=dict)


def place_clip(clip: Clip, xy, yaw: float) -> Clip:
    """A generated clip (starting near the origin facing about -Y) turned so its first frame
    faces `yaw` (degrees) and moved so its first root position is at floor point `xy`."""
    start_yaw = float(_heading(clip.local_rotations[:1, 0])[0])
    turn = math.radians(yaw) - start_yaw
    rots = clip.local_rotations.copy()
    rots[:, 0] = quat.normalize(quat.mul(np.broadcast_to(_yaw_quat(np.array(turn)),
                                                         rots[:, 0].shape), rots[:, 0]))
    root = clip.root_translation.copy()
    root[:, :2] = _rotate_xy(root[:, :2] - root[0, :2], turn) + np.asarray(xy, float)
    return Clip(quat.unroll(rots), root, clip.fps, clip.skeleton, dict(clip.meta))


def end_yaw(clip: Clip) -> float:
    return wrap_degrees(math.degrees(float(_heading(clip.local_rotations[-1:, 0])[0])))


class Composer:
    """Makes segments one at a time (see the module doc); keeps the caches of one story."""

    def __init__(self, gen, scene: Scene, seed: int = 0, steps=None, guidance=None,
                 model: str = "starter", library_dir=None):
        from ..text2motion.config import FPS
        self.gen, self.scene, self.seed = gen, scene, int(seed)
        self.steps, self.guidance, self.model = steps, guidance, model
        self.fps = FPS
        self.library_dir = library_dir      # the backend's cache dir: the user's libraries
        self._library = None
        self._maps: dict = {}
        self._labels: dict = {}
        self._labels_of: dict = {}
        self._gaits: dict = {}
        self.warnings: list[str] = []

    # ------------------------------------------------------------------ scene helpers
    def occupancy(self, ignore: tuple = ()):
        from .planner import OccupancyMap
        key = tuple(sorted(ignore))
        if key not in self._maps:
            from .planner import CELL, PlanError
            cell = CELL
            while True:               # a big scene: coarser cells rather than no plan
                try:
                    self._maps[key] = OccupancyMap.from_scene(self.scene, cell=cell, ignore=key)
                    break
                except PlanError as e:
                    if "too big" not in str(e) or cell >= MAX_CELL:
                        raise
                    cell *= 2
            if cell > CELL:
                self.warnings.append(f"the scene is large: paths were planned on a "
                                     f"{cell * 100:.0f} cm grid")
        return self._maps[key]

    def facing_yaw(self, facing, xy, current: float) -> float:
        """Yaw (degrees) for a segment's facing: an object (turn towards it), a number, or
        None (keep `current`)."""
        if isinstance(facing, str):
            obj = self.scene.get(facing)
            if obj is None:
                return current
            dx, dy = obj.position[0] - xy[0], obj.position[1] - xy[1]
            return yaw_of(dx, dy) if math.hypot(dx, dy) > 1e-3 else obj.yaw
        if facing is not None:
            return float(facing)
        return current

    # ------------------------------------------------------------------ generator helpers
    def _sampling(self) -> dict:
        from ..text2motion.compose import sampling_kwargs
        return sampling_kwargs(self.steps, self.guidance)

    def _generate(self, text: str, seconds, seed: int, style: bool = True) -> Clip:
        from ..text2motion.compose import model_text
        feats = self.gen.generate([model_text(self.gen, text, style=style)], [seconds],
                                  [int(seed)], **self._sampling())[0]
        return self.gen.to_clip(feats)

    def _library_act(self, seg: Segment, seed: int) -> tuple[Clip, dict]:
        """The library clip whose caption is nearest the action (shipped CMU library plus the
        user's imported ones under ``library_dir``), cut to the segment's length."""
        from ...motion.resample import resample
        from ...text.encoder import TextEncoder
        from ..search.job import library_paths, load_libraries
        from ..search.search import crop, rank
        encoder = TextEncoder.shared()
        if self._library is None:
            choice = "all" if self.library_dir is not None else "default"
            self._library = load_libraries(library_paths(choice, self.library_dir or "."),
                                           encoder)
        if len(self._library) == 0:
            raise ValueError("the motion library is empty")
        best = rank(self._library, encoder.encode([seg.action])[0], top_k=1)[0]
        entry = self._library.entries[best.index]
        clip = crop(self._library.clip(best.index), seg.seconds, seed)
        if abs(clip.fps - self.fps) > 1e-9:
            clip = resample(clip, self.fps)
        return clip, {"source": "library", "caption": best.caption, "score": best.score,
                      "licence": entry.licence, "commercial_ok": bool(entry.commercial_ok),
                      "attribution": entry.attribution, "checked": False}

    def _act(self, seg: Segment, seed: int) -> tuple[Clip, dict]:
        """An action generated and checked as the generate job does it
        (``text2motion/takes.py``): when a simple kinematic check covers it (a wave lifts a
        wrist over the shoulder, a bow lowers the head ...), up to ``TAKES`` samples are
        drawn until one passes, held to what real clips of the asked style show; then up to
        ``WEAKER_TAKES`` more with the style at half strength; the best is kept. info: the
        action label, tries, whether the check passed, and whether the style was weakened."""
        from ...motion.presence import CHECKABLE
        from ..text2motion.compose import read_part
        from ..text2motion.takes import TAKES, generate_takes, weaker_texts
        from ...text.known import check_prompt, refine_action
        if seg.action not in self._labels_of:
            report = check_prompt(seg.action, self.model)
            label = None if report.unknown or not report.known_actions else \
                refine_action(report.known_actions[0][0], seg.action)
            self._labels_of[seg.action] = label
        label = self._labels_of[seg.action]
        text, _read, style = read_part(self.gen, seg.action)
        feats, takes = generate_takes(self.gen, [text], [label], [seg.seconds], [int(seed)],
                                      TAKES if label in CHECKABLE else 1,
                                      weaker=weaker_texts([text], [label]), styles=[style],
                                      **self._sampling())
        take = takes[0]
        info = {"label": label, "tries": take.takes, "checked": take.action is not None,
                "passed": bool(take.passed)}
        if take.style_weakened:
            info["style_weakened"] = True
        return self.gen.to_clip(feats[0]), info

    def _overlay(self, clip: Clip, text: str, seed: int) -> Clip:
        from ..editing.edits import body_part
        from ..text2motion.compose import model_text
        gesture = model_text(self.gen, text, style=False)
        chunk = int(OVERLAY_CHUNK_S * clip.fps)
        if clip.num_frames <= chunk:
            return body_part(self.gen, clip, UPPER_BODY, gesture, seed, steps=self.steps,
                             guidance=self.guidance)
        out = clip
        for a in range(0, clip.num_frames, chunk):
            b = min(clip.num_frames - 1, a + chunk - 1)
            if b - a >= 2:
                out = body_part(self.gen, out, UPPER_BODY, gesture, seed, start=a, end=b,
                                steps=self.steps, guidance=self.guidance)
        return out

    def gait(self, seg: Segment, seed: int) -> Clip:
        key = (seg.gait, seg.style, seg.action)
        if key not in self._gaits:
            self._gaits[key] = self._generate(seg.action, None, seed)
        return self._gaits[key]

    # ------------------------------------------------------------------ segments
    def make(self, k: int, seg: Segment, xy, yaw: float, posture: str, nxt: Segment | None,
             leaving: str | None = None) -> _Piece:
        """Segment k made from floor point xy, facing yaw; nxt: the segment after it;
        leaving: the seat the character gets up from (not an obstacle for this walk)."""
        seed = (self.seed + k) % 2**63
        if seg.kind == "move":
            return self._move(k, seg, xy, yaw, nxt, seed, leaving)
        if seg.kind == "pose":
            return self._pose(seg, xy, yaw, seed)
        face = self.facing_yaw(seg.facing, xy, yaw)
        if seg.source == "library":
            made, check = self._library_act(seg, seed)
        else:
            made, check = self._act(seg, seed)
        clip = self._keep_clear(k, seg, place_clip(made, xy, face))
        if seg.overlay:
            clip = self._overlay(clip, seg.overlay, seed)
        return _Piece(clip, tuple(clip.root_translation[-1, :2]), end_yaw(clip), "stand",
                      {"source": "generator", "facing_target": face, **check})

    def _keep_clear(self, k: int, seg: Segment, clip: Clip) -> Clip:
        """An action whose root would go into an obstacle or off the map has its travel
        over the floor cut (to the largest of TRAVEL_SHARES that stays clear), with a
        warning; the body's own motion is kept."""
        from .planner import path_clearance
        occ = self.occupancy(())
        root = clip.root_translation
        start = root[0, :2]
        need = min(ACT_CLEARANCE, path_clearance(start[None], self.scene))
        for share in TRAVEL_SHARES:
            track = start + share * (root[:, :2] - start)
            if occ.on_map(track).all() and path_clearance(track, self.scene) >= need - 1e-6:
                break
        if share < 1.0:
            self.warnings.append(f"segment {k + 1} ('{seg.text}'): its motion would have gone "
                                 f"into an obstacle or off the map; its travel over the floor "
                                 f"was cut to {share:.0%}")
            new = root.copy()
            new[:, :2] = track
            clip = Clip(clip.local_rotations, new, clip.fps, clip.skeleton, dict(clip.meta))
        return clip

    def _move(self, k, seg: Segment, xy, yaw, nxt: Segment | None, seed, leaving=None
              ) -> _Piece:
        from ...motion.pathfollow import follow_path_detailed
        from .places import stand_point
        from .planner import plan_path
        obj = self.scene.get(seg.place)
        sit_next = nxt is not None and nxt.kind == "pose" and nxt.action in ("sit", "lie") \
            and nxt.place == seg.place
        purpose = "sit" if sit_next else "reach" if obj.obstacle else "at"
        ignore = (obj.name,) if sit_next else ()
        goal, face, warns = stand_point(obj, purpose, xy, self.occupancy(ignore))
        if leaving and self.scene.get(leaving) is not None:
            ignore = tuple(sorted(set(ignore) | {leaving}))
        occ = self.occupancy(ignore)
        reach = self._reachable(occ, xy, goal, obj)
        if reach is not None:
            goal, face = reach
            self.warnings.append(
                f"segment {k + 1} ('{seg.text}'): the spot at '{obj.name}' cannot be reached "
                f"from where the character is; it goes to the nearest spot it can reach, "
                f"{self._distance_to(obj, goal):.2f} m from '{obj.name}'")
        self.warnings += [f"segment {k + 1} ('{seg.text}'): {w}" for w in warns]
        points, warns = plan_path(occ, np.asarray(xy, float), np.asarray(goal, float),
                                  f"the {obj.name}")
        self.warnings += [f"segment {k + 1} ('{seg.text}'): {w}" for w in warns]
        points = np.asarray(points, float)
        face = face if face is not None else yaw
        info = {"source": "path", "goal": [float(goal[0]), float(goal[1])],
                "facing_target": float(face), "purpose": purpose, "ignore": list(ignore),
                "path": points.tolist()}
        length = float(np.sum(np.linalg.norm(np.diff(points, axis=0), axis=1))) \
            if len(points) > 1 else 0.0
        if length < SHORT_MOVE:         # already there: a short turn on the spot
            from .poses import pose_clip
            clip = pose_clip("turn", xy, face, DEFAULT_POSE_S["turn"], self.fps)
            return _Piece(clip, tuple(xy), face, "stand", dict(info, source="pose"))
        gait = self.gait(seg, seed)
        path3 = np.concatenate([points, np.zeros((len(points), 1))], axis=1)
        result = follow_path_detailed(gait, path3, fps=self.fps)
        seconds = seg.seconds
        if seconds is None and abs(seg.speed - 1.0) > 1e-6:
            seconds = result.path.length / (result.natural_speed * seg.speed)
        if seconds is not None:
            from ...motion.pathfollow import MAX_SPEED_SHARE, MIN_SPEED_SHARE
            natural = result.path.length / result.natural_speed
            seconds = min(max(seconds, natural / MAX_SPEED_SHARE), natural / MIN_SPEED_SHARE)
            result = follow_path_detailed(gait, path3, arrival=[(len(points) - 1, seconds)],
                                          fps=self.fps)
        clip = result.clip
        if seg.overlay:
            clip = self._overlay(clip, seg.overlay, seed)
        end = points[-1]                  # the goal, or where the walk had to stop short
        return _Piece(clip, (float(end[0]), float(end[1])), end_yaw(clip), "stand", info)

    @staticmethod
    def _distance_to(obj, xy) -> float:
        from .planner import box_distance, footprint_boxes
        return float(box_distance(np.reshape(np.asarray(xy, float), (1, 2)),
                                  footprint_boxes([obj]))[0, 0])

    def _reachable(self, occ, start, goal, obj):
        """None when `goal` is reachable from `start` on `occ`; else (the reachable free
        point nearest the object's footprint, the yaw facing the object from there)."""
        from scipy import ndimage
        key = id(occ)
        if key not in self._labels:
            self._labels[key] = ndimage.label(~occ.blocked, structure=np.ones((3, 3)))[0]
        labels = self._labels[key]
        ny, nx = labels.shape

        def label_at(p):
            ix, iy = occ.index_of(p)[0]
            return labels[iy, ix] if 0 <= ix < nx and 0 <= iy < ny else 0
        here = label_at(start)
        if here == 0:
            free = occ.nearest_free(np.asarray(start, float))
            here = label_at(free) if free is not None else 0
        if here == 0 or label_at(goal) == here:
            return None
        iy, ix = np.nonzero(labels == here)
        centres = occ.origin + occ.cell * np.stack([ix, iy], 1)
        from .planner import box_distance, footprint_boxes
        d = box_distance(centres, footprint_boxes([obj]))[:, 0]
        best = centres[int(np.argmin(d))]
        return best, yaw_of(obj.position[0] - best[0], obj.position[1] - best[1])

    def _pose(self, seg: Segment, xy, yaw, seed) -> _Piece:
        from .poses import pose_clip
        name = seg.action
        seconds = seg.seconds or DEFAULT_POSE_S[name]
        obj = self.scene.get(seg.place) if seg.place else None
        at, height = xy, 0.0
        if name == "sit" and obj is not None:
            face = obj.yaw                           # back to the seat, facing its front
        elif name == "lie" and obj is not None:      # on top, along its long side
            face = wrap_degrees(obj.yaw + (90.0 if obj.size[0] > obj.size[1] else 0.0))
            at, height = obj.position[:2], obj.size[2]
            if any(w in obj.name.lower() for w in ("sofa", "couch", "bench", "settee")):
                height = min(height, SEAT_TOP)      # on the seat, not on top of the back
        else:
            face = self.facing_yaw(seg.facing, xy, yaw)
        clip = pose_clip(name, at, face, seconds, self.fps, height=height)
        if seg.overlay:
            clip = self._overlay(clip, seg.overlay, seed)
        posture = name if name in ("sit", "lie") else "stand"
        return _Piece(clip, tuple(xy), face, posture,
                      {"source": "pose", "facing_target": float(face)})


def transition_frames(a: _Piece, b_clip: Clip, fps: float, posture_change: bool) -> int:
    """Gap length (frames) between two pieces: enough to bridge the distance and the turn."""
    d = float(np.linalg.norm(b_clip.root_translation[0, :2] - a.clip.root_translation[-1, :2]))
    turn = abs(wrap_degrees(math.degrees(float(_heading(b_clip.local_rotations[:1, 0])[0]))
                            - end_yaw(a.clip)))
    seconds = max(TRANSITION_MIN_S, d / TRANSITION_WALK_SPEED + TRANSITION_TURN_S * turn / 180.0)
    if posture_change:
        seconds = max(seconds, TRANSITION_POSTURE_S)
    return int(round(min(seconds, TRANSITION_MAX_S) * fps))
