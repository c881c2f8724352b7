"""The kinematic action checks (backend/motion/presence.py) that the compound-prompt
evaluation and the generator's take check use, on real clips of the shipped library."""
import pytest

from backend.eval.compound_eval import CHECKABLE, part_present
from backend.models.editing.path_eval import library_walk


def test_a_real_walk_walks_and_does_not_wave():
    pos = library_walk().positions()
    assert part_present("walk", pos, True)
    assert not part_present("wave-both-hands", pos, True)
    assert not part_present("jump", pos, True)
    standing = pos[:1].repeat(60, axis=0)
    assert not part_present("walk", standing, True)
    with pytest.raises(ValueError, match="no kinematic check"):
        part_present("dance", pos, True)
    assert "dance" not in CHECKABLE and "kick" in CHECKABLE


def test_guiding_is_an_arm_held_out_not_a_hand_above_the_shoulder():
    """The data's guiding gesture holds an open arm out about waist to chest high; the check
    is the wrist's reach from the chest axis (a wrist above the shoulder passed only 13 % of
    the real guiding clips)."""
    import numpy as np
    from backend.motion.presence import J
    pos = library_walk().positions()
    assert not part_present("guide", pos, True)          # a walk's arm swing is no guide
    guide = pos.copy()
    chest = guide[:, J["spine3"]]
    # the right arm held out sideways and forward at chest height for the second half
    half = len(guide) // 2
    guide[half:, J["right_wrist"]] = chest[half:] + np.array([-0.45, -0.35, -0.05])
    assert part_present("guide", guide, True)
    assert not part_present("raise-up-right-hand", guide, True)


def test_a_one_hand_gesture_checks_the_named_hand_for_a_take():
    """The take check (text2motion/takes.py) looks at the hand a one-hand action names; the
    evaluation takes either hand."""
    from backend.motion.presence import J, present, score
    pos = library_walk().positions()
    left_up = pos.copy()
    left_up[:, J["left_wrist"], 2] = left_up[:, J["left_shoulder"], 2] + 0.2
    assert present("raise-up-right-hand", left_up, True)                  # either hand
    assert not present("raise-up-right-hand", left_up, True, sided=True)
    assert present("raise-up-left-hand", left_up, True, sided=True)
    assert not present("wave-both-hands", left_up, True, sided=True)
    both_up = left_up.copy()
    both_up[:, J["right_wrist"], 2] = both_up[:, J["right_shoulder"], 2] + 0.2
    assert present("wave-both-hands", both_up, True, sided=True)
    # a one-hand gesture with the other hand up too is not the one-hand gesture
    assert not present("raise-up-left-hand", both_up, True, sided=True)
    assert present("raise-up-left-hand", both_up, True)
    assert score("dance", pos) is None
    with pytest.raises(ValueError, match="positions must be"):
        score("walk", pos[:, :5])


def test_a_locomotion_take_must_go_the_way_it_names():
    """The take check's direction (presence.py): a real forward walk is a walk, not a walk
    backwards; the same walk played in reverse travels backwards; the walk bent round to
    its left by 90 degrees is a walk-and-turn to the left, not to the right. The evaluation
    (sided=False) only asks for the travel."""
    import numpy as np
    from backend.motion.presence import present
    pos = library_walk().positions()
    assert present("walk", pos, True, sided=True)
    assert not present("walk-back", pos, True, sided=True)
    assert present("walk-back", pos, True)                       # the evaluation's check
    back = pos[::-1].copy()
    assert present("walk-back", back, True, sided=True)
    assert not present("walk", back, True, sided=True)
    # turn the clip gradually 90 degrees counter-clockwise (to the walker's left) about Z
    n = len(pos)
    turned = pos.copy()
    for t in range(n):
        a = np.radians(90.0 * t / (n - 1))
        c, s = np.cos(a), np.sin(a)
        rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        centre = pos[t, 0] * np.array([1.0, 1.0, 0.0])
        turned[t] = (pos[t] - centre) @ rot.T + centre
    assert present("walk-turn-left", turned, True, sided=True)
    assert not present("walk-turn-right", turned, True, sided=True)


def test_missed_prompts_are_printed_only_when_asked(monkeypatch):
    """A blind set's misses are not to be read: the evaluation logs them only with
    show_misses (the CLI's --show-misses)."""
    pytest.importorskip("torch")
    from backend.eval import compound_eval as CE
    from backend.models.text2motion.sample import load_generator
    monkeypatch.setattr(CE, "part_present", lambda *a, **k: False)   # every part missed
    prompts = [{"prompt": "a person walks forward and waves", "relation": "together",
                "parts": [{"action": "walk"}, {"action": "wave-right-hand"}]}]
    gen = load_generator("starter")
    for show in (False, True):
        lines = []
        res = CE.evaluate(gen, prompts, tries=1, log=lines.append, show_misses=show)
        assert res["compound_both"] == 0.0 and res["compound_checked"] == 1
        assert bool([x for x in lines if "missed" in x]) is show
