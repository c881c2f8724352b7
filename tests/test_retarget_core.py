"""Retargeting and bone mapping in numpy (no Blender): exactness on identical skeletons,
A-pose and re-proportioned targets, foot planting, and the mapping of known rig families."""
import json
from pathlib import Path

import numpy as np
import pytest

from backend.motion import quat
from backend.motion.bonemap import BoneMap, MappingError, auto_map, load_preset, save_preset
from backend.motion.retarget import RetargetError, position_error, rig_positions
from backend.motion.retarget import retarget as _retarget


def retarget(*args, **kwargs):
    """Canonical sources stand on z = 0 (as in retarget_to_rig)."""
    kwargs.setdefault("src_floor", 0.0)
    return _retarget(*args, **kwargs)
from backend.motion.skeleton import CANONICAL, CANONICAL_NAMES, Skeleton

IDENT = {n: n for n in CANONICAL_NAMES}
MAKEHUMAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "makehuman" / "rigs"


def wavy_motion(T=90, seed=0):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 3, T)
    axes = rng.normal(size=(22, 3))
    amp = rng.uniform(0.1, 0.5, size=22)
    phase = rng.uniform(0, 6, size=22)
    angles = amp[None] * np.sin(2 * np.pi * 0.7 * t[:, None] + phase[None])
    rots = quat.from_axis_angle(np.broadcast_to(axes, (T, 22, 3)), angles)
    root = np.stack([0.5 * t, 0 * t, 0.95 + 0.02 * np.sin(4 * t)], 1)
    return rots, root


def blender_like_rig(heads, tails, seed=1, prefix="B_"):
    """A rig whose bone frames have Y along the bone and arbitrary roll, like Blender's."""
    rng = np.random.default_rng(seed)
    mats = np.zeros((22, 4, 4))
    mats[:, 3, 3] = 1
    for j in range(22):
        y = tails[j] - heads[j]
        y /= np.linalg.norm(y)
        x = np.cross(y, rng.normal(size=3))
        x /= np.linalg.norm(x)
        mats[j, :3, :3] = np.stack([x, y, np.cross(x, y)], 1)
        mats[j, :3, 3] = heads[j]
    names = [prefix + n for n in CANONICAL_NAMES]
    rig = Skeleton.from_rest_matrices(names, CANONICAL.parents, mats,
                                      np.linalg.norm(tails - heads, axis=1))
    return rig, {n: prefix + n for n in CANONICAL_NAMES}


def canonical_heads_tails():
    _, heads = CANONICAL.rest_world()
    return heads.copy(), CANONICAL.rest_tails_world().copy()


def a_pose(heads, tails, degrees=45.0):
    heads, tails = heads.copy(), tails.copy()
    for side, sign in (("left", 1), ("right", -1)):
        s = CANONICAL.index(side + "_shoulder")
        q = quat.from_axis_angle(np.array([0, 1.0, 0]), np.array(sign * np.radians(degrees)))
        for j in CANONICAL.subtree(s)[1:]:
            heads[j] = heads[s] + quat.rotate(q, heads[j] - heads[s])
        for j in CANONICAL.subtree(s):
            tails[j] = heads[s] + quat.rotate(q, tails[j] - heads[s])
    return heads, tails


def test_identity_retarget_is_exact():
    rots, root = wavy_motion()
    pose = retarget(CANONICAL, rots, root, IDENT, CANONICAL, IDENT)
    _, src = CANONICAL.fk(rots, root)
    out = rig_positions(CANONICAL, pose)
    # The clip starts where the target stands: mid-hips of frame 0 over the rest mid-hips.
    mid = lambda p: 0.5 * (p[0, 1, :2] + p[0, 2, :2])  # noqa: E731
    rest = CANONICAL.rest_world()[1][None]
    src[..., :2] += mid(rest) - mid(src)
    assert np.abs(out - src).max() < 1e-9


@pytest.mark.parametrize("scale", [0.8, 1.0, 1.25])
def test_a_pose_rig_with_arbitrary_bone_roll_follows_source(scale):
    rots, root = wavy_motion()
    heads, tails = a_pose(*canonical_heads_tails())
    rig, tmap = blender_like_rig(heads * scale, tails * scale)
    pose = retarget(CANONICAL, rots, root, IDENT, rig, tmap)
    _, src = CANONICAL.fk(rots, root)
    err = position_error(src, CANONICAL.height(), rig_positions(rig, pose), rig.height())
    assert err.mean() < 1e-6
    # Rest pose of the source -> the A-pose rig is brought into a T-pose.
    still = retarget(CANONICAL, quat.identity((2, 22)), np.tile([0, 0, 0.95], (2, 1)), IDENT,
                     rig, tmap)
    wrist = rig_positions(rig, still)[0, CANONICAL.index("left_wrist")]
    shoulder = rig_positions(rig, still)[0, CANONICAL.index("left_shoulder")]
    assert abs(wrist[2] - shoulder[2]) < 1e-6 and wrist[0] > shoulder[0]


