"""Left/right mirroring of canonical clips and captions (numpy only, fast)."""
import numpy as np
import pytest

from backend.data.library import DEFAULT_LIBRARY, MotionLibrary
from backend.motion import quat
from backend.motion.clip import Clip
from backend.motion.mirror import (SWAP, mirror_caption, mirror_clip, mirror_label,
                                   mirror_positions)
from backend.motion.skeleton import CANONICAL, LEFT_RIGHT_PAIRS


@pytest.fixture(scope="module")
def real_clip():
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    # a walk and a dance: asymmetric motion, translation and turns
    i = next(i for i, e in enumerate(lib.entries) if e.labels.get("description") == "salsa dance")
    return lib.clip(i).slice(0, 120)


def random_clip(T=40, seed=0):
    rng = np.random.default_rng(seed)
    rots = quat.normalize(rng.normal(size=(T, 22, 4)))
    root = rng.normal(size=(T, 3))
    return Clip(rots, root, 30.0, CANONICAL.copy(), {"caption": "a person turns left"})


def test_canonical_skeleton_is_symmetric():
    _, pos = CANONICAL.rest_world()
    assert np.allclose(mirror_positions(pos), pos, atol=1e-12)
    for a, b in LEFT_RIGHT_PAIRS:
        assert CANONICAL.names[a].replace("left", "right") == CANONICAL.names[b]


@pytest.mark.parametrize("which", ["random", "real"])
def test_mirrored_fk_is_reflected_and_swapped(which, real_clip):
    clip = random_clip() if which == "random" else real_clip
    m = mirror_clip(clip)
    expected = clip.positions()[:, SWAP] * np.array([-1.0, 1.0, 1.0])
    assert np.abs(m.positions() - expected).max() < 1e-9
    assert m.meta["mirrored"] is True


def test_mirror_twice_is_identity(real_clip):
    for clip in (random_clip(seed=3), real_clip):
        mm = mirror_clip(mirror_clip(clip))
        assert np.array_equal(mm.local_rotations, clip.local_rotations)
        assert np.array_equal(mm.root_translation, clip.root_translation)
        assert mm.meta.get("mirrored") is False
        assert mm.meta.get("caption") == clip.meta.get("caption")


def test_mirror_rejects_other_skeletons():
    sk = CANONICAL.subset(list(range(12)))
    clip = Clip(quat.identity((3, 12)), np.zeros((3, 3)), 30.0, sk)
    with pytest.raises(ValueError):
        mirror_clip(clip)


@pytest.mark.parametrize("src,dst", [
    ("a person waves the left hand", "a person waves the right hand"),
    ("Left foot forward, then RIGHT", "Right foot forward, then LEFT"),
    ("turns clockwise", "turns counterclockwise"),
    ("turns counterclockwise", "turns clockwise"),
    ("spins anticlockwise", "spins clockwise"),
    ("spins counter-clockwise", "spins clockwise"),
    ("steps leftward then rightwards", "steps rightward then leftwards"),
    ("a left-handed throw", "a right-handed throw"),
    ("he left the leftovers; brightly", "he right the leftovers; brightly"),  # whole words only
    ("walks forward", "walks forward"),
])
def test_mirror_caption(src, dst):
    assert mirror_caption(src) == dst


def test_mirror_caption_round_trip_and_labels():
    s = "a person turns left, then right, waving the Left hand"
    assert mirror_caption(mirror_caption(s)) == s
    assert mirror_label("wave-left-hand") == "wave-right-hand"
    assert mirror_label("walk-turn-right") == "walk-turn-left"
    assert mirror_label("raise-up-both-hands") == "raise-up-both-hands"
    assert mirror_label(None) is None
