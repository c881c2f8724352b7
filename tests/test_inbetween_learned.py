"""The learned in-betweener (backend/models/editing/{config,data,model,train,learned}.py):
exact pass-through of known frames, invariance to where the character stands and faces,
long gaps, other frame rates, training that lowers the loss and resumes, checkpoint round
trip and clear errors; and the shipped checkpoint beats slerp on held-out windows."""
import numpy as np
import pytest
import torch

from backend.data.library import DEFAULT_LIBRARY, MotionLibrary
from backend.models.editing import evaluate as E
from backend.models.editing.config import InbetweenConfig, InbetweenConfigError
from backend.models.editing.data import load_clips
from backend.models.editing.inbetween import slerp_fill
from backend.models.editing.learned import (DEFAULT_CHECKPOINT, InbetweenCheckpointError,
                                            learned_fill, load_inbetweener, save_inbetweener)
from backend.models.editing.model import Inbetweener
from backend.models.editing.train import train
from backend.motion import quat
from backend.motion.clip import Clip
from backend.motion.resample import resample
from backend.motion.skeleton import Skeleton

TINY = InbetweenConfig(context=4, max_gap=12, d_model=32, layers=1, heads=2, ff_mult=2)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread: on a busy 2-core machine more threads make backward ~30x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def walk():
    lib = MotionLibrary.load(DEFAULT_LIBRARY)
    i = next(i for i, e in enumerate(lib.entries) if e.captions and e.captions[0] == "walk")
    return resample(lib.clip(i), 30).slice(0, 61)


@pytest.fixture(scope="module")
def tiny_model():
    """An untrained tiny network whose output layer is randomised (a zero output layer
    would make it exactly the interpolation)."""
    torch.manual_seed(0)
    m = Inbetweener(TINY)
    torch.nn.init.normal_(m.out.weight, std=0.05)
    return m.eval()


def _same_on(a, b, frames):
    return (np.array_equal(a.local_rotations[frames], b.local_rotations[frames]) and
            np.array_equal(a.root_translation[frames], b.root_translation[frames]))


def test_fill_shapes_and_exact_known_frames(tiny_model, walk):
    known = [0, 3, 4, 5, 20, 27, 40]
    before = walk.local_rotations.copy()
    out = learned_fill(tiny_model, walk, known)
    assert out.local_rotations.shape == walk.local_rotations.shape
    assert out.root_translation.shape == walk.root_translation.shape
    assert _same_on(out, walk, known)                      # bit-identical
    assert np.array_equal(walk.local_rotations, before)    # input untouched
    assert out.meta["inbetween"] == "learned"
    # Frames after the last key are held, like slerp_fill.
    assert np.allclose(out.local_rotations[41:], walk.local_rotations[40:41], atol=1e-12)
    # The network changed the gaps (it is not the slerp baseline) and stayed unit-length.
    slerp = slerp_fill(walk, known)
    assert np.abs(out.root_translation[6:20] - slerp.root_translation[6:20]).max() > 1e-4
    assert np.allclose(np.linalg.norm(out.local_rotations, axis=-1), 1.0, atol=1e-9)


def _turn_and_shift(clip, yaw, shift):
    turn = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.array(yaw))
    rots = clip.local_rotations.copy()
    rots[:, 0] = quat.mul(np.broadcast_to(turn, rots[:, 0].shape), rots[:, 0])
    root = quat.rotate(np.broadcast_to(turn, clip.root_translation.shape[:1] + (4,)),
                       clip.root_translation) + shift
    return Clip(rots, root, clip.fps, clip.skeleton, dict(clip.meta))


def test_invariant_to_position_and_heading(tiny_model, walk):
    known = list(range(4)) + [16, 30]
    yaw, shift = 2.1, np.array([3.0, -7.5, 0.25])
    out = learned_fill(tiny_model, walk, known)
    moved = learned_fill(tiny_model, _turn_and_shift(walk, yaw, shift), known)
    expect = _turn_and_shift(out, yaw, shift)
    assert np.abs(moved.positions() - expect.positions()).max() < 1e-4


def test_long_gap_is_chunked_and_other_fps_works(tiny_model, walk):
    long = learned_fill(tiny_model, walk, [0, 60])         # 59 missing > max_gap 12
    assert _same_on(long, walk, [0, 60])
    assert np.isfinite(long.positions()).all()
    assert np.abs(long.root_translation - slerp_fill(walk, [0, 60]).root_translation).max() > 1e-4
    at24 = resample(walk, 24)
    out = learned_fill(tiny_model, at24, [0, 5, 30, 47])
    assert out.num_frames == at24.num_frames and out.fps == 24
    assert _same_on(out, at24, [0, 5, 30, 47])


