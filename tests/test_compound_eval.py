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
