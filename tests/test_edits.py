"""Generator edits on canonical clips (backend/models/editing/edits.py, job.py) with the real
starter generator, the seam bridge (backend/motion/seams.py) and the clip wire format: frames
and joints outside an edit come back bit-identical, seams stay within real motion's
frame-to-frame velocity changes, bad requests get specific messages."""
import numpy as np
import pytest

from backend.jobs import JOBS, JobContext, JobError, load_job_modules
from backend.models.editing import edits
from backend.models.editing.evaluate import held_out_clips
from backend.motion import quat
from backend.motion.clip import Clip
from backend.motion.joints import JOINT_GROUPS, group_joints
from backend.motion.looping import velocity_changes
from backend.motion.seams import blend_seams, match_anchors
from backend.motion.wire import clip_from_wire, clip_to_wire

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def gen():
    from backend.models.text2motion.sample import load_generator
    return load_generator("starter")


@pytest.fixture(scope="module")
def clips():
    return [c for _cap, c in held_out_clips() if c.seconds >= 6.0][:2]


def _jump(clip, seam):
    vc = velocity_changes(clip.positions(), clip.fps)
    return float(max(vc[seam - 2], vc[seam - 1]))


def test_wire_round_trip_and_bad_input(clips):
    clip = clips[0]
    back = clip_from_wire(clip_to_wire(clip))
    assert back.num_frames == clip.num_frames and back.fps == clip.fps
    assert np.abs(back.local_rotations - clip.local_rotations).max() < 1e-6
    w = clip_to_wire(clip)
    for bad, message in [({**w, "format": "x"}, "format"), ({**w, "frames": 0}, "frames"),
                         ({**w, "fps": 0.5}, "fps"), ({**w, "local_rotations": "@@"}, "base64"),
                         ({**w, "frames": w["frames"] - 1}, "bytes"), ("clip", "format")]:
        with pytest.raises(ValueError, match=message):
            clip_from_wire(bad)
    nan = clip.local_rotations.copy()
    nan[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clip_from_wire(clip_to_wire(Clip(nan, clip.root_translation, clip.fps)))
    with pytest.raises(ValueError, match="unit quaternions"):
        clip_from_wire(clip_to_wire(Clip(clip.local_rotations * 2, clip.root_translation,
                                         clip.fps)))


def test_blend_seams_is_continuous_and_keeps_the_rest(clips):
    clip = clips[0]
    T = clip.num_frames
    jumped = Clip(clip.local_rotations, clip.root_translation + [0.3, 0.0, 0.0], clip.fps)
    out = blend_seams(jumped, clip, 40, 100)
    assert np.array_equal(out.local_rotations[:40], clip.local_rotations[:40])
    assert np.array_equal(out.root_translation[101:], clip.root_translation[101:])
    raw = Clip(np.concatenate([clip.local_rotations[:40], jumped.local_rotations[40:101],
                               clip.local_rotations[101:]]),
               np.concatenate([clip.root_translation[:40], jumped.root_translation[40:101],
                               clip.root_translation[101:]]), clip.fps)
    bar = np.percentile(velocity_changes(clip.positions(), clip.fps), 95)
    assert _jump(raw, 40) > 3 * bar                 # a 30 cm step is a jump ...
    assert _jump(out, 40) <= bar and _jump(out, 101) <= bar    # ... bridged away
    assert T == out.num_frames


def test_match_anchors_meets_anchors_and_keeps_originals():
    rng = np.random.default_rng(1)
    T, K = 40, 6
    ref = quat.normalize(rng.normal(size=(T, K, 4)))
    ref_loc = rng.normal(size=(T, K, 3))
    new = quat.normalize(ref + 0.1 * rng.normal(size=ref.shape))
    edited = np.zeros(T, bool)
    edited[5:15] = edited[20:35] = True
    rot, loc = match_anchors(new, ref_loc + 0.05, ref, ref_loc, edited,
                             np.flatnonzero(~edited))
    assert np.array_equal(rot[~edited], ref[~edited]) and np.array_equal(loc[~edited],
                                                                          ref_loc[~edited])
    # next to an anchor the correction is (nearly) the full difference
    d = np.abs(np.abs(np.sum(rot[5] * ref[4], -1)) - np.abs(np.sum(new[5] * new[4], -1)))
    assert d.max() < 0.2
    with pytest.raises(ValueError, match="anchor frame is also an edited"):
        match_anchors(new, ref_loc, ref, ref_loc, edited, [5])


def test_edits_keep_what_they_do_not_touch(gen, clips):
    clip = clips[0]
    T = clip.num_frames
    out = edits.regenerate(gen, clip, 50, 100, "a person jumps", seed=1)
    assert np.array_equal(out.local_rotations[:50], clip.local_rotations[:50])
    assert np.array_equal(out.local_rotations[101:], clip.local_rotations[101:])
    assert np.array_equal(out.root_translation[101:], clip.root_translation[101:])
    assert np.abs(out.local_rotations[60:90] - clip.local_rotations[60:90]).max() > 0.05
    longer = edits.extend(gen, clip, 1.5, "a person sits down", seed=2)
    assert longer.num_frames == T + 45
    assert np.array_equal(longer.local_rotations[:T], clip.local_rotations)
    part = edits.body_part(gen, clip, ["upper_body"], "waves with both hands", seed=3)
    lower = list(JOINT_GROUPS["lower_body"])
    assert np.array_equal(part.local_rotations[:, lower], clip.local_rotations[:, lower])
    assert np.array_equal(part.root_translation, clip.root_translation)
    assert np.abs(part.local_rotations[:, 18] - clip.local_rotations[:, 18]).max() > 0.05


def test_seams_within_real_velocity_changes(gen, clips):
    """The issue's bar: a seam's velocity jump no larger than the 95th percentile of
    frame-to-frame velocity change in real clips (here: the held-out clips themselves)."""
    bar = np.percentile(np.concatenate([velocity_changes(c.positions(), c.fps)
                                        for _cap, c in held_out_clips()]), 95)
    for clip in clips:
        s, e = clip.num_frames // 2 - 30, clip.num_frames // 2 + 29
        out = edits.regenerate(gen, clip, s, e, "a person waves with the right hand", seed=0)
        assert _jump(out, s) <= bar and _jump(out, e + 1) <= bar
        out = edits.extend(gen, clip, 2.0, "a person walks forward", seed=0)
        assert _jump(out, clip.num_frames) <= bar


def test_groups_and_edit_ranges_are_checked(clips):
    assert group_joints(["left_arm", "head"]) == (12, 13, 15, 16, 18, 20)
    with pytest.raises(ValueError, match="unknown body part"):
        group_joints(["tail"])
    clip = clips[0]
    with pytest.raises(ValueError, match="empty"):
        edits.check_range(clip, 10, 5)
    with pytest.raises(ValueError, match="outside"):
        edits.check_range(clip, 10, clip.num_frames)
    with pytest.raises(ValueError, match="whole motion"):
        edits.check_range(clip, 0, clip.num_frames - 1)


def test_edit_job_answers_and_refuses(tmp_path, clips):
    load_job_modules(["backend.models.editing.job"])
    ctx = JobContext("edit-test", tmp_path)
    w = clip_to_wire(clips[0])
    res = JOBS["edit"]({"edit": "inbetween", "clip": w, "keys": [0, 30, 60],
                        "method": "slerp"}, ctx)
    out = Clip.load_npz(res["artifacts"]["clip"])
    assert out.num_frames == clips[0].num_frames and res["method"] == "slerp"
    assert np.allclose(out.local_rotations[30], clips[0].local_rotations[30], atol=1e-6)
    for params, message in [
            ({"edit": "fly", "clip": w}, "edit must be one of"),
            ({"edit": "inbetween", "clip": w, "keys": [4]}, "at least two keyed poses"),
            ({"edit": "inbetween", "clip": w, "keys": [4, 4]}, "at least one frame apart"),
            ({"edit": "inbetween", "clip": w, "keys": [0, 1, 2]}, "nothing to fill"),
            ({"edit": "inbetween", "clip": w, "keys": [0, 10 ** 6]}, "within the clip"),
            ({"edit": "regenerate", "clip": w, "start": 5}, "needs 'start' and 'end'"),
            ({"edit": "continue", "clip": w, "seconds": 99}, "<= 30"),
            ({"edit": "continue", "clip": w, "seconds": float("nan")}, "finite"),
            ({"edit": "regenerate", "clip": w, "start": 5, "end": 40,
              "guidance": float("nan")}, "finite"),
            ({"edit": "body_part", "clip": w, "parts": ["wings"]}, "unknown body part"),
            ({"edit": "inbetween", "clip": {"format": "npz"}, "keys": [0, 9]}, "'clip'")]:
        with pytest.raises(JobError, match=message):
            JOBS["edit"](params, ctx)
