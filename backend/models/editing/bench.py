"""`python -m backend bench editing`: seconds per edit of a 10 s clip on the CPU.

A 10 s, 30 fps clip (the shipped library's longest held-out take, cut to 10 s) is edited in
turn by: regenerate 2 s in the middle, continue by 2 s, upper body from text (whole clip),
in-betweening of a 1 s gap (learned network, else slerp) and in-betweening with text (the
generator). ``n`` rounds after one warm-up round; the starter generator and the text encoder
are loaded before timing. Per edit ``<edit>_p50_s``; over all edits ``p50_s`` / ``p95_s``
(the issue's goal: p50 <= 0.3 s, as generation).
"""
from __future__ import annotations

import time

import numpy as np

PROMPTS = {"regenerate": "a person jumps up and down", "continue": "a person sits down",
           "body_part": "a person waves with both hands"}


def benchmark(n: int = 5, threads: int = 2, model: str = "starter") -> dict:
    import torch

    from ..text2motion.sample import load_generator
    from . import edits
    from .evaluate import held_out_clips
    from .inbetween import model_fill, slerp_fill

    torch.set_num_threads(threads)
    gen = load_generator(model)
    clip = max((c for _cap, c in held_out_clips()), key=lambda c: c.num_frames)
    clip = clip.slice(0, min(clip.num_frames, int(10 * clip.fps)))
    T = clip.num_frames
    try:
        from .learned import learned_fill, load_inbetweener
        net = load_inbetweener()
        fill_name = "learned"

        def fill(c, k):
            return learned_fill(net, c, k)
    except (ImportError, OSError, ValueError):
        fill, fill_name = slerp_fill, "slerp"
    keys = list(range(0, T // 2)) + list(range(T // 2 + 30, T))
    runs = {
        "regenerate": lambda i: edits.regenerate(gen, clip, T // 2 - 30, T // 2 + 29,
                                                 PROMPTS["regenerate"], seed=i),
        "continue": lambda i: edits.extend(gen, clip, 2.0, PROMPTS["continue"], seed=i),
        "body_part": lambda i: edits.body_part(gen, clip, ["upper_body"],
                                               PROMPTS["body_part"], seed=i),
        "inbetween": lambda i: fill(clip, keys),
        "inbetween_text": lambda i: model_fill(gen, clip, keys, text="a person jumps",
                                               seed=i),
    }
    gen.encode(list(PROMPTS.values()) + ["a person jumps"])
    times: dict[str, list[float]] = {k: [] for k in runs}
    for i in range(n + 1):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn(i)
            if i:
                times[name].append(time.perf_counter() - t0)
    allt = np.concatenate([v for v in times.values()])
    out = {"clip_frames": T, "fps": clip.fps, "threads": threads, "n": n,
           "inbetween_method": fill_name}
    out.update({f"{k}_p50_s": round(float(np.median(v)), 4) for k, v in times.items()})
    out.update({"p50_s": round(float(np.median(allt)), 4),
                "p95_s": round(float(np.percentile(allt, 95)), 4)})
    return out
