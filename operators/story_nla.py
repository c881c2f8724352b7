"""A story result on an armature: one NLA track "Anima Story" of strips, timeline markers.

    track, layout = apply_story(arm, scene, result, frame_start=1, options={...})
    layout = regenerate_segment(arm, scene, result, layout, index, options)
    action = bake_story(arm, scene, layout)

`result` is a `story` job result: {"segments": [{"index", "text", "start", "end", ...}],
"transitions": [{"between": [i, i + 1], "start", "end"}], "artifacts": {"story": .npz}, ...};
start/end are frames of the canonical story clip (end exclusive). Every segment and every
transition becomes a NEW Action (retargeted with the shared writer, keyed at the scene frame
rate from `frame_start`) played by one strip, in order, strips touching but never
overlapping; a marker named after each segment's text marks where it starts. The
armature's active action is cleared so the NLA plays (a fake user keeps it). Strips are
found again through their Action's custom property `anima_story_piece` ("segment:2",
"transition:2" = between segments 2 and 3); `layout` (a JSON-able dict the caller keeps)
names the track, the markers and the frame the story starts at.

Nothing is changed when the result or the rig is bad (ValueError for the user); other
tracks, actions and markers are never touched.
"""
from __future__ import annotations

import dataclasses

import bpy
import numpy as np

from ..backend.motion import quat
from . import jobs, keys, retarget

TRACK_NAME = "Anima Story"
PIECE_KEY = "anima_story_piece"
NAME_MAX = 63


@dataclasses.dataclass(frozen=True)
class Piece:
    """A segment (index i) or the transition after segment i; canonical frames
    [start, end)."""
    kind: str
    index: int
    start: int
    end: int
    text: str = ""
    segment: dict = dataclasses.field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.index}"

    @property
    def strip_name(self) -> str:
        if self.kind == "segment":
            return f"{self.index + 1:02d} {self.text}"[:NAME_MAX]
        return f"{self.index + 1:02d}-{self.index + 2:02d} transition"


