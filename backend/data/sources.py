"""Raw motion sources: Bandai-Namco, CMU (three BVH subsets) and DeepMimic, numpy only.

Each enumerator yields `SourceClip`s in the source's own skeleton (identity rest rotations;
Bandai-Namco and iClone rebased onto a real standing / bind pose, see `bind_rotations`),
metres, **Y-up with the character's rest facing +Z** (the convention `backend/motion/axes.py`
converts from; the importer does that conversion, not this module). Files that fail are
reported in a `SourceReport` (`report.failed` / `report.skipped`, each `(name, reason)`), never
raised; that includes clips that parse but fail `check_clip` (e.g. a broken root track), unless
`sanity_check=False`.

    report = SourceReport("cmu")
    for clip in iter_cmu("/work/shared/data", "~/.cache/anima/raw", report=report):
        ...
    print(report.summary())

`shared_root` is the shared data folder holding `bandai-namco/`, `cmu/`, `deepmimic/` (its
parent, holding `data/`, works too). Archives are extracted once into `cache_dir` (one folder
per archive, a marker file makes it idempotent); the shared folder is never written to.

`SOURCE_JOINT_MAPS[skeleton_type]` maps each canonical joint (`CANONICAL_NAMES`) to a source
joint name or None, for the bone mapper/retargeter; see the notes above the table.

Licences: Bandai-Namco is CC BY-NC 4.0 (`commercial_ok=False`), CMU and DeepMimic are
commercially usable (`commercial_ok=True`).
"""
from __future__ import annotations

import csv
import json
import logging
import os
import re
import shutil
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ..motion import quat
from ..motion.bvh import UNIT_SCALES, BvhData, BvhError, bone_tails, read_bvh, rebase_rest
from ..motion.skeleton import CANONICAL_NAMES, Skeleton

log = logging.getLogger(__name__)

__all__ = ["SourceClip", "SourceReport", "iter_bandai", "iter_cmu", "iter_deepmimic",
           "iter_all", "bandai_captions", "CAPTION_VOCAB", "DEEPMIMIC_CAPTIONS",
           "SOURCE_JOINT_MAPS", "LICENCES", "ATTRIBUTIONS", "extract_archive", "check_clip",
           "leading_reference_frames", "bind_rotations"]

# ======================================================================================
# records
# ======================================================================================
LICENCES = {"bandai": "CC-BY-NC-4.0", "cmu": "CMU", "deepmimic": "MIT"}
ATTRIBUTIONS = {
    "bandai": ("Motion data: Bandai-Namco-Research-Motiondataset (datasets 1 and 2), "
               "(c) 2022 Bandai Namco Research Inc., licensed under CC BY-NC 4.0 "
               "(https://creativecommons.org/licenses/by-nc/4.0/), "
               "https://github.com/BandaiNamcoResearchInc/Bandai-Namco-Research-Motiondataset"),
    "cmu": ("The data used in this project was obtained from mocap.cs.cmu.edu. The database "
            "was created with funding from NSF EIA-0196217. BVH conversions by Bruce Hahne "
            "(cgspeed.com) and DragonForgedTheArtist (iClone)."),
    "deepmimic": ("DeepMimic humanoid3d reference motions, (c) 2018 Xue Bin Peng, MIT licence, "
                  "https://github.com/xbpeng/DeepMimic"),
}


@dataclass
class SourceClip:
    """One raw clip in its source skeleton (metres, Y-up, rest facing +Z)."""
    name: str                       # unique across all sources
    path: str                       # file on disk (extracted into the cache for archives)
    skeleton_type: str              # key of SOURCE_JOINT_MAPS
    skeleton: Skeleton              # identity rest rotations
    local_rotations: np.ndarray     # (T, J, 4) wxyz
    root_translation: np.ndarray    # (T, 3) metres
    fps: float                      # TRUE playback rate
    captions: list
    labels: dict
    licence: str                    # "CC-BY-NC-4.0" | "CMU" | "MIT"
    attribution: str
    commercial_ok: bool
    source: str = ""                # "bandai" | "cmu" | "deepmimic"
    bvh: BvhData | None = None      # the parsed file (BVH sources); its arrays may be longer
                                    # and its rest pose differ (labels["rest_pose"])
    axes: str = "y_up"              # Y up, rest facing +Z: convert with backend.motion.axes

    @property
    def num_frames(self) -> int:
        return int(self.local_rotations.shape[0])

    @property
    def seconds(self) -> float:
        return self.num_frames / self.fps


@dataclass
class SourceReport:
    """What an enumerator did: counts, and (name, reason) for each failed or skipped file."""
    source: str = ""
    parsed: int = 0
    frames: int = 0
    seconds_of_motion: float = 0.0
    failed: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    elapsed: float = 0.0

    def _ok(self, clip: SourceClip):
        self.parsed += 1
        self.frames += clip.num_frames
        self.seconds_of_motion += clip.seconds

    def _fail(self, name: str, reason: str):
        log.warning("%s: %s: %s", self.source, name, reason)
        self.failed.append((name, reason))

    def summary(self) -> str:
        return (f"{self.source}: {self.parsed} parsed ({self.seconds_of_motion / 60:.1f} min, "
                f"{self.frames} frames), {len(self.failed)} failed, {len(self.skipped)} skipped, "
                f"{self.elapsed:.1f} s")


def check_clip(clip: SourceClip) -> str | None:
    """A reason to distrust a parsed clip, or None. Catches broken root tracks: CMU 07_12 and
    09_10 in the cgspeed conversion keep the body 0.3-0.8 m under the floor, with the pelvis
    bobbing at 1-2 m/s (median vertical speed; iClone's 07_12: 0.17 m/s) and only 0.3-0.6 m
    above the lowest joint (iClone's 07_12: 0.96 m): the root channels do not fit the legs."""
    if not (np.all(np.isfinite(clip.local_rotations))
            and np.all(np.isfinite(clip.root_translation))):
        return "non-finite values in the motion"
    T = clip.num_frames
    sel = np.unique(np.linspace(0, T - 1, min(T, 64)).astype(int))
    _, pos = clip.skeleton.fk(clip.local_rotations[sel], clip.root_translation[sel])
    low = pos[..., 1].min(axis=1)
    if float(np.median(low)) < -0.25:
        return (f"implausible root height: the lowest joint is {-np.median(low):.2f} m below "
                f"the floor on a median frame (down to {-low.min():.2f} m); broken root track")
    return None


# A root step faster than this between two frames is a cut, not motion (sprinters peak near
# 12 m/s); it must also stand out from the clip's own steps by TELEPORT_RATIO.
TELEPORT_SPEED = 15.0    # m/s
TELEPORT_RATIO = 10.0
MAX_REFERENCE_FRAMES = 2


