"""`python -m backend bench cancel`: how fast each job kind stops when cancelled.

Each kind runs a realistic request (a 10 s generation, a 10 s edit, the longest example story,
physics on a held-out clip, a camera plan on a shipped scene ...) in-process on the CPU; a
timer sets the job's cancel event after ``delay`` seconds, and the latency is the time from
then until the job raises ``JobCancelled`` (what the server turns into ``cancelled``). A job
that finishes before its cancel arrives gives no sample. Prints ``<kind>_p95_s`` per kind and
``cancel_p95_s``, ``cancel_max_s``, ``samples`` last.
"""
from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from . import jobs
from .jobs import JobCancelled, JobContext
from .paths import REPO_ROOT

DELAYS_S = (0.2, 0.7, 1.5)


def _requests() -> dict[str, dict]:
    """One realistic request per job kind."""
    from .models.camera.evaluate import load_scenes, scene_params
    from .models.story.schedule import offline_schedule
    from .models.story.schema import Scene
    from .motion.clip import Clip
    from .motion.wire import clip_to_wire

    from .data.library import DEFAULT_LIBRARY, MotionLibrary
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    walk = max((lib.clip(i) for i in range(len(lib))), key=lambda c: c.num_frames)
    walk = walk.slice(0, min(walk.num_frames, int(10 * walk.fps)))
    story = json.loads((REPO_ROOT / "assets" / "stories" / "01_tired_evening.json")
                       .read_text(encoding="utf-8"))
    schedule = offline_schedule(story["story"], Scene.from_dict(story["scene"]))
    name, npz, track = load_scenes()[0]
    return {
        "sleep": {"seconds": 30, "steps": 300},
        "search": {"text": "a person walks forward", "seconds": 10, "top_k": 20},
        "generate": {"text": "a person walks forward and waves", "seconds": 10,
                     "variations": 4, "seed": 0},
        "edit": {"edit": "continue", "clip": clip_to_wire(walk), "seconds": 10,
                 "text": "a person walks forward", "seed": 0},
        "story": {"schedule": schedule.to_dict(), "scene": story["scene"], "seed": 0},
        "physics": {"clip": clip_to_wire(walk)},
        "camera": scene_params(npz, track, "fly_through", alternatives=6),
    }


def _one(kind: str, params: dict, delay: float, cache: Path) -> float | None:
    event = threading.Event()
    ctx = JobContext(f"cancel-{kind}", cache, cancel_event=event)
    fired = []

    def fire():
        fired.append(time.perf_counter())
        event.set()

    timer = threading.Timer(delay, fire)
    timer.start()
    t0 = time.perf_counter()
    try:
        jobs.JOBS[kind](dict(params), ctx)
    except JobCancelled:
        latency = time.perf_counter() - fired[0]
        print(f"{kind}: cancelled {delay:.2f} s in, stopped after {latency:.3f} s",
              file=sys.stderr, flush=True)
        return latency
    finally:
        timer.cancel()
    print(f"{kind}: finished in {time.perf_counter() - t0:.2f} s, before a cancel at "
          f"{delay:.2f} s", file=sys.stderr, flush=True)
    return None                                 # finished before the cancel arrived


def benchmark(n: int = 1, threads: int = 2, model: str = "starter") -> dict:
    import torch
    torch.set_num_threads(threads)
    jobs.load_job_modules(jobs.JOB_MODULES)
    requests = _requests()
    out, every = {}, []
    with tempfile.TemporaryDirectory(prefix="anima-cancel-") as tmp:
        for kind, params in requests.items():
            _one(kind, params, 0.05, Path(tmp))            # warm-up: loads models
            samples = [s for _ in range(max(1, min(n, 3))) for d in DELAYS_S
                       if (s := _one(kind, params, d, Path(tmp))) is not None]
            every += samples
            out[f"{kind}_p95_s"] = round(float(np.percentile(samples, 95)), 3) \
                if samples else "finished-first"
    out["cancel_p95_s"] = round(float(np.percentile(every, 95)), 3) if every else None
    out["cancel_max_s"] = round(float(max(every)), 3) if every else None
    out["samples"] = len(every)
    return out
