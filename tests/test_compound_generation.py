"""Compound prompts made with the real starter generator (issue 9, item 3): simple kinematic
checks on the composed clips.

* together ("walks forward and waves"): the pelvis travels >= 1 m and a wrist is above its
  shoulder in >= 15 % of the frames, for most seeds (the plain prompt does neither);
* the legs and root of a together clip are exactly the locomotion part's own clip;
* sequence ("walks forward, then jumps"): the first segment travels, the second has a pelvis
  rise; the in-betweened gap has no jump in any joint's position.
"""
import numpy as np
import pytest

pytest.importorskip("torch")

from backend.models.editing import learned  # noqa: E402
from backend.models.text2motion.compose import GAP_SECONDS, generate_prompt  # noqa: E402
from backend.models.text2motion.sample import load_generator  # noqa: E402
from backend.motion.joints import JOINT_GROUPS  # noqa: E402
from backend.motion.skeleton import CANONICAL_NAMES  # noqa: E402
from backend.text.compound import parse_prompt  # noqa: E402

SEEDS = range(5)
TOGETHER_SECONDS = 6.0
SEQUENCE_SECONDS = 8.0
J = {n: i for i, n in enumerate(CANONICAL_NAMES)}


@pytest.fixture(scope="module")
def gen():
    return load_generator("starter")


def travel(p: np.ndarray) -> float:
    """Pelvis distance on the floor from the first to the last frame of positions (T, 22, 3)."""
    return float(np.linalg.norm(p[-1, J["pelvis"], :2] - p[0, J["pelvis"], :2]))


def hand_up_fraction(p: np.ndarray) -> float:
    """Fraction of frames with a wrist above its shoulder (Z up)."""
    left = p[:, J["left_wrist"], 2] > p[:, J["left_shoulder"], 2]
    right = p[:, J["right_wrist"], 2] > p[:, J["right_shoulder"], 2]
    return float((left | right).mean())


def segment(clip, info, k):
    text, a, b = info["segments"][k]
    return clip.positions()[int(round(a * clip.fps)):int(round(b * clip.fps))]


@pytest.mark.parametrize("prompt", [
    "a person walks forward and waves",
    pytest.param("a person runs forward and waves", marks=pytest.mark.slow),
    pytest.param("a person jogs forward while raising both hands", marks=pytest.mark.slow)])
def test_together_travels_and_raises_a_hand(gen, prompt):
    good = plain_good = 0
    for seed in SEEDS:
        clip, info = generate_prompt(gen, prompt, TOGETHER_SECONDS, seed)
        assert info["relation"] == "together"
        assert clip.fps == 20.0 and clip.meta["prompt"] == prompt
        assert clip.meta["composition"] == "together"
        p = clip.positions()
        good += travel(p) >= 1.0 and hand_up_fraction(p) >= 0.15
        plain = gen.to_clip(gen.generate([prompt], [TOGETHER_SECONDS], [seed])[0]).positions()
        plain_good += travel(plain) >= 1.0 and hand_up_fraction(plain) >= 0.15
    assert good >= 4, f"{prompt!r}: {good}/{len(SEEDS)} seeds travel and raise a hand"
    assert good > plain_good          # composing is what makes the gesture happen


def test_together_keeps_the_locomotion_legs_and_root(gen):
    prompt, seed = "a person walks forward and waves", 3
    clip, info = generate_prompt(gen, prompt, 6.0, seed)
    assert info["drivers"] == ["a person walks forward"]
    walk = gen.to_clip(gen.generate(["a person walks forward"], [6.0], [seed])[0])
    legs = list(JOINT_GROUPS["legs"])
    np.testing.assert_array_equal(clip.root_translation, walk.root_translation)
    np.testing.assert_array_equal(clip.local_rotations[:, legs], walk.local_rotations[:, legs])
    upper = list(JOINT_GROUPS["arms"])
    assert np.abs(clip.local_rotations[:, upper] - walk.local_rotations[:, upper]).max() > 0.1
    assert [s[1:] for s in info["segments"]] == [[0.0, 6.0], [0.0, 6.0]]


def test_together_keeps_the_torso_upright_and_smooth(gen):
    """The re-made upper body keeps the world pose it was generated with where it meets the
    kept pelvis: spliced local to the locomotion's own pelvis, it took on every frame's
    difference between the two pelvises (measured: a running torso folded 60-100 degrees
    forward, and jerk 3.9x and 6.3x the locomotion's own)."""
    from backend.eval.metrics import jerk
    for prompt, seed, driver in (
            ("a person runs forward and raises both hands", 1, "a person runs forward"),
            ("a person walks forward and waves the right hand", 0, "a person walks forward")):
        clip, info = generate_prompt(gen, prompt, None, seed)
        assert info["relation"] == "together"
        p = clip.positions()
        spine = p[:, J["neck"]] - p[:, J["pelvis"]]
        up = spine[:, 2] / np.linalg.norm(spine, axis=1)
        assert up.min() > 0.8, f"{prompt!r}: torso tilts to cos {up.min():.2f}"
        alone = gen.to_clip(gen.generate([driver], [clip.num_frames / clip.fps], [seed])[0])
        ratio = jerk(p, clip.fps) / jerk(alone.positions(), clip.fps)
        assert ratio < 1.5, f"{prompt!r}: jerk {ratio:.1f}x the locomotion's own"
        assert hand_up_fraction(p) >= 0.15


