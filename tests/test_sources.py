"""Raw source enumerators: Bandai captions/labels, CMU fps handling, DeepMimic parsing, joint
maps, failure reporting. Real data from /work/shared/data (skipped when missing); the archives
are extracted into a per-session temporary cache (Bandai dataset 1 and the three CMU tars,
a few seconds), never dataset 2."""
from __future__ import annotations

import csv
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from backend.data import sources as S
from backend.data.sources import (CAPTION_VOCAB, DEEPMIMIC_CAPTIONS, SOURCE_JOINT_MAPS,
                                  SourceReport, bandai_captions, check_clip, extract_archive,
                                  iter_bandai, iter_cmu, iter_deepmimic)
from backend.motion import quat
from backend.motion.skeleton import CANONICAL_NAMES, CANONICAL_PARENTS

DATA = Path("/work/shared/data")


def _need(path: Path):
    if not path.exists():
        pytest.skip(f"{path} not available")


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("anima_raw_cache")


# ------------------------------------------------------------------------------ captions
def test_bandai_caption_examples():
    caps = bandai_captions("raise-up-left-hand", "exhausted")
    assert "a person raises their left hand, exhausted" in caps
    assert "an exhausted person lifts the left hand" in caps
    assert len(caps) >= 3 and len(set(caps)) == len(caps)
    normal = bandai_captions("walk", "normal")
    assert normal[0] == "a person walks forward"
    assert not any("normal" in c for c in normal)
    assert any("street punk" in c or "thug" in c for c in bandai_captions("walk", "chimpira"))
    with pytest.raises(KeyError):
        bandai_captions("moonwalk", "normal")


def test_caption_vocab_covers_every_cfg_label():
    found = 0
    for n in (1, 2):
        cfg = DATA / "bandai-namco" / "dataset" / f"Bandai-Namco-Research-Motiondataset-{n}" / "cfg"
        if not cfg.exists():
            continue
        contents = S._read_labels(cfg / "content_label.txt", n)
        styles = S._read_labels(cfg / "style_label.txt", n)
        assert all(not c.startswith("dataset-") for c in contents + styles)
        for c in contents:
            for st in styles:
                caps = bandai_captions(c, st)
                assert all(cap == cap.strip() and "  " not in cap for cap in caps)
        found += 1
    if not found:
        pytest.skip("Bandai cfg folders not available")
    brief = ["walk", "walk-back", "walk-left", "walk-right", "run", "dash", "bow", "bye",
             "byebye", "guide", "call", "punch", "slash", "kick", "respond", "dance-short",
             "dance-long", "raise-up-left-hand", "walk-turn-left", "wave-both-hands"]
    assert set(brief) <= set(CAPTION_VOCAB["content"])


def test_deepmimic_captions_cover_every_clip():
    motions = DATA / "deepmimic" / "data" / "motions"
    _need(motions)
    names = [p.stem for p in motions.glob("humanoid3d_*.txt")] + \
            [p.stem for p in (motions / "long").glob("*.txt")]
    assert len(names) >= 29
    assert set(names) <= set(DEEPMIMIC_CAPTIONS)
    assert DEEPMIMIC_CAPTIONS["humanoid3d_zombie_walk"][0] == "a person walks like a zombie"


# ------------------------------------------------------------------------------ joint maps
def test_joint_maps_cover_canonical_joints():
    for kind, m in SOURCE_JOINT_MAPS.items():
        assert list(m) == CANONICAL_NAMES, kind
        used = [v for v in m.values() if v is not None]
        assert len(used) == len(set(used)), f"{kind} maps one source joint twice"
    assert SOURCE_JOINT_MAPS["cgspeed-daz-43j"]["left_foot"] is None
    assert SOURCE_JOINT_MAPS["cgspeed-daz-43j"]["right_shoulder"] == "rShldr"


