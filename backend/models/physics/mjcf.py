"""A MuJoCo humanoid generated from a canonical 22-joint skeleton. Numpy + mujoco only.

``build_humanoid(skeleton)`` writes MJCF from the skeleton's rest pose (metres, Z up, facing
-Y): a free joint at the pelvis, one body per canonical joint whose frame is world-aligned in
the rest pose and sits at the joint, a 3-DoF ball joint with a human range of motion on every
other joint, capsules along the bones (radii scaled with body height), box feet and toes with
friction, masses from standard segment mass fractions (de Leva 1996) of the total, and three
torque motors per ball joint (local x, y, z axes; torque limits scaled with weight x height).

Body geoms collide with the floor only (no self-collision), which keeps the simulation cheap.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...motion import quat
from ...motion.skeleton import CANONICAL, CANONICAL_NAMES, CANONICAL_PARENTS, Skeleton

REFERENCE_HEIGHT = CANONICAL.height()          # the default character, ~1.67 m
BMI = 22.0                                      # default mass = BMI * height^2

# Share of total body mass carried by each canonical joint's body (sums to 1).
MASS_FRACTIONS = {
    "pelvis": 0.142, "spine1": 0.070, "spine2": 0.080, "spine3": 0.135,
    "neck": 0.020, "head": 0.061, "left_collar": 0.010, "right_collar": 0.010,
    "left_shoulder": 0.027, "right_shoulder": 0.027, "left_elbow": 0.016, "right_elbow": 0.016,
    "left_wrist": 0.006, "right_wrist": 0.006, "left_hip": 0.1, "right_hip": 0.1,
    "left_knee": 0.0465, "right_knee": 0.0465, "left_ankle": 0.0115, "right_ankle": 0.0115,
    "left_foot": 0.003, "right_foot": 0.003,
}
_TOTAL = sum(MASS_FRACTIONS.values())
MASS_FRACTIONS = {k: v / _TOTAL for k, v in MASS_FRACTIONS.items()}
# Capsule radius (m) for the 1.67 m reference character; scaled with height.
RADII = {
    "pelvis": 0.085, "spine1": 0.08, "spine2": 0.085, "spine3": 0.09, "neck": 0.045,
    "head": 0.085, "collar": 0.04, "shoulder": 0.045, "elbow": 0.038, "wrist": 0.035,
    "hip": 0.065, "knee": 0.048,
}
# Ball joint range: largest rotation from the rest pose, degrees.
RANGE_DEG = {
    "spine1": 60, "spine2": 45, "spine3": 45, "neck": 70, "head": 70, "collar": 40,
    "shoulder": 175, "elbow": 165, "wrist": 90, "hip": 130, "knee": 165, "ankle": 70,
    "foot": 60,
}
# Peak joint torque (N m) for the reference character (61 kg, 1.67 m); scaled with m g h.
TORQUE_NM = {
    "spine1": 400, "spine2": 400, "spine3": 400, "neck": 100, "head": 50, "collar": 150,
    "shoulder": 200, "elbow": 150, "wrist": 50, "hip": 400, "knee": 400, "ankle": 300,
    "foot": 80,
}
# Joint spring (N m / rad) as a share of weight x height: the stiffness a contact cannot
# fold (computed torque alone is only as stiff as the light segment below the joint).
STIFFNESS = {
    "spine1": 1.0, "spine2": 1.0, "spine3": 1.0, "neck": 0.15, "head": 0.08, "collar": 0.15,
    "shoulder": 0.15, "elbow": 0.1, "wrist": 0.02, "hip": 1.0, "knee": 1.0, "ankle": 1.0,
    "foot": 0.05,
}
DAMPING_TIME = 0.01        # s: joint damping = stiffness x this (implicit in the integrator)
FOOT_WIDTH = 0.09          # m, reference character
HEEL_BACK = 0.05           # m behind the ankle
SOLE_PAD = 0.007           # sole below the ball-of-foot joint
FRICTION_CONE = "pyramidal"  # MuJoCo's friction cone; "elliptic" grips with impratio > 1
IMPRATIO = 1.0             # friction-to-normal impedance ratio (higher: less creeping slip)
FOOT_CONDIM = 3            # 3: sliding friction; 4: and torsional; 6: and rolling
FOOT_TORSION = 0.02        # m: torsional friction of the foot boxes (with condim >= 4)
FOOT_SOLREF = "0.01 1"     # contact time constant (s) and damping ratio of the feet
LEFT_FOOT_BODIES = ("left_ankle", "left_foot")
RIGHT_FOOT_BODIES = ("right_ankle", "right_foot")


def part(name: str) -> str:
    """'left_knee' -> 'knee' (the key of the per-part tables)."""
    return name.split("_", 1)[1] if name.startswith(("left_", "right_")) else name


@dataclass
class Humanoid:
    """A compiled humanoid. ``qpos_address[j]`` / ``dof_address[j]``: where canonical joint j's
    rotation starts in qpos (4 values, wxyz; 7 for the pelvis: xyz + wxyz) and in qvel (3; 6 for
    the pelvis: linear world velocity + angular velocity in the pelvis frame)."""
    model: object                       # mujoco.MjModel
    xml: str
    skeleton: Skeleton
    body_ids: np.ndarray                # (22,) MuJoCo body id per canonical joint
    qpos_address: np.ndarray            # (22,)
    dof_address: np.ndarray             # (22,)
    actuator_dof: np.ndarray            # (nu,) the dof each motor drives
    torque_limit: np.ndarray            # (nv,) N m per dof (0 for the free root's 6)
    stiffness: np.ndarray               # (nv,) N m / rad per dof (0 for the free root's 6)
    mass: float                         # kg
    height: float                       # m
    rest_world_rotations: np.ndarray    # (22, 4) skeleton rest orientation per joint
    foot_geoms: dict = field(default_factory=dict)   # "left_foot"/"right_foot" -> geom ids

    @property
    def weight(self) -> float:
        """Body weight in newtons under the model's gravity."""
        return self.mass * float(-self.model.opt.gravity[2])


