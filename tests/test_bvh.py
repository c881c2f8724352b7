"""BVH reader/writer: round trips, error messages, unit heuristics, real files."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from backend.motion import quat
from backend.motion.bvh import (BvhError, read_bvh, write_bvh, guess_scale, tree_diameter,
                                _euler_half_to_quat, rebase_rest)
from backend.motion.skeleton import CANONICAL

DATA = Path("/work/shared/data")

SMALL = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 20 0
    }
  }
  JOINT Leg
  {
    OFFSET 10 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Foot
    {
      OFFSET 0 -40 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 0 15
      }
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.0333333
1 90 2 0 0 0 0 0 0 0 0 0 0 0 0
2 91 3 90 0 0 0 0 0 0 0 0 0 0 0
3 92 4 0 90 0 0 0 0 0 45 0 0 0 0
"""


def _with_motion(lines, frames=3, frame_time="0.0333333"):
    head = SMALL.split("MOTION")[0]
    return head + f"MOTION\nFrames: {frames}\nFrame Time: {frame_time}\n" + "\n".join(lines) + "\n"


def _motion_lines():
    return SMALL.split("Frame Time: 0.0333333\n")[1].strip().split("\n")


# ---------------------------------------------------------------------------- basics
def test_small_file_parses():
    d = read_bvh(SMALL, scale=0.01)
    assert d.names == ["Hips", "Spine", "Leg", "Foot"]
    assert list(d.skeleton.parents) == [-1, 0, 0, 2]
    assert d.fps == 30.0 and d.num_frames == 3 and d.declared_frames == 3
    np.testing.assert_allclose(d.skeleton.offsets[1], [0, 0.1, 0])
    np.testing.assert_allclose(d.root_translation[1], [0.02, 0.91, 0.03])
    # End Sites become the tails of leaves; the root points at its first child
    np.testing.assert_allclose(d.skeleton.tails[1], [0, 0.2, 0])
    np.testing.assert_allclose(d.skeleton.tails[3], [0, 0, 0.15])
    np.testing.assert_allclose(d.skeleton.tails[2], [0, -0.4, 0])
    assert d.end_sites.keys() == {1, 3}
    assert d.channels[0] == ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation",
                             "Yrotation")
    assert d.rotation_orders() == ["ZXY"] * 4
    np.testing.assert_allclose(d.skeleton.rest_rotations, quat.identity((4,)))
    # frame 1: root rotated 90 degrees about Z: the spine (up, +Y) now points along -X
    _, pos = d.skeleton.fk(d.local_rotations, d.root_translation)
    np.testing.assert_allclose(pos[1, 1] - pos[1, 0], [-0.1, 0, 0], atol=1e-12)
    # frame 2: root 90 about X; knee (Foot joint... the Leg's child) rotated by Leg's 45 about X
    q = quat.from_euler(np.radians([0, 90, 0]), "ZXY")
    np.testing.assert_allclose(d.local_rotations[2, 0], q, atol=1e-12)


def test_euler_matches_quat_from_euler():
    rng = np.random.default_rng(1)
    a = rng.uniform(-4, 4, (20, 5, 3))
    for order in ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"):
        np.testing.assert_allclose(_euler_half_to_quat(a / 2, order), quat.from_euler(a, order),
                                   atol=1e-12)


def test_partial_rotation_channels_and_case():
    text = SMALL.replace("CHANNELS 3 Zrotation Xrotation Yrotation\n    End Site",
                         "CHANNELS 2 yrotation XROTATION\n    End Site", 1)
    lines = [" ".join(ln.split()[:6] + ln.split()[6:8] + ln.split()[9:]) for ln in _motion_lines()]
    d = read_bvh(_with_motion(lines).replace(SMALL.split("MOTION")[0],
                                             text.split("MOTION")[0]), scale=1)
    assert d.channels[1] == ("Yrotation", "Xrotation")
    assert d.rotation_orders()[1] == "YX"


def test_accepts_path_bytes_and_crlf(tmp_path):
    p = tmp_path / "walk.bvh"
    p.write_bytes(SMALL.replace("\n", "\r\n").encode())
    for src in (p, str(p), p.read_bytes()):
        d = read_bvh(src, scale=0.01)
        assert d.num_frames == 3
    assert read_bvh(p).name == "walk.bvh"