def leading_reference_frames(root_translation, fps: float,
                             max_frames: int = MAX_REFERENCE_FRAMES) -> tuple[int, str]:
    """How many frames at the start are a separate reference pose rather than motion, and why.

    Some converters put a bind pose at the origin before the motion, which then starts metres
    away: iClone's CMU subject 07 (07_03 ... 07_12) begins with a T-pose at (0, 1.05, 0.06) m
    and the walk 2.1-2.7 m away, one frame later (a 130-160 m/s "step"; at the library's 30
    fps, the importer's 50-66 m/s pelvis). A root step out of frame k < `max_frames` faster
    than TELEPORT_SPEED and TELEPORT_RATIO times the clip's median step (after it) is such a
    cut: frames 0..k are the reference. Returns (count, reason) ((0, "") when none)."""
    t = np.asarray(root_translation, dtype=np.float64)
    if t.shape[0] < max_frames + 3:
        return 0, ""
    step = np.linalg.norm(np.diff(t, axis=0), axis=-1)
    typical = float(np.median(step[max_frames:]))
    n = 0
    why = []
    for k in range(max_frames):
        if step[k] * fps > TELEPORT_SPEED and step[k] > TELEPORT_RATIO * typical:
            why.append(f"frame {k}: the root jumps {step[k]:.2f} m in one frame "
                       f"({step[k] * fps:.0f} m/s; median step {typical * 1000:.1f} mm)")
            n = k + 1
    return n, "; ".join(why)


# ======================================================================================
# paths and archives
# ======================================================================================
def _data_root(shared_root) -> Path:
    root = Path(shared_root).expanduser()
    for cand in (root, root / "data"):
        if any((cand / d).exists() for d in ("bandai-namco", "cmu", "deepmimic")):
            return cand
    return root


_MARKER = ".anima-extracted"


def extract_archive(archive: Path, dest: Path) -> Path:
    """Extract `archive` (tar.xz) into `dest` once. Idempotent: a marker file records the
    archive's size and mtime; a changed archive is extracted again. Extraction goes to a
    temporary sibling folder first, so an interrupted run never leaves a half folder marked
    done. Returns `dest`."""
    archive = Path(archive)
    dest = Path(dest).expanduser()
    st = archive.stat()
    stamp = f"{archive.name} {st.st_size} {int(st.st_mtime)}"
    marker = dest / _MARKER
    if marker.exists() and marker.read_text().strip() == stamp:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    t0 = time.perf_counter()
    with tarfile.open(archive, "r:*") as tf:
        try:
            tf.extractall(tmp, filter="data")
        except TypeError:  # Python without extraction filters
            for m in tf.getmembers():
                if m.name.startswith("/") or ".." in Path(m.name).parts:
                    raise ValueError(f"{archive.name}: unsafe member path {m.name!r}")
            tf.extractall(tmp)
    (tmp / _MARKER).write_text(stamp + "\n")
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)
    log.info("extracted %s into %s in %.1f s", archive.name, dest, time.perf_counter() - t0)
    return dest


# ======================================================================================
# joint maps
# ======================================================================================
# How the maps were chosen (numbers from `read_bvh` + FK on a standing frame, heights along
# the spine normalised so the hip joints are 0 and the shoulder joints 1; canonical:
# pelvis 0.15, spine1 0.35, spine2 0.59, spine3 0.70, neck 1.11, head 1.28):
# - A BVH joint sits where its rotation pivots, and its rotation drives the segment to its
#   child. Each canonical joint takes the source joint that drives most of the same body
#   segment; a canonical joint whose segment belongs to a source joint already used below it is
#   None (the retargeter lets it inherit: identity local rotation).
# - Zero-length "carrier" joints share the pivot of their parent; the one that drives the
#   segment is mapped (ASF `lhand`, not `lwrist`), unless the canonical hierarchy needs the
#   parent (ASF `thorax` for spine3: the collars must sit below it).
# - Legs: hip joint = top of the thigh (UpperLeg_L / lThigh / lfemur / CC_Base_L_Thigh),
#   knee, ankle, and left_foot = the toe base (None where the skeleton has no toe joint:
#   cgspeed and DeepMimic; the ankle's tail then gives the foot direction).
# Per skeleton (normalised pivots):
#   bandai   Hips(root) Spine 0.45 Chest 0.68 Neck 1.09 Head 1.26; Shoulder_L is the clavicle.
#   cgspeed  hip(root) abdomen 0.38 chest 0.64 neck 1.11 head 1.24; l/rButtock (a short bone
#            from the root to the hip joint) is unmapped.
#   asf      hip(root) lowerback 0.26 upperback 0.57 thorax 0.88 upperneck 1.12 head 1.36.
#            thorax's children (lowerneck, l/rclavicle) all sit at its pivot, so lowerneck
#            (unmapped; it bends the lower neck) shares spine3's pivot; thorax is kept as spine3
#            because it is the common parent of the neck and the clavicles, like spine3.
#   iclone   CC_Base_Hip(root; CC_Base_Pelvis under it carries the thighs with a constant
#            11.8 degree rest twist) Waist 0.19 Spine01 0.27 Spine02 0.56 NeckTwist01 1.10
#            Head 1.27. Twist and "ShareBone" joints are unmapped.
#   deepmimic root chest 0.49 neck 0.96 (the neck joint carries the head body), no collars,
#            no toes.
def _lr(m: dict) -> dict:
    """Fill right_* from left_*; m['_mirror'] turns a left joint name into the right one."""
    mirror = m.pop("_mirror")
    out = dict(m)
    for k, v in m.items():
        if k.startswith("left_"):
            out["right_" + k[5:]] = None if v is None else mirror(v)
    return {k: out.get(k) for k in CANONICAL_NAMES}


