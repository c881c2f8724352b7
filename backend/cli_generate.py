"""`python -m backend generate`: prompt -> motion file, without Blender.

    python -m backend generate --text "a person walks forward and waves" --seconds 6 \
        --seed 3 --out walk.bvh          # or walk.npz (Anima clip)

`--model` picks the family (today: `search`, retrieval from the motion library); the command
runs the same job function the server runs for the add-on, in-process.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

MODELS = {"search": ("backend.models.search.job", "search")}
OUTPUT_SUFFIXES = (".bvh", ".npz")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", required=True, help="what the character should do")
    parser.add_argument("--seconds", type=float, default=None,
                        help="length of the clip (default: the model decides)")
    parser.add_argument("--seed", type=int, default=None, help="variation seed")
    parser.add_argument("--model", default="search", choices=sorted(MODELS))
    parser.add_argument("--library", default="default",
                        help="'default' (shipped CMU library), 'all' (plus imported ones) or "
                             "a library .npz path")
    parser.add_argument("--fps", type=float, default=None,
                        help="resample the result to this frame rate")
    parser.add_argument("--cache-dir", default=None, help="where imported libraries live")
    parser.add_argument("--out", required=True, help="output .bvh or .npz")


def run(args: argparse.Namespace) -> int:
    import importlib

    from .jobs import JOBS, JobContext, JobError
    from .motion import axes
    from .motion.bvh import write_bvh
    from .motion.clip import Clip
    from .motion.resample import resample

    out = Path(args.out)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        print(f"error: --out must end in {' or '.join(OUTPUT_SUFFIXES)}, got {out.name!r}",
              file=sys.stderr)
        return 2
    module, kind = MODELS[args.model]
    importlib.import_module(module)
    params = {"text": args.text, "library": args.library}
    if args.seconds is not None:
        params["seconds"] = args.seconds
    if args.seed is not None:
        params["seed"] = args.seed
    with tempfile.TemporaryDirectory(prefix="anima-generate-") as tmp:
        cache = Path(args.cache_dir) if args.cache_dir else Path(tmp)
        ctx = JobContext("cli", cache, on_progress=lambda f, m: print(
            f"[{f * 100:3.0f}%] {m}", file=sys.stderr))
        try:
            result = JOBS[kind](params, ctx)
        except JobError as e:
            print(f"error: {e.message}", file=sys.stderr)
            return 2
        first = result["clips"][result.get("selected", 0)]
        clip = Clip.load_npz(result["artifacts"][first["artifact"]])
    for w in result.get("warnings", []):
        print(f"warning: {w}", file=sys.stderr)
    if args.fps:
        clip = resample(clip, args.fps)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npz":
        clip.save_npz(out)
    else:
        skel, rots, root = axes.skeleton_clip_blender_to_y_up(
            clip.skeleton, clip.local_rotations, clip.root_translation)
        write_bvh(out, skel, rots, root, clip.fps)
    print(f"{out}: {clip.num_frames} frames at {clip.fps:g} fps ({clip.seconds:.2f} s), "
          f"matched '{first['caption']}' (score {first['score']:.3f}, {first['source']}, "
          f"licence {first['licence']})")
    return 0
