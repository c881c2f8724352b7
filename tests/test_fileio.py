"""Atomic writes: a failed write never replaces a good file (backend/fileio.py and its users)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from backend import fileio
from backend.motion.bvh import read_bvh, write_bvh
from backend.motion.clip import Clip
from backend.motion.skeleton import CANONICAL

REPO = Path(__file__).resolve().parents[1]


def _clip(frames: int = 30) -> Clip:
    rotations = np.zeros((frames, len(CANONICAL), 4))
    rotations[..., 0] = 1.0
    root = np.zeros((frames, 3))
    root[:, 1] = np.linspace(0, 1, frames)
    return Clip(rotations, root, 30.0)


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    fileio.write_text(target, "good\n")
    with pytest.raises(RuntimeError):
        with fileio.atomic_write(target, "w") as f:
            f.write("half")
            raise RuntimeError("writer failed")
    assert target.read_text() == "good\n"
    assert fileio.leftover_temp_files(tmp_path) == []


def test_atomic_write_keeps_permissions(tmp_path):
    target = tmp_path / "out.bin"
    fileio.write_bytes(target, b"1")
    os.chmod(target, 0o640)
    fileio.write_bytes(target, b"2")
    assert target.read_bytes() == b"2" and (target.stat().st_mode & 0o777) == 0o640


@pytest.mark.parametrize("bad, fragment", [
    ("folder", "it is a folder"),
    ("missing/out.npz", "does not exist"),
])
def test_bad_targets_are_named(tmp_path, bad, fragment):
    (tmp_path / "folder").mkdir()
    with pytest.raises(fileio.WriteError) as e:
        fileio.write_bytes(tmp_path / bad, b"x")
    assert fragment in str(e.value) and str(tmp_path) in str(e.value)


def test_read_only_folder_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(fileio.WriteError, match="cannot write"):
            fileio.write_text(folder / "x.txt", "x")
    finally:
        folder.chmod(0o700)


_FULL_DISK = textwrap.dedent("""
    import resource, sys
    import numpy as np
    sys.path.insert(0, {repo!r})
    from backend.motion.bvh import write_bvh
    from backend.motion.clip import Clip
    from backend.motion.skeleton import CANONICAL
    frames = 3000
    rot = np.zeros((frames, len(CANONICAL), 4)); rot[..., 0] = 1.0
    rot[:, 1:, 1] = np.random.default_rng(0).normal(size=(frames, len(CANONICAL) - 1)) * 0.1
    clip = Clip(rot / np.linalg.norm(rot, axis=-1, keepdims=True), np.zeros((frames, 3)), 30.0)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))   # like `ulimit -f`
    try:
        if sys.argv[1] == "bvh":
            write_bvh(sys.argv[2], clip.skeleton, clip.local_rotations, clip.root_translation,
                      30.0)
        else:
            clip.save_npz(sys.argv[2])
    except OSError as e:
        print("ERROR", e)
        sys.exit(2)
""")


@pytest.mark.parametrize("kind", ["bvh", "npz"])
def test_a_full_disk_leaves_the_old_file(tmp_path, kind):
    """`ulimit -f` makes the write fail half way: the good file stays, no temp file stays."""
    target = tmp_path / f"motion.{kind}"
    clip = _clip()
    if kind == "bvh":
        write_bvh(target, clip.skeleton, clip.local_rotations, clip.root_translation, clip.fps)
    else:
        clip.save_npz(target)
    before = target.read_bytes()
    out = subprocess.run([sys.executable, "-c", _FULL_DISK.format(repo=str(REPO)), kind,
                          str(target)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert "cannot write" in out.stdout and "left unchanged" in out.stdout
    assert target.read_bytes() == before
    assert fileio.leftover_temp_files(tmp_path) == []
    if kind == "bvh":
        assert read_bvh(target).local_rotations.shape[0] == 30
    else:
        assert Clip.load_npz(target).num_frames == 30


def test_no_empty_or_nan_clip_is_written(tmp_path):
    clip = _clip()
    clip.local_rotations[5, 3] = np.nan
    with pytest.raises(ValueError, match="non-finite rotations .* from frame 5"):
        clip.save_npz(tmp_path / "nan.npz")
    with pytest.raises(ValueError, match="no frames"):
        _clip(0).save_npz(tmp_path / "empty.npz")
    with pytest.raises(ValueError, match="non-finite"):
        write_bvh(tmp_path / "nan.bvh", clip.skeleton, clip.local_rotations,
                  clip.root_translation, clip.fps)
    assert list(tmp_path.iterdir()) == []