def _check_map_on_clip(clip):
    """Mapped names exist, keep the canonical ancestry, and left is +X when facing +Z."""
    m = SOURCE_JOINT_MAPS[clip.skeleton_type]
    sk = clip.skeleton
    idx = {c: sk.index(s) for c, s in m.items() if s is not None}
    for c, j in idx.items():
        # the nearest mapped canonical ancestor must map to a source ancestor
        p = CANONICAL_PARENTS[CANONICAL_NAMES.index(c)]
        while p >= 0 and CANONICAL_NAMES[p] not in idx:
            p = CANONICAL_PARENTS[p]
        if p >= 0:
            anc, k = idx[CANONICAL_NAMES[p]], sk.parents[j]
            while k >= 0 and k != anc:
                k = sk.parents[k]
            assert k == anc, f"{clip.skeleton_type}: {c} is not below {CANONICAL_NAMES[p]}"
    # side check on a frame, in the body's own frame (facing from the hips)
    _, pos = sk.fk(clip.local_rotations[:1], clip.root_translation[:1])
    pos = pos[0]
    lr = pos[idx["left_hip"]] - pos[idx["right_hip"]]
    fwd = np.cross(lr, [0.0, 1.0, 0.0])
    for side in ("shoulder", "elbow", "wrist", "knee", "ankle"):
        d = pos[idx["left_" + side]] - pos[idx["right_" + side]]
        assert d @ lr > 0, f"{clip.skeleton_type}: left_{side} is not on the left"
    up = pos[idx["neck"]] - pos[idx["pelvis"]]
    assert up[1] > 0.3 and np.linalg.norm(fwd) > 0


# ------------------------------------------------------------------------------ Bandai
def test_bandai_dataset1_labels_captions_and_extraction_is_idempotent(cache):
    _need(DATA / "bandai-namco" / "dataset-1.tar.xz")
    report = SourceReport("bandai")
    clips = list(iter_bandai(DATA, cache, report=report, datasets=(1,), limit=4))
    assert len(clips) == 4 and report.parsed == 4 and not report.failed
    c = clips[0]
    assert c.skeleton_type == "bandai-namco" and c.fps == 30.0
    assert c.licence == "CC-BY-NC-4.0" and c.commercial_ok is False
    assert "Bandai Namco" in c.attribution
    assert c.labels["dataset"] == 1 and "name_label_mismatch" not in c.labels
    # file name dataset-1_<content>_<style>_NNN agrees with the JSON labels
    _, content, style, _ = S._BANDAI_NAME.match(c.name).groups()
    assert (c.labels["content"], c.labels["style"]) == (content, style)
    assert c.captions == bandai_captions(content, style)
    assert c.bvh.removed_root == "joint_Root" and c.skeleton.names[0] == "Hips"
    _check_map_on_clip(c)
    # rebased onto a standing pose (the file's zero pose has every bone along +X), toes flat
    for clip in clips:
        rest = _check_rebased_rest(clip, 0)
        sk = clip.skeleton
        for toe in ("Toes_L", "Toes_R"):
            t = sk.tails[sk.index(toe)]
            assert abs(t[1]) < 1e-9 and t[2] > 0.03, t          # horizontal, forward (+Z)
        assert rest[sk.index("Toes_L")][2] > rest[sk.index("Foot_L")][2]
    marker = cache / "bandai-namco" / "dataset-1" / S._MARKER
    stamp = marker.stat().st_mtime_ns
    next(iter_bandai(DATA, cache, datasets=(1,), limit=1))
    assert marker.stat().st_mtime_ns == stamp            # not extracted again


# ------------------------------------------------------------------------------ CMU
@pytest.fixture(scope="session")
def cmu_clips(cache):
    _need(DATA / "cmu" / "files.csv")
    report = SourceReport("cmu")
    only = {"60_01", "16_01", "02_01", "135_03", "07_03"}
    clips = {c.name: c for c in iter_cmu(DATA, cache, report=report, only=only)}
    return clips, report


def test_cmu_fps_from_files_csv(cmu_clips):
    clips, report = cmu_clips
    assert not report.failed
    salsa = clips["cmu-60_01-papagina"]
    assert salsa.fps == 60.0 and salsa.bvh.fps == 120.0           # header says 120
    assert salsa.captions == ["salsa dance", "salsa"]
    asf = clips["cmu-16_01-przestr"]
    assert asf.fps == 120.0 and asf.bvh.fps == 30.0                # header says 30
    assert asf.skeleton_type == "cmu-asf-31j" and asf.bvh.units == "explicit"
    martial = clips["cmu-135_03-papagina"]
    assert martial.fps == 120.0
    assert asf.licence == "CMU" and asf.commercial_ok and "NSF EIA-0196217" in asf.attribution


