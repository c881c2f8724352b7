"""A thin style's layer on the generated motion (backend/models/text2motion/style_layer.py):
the shipped layer, what it moves and keeps, its re-timing, and the generator applying it,
with the real starter generator."""
import pickle
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("torch")

from backend.models.text2motion import style_layer as SL  # noqa: E402
from backend.models.text2motion.keep import Keep  # noqa: E402
from backend.models.text2motion.sample import load_generator  # noqa: E402
from backend.models.text2motion.takes import weaker_texts  # noqa: E402
from backend.motion import humanml3d as H  # noqa: E402
from backend.eval.metrics import jerk  # noqa: E402
from backend.motion import quat  # noqa: E402
from backend.motion.cleanup import clean_features, fuse_velocities  # noqa: E402
from backend.motion.joints import LEFT_LEG, RIGHT_LEG  # noqa: E402
from backend.text.snap import Blend, conditioning_caption  # noqa: E402

HEAD = SL._J["head"]
LEGS = (0,) + LEFT_LEG + RIGHT_LEG


@pytest.fixture(scope="module")
def gen():
    return load_generator("starter")


@pytest.fixture(scope="module")
def walk(gen):
    return gen.generate(["a person walks forward"], [3.0], [0])[0]


def _head_pitch(carriage):
    """The head bone's rest direction (up) after the carriage, heading frame (Y up, +Z
    forward)."""
    return quat.rotate(carriage[HEAD - 1], np.array([0.0, 1.0, 0.0]))


def test_the_shipped_layer_holds_every_style_with_sane_values():
    layers = SL.load()
    assert {"sad", "proud", "elderly", "exhausted", "happy", "angry", "not-confident",
            "active", "feminine", "masculine", "youthful"} <= set(layers)
    for style, v in layers.items():
        assert v["carriage"].shape == (21, 4) and v["amplitude"].shape == (21,)
        assert SL.TEMPO_RANGE[0] <= v["tempo"] <= SL.TEMPO_RANGE[1], style
        assert np.all(v["amplitude"] > 0.2) and np.all(v["amplitude"] < 5), style
    # sad, old and unconfident people drop the head forward; they move slower than active
    for style in ("sad", "elderly", "not-confident"):
        up = _head_pitch(layers[style]["carriage"])
        assert up[1] < np.cos(np.radians(10)) and up[2] > 0.15, (style, up)
        assert layers[style]["tempo"] < 0.9 < layers["active"]["tempo"], style


def test_the_layer_moves_the_upper_body_and_keeps_legs_root_and_contacts(walk):
    g = SL.apply(walk, "walk", "sad", frames=len(walk))
    assert g.shape == walk.shape
    # the layer starts from the positions the clean-up would (velocities fused in)
    a, b = fuse_velocities(walk), H.recover_joints(g)
    np.testing.assert_allclose(b[:, LEGS], a[:, LEGS], atol=2e-3)
    np.testing.assert_array_equal(g[:, H.FOOT_CONTACT], np.round(walk[:, H.FOOT_CONTACT]))
    heading = H.heading_rotations(a)
    forward = quat.rotate(heading, b[:, HEAD] - a[:, HEAD]).mean(0)     # +Z: forward
    assert forward[2] > 0.05 and forward[1] < 0, forward        # sad stoops
    proud = H.recover_joints(SL.apply(walk, "walk", "proud", frames=len(walk)))
    # and adds no jerk of its own (re-derived features lose the model's velocities)
    ident = {"x": {"carriage": np.tile(quat.identity(), (21, 1)), "amplitude": np.ones(21),
                   "tempo": 1.0}}
    same = SL.apply(walk, "walk", "x", layers=ident)
    assert jerk(H.recover_joints(clean_features(same)), 20) < \
        1.02 * jerk(H.recover_joints(clean_features(walk)), 20)
    assert quat.rotate(heading, proud[:, HEAD] - a[:, HEAD]).mean(0)[2] < -0.03   # head up, back
    # nothing for a style without a layer or at no strength
    np.testing.assert_array_equal(SL.apply(walk, "walk", "zany"), walk)
    np.testing.assert_array_equal(SL.apply(walk, "walk", "sad", strength=0.0), walk)


def test_the_style_re_times_the_clip_unless_a_length_is_asked(walk):
    slow = SL.apply(walk, "walk", "sad")
    fast = SL.apply(walk, "walk", "active")
    assert len(slow) == round(len(walk) / SL.tempo("sad"))
    assert len(fast) == round(len(walk) / SL.tempo("active")) < len(walk) < len(slow)
    half = SL.apply(walk, "walk", "sad", strength=0.5)
    assert len(walk) < len(half) < len(slow)


def test_arms_that_are_the_action_keep_their_motion(walk):
    """A wave's arms are the wave: only the carriage bones move; a walk's arms take the
    style's carriage too."""
    a = H.recover_joints(walk)

    def arm_bones(f):
        j = fuse_velocities(f) if f is walk else H.recover_joints(f)
        return np.stack([j[:, c] - j[:, SL.CANONICAL_PARENTS[c]] for c in SL.ARMS], 1)

    wave = SL.apply(walk, "wave-right-hand", "sad", frames=len(walk))
    np.testing.assert_allclose(arm_bones(wave), arm_bones(walk), atol=2e-3)
    styled = SL.apply(walk, "walk", "sad", frames=len(walk))
    assert np.abs(arm_bones(styled) - arm_bones(walk)).max() > 0.02
    assert a.shape == H.recover_joints(wave).shape


