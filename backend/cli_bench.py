"""`python -m backend bench NAME`: speed figures, printed as key=value on the last line.

  retarget   10 s / 30 fps clip onto a generated Rigify rig vs Blender's BVH importer
             (same frames, same process) -> ratio = Blender time / Anima time
"""
from __future__ import annotations

import argparse
import subprocess
import sys

from .paths import REPO_ROOT

BENCHES = {"retarget": REPO_ROOT / "tools" / "bench_retarget_blender.py"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=sorted(BENCHES))


def run(args: argparse.Namespace) -> int:
    # The Blender side runs in its own process: the backend never imports bpy.
    proc = subprocess.run([sys.executable, str(BENCHES[args.name])], cwd=REPO_ROOT,
                          capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if "=" in ln]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        print(f"error: bench {args.name} failed (exit {proc.returncode})")
        return proc.returncode or 1
    print(lines[-1])
    return 0