def test_cmu_cgspeed_drops_tpose_frame_and_blend(cmu_clips):
    clips, _ = cmu_clips
    c = clips["cmu-02_01-przestr"]
    assert c.labels["dropped_first_frame"] and "note" not in c.labels
    assert c.labels["lead_in_frames"] == S._CGSPEED_LEAD_IN == 8
    assert c.num_frames == c.bvh.num_frames - 8
    np.testing.assert_allclose(c.local_rotations[0], c.bvh.local_rotations[8])
    # the dropped frame is the converter's rest pose: no limb rotated by more than 15 degrees
    _, ang = quat.to_axis_angle(c.bvh.local_rotations[0, 1:])
    assert np.degrees(ang).max() < 15
    _, ang = quat.to_axis_angle(c.local_rotations[0, 1:])
    assert np.degrees(ang).max() > 15
    # ... and frames 1-7 blend out of it (the arms swing down ~90 degrees in 58 ms), so the
    # kept clip starts without a pop: its first steps are like the rest of the clip's
    def steps(q):
        d = quat.mul(quat.conjugate(q[:-1]), q[1:])
        return np.degrees(2 * np.arccos(np.clip(np.abs(d[..., 0]), 0, 1))).max(axis=-1)
    raw = steps(c.bvh.local_rotations[1:12])
    assert raw[:3].min() > 15                                # the blend: > 15 deg per frame
    kept = steps(c.local_rotations)
    assert kept[:4].max() < 3 * np.percentile(kept, 90), (kept[:4], np.percentile(kept, 90))


def test_leading_reference_frames():
    fps = 60.0
    walk = np.zeros((100, 3))
    walk[:, 2] = np.arange(100) * 1.4 / fps                  # 1.4 m/s
    walk[:, 1] = 1.0
    assert S.leading_reference_frames(walk, fps) == (0, "")
    ref = walk.copy()
    ref[:, 2] += 2.0                                         # the motion starts 2 m away
    ref[0] = (0.0, 1.05, 0.06)                               # a bind pose at the origin
    n, why = S.leading_reference_frames(ref, fps)
    assert n == 1 and why.startswith("frame 0: the root jumps 1.9") and "m/s" in why
    ref[1] = (0.0, 1.05, 0.06)                               # two of them
    assert S.leading_reference_frames(ref, fps)[0] == 2
    ref[2] = (0.0, 1.05, 0.06)                               # more than MAX_REFERENCE_FRAMES:
    assert S.MAX_REFERENCE_FRAMES == 2                       # left alone (the importer's
    assert S.leading_reference_frames(ref, fps)[0] == 0      # speed check rejects the clip)
    sprint = walk.copy()
    sprint[:, 2] = np.arange(100) * 10.0 / 30.0              # 10 m/s at 30 fps: motion
    assert S.leading_reference_frames(sprint, 30.0)[0] == 0
    assert S.leading_reference_frames(ref[:4], fps)[0] == 0  # too short to judge


def _fk(skel, rots, root):
    return skel.fk(rots, root)[1]


def _check_rebased_rest(clip, frames_dropped):
    """A rebased skeleton: the same joint positions as the file on every frame; the rest is a
    standing human facing +Z (head above hips above knees above feet, left hip at +X)."""
    m = SOURCE_JOINT_MAPS[clip.skeleton_type]
    sk = clip.skeleton
    assert clip.labels.get("rest_pose")
    assert np.allclose(sk.rest_rotations, quat.identity((len(sk),)))
    b = clip.bvh
    a = _fk(sk, clip.local_rotations, clip.root_translation)
    ref = _fk(b.skeleton, b.local_rotations[frames_dropped:], b.root_translation[frames_dropped:])
    np.testing.assert_allclose(a, ref, atol=1e-9)
    _, rest = sk.rest_world()

    def p(c):
        return rest[sk.index(m[c])]
    assert p("head")[1] > p("neck")[1] > p("pelvis")[1] > p("left_knee")[1] > p("left_ankle")[1]
    assert p("right_knee")[1] > p("right_ankle")[1]
    lat = p("left_hip") - p("right_hip")
    assert lat[0] > 0.1 and abs(lat[2]) < 0.02 * np.linalg.norm(lat) + 1e-3
    assert p("left_wrist")[0] > p("left_shoulder")[0] > p("right_shoulder")[0] > \
        p("right_wrist")[0]
    return rest


