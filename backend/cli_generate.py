"""`python -m backend generate`: prompt -> motion file, without Blender.

    python -m backend generate --text "a person walks forward and waves" --seconds 6 \
        --seed 3 --out walk.bvh          # or walk.npz (Anima clip)

`--model` picks the family: `search` (retrieval from the motion library) or the text-to-motion
generator's checkpoints `starter` (Bandai-Namco + CMU, non-commercial) and `clean` (commercially
usable data only). The command runs the same job function the server runs for the add-on,
in-process.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

MODELS = {"search": ("backend.models.search.job", "search"),
          "starter": ("backend.models.text2motion.job", "generate"),
          "clean": ("backend.models.text2motion.job", "generate")}
OUTPUT_SUFFIXES = (".bvh", ".npz")
DEFAULT_MODEL = "search"
MAX_FPS = 240.0            # a higher output rate is a typo (and writes gigabytes)
SEED_MAX = 2**31 - 1


def _checked(cast, kind: str, ok, expected: str):
    """An argparse type: ``cast(text)`` (else "must be <kind>"), then ``ok(value)`` (else
    "must be <expected>")."""
    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {expected}, got {text}")
        return value
    return parse


_fps = _checked(float, "a number", lambda v: math.isfinite(v) and 0 < v <= MAX_FPS,
                f"a frame rate above 0 and at most {MAX_FPS:g}")
_seed = _checked(int, "a whole number", lambda v: 0 <= v <= SEED_MAX,
                 f"from 0 to {SEED_MAX}")
_seconds = _checked(float, "a number", math.isfinite, "a finite number")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", required=True, help="what the character should do")
    parser.add_argument("--seconds", type=_seconds, default=None,
                        help="length of the clip (default: the model decides)")
    parser.add_argument("--seed", type=_seed, default=None,
                        help=f"variation seed, 0..{SEED_MAX} (default: random for the "
                             f"generator, the best match for search)")
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(MODELS),
                        help=f"search: retrieval from the motion library; starter / clean: "
                             f"the text-to-motion generator (default: {DEFAULT_MODEL})")
    parser.add_argument("--library", default=None,
                        help="search only: 'default' (shipped CMU library), 'all' (plus the "
                             "libraries you imported) or a library .npz path")
    parser.add_argument("--fps", type=_fps, default=None,
                        help=f"resample the result to this frame rate (at most {MAX_FPS:g})")
    parser.add_argument("--cache-dir", default=None,
                        help="where the job writes its files (default: a temporary folder)")
    parser.add_argument("--out", required=True, help="output .bvh or .npz")


def check_output(out: Path) -> str | None:
    """Why ``out`` cannot be written (checked before the job runs), or None."""
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        return f"--out must end in {' or '.join(OUTPUT_SUFFIXES)}, got {out.name!r}"
    if out.is_dir():
        return f"--out {out} is a folder; give a file name"
    folder = out.parent if str(out.parent) else Path(".")
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write --out {out}: the folder {existing} is not writable"
    if out.exists() and not os.access(out, os.W_OK):
        return f"cannot write --out {out}: the file is read-only"
    return None


def run(args: argparse.Namespace) -> int:
    import importlib

    from .fileio import WriteError
    from .jobs import JOBS, JobContext, JobError, check_params
    from .motion import axes
    from .motion.bvh import write_bvh
    from .motion.clip import Clip
    from .motion.resample import resample

    out = Path(args.out).expanduser()
    problem = check_output(out)
    if problem is None and args.cache_dir:
        from .client import BackendError, check_cache_dir
        try:
            check_cache_dir(args.cache_dir)
        except BackendError as e:
            problem = f"--cache-dir: {e.message}"
    module, kind = MODELS[args.model]
    if problem is None and args.library is not None and kind != "search":
        problem = (f"--library is for --model search; the {args.model} generator does not "
                   f"read a motion library")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    importlib.import_module(module)
    if kind == "generate":
        params = {"text": args.text, "model": args.model}
    else:
        params = {"text": args.text, "library": args.library or "default"}
    if args.seconds is not None:
        params["seconds"] = args.seconds
    if args.seed is not None:
        params["seed"] = args.seed
    try:
        check_params(kind, params)          # the schema the server uses: before any work
    except JobError as e:
        print(f"error: {e.message}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="anima-generate-") as tmp:
        cache = Path(args.cache_dir).expanduser() if args.cache_dir else Path(tmp)
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
    if first.get("note"):              # e.g. the best match is shorter than asked
        print(f"note: {first['note']}", file=sys.stderr)
    if args.fps:
        clip = resample(clip, args.fps)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".npz":
            clip.save_npz(out)
        else:
            skel, rots, root = axes.skeleton_clip_blender_to_y_up(
                clip.skeleton, clip.local_rotations, clip.root_translation)
            write_bvh(out, skel, rots, root, clip.fps)
    except (OSError, WriteError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if "score" in first:
        how = (f"matched '{first['caption']}' (score {first['score']:.3f}, {first['source']}, "
               f"licence {first['licence']})")
    else:
        how = (f"generated by {first['source']} (seed {first['seed']}, licence "
               f"{first['licence']}{'' if first['commercial_ok'] else ', non-commercial'})")
    print(f"{out}: {clip.num_frames} frames at {clip.fps:g} fps ({clip.seconds:.2f} s), {how}")
    return 0
