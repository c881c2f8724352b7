"""The kinematic part checks of the compound-prompt evaluation (backend/eval/compound_eval.py)
on real clips of the shipped library."""
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
    from backend.eval.compound_eval import J
    pos = library_walk().positions()
    assert not part_present("guide", pos, True)          # a walk's arm swing is no guide
    guide = pos.copy()
    chest = guide[:, J["spine3"]]
    # the right arm held out sideways and forward at chest height for the second half
    half = len(guide) // 2
    guide[half:, J["right_wrist"]] = chest[half:] + np.array([-0.45, -0.35, -0.05])
    assert part_present("guide", guide, True)
    assert not part_present("raise-up-right-hand", guide, True)
