"""Command line of the Anima backend: ``python -m backend <subcommand> ...``.

Each subcommand lives in its own module, imported only when that subcommand runs (so that
``serve`` does not pay for what ``train`` imports). A subcommand module provides::

    def add_arguments(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...      # the process exit status

To add one, add an entry to ``SUBCOMMANDS``: ``name: (module, one-line help)``.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

PROG = "python -m backend"

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("backend.server", "run the job server for the Blender add-on (stdio or TCP)"),
    "generate": ("backend.cli_generate", "prompt -> motion file (.bvh / .npz), no Blender"),
    "import": ("backend.cli_import", "import the mocap corpora onto the canonical skeleton"),
    "bench": ("backend.cli_bench", "speed benchmarks; key=value figures on the last line"),
    "dataset": ("backend.cli_dataset", "build / inspect text-to-motion training data"),
    "eval": ("backend.cli_eval", "evaluate generated motion against real held-out motion"),
    "train": ("backend.cli_train", "train a model family (text2motion); torchrun-ready"),
}


def _selected(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (its first non-option argument), if any."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in SUBCOMMANDS else None
    return None


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser for ``argv``; only the selected subcommand's module is imported."""
    parser = argparse.ArgumentParser(prog=PROG, description="Anima motion backend")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    selected = _selected(argv)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            module = importlib.import_module(module_name)
            module.add_arguments(sub_parser)
            sub_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``) and run the subcommand."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as e:           # a file or folder the user named: no traceback for that
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
