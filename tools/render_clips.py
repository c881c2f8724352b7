"""Render library clips on the default character: one contact sheet per clip, plus numbers.

    .venv/bin/python tools/render_clips.py LIBRARY.npz [NAME ...] [--sample N] [--match TEXT]
        [--frames 8 | --at 1,2,3,4] [--size 320x240] [--in-place] [--out out/clips]

Clips are picked by exact name, by `--match` (substring of the name, repeatable) and/or by
`--sample N` (N clips per source, spread evenly over the library's order, deterministic).
Each clip is applied to the default character (`character.build_character`) with the add-on's
own code (`retarget.apply_clip_to_armature`, frame 1 on, at the scene's 30 fps) and rendered
with `character.render_contact_sheet` into OUT/<clip>.png.

For each clip the evaluated armature is also measured on every frame (world space, Blender
axes: the character starts facing -Y) and written to OUT/checks.json, and one line printed:
  floor     lowest deforming bone point (heads/tails, the toes' tails included; not the
            parentless root bone): 5th percentile and minimum over the frames, metres, and which
            point; compare with the rest pose's (printed first: +0.007, the balls of the feet,
            for the default character); lower: sinking (toes in the floor), higher: floating
  pelvis    median pelvis height (m)
  facing    yaw of the body (hips + shoulders) at frame 1, degrees (0: facing -Y), and the
            angle between the body's mean facing and the direction of travel (only when it
            travels more than 0.5 m): ~0 forward, ~180 backward, ~90 sideways
  up        smallest cosine between the spine (pelvis -> neck) and +Z over the frames
  knees     signed knee flexion (degrees), smallest and largest over the frames: the angle
            between thigh and shin, negative when the shin turns the wrong way about the hips'
            left-right axis (a knee bent backwards); a few degrees either way: a straight leg
  hands     highest point of each wrist above its shoulder (m): which hand waves
  pop       fastest bone point (m/s) and its frame: a pop shows as a spike far above the
            clip's usual speed (also listed: the 99th percentile)
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from addon_loader import load_addon  # noqa: E402

SCENE_FPS = 30


def pick(lib, names, matches, sample) -> list[int]:
    entries = lib.entries
    idx = {e.name: i for i, e in enumerate(entries)}
    chosen: list[int] = []
    for n in names:
        if n not in idx:
            close = [e.name for e in entries if n.lower() in e.name.lower()][:5]
            raise SystemExit(f"error: no clip named {n!r} in the library"
                             + (f" (did you mean {', '.join(close)}?)" if close else ""))
        chosen.append(idx[n])
    for m in matches:
        chosen += [i for i, e in enumerate(entries) if m.lower() in e.name.lower()]
    if sample:
        by_source: dict[str, list[int]] = {}
        for i, e in enumerate(entries):
            by_source.setdefault(e.source or "?", []).append(i)
        for items in by_source.values():
            k = min(sample, len(items))
            chosen += [items[int(j)] for j in np.linspace(0, len(items) - 1, k).round()]
    out, seen = [], set()
    for i in chosen:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


def measure(scene, arm, bm, first: int, last: int) -> dict:
    """Numbers from the evaluated armature over frames first..last (see the module notes)."""
    # deforming bones; not a parentless root bone (it stays on the floor at the origin)
    bones = [pb for pb in arm.pose.bones if pb.bone.use_deform and pb.parent is not None] \
        or list(arm.pose.bones)
    names = [pb.name for pb in bones]
    mapped = {c: b for c, b in bm.bones.items() if b in names}
    frames = list(range(first, last + 1))
    heads = np.empty((len(frames), len(bones), 3))
    tails = np.empty_like(heads)
    for t, f in enumerate(frames):
        scene.frame_set(f)
        mw = np.array(arm.matrix_world)
        for k, pb in enumerate(bones):
            heads[t, k] = (mw @ np.r_[np.array(pb.head), 1.0])[:3]
            tails[t, k] = (mw @ np.r_[np.array(pb.tail), 1.0])[:3]

    def p(c):
        return heads[:, names.index(mapped[c])] if c in mapped else None

    fps = scene.render.fps / scene.render.fps_base
    pts = np.concatenate([heads, tails], axis=1)
    low = pts[..., 2].min(axis=1)
    t_low = int(np.argmin(low))
    k_low = int(np.argmin(pts[t_low, :, 2]))
    out = {"frames": len(frames), "floor_p5": float(np.percentile(low, 5)),
           "floor_min": float(low.min()), "floor_min_frame": frames[t_low],
           "floor_min_point": names[k_low % len(names)] + (".tail" if k_low >= len(names)
                                                           else ".head")}
    up = np.array([0.0, 0.0, 1.0])
    if p("pelvis") is not None:
        out["pelvis_height"] = float(np.median(p("pelvis")[:, 2]))
    if all(p(c) is not None for c in ("left_hip", "right_hip", "left_shoulder",
                                      "right_shoulder")):
        lat = (p("left_hip") - p("right_hip")) + (p("left_shoulder") - p("right_shoulder"))
        fwd = np.cross(lat, up)
        fwd[:, 2] = 0.0
        fwd /= np.maximum(np.linalg.norm(fwd, axis=-1, keepdims=True), 1e-9)
        out["facing_deg_frame1"] = float(np.degrees(np.arctan2(fwd[0, 0], -fwd[0, 1])))
        pel = p("pelvis") if p("pelvis") is not None else 0.5 * (p("left_hip") + p("right_hip"))
        travel = pel[-1, :2] - pel[0, :2]
        out["travel_m"] = float(np.linalg.norm(travel))
        if out["travel_m"] > 0.5:
            mean_fwd = fwd[:, :2].mean(axis=0)
            cosang = float(travel @ mean_fwd / (np.linalg.norm(travel) *
                                                max(np.linalg.norm(mean_fwd), 1e-9)))
            out["facing_vs_travel_deg"] = float(np.degrees(np.arccos(np.clip(cosang, -1, 1))))
        if p("neck") is not None and p("pelvis") is not None:
            sp = p("neck") - p("pelvis")
            out["spine_up_min_cos"] = float((sp[:, 2] / np.linalg.norm(sp, axis=-1)).min())
        for side in ("left", "right"):
            h, k, a = p(f"{side}_hip"), p(f"{side}_knee"), p(f"{side}_ankle")
            if h is None or k is None or a is None:
                continue
            # signed knee flexion: the shin turns about the hips' left-right axis the way a
            # knee bends (thigh x shin along +lateral); negative: bent backwards
            thigh, shin = k - h, a - k
            ang = np.arccos(np.clip(np.sum(thigh * shin, -1) / np.maximum(
                np.linalg.norm(thigh, axis=-1) * np.linalg.norm(shin, axis=-1), 1e-9), -1, 1))
            hip_lat = p("left_hip") - p("right_hip")
            sign = np.sign(np.sum(np.cross(thigh, shin) * hip_lat, -1))
            flex = np.degrees(ang) * np.where(sign == 0, 1.0, sign)
            out[f"{side}_knee_flex_min"] = float(flex.min())
            out[f"{side}_knee_flex_min_frame"] = frames[int(np.argmin(flex))]
            out[f"{side}_knee_flex_max"] = float(flex.max())
            w, s = p(f"{side}_wrist"), p(f"{side}_shoulder")
            if w is not None and s is not None:
                out[f"{side}_wrist_above_shoulder_max"] = float((w[:, 2] - s[:, 2]).max())
    if len(frames) > 1:
        speed = np.linalg.norm(np.diff(pts, axis=0), axis=-1).max(axis=1) * fps
        out["pop_speed_max"] = float(speed.max())
        out["pop_speed_frame"] = frames[int(np.argmax(speed)) + 1]
        out["pop_speed_p99"] = float(np.percentile(speed, 99))
    return out


def line_of(name: str, m: dict) -> str:
    def g(k, fmt="{:.2f}"):
        return fmt.format(m[k]) if k in m else "-"
    return (f"{name}: floor p5 {g('floor_p5', '{:+.3f}')} min {g('floor_min', '{:+.3f}')} "
            f"(f{m.get('floor_min_frame', '-')} {m.get('floor_min_point', '')}) | pelvis "
            f"{g('pelvis_height')} | facing "
            f"{g('facing_deg_frame1', '{:+.0f}')} deg, vs travel "
            f"{g('facing_vs_travel_deg', '{:.0f}')} deg ({g('travel_m')} m) | up "
            f"{g('spine_up_min_cos')} | knees L {g('left_knee_flex_min', '{:+.0f}')}.."
            f"{g('left_knee_flex_max', '{:.0f}')} R {g('right_knee_flex_min', '{:+.0f}')}.."
            f"{g('right_knee_flex_max', '{:.0f}')} deg | hands L "
            f"{g('left_wrist_above_shoulder_max', '{:+.2f}')} R "
            f"{g('right_wrist_above_shoulder_max', '{:+.2f}')} | pop "
            f"{g('pop_speed_max', '{:.1f}')} m/s (f{m.get('pop_speed_frame', '-')}, p99 "
            f"{g('pop_speed_p99', '{:.1f}')})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("library", type=Path, help="a MotionLibrary .npz")
    parser.add_argument("names", nargs="*", help="clip names (exact)")
    parser.add_argument("--match", action="append", default=[],
                        help="also every clip whose name contains this (repeatable)")
    parser.add_argument("--sample", type=int, default=0, help="N clips per source")
    parser.add_argument("--frames", type=int, default=8, help="frames per contact sheet")
    parser.add_argument("--at", default="", help="render these clip frames instead "
                        "(1-based, comma separated, e.g. 1,2,3,4 to look for a pop)")
    parser.add_argument("--size", default="320x240", help="tile size, WxH pixels")
    parser.add_argument("--in-place", action="store_true",
                        help="apply with root_mode='in_place' (a close-up: the camera frames "
                        "the whole motion, which makes long walks tiny); travel and facing-vs-"
                        "travel then read ~0")
    parser.add_argument("--out", type=Path, default=Path("out") / "clips")
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))

    load_addon(register=True)
    from anima.backend.data.library import MotionLibrary
    from anima.operators import character, retarget

    lib = MotionLibrary.load(args.library)
    chosen = pick(lib, args.names, args.match, args.sample)
    if not chosen:
        print("error: no clips chosen (give names, --match or --sample)", file=sys.stderr)
        return 2
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = SCENE_FPS, 1.0
    arm, _ = character.build_character()
    bpy.context.view_layer.objects.active = arm
    bm, _ = retarget.ensure_mapping(arm)
    rest = measure(scene, arm, bm, 1, 1)
    print(f"rest pose: lowest bone point {rest['floor_min']:+.3f} m, pelvis "
          f"{rest.get('pelvis_height', float('nan')):.3f} m")

    checks = {}
    t0 = time.perf_counter()
    for i in chosen:
        entry = lib.entries[i]
        clip = lib.clip(i)
        if arm.animation_data is not None and arm.animation_data.action is not None:
            old = arm.animation_data.action
            arm.animation_data.action = None
            bpy.data.actions.remove(old)
        for pb in arm.pose.bones:            # no leftovers from the previous clip
            pb.location = (0.0, 0.0, 0.0)
            pb.rotation_quaternion = (1.0, 0.0, 0.0, 0.0)
        scene.frame_start = scene.frame_end = 1
        action = retarget.apply_clip_to_armature(
            arm, clip, frame_start=1, scene=scene,
            root_mode="in_place" if args.in_place else "hips")
        first, last = (int(round(v)) for v in action.frame_range)
        scene.frame_start, scene.frame_end = first, last
        if args.at:
            frames = [first + int(v) - 1 for v in args.at.split(",") if v.strip()]
            frames = [f for f in frames if first <= f <= last] or [first]
        else:
            k = max(1, min(args.frames, last - first + 1))
            frames = sorted({int(round(v)) for v in np.linspace(first, last, k)})
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", entry.name)
        png = character.render_contact_sheet(scene, arm, frames, str(out / f"{safe}.png"),
                                             size=(w, h))
        m = measure(scene, arm, bm, first, last)
        m.update(source=entry.source, caption=(entry.captions or [""])[0], png=png,
                 sheet_frames=frames)
        checks[entry.name] = m
        print(line_of(entry.name, m), flush=True)
    checks["_rest"] = rest
    (out / "checks.json").write_text(json.dumps(checks, indent=1), encoding="utf-8")
    print(f"{len(chosen)} clips -> {out} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else None))