SOURCE_JOINT_MAPS: dict[str, dict[str, str | None]] = {
    # Bandai-Namco (after read_bvh folds the static joint_Root: 21 joints, Hips is joint 0).
    "bandai-namco": _lr({
        "_mirror": lambda v: v[:-2] + "_R",
        "pelvis": "Hips", "spine1": "Spine", "spine2": None, "spine3": "Chest",
        "neck": "Neck", "head": "Head",
        "left_hip": "UpperLeg_L", "left_knee": "LowerLeg_L", "left_ankle": "Foot_L",
        "left_foot": "Toes_L", "left_collar": "Shoulder_L", "left_shoulder": "UpperArm_L",
        "left_elbow": "LowerArm_L", "left_wrist": "Hand_L",
    }),
    # CMU via cgspeed's Daz-friendly BVH (43 joints).
    "cgspeed-daz-43j": _lr({
        "_mirror": lambda v: "r" + v[1:],
        "pelvis": "hip", "spine1": "abdomen", "spine2": None, "spine3": "chest",
        "neck": "neck", "head": "head",
        "left_hip": "lThigh", "left_knee": "lShin", "left_ankle": "lFoot", "left_foot": None,
        "left_collar": "lCollar", "left_shoulder": "lShldr", "left_elbow": "lForeArm",
        "left_wrist": "lHand",
    }),
    # CMU raw ASF names (31 joints, ASF units).
    "cmu-asf-31j": _lr({
        "_mirror": lambda v: "r" + v[1:],
        "pelvis": "hip", "spine1": "lowerback", "spine2": "upperback", "spine3": "thorax",
        "neck": "upperneck", "head": "head",
        "left_hip": "lfemur", "left_knee": "ltibia", "left_ankle": "lfoot", "left_foot": "ltoes",
        "left_collar": "lclavicle", "left_shoulder": "lhumerus", "left_elbow": "lradius",
        "left_wrist": "lhand",
    }),
    # iClone / Character Creator 3 (100 joints; the 101-joint files lose RL_BoneRoot in
    # read_bvh and become identical).
    "iclone-cc3-100j": _lr({
        "_mirror": lambda v: v.replace("_L_", "_R_"),
        "pelvis": "CC_Base_Hip", "spine1": "CC_Base_Spine01", "spine2": "CC_Base_Spine02",
        "spine3": None, "neck": "CC_Base_NeckTwist01", "head": "CC_Base_Head",
        "left_hip": "CC_Base_L_Thigh", "left_knee": "CC_Base_L_Calf",
        "left_ankle": "CC_Base_L_Foot", "left_foot": "CC_Base_L_ToeBase",
        "left_collar": "CC_Base_L_Clavicle", "left_shoulder": "CC_Base_L_Upperarm",
        "left_elbow": "CC_Base_L_Forearm", "left_wrist": "CC_Base_L_Hand",
    }),
    # DeepMimic humanoid3d (15 joints; wrists are fixed joints).
    "deepmimic-humanoid3d": _lr({
        "_mirror": lambda v: "right_" + v[5:],
        "pelvis": "root", "spine1": None, "spine2": "chest", "spine3": None,
        "neck": "neck", "head": None,
        "left_hip": "left_hip", "left_knee": "left_knee", "left_ankle": "left_ankle",
        "left_foot": None, "left_collar": None, "left_shoulder": "left_shoulder",
        "left_elbow": "left_elbow", "left_wrist": "left_wrist",
    }),
}
SOURCE_JOINT_MAPS["iclone-cc3-101j"] = dict(SOURCE_JOINT_MAPS["iclone-cc3-100j"])

# ======================================================================================
# rest poses
# ======================================================================================
# Bandai-Namco's and iClone's zero-rotation pose is not a human pose: every Bandai bone lies
# along +X (hips lateral -Y, shoulders lateral +X+Z), every iClone bone along +Y (the legs
# point up). Rest directions and each bone's twist about its own axis then mean nothing, and
# the retargeter, which aligns rest frames, twisted the imported motion: Bandai's spine1/2
# turned 90 degrees against the pelvis, the right upper arm rolled ~140 degrees, the feet
# rolled ~70 degrees; iClone's feet came out upside down (rolled 180 degrees) and the knees
# rolled ~120 degrees. The readers therefore rebase these skeletons (`bvh.rebase_rest`, exact:
# every frame's joint positions are unchanged) onto a real pose, turned to face +Z:
# - iClone: the CC3 bind T-pose, which the iClone conversion of CMU subject 07 writes as frame
#   0 of 07_03 ... 07_12 (identical in all ten; every iClone file has the same skeleton).
# - Bandai-Namco: a standing pose, the mean of frame 0 of dataset 1's seven "normal"-style bow,
#   bye, byebye, call (two takes), guide and respond clips (all within 7 degrees of the mean
#   for the torso and legs, 9-14 for the arms, 24 for the toes; dataset 2 shares the
#   skeleton).
# World orientation (w, x, y, z), in the file's axes, of each joint in that pose; a joint not
# listed takes its parent's (twist, share, finger and toe bones).
_BIND_ROTATIONS = {
    "bandai-namco": {
        'Hips': (0.7104, -0.0602, -0.0621, 0.6984),
        'Spine': (0.5651, 0.4435, 0.4754, 0.5079),
        'Chest': (0.5508, 0.4380, 0.4889, 0.5154),
        'Neck': (0.5292, 0.4574, 0.4996, 0.5110),
        'Head': (0.5033, 0.4832, 0.5109, 0.5022),
        'Shoulder_L': (0.9975, -0.0304, -0.0575, -0.0259),
        'UpperArm_L': (0.7566, -0.1329, 0.1205, -0.6288),
        'LowerArm_L': (0.7650, -0.2452, -0.0182, -0.5952),
        'Hand_L': (0.8258, 0.0376, -0.2079, -0.5229),
        'Shoulder_R': (0.0370, 0.9939, 0.0556, 0.0876),
        'UpperArm_R': (0.1572, 0.7429, 0.6190, 0.2008),
        'LowerArm_R': (0.2854, 0.7688, 0.5711, 0.0379),
        'Hand_R': (0.0306, 0.8277, 0.5486, -0.1138),
        'UpperLeg_L': (0.7049, 0.0663, -0.0691, -0.7028),
        'LowerLeg_L': (0.7080, 0.1093, -0.0253, -0.6973),
        'Foot_L': (0.6288, -0.2785, -0.3218, -0.6507),
        'Toes_L': (0.5759, -0.3694, -0.4091, -0.6038),
        'UpperLeg_R': (0.0261, -0.6821, -0.7308, 0.0099),
        'LowerLeg_R': (0.0627, -0.6821, -0.7281, -0.0245),
        'Foot_R': (0.4003, 0.6799, 0.5828, -0.1946),
        'Toes_R': (0.4802, 0.6447, 0.5190, -0.2905),
    },
    "iclone": {
        'CC_Base_Hip': (1.0000, -0.0000, 0.0000, -0.0017),
        'CC_Base_Pelvis': (0.9947, 0.1025, -0.0002, -0.0017),
        'CC_Base_L_Thigh': (0.0025, -0.0003, 0.0422, 0.9991),
        'CC_Base_L_Calf': (0.0031, 0.0003, -0.0404, 0.9992),
        'CC_Base_L_Foot': (0.0304, -0.0451, -0.6222, -0.7810),
        'CC_Base_L_ToeBase': (0.0371, -0.0078, -0.7401, -0.6714),
        'CC_Base_R_Thigh': (0.0027, 0.0012, -0.0373, -0.9993),
        'CC_Base_R_Calf': (0.0031, 0.0017, 0.0357, -0.9994),
        'CC_Base_R_Foot': (0.0312, -0.0463, 0.6223, 0.7808),
        'CC_Base_R_ToeBase': (0.0382, -0.0090, 0.7402, 0.6713),
        'CC_Base_Waist': (0.9900, 0.1412, 0.0000, 0.0000),
        'CC_Base_Spine01': (0.9990, -0.0437, 0.0000, 0.0000),
        'CC_Base_Spine02': (0.9959, -0.0900, -0.0000, 0.0000),
        'CC_Base_NeckTwist01': (0.9952, 0.0978, -0.0000, 0.0000),
        'CC_Base_NeckTwist02': (0.9965, 0.0840, -0.0000, 0.0000),
        'CC_Base_Head': (1.0000, -0.0001, -0.0000, 0.0000),
        'CC_Base_L_Clavicle': (0.7110, -0.0900, 0.0942, -0.6911),
        'CC_Base_L_Upperarm': (0.6916, 0.0034, -0.0030, -0.7222),
        'CC_Base_L_Forearm': (0.6995, 0.0043, -0.0039, -0.7146),
        'CC_Base_L_Hand': (0.6708, -0.0152, 0.0143, -0.7414),
        'CC_Base_R_Clavicle': (0.7109, -0.0900, -0.0941, 0.6911),
        'CC_Base_R_Upperarm': (0.6916, 0.0057, 0.0025, 0.7222),
        'CC_Base_R_Forearm': (0.6995, 0.0065, 0.0033, 0.7146),
        'CC_Base_R_Hand': (0.6707, -0.0140, -0.0160, 0.7414),
    },
}
_BIND_OF_TYPE = {"bandai-namco": "bandai-namco", "iclone-cc3-100j": "iclone",
                 "iclone-cc3-101j": "iclone"}