def test_simple_prompt_is_the_plain_generation(gen):
    clip, info = generate_prompt(gen, "a person jumps in place", 3.0, 7)
    plain = gen.to_clip(gen.generate(["a person jumps in place"], [3.0], [7])[0])
    assert info["relation"] == "single" and info["segments"] == [["a person jumps in place",
                                                                  0.0, 3.0]]
    np.testing.assert_array_equal(clip.local_rotations, plain.local_rotations)
    np.testing.assert_array_equal(clip.root_translation, plain.root_translation)
    assert clip.meta["source"] == plain.meta["source"] and clip.meta["seed"] == 7


def _check_sequence(clip, info):
    p = clip.positions()
    (t1, a1, b1), (t2, a2, b2) = info["segments"]
    assert a2 - b1 == pytest.approx(GAP_SECONDS, abs=1.0 / clip.fps)
    first, second = segment(clip, info, 0), segment(clip, info, 1)
    rise = float(second[:, J["pelvis"], 2].max() - second[0, J["pelvis"], 2])
    lo, hi = int(round(b1 * clip.fps)) - 1, int(round(a2 * clip.fps)) + 1
    step = float(np.linalg.norm(np.diff(p[lo:hi], axis=0), axis=-1).max())   # m per frame
    return travel(first), rise, step


def test_sequence_walks_then_jumps(gen):
    prompt = "a person walks forward, then jumps"
    good = 0
    for seed in SEEDS:
        clip, info = generate_prompt(gen, prompt, SEQUENCE_SECONDS, seed)
        assert info["relation"] == "sequence" and info["inbetween"] == "learned"
        assert [s[0] for s in info["segments"]] == ["a person walks forward", "a person jumps"]
        assert clip.num_frames == int(round(info["segments"][1][2] * clip.fps))
        assert clip.seconds == pytest.approx(SEQUENCE_SECONDS, abs=0.15)
        moved, rise, step = _check_sequence(clip, info)
        assert step < 0.25, f"seed {seed}: a joint jumps {step:.2f} m in one frame at the join"
        good += moved >= 1.0 and rise >= 0.15
    assert good >= 4, f"{good}/{len(SEEDS)} seeds walk >= 1 m then rise >= 0.15 m"


def test_sequence_with_predicted_lengths_and_slerp_fallback(gen, monkeypatch, tmp_path):
    monkeypatch.setattr(learned, "DEFAULT_CHECKPOINT", tmp_path / "missing.pt")
    clip, info = generate_prompt(gen, "a person walks and waves, then bows", None, 1)
    assert info["inbetween"] == "slerp"
    assert "in-betweening checkpoint not found" in info["warnings"][0]
    assert clip.num_frames == int(round(info["segments"][2][2] * clip.fps))
    assert [s[0] for s in info["segments"]] == ["a person walks", "a person waves",
                                                "a person bows"]
    assert info["segments"][0][1:] == info["segments"][1][1:]     # together: same span
    _, _, step = _check_sequence(clip, {"segments": info["segments"][1:]})
    assert step < 0.25


@pytest.mark.parametrize("prompt,seconds,match", [
    ("", None, "empty"),
    ("a person walks, then sits down, then jumps", 2.0, "too short for 3 actions"),
    ("a person walks forward", 0.0, "more than 0"),
    ("a person walks forward", 61.0, "at most 60"),
])
def test_bad_requests(gen, prompt, seconds, match):
    with pytest.raises(ValueError, match=match):
        generate_prompt(gen, prompt, seconds, 0)


def test_parse_used_by_generation_carries_the_subject():
    parsed = parse_prompt("an old man walks and waves")
    assert [a.text for a in parsed.stages[0].actions] == ["an old man walks", "an old man waves"]


def test_the_gesture_on_top_gets_its_own_guidance_unless_one_is_asked_for(gen, monkeypatch):
    from backend.models.editing import edits
    from backend.models.text2motion import compose
    seen = []
    real = edits.body_part

    def spy(*a, **kw):
        seen.append(kw.get("guidance"))
        return real(*a, **kw)
    monkeypatch.setattr(edits, "body_part", spy)
    clip, _ = generate_prompt(gen, "a person walks forward and waves", 3.0, 0)
    assert seen == [compose.OVERLAY_GUIDANCE]
    assert clip.meta["overlay_guidance"] == compose.OVERLAY_GUIDANCE
    clip, _ = generate_prompt(gen, "a person walks forward and waves", 3.0, 0, guidance=2.0)
    assert seen[-1] == 2.0 and clip.meta["guidance"] == 2.0
    assert "overlay_guidance" not in clip.meta