def test_cmu_iclone_07_03_reference_frame_dropped_and_rest_rebased(cmu_clips):
    """iClone's CMU subject 07 starts with the CC3 bind T-pose at the origin and the walk 2.2 m
    away (the importer used to reject 07_03 ... 07_12 at 50-66 m/s). The frame is dropped, the
    walk matches the cgspeed conversion of the same trial, and the skeleton is rebased onto
    that bind pose (its zero pose has every bone along +Y, the legs pointing up)."""
    clips, report = cmu_clips
    ic, pz = clips["cmu-07_03-iclone"], clips["cmu-07_03-przestr"]
    assert ic.labels["dropped_reference_frames"] == 1
    assert "jumps 2.2" in ic.labels["reference_frames_reason"]
    assert ic.num_frames == ic.bvh.num_frames - 1
    assert abs(ic.seconds - pz.seconds) < 0.1
    step = np.linalg.norm(np.diff(ic.root_translation, axis=0), axis=-1) * ic.fps
    assert step.max() < 2.5
    assert not any("07_03" in n for n, _ in report.failed)
    assert "dropped_reference_frames" not in pz.labels
    rest = _check_rebased_rest(ic, 1)
    m = SOURCE_JOINT_MAPS[ic.skeleton_type]
    sk = ic.skeleton
    arm = rest[sk.index(m["left_wrist"])] - rest[sk.index(m["left_shoulder"])]
    assert arm[0] > 0.95 * np.linalg.norm(arm)             # a T-pose: the arms horizontal
    # the 101-joint files get the same rest
    other = clips["cmu-02_01-iclone"]
    _check_rebased_rest(other, 0)
    np.testing.assert_allclose(other.skeleton.offsets[1:], sk.offsets[1:], atol=1e-9)


def test_cmu_head_tails_point_up_not_at_an_eye(cmu_clips):
    """cgspeed's head has the eyes as children, iClone's a facial bone with jaw and eyes:
    bone_tails pointed the head at one eye (18-31 degrees sideways), which rolled and pitched
    imported heads. In these upright T-pose rests the readers point it straight up."""
    clips, _ = cmu_clips
    for name, head in (("cmu-02_01-przestr", "head"), ("cmu-07_03-iclone", "CC_Base_Head"),
                       ("cmu-02_01-iclone", "CC_Base_Head")):
        sk = clips[name].skeleton
        j = sk.index(head)
        t = sk.tails[j]
        assert t[1] > 0.02 and np.allclose(t[[0, 2]], 0.0), (name, t)
        _, rest = sk.rest_world()
        up = sk.rest_tails_world()[j] - rest[j]
        np.testing.assert_allclose(up / np.linalg.norm(up), [0, 1, 0], atol=1e-9)


