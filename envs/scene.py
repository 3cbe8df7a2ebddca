"""MJCF of the arm and the table-top scene, written by this project.

The arm follows the Franka Panda's published kinematics (modified DH parameters, joint limits,
~0.855 m reach) with capsule links and a parallel-jaw gripper made of boxes whose two fingers slide
along the hand's y axis (0..40 mm each, 80 mm maximal opening). The robot base sits at the origin
of the world frame on a table whose top is the plane z = 0; the world frame *is* the robot base
frame (x forward, y left, z up).

Frames and names used by the environments:

* joints ``joint1`` .. ``joint7`` (hinges), ``finger_left`` / ``finger_right`` (slides);
* actuators ``act1`` .. ``act7`` (joint position servos), ``act_finger_left`` and
  ``act_finger_right``; every arm body, hand and fingers included, is gravity-compensated
  (``gravcomp``), as a real arm's controller compensates its links and payload: otherwise the
  servos sag under the hand's weight and, since each action moves the target from the measured
  pose, the sag accumulates (0.06 rad of pitch in 20 steps of standing still);
* site ``ee``: the tool centre point between the finger pads. Its frame is chosen so that the
  top-down grasp pose (gripper pointing at the table, fingers closing along the base y axis) is the
  identity rotation; Euler angles then stay far from the +-pi wrap during table-top tasks (the
  Panda flange frame of DROID would sit at roll = +-pi there);
* cameras ``exterior`` (fixed, DROID-like exocentric view from the front right) and ``wrist``;
* free body ``cube`` (50 mm, 0.1 kg) and mocap body ``target`` (flat 90 mm square, visual only),
  present when requested.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CUBE_HALF_SIZE = 0.025
"""Half edge length of the cube (m)."""

TARGET_HALF_SIZE = 0.045
"""Half edge length of the square target zone (m)."""

FINGER_MAX_OPENING = 0.04
"""Travel of each finger (m); the jaw opening is twice this."""

FINGER_PAD_HALF_SIZE = (0.009, 0.008, 0.026)
"""Half extents (m) of each finger's pad box in the end-effector frame: x across the jaws' faces,
y along the closing axis, z along the gripper. Closed, the two pads meet at y = 0."""

ARM_JOINT_RANGES = np.array(
    [
        [-2.8973, 2.8973],
        [-1.7628, 1.7628],
        [-2.8973, 2.8973],
        [-3.0718, -0.0698],
        [-2.8973, 2.8973],
        [-0.0175, 3.7525],
        [-2.8973, 2.8973],
    ]
)
"""Panda joint limits (rad), one row per joint."""

HOME_QPOS = np.array([0.0, -0.3, 0.0, -2.2, 0.0, 1.9, np.pi / 4])
"""Rest posture (rad): gripper pointing down in front of the robot; the IK null-space target."""

# (position in the parent link frame, rotation about the parent x axis in rad) of links 1..7 and
# the hand: the Panda's modified DH table written as MJCF body frames.
_LINK_FRAMES = [
    ((0.0, 0.0, 0.333), 0.0),
    ((0.0, 0.0, 0.0), -np.pi / 2),
    ((0.0, -0.316, 0.0), np.pi / 2),
    ((0.0825, 0.0, 0.0), np.pi / 2),
    ((-0.0825, 0.384, 0.0), -np.pi / 2),
    ((0.0, 0.0, 0.0), np.pi / 2),
    ((0.088, 0.0, 0.0), np.pi / 2),
]
# Capsule segments (from, to) in each link frame and radii: the visible links.
_LINK_GEOMS = [
    (((0, 0, -0.14), (0, 0, 0)), 0.06),
    (((0, 0, 0), (0, -0.316, 0)), 0.06),
    (((0, 0, 0), (0.0825, 0, 0)), 0.055),
    (((0, 0, 0), (-0.0825, 0.384, 0)), 0.055),
    (((0, 0, -0.12), (0, 0, 0)), 0.045),
    (((0, 0, 0), (0.088, 0, 0)), 0.045),
    (((0, 0, 0), (0, 0, 0.07)), 0.04),
]
_EXTERIOR_POS = (1.05, -0.55, 0.7)
_KP = [1500, 1500, 1500, 1500, 600, 600, 600]
_ARMATURE = [0.2, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1]


@dataclass(frozen=True)
class SceneSpec:
    """What to put in the scene.

    Attributes:
        cube: add the free cube.
        target_zone: add the flat target square (PickPlace).
        timestep: physics time step (s).
        max_image_size: largest rendered side (px); sizes the offscreen buffer.
    """

    cube: bool = True
    target_zone: bool = False
    timestep: float = 0.005
    max_image_size: int = 256

    def __post_init__(self) -> None:
        if not 0.0 < self.timestep <= 0.02:
            raise ValueError(f"SceneSpec.timestep must be in (0, 0.02] s, found {self.timestep}")
        if self.max_image_size < 1:
            raise ValueError(
                f"SceneSpec.max_image_size must be >= 1 px, found {self.max_image_size}"
            )


def _vec(values) -> str:
    return " ".join(f"{float(v):.6g}" for v in values)


def _x_quat(angle: float) -> str:
    return _vec([np.cos(angle / 2), np.sin(angle / 2), 0, 0])


def _look_at(pos: np.ndarray, target: np.ndarray) -> str:
    """MJCF ``xyaxes`` of a camera at ``pos`` looking at ``target`` with z up."""
    forward = (target - pos) / np.linalg.norm(target - pos)
    x_axis = np.cross(forward, [0.0, 0.0, 1.0])
    x_axis /= np.linalg.norm(x_axis)
    y_axis = np.cross(x_axis, forward)
    return _vec(np.concatenate([x_axis, y_axis]))


def _gripper_xml() -> str:
    px, py, pz = FINGER_PAD_HALF_SIZE
    pad = f'type="box" size="{px} {py} {pz}" class="gripper" rgba="0.25 0.25 0.27 1"'
    hand_quat = _vec([np.cos(-np.pi / 8), 0, 0, np.sin(-np.pi / 8)])
    return f"""
