"""`python -m backend import`: import the mocap corpora onto the canonical skeleton.

    python -m backend import --shared ../shared/data [--sources cmu,bandai,deepmimic]

Writes assets/library/cmu_canonical.npz (commercially usable, shipped with the add-on) and
Bandai-Namco (CC BY-NC 4.0) / DeepMimic libraries into the user's data folder, plus a report
of how many clips imported and why any failed.
"""
from __future__ import annotations

import argparse
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


def run(args: argparse.Namespace) -> int:
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
