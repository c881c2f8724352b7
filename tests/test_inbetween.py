"""In-betweening on canonical clips (backend/models/editing/inbetween.py): both fillers pass
exactly through every known pose, fill continuously, and refuse bad input; the LAFAN1-style
evaluation runs end to end (its figures: docs/editing.md)."""
import numpy as np
import pytest

from backend.data.library import DEFAULT_LIBRARY, MotionLibrary
from backend.models.editing import evaluate as E
from backend.models.editing.inbetween import model_fill, pass_through, slerp_fill
from backend.motion import quat
from backend.motion.resample import resample


@pytest.fixture(scope="module")
def walk():
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    i = next(i for i, e in enumerate(lib.entries) if e.captions and e.captions[0] == "walk")
    return resample(lib.clip(i), 30).slice(0, 51)


KNOWN = list(range(10)) + [30, 50]


def _same_on(a, b, frames):
    return (np.abs(a.local_rotations[frames] - b.local_rotations[frames]).max() == 0 and
            np.abs(a.root_translation[frames] - b.root_translation[frames]).max() == 0)


def test_slerp_fill_passes_through_and_interpolates(walk):
    out = slerp_fill(walk, KNOWN)
    assert _same_on(out, walk, KNOWN)
    mid = quat.slerp(walk.local_rotations[30], walk.local_rotations[50],
                     np.full(len(walk.skeleton), 0.5))
    assert np.allclose(quat.abs_w(out.local_rotations[40]), quat.abs_w(mid), atol=1e-9)
    assert np.allclose(out.root_translation[40],
                       0.5 * (walk.root_translation[30] + walk.root_translation[50]))


def test_pass_through_is_exact_and_smooth(walk):
    rng = np.random.default_rng(0)
    noisy = walk.slice(0, walk.num_frames)
    turn = quat.from_axis_angle(rng.normal(size=(walk.num_frames, 22, 3)),
                                np.full((walk.num_frames, 22), 0.2))
    noisy.local_rotations = quat.mul(turn, walk.local_rotations)
    noisy.root_translation = walk.root_translation + 0.1
    out = pass_through(noisy, walk, KNOWN)
    assert _same_on(out, walk, KNOWN)
    # The correction changes smoothly between keys: no step larger than the noise itself.
    step = np.linalg.norm(np.diff(out.root_translation, axis=0), axis=-1)
    assert step.max() < np.linalg.norm(np.diff(walk.root_translation, axis=0), axis=-1).max() \
        + 0.01


def test_model_fill_passes_through_known_poses(walk):
    from backend.models.text2motion import config as C
    from backend.models.text2motion.sample import random_generator
    gen = random_generator(C.preset("tiny").model)
    out = model_fill(gen, walk, KNOWN, text="a person walks", seed=1, steps=2)
    assert out.num_frames == walk.num_frames and out.fps == walk.fps
    assert _same_on(out, walk, KNOWN)
    assert np.all(np.isfinite(out.local_rotations)) and np.all(np.isfinite(out.root_translation))


@pytest.mark.parametrize("known,match", [([3], "at least two"), ([0, 99], "must lie")])
def test_bad_known_frames(walk, known, match):
    with pytest.raises(ValueError, match=match):
        slerp_fill(walk, known)


def test_errors_are_zero_on_the_truth(walk):
    assert E.errors(walk, walk, list(range(10, 20))) == (0.0, 0.0)
    assert len(E.held_out_clips()) > 5          # the test split of the shipped library