_BIND_NOTE = {"bandai-namco": "standing pose of dataset 1 (mean of 7 'normal' first frames)",
              "iclone": "CC3 bind T-pose (frame 0 of the iClone conversion of CMU 07_03)"}


def bind_rotations(skeleton: Skeleton, skeleton_type: str) -> np.ndarray | None:
    """(J, 4) world orientations of the joints in the rest pose a skeleton type is rebased
    onto (see `_BIND_ROTATIONS`), turned about +Y so the body faces +Z; None for a type whose
    zero-rotation pose is already a usable T-pose (cgspeed, ASF, DeepMimic)."""
    key = _BIND_OF_TYPE.get(skeleton_type)
    if key is None:
        return None
    table = _BIND_ROTATIONS[key]
    J = len(skeleton)
    B = quat.identity((J,))
    for j, name in enumerate(skeleton.names):
        if name in table:
            B[j] = table[name]
        elif skeleton.parents[j] >= 0:
            B[j] = B[skeleton.parents[j]]
    B = quat.normalize(B)
    m = SOURCE_JOINT_MAPS[skeleton_type]
    sk, _ = rebase_rest(skeleton, quat.identity((1, J)), B)
    _, pos = sk.rest_world()
    lat = pos[sk.index(m["left_hip"])] - pos[sk.index(m["right_hip"])]
    yaw = quat.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.array(np.arctan2(lat[2], lat[0])))
    return quat.normalize(quat.mul(yaw[None], B))


def _rebase(skeleton: Skeleton, rots: np.ndarray, skeleton_type: str, end_sites,
            labels: dict) -> tuple[Skeleton, np.ndarray]:
    B = bind_rotations(skeleton, skeleton_type)
    if B is not None:
        labels["rest_pose"] = _BIND_NOTE[_BIND_OF_TYPE[skeleton_type]]
        skeleton, rots = rebase_rest(skeleton, rots, B, end_sites)
    return _fix_tails(skeleton, skeleton_type), rots


# Tails (`Skeleton.tails`, where a bone points) that `bvh.bone_tails` cannot guess right; the
# retargeter reads segment directions from them (a head's from its tail):
# - heads whose children are the eyes (cgspeed: leftEye/rightEye; iClone: the facial bone,
#   whose children are the jaw and eyes): the tail went to one eye, forward-up and 18-31
#   degrees to one side, so imported heads hung up to ~35 degrees forward and rolled 20-35
#   degrees (cgspeed to the right, iClone to the left, on the same CMU walks). Both rests are
#   T-poses with the head upright, so the tail points straight up (+Y) instead, keeping its
#   length. (The neck -> head pivot line is no better: it leans 10-15 degrees forward.)
# - Bandai's toes (a zero-length End Site: the tail continues the bone) pointed 40 degrees into
#   the floor in the standing rest (the shod foot's ankle -> toe-joint line), where toes lie
#   flat: they are laid horizontal (same length and heading; Bandai's rest is a standing pose).
_UPRIGHT_TAILS = {"cgspeed-daz-43j": ("head",), "iclone-cc3-100j": ("CC_Base_Head",),
                  "iclone-cc3-101j": ("CC_Base_Head",)}
_FLAT_TAILS = {"bandai-namco": ("Toes_L", "Toes_R")}


def _fix_tails(skel: Skeleton, skeleton_type: str) -> Skeleton:
    up = [skel.index(n) for n in _UPRIGHT_TAILS.get(skeleton_type, ()) if n in skel.names]
    flat = [skel.index(n) for n in _FLAT_TAILS.get(skeleton_type, ()) if n in skel.names]
    if not up and not flat:
        return skel
    tails = skel.tails.copy()
    for j in up:
        tails[j] = np.array([0.0, 1.0, 0.0]) * np.linalg.norm(tails[j])
    for j in flat:
        t = tails[j]
        h = np.array([t[0], 0.0, t[2]])
        if np.linalg.norm(h) > 1e-6:
            tails[j] = h * (np.linalg.norm(t) / np.linalg.norm(h))
    return Skeleton(skel.names, skel.parents, skel.offsets, skel.rest_rotations, tails)