# ---------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("order", ["ZXY", "XYZ", "ZYX", "YZX"])
def test_round_trip_canonical(tmp_path, order):
    rng = np.random.default_rng(0)
    T = 25
    q = quat.normalize(rng.normal(size=(T, 22, 4)))
    rt = rng.normal(size=(T, 3))
    path = write_bvh(tmp_path / "c.bvh", CANONICAL, q, rt, 20.0, order=order)
    d = read_bvh(path)
    assert d.units == "cm" and d.fps == 20.0
    assert sorted(d.names) == sorted(CANONICAL.names)
    idx = [d.names.index(n) for n in CANONICAL.names]          # written depth-first
    _, p1 = CANONICAL.fk(q, rt)
    _, p2 = d.skeleton.fk(d.local_rotations, d.root_translation)
    np.testing.assert_allclose(p2[:, idx], p1, atol=1e-5)
    np.testing.assert_allclose(d.skeleton.tails[idx][[10, 11, 15, 20, 21]],
                               CANONICAL.tails[[10, 11, 15, 20, 21]], atol=1e-6)


def test_round_trip_depth_first_skeleton_keeps_order(tmp_path):
    d0 = read_bvh(SMALL, scale=0.01)
    path = write_bvh(tmp_path / "s.bvh", d0.skeleton, d0.local_rotations, d0.root_translation,
                     d0.fps, scale=1000.0)
    d = read_bvh(path, scale=0.001)
    assert d.names == d0.names
    _, p1 = d0.skeleton.fk(d0.local_rotations, d0.root_translation)
    _, p2 = d.skeleton.fk(d.local_rotations, d.root_translation)
    np.testing.assert_allclose(p2, p1, atol=1e-5)


def test_write_rejects_rotated_rest(tmp_path):
    sk = CANONICAL.copy()
    sk.rest_rotations[3] = quat.from_axis_angle([1, 0, 0], 0.3)
    with pytest.raises(ValueError, match="identity rest"):
        write_bvh(tmp_path / "x.bvh", sk, quat.identity((2, 22)), np.zeros((2, 3)), 30)


# ---------------------------------------------------------------------------- errors
def _err(text, **kw) -> str:
    with pytest.raises(BvhError) as e:
        read_bvh(text, scale=0.01, **kw)
    return str(e.value)


def test_error_truncated_file_and_non_strict():
    lines = _motion_lines()
    text = _with_motion(lines[:2], frames=3)
    msg = _err(text, name="cut.bvh")
    assert "cut.bvh" in msg and "truncated" in msg and "declares 3 frames" in msg
    assert "2 complete frames" in msg and "strict=False" in msg
    with pytest.warns(UserWarning, match="truncated"):
        d = read_bvh(text, scale=0.01, strict=False)
    assert d.num_frames == 2 and d.declared_frames == 3 and d.warnings
    # a cut-off final line is a truncation too, not a channel-count error
    text = _with_motion(lines[:2] + [" ".join(lines[2].split()[:5])], frames=3)
    assert "truncated" in _err(text)
    with pytest.warns(UserWarning):
        assert read_bvh(text, scale=0.01, strict=False).num_frames == 2


def test_error_channel_count_mismatch_names_line():
    lines = _motion_lines()
    lines[1] = lines[1] + " 7"
    text = _with_motion(lines)
    line_no = text.split("\n").index(lines[1]) + 1
    msg = _err(text, name="bad.bvh")
    assert line_no == 34 and msg.startswith(f"bad.bvh, line {line_no}:")
    assert "16 values, expected 15" in msg


def test_error_unknown_channel():
    text = SMALL.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 3 Zrotation "
                         "Xrotation Wrotation", 1)
    msg = _err(text, name="u.bvh")
    assert "u.bvh, line 9:" in msg and "unknown channel name 'Wrotation'" in msg


def test_error_channels_count_disagrees_with_names():
    text = SMALL.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 4 Zrotation "
                         "Xrotation Yrotation", 1)
    assert "CHANNELS says 4 channels but lists 3" in _err(text)


def test_error_missing_sections():
    assert "expected 'HIERARCHY'" in _err("ROOT x\n{\n}\n", name="n.bvh")
    assert "no MOTION section" in _err(SMALL.split("MOTION")[0], name="n.bvh")
    assert "empty file" in _err("   \n\n")


def test_error_non_numeric_value():
    lines = _motion_lines()
    parts = lines[2].split()
    parts[4] = "abc"
    msg = _err(_with_motion(lines[:2] + [" ".join(parts)]), name="nn.bvh")
    assert "nn.bvh, line 35:" in msg and "value 5" in msg and "'abc'" in msg
    assert "not a number" in msg


