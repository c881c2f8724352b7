"""`python -m backend bench story`: seconds to schedule and compose the longest example story
(assets/stories/, the 20-sentence one) on the CPU, the generator and the text encoder loaded
before timing (as in a running backend). ``n`` runs after one warm-up; the last line has
``seconds=`` (median) and ``segments=`` (the issue's goal: a 20-sentence story in <= 30 s).
"""
from __future__ import annotations

import re
import time

import numpy as np


def _sentences(text: str) -> int:
    return len([s for s in re.split(r"[.!?]+", text) if s.strip()])


def benchmark(n: int = 3, threads: int = 2, model: str = "starter") -> dict:
    import torch

    from ..text2motion.sample import load_generator
    from .assemble import compose_story
    from .evaluate import load_examples
    from .schedule import offline_schedule
    from .schema import Scene

    torch.set_num_threads(threads)
    name, ex = max(load_examples(), key=lambda e: _sentences(e[1]["story"]))
    scene = Scene.from_dict(ex["scene"])
    gen = load_generator(model)
    offline_schedule("a person walks forward", Scene(), model=model)   # loads the encoder
    times, plan_times, segments, frames = [], [], 0, 0
    for i in range(n + 1):
        t0 = time.perf_counter()
        schedule = offline_schedule(ex["story"], scene, model=model)
        t1 = time.perf_counter()
        result = compose_story(gen, schedule, scene, seed=i, model=model)
        if i:
            times.append(time.perf_counter() - t0)
            plan_times.append(t1 - t0)
        segments, frames = len(result.segments), result.clip.num_frames
    return {"story": name, "sentences": _sentences(ex["story"]), "threads": threads, "n": n,
            "story_seconds": round(frames / result.clip.fps, 1),
            "plan_s": round(float(np.median(plan_times)), 3),
            "seconds": round(float(np.median(times)), 3), "segments": segments}
