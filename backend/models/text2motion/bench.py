"""`python -m backend bench text2motion`: the generator's speed on the CPU (docs/text2motion.md,
Benchmark)."""
from __future__ import annotations

import numpy as np
import torch

from .config import DEFAULT_GUIDANCE, DEFAULT_STEPS, SHIPPED
from .sample import Generator, checkpoint_path, random_generator

BENCH_PROMPTS = ("a person walks forward and waves", "a person jumps in place",
                 "someone runs in a circle", "a person kicks with the right leg",
                 "a tired person walks slowly")


def benchmark(n: int = 20, threads: int = 2, model: str = "starter", seconds: float = 10.0,
              steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE) -> dict:
    """Time ``n`` generations of a ``seconds`` clip on the CPU with ``threads`` torch threads:
    text encoding + flow sampling + conversion to a canonical Clip, one prompt at a time
    (prompts cycle through ``BENCH_PROMPTS``, seeds 0..n-1), after two warm-up runs. Then
    ``checked_*``: the same prompts as the job makes a single action (``_checked_times``).

    Uses the checkpoint ``model`` (a shipped name or a .pt path); ``model="random"`` times a
    freshly initialised network of the starter config instead (the speed is the same; the
    motion is noise). Any other name is a ``ValueError``. ``peak_mb`` is the
    process's peak resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), i.e.
    Python + torch + the MiniLM text encoder + the generator, measured at the end."""
    import resource
    import time

    from .config import preset

    torch.set_num_threads(threads)
    if model == "random":
        gen = random_generator(preset("starter").model, name="starter-untrained")
        weights = "random-init(starter config)"
    else:
        path = checkpoint_path(model)
        if not path.is_file():
            raise ValueError(f"no text-to-motion checkpoint {model!r} (looked for {path}); "
                             f"use {', '.join(SHIPPED)}, a .pt file or 'random'")
        gen = Generator.from_checkpoint(path, "cpu")
        weights = f"{model}-checkpoint(steps={gen.meta.get('steps')})"
    times, gen_times = [], []
    for i in range(n + 2):
        prompt = BENCH_PROMPTS[i % len(BENCH_PROMPTS)]
        t0 = time.perf_counter()
        feats = gen.generate([prompt], [seconds], [i], steps=steps, guidance=guidance)[0]
        t1 = time.perf_counter()
        gen.to_clip(feats)
        t2 = time.perf_counter()
        if i >= 2:
            times.append(t2 - t0)
            gen_times.append(t1 - t0)
    checked, takes = _checked_times(gen, "starter" if model == "random" else model, n,
                                    seconds, steps, guidance)
    layered = _layered_times(gen, n, seconds, steps, guidance)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"weights": weights, "threads": threads, "n": n, "seconds": seconds, "steps": steps,
            "guidance": guidance,
            "checked_p50_s": round(float(np.percentile(checked, 50)), 4),
            "checked_p95_s": round(float(np.percentile(checked, 95)), 4),
            "takes_mean": round(float(np.mean(takes)), 3),
            "layered_p50_s": round(float(np.percentile(layered, 50)), 4),
            "features_p50_s": round(float(np.percentile(gen_times, 50)), 4),
            "p50_s": round(float(np.percentile(times, 50)), 4),
            "p95_s": round(float(np.percentile(times, 95)), 4),
            "peak_mb": round(peak_mb, 1)}


def _checked_times(gen, model: str, n: int, seconds: float, steps: int, guidance: float):
    """Seconds per clip as the generate job makes a single-action prompt: the prompt snapped
    to a training caption (the prompt checker included) and each take of a checkable
    action checked and made again while it fails (takes.py); and the takes each needed."""
    import time

    from ...text.snap import snap_prompt
    from .takes import generate_takes, weaker_texts

    times, takes = [], []
    for i in range(n):
        prompt = BENCH_PROMPTS[i % len(BENCH_PROMPTS)]
        t0 = time.perf_counter()
        text, info = snap_prompt(prompt, model)
        feats, made = generate_takes(gen, [text], [info.get("action")], [seconds], [i],
                                     weaker=weaker_texts([text], [info.get("action")]),
                                     styles=[info.get("style")],
                                     steps=steps, guidance=guidance)
        gen.to_clip(feats[0])
        times.append(time.perf_counter() - t0)
        takes.append(made[0].takes)
    return times, takes


LAYERED_PAIRS = (("bow", "sad"), ("walk", "proud"), ("wave-right-hand", "happy"),
                 ("walk-back", "angry"))


def _layered_times(gen, n: int, seconds: float, steps: int, guidance: float) -> list[float]:
    """Seconds per clip of a thin style with its layer (``style_layer.py``): the styled
    caption as snap gives it, generated, layered and converted to a clip."""
    import time

    from ...text.snap import conditioning_caption

    times = []
    for i in range(n):
        text = conditioning_caption(*LAYERED_PAIRS[i % len(LAYERED_PAIRS)], "starter")
        t0 = time.perf_counter()
        gen.to_clip(gen.generate([text], [seconds], [i], steps=steps, guidance=guidance)[0])
        times.append(time.perf_counter() - t0)
    return times