def test_error_zero_frames_and_bad_frame_time():
    assert "declares 0 frames" in _err(_with_motion([], frames=0))
    assert "bad Frame Time 'abc'" in _err(_with_motion(_motion_lines(), frame_time="abc"))
    assert "bad Frame Time '0'" in _err(_with_motion(_motion_lines(), frame_time="0"))
    assert "bad Frame Time '-0.1'" in _err(_with_motion(_motion_lines(), frame_time="-0.1"))
    assert "'Frame Time: <seconds>'" in _err(
        _with_motion(_motion_lines()).replace("Frame Time: 0.0333333\n", ""))
    assert "frame count 'x'" in _err(_with_motion(_motion_lines()).replace("Frames: 3",
                                                                          "Frames: x"))


def test_error_extra_lines_and_structure():
    lines = _motion_lines()
    msg = _err(_with_motion(lines + [lines[0]]))
    assert "declares 3 frames but the file has 4 motion lines" in msg
    with pytest.warns(UserWarning, match="keeping the declared frames"):
        d = read_bvh(_with_motion(lines + [lines[0]]), scale=0.01, strict=False)
    assert d.num_frames == 3
    assert "has no OFFSET" in _err(SMALL.replace("    OFFSET 0 10 0\n", "", 1))
    assert "'}' without a matching '{'" in _err(SMALL.replace("MOTION", "}\nMOTION"))
    assert "OFFSET needs 3 numbers" in _err(SMALL.replace("OFFSET 0 10 0", "OFFSET 0 ten 0"))


# ---------------------------------------------------------------------------- heuristics
def test_unit_guess():
    sk = CANONICAL
    for units, s in (("m", 1.0), ("cm", 100.0), ("inch", 1 / 0.0254), ("mm", 1000.0),
                     ("asf", 45 / 2.54)):
        scale, found = guess_scale(sk.parents, sk.offsets * s)
        assert found == units, (units, found, tree_diameter(sk.parents, sk.offsets * s))
        assert scale == pytest.approx(1 / s)


def test_root_position_relative_vs_absolute():
    # OFFSET carries the hip height and the channels are small (iClone writes this)
    rel = SMALL.replace("ROOT Hips\n{\n  OFFSET 0 0 0", "ROOT Hips\n{\n  OFFSET 0 40 0")
    lines = [" ".join(["0", "0.5", "0"] + ln.split()[3:]) for ln in _motion_lines()]
    lines = [" ".join(["0", "0.5", "0"] + ["0"] * 12)] * 3
    d = read_bvh(_with_motion(lines).replace(SMALL.split("MOTION")[0], rel.split("MOTION")[0]),
                 scale=0.01)
    assert d.root_position == "relative"
    np.testing.assert_allclose(d.root_translation[0], [0, 0.405, 0])
    # channels replace an unrelated OFFSET (Bandai writes this)
    ab = SMALL.replace("ROOT Hips\n{\n  OFFSET 0 0 0", "ROOT Hips\n{\n  OFFSET 3 95 -400")
    lines = [" ".join(["0", "40", "0"] + ["0"] * 12)] * 3
    d = read_bvh(_with_motion(lines).replace(SMALL.split("MOTION")[0], ab.split("MOTION")[0]),
                 scale=0.01)
    assert d.root_position == "absolute"
    np.testing.assert_allclose(d.root_translation[0], [0, 0.4, 0])
    d = read_bvh(_with_motion(lines).replace(SMALL.split("MOTION")[0], ab.split("MOTION")[0]),
                 scale=0.01, root_position="relative")
    np.testing.assert_allclose(d.root_translation[0], [0.03, 1.35, -4])