# ======================================================================================
# Bandai-Namco
# ======================================================================================
# Caption vocabulary: one table. Content -> verb phrases (third person, to follow a subject);
# style -> subjects (noun phrases) and manners (suffixes, with their own leading space/comma).
# Meanings were checked on the motion where the label is vague: "bye" waves the right hand,
# "byebye" both hands held high, "guide" shows the way with the right hand, "respond" raises the
# left hand high, "call" leans forward ~40 degrees with the hands raised, "slash" is a two-
# handed overhead cut, walk-left/right travel diagonally (20-30 degrees off the body's facing).
CAPTION_VOCAB = {
    "content": {
        "walk": ["walks forward", "walks straight ahead", "takes a walk forward"],
        "walk-back": ["walks backward", "walks backwards without turning around",
                      "steps back several times"],
        "walk-left": ["walks forward and to the left", "walks diagonally to the left",
                      "walks off toward the left"],
        "walk-right": ["walks forward and to the right", "walks diagonally to the right",
                       "walks off toward the right"],
        "walk-turn-left": ["walks and turns left", "walks forward, then turns to the left",
                           "turns left while walking"],
        "walk-turn-right": ["walks and turns right", "walks forward, then turns to the right",
                            "turns right while walking"],
        "run": ["runs forward", "jogs ahead", "runs straight ahead"],
        "dash": ["dashes forward", "sprints ahead", "runs forward at full speed"],
        "bow": ["bows", "bows forward from the waist", "gives a bow"],
        "bye": ["waves goodbye with the right hand", "waves the right hand to say goodbye",
                "says goodbye, waving one hand"],
        "byebye": ["waves goodbye with both hands", "waves both hands high to say goodbye",
                   "says goodbye, waving both arms"],
        "guide": ["gestures with the right hand to show the way",
                  "points the way with an open right hand",
                  "guides someone, showing the direction with the right hand"],
        "call": ["leans forward and calls out to someone",
                 "calls someone over, gesturing with the hands",
                 "calls out, leaning forward with the hands raised"],
        "respond": ["raises the left hand in reply", "answers by raising the left hand high",
                    "responds, putting the left hand up"],
        "punch": ["throws punches", "punches with the fists", "boxes, throwing punches"],
        "kick": ["kicks", "throws a kick", "kicks out with one leg"],
        "slash": ["slashes downward with a sword held in both hands",
                  "swings a sword overhead and cuts down",
                  "cuts down with a two-handed sword"],
        "dance-short": ["dances", "does a short dance", "dances to music"],
        "dance-long": ["dances", "performs a long dance", "dances to music"],
        "wave-left-hand": ["waves the left hand", "waves with the left hand",
                           "raises the left hand and waves it"],
        "wave-right-hand": ["waves the right hand", "waves with the right hand",
                            "raises the right hand and waves it"],
        "wave-both-hands": ["waves both hands", "waves with both hands",
                            "raises both hands and waves them"],
        "raise-up-left-hand": ["raises their left hand", "lifts the left hand",
                               "puts the left hand up"],
        "raise-up-right-hand": ["raises their right hand", "lifts the right hand",
                                "puts the right hand up"],
        "raise-up-both-hands": ["raises both hands", "lifts both arms up",
                                "puts both hands up in the air"],
    },
    "style": {
        "normal": {"subjects": ["a person", "someone"], "manners": [""]},
        "happy": {"subjects": ["a happy person", "a cheerful person"],
                  "manners": [" happily", ", looking cheerful", " in a happy mood"]},
        "sad": {"subjects": ["a sad person", "a gloomy person"],
                "manners": [" sadly", ", looking sad", " in a dejected way"]},
        "angry": {"subjects": ["an angry person", "an irritated person"],
                  "manners": [" angrily", ", looking angry", " in a furious way"]},
        "proud": {"subjects": ["a proud person", "a self-assured person"],
                  "manners": [" proudly", ", chest out with pride", " in a proud, haughty way"]},
        "not-confident": {"subjects": ["an unconfident person", "a timid person"],
                          "manners": [" timidly", ", lacking confidence", " hesitantly"]},
        "masculinity": {"subjects": ["a masculine person", "a manly person"],
                        "manners": [" in a masculine way", ", with a strong, manly bearing",
                                    " in a macho manner"]},
        "masculine": {"subjects": ["a masculine person", "a manly person"],
                      "manners": [" in a masculine way", ", with a strong, manly bearing",
                                  " in a macho manner"]},
        "feminine": {"subjects": ["a feminine person", "a graceful, feminine person"],
                     "manners": [" in a feminine way", ", with a graceful, feminine manner",
                                 " daintily"]},
        "childish": {"subjects": ["a childish person", "a child-like person"],
                     "manners": [" like a child", " in a childish way",
                                 ", playful like a little kid"]},
        "youthful": {"subjects": ["a youthful person", "a young, lively person"],
                     "manners": [" youthfully", " in a youthful way",
                                 ", full of youthful energy"]},
        "old": {"subjects": ["an old person", "an elderly person"],
                "manners": [" like an old person", " slowly, like an elderly person",
                            ", stiff with age"]},
        "elderly": {"subjects": ["an elderly person", "an old person"],
                    "manners": [" like an elderly person",
                                " slowly and stiffly, like an old person", ", bent with age"]},
        "tired": {"subjects": ["a tired person", "a weary person"],
                  "manners": [" tiredly", ", looking tired", " wearily"]},
        "exhausted": {"subjects": ["an exhausted person", "a worn-out person"],
                      "manners": [", exhausted", " wearily, completely exhausted",
                                  ", out of energy"]},
        "active": {"subjects": ["an energetic person", "a lively person"],
                   "manners": [" energetically", " in an active, lively way", ", full of energy"]},
        "musical": {"subjects": ["a theatrical person", "a musical performer"],
                    "manners": [" rhythmically, like in a musical",
                                " theatrically, as if in a musical", ", moving to a rhythm"]},
        "giant": {"subjects": ["a giant", "a huge, heavy person"],
                  "manners": [" like a giant", " with heavy, lumbering movements",
                              ", heavy and lumbering like a giant"]},
        # chimpira: Japanese for a small-time thug / young delinquent
        "chimpira": {"subjects": ["a street punk", "a young thug"],
                     "manners": [" swaggering like a street punk", " with a thuggish swagger",
                                 ", strutting like a delinquent"]},
    },
}


def bandai_captions(content: str, style: str) -> list[str]:
    """Natural-English paraphrases for a Bandai content/style pair (3-4, deduplicated).
    Raises KeyError for a label missing from CAPTION_VOCAB."""
    verbs = CAPTION_VOCAB["content"][content]
    st = CAPTION_VOCAB["style"][style]
    subj, man = st["subjects"], st["manners"]
    caps = [
        f"a person {verbs[0]}{man[0]}",
        f"{subj[0]} {verbs[1 % len(verbs)]}",
        f"someone {verbs[2 % len(verbs)]}{man[1 % len(man)]}",
        f"{subj[1 % len(subj)]} {verbs[0]}",
    ]
    out = []
    for c in caps:
        c = re.sub(r"\s+", " ", c).strip()
        if c not in out:
            out.append(c)
    return out


_BANDAI_NAME = re.compile(r"^dataset-(\d)_(.+?)_([a-z-]+)_(\d+)$")


def _read_labels(path: Path, dataset: int) -> list[str]:
    prefix = f"dataset-{dataset}_"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            out.append(line[len(prefix):] if line.startswith(prefix) else line)
    return out


def iter_bandai(shared_root, cache_dir, report: SourceReport | None = None,
                datasets=(1, 2), limit: int | None = None, sanity_check: bool = True
                ) -> Iterator[SourceClip]:
    """Bandai-Namco-Research-Motiondataset 1 and 2 (CC BY-NC 4.0, not for commercial use).

    Extracts `dataset-N.tar.xz` into `cache_dir/bandai-namco/dataset-N/` once, then reads
    each BVH (centimetres, 30 fps) and its JSON labels (indices into cfg/content_label.txt and
    cfg/style_label.txt, read from the shared folder next to the archives, whose `dataset-N_`
    prefixes are stripped). `limit` stops after that
    many clips per dataset (tests)."""
    report = report if report is not None else SourceReport("bandai")
    report.source = report.source or "bandai"
    t0 = time.perf_counter()
    root = _data_root(shared_root) / "bandai-namco"
    for n in datasets:
        archive = root / f"dataset-{n}.tar.xz"
        if not archive.exists():
            report._fail(f"dataset-{n}", f"archive not found: {archive}")
            continue
        try:
            dest = extract_archive(archive, Path(cache_dir).expanduser() / "bandai-namco"
                                   / f"dataset-{n}")
        except (OSError, tarfile.TarError, ValueError) as e:
            report._fail(f"dataset-{n}", f"cannot extract {archive.name}: {e}")
            continue
        sub = Path("dataset") / f"Bandai-Namco-Research-Motiondataset-{n}"
        base = dest / sub
        # cfg/ ships next to the archives (the tars hold only data/); an extracted copy works too
        cfg = next((c for c in (root / sub / "cfg", base / "cfg")
                    if (c / "content_label.txt").exists()), root / sub / "cfg")
        try:
            contents = _read_labels(cfg / "content_label.txt", n)
            styles = _read_labels(cfg / "style_label.txt", n)
        except OSError as e:
            report._fail(f"dataset-{n}", f"cannot read cfg labels: {e}")
            continue
        count = 0
        for bvh_path in sorted((base / "data").glob("*.bvh")):
            if limit is not None and count >= limit:
                break
            name = bvh_path.stem
            try:
                clip = _bandai_clip(bvh_path, n, contents, styles)
            except (BvhError, OSError, ValueError, KeyError, IndexError) as e:
                report._fail(name, f"{type(e).__name__}: {e}")
                continue
            reason = check_clip(clip) if sanity_check else None
            if reason:
                report._fail(name, reason)
                continue
            count += 1
            report._ok(clip)
            yield clip
    report.elapsed += time.perf_counter() - t0