def reproportioned_rig():
    heads, tails = canonical_heads_tails()

    def shift(j, d):
        sub = CANONICAL.subtree(j)
        heads[sub] += d
        tails[sub] += d
    for side in ("left", "right"):
        h, k, a = (CANONICAL.index(f"{side}_{n}") for n in ("hip", "knee", "ankle"))
        shift(k, 0.25 * (heads[k] - heads[h]))       # longer thighs
        shift(a, -0.15 * (heads[a] - heads[k]))      # shorter shins
    for j in range(22):
        kids = [c for c in range(22) if CANONICAL.parents[c] == j]
        if kids:
            tails[j] = heads[{0: 3, 9: 12}.get(j, kids[0])]
    drop = heads[:, 2].min() - 0.02
    heads[:, 2] -= drop
    tails[:, 2] -= drop
    return blender_like_rig(heads, tails)


def test_planted_feet_stay_planted_on_other_proportions():
    T = 60
    rots = quat.identity((T, 22))
    # Crouch: bend hips/knees/ankles progressively while the feet stay on the ground.
    bend = np.linspace(0, 0.9, T)
    x = np.array([1.0, 0, 0])
    for side in ("left", "right"):
        rots[:, CANONICAL.index(side + "_hip")] = quat.from_axis_angle(x, -bend)
        rots[:, CANONICAL.index(side + "_knee")] = quat.from_axis_angle(x, 2 * bend)
        rots[:, CANONICAL.index(side + "_ankle")] = quat.from_axis_angle(x, -bend)
    # Move the pelvis so that the ankles stay exactly where they are at rest.
    root = np.tile([0.0, 0.0, 0.95], (T, 1))
    _, src = CANONICAL.fk(rots, root)
    root -= src[:, 7] - src[0, 7]
    _, src = CANONICAL.fk(rots, root)
    assert np.ptp(src[:, 7, 2]) < 0.01  # the source's feet are planted
    rig, tmap = reproportioned_rig()
    for ik, limit in ((True, 0.02), (False, None)):
        pose = retarget(CANONICAL, rots, root, IDENT, rig, tmap, foot_ik=ik)
        ankle = rig_positions(rig, pose)[:, CANONICAL.index("left_ankle")]
        drift = np.linalg.norm(ankle - ankle[0], axis=-1).max()
        if limit is not None:
            assert drift <= limit, f"planted foot drifted {drift:.3f} m with foot IK"
        else:
            no_ik_drift = drift
    assert no_ik_drift > 0.02, "the re-proportioned rig should slide without IK (test check)"


def test_root_modes():
    rots, root = wavy_motion()
    rig, tmap = reproportioned_rig()
    hips = rig.index(tmap["pelvis"])
    travelled = retarget(CANONICAL, rots, root, IDENT, rig, tmap, root_mode="hips")
    p = rig_positions(rig, travelled)[:, hips]
    assert p[-1, 0] - p[0, 0] > 1.0  # 1.5 m of travel in the source, scaled
    in_place = retarget(CANONICAL, rots, root, IDENT, rig, tmap, root_mode="in_place")
    q = rig_positions(rig, in_place)[:, hips]
    assert np.abs(q[:, 0] - q[0, 0]).max() < 0.1
    with pytest.raises(RetargetError, match="root bone"):
        retarget(CANONICAL, rots, root, IDENT, rig, tmap, root_mode="root_bone")
    with pytest.raises(RetargetError, match="root_mode"):
        retarget(CANONICAL, rots, root, IDENT, rig, tmap, root_mode="sideways")


def test_missing_joints_are_reported():
    rots, root = wavy_motion()
    tmap = {k: v for k, v in IDENT.items() if "knee" not in k}
    with pytest.raises(RetargetError, match="knee"):
        retarget(CANONICAL, rots, root, IDENT, CANONICAL, tmap)