def test_static_carrier_root_is_collapsed():
    text = """HIERARCHY
ROOT joint_Root
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Hips
  {
    OFFSET 5 90 -300
    CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
    JOINT Spine
    {
      OFFSET 0 10 0
      CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 0 0
      }
    }
    JOINT Leg
    {
      OFFSET 0 -40 0
      CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 -40 0
      }
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
0 0 0 0 0 0 1 80 2 0 0 0 0 10 0 0 0 0 0 -40 0 0 0 0
0 0 0 0 0 0 2 81 3 0 0 0 0 12 0 0 0 0 0 -40 0 0 0 0
"""
    d = read_bvh(text, scale=0.01)
    assert d.removed_root == "joint_Root" and d.names == ["Hips", "Spine", "Leg"]
    np.testing.assert_allclose(d.root_translation, [[0.01, 0.8, 0.02], [0.02, 0.81, 0.03]])
    np.testing.assert_allclose(d.positions["Spine"][:, 1], [0.1, 0.12])
    # zero End Site: the leaf continues its bone at half length
    np.testing.assert_allclose(d.skeleton.tails[1], [0, 0.05, 0])
    assert any("move away from their OFFSET" in w for w in d.warnings)
    d = read_bvh(text, scale=0.01, collapse_root=False)
    assert d.names == ["joint_Root", "Hips", "Spine", "Leg"]
    # a root whose single child does not branch is not a carrier
    chain = ("HIERARCHY\nROOT A\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition "
             "Zrotation Xrotation Yrotation\n JOINT B\n {\n  OFFSET 0 10 0\n  CHANNELS 3 "
             "Zrotation Xrotation Yrotation\n  End Site\n  {\n   OFFSET 0 10 0\n  }\n }\n}\n"
             "MOTION\nFrames: 1\nFrame Time: 0.04\n0 0 0 0 0 0 0 0 0\n")
    d = read_bvh(chain, scale=0.01)
    assert d.removed_root is None and d.names == ["A", "B"] and d.fps == 25.0


def test_rebase_rest_is_exact_and_makes_the_bind_pose_zero():
    """A skeleton whose zero pose is not a body pose (every bone along +X, like Bandai-Namco's)
    rebased onto the pose of one of its frames: the same joint positions on every frame,
    identity rotations on that frame, world-aligned rest frames, offsets and End-Site tails
    turned into the new rest."""
    text = """HIERARCHY
ROOT Hips
{
  OFFSET 0 90 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 20 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 30 0 0
    }
  }
  JOINT Leg
  {
    OFFSET 0 0 10
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Shin
    {
      OFFSET 40 0 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 40 0 0
      }
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.0333333
0 90 0 90 0 0 0 0 0 -180 0 0 0 0 0
1 91 2 95 5 3 0 4 2 -170 10 0 30 0 0
2 90 4 100 -5 0 10 0 0 -190 0 5 60 0 0
"""
    d = read_bvh(text, scale=0.01)
    sk = d.skeleton
    rot, pos = sk.fk(d.local_rotations, d.root_translation)
    bind = rot[0]                          # frame 0: spine up, legs down
    sk2, q2 = rebase_rest(sk, d.local_rotations, bind, d.end_sites)
    rot2, pos2 = sk2.fk(q2, d.root_translation)
    np.testing.assert_allclose(pos2, pos, atol=1e-12)
    np.testing.assert_allclose(np.abs(q2[0, :, 0]), 1.0, atol=1e-12)     # frame 0 is the rest
    assert np.allclose(sk2.rest_rotations, quat.identity((len(sk2),)))
    _, rest = sk2.rest_world()
    np.testing.assert_allclose(rest[sk2.index("Spine")] - rest[0], [0, 0.2, 0], atol=1e-12)
    np.testing.assert_allclose(rest[sk2.index("Shin")] - rest[sk2.index("Leg")], [0, -0.4, 0],
                               atol=1e-12)
    np.testing.assert_allclose(sk2.tails[sk2.index("Shin")], [0, -0.4, 0], atol=1e-12)
    np.testing.assert_allclose(sk2.tails[sk2.index("Spine")], [0, 0.3, 0], atol=1e-12)
    # bone tails move with the bones (without end_sites: the old tails, turned)
    t1 = pos + quat.rotate(rot, sk.tails[None])
    sk3, q3 = rebase_rest(sk, d.local_rotations, bind)
    rot3, pos3 = sk3.fk(q3, d.root_translation)
    np.testing.assert_allclose(pos3 + quat.rotate(rot3, sk3.tails[None]), t1, atol=1e-12)
    # identity bind rotations change nothing
    sk4, q4 = rebase_rest(sk, d.local_rotations, quat.identity((len(sk),)))
    np.testing.assert_allclose(q4, d.local_rotations, atol=1e-12)
    np.testing.assert_allclose(sk4.offsets, sk.offsets)
    with pytest.raises(ValueError):
        rebase_rest(sk, d.local_rotations, quat.identity((2,)))