def _bandai_clip(bvh_path: Path, n: int, contents, styles) -> SourceClip:
    name = bvh_path.stem
    m = _BANDAI_NAME.match(name)
    json_path = bvh_path.with_suffix(".json")
    lab = json.loads(json_path.read_text(encoding="utf-8"))
    content, style = contents[int(lab["content"])], styles[int(lab["style"])]
    labels = {"dataset": n, "content": content, "style": style,
              "take": int(m.group(4)) if m else None}
    if m and (m.group(2), m.group(3)) != (content, style):
        labels["name_label_mismatch"] = f"file name says {m.group(2)}/{m.group(3)}"
    d = read_bvh(bvh_path, scale=0.01, root_position="absolute")
    labels["bvh_warnings"] = list(d.warnings)
    rots, trans = d.local_rotations, d.root_translation
    n_ref, why = leading_reference_frames(trans, d.fps)
    if n_ref:
        rots, trans = rots[n_ref:], trans[n_ref:]
        labels["dropped_reference_frames"] = n_ref
        labels["reference_frames_reason"] = why
    skel, rots = _rebase(d.skeleton, rots, "bandai-namco", d.end_sites, labels)
    return SourceClip(
        name=name, path=str(bvh_path), skeleton_type="bandai-namco", skeleton=skel,
        local_rotations=rots, root_translation=trans, fps=d.fps,
        captions=bandai_captions(content, style), labels=labels,
        licence=LICENCES["bandai"], attribution=ATTRIBUTIONS["bandai"], commercial_ok=False,
        source="bandai", bvh=d)


# ======================================================================================
# CMU
# ======================================================================================
_CMU_ARCHIVES = ("przestr-motion-capture.tar.xz", "papagina-acrnn-dance.tar.xz",
                 "iclone-cmu-mocap.tar.xz")
_CMU_SHORT = {"przestr-motion-capture.tar.xz": "przestr",
              "papagina-acrnn-dance.tar.xz": "papagina",
              "iclone-cmu-mocap.tar.xz": "iclone"}
_CMU_SCALE = {"cgspeed-daz-43j": 0.01, "cmu-asf-31j": UNIT_SCALES["asf"],
              "iclone-cc3-100j": 0.01, "iclone-cc3-101j": 0.01}
# cgspeed's converter (przestr and papagina, all 99 trials) writes a T-pose as frame 0 and then
# blends out of it over the next 7 frames, whatever the frame rate: the arms swing down from
# horizontal (02_01's left upper arm: 0, 25, 51, 73, 89, 96, 95, 92, 90, 90 degrees from rest
# over file frames 0-9), overshooting and settling by frame 8. iClone's conversion of the same
# trials starts in the settled pose. The first 8 file frames are dropped (67 ms at 120 fps).
_CGSPEED_LEAD_IN = 8
# iClone writes the hip height in the root OFFSET and adds the channels to it (the others have
# a zero root OFFSET, where both readings agree).
_CMU_ROOT_POSITION = {"iclone-cc3-100j": "relative", "iclone-cc3-101j": "relative"}


def _clean(s: str) -> str:
    return re.sub(r"\s+", " ", s or "").strip()