def test_the_generator_lays_a_thin_styles_layer_at_the_asked_length(gen):
    text = conditioning_caption("bow", "sad")
    assert isinstance(text, Blend) and text.layer == ("bow", "sad", 1.0)
    out = gen.generate([text], [4.0], [3])[0]
    assert len(out) == 80
    plain = Blend(str(text), text.base, text.weight)          # the same caption, no layer
    made = round(80 * SL.tempo("sad", action="bow"))          # slower: a shorter clip ...
    raw = gen.generate([plain], [made / 20], [3])[0]
    assert len(raw) == made < 80
    np.testing.assert_allclose(out, SL.apply(raw, "bow", "sad", frames=80), atol=1e-5)
    # ... stretched to the asked length; a predicted length is kept as well
    assert len(gen.generate([text], [None], [3])[0]) == len(gen.generate([plain], [None], [3])[0])
    # a kept edit is never touched
    assert SL.apply_layers([text], [raw], [80], [Keep(raw[:10])])[0] is raw
    # a rich style (the model saw it often) is conditioned as it is, without a layer
    assert getattr(conditioning_caption("walk", "elderly"), "layer", None) is None


def test_the_layer_travels_with_the_blend_and_a_weaker_take_halves_it():
    text = conditioning_caption("bow", "proud")
    assert pickle.loads(pickle.dumps(text)).layer == text.layer
    weaker = weaker_texts([text], ["bow"])[0]
    assert weaker.layer == ("bow", "proud", 0.5) and weaker.weight == text.weight * 0.5


def test_fit_recovers_a_known_carriage_from_labelled_items(walk):
    """Items of a made-up style that are the neutral items with the head pitched 20 degrees
    forward: the fitted carriage of the head is that pitch, amplitude and tempo about 1."""
    pitch = np.array([np.cos(np.radians(10)), np.sin(np.radians(10)), 0.0, 0.0])  # 20° about X
    carriage = np.tile(quat.identity(), (21, 1))
    carriage[HEAD - 1] = pitch
    made = {"x": {"carriage": carriage, "amplitude": np.ones(21), "tempo": 1.0}}
    styled = SL.apply(walk, "walk", "x", layers=made)
    # the neutral item through the same path with nothing laid on (velocities fused in)
    plain = SL.apply(walk, "walk", "x", layers={"x": dict(made["x"], carriage=np.tile(
        quat.identity(), (21, 1)))})

    def item(f, style):
        return SimpleNamespace(features=f, labels={"action": "walk", "style": style},
                               split="train")

    fitted = SL.fit([item(plain, "normal"), item(styled, "x")])["x"]
    got = quat.rotate(fitted["carriage"][HEAD - 1], np.array([0.0, 1.0, 0.0]))
    want = quat.rotate(pitch, np.array([0.0, 1.0, 0.0]))
    assert np.degrees(np.arccos(np.clip(got @ want, -1, 1))) < 2.0
    assert abs(fitted["amplitude"][HEAD - 1] - 1.0) < 0.1
    assert abs(fitted["tempo"] - 1.0) < 0.1


def test_the_user_is_told_what_was_laid_on(walk):
    """The job's note says which style was laid on which parts, and how much slower."""
    assert SL.tempo("sad", action="dash") == 1.0 and SL.tempo("sad", action="bow") < 0.9
    note = SL.note(("bow", "sad", 1.0))
    assert "sad 'bow'" in note and "arms" in note and "slower" in note
    assert "arms" not in SL.note(("wave-right-hand", "proud", 1.0))
    assert SL.note(None) is None and SL.note(("bow", "zany", 1.0)) is None


def test_runs_and_dashes_get_no_layer(gen):
    """Their pace and arm swing are the action: none of the layer, and no note."""
    run = gen.generate(["a person runs forward"], [2.0], [1])[0]
    np.testing.assert_array_equal(SL.apply(run, "run", "happy"), run)
    assert SL.note(("dash", "sad", 1.0)) is None
    assert SL.layered_rows([Blend("x", "y", 0.85, layer=("run", "sad", 1.0))], [40],
                           None) == [40]


def test_the_generate_job_lays_the_layer_and_says_so(tmp_path):
    from backend.jobs import JOBS, JobContext
    from backend.models.text2motion import job  # noqa: F401 - registers "generate"
    from backend.motion.clip import Clip
    res = JOBS["generate"]({"text": "a sad woman bows to the audience", "seconds": 3.0,
                            "seed": 2, "model": "starter"}, JobContext("t", tmp_path))
    assert any("sad carriage" in w and "'bow'" in w for w in res["warnings"]), res["warnings"]
    clip = Clip.load_npz(res["artifacts"][res["clips"][0]["artifact"]])
    assert clip.meta["style_layer"] == "sad" and clip.num_frames == 60
    # a style the model saw often gets none
    res = JOBS["generate"]({"text": "an old man walks forward", "seconds": 2.0, "seed": 2,
                            "model": "starter"}, JobContext("t", tmp_path / "b"))
    assert not any("carriage" in w for w in res["warnings"])


def test_the_bench_times_layered_generations(gen):
    from backend.models.text2motion.bench import LAYERED_PAIRS, _layered_times
    from backend.text.snap import conditioning_caption
    assert all(conditioning_caption(a, s).layer for a, s in LAYERED_PAIRS)   # all thin
    times = _layered_times(gen, 2, 2.0, 2, 2.5)
    assert len(times) == 2 and all(t > 0 for t in times)
