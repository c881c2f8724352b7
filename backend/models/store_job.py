"""The torch check of a checkpoint before the model store installs it: the family's own
loader builds the network from the file, so a checkpoint that imports is one that loads.

    python -m backend.models.store_job verify PATH
    -> stdout: one JSON line {"ok": true, "family", "parameters", "licence", "commercial_ok"}
               or {"ok": false, "error": "<message naming the file>"}; exit status 0 / 1

The add-on runs it with the configured backend Python (operators/models.py): Blender itself
never imports torch. The standard-library checks (zip checksums, format, version) are
backend/modelstore.py's and run first.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..modelstore import ModelStoreError, inspect_checkpoint


def _load(family: str, path: Path) -> int:
    """Builds the family's network from `path`; its parameter count."""
    if family == "text2motion":
        from .text2motion.sample import build_model, load_checkpoint
        model = build_model(load_checkpoint(path), path)
    elif family == "inbetween":
        from .editing.learned import load_inbetweener
        model = load_inbetweener(path)
    elif family == "camera_next_pose":
        from .camera.learned.model import load_model
        model, _ = load_model(path)
    elif family == "reader_net":
        from ..text.reader_net import load_reader
        net = load_reader(path)
        return sum(p.numel() for m in (net.bert, net.action_head, net.style_head,
                                       net.unknown_head) for p in m.parameters())
    else:                                   # a family added to modelstore.FAMILIES only
        raise ModelStoreError(f"{path}: no loader for the {family} family")
    return sum(p.numel() for p in model.parameters())


def verify_checkpoint(path) -> dict:
    """{"family", "parameters", "licence", "commercial_ok"} of a checkpoint its family's
    loader accepts; ModelStoreError with the loader's message otherwise."""
    path = Path(path)
    info = inspect_checkpoint(path)
    try:
        parameters = _load(info.family, path)
    except ModelStoreError:
        raise
    except Exception as e:  # noqa: BLE001 - each family has its own checkpoint error class
        raise ModelStoreError(str(e).splitlines()[0] if str(e) else type(e).__name__) from None
    return {"family": info.family, "parameters": int(parameters), "licence": info.licence,
            "commercial_ok": info.commercial_ok}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "verify":
        print("usage: python -m backend.models.store_job verify PATH", file=sys.stderr)
        return 2
    try:
        out = {"ok": True, **verify_checkpoint(argv[1])}
    except ModelStoreError as e:
        out = {"ok": False, "error": str(e)}
    print(json.dumps(out))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