def iter_cmu(shared_root, cache_dir, report: SourceReport | None = None,
             archives=_CMU_ARCHIVES, sanity_check: bool = True, only=None
             ) -> Iterator[SourceClip]:
    """The three CMU BVH subsets, driven by cmu/files.csv (CMU terms: commercial use fine).

    - fps is `playback_fps` from files.csv, not the header's (salsa: 60 not 120; the two ASF
      files: 120 not 30).
    - cgspeed (Daz 43-joint) files lose their first 8 frames: a T-pose the converter added
      and its blend out of it (only the first frame when the file has <= 32 frames or
      frame 0 is not a T-pose).
    - a leading reference frame followed by a teleport (iClone subject 07: a T-pose at
      the origin, the walk 2 m away) is dropped; see `leading_reference_frames`.
    - `standard.bvh` (a 3-frame reference skeleton, no trial) is skipped with a reason.
    - captions: the trial description, then the subject description (either may be empty).
    `archives` limits which tars are used; `only` (trial ids like "16_01" or member paths)
    limits which rows are read.
    """
    report = report if report is not None else SourceReport("cmu")
    report.source = report.source or "cmu"
    t0 = time.perf_counter()
    root = _data_root(shared_root) / "cmu"
    try:
        with open(root / "files.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        report._fail("files.csv", f"cannot read: {e}")
        report.elapsed += time.perf_counter() - t0
        return
    if only is not None:
        only = set(only)
        rows = [r for r in rows if r.get("trial_id") in only or r.get("path") in only]
    needed = {r["archive"] for r in rows}
    dests = {}
    for a in archives:
        if a not in needed:
            continue
        try:
            dests[a] = extract_archive(root / a, Path(cache_dir).expanduser() / "cmu"
                                       / a.replace(".tar.xz", ""))
        except (OSError, tarfile.TarError, ValueError) as e:
            report._fail(a, f"cannot extract: {e}")
    for row in rows:
        a = row["archive"]
        if a not in archives:
            continue
        member = row["path"]
        short = _CMU_SHORT.get(a, a)
        trial = row.get("trial_id", "")
        name = f"cmu-{trial or Path(member).stem}-{short}"
        if not trial:
            report.skipped.append((f"{short}:{member}",
                                   f"not a CMU trial: {_clean(row.get('description'))}"))
            continue
        if a not in dests:
            report._fail(name, f"archive {a} unavailable")
            continue
        try:
            clip = _cmu_clip(dests[a] / member, row, name)
        except (BvhError, OSError, ValueError, KeyError) as e:
            report._fail(name, f"{type(e).__name__}: {e}")
            continue
        reason = check_clip(clip) if sanity_check else None
        if reason:
            report._fail(name, reason)
            continue
        report._ok(clip)
        yield clip
    report.elapsed += time.perf_counter() - t0


def _cmu_clip(path: Path, row: dict, name: str) -> SourceClip:
    skel_type = row["skeleton"]
    if skel_type not in _CMU_SCALE:
        raise ValueError(f"unknown skeleton type {skel_type!r} in files.csv")
    fps = float(row["playback_fps"])
    if not fps > 0:
        raise ValueError(f"bad playback_fps {row['playback_fps']!r}")
    d = read_bvh(path, scale=_CMU_SCALE[skel_type],
                 root_position=_CMU_ROOT_POSITION.get(skel_type, "auto"))
    rots, trans = d.local_rotations, d.root_translation
    labels = {k: row.get(k, "") for k in ("trial_id", "archive", "path", "skeleton",
                                          "trial_id_source")}
    labels.update(subject=int(row["trial_id"].split("_")[0]),
                  header_fps=d.fps, capture_fps=float(row["capture_fps"] or 0),
                  description=_clean(row.get("description")),
                  subject_description=_clean(row.get("subject_description")),
                  bvh_warnings=list(d.warnings))
    if skel_type == "cgspeed-daz-43j":
        _, ang = quat.to_axis_angle(rots[0, 1:])
        drop = 1
        if ang.size and float(np.degrees(ang).max()) > 15.0:
            labels["note"] = "first frame dropped as the converter's T-pose but it is not one"
        elif rots.shape[0] > 4 * _CGSPEED_LEAD_IN:
            drop = _CGSPEED_LEAD_IN         # the T-pose and the converter's blend out of it
        rots, trans = rots[drop:], trans[drop:]
        labels["dropped_first_frame"] = True
        labels["lead_in_frames"] = drop
        if rots.shape[0] == 0:
            raise ValueError("no frames left after dropping the T-pose frame")
    n_ref, why = leading_reference_frames(trans, fps)
    if n_ref:
        rots, trans = rots[n_ref:], trans[n_ref:]
        labels["dropped_reference_frames"] = n_ref
        labels["reference_frames_reason"] = why
    skel, rots = _rebase(d.skeleton, rots, skel_type, d.end_sites, labels)
    captions = [c for c in (labels["description"], labels["subject_description"]) if c]
    if not captions:
        captions = [f"CMU motion capture trial {row['trial_id']}"]
    return SourceClip(
        name=name, path=str(path), skeleton_type=skel_type, skeleton=skel,
        local_rotations=rots, root_translation=trans, fps=fps, captions=captions,
        labels=labels, licence=LICENCES["cmu"], attribution=ATTRIBUTIONS["cmu"],
        commercial_ok=True, source="cmu", bvh=d)


# ======================================================================================
# DeepMimic
# ======================================================================================
# Hand-written; sides, turns and travel were checked on the motion (FK): the kick, punch and
# spin kick use the right side, dance_a and dance_spin contain one full turn, spin two, the
# jump travels ~1 m forward, long_walk2 loops almost twice.
DEEPMIMIC_CAPTIONS = {
    "humanoid3d_backflip": ["a person does a backflip",
                            "someone jumps up and flips over backwards, landing on their feet"],
    "humanoid3d_cartwheel": ["a person does a cartwheel",
                             "someone turns a cartwheel, hands to the ground and legs over"],
    "humanoid3d_crawl": ["a person crawls forward on hands and knees",
                         "someone crawls along the ground on all fours"],
    "humanoid3d_dance_a": ["a person dances, stepping and turning all the way around",
                           "someone does a short, relaxed dance with a full turn"],
    "humanoid3d_dance_b": ["a person dances energetically, swinging the arms",
                           "someone does a lively dance with big arm movements"],
    "humanoid3d_dance_spin": ["a person spins around on one spot like a dancer",
                              "someone does a dance spin with the arms held out straight"],
    "humanoid3d_getup_facedown": ["a person lying face down gets up and stands",
                                  "someone pushes up from lying on their stomach to standing"],
    "humanoid3d_getup_faceup": ["a person lying on their back gets up and stands",
                                "someone sits up from lying on their back and rises to standing"],
    "humanoid3d_jog": ["a person jogs forward", "someone jogs at an easy pace"],
    "humanoid3d_jump": ["a person jumps forward with both feet",
                        "someone swings the arms and does a standing long jump"],
    "humanoid3d_kick": ["a person steps in and kicks high with the right leg",
                        "someone does a high kick with the right foot, turning the hips"],
    "humanoid3d_punch": ["a person steps forward and punches with the right fist",
                         "someone steps in and throws a right punch"],
    "humanoid3d_roll": ["a person does a forward roll",
                        "someone rolls forward over the ground and comes back up"],
    "humanoid3d_run": ["a person runs forward", "someone runs fast"],
    "humanoid3d_sideflip": ["a person does a side flip",
                            "someone flips sideways through the air"],
    "humanoid3d_spin": ["a person spins around twice",
                        "someone whirls around through two full turns"],
    "humanoid3d_spinkick": ["a person does a spinning kick",
                            "someone spins around and kicks high with the right leg"],
    "humanoid3d_stealthy_walk": ["a person sneaks forward stealthily, crouching",
                                 "someone creeps ahead quietly on bent knees"],
    "humanoid3d_walk": ["a person walks forward", "someone walks at a normal pace"],
    "humanoid3d_zombie_walk": ["a person walks like a zombie",
                               "someone shuffles forward like a zombie, arms stretched out "
                               "in front"],
    "humanoid3d_long_walk1": ["a person walks around, changing direction",
                              "someone walks about at a normal pace for a while"],
    "humanoid3d_long_walk1_mirror": ["a person walks around, changing direction",
                                     "someone walks about at a normal pace for a while"],
    "humanoid3d_long_walk2": ["a person walks around in circles",
                              "someone strolls in loops for a while"],
    "humanoid3d_long_walk2_mirror": ["a person walks around in circles",
                                     "someone strolls in loops for a while"],
    "humanoid3d_long_walk3": ["a person walks around, turning now and then",
                              "someone walks about for a while"],
    "humanoid3d_long_walk3_mirror": ["a person walks around, turning now and then",
                                     "someone walks about for a while"],
    "humanoid3d_long_walk0": ["a person walks around, changing direction",
                              "someone walks about at a normal pace for a while"],
    "humanoid3d_long_walk0_mirror": ["a person walks around, changing direction",
                                     "someone walks about at a normal pace for a while"],
    "humanoid3d_long_zombie": ["a person walks around like a zombie for a while",
                               "someone shuffles about like a zombie, arms held out in front"],
    "humanoid3d_stealthy_walk0": ["a person sneaks around stealthily, crouching",
                                  "someone creeps about quietly on bent knees"],
    "humanoid3d_stealthy_walk1": ["a person sneaks around stealthily, crouching",
                                  "someone creeps about quietly on bent knees"],
}

# The character faces +X (its left hip is at -Z); a -90 degree turn about Y makes it face +Z
# like the BVH sources (axes.py's convention for Y-up sources).
_DM_TURN = quat.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.array(-np.pi / 2))
# Tails of the DeepMimic leaves, from the character's BodyDefs (facing +X, metres): the head
# sphere's top above the neck, the foot box's front sole ahead of the ankle, the hand sphere.
_DM_LEAF_TAILS = {"neck": (0.0, 0.2775, 0.0), "right_ankle": (0.1335, -0.05, 0.0),
                  "left_ankle": (0.1335, -0.05, 0.0), "right_wrist": (0.0, -0.08, 0.0),
                  "left_wrist": (0.0, -0.08, 0.0)}
_DM_DOFS = {"none": 0, "spherical": 4, "revolute": 1, "fixed": 0}


