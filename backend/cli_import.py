"""`python -m backend import`: import mocap onto the canonical skeleton.

    python -m backend import --shared ../shared/data [--sources cmu,bandai,deepmimic]
    python -m backend import --folder DIR [--captions F.csv] [--name NAME] [--licence TEXT]

Writes assets/library/cmu_canonical.npz (commercially usable, shipped with the add-on) and
Bandai-Namco (CC BY-NC 4.0) / DeepMimic libraries into the user's data folder, plus a report
of how many clips imported and why any failed.

With --folder, the user's own clips (every .bvh under DIR, any humanoid rig) become the library
``<user data>/library/<NAME>_canonical.npz`` (backend/data/user_import.py), captioned from the
CSV (file, caption[, style]) or from the file names; build a dataset from it with
``python -m backend dataset build --libraries NAME`` and fine-tune with
``python -m backend train text2motion --init starter --dataset ...``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .paths import SHARED_DATA_DEFAULT, REPO_ROOT, user_data_dir, user_library_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shared", type=Path, default=SHARED_DATA_DEFAULT,
                        help="folder with bandai-namco/, cmu/, deepmimic/")
    parser.add_argument("--sources", default="cmu,bandai,deepmimic")
    parser.add_argument("--shipped-out", type=Path, default=REPO_ROOT / "assets" / "library")
    parser.add_argument("--local-out", type=Path, default=None,
                        help="where non-shipped libraries go (default: the user data folder)")
    parser.add_argument("--raw-cache", type=Path, default=None,
                        help="where archives are unpacked (default: user data folder/raw)")
    parser.add_argument("--no-embed", action="store_true", help="skip caption embeddings")
    own = parser.add_argument_group("your own clips (instead of --shared)")
    own.add_argument("--folder", type=Path, default=None,
                     help="a folder of your .bvh clips (searched recursively)")
    own.add_argument("--captions", type=Path, default=None,
                     help="CSV with the columns file, caption[, style] (file relative to the "
                          "folder); default: captions from the file names")
    own.add_argument("--name", default=None,
                     help="library name (default: the folder's name): "
                          "<user data>/library/<NAME>_canonical.npz")
    own.add_argument("--licence", default=None,
                     help='licence of your clips (default: "user data: your own licence")')
    own.add_argument("--attribution", default="", help="credit line for your clips")
    own.add_argument("--commercial", action="store_true",
                     help="your clips may be used commercially (default: unknown, so no)")


def run_folder(args: argparse.Namespace) -> int:
    from .data.user_import import DEFAULT_LICENCE, UserImportError, import_folder

    out = args.local_out or user_library_dir()
    encoder = None
    if not args.no_embed:
        from .text.encoder import TextEncoder
        encoder = TextEncoder.shared()
    try:
        out.mkdir(parents=True, exist_ok=True)
        report = import_folder(args.folder, out, args.name, args.captions,
                               args.licence or DEFAULT_LICENCE, args.commercial,
                               args.attribution, encoder)
    except (UserImportError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for note in report.notes:
        print(f"  note: {note}")
    name = report.library_path.name[:-len("_canonical.npz")]
    print(f"imported={len(report.imported)} failed={len(report.failures)} "
          f"skipped={len(report.skipped)} minutes={report.seconds / 60:.2f} "
          f"library={report.library_path} name={name}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.folder is not None:
        return run_folder(args)
    if args.captions or args.name or args.licence or args.commercial:
        print("error: --captions, --name, --licence and --commercial go with --folder",
              file=sys.stderr)
        return 2
    from .data.importer import import_all, write_report

    if not args.shared.is_dir():
        print(f"error: {args.shared} is not a folder with the mocap corpora")
        return 2
    local = args.local_out or user_library_dir()
    raw = args.raw_cache or (user_data_dir() / "raw")
    for d in (local, raw, args.shipped_out):
        d.mkdir(parents=True, exist_ok=True)
    encoder = None
    if not args.no_embed:
        from .text.encoder import TextEncoder
        encoder = TextEncoder.shared()
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    reports = import_all(args.shared, args.shipped_out, local, raw, encoder, sources)
    write_report(reports, local / "import_report.json")
    total = sum(r.imported for r in reports)
    failed = sum(len(r.failures) for r in reports)
    print(f"imported={total} failed={failed} report={local / 'import_report.json'}")
    return 0