def _frame(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValueError(f"The story result's {what} is not a whole frame: {value!r:.40}")
    return int(value)


def story_pieces(result: dict, num_frames: int) -> list[Piece]:
    """The segments and transitions of a result, in time order, checked against a story clip
    of `num_frames` frames (ValueError: overlapping or out-of-range pieces)."""
    segments = result.get("segments") if isinstance(result, dict) else None
    if not isinstance(segments, list) or not segments:
        raise ValueError("The story result has no segments")
    pieces = []
    for k, seg in enumerate(segments):
        if not isinstance(seg, dict):
            raise ValueError(f"Story segment {k + 1} of the result is not an object")
        index = seg.get("index", k)
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValueError(f"Story segment {k + 1} has a bad index {index!r:.40}")
        text = " ".join(str(seg.get("text") or f"segment {index + 1}").split())
        pieces.append(Piece("segment", index, _frame(seg.get("start"), f"segment {index + 1} "
                            "start"), _frame(seg.get("end"), f"segment {index + 1} end"),
                            text, dict(seg)))
    for tr in result.get("transitions") or []:
        between = tr.get("between") if isinstance(tr, dict) else None
        if not (isinstance(between, list) and len(between) == 2 and
                all(isinstance(b, int) and not isinstance(b, bool) for b in between)
                and between[1] == between[0] + 1):
            raise ValueError(f"A story transition names bad segments: {between!r:.40}")
        start, end = _frame(tr.get("start"), "transition start"), \
            _frame(tr.get("end"), "transition end")
        if end > start:                                   # empty transitions get no strip
            pieces.append(Piece("transition", between[0], start, end))
    keys_seen = [p.key for p in pieces]
    if len(set(keys_seen)) != len(keys_seen):
        raise ValueError("The story result lists a segment or transition twice")
    pieces.sort(key=lambda p: (p.start, p.end))
    previous = None
    for p in pieces:
        if not 0 <= p.start < p.end <= num_frames:
            raise ValueError(f"Story {p.strip_name!r} spans frames {p.start}-{p.end}, outside "
                             f"the story motion's {num_frames} frames")
        if previous is not None and p.start < previous.end:
            raise ValueError(f"Story {p.strip_name!r} overlaps {previous.strip_name!r} "
                             f"(frames {p.start} < {previous.end})")
        previous = p
    return pieces


def story_clip(result: dict):
    """The canonical story Clip of a result (its `artifacts['story']` .npz)."""
    from ..backend.motion.clip import Clip
    path = (result.get("artifacts") or {}).get("story") if isinstance(result, dict) else None
    local = jobs.local_path(path, result)
    if not local:
        raise ValueError(f"The story motion file is missing ({path!r}); nothing was applied")
    return Clip.load_npz(local)


class _Retargeted:
    """The story clip retargeted onto the rig at the scene rate: `pose` (RigPose, N scene
    frames) and `at(c)`: the pose index of canonical frame c."""

    def __init__(self, arm, clip, scene, options: dict):
        pose, bm, detected, resampled = retarget.rig_pose_for_clip(
            arm, clip, root_mode=options.get("root_mode", "hips"),
            foot_ik=options.get("foot_ik", True),
            twist_share=options.get("twist_share", 0.0), fps=retarget.scene_fps(scene))
        self.pose, self.bm, self.detected = pose, bm, detected
        self.n = resampled.num_frames
        self.scale = (self.n - 1) / max(clip.num_frames - 1, 1)
        self.fk_switch = [tuple(x) for x in (bm.extras or {}).get("fk_switch", [])]

    def keyable(self, pieces: list[Piece]) -> list[Piece]:
        """The pieces without transitions too short for one scene frame (low frame rates)."""
        return [p for p in pieces if p.kind == "segment" or
                min(int(round(p.end * self.scale)), self.n - 1) >
                min(int(round(p.start * self.scale)), self.n - 1)]

    def span(self, piece: Piece) -> tuple[int, int]:
        """First and last pose index of a piece (its last key is the next piece's first
        pose, so touching strips play continuously)."""
        i0 = min(int(round(piece.start * self.scale)), self.n - 1)
        i1 = min(int(round(piece.end * self.scale)), self.n - 1)
        if i1 <= i0:
            raise ValueError(f"Story {piece.strip_name!r} is too short to key "
                             f"({piece.end - piece.start} frames)")
        return i0, i1


def _info(result: dict, piece: Piece, arm) -> dict:
    info = {PIECE_KEY: piece.key, "anima_story_armature": arm.name,
            "anima_caption": piece.text or piece.strip_name}
    for key in ("licence", "attribution", "seed", "commercial_ok"):
        if isinstance(result.get(key), (str, int, float, bool)):
            info["anima_" + key] = result[key]
    for key in ("kind", "action", "place", "source"):
        if isinstance(piece.segment.get(key), str):
            info["anima_story_" + key] = piece.segment[key]
    return info


def _write_piece(arm, track, rt: _Retargeted, piece: Piece, frame: int, info: dict):
    """A new Action for one piece keyed from scene frame `frame`, and its strip."""
    i0, i1 = rt.span(piece)
    part = dataclasses.replace(rt.pose, rotations=rt.pose.rotations[i0:i1 + 1],
                               locations=rt.pose.locations[i0:i1 + 1])
    anim = arm.animation_data
    action = keys.write_rig_pose(arm, part, keys.action_name_for(piece.strip_name), frame,
                                 frame_step=1.0, fk_switch=rt.fk_switch, meta=info)
    slot = getattr(anim, "action_slot", None) if keys.is_slotted(action) else None
    anim.action = None
    if "anima_armature" in action:              # a piece is not a version of its own
        del action["anima_armature"]
    try:
        strip = track.strips.new(piece.strip_name, int(frame), action)
    except RuntimeError as e:
        bpy.data.actions.remove(action)
        raise ValueError(f"Could not place story strip {piece.strip_name!r} at frame "
                         f"{frame}: {e}") from None
    if slot is not None and hasattr(strip, "action_slot"):
        strip.action_slot = slot
    return strip


def _tidy(track) -> None:
    for k, strip in enumerate(sorted(track.strips, key=lambda s: s.frame_start)):
        strip.extrapolation = "HOLD" if k == 0 else "HOLD_FORWARD"


def story_strips(track) -> dict:
    """{piece key: strip} of a story track."""
    return {s.action[PIECE_KEY]: s for s in track.strips
            if s.action is not None and isinstance(s.action.get(PIECE_KEY), str)}


def find_track(arm, layout: dict | None):
    """The armature's story track named in `layout` (ValueError when it is gone)."""
    anim = arm.animation_data
    name = (layout or {}).get("track") or TRACK_NAME
    track = anim.nla_tracks.get(name) if anim is not None else None
    if track is None or not story_strips(track):
        raise ValueError(f"{arm.name!r} has no story track {name!r}: Make Motion first")
    return track


def _find_marker(scene, mark: dict):
    return next((m for m in scene.timeline_markers
                 if m.name == mark.get("name") and m.frame == mark.get("frame")), None)


def _remove_track(arm, scene, track, layout: dict) -> None:
    """Remove a story track (None: only the markers), its piece actions (when nothing else
    uses them) and its markers."""
    actions = [s.action for s in track.strips if s.action is not None] if track else []
    if track is not None:
        arm.animation_data.nla_tracks.remove(track)
    for action in actions:
        if action.get(PIECE_KEY) and action.users == 0:
            bpy.data.actions.remove(action)
    for mark in (layout or {}).get("markers", []):
        marker = _find_marker(scene, mark)
        if marker is not None:
            scene.timeline_markers.remove(marker)


def _play(anim, track, previous) -> None:
    """Let the story track play: no active action (the one there was keeps a fake user),
    the track not muted, strips holding their ends."""
    if previous is not None:
        previous.use_fake_user = True
    anim.action = None
    track.mute = False
    _tidy(track)


def _check_rig(arm) -> None:
    if arm is None or arm.type != "ARMATURE":
        raise ValueError("The story's armature is gone; nothing was applied")
    anim = arm.animation_data
    if anim is not None and anim.use_tweak_mode:
        raise ValueError(f"Armature {arm.name!r} is in NLA tweak mode: exit it first")


def apply_story(arm, scene, result: dict, *, frame_start: int, options: dict,
                replace: dict | None = None):
    """Write a story result on `arm` (see the module docstring): returns (track, layout).
    `replace`: the layout of a story made before on this armature, removed once the new one
    is written. One undo step is the caller's (the job's on_result, or the operator)."""
    _check_rig(arm)
    clip = story_clip(result)
    pieces = story_pieces(result, clip.num_frames)
    rt = _Retargeted(arm, clip, scene, options)
    pieces = rt.keyable(pieces)
    frame_start = int(frame_start)
    spans = [rt.span(p) for p in pieces]                 # every check before any change
    try:
        old_track = find_track(arm, replace) if replace else None
    except ValueError:                                   # deleted by hand meanwhile
        old_track = None
    anim = arm.animation_data or arm.animation_data_create()
    previous, previous_slot = anim.action, getattr(anim, "action_slot", None)
    track, markers = None, []
    try:
        anim.action = None                    # the pieces are written as active, one by one
        track = anim.nla_tracks.new()
        track.name = TRACK_NAME
        for piece, (i0, _i1) in zip(pieces, spans):
            _write_piece(arm, track, rt, piece, frame_start + i0, _info(result, piece, arm))
        for piece, (i0, _i1) in zip(pieces, spans):
            if piece.kind == "segment":
                marker = scene.timeline_markers.new(piece.text[:NAME_MAX],
                                                    frame=frame_start + i0)
                markers.append({"index": piece.index, "name": marker.name,
                                "frame": marker.frame})
    except Exception:
        for mark in markers:
            marker = _find_marker(scene, mark)
            if marker is not None:
                scene.timeline_markers.remove(marker)
        if track is not None:
            _remove_track(arm, scene, track, {})
        anim.action = previous
        if previous is not None and previous_slot is not None:
            anim.action_slot = previous_slot
        raise
    _play(anim, track, previous)
    if replace:
        _remove_track(arm, scene, old_track, replace)
        track.name = TRACK_NAME
    if rt.detected:
        retarget.mapping_to_props(arm.data.anima_mapping, rt.bm)
    end = frame_start + spans[-1][1]
    if end > scene.frame_end:
        scene.frame_end = end
    layout = {"armature": arm.name, "track": track.name, "frame_start": frame_start,
              "markers": markers, "previous_action": previous.name if previous else ""}
    return track, layout


def regenerate_segment(arm, scene, result: dict, layout: dict, index: int,
                       options: dict) -> dict:
    """Replace segment `index`'s strip and the transitions on either side of it with the
    result's; later strips (and markers) move by the change in length, their actions
    untouched. Returns the updated layout."""
    _check_rig(arm)
    layout = dict(layout or {})
    track = find_track(arm, layout)
    clip = story_clip(result)
    pieces = story_pieces(result, clip.num_frames)
    wanted = {f"segment:{index}", f"transition:{index - 1}", f"transition:{index}"}
    new = [p for p in pieces if p.key in wanted]
    if f"segment:{index}" not in {p.key for p in new}:
        raise ValueError(f"The story result has no segment {index + 1}")
    strips = story_strips(track)
    if f"segment:{index}" not in strips:
        raise ValueError(f"The story track has no strip for segment {index + 1}: "
                         f"Make Motion again")
    rt = _Retargeted(arm, clip, scene, options)
    new = rt.keyable(new)
    spans = [rt.span(p) for p in new]
    old = [s for k, s in strips.items() if k in wanted]
    old_start = int(round(min(s.frame_start for s in old)))
    old_end = int(round(max(s.frame_end for s in old)))
    first = spans[0][0]
    delta = (old_start + spans[-1][1] - first) - old_end
    later = sorted((s for s in track.strips if s not in old and s.frame_start >= old_end - 1e-3),
                   key=lambda s: s.frame_start, reverse=delta > 0)
    anim = arm.animation_data
    previous = anim.action                # e.g. a bake of the story, now out of date
    anim.action = None
    actions = [s.action for s in old]
    for strip in old:
        track.strips.remove(strip)
    for action in actions:
        if action.users == 0:
            bpy.data.actions.remove(action)
    for strip in later:
        strip.frame_start_ui = strip.frame_start + delta
    for piece, (i0, _i1) in zip(new, spans):
        _write_piece(arm, track, rt, piece, old_start + i0 - first, _info(result, piece, arm))
    _play(anim, track, previous)
    markers = []
    for mark in layout.get("markers", []):
        marker = _find_marker(scene, mark)
        if marker is not None:
            if mark.get("index") == index:
                seg = next(p for p in new if p.kind == "segment")
                marker.name = seg.text[:NAME_MAX]
                marker.frame = old_start + rt.span(seg)[0] - first
            elif marker.frame >= old_end:
                marker.frame += delta
            mark = dict(mark, name=marker.name, frame=marker.frame)
        markers.append(mark)
    end = int(round(max(s.frame_end for s in track.strips)))
    if end > scene.frame_end:
        scene.frame_end = end
    return dict(layout, markers=markers)


def bake_story(arm, scene, layout: dict):
    """One new Action with the whole story (every strip's keys at every scene frame the
    story covers, as the NLA plays them); it becomes the active action and the story track
    is muted (kept). Returns the Action."""
    _check_rig(arm)
    track = find_track(arm, layout)
    strips = sorted(track.strips, key=lambda s: s.frame_start)
    first, last = int(round(strips[0].frame_start)), int(round(strips[-1].frame_end))
    frames = np.arange(first, last + 1, dtype=np.float64)
    owner = np.full(len(frames), -1)
    for k, s in enumerate(strips):                # at a shared frame the earlier strip plays
        owner[(frames >= s.frame_start - 1e-4) & (frames <= s.frame_end + 1e-4)
              & (owner < 0)] = k
    for t in range(1, len(frames)):               # a gap holds the strip before it
        if owner[t] < 0:
            owner[t] = owner[t - 1]
    values: dict[tuple[str, int], np.ndarray] = {}
    for k, s in enumerate(strips):
        sel = np.flatnonzero(owner == k)
        if not sel.size or s.action is None:
            continue
        local = s.action_frame_start + (frames[sel] - s.frame_start) / (s.scale or 1.0)
        local = np.minimum(local, s.action_frame_end)
        for fc in keys.fcurves_of(s.action):
            out = values.setdefault((fc.data_path, fc.array_index),
                                    np.full(len(frames), np.nan))
            out[sel] = [fc.evaluate(x) for x in local]
    for v in values.values():                     # a channel a strip lacks holds its value
        idx = np.where(np.isnan(v), 0, np.arange(len(v)))
        np.maximum.accumulate(idx, out=idx)
        v[:] = v[idx]
        v[np.isnan(v)] = v[~np.isnan(v)][0] if np.any(~np.isnan(v)) else 0.0
    for path in {p for p, _i in values if p.endswith("rotation_quaternion")}:
        if all((path, i) in values for i in range(4)):
            q = quat.unroll(np.stack([values[(path, i)] for i in range(4)], -1), axis=0)
            for i in range(4):
                values[(path, i)] = q[:, i]
    name = keys.action_name_for(f"story baked {arm.name}")
    action = bpy.data.actions.new(name)
    try:
        channels = keys._Channels(action, arm)
        for (path, i), v in sorted(values.items()):
            group = path.split('"')[1] if path.startswith("pose.bones[") else ""
            interp = "CONSTANT" if path.endswith('"]') else "LINEAR"
            channels.write(path, i, group, frames, v, interpolation=interp)
    except Exception:
        bpy.data.actions.remove(action)
        raise
    action["anima_armature"] = arm.name
    action["anima_frame_start"] = float(first)
    action["anima_story_baked"] = track.name
    keys.assign_action(arm, action)
    track.mute = True
    return action