def _deepmimic_skeleton(char_path: Path):
    """(Skeleton in DeepMimic's own axes, joint types)."""
    spec = json.loads(Path(char_path).read_text(encoding="utf-8"))
    joints = spec["Skeleton"]["Joints"]
    joints = sorted(joints, key=lambda j: int(j["ID"]))
    names = [j["Name"] for j in joints]
    parents = np.array([int(j["Parent"]) for j in joints])
    types = [j["Type"] for j in joints]
    for j in joints:
        if any(abs(float(j.get(k, 0.0))) > 1e-9 for k in ("AttachThetaX", "AttachThetaY",
                                                          "AttachThetaZ")):
            raise ValueError(f"joint {j['Name']!r} has a rotated attachment frame; only "
                             f"world-aligned joint frames are supported")
        if j["Type"] not in _DM_DOFS:
            raise ValueError(f"joint {j['Name']!r} has unknown type {j['Type']!r}")
    offsets = np.array([[float(j["AttachX"]), float(j["AttachY"]), float(j["AttachZ"])]
                        for j in joints])
    # Standing rest height: the soles (5 cm below the ankles) on the floor.
    ankles = [i for i, n in enumerate(names) if n.endswith("ankle")]
    if ankles:
        k = ankles[0]
        h = 0.0
        while k > 0:
            h += offsets[k][1]
            k = parents[k]
        offsets[0] = (0.0, -h + 0.05, 0.0)
    end_sites = {i: np.array(_DM_LEAF_TAILS[n]) for i, n in enumerate(names)
                 if n in _DM_LEAF_TAILS}
    tails = bone_tails(parents, offsets, end_sites)
    for i, e in end_sites.items():   # the neck and ankles have children in some variants
        tails[i] = e
    return Skeleton(names, parents, offsets, None, tails), types


def _deepmimic_motion(frames: np.ndarray, types: list, parents) -> tuple:
    """Frames (T, 1 + 3 + 4 + dofs) -> (local_rotations (T, J, 4), root_translation (T, 3))."""
    T = frames.shape[0]
    J = len(types)
    need = 8 + sum(_DM_DOFS[t] for t in types[1:])
    if frames.shape[1] != need:
        raise ValueError(f"frames have {frames.shape[1]} values, the character needs {need}")
    rots = quat.identity((T, J))
    trans = frames[:, 1:4].astype(np.float64)
    rots[:, 0] = quat.normalize(frames[:, 4:8])
    col = 8
    for j in range(1, J):
        t = types[j]
        if t == "spherical":
            rots[:, j] = quat.normalize(frames[:, col:col + 4])
            col += 4
        elif t == "revolute":   # about the joint's Z axis (DeepMimic's convention)
            rots[:, j] = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), frames[:, col])
            col += 1
    return rots, trans


def _turn(skel: Skeleton, rots, trans, q):
    """Rotate a world-aligned skeleton and its motion about the origin by q."""
    sk = Skeleton(skel.names, skel.parents, quat.rotate(q, skel.offsets), None,
                  quat.rotate(q, skel.tails))
    r = quat.mul(quat.mul(q, rots), quat.conjugate(q))
    return sk, quat.normalize(r), quat.rotate(q, trans)


def iter_deepmimic(shared_root, report: SourceReport | None = None,
                   include_long: bool = True, sanity_check: bool = True
                   ) -> Iterator[SourceClip]:
    """DeepMimic humanoid3d clips (MIT). 15 joints (wrists fixed), metres, Y-up, turned to
    face +Z. Knees and elbows are revolute joints about their Z axis (negative knee angles
    bend the knee backwards, positive elbow angles bend the forearm forwards). fps is 1 / the
    median non-zero frame duration."""
    report = report if report is not None else SourceReport("deepmimic")
    report.source = report.source or "deepmimic"
    t0 = time.perf_counter()
    root = _data_root(shared_root) / "deepmimic" / "data"
    try:
        skel0, types = _deepmimic_skeleton(root / "characters" / "humanoid3d.txt")
    except (OSError, ValueError, KeyError) as e:
        report._fail("humanoid3d.txt", f"cannot read the character: {e}")
        report.elapsed += time.perf_counter() - t0
        return
    files = sorted((root / "motions").glob("humanoid3d_*.txt"))
    if include_long:
        files += sorted((root / "motions" / "long").glob("*.txt"))
    for path in files:
        name = path.stem
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
            frames = np.asarray(spec["Frames"], dtype=np.float64)
            if frames.ndim != 2 or frames.shape[0] == 0:
                raise ValueError(f"Frames has shape {frames.shape}")
            dur = frames[:, 0]
            pos = dur[dur > 0]
            if pos.size == 0:
                raise ValueError("every frame has zero duration")
            step = float(np.median(pos))
            fps = 1.0 / step
            if abs(fps - round(fps)) <= 1e-3 * round(fps):
                fps = float(round(fps))
            rots, trans = _deepmimic_motion(frames, types, skel0.parents)
            skel, rots, trans = _turn(skel0, rots, trans, _DM_TURN)
            labels = {"loop": spec.get("Loop", "none"), "file": str(path.relative_to(root)),
                      "mirror": name.endswith("_mirror")}
            irregular = np.abs(pos - step) > 0.05 * step
            if np.any(irregular):
                labels["irregular_frame_times"] = sorted(set(np.round(pos[irregular], 6)
                                                             .tolist()))
            caps = DEEPMIMIC_CAPTIONS.get(name)
            if caps is None:
                words = name.replace("humanoid3d_", "").replace("_", " ")
                caps = [f"a person: {words}"]
                labels["caption_from_file_name"] = True
            clip = SourceClip(
                name=f"deepmimic-{name}", path=str(path), skeleton_type="deepmimic-humanoid3d",
                skeleton=skel, local_rotations=rots, root_translation=trans, fps=fps,
                captions=list(caps), labels=labels, licence=LICENCES["deepmimic"],
                attribution=ATTRIBUTIONS["deepmimic"], commercial_ok=True, source="deepmimic")
        except (OSError, ValueError, KeyError, TypeError) as e:
            report._fail(name, f"{type(e).__name__}: {e}")
            continue
        reason = check_clip(clip) if sanity_check else None
        if reason:
            report._fail(name, reason)
            continue
        report._ok(clip)
        yield clip
    report.elapsed += time.perf_counter() - t0


# ======================================================================================
def iter_all(shared_root, cache_dir, reports: dict | None = None,
             commercial_only: bool = False) -> Iterator[SourceClip]:
    """Every source in turn. `reports` (a dict) receives one SourceReport per source."""
    reports = reports if reports is not None else {}
    if not commercial_only:
        reports["bandai"] = SourceReport("bandai")
        yield from iter_bandai(shared_root, cache_dir, reports["bandai"])
    reports["cmu"] = SourceReport("cmu")
    yield from iter_cmu(shared_root, cache_dir, reports["cmu"])
    reports["deepmimic"] = SourceReport("deepmimic")
    yield from iter_deepmimic(shared_root, reports["deepmimic"])