<body name="hand" pos="0 0 0.107" quat="{hand_quat}" gravcomp="1">
  <geom type="box" size="0.025 0.1 0.025" pos="0 0 0.03" class="gripper" rgba="0.9 0.9 0.9 1"/>
  <camera name="wrist" pos="0.07 0 0.02" xyaxes="0 -1 0 -1 0 0" fovy="80"/>
  <site name="ee" pos="0 0 0.1" quat="0 1 0 0" size="0.005" rgba="1 0 0 0"/>
  <body name="finger_left" pos="0 0 0.058" gravcomp="1">
    <joint name="finger_left" type="slide" axis="0 1 0" range="0 {FINGER_MAX_OPENING}"
           armature="0.05" damping="2"/>
    <geom {pad} pos="0 {py} {pz}"/>
  </body>
  <body name="finger_right" pos="0 0 0.058" gravcomp="1">
    <joint name="finger_right" type="slide" axis="0 -1 0" range="0 {FINGER_MAX_OPENING}"
           armature="0.05" damping="2"/>
    <geom {pad} pos="0 {-py} {pz}"/>
  </body>
</body>"""


def _arm_xml() -> str:
    xml = ""
    for i, ((pos, angle), ((p0, p1), radius)) in enumerate(zip(_LINK_FRAMES, _LINK_GEOMS)):
        lo, hi = ARM_JOINT_RANGES[i]
        xml += f"""
<body name="link{i + 1}" pos="{_vec(pos)}" quat="{_x_quat(angle)}" gravcomp="1">
  <joint name="joint{i + 1}" range="{lo} {hi}" armature="{_ARMATURE[i]}"/>
  <geom type="capsule" fromto="{_vec(p0 + p1)}" size="{radius}" class="link"/>"""
    return xml + _gripper_xml() + "\n</body>" * len(_LINK_FRAMES)


def _actuators_xml() -> str:
    xml = ""
    for i in range(7):
        lo, hi = ARM_JOINT_RANGES[i]
        kv = 2.0 * np.sqrt(_KP[i] * (_ARMATURE[i] + 0.3))
        xml += (
            f'<position name="act{i + 1}" joint="joint{i + 1}" kp="{_KP[i]}" kv="{kv:.1f}" '
            f'ctrlrange="{lo} {hi}" forcerange="-150 150"/>\n'
        )
    for side in ("left", "right"):
        xml += (
            f'<position name="act_finger_{side}" joint="finger_{side}" kp="400" '
            f'ctrlrange="0 {FINGER_MAX_OPENING}" forcerange="-30 30"/>\n'
        )
    return xml


def build_scene_xml(spec: SceneSpec) -> str:
    """The complete MJCF document of the scene described by ``spec``."""
    exterior = _look_at(np.array(_EXTERIOR_POS), np.array([0.45, 0.0, 0.12]))
    cube = ""
    if spec.cube:
        cube = f"""
<body name="cube" pos="0.5 0 {CUBE_HALF_SIZE}">
  <freejoint name="cube"/>
  <geom name="cube" type="box" size="{_vec([CUBE_HALF_SIZE] * 3)}" mass="0.1" condim="4"
        friction="1.2 0.01 0.001" rgba="0.85 0.15 0.12 1"/>
</body>"""
    target = ""
    if spec.target_zone:
        target = f"""
<body name="target" mocap="true" pos="0.5 0.2 0">
  <geom name="target" type="box" size="{TARGET_HALF_SIZE} {TARGET_HALF_SIZE} 0.0015"
        contype="0" conaffinity="0" rgba="0.15 0.7 0.25 1"/>
</body>"""
    return f"""<mujoco model="wm_control_arm">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="{spec.timestep}" integrator="implicitfast" impratio="5" cone="elliptic"/>
  <visual>
    <global offwidth="{spec.max_image_size}" offheight="{spec.max_image_size}"/>
    <quality offsamples="0" shadowsize="0"/>
    <headlight ambient="0.35 0.35 0.35" diffuse="0.5 0.5 0.5" specular="0 0 0"/>
    <rgba haze="0.6 0.65 0.7 1"/>
  </visual>
  <default>
    <joint damping="1"/>
    <default class="link">
      <geom contype="0" conaffinity="0" density="400" rgba="0.92 0.92 0.94 1"/>
    </default>
    <default class="gripper">
      <geom contype="1" conaffinity="1" condim="4" friction="1.2 0.01 0.001" density="800"/>
    </default>
  </default>
  <worldbody>
    <light name="top" pos="0.4 0 1.5" dir="0 0 -1" diffuse="0.6 0.6 0.6" castshadow="false"/>
    <geom name="table" type="box" size="0.7 0.9 0.02" pos="0.45 0 -0.02"
          rgba="0.62 0.52 0.42 1" friction="0.6 0.005 0.0001"/>
    <geom name="floor" type="plane" size="3 3 0.1" pos="0 0 -0.75" rgba="0.35 0.37 0.4 1"
          contype="0" conaffinity="0"/>
    <camera name="exterior" pos="{_vec(_EXTERIOR_POS)}" xyaxes="{exterior}" fovy="50"/>
    <body name="link0">
      <geom type="cylinder" size="0.08 0.1" pos="0 0 0.1" class="link"/>{_arm_xml()}
    </body>{cube}{target}
  </worldbody>
  <actuator>
{_actuators_xml()}  </actuator>
</mujoco>
"""