# --------------------------------------------------------------------------- bone maps
def _rig_file(path):
    d = json.loads(path.read_text())
    bones = d.get("bones", d)
    names = []

    def add(n):
        names.append(n)
        for k, v in bones.items():
            if v["parent"] == n:
                add(k)
    for k, v in bones.items():
        if not v["parent"]:
            add(k)
    return names, [names.index(bones[n]["parent"]) if bones[n]["parent"] else -1 for n in names]


@pytest.mark.parametrize("rig,expect", [
    ("standard/rig.default.json", {"pelvis": "root", "left_knee": "lowerleg01.L",
                                   "left_shoulder": "upperarm01.L", "head": "head"}),
    ("standard/rig.game_engine.json", {"pelvis": "pelvis", "left_knee": "calf_l",
                                       "left_collar": "clavicle_l", "spine3": "spine_03"}),
    ("standard/rig.mixamo.json", {"pelvis": "mixamorig:Hips", "left_collar":
                                  "mixamorig:LeftShoulder", "left_shoulder": "mixamorig:LeftArm"}),
    ("standard/rig.cmu_mb.json", {"pelvis": "Hips", "left_hip": "LeftUpLeg",
                                  "left_knee": "LeftLeg", "spine3": "Spine1"}),
    ("rigify/rig.human.json", {"pelvis": "spine", "head": "spine.006",
                               "left_shoulder": "upper_arm.L"}),
])
def test_auto_map_makehuman_rigs(rig, expect):
    path = MAKEHUMAN / rig
    if not path.exists():
        pytest.skip(f"{path} not available")
    names, parents = _rig_file(path)
    bm = auto_map(names, parents)
    assert set(bm.bones) == set(CANONICAL_NAMES)
    for k, v in expect.items():
        assert bm.bones[k] == v


def test_auto_map_unreal_names_without_shared_data():
    names = ["root", "pelvis", "spine_01", "spine_02", "spine_03", "spine_04", "spine_05",
             "neck_01", "neck_02", "head", "clavicle_l", "upperarm_l", "upperarm_twist_01_l",
             "lowerarm_l", "hand_l", "clavicle_r", "upperarm_r", "lowerarm_r", "hand_r",
             "thigh_l", "thigh_twist_01_l", "calf_l", "foot_l", "ball_l", "thigh_r", "calf_r",
             "foot_r", "ball_r"]
    par = {"root": None, "pelvis": "root", "spine_01": "pelvis", "spine_02": "spine_01",
           "spine_03": "spine_02", "spine_04": "spine_03", "spine_05": "spine_04",
           "neck_01": "spine_05", "neck_02": "neck_01", "head": "neck_02",
           "clavicle_l": "spine_05", "upperarm_l": "clavicle_l",
           "upperarm_twist_01_l": "upperarm_l", "lowerarm_l": "upperarm_l",
           "hand_l": "lowerarm_l", "clavicle_r": "spine_05", "upperarm_r": "clavicle_r",
           "lowerarm_r": "upperarm_r", "hand_r": "lowerarm_r", "thigh_l": "pelvis",
           "thigh_twist_01_l": "thigh_l", "calf_l": "thigh_l", "foot_l": "calf_l",
           "ball_l": "foot_l", "thigh_r": "pelvis", "calf_r": "thigh_r", "foot_r": "calf_r",
           "ball_r": "foot_r"}
    parents = [names.index(par[n]) if par[n] else -1 for n in names]
    bm = auto_map(names, parents)
    assert bm.bones["spine3"] == "spine_05" and bm.bones["neck"] == "neck_01"
    assert bm.bones["left_shoulder"] == "upperarm_l" and bm.bones["left_hip"] == "thigh_l"
    assert bm.root_bone == "root"


def test_non_humanoid_rig_gets_a_clear_error():
    names = ["Body", "Tail.001", "Tail.002", "Wing.L", "Wing.R"]
    with pytest.raises(MappingError, match="not a humanoid rig"):
        auto_map(names, [-1, 0, 1, 0, 0])
    with pytest.raises(MappingError, match="no bones"):
        auto_map([], [])


def test_presets_round_trip(tmp_path):
    bm = BoneMap("custom", {"pelvis": "Hips", "head": "Head"}, "Root", {"note": 1})
    path = save_preset(tmp_path / "p.json", bm)
    assert load_preset(path) == bm
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(MappingError, match="not valid JSON"):
        load_preset(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"format": "anima-bonemap",
                                                     "bones": {"tail": "x"}}))
    with pytest.raises(MappingError, match="unknown canonical joints"):
        load_preset(tmp_path / "other.json")