def test_speed_sanity():
    """Not a timed assert: just exercises a 10 s, 30 fps, 22-joint file."""
    rng = np.random.default_rng(0)
    T = 300
    q = quat.normalize(rng.normal(size=(T, 22, 4)))
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = write_bvh(Path(tmp) / "ten_seconds.bvh", CANONICAL, q, rng.normal(size=(T, 3)), 30)
        t0 = time.perf_counter()
        d = read_bvh(path)
        elapsed = time.perf_counter() - t0
    assert d.num_frames == T
    print(f"read_bvh 300 frames x 22 joints: {elapsed * 1000:.1f} ms")


# ---------------------------------------------------------------------------- real files
def _member(archive: Path, member: str, tmp_path: Path) -> Path:
    import tarfile
    if not archive.exists():
        pytest.skip(f"{archive} not available")
    with tarfile.open(archive, "r:xz") as tf:
        f = tf.extractfile(member)
        out = tmp_path / Path(member).name
        out.write_bytes(f.read())
    return out


_REAL = {
    # skeleton type: (archive under /work/shared/data, member)
    "bandai-namco": ("bandai-namco/dataset-1.tar.xz", None),   # None: the first .bvh member
    "cgspeed-daz-43j": ("cmu/przestr-motion-capture.tar.xz", "data/02/02_01.bvh"),
    "cmu-asf-31j": ("cmu/przestr-motion-capture.tar.xz", "data/16/16_01.bvh"),
    "iclone-cc3-100j": ("cmu/iclone-cmu-mocap.tar.xz", "All_BVH/subjects/002/002_05.bvh"),
    "iclone-cc3-101j": ("cmu/iclone-cmu-mocap.tar.xz", "All_BVH/subjects/002/002_01.bvh"),
}


@pytest.fixture(scope="module")
def real_files(tmp_path_factory):
    """One real BVH per skeleton type, pulled out of the shared archives (one pass each)."""
    import tarfile
    out = {}
    tmp = tmp_path_factory.mktemp("real_bvh")
    by_archive: dict = {}
    for kind, (archive, member) in _REAL.items():
        by_archive.setdefault(archive, []).append((kind, member))
    for archive, wanted in by_archive.items():
        path = DATA / archive
        if not path.exists():
            continue
        todo = dict((m, k) for k, m in wanted)
        with tarfile.open(path, "r:xz") as tf:
            for info in tf:
                if not info.name.endswith(".bvh"):
                    continue
                kind = todo.pop(info.name, None)
                if kind is None and None in todo:
                    kind = todo.pop(None)
                if kind is None:
                    continue
                dest = tmp / f"{kind}.bvh"
                dest.write_bytes(tf.extractfile(info).read())
                out[kind] = dest
                if not todo:
                    break
    return out


@pytest.mark.parametrize("kind,units,fps,joints,removed,mode", [
    ("bandai-namco", "cm", 30.0, 21, "joint_Root", "absolute"),
    ("cgspeed-daz-43j", "cm", 120.0, 43, None, "absolute"),
    ("cmu-asf-31j", "asf", 30.0, 31, None, "absolute"),   # header says 30; truly 120
    ("iclone-cc3-100j", "cm", 60.0, 100, None, "relative"),
    ("iclone-cc3-101j", "cm", 60.0, 100, "RL_BoneRoot", "absolute"),
])
def test_real_file(real_files, kind, units, fps, joints, removed, mode):
    if kind not in real_files:
        pytest.skip(f"{_REAL[kind][0]} not available under {DATA}")
    d = read_bvh(real_files[kind])
    assert d.units == units and d.fps == fps and len(d.skeleton) == joints
    assert d.removed_root == removed and d.root_position == mode
    assert not d.warnings
    np.testing.assert_allclose(d.skeleton.rest_rotations, quat.identity((joints,)))
    _, pos = d.skeleton.fk(d.local_rotations, d.root_translation)
    up = pos[..., 1]
    height = np.median(up.max(axis=1) - up.min(axis=1))
    assert 1.0 < height < 2.0, height                          # a person, in metres, Y-up
    assert -0.1 < np.percentile(up.min(axis=1), 5) < 0.2      # feet near the floor
    # every joint has a bone direction (tails), leaves included, except zero-length helper
    # leaves (iClone's Knee/ElbowShareBone)
    no_dir = [n for j, n in enumerate(d.names) if np.linalg.norm(d.skeleton.tails[j]) == 0]
    assert all("ShareBone" in n for n in no_dir), no_dir