def test_bind_tables_match_the_data(cmu_clips, cache):
    """_BIND_ROTATIONS holds what its notes say: iClone's frame 0 of 07_03, Bandai's mean of
    the seven 'normal' standing first frames of dataset 1."""
    from backend.motion.bvh import read_bvh
    clips, _ = cmu_clips
    d = clips["cmu-07_03-iclone"].bvh
    rot, _ = d.skeleton.fk(d.local_rotations[:1], d.root_translation[:1])
    for name, q in S._BIND_ROTATIONS["iclone"].items():
        got = rot[0, d.skeleton.index(name)]
        assert abs(float(np.dot(got, q))) / np.linalg.norm(q) > np.cos(np.radians(0.1)), name
    _need(DATA / "bandai-namco" / "dataset-1.tar.xz")
    next(iter_bandai(DATA, cache, datasets=(1,), limit=1))             # extracted
    base = cache / "bandai-namco" / "dataset-1" / "dataset" / \
        "Bandai-Namco-Research-Motiondataset-1" / "data"
    Ws = []
    for take in ("bow_normal_001", "bye_normal_001", "byebye_normal_001", "call_normal_001",
                 "call_normal_002", "guide_normal_001", "respond_normal_001"):
        b = read_bvh(base / f"dataset-1_{take}.bvh", scale=0.01, root_position="absolute")
        Ws.append(b.skeleton.fk(b.local_rotations[:1], b.root_translation[:1])[0][0])
    Ws = np.array(Ws)
    for name, q in S._BIND_ROTATIONS["bandai-namco"].items():
        w = Ws[:, b.skeleton.index(name)]
        w = np.where((w @ w[0])[:, None] < 0, -w, w).mean(axis=0)
        w /= np.linalg.norm(w)
        assert abs(float(np.dot(w, q))) / np.linalg.norm(q) > np.cos(np.radians(0.1)), name


def test_cmu_iclone_101j_matches_100j_and_maps(cmu_clips):
    clips, _ = cmu_clips
    ic = clips["cmu-02_01-iclone"]
    assert ic.skeleton_type == "iclone-cc3-101j" and ic.bvh.removed_root == "RL_BoneRoot"
    assert len(ic.skeleton) == 100 and ic.skeleton.names[0] == "CC_Base_Hip"
    for c in clips.values():
        _check_map_on_clip(c)