def test_bad_input_is_refused(tiny_model, walk):
    with pytest.raises(ValueError, match="at least two known"):
        learned_fill(tiny_model, walk, [5])
    with pytest.raises(ValueError, match="must lie in 0..60"):
        learned_fill(tiny_model, walk, [0, 61])
    with pytest.raises(ValueError, match="must lie in"):
        learned_fill(tiny_model, walk, [-1, 10])
    sk = Skeleton(["a", "b"], [-1, 0], np.zeros((2, 3)))
    other = Clip(quat.identity((5, 2)), np.zeros((5, 3)), 30.0, sk)
    with pytest.raises(ValueError, match="canonical"):
        learned_fill(tiny_model, other, [0, 4])
    with pytest.raises(InbetweenConfigError, match="heads"):
        InbetweenConfig(d_model=30, heads=4)


def test_training_lowers_the_loss_resumes_and_round_trips(tmp_path, walk):
    clips = load_clips(("train",), mirror=False)[:12]
    state = tmp_path / "state.pt"
    logs = []
    st = train(TINY, state, steps=60, minutes=5, batch=16, lr=3e-3, eval_every=20,
               clips=clips, val_clips=clips[:3], warmup=5, log=lambda *a, **k: logs.append(a))
    losses = [h["loss"] for h in st["history"]]
    assert st["step"] == 60 and losses[-1] < losses[0]
    assert "val_ratio_5" in st["history"][-1]
    st2 = train(TINY, state, steps=70, minutes=5, batch=16, lr=3e-3, eval_every=20,
                clips=clips, val_clips=None, warmup=5, log=lambda *a, **k: logs.append(a))
    assert st2["step"] == 70 and "resumed" in str(logs)
    model = Inbetweener(TINY)
    model.load_state_dict(st2["ema"])
    path = save_inbetweener(model, tmp_path / "ib.pt", {"licence": "CMU", "commercial_ok": True},
                            {"steps": 70})
    loaded = load_inbetweener(path)
    assert loaded.meta["licence"] == "CMU" and loaded.config == TINY
    known = [0, 1, 2, 3, 20]
    a = learned_fill(model.eval(), walk, known)
    b = learned_fill(loaded, walk, known)
    assert np.array_equal(a.local_rotations, b.local_rotations)


def test_bad_checkpoints_give_clear_errors(tmp_path):
    with pytest.raises(InbetweenCheckpointError, match="not found"):
        load_inbetweener(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InbetweenCheckpointError, match="not a readable"):
        load_inbetweener(junk)
    other = tmp_path / "other.pt"
    torch.save({"format": "something-else"}, other)
    with pytest.raises(InbetweenCheckpointError, match="not an Anima in-betweening"):
        load_inbetweener(other)
    wrong = tmp_path / "wrong.pt"
    save_inbetweener(Inbetweener(TINY), wrong, {}, {})
    ck = torch.load(wrong, weights_only=True)
    ck["config"]["d_model"] = 64
    torch.save(ck, wrong)
    with pytest.raises(InbetweenCheckpointError, match="does not match"):
        load_inbetweener(wrong)


@pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(), reason="shipped checkpoint not built")
def test_shipped_checkpoint_beats_slerp_on_held_out_windows():
    model = load_inbetweener()
    assert model.meta["licence"] and "commercial_ok" in model.meta and model.meta["attribution"]
    clips = E.held_out_clips()[:6]
    ratios = []
    for gap in (15, 30):
        ours, base = [], []
        for _, clip in clips:
            L = E.CONTEXT + gap + 1
            for s0 in range(0, clip.num_frames - L + 1, E.WINDOW_HOP)[:2]:
                w = clip.slice(s0, s0 + L)
                known = list(range(E.CONTEXT)) + [L - 1]
                missing = list(range(E.CONTEXT, E.CONTEXT + gap))
                made = learned_fill(model, w, known)
                assert _same_on(made, w, known)
                ours.append(E.errors(made, w, missing)[0])
                base.append(E.errors(slerp_fill(w, known), w, missing)[0])
        ratios.append(np.mean(ours) / np.mean(base))
    assert max(ratios) < 0.9, ratios


def test_evaluation_reports_the_learned_row_and_the_best_ratio(tiny_model):
    res = E.evaluate(None, windows_per_clip=1, inbetweener=tiny_model, log=lambda *a: None)
    line = E.summary_line(res)
    for gap in E.GAPS:
        assert res[f"learned_l2p_ratio_{gap}"] == pytest.approx(
            res[f"learned_l2p_{gap}"] / res[f"slerp_l2p_{gap}"])
        assert res[f"l2p_ratio_{gap}"] == res[f"learned_l2p_ratio_{gap}"]   # the only filler
        assert f"l2p_ratio_{gap}=" in line and f"learned_l2p_ratio_{gap}=" in line
    only_slerp = E.evaluate(None, windows_per_clip=1, log=lambda *a: None)
    assert only_slerp["l2p_ratio_5"] == 1.0 and only_slerp["best_5"] == "slerp"
