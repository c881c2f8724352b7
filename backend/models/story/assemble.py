"""A whole story: segments made in order (``compose.Composer``), joined by in-betweened
transitions, measured. See ``compose.py`` for how each segment is made.

``compose_story(gen, schedule, scene, ...) -> StoryResult``. The result's segment table rows
are JSON-able dicts ``{"index", "text", "kind", "action", "place", "start", "end", "source",
"end_xy", "end_yaw", "posture", "warnings"}`` (frames of the story clip, end exclusive); the
add-on sends a table back with the clip to regenerate one segment (``previous``).

Metrics (``StoryResult.metrics``):
* ``position_errors``: metres from each move's last root position to its stand point;
* ``facing_errors``: degrees between the heading at the first frame of each upright segment
  that has a facing target and that target (a lying body has no heading);
* ``clearance``: the smallest distance (m) of the root's floor position (every frame) to an
  obstacle footprint (the seat a character sits on excluded while it goes to it and sits),
  negative inside one;
* ``seam_skate`` / ``seam_jerk``: foot skating ratio and jerk (``eval.metrics``) in windows of
  +-SEAM_WINDOW_S around every seam (a segment's first and last frame inside a transition);
  ``inside_skate`` / ``inside_jerk``: the same over the segments' own frames.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ...motion.clip import Clip
from .compose import Composer, StoryResult, _Piece, transition_frames
from .schema import Scene, Schedule, wrap_degrees

SEAM_WINDOW_S = 0.5
TRANSITION_CLEARANCE = 0.05      # m a transition's root keeps from obstacles


def _leaving(segs, k: int) -> str | None:
    """The seat segment k starts from: the place of the last sit/lie with only poses after."""
    for s in reversed(segs[:k]):
        if s.kind == "pose" and s.action in ("sit", "lie") and s.place:
            return s.place
        if s.kind != "pose":
            return None
    return None


def _previous_pieces(previous: dict, n: int) -> dict[int, _Piece]:
    """Pieces of a former result, by segment index: {"clip": Clip, "segments": [rows]}."""
    clip, rows = previous["clip"], previous["segments"]
    out = {}
    for row in rows:
        k = int(row["index"])
        s, e = int(row["start"]), int(row["end"])
        if not (0 <= k < n and 0 <= s < e <= clip.num_frames):
            raise ValueError(f"the previous story's segment {k + 1} does not fit its clip "
                             f"({s}..{e} of {clip.num_frames} frames)")
        out[k] = _Piece(clip.slice(s, e), tuple(row["end_xy"]), float(row["end_yaw"]),
                        str(row.get("posture", "stand")), dict(row.get("info", {})))
    return out


def _previous_transitions(previous: dict) -> dict[tuple, Clip]:
    clip = previous["clip"]
    return {tuple(t["between"]): clip.slice(int(t["start"]), int(t["end"]))
            for t in previous.get("transitions", []) if int(t["end"]) > int(t["start"])}


class _Stopped(Exception):
    """The story was cancelled while a segment was being made."""


def _stop_if(cancelled: bool) -> None:
    if cancelled:
        raise _Stopped


def compose_story(gen, schedule: Schedule, scene: Scene, seed: int = 0, steps=None,
                  guidance=None, model: str = "starter",
                  progress: Callable[[float, str], None] = lambda f, m: None,
                  cancelled: Callable[[], bool] = lambda: False,
                  previous: dict | None = None, regenerate=(), library_dir=None
                  ) -> StoryResult:
    """The story clip (module doc). previous: {"clip", "segments", "transitions"} of a former
    result of the same schedule length; regenerate: the indices to make anew (the others and
    the transitions not beside them are kept frame for frame); library_dir: the backend's
    cache dir, whose library/*.npz are searched too by segments from the library."""
    composer = Composer(gen, scene, seed, steps, guidance, model, library_dir)
    segs = schedule.segments
    n = len(segs)
    old = _previous_pieces(previous, n) if previous else {}
    old_tr = _previous_transitions(previous) if previous else {}
    regenerate = set(int(k) for k in regenerate) if previous else set(range(n))
    xy, yaw, posture = tuple(scene.start), float(scene.start_yaw), "stand"
    pieces: list[_Piece] = []
    from ..text2motion.sample import cancel_checks
    partial = False
    for k, seg in enumerate(segs):
        if cancelled():
            partial = True
            break
        progress(k / n, f"segment {k + 1}/{n}: {seg.text}")
        if k in regenerate or k not in old:
            try:
                with cancel_checks(lambda: _stop_if(cancelled())):
                    piece = composer.make(k, seg, xy, yaw, posture,
                                          segs[k + 1] if k + 1 < n else None, _leaving(segs, k))
            except _Stopped:                     # cancelled inside a segment: drop it
                partial = True
                break
        else:
            piece = old[k]
        pieces.append(piece)
        xy, posture = piece.end_xy, piece.posture
        yaw = piece.info.get("facing_target", piece.end_yaw) if seg.kind == "move" \
            else piece.end_yaw
    if not pieces:
        return StoryResult(None, [], [], composer.warnings, partial=True)
    progress(0.9, "in-betweening the transitions")
    keep_tr = {key: c for key, c in old_tr.items()
               if not ({key[0], key[1]} & regenerate) and key[1] < len(pieces)}
    clip, rows, transitions = _join(composer, segs, pieces, keep_tr)
    result = StoryResult(clip, rows, transitions, list(dict.fromkeys(composer.warnings)),
                         partial=partial)
    result.metrics = measure(result, scene)
    return result


def _join(composer: Composer, segs, pieces: list[_Piece], keep_tr: dict):
    """One clip: pieces with transition gaps between them, the gaps filled."""
    from ..text2motion.compose import _fill
    fps = composer.fps
    rots, roots, known, rows, transitions = [], [], [], [], []
    frame = 0
    for k, piece in enumerate(pieces):
        c = piece.clip
        if k > 0:
            key = (k - 1, k)
            if key in keep_tr:
                t = keep_tr[key]
                rots.append(t.local_rotations)
                roots.append(t.root_translation)
                known += list(range(frame, frame + t.num_frames))
                gap = t.num_frames
            else:
                change = pieces[k - 1].posture != piece.posture
                gap = transition_frames(pieces[k - 1], c, fps, change)
                rots.append(np.repeat(pieces[k - 1].clip.local_rotations[-1:], gap, 0))
                roots.append(np.repeat(pieces[k - 1].clip.root_translation[-1:], gap, 0))
            transitions.append({"between": [k - 1, k], "start": frame, "end": frame + gap})
            frame += gap
        rots.append(c.local_rotations)
        roots.append(c.root_translation)
        known += list(range(frame, frame + c.num_frames))
        seg = segs[k]
        rows.append({"index": k, "text": seg.text, "kind": seg.kind, "action": seg.action,
                     "place": seg.place, "start": frame, "end": frame + c.num_frames,
                     "source": piece.info.get("source", ""), "end_xy": list(piece.end_xy),
                     "end_yaw": float(piece.end_yaw), "posture": piece.posture,
                     "info": {k2: v for k2, v in piece.info.items() if k2 != "path"},
                     "path": piece.info.get("path")})
        frame += c.num_frames
    skel = pieces[0].clip.skeleton
    meta = {"source": "story", "story_segments": len(pieces)}
    joined = Clip(np.concatenate(rots), np.concatenate(roots), fps, skel, meta)
    if len(pieces) > 1 and len(known) < joined.num_frames:
        from .steps import step_feet
        joined, filler, filler_meta = _fill(joined, np.asarray(known), composer.warnings)
        for t in transitions:
            if tuple(t["between"]) not in keep_tr:
                joined = step_feet(joined, t["start"], t["end"])
                _push_out(joined, t, rows, composer.scene)
        joined.meta.update(meta, inbetween=filler,
                           inbetween_commercial_ok=filler_meta.get("commercial_ok"))
    return joined, rows, transitions


def frame_clearance(xy: np.ndarray, scene: Scene, ignore=()) -> float:
    """Smallest signed distance (m) of root floor positions (frames, not the lines between
    them) to the obstacles not in ``ignore``; inf without obstacles."""
    from .planner import _obstacles, box_distance, footprint_boxes
    boxes = footprint_boxes(_obstacles(scene, ignore))
    if not len(boxes) or not len(xy):
        return float("inf")
    return float(box_distance(np.asarray(xy, float)[:, :2], boxes).min())


def _push_out(clip: Clip, t: dict, rows: list[dict], scene: Scene) -> None:
    """Transition frames whose root comes within TRANSITION_CLEARANCE of an obstacle (the
    straight bridge between two segments can cut a corner) pushed out, in place."""
    from .planner import _obstacles, box_distance, footprint_boxes
    a, b = rows[t["between"][0]], rows[t["between"][1]]
    keep = {p for p in (a["place"], b["place"]) if p}
    boxes = footprint_boxes(_obstacles(scene, keep))
    if not len(boxes) or t["end"] <= t["start"]:
        return
    root = clip.root_translation
    xy = root[t["start"]:t["end"], :2].copy()
    eps = 1e-3
    for _ in range(4):
        d = box_distance(xy, boxes)                                   # (M, K)
        k = np.argmin(d, axis=1)
        near = d[np.arange(len(xy)), k] < TRANSITION_CLEARANCE
        if not near.any():
            break
        p = xy[near]
        kb = boxes[k[near]]
        gx = (box_distance(p + [eps, 0], kb) - box_distance(p - [eps, 0], kb)).diagonal()
        gy = (box_distance(p + [0, eps], kb) - box_distance(p - [0, eps], kb)).diagonal()
        g = np.stack([gx, gy], 1) / (2 * eps)
        g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-9)
        push = TRANSITION_CLEARANCE - d[np.arange(len(xy)), k][near]
        xy[near] = p + g * push[:, None]
    root[t["start"]:t["end"], :2] = xy


def _window_metrics(clip: Clip, frames: np.ndarray) -> tuple[float, float]:
    from ...eval.metrics import foot_skating_ratio, jerk
    frames = np.unique(frames[(frames >= 0) & (frames < clip.num_frames)])
    if len(frames) < 4:
        return 0.0, 0.0
    p = clip.positions()[frames][..., [0, 2, 1]]         # Z-up -> the metrics' Y-up
    runs = np.split(np.arange(len(frames)), np.where(np.diff(frames) > 1)[0] + 1)
    sk, jk, w = [], [], []
    for r in runs:
        if len(r) >= 4:
            sk.append(foot_skating_ratio(p[r], clip.fps))
            jk.append(jerk(p[r], clip.fps))
            w.append(len(r))
    if not w:
        return 0.0, 0.0
    return float(np.average(sk, weights=w)), float(np.average(jk, weights=w))


def measure(result: StoryResult, scene: Scene) -> dict:
    """The metrics of the module doc."""
    from ...motion.looping import _heading
    clip = result.clip
    root = clip.root_translation[:, :2]
    pos_err, face_err, clear = [], [], []
    for row in result.segments:
        info = row["info"]
        s, e = row["start"], row["end"]
        if row["kind"] == "move" and "goal" in info and info.get("source") == "path":
            pos_err.append(float(np.linalg.norm(root[e - 1] - np.asarray(info["goal"]))))
        if "facing_target" in info and row["kind"] != "move" and row["action"] != "lie":
            h = math.degrees(float(_heading(clip.local_rotations[s:s + 1, 0])[0]))
            face_err.append(abs(wrap_degrees(h - info["facing_target"])))
        ignore = tuple(info.get("ignore", ())) + ((row["place"],) if row["action"] in
                                                   ("sit", "lie") and row["place"] else ())
        clear.append(frame_clearance(root[s:e], scene, ignore=ignore))
    for t in result.transitions:
        a, b = result.segments[t["between"][0]], result.segments[t["between"][1]]
        ignore = tuple(p for p in (a["place"], b["place"]) if p)
        if t["end"] > t["start"]:
            clear.append(frame_clearance(root[t["start"]:t["end"]], scene, ignore=ignore))
    half = int(round(SEAM_WINDOW_S * clip.fps))
    seams = [f for t in result.transitions for f in (t["start"], t["end"])]
    seam_frames = np.concatenate([np.arange(f - half, f + half) for f in seams]) if seams \
        else np.zeros(0, int)
    inside = np.concatenate([np.arange(r["start"] + half, r["end"] - half)
                             for r in result.segments if r["end"] - r["start"] > 2 * half]
                            or [np.zeros(0, int)])
    seam_skate, seam_jerk = _window_metrics(clip, seam_frames)
    in_skate, in_jerk = _window_metrics(clip, inside)
    return {"position_errors": pos_err, "facing_errors": face_err,
            "clearance": float(min(clear)) if clear else float("inf"),
            "seam_skate": seam_skate, "seam_jerk": seam_jerk,
            "inside_skate": in_skate, "inside_jerk": in_jerk, "seams": len(seams)}