def test_cmu_reports_skip_and_failures(tmp_path):
    """A fake CMU folder: a good cgspeed-like file, a broken one, a non-trial row."""
    root = tmp_path / "data" / "cmu"
    root.mkdir(parents=True)
    good = _tiny_bvh(frames=4)
    bad = good.replace("Frames: 4", "Frames: 9")
    buf = tmp_path / "przestr-motion-capture.tar.xz"
    with tarfile.open(buf, "w:xz") as tf:
        for name, text in (("data/99/99_01.bvh", good), ("data/99/99_02.bvh", bad),
                           ("data/standard.bvh", good)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    (root / "przestr-motion-capture.tar.xz").write_bytes(buf.read_bytes())
    cols = ["archive", "path", "trial_id", "description", "subject_description", "skeleton",
            "joints", "header_fps", "capture_fps", "playback_fps", "frames", "seconds",
            "trial_id_source"]
    with open(root / "files.csv", "w", newline="") as f:
        w = csv.DictWriter(f, cols)
        w.writeheader()
        base = dict(archive="przestr-motion-capture.tar.xz", skeleton="cgspeed-daz-43j",
                    joints=2, header_fps=120, capture_fps=60, playback_fps=60, frames=4,
                    seconds=0.1, trial_id_source="file name", subject_description="tests")
        w.writerow({**base, "path": "data/99/99_01.bvh", "trial_id": "99_01",
                    "description": "walk  in a  circle"})
        w.writerow({**base, "path": "data/99/99_02.bvh", "trial_id": "99_02",
                    "description": "broken"})
        w.writerow({**base, "path": "data/standard.bvh", "trial_id": "",
                    "description": "reference skeleton"})
    report = SourceReport()
    clips = list(iter_cmu(tmp_path, tmp_path / "cache", report=report,
                          archives=("przestr-motion-capture.tar.xz",)))
    assert [c.name for c in clips] == ["cmu-99_01-przestr"]
    c = clips[0]
    assert c.fps == 60.0 and c.num_frames == 3                      # T-pose frame dropped
    assert c.captions == ["walk in a circle", "tests"]
    assert report.parsed == 1 and report.source == "cmu"
    (name, reason), = report.failed
    assert name == "cmu-99_02-przestr" and "truncated" in reason and "9 frames" in reason
    (name, reason), = report.skipped
    assert "standard.bvh" in name and "not a CMU trial" in reason
    assert "1 parsed" in report.summary()


def _tiny_bvh(frames: int) -> str:
    rows = []
    for t in range(frames):
        rows.append(f"0 90 {t} 0 0 0 0 0 0")
    return ("HIERARCHY\nROOT hip\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition "
            "Zrotation Xrotation Yrotation\n JOINT lThigh\n {\n  OFFSET 10 0 0\n  CHANNELS 3 "
            "Zrotation Xrotation Yrotation\n  End Site\n  {\n   OFFSET 0 -90 0\n  }\n }\n}\n"
            f"MOTION\nFrames: {frames}\nFrame Time: 0.0083333\n" + "\n".join(rows) + "\n")


def test_extract_archive_is_idempotent_and_redoes_changed_archives(tmp_path):
    arc = tmp_path / "a.tar.xz"

    def make(text):
        with tarfile.open(arc, "w:xz") as tf:
            data = text.encode()
            info = tarfile.TarInfo("x/f.txt")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    make("one")
    dest = extract_archive(arc, tmp_path / "out")
    assert (dest / "x" / "f.txt").read_text() == "one"
    (dest / "x" / "f.txt").write_text("touched")
    extract_archive(arc, tmp_path / "out")                       # marker matches: untouched
    assert (dest / "x" / "f.txt").read_text() == "touched"
    make("two, longer")
    extract_archive(arc, tmp_path / "out")                       # archive changed: redone
    assert (dest / "x" / "f.txt").read_text() == "two, longer"


# ------------------------------------------------------------------------------ DeepMimic
@pytest.fixture(scope="session")
def deepmimic():
    _need(DATA / "deepmimic" / "data" / "characters" / "humanoid3d.txt")
    report = SourceReport("deepmimic")
    clips = {c.name: c for c in iter_deepmimic(DATA, report=report)}
    return clips, report


def test_deepmimic_all_clips_parse_with_readme_fps(deepmimic):
    clips, report = deepmimic
    assert report.parsed == 29 and not report.failed
    fps = {"backflip": 16, "cartwheel": 60, "dance_spin": 120, "jog": 30, "spin": 24,
           "walk": 30, "zombie_walk": 60, "long_walk1": 120, "stealthy_walk0": 24}
    for k, v in fps.items():
        assert clips[f"deepmimic-humanoid3d_{k}"].fps == v, k
    c = clips["deepmimic-humanoid3d_walk"]
    assert c.licence == "MIT" and c.commercial_ok and c.skeleton_type == "deepmimic-humanoid3d"
    assert len(c.skeleton) == 15 and c.labels["loop"] == "wrap"
    assert c.captions == DEEPMIMIC_CAPTIONS["humanoid3d_walk"]


def test_deepmimic_standing_pose_is_plausible(deepmimic):
    clips, _ = deepmimic
    c = clips["deepmimic-humanoid3d_walk"]
    sk = c.skeleton
    _, pos = sk.fk(c.local_rotations, c.root_translation)
    rot, _ = sk.fk(c.local_rotations, c.root_translation)
    tails = pos + quat.rotate(rot, sk.tails[None])
    n = sk.names
    head_top = tails[:, n.index("neck"), 1]
    pelvis = pos[:, 0, 1]
    ankles = pos[:, [n.index("left_ankle"), n.index("right_ankle")], 1].max(axis=1)
    assert np.all(head_top > pelvis) and np.all(pelvis > ankles)
    soles = tails[:, [n.index("left_ankle"), n.index("right_ankle")], 1].min(axis=1)
    height = np.median(head_top - soles)
    assert 1.4 < height < 1.9, height
    # rest pose too: standing, soles on the floor
    _, rest = sk.rest_world()
    assert abs(sk.rest_tails_world()[n.index("left_ankle"), 1]) < 1e-9
    assert rest[n.index("neck"), 1] > rest[0, 1] > rest[n.index("left_knee"), 1]
    # turned to face +Z: the walk travels along +Z and the left hip is at +X
    assert c.root_translation[-1, 2] - c.root_translation[0, 2] > 1.0
    assert rest[n.index("left_hip"), 0] > 0
    _check_map_on_clip(c)


def test_deepmimic_knees_bend_backwards_elbows_forwards(deepmimic):
    clips, _ = deepmimic
    c = clips["deepmimic-humanoid3d_crawl"]        # deep knee and elbow bends
    sk = c.skeleton
    _, pos = sk.fk(c.local_rotations, c.root_translation)
    rot, _ = sk.fk(c.local_rotations, c.root_translation)
    n = sk.names
    for hip, knee, ankle in (("left_hip", "left_knee", "left_ankle"),
                             ("right_hip", "right_knee", "right_ankle")):
        h, k, a = (pos[:, n.index(x)] for x in (hip, knee, ankle))
        thigh_fwd = quat.rotate(rot[:, n.index(hip)], np.array([0.0, 0.0, 1.0]))
        # the ankle lies behind the thigh line (relative to the thigh's own forward axis)
        shin = a - k
        thigh = (k - h) / np.linalg.norm(k - h, axis=-1, keepdims=True)
        perp = shin - np.sum(shin * thigh, -1, keepdims=True) * thigh
        assert np.median(np.sum(perp * thigh_fwd, -1)) < -0.1
    for sh, el, wr in (("left_shoulder", "left_elbow", "left_wrist"),
                       ("right_shoulder", "right_elbow", "right_wrist")):
        s, e, w = (pos[:, n.index(x)] for x in (sh, el, wr))
        arm_fwd = quat.rotate(rot[:, n.index(sh)], np.array([0.0, 0.0, 1.0]))
        upper = (e - s) / np.linalg.norm(e - s, axis=-1, keepdims=True)
        fore = w - e
        perp = fore - np.sum(fore * upper, -1, keepdims=True) * upper
        assert np.median(np.sum(perp * arm_fwd, -1)) > 0.1


def test_deepmimic_failure_is_reported(tmp_path):
    src = DATA / "deepmimic" / "data" / "characters" / "humanoid3d.txt"
    _need(src)
    d = tmp_path / "deepmimic" / "data"
    (d / "characters").mkdir(parents=True)
    (d / "motions").mkdir()
    (d / "characters" / "humanoid3d.txt").write_text(src.read_text())
    (d / "motions" / "humanoid3d_broken.txt").write_text('{"Loop": "wrap", "Frames": [[0.1, 1]]}')
    (d / "motions" / "humanoid3d_notjson.txt").write_text("{not json")
    frame = [1 / 30, 0, 0.85, 0, 1, 0, 0, 0] + [1, 0, 0, 0] * 2 + ([1, 0, 0, 0, 0] +
                                                                  [1, 0, 0, 0] * 2 + [0]) * 2
    (d / "motions" / "humanoid3d_still.txt").write_text(json.dumps({"Frames": [frame] * 3}))
    report = SourceReport()
    clips = list(iter_deepmimic(tmp_path, report=report))
    assert [c.name for c in clips] == ["deepmimic-humanoid3d_still"]
    assert clips[0].fps == 30.0 and clips[0].labels.get("caption_from_file_name")
    reasons = dict(report.failed)
    assert "values, the character needs 44" in reasons["humanoid3d_broken"]
    assert "JSONDecodeError" in reasons["humanoid3d_notjson"]


def test_missing_sources_are_reported_not_raised(tmp_path):
    report = SourceReport()
    assert list(iter_bandai(tmp_path, tmp_path / "cache", report=report)) == []
    assert [n for n, _ in report.failed] == ["dataset-1", "dataset-2"]
    assert "archive not found" in report.failed[0][1]
    report = SourceReport()
    assert list(iter_cmu(tmp_path, tmp_path / "cache", report=report)) == []
    assert report.failed and report.failed[0][0] == "files.csv"
    report = SourceReport()
    assert list(iter_deepmimic(tmp_path, report=report)) == []
    assert report.failed[0][0] == "humanoid3d.txt"


def test_check_clip_flags_a_body_under_the_floor(deepmimic):
    clips, _ = deepmimic
    c = clips["deepmimic-humanoid3d_walk"]
    assert check_clip(c) is None
    sunk = S.SourceClip(**{**c.__dict__, "root_translation": c.root_translation - [0, 1.2, 0]})
    assert "below the floor" in check_clip(sunk)
