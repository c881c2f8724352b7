"""`python -m backend eval edits`: seams of generator edits on held-out clips.

Held-out clips: the shipped CMU library's test-split takes (as ``evaluate.held_out_clips``),
30 fps. On each clip long enough, three edits with a prompt the clip does not contain:

* regenerate 2 s in the middle ("a person waves with the right hand");
* continue by 2 s ("a person walks forward");
* upper body from "a person waves with both hands" over the same 2 s.

A seam's jump is the largest frame-to-frame velocity change (m/s, fastest joint,
``looping.velocity_changes``) on the two second differences that straddle it. The bar is the
95th percentile of the same measure over every frame of the held-out clips as recorded. Also
checked: frames outside the range (and kept joints) bit-identical. The last line:
``seam_p95_real= seam_jump_p50= seam_jump_p95= seam_jump_max= seams_within= seams=``.
"""
from __future__ import annotations

import time

import numpy as np

from ...motion.looping import velocity_changes
from . import edits
from .evaluate import held_out_clips

PROMPTS = {"regenerate": "a person waves with the right hand",
           "continue": "a person walks forward",
           "body_part": "a person waves with both hands"}
MIN_SECONDS = 6.0


def _jumps(clip, seams) -> list[float]:
    vc = velocity_changes(clip.positions(), clip.fps)      # vc[k]: centred on frame k + 1
    return [float(max(vc[s - 2], vc[s - 1])) for s in seams]


def evaluate(generator, seed: int = 0, log=print, max_clips: int | None = None) -> dict:
    clips = [c for _cap, c in held_out_clips() if c.seconds >= MIN_SECONDS]
    if max_clips:
        clips = clips[:max_clips]
    real = np.concatenate([velocity_changes(c.positions(), c.fps) for c in clips])
    bar = float(np.percentile(real, 95))
    rows: dict[str, list[float]] = {k: [] for k in PROMPTS}
    exact = True
    for clip in clips:
        T, fps = clip.num_frames, clip.fps
        start, end = T // 2 - int(fps), T // 2 + int(fps) - 1
        out = edits.regenerate(generator, clip, start, end, PROMPTS["regenerate"], seed)
        exact &= np.array_equal(out.local_rotations[:start], clip.local_rotations[:start])
        exact &= np.array_equal(out.root_translation[end + 1:], clip.root_translation[end + 1:])
        rows["regenerate"] += _jumps(out, [start, end + 1])
        out = edits.extend(generator, clip, 2.0, PROMPTS["continue"], seed)
        exact &= np.array_equal(out.local_rotations[:T], clip.local_rotations)
        rows["continue"] += _jumps(out, [T])
        out = edits.body_part(generator, clip, ["upper_body"], PROMPTS["body_part"], seed,
                              start, end)
        rows["body_part"] += _jumps(out, [start, end + 1])
        exact &= np.array_equal(out.root_translation, clip.root_translation)
    allj = np.array(sum(rows.values(), []))
    res = {"seam_p95_real": bar, "seam_jump_p50": float(np.median(allj)),
           "seam_jump_p95": float(np.percentile(allj, 95)), "seam_jump_max": float(allj.max()),
           "seams_within": int((allj <= bar).sum()), "seams": int(allj.size),
           "outside_identical": bool(exact), "clips": len(clips)}
    for k, v in rows.items():
        res[f"{k}_jump_p50"] = float(np.median(v))
        res[f"{k}_within"] = f"{int((np.array(v) <= bar).sum())}/{len(v)}"
    log(f"{len(clips)} held-out clips; real p95 velocity change {bar:.3f} m/s; " +
        ", ".join(f"{k}: median seam {res[f'{k}_jump_p50']:.3f}, within {res[f'{k}_within']}"
                  for k in rows))
    return res


def run_eval(args) -> int:
    from ..text2motion.sample import load_generator
    t0 = time.perf_counter()
    gen = load_generator(args.checkpoint or "starter")
    res = evaluate(gen, seed=args.seed, max_clips=args.samples or None)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    head = ("seam_p95_real", "seam_jump_p50", "seam_jump_p95", "seam_jump_max",
            "seams_within", "seams")
    rest = {k: v for k, v in res.items() if k not in head}
    print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                   for k, v in rest.items()))
    print(" ".join(f"{k}={res[k]:.4f}" if isinstance(res[k], float) else f"{k}={res[k]}"
                   for k in head))
    return 0
