"""`python -m backend bench NAME`: speed figures, printed as key=value on the last line.

  retarget     10 s / 30 fps clip onto a generated Rigify rig vs Blender's BVH importer
               (same frames, same process) -> ratio = Blender time / Anima time
  apply_file   10 s / 30 fps BVH file onto a generated Rigify rig with apply_motion_file (import
               into a temporary scene, read, retarget, keys) -> apply_s (median of 3) and the
               split import_s, read_s, cleanup_s, retarget_s, write_s
  text2motion  10 s clip from a prompt with the starter generator on the CPU (2 threads):
               text encoding + sampling + conversion to a clip, N runs -> p50_s, p95_s, and
               peak_mb (peak resident set size of the process, from getrusage)
  editing      each edit of a 10 s / 30 fps clip (regenerate 2 s, continue 2 s, upper body,
               in-between a 1 s gap without and with text), N rounds -> p50_s, p95_s and
               <edit>_p50_s (backend/models/editing/bench.py)
  story        the longest example story (20 sentences) scheduled and composed on the CPU ->
               seconds (median), segments (backend/models/story/bench.py)
  physics      the MuJoCo tracking controller on held-out clips, one thread ->
               cpu_s_per_motion_s, success, mpjpe_mm (backend/models/physics/bench.py)
  camera       every shot type planned on a shipped 10 s test scene (3 alternatives each) ->
               p50_s, p95_s, crashes (backend/models/camera/bench.py)
  cancel       every job kind cancelled 0.2 / 0.7 / 1.5 s after it starts -> <kind>_p95_s,
               cancel_p95_s, cancel_max_s (backend/bench_cancel.py)
  soak         1,000 mixed jobs against one backend -> rss_growth, leaked_files, jobs
               (backend/bench_soak.py)
  remote       a 10 s clip job over stdio, TCP and TLS -> local_s, remote_s, tls_s,
               overhead_s (backend/bench_remote.py)

A bench is either a script run in its own process (a Path: the Blender side never enters the
backend process) or a function run in-process ("module:function" returning a dict).
"""
from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

from .paths import REPO_ROOT

BENCHES: dict[str, Path | str] = {
    "retarget": REPO_ROOT / "tools" / "bench_retarget_blender.py",
    "apply_file": REPO_ROOT / "tools" / "bench_apply_file_blender.py",
    "text2motion": "backend.models.text2motion.bench:benchmark",
    "editing": "backend.models.editing.bench:benchmark",
    "story": "backend.models.story.bench:benchmark",
    "physics": "backend.models.physics.bench:benchmark",
    "camera": REPO_ROOT / "backend" / "models" / "camera" / "bench.py",
    "cancel": "backend.bench_cancel:benchmark",
    "soak": "backend.bench_soak:benchmark",
    "remote": "backend.bench_remote:benchmark",
}


# The headline keys each in-process bench prints on its last line (the issues name them);
# a bench not listed prints everything on one line.
HEADLINE = {"text2motion": ("p50_s", "p95_s", "peak_mb"),
            "cancel": ("cancel_p95_s", "cancel_max_s", "samples"),
            "soak": ("rss_growth", "leaked_files", "jobs"),
            "remote": ("local_s", "remote_s", "tls_s", "overhead_s")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=sorted(BENCHES))
    parser.add_argument("--repeat", type=int, default=20,
                        help="timed runs of an in-process bench (text2motion)")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch CPU threads of an in-process bench (text2motion)")
    parser.add_argument("--model", default="starter",
                        help="text2motion: starter | clean | a checkpoint path | random "
                             "(an untrained network of the same size)")


def _format(result: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in result.items())


def run(args: argparse.Namespace) -> int:
    bench = BENCHES[args.name]
    if isinstance(bench, str):
        module, func = bench.split(":")
        fn = getattr(importlib.import_module(module), func)
        if args.repeat < 1 or args.threads < 1:
            print("error: --repeat and --threads must be at least 1")
            return 2
        try:
            result = fn(n=args.repeat, threads=args.threads, model=args.model)
        except (ValueError, OSError) as e:
            print(f"error: bench {args.name}: {e}")
            return 2
        # the headline figures last, so that `tail -1 | ...` finds them in a fixed place
        keys = HEADLINE.get(args.name, ("p50_s", "p95_s", "peak_mb"))
        head = {k: result.pop(k) for k in keys if k in result}
        if result and head:
            print(_format(result))
        print(_format(head or result))
        return 0
    # The Blender side runs in its own process: the backend never imports bpy.
    proc = subprocess.run([sys.executable, str(bench)], cwd=REPO_ROOT,
                          capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if "=" in ln]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        print(f"error: bench {args.name} failed (exit {proc.returncode})")
        return proc.returncode or 1
    print(lines[-1])
    return 0