def check_skeleton(skeleton: Skeleton) -> float:
    """Raise ValueError unless `skeleton` is the 22 canonical joints with plausible bones;
    returns its rest height (m)."""
    if list(skeleton.names) != list(CANONICAL_NAMES) or \
            not np.array_equal(skeleton.parents, CANONICAL_PARENTS):
        raise ValueError("the physics humanoid needs the 22 canonical joints in canonical order "
                         f"(got {len(skeleton)} joints starting {list(skeleton.names)[:3]}); "
                         "retarget the motion to the canonical skeleton first")
    height = skeleton.height()
    if not (0.3 <= height <= 3.5):
        raise ValueError(f"skeleton height {height:.3f} m is outside 0.3 .. 3.5 m")
    _, pos = skeleton.rest_world()
    _, ref = CANONICAL.rest_world()
    scale = height / REFERENCE_HEIGHT
    for j in range(1, len(skeleton)):
        p = skeleton.parents[j]
        length = float(np.linalg.norm(pos[j] - pos[p]))
        expected = float(np.linalg.norm(ref[j] - ref[p])) * scale
        if length < 0.15 * expected or length > 6.0 * expected or length < 1e-3:
            raise ValueError(f"bone {skeleton.names[p]!r} -> {skeleton.names[j]!r} is "
                             f"{length * 1000:.1f} mm long; expected about "
                             f"{expected * 1000:.0f} mm for a {height:.2f} m character")
    return height


def _vec(v) -> str:
    return " ".join(f"{x:.6g}" for x in v)


def _capsule(a, b, radius: float, mass: float, name: str) -> str:
    """A capsule whose rounded ends stay between points a and b (a sphere when too short)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = b - a
    length = float(np.linalg.norm(d))
    if length <= 2.2 * radius:
        return (f'<geom name="{name}" type="sphere" size="{radius:.5g}" '
                f'pos="{_vec((a + b) / 2)}" mass="{mass:.5g}"/>')
    u = d / length
    return (f'<geom name="{name}" type="capsule" size="{radius:.5g}" '
            f'fromto="{_vec(a + u * radius)} {_vec(b - u * radius)}" mass="{mass:.5g}"/>')


def _box(center, side, forward, half, mass: float, name: str, friction: float) -> str:
    return (f'<geom name="{name}" type="box" size="{_vec(half)}" pos="{_vec(center)}" '
            f'xyaxes="{_vec(side)} {_vec(forward)}" mass="{mass:.5g}" '
            f'friction="{friction:.4g} {FOOT_TORSION:.4g} 0.002" condim="{FOOT_CONDIM}" '
            f'solref="{FOOT_SOLREF}"/>')


def foot_box_edges(pos: np.ndarray, tips: np.ndarray, ankle: int, scale: float):
    """(forward (3,), sole height, heel edge (3,)) of a foot box in the rest pose: pos (J, 3)
    rest joint positions, tips (J, 3) rest bone tails, `ankle` the ankle joint (its ball is
    ankle + 3). The heel edge is the box's back bottom edge, HEEL_BACK behind the ankle."""
    ball = ankle + 3
    flat = pos[ball] - pos[ankle]
    flat[2] = 0.0
    forward = flat / max(np.linalg.norm(flat), 1e-9)
    sole = min(pos[ball][2], tips[ball][2]) - SOLE_PAD * scale
    heel = pos[ankle] - forward * HEEL_BACK * scale
    heel[2] = sole
    return forward, sole, heel


