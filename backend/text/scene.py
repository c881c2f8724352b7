"""Clauses about the shot, the costume or a comparison, not about the motion (issue 9).
Standard library only.

Beside a clause that clearly names a known action, these are scene: the prompt checker
(`known.py`) neither flags them as unknown motions nor reads an action from them.

* camera and lighting: "wide shot", "camera on a dolly", "slow push-in", "facing the lens",
  "neon pink backlight";
* costume: "actor in a frock coat", "guy in a Hawaiian shirt holding an ice cream",
  "face paint";
* a comparison: "like a crane lifting a girder", "as if the ground had shoved him away".

Written from the reader's dev set d (`data/reader_dev_d.jsonl`, round 14), where such
clauses were flagged as motions the model does not know.
"""
from __future__ import annotations

import re

_CAMERA = re.compile(r"\b(shot|camera|cam|dolly|tripod|push-in|pull-out|lens|close-?up|"
                     r"steadicam|handheld|zoom|pan|tilt|framing|spotlight|backlight|"
                     r"backlit|lighting|key light|rim light)\b")
_COSTUME = re.compile(r"\b(shirt|t-shirt|pants|trousers|jeans|shorts|suit|coat|jacket|"
                      r"hoodie|raincoat|boots|shoes|sneakers|trainers|dress|skirt|scarf|hat|"
                      r"cap|helmet|uniform|costume|armou?r|cloak|robe|gown|tuxedo|apron|"
                      r"face paint|glasses|sunglasses|bomber)\b")
_SIMILE = re.compile(r"^(like|as if|as though|as when|the way)\b")


def scene_clause(clause: str) -> bool:
    """Whether `clause` (lower case) is about the shot, the costume or a comparison."""
    c = clause.strip(" \"'“”‘’").lower()
    return bool(_CAMERA.search(c) or _COSTUME.search(c) or _SIMILE.match(c))
