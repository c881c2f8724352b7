"""Fuzzing the motion file readers (hypothesis, derandomized): BVH text (``read_bvh`` from text,
bytes and a path) and ``.npz`` clips (``Clip.load_npz``), as random mutations of valid files.

Every input gives either a valid result (frames, finite numbers, shapes that agree) or a
``ValueError`` (``BvhError`` is one) whose message names the file; never IndexError, KeyError,
TypeError, ZeroDivisionError, MemoryError, a zipfile error or a silently broken clip.
"""
from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.motion.bvh import read_bvh
from backend.motion.clip import Clip
from backend.motion.skeleton import CANONICAL

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
BASE = settings(derandomize=True, deadline=None, database=None, print_blob=True,
                suppress_health_check=list(HealthCheck))
CASES = {"count": 0}
BVH_NAME = "fuzz_input.bvh"

VALID_BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0.0 90.0 0.0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0.0 10.0 0.0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Head
    {
      OFFSET 0.0 50.0 0.0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0.0 15.0 0.0
      }
    }
  }
  JOINT LeftLeg
  {
    OFFSET 10.0 -5.0 0.0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0.0 -80.0 0.0
    }
  }
}
MOTION
Frames: 4
Frame Time: 0.0333333
0.0 90.0 0.0 0.0 0.0 0.0 1.0 2.0 3.0 4.0 5.0 6.0 7.0 8.0 9.0
1.0 90.5 0.0 1.0 0.0 0.0 1.5 2.5 3.5 4.5 5.5 6.5 7.5 8.5 9.5
2.0 91.0 0.0 2.0 0.0 0.0 2.0 3.0 4.0 5.0 6.0 7.0 8.0 9.0 10.0
3.0 91.5 0.0 3.0 0.0 0.0 2.5 3.5 4.5 5.5 6.5 7.5 8.5 9.5 10.5
"""

TOKENS = ["nan", "NaN", "inf", "-inf", "1e999", "-1e999", "-1", "0", "1e308",
          "99999999999999999999", "3.5", "{", "}", "JOINT", "ROOT", "End", "Site", "OFFSET",
          "CHANNELS", "MOTION", "HIERARCHY", "Frames:", "Frame", "Time:", "Xrotation",
          "Wrotation", "Xposition", "", "\x00", "é", "2147483648", "-0", "0x10", "1_000"]


def fuzz(examples: int) -> settings:
    return settings(BASE, max_examples=examples)


def tick() -> None:
    CASES["count"] += 1


@pytest.fixture(scope="module", autouse=True)
def report_count():
    yield
    print(f"\nfuzz cases in {Path(__file__).name}: {CASES['count']}")


# ============================================================================ BVH
@st.composite
def mutated_bvh(draw) -> str:
    """The valid BVH text after 1-4 random edits of lines, tokens or characters."""
    lines = VALID_BVH.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "token", "token", "token",
                                   "insert", "frames", "truncate"]))
        i = draw(st.integers(0, len(lines) - 1)) if lines else 0
        if not lines:
            lines = [draw(st.text(max_size=20))]
        elif op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "token":
            toks = lines[i].split() or [""]
            k = draw(st.integers(0, len(toks) - 1))
            toks[k] = draw(st.sampled_from(TOKENS) | st.text(max_size=6) |
                           st.floats().map(repr) | st.integers(-10**25, 10**25).map(str))
            lines[i] = " ".join(toks)
        elif op == "insert":
            lines.insert(i, draw(st.text(max_size=30)))
        elif op == "frames":
            lines = [f"Frames: {draw(st.sampled_from(TOKENS) | st.integers(-5, 10**12).map(str))}"
                     if ln.startswith("Frames") else
                     f"Frame Time: {draw(st.sampled_from(TOKENS) | st.floats().map(repr))}"
                     if ln.startswith("Frame Time") and draw(st.booleans()) else ln
                     for ln in lines]
        elif op == "truncate":
            text = "\n".join(lines)
            cut = draw(st.integers(0, len(text)))
            lines = text[:cut].split("\n")
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n"]))


def check_bvh_outcome(read) -> None:
    """``read()`` returns valid data or raises a ValueError naming the file."""
    try:
        data = read()
    except ValueError as e:
        assert BVH_NAME in str(e), f"the error does not name the file: {e}"
        return
    T, J = data.num_frames, len(data.skeleton)
    assert T >= 1 and J >= 1
    assert data.local_rotations.shape == (T, J, 4) and data.root_translation.shape == (T, 3)
    assert np.isfinite(data.local_rotations).all() and np.isfinite(data.root_translation).all()
    assert math.isfinite(data.fps) and data.fps > 0
    assert np.isfinite(data.skeleton.offsets).all()
    norms = np.linalg.norm(data.local_rotations, axis=-1)
    assert np.allclose(norms, 1.0, atol=1e-6)


def test_the_unmutated_bvh_reads():
    data = read_bvh(VALID_BVH, name=BVH_NAME)
    assert data.num_frames == 4 and data.names[:2] == ["Hips", "Spine"]


@fuzz(1800)
@given(mutated_bvh(), st.booleans())
def test_mutated_bvh_text_reads_or_raises_a_value_error_naming_the_file(text, strict):
    tick()
    check_bvh_outcome(lambda: read_bvh(text, strict=strict, name=BVH_NAME))


@fuzz(400)
@given(mutated_bvh(), st.binary(max_size=8), st.integers(0, 2000))
def test_mutated_bvh_bytes_read_or_raise(text, garbage, at):
    tick()
    data = text.encode("utf-8", "surrogatepass")
    at = min(at, len(data))
    data = data[:at] + garbage + data[at:]
    check_bvh_outcome(lambda: read_bvh(data, name=BVH_NAME))


@fuzz(150)
@given(mutated_bvh())
def test_mutated_bvh_file_reads_or_raises(tmp_path_factory, text):
    tick()
    path = tmp_path_factory.mktemp("bvh", numbered=True) / BVH_NAME
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    check_bvh_outcome(lambda: read_bvh(path))


# ============================================================================ npz clips
NPZ_NAME = "fuzz_clip.npz"


def valid_arrays(frames: int = 3) -> dict:
    rotations = np.zeros((frames, len(CANONICAL), 4), dtype=np.float32)
    rotations[..., 0] = 1.0
    return {"local_rotations": rotations,
            "root_translation": np.zeros((frames, 3), dtype=np.float32),
            "fps": np.float64(30.0), "meta": np.array(json.dumps({"source": "fuzz"})),
            **CANONICAL.to_arrays()}


def npz_bytes(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


ARRAY_JUNK = st.sampled_from([
    np.array(np.nan), np.array(np.inf), np.array(0.0), np.array(-30.0), np.zeros((2,)),
    np.zeros((0,)), np.zeros((0, 22, 4)), np.zeros((3, 21, 4)), np.zeros((3, 22, 3)),
    np.full((3, 22, 4), np.nan), np.full((3, 3), np.inf), np.array("not json {"),
    np.array("[1, 2]"), np.array("null"), np.array(["a", "b"]), np.array([[1, 2], [3, 4]]),
    np.array([-5] * 22), np.array([5] * 22), np.arange(22) - 1, np.zeros((22, 4)),
    np.array(b"bytes"), np.array([True, False]), np.zeros((1, 22, 4), dtype=np.float16),
    np.array(np.finfo(np.float64).max), np.zeros((3, 22, 4), dtype=np.int8), np.array(3 + 4j),
])


@st.composite
def structural_npz(draw) -> bytes:
    """A clip file with 1-3 arrays dropped, renamed or replaced by junk."""
    arrays = valid_arrays(draw(st.integers(1, 4)))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(arrays) + ["extra"]))
        op = draw(st.sampled_from(["drop", "junk", "junk", "rename"]))
        if op == "drop":
            arrays.pop(key, None)
        elif op == "rename" and key in arrays:
            arrays[key + "_x"] = arrays.pop(key)
        else:
            arrays[key] = draw(ARRAY_JUNK)
    return npz_bytes(arrays)


@st.composite
def corrupted_npz(draw) -> bytes:
    """A valid clip file with bytes flipped, cut or inserted."""
    data = bytearray(npz_bytes(valid_arrays(draw(st.integers(1, 3)))))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[at:at + draw(st.integers(1, 400))]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=40))
    return bytes(data)


def check_npz_outcome(path: Path) -> None:
    try:
        clip = Clip.load_npz(path)
    except ValueError as e:
        assert path.name in str(e), f"the error does not name the file: {e}"
        return
    clip.check_valid()                      # frames, positive finite fps, finite numbers
    assert isinstance(clip.meta, dict)
    assert clip.local_rotations.shape[1] == len(clip.skeleton)
    assert np.isfinite(clip.skeleton.offsets).all()


def test_the_valid_npz_loads(tmp_path):
    path = tmp_path / NPZ_NAME
    path.write_bytes(npz_bytes(valid_arrays()))
    assert Clip.load_npz(path).num_frames == 3


@fuzz(900)
@given(st.one_of(structural_npz(), corrupted_npz(), st.binary(max_size=200),
                 st.just(b""), st.just(b"PK\x03\x04")))
def test_mutated_npz_loads_or_raises_a_value_error_naming_the_file(tmp_path_factory, data):
    tick()
    path = tmp_path_factory.mktemp("npz", numbered=True) / NPZ_NAME
    path.write_bytes(data)
    check_npz_outcome(path)


def test_a_zip_bomb_shaped_entry_is_refused(tmp_path):
    """A header promising a huge array in a tiny file: no MemoryError."""
    path = tmp_path / NPZ_NAME
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        fields = b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 22, 4), }"
        fields += b" " * ((-(10 + len(fields) + 1)) % 64) + b"\n"
        header = b"\x93NUMPY\x01\x00" + len(fields).to_bytes(2, "little") + fields
        z.writestr("local_rotations.npy", header + b"\x00" * 64)
    path.write_bytes(buffer.getvalue())
    check_npz_outcome(path)