def _foot_geoms(j: int, pos: np.ndarray, tips: np.ndarray, scale: float, mass: float,
                friction: float) -> str:
    """Box for an ankle (heel to ball) or toe (ball to tip) body, in its world-aligned frame."""
    name = CANONICAL_NAMES[j]
    ankle = 7 if name.startswith("left") else 8
    ball = ankle + 3
    forward, sole, heel = foot_box_edges(pos, tips, ankle, scale)
    side = np.cross(forward, [0.0, 0.0, 1.0])
    side /= np.linalg.norm(side)
    width = FOOT_WIDTH * scale / 2
    if part(name) == "ankle":
        back = heel
        front = pos[ball]
        top = pos[ankle][2]
    else:
        back, front = pos[ball], tips[ball]
        top = sole + 0.035 * scale
    back_f, front_f = float(back @ forward), float(front @ forward)
    half_len = max((front_f - back_f) / 2, 0.01 * scale)
    half_h = max((top - sole) / 2, 0.01 * scale)
    mid = (back + front) / 2
    center = np.array([mid[0], mid[1], sole + half_h]) - pos[j]
    return _box(center, side, forward, [width, half_len, half_h], mass, name, friction)


def _body_geoms(j: int, pos: np.ndarray, tips: np.ndarray, scale: float, mass: float,
                friction: float) -> str:
    name = CANONICAL_NAMES[j]
    key = part(name)
    if key in ("ankle", "foot"):
        return _foot_geoms(j, pos, tips, scale, mass, friction)
    radius = RADII[key] * scale
    here = pos[j]
    if name == "pelvis":   # across the hips, and up to the spine
        return (_capsule(pos[1] - here, pos[2] - here, radius, mass * 0.6, name) +
                _capsule(np.zeros(3), pos[3] - here, radius, mass * 0.4, name + "_up"))
    return _capsule(np.zeros(3), tips[j] - here, radius, mass, name)


def build_xml(skeleton: Skeleton, mass_kg: float, friction: float, gravity: float,
              timestep: float) -> str:
    height = skeleton.height()
    scale = height / REFERENCE_HEIGHT
    _, pos = skeleton.rest_world()
    tips = skeleton.rest_tails_world()
    # Leaves without a tail direction (zero tail) get a short stub along the parent bone.
    for j in range(len(skeleton)):
        if np.linalg.norm(tips[j] - pos[j]) < 1e-6:
            p = max(int(skeleton.parents[j]), 0)
            tips[j] = pos[j] + (pos[j] - pos[p]) * 0.3
    children: dict[int, list[int]] = {j: [] for j in range(len(skeleton))}
    for j in range(1, len(skeleton)):
        children[int(skeleton.parents[j])].append(j)

    spring = mass_kg * gravity * height

    def body(j: int, indent: str) -> str:
        name = CANONICAL_NAMES[j]
        p = int(skeleton.parents[j])
        offset = pos[j] if p < 0 else pos[j] - pos[p]
        lines = [f'{indent}<body name="{name}" pos="{_vec(offset)}">']
        if p < 0:
            lines.append(f'{indent}  <freejoint name="{name}"/>')
        else:
            lines.append(f'{indent}  <joint name="{name}" type="ball" '
                         f'range="0 {RANGE_DEG[part(name)]}" armature="0.01" '
                         f'damping="{STIFFNESS[part(name)] * spring * DAMPING_TIME:.5g}"/>')
        lines.append(indent + "  " + _body_geoms(j, pos, tips, scale,
                                                 MASS_FRACTIONS[name] * mass_kg, friction))
        lines.extend(body(c, indent + "  ") for c in children[j])
        lines.append(f"{indent}</body>")
        return "\n".join(lines)

    torque_scale = (mass_kg * gravity * height) / (61.0 * 9.81 * REFERENCE_HEIGHT)
    motors = []
    for name in CANONICAL_NAMES[1:]:
        limit = TORQUE_NM[part(name)] * torque_scale
        for axis, gear in (("x", "1 0 0"), ("y", "0 1 0"), ("z", "0 0 1")):
            motors.append(f'    <motor name="{name}_{axis}" joint="{name}" gear="{gear} 0 0 0" '
                          f'ctrllimited="true" ctrlrange="{-limit:.5g} {limit:.5g}"/>')
    floor = 10.0 + 10.0 * height
    return f"""<mujoco model="anima_humanoid">
  <compiler angle="degree" inertiafromgeom="true"/>
  <option timestep="{timestep:.6g}" gravity="0 0 {-gravity:.6g}" integrator="implicitfast"
          cone="{FRICTION_CONE}" impratio="{IMPRATIO:.4g}"/>
  <default>
    <geom contype="1" conaffinity="0" condim="3" friction="{friction:.4g} 0.02 0.002"
          solref="0.01 1" solimp="0.95 0.99 0.002"/>
  </default>
  <worldbody>
    <geom name="floor" type="plane" size="{floor:.4g} {floor:.4g} 0.1" contype="0"
          conaffinity="1" friction="{friction:.4g} 0.02 0.002"/>
{body(0, "    ")}
  </worldbody>
  <actuator>
{chr(10).join(motors)}
  </actuator>
</mujoco>
"""


