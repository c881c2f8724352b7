"""`python -m backend dataset`: build and inspect text-to-motion datasets (HumanML3D features).

    python -m backend dataset build --libraries default,bandai,deepmimic --out DATA.npz
    python -m backend dataset build --humanml3d /path/to/HumanML3D --out DATA.npz
    python -m backend dataset info DATA.npz

Library names: ``default`` is the shipped CMU library (assets/library/cmu_canonical.npz); any
other name is ``<user data folder>/library/<name>_canonical.npz`` (written by ``python -m backend
import``); a path to a library file works too. A missing library is reported and skipped
(``--strict``: an error). Prints counts per source, split and licence, and the total minutes.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from .paths import user_data_dir, user_library_dir


def default_dataset_path(name: str = "all") -> Path:
    """<user data folder>/t2m/dataset_<name>.npz"""
    return user_data_dir() / "t2m" / f"dataset_{name}.npz"


def library_path(name: str) -> Path:
    from .data.library import DEFAULT_LIBRARY

    name = name.strip()
    if name in ("default", "cmu"):
        return DEFAULT_LIBRARY
    if name.endswith(".npz") or "/" in name:
        return Path(name).expanduser()
    return user_library_dir() / f"{name}_canonical.npz"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="build a dataset from motion libraries or HumanML3D")
    src = b.add_mutually_exclusive_group()
    src.add_argument("--libraries", default="default,bandai,deepmimic",
                     help="comma-separated library names or paths (default: %(default)s)")
    src.add_argument("--humanml3d", type=Path, default=None,
                     help="a folder in the HumanML3D layout instead of libraries")
    b.add_argument("--out", type=Path, default=None,
                   help="output .npz (default: <user data>/t2m/dataset_all.npz)")
    b.add_argument("--no-mirror", action="store_true", help="no mirrored copies")
    b.add_argument("--window", type=float, default=10.0, help="window seconds (default 10)")
    b.add_argument("--hop", type=float, default=5.0, help="window hop seconds (default 5)")
    b.add_argument("--no-split-files", action="store_true",
                   help="HumanML3D: split by take hash instead of train/val/test.txt")
    b.add_argument("--strict", action="store_true", help="a missing library is an error")
    i = sub.add_parser("info", help="print the counts of a saved dataset")
    i.add_argument("path", type=Path, nargs="?", default=None)


def format_stats(ds) -> str:
    st = ds.stats()
    lines = []

    def table(title, rows):
        lines.append(f"{title:<34} {'items':>7} {'takes':>6} {'mirror':>7} {'minutes':>9}")
        for k, v in rows.items():
            lines.append(f"  {k:<32} {v['items']:>7} {v['takes']:>6} {v['mirrored']:>7} "
                         f"{v['minutes']:>9.1f}")

    table("by source", st["by_source"])
    table("by split", st["by_split"])
    table("by source/split", st["by_source_split"])
    table("by licence", st["by_licence"])
    counts = ds.meta.get("clip_counts")
    if counts:
        lines.append("library clips used (before windows and mirroring):")
        for k, v in counts.items():
            lines.append(f"  {k:<32} {v['clips']:>7} clips {v['minutes']:>9.1f} min"
                         f"  ({v['dropped_short']} shorter than "
                         f"{ds.meta.get('min_seconds', 1.0):g} s dropped)")
    lines.append("labels: " + ", ".join(f"{k}: {len(v)}" for k, v in ds.label_vocab.items()))
    lines.append(f"total: {st['items']} items, {st['takes']} takes, {st['minutes']:.1f} min "
                 f"({st['frames']} frames at 20 fps)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from .data import t2m_dataset as T

    if args.action == "info":
        path = args.path or default_dataset_path()
        try:
            ds = T.T2MDataset.load(path)
        except T.DatasetError as e:
            print(f"error: {e}")
            return 2
        print(f"{path}")
        print(format_stats(ds))
        print(f"fingerprint={ds.fingerprint()} items={len(ds)} "
              f"minutes={ds.stats()['minutes']:.1f}")
        return 0

    out = args.out or default_dataset_path()
    t0 = time.perf_counter()
    try:
        if args.humanml3d is not None:
            ds = T.load_humanml3d(args.humanml3d, split_files=not args.no_split_files,
                                  window_seconds=args.window, hop_seconds=args.hop, log=print)
        else:
            names = [n for n in args.libraries.split(",") if n.strip()]
            paths = [library_path(n) for n in names]
            missing = [(n, p) for n, p in zip(names, paths) if not p.is_file()]
            for n, p in missing:
                print(f"{'error' if args.strict else 'warning'}: library {n!r} not found at "
                      f"{p} (import it with `python -m backend import --sources {n}`)")
            if missing and args.strict:
                return 2
            paths = [p for p in paths if p.is_file()]
            if not paths:
                print("error: no motion library to build from")
                return 2
            ds = T.build_dataset(paths, mirror=not args.no_mirror,
                                 window_seconds=args.window, hop_seconds=args.hop, log=print)
            ds.meta["missing_libraries"] = [str(p) for _, p in missing]
    except (T.DatasetError, ValueError) as e:
        print(f"error: {e}")
        return 2
    if not len(ds):
        print("error: the dataset is empty")
        return 2
    build_s = time.perf_counter() - t0
    ds.meta["build_seconds"] = round(build_s, 1)
    ds.save(out)
    print(format_stats(ds))
    st = ds.stats()
    print(f"out={out} items={st['items']} minutes={st['minutes']:.1f} "
          f"build_seconds={build_s:.1f} fingerprint={ds.fingerprint()[:16]}")
    return 0