def build_humanoid(skeleton: Skeleton = CANONICAL, mass_kg: float | None = None,
                   friction: float = 0.9, gravity: float = 9.81,
                   timestep: float = 1.0 / 480.0) -> Humanoid:
    """Compile the humanoid for `skeleton` (22 canonical joints, any proportions).

    mass_kg: total mass (None: BMI 22 for the skeleton's rest height). friction: sliding
    friction coefficient of every geom and the floor. gravity: m/s^2, pointing down (-Z).
    """
    import mujoco

    height = check_skeleton(skeleton)
    for what, value in (("friction", friction), ("gravity", gravity), ("timestep", timestep)):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{what} must be a positive number, got {value!r}")
    if friction > 5:
        raise ValueError(f"friction {friction} is implausible (use 0 < friction <= 5)")
    if gravity > 100:
        raise ValueError(f"gravity {gravity} m/s^2 is implausible (Earth: 9.81)")
    if mass_kg is None:
        mass_kg = BMI * height ** 2
    if not isinstance(mass_kg, (int, float)) or not (1.0 <= mass_kg <= 500.0):
        raise ValueError(f"mass_kg must be between 1 and 500 kg, got {mass_kg!r}")
    xml = build_xml(skeleton, float(mass_kg), float(friction), float(gravity), float(timestep))
    model = mujoco.MjModel.from_xml_string(xml)
    body_ids = np.array([mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, n)
                         for n in CANONICAL_NAMES])
    joint_ids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, n) for n in CANONICAL_NAMES]
    qpos_address = np.array([model.jnt_qposadr[i] for i in joint_ids])
    dof_address = np.array([model.jnt_dofadr[i] for i in joint_ids])
    actuator_dof = np.array([model.jnt_dofadr[model.actuator_trnid[a, 0]] +
                             int(np.argmax(model.actuator_gear[a, :3])) for a in range(model.nu)])
    torque_limit = np.zeros(model.nv)
    torque_limit[actuator_dof] = model.actuator_ctrlrange[:, 1]
    stiffness = np.zeros(model.nv)
    for j, name in enumerate(CANONICAL_NAMES[1:], start=1):
        stiffness[dof_address[j]:dof_address[j] + 3] = \
            STIFFNESS[part(name)] * float(mass_kg) * float(gravity) * height
    feet = {}
    for key, bodies in (("left_foot", LEFT_FOOT_BODIES), ("right_foot", RIGHT_FOOT_BODIES)):
        ids = {int(body_ids[CANONICAL_NAMES.index(b)]) for b in bodies}
        feet[key] = np.array([g for g in range(model.ngeom) if model.geom_bodyid[g] in ids])
    rest_rots, _ = skeleton.rest_world()
    return Humanoid(model, xml, skeleton, body_ids, qpos_address, dof_address, actuator_dof,
                    torque_limit, stiffness, float(mass_kg), float(height),
                    quat.normalize(rest_rots.copy()), feet)
