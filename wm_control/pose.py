"""End-effector pose maths of the supported action/state layouts (batched torch).

DROID / V-JEPA 2-AC (``integrate_state``, ``actions_from_states``):
State (7): xyz (m) + extrinsic Euler "xyz" angles (rad, roll-pitch-yaw about the fixed base axes,
R = Rz(yaw)·Ry(pitch)·Rx(roll)) + gripper (0 open … 1 closed).
Action (7): Δxyz, the Euler angles of ``R_{t+1}·R_tᵀ``, Δgripper.

OGBench's manipulation layout (``integrate_ogbench_state``, ``ogbench_actions_from_states``):
State (5): xyz (m), yaw (rad, (−π, π]), gripper closure (0 open … 1 closed).
Action (5) in [−1, 1], held for ``block`` of OGBench's control steps: each step moves the
position target by ``0.05 m · a[:3]`` and the yaw target by ``0.3 rad · a[3]`` from the measured
pose, and sets the gripper target to the measured closure + ``a[4]``. Its servos reach part of
each step's target within the step (:data:`OGBENCH_TRACKING`), so the state moves by that part.

This is the one implementation used by the rollout (state integration, through
:mod:`wm_control.layouts`), training (actions from recorded states) and the ROS nodes.
"""

from __future__ import annotations

import math

import torch

OGBENCH_SCALE = (0.05, 0.05, 0.05, 0.3)
"""OGBench's action range per control step: m for x, y, z, rad for yaw (its ``action_high``)."""
OGBENCH_TRACKING = (0.43, 0.22, 0.38)
"""The part of one control step's target OGBench's controller reaches within the step (0.05 s):
position, yaw, and gripper closure (the part of the remaining gap). Measured on
``visual-cube-single-v0`` holding one action for 8-15 steps from rest: position 0.41-0.47 (x, y,
z, actions 0.1-1), yaw 0.21-0.22, gripper 0.34-0.40 (``tests/envs/test_ogbench_cube.py`` checks
the integration against the simulator)."""


def euler_to_matrix(euler: torch.Tensor) -> torch.Tensor:
    """Extrinsic xyz Euler angles ``[..., 3]`` (rad) → rotation matrices ``[..., 3, 3]``."""
    roll, pitch, yaw = euler.unbind(-1)
    cr, sr = roll.cos(), roll.sin()
    cp, sp = pitch.cos(), pitch.sin()
    cy, sy = yaw.cos(), yaw.sin()
    row0 = torch.stack([cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr], dim=-1)
    row1 = torch.stack([sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr], dim=-1)
    row2 = torch.stack([-sp, cp * sr, cp * cr], dim=-1)
    return torch.stack([row0, row1, row2], dim=-2)


def matrix_to_euler(matrix: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``[..., 3, 3]`` → extrinsic xyz Euler angles ``[..., 3]``, pitch in
    [−π/2, π/2]."""
    pitch = torch.asin((-matrix[..., 2, 0]).clamp(-1.0, 1.0))
    roll = torch.atan2(matrix[..., 2, 1], matrix[..., 2, 2])
    yaw = torch.atan2(matrix[..., 1, 0], matrix[..., 0, 0])
    return torch.stack([roll, pitch, yaw], dim=-1)


def integrate_state(state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """Apply an action to a state: xyz + Δxyz, R(Δθ)·R(θ), gripper + Δgripper clipped to [0, 1].

    Args: state ``[..., 7]``, action ``[..., 7]`` (broadcastable). Returns ``[..., 7]``.
    """
    xyz = state[..., :3] + action[..., :3]
    rotation = euler_to_matrix(action[..., 3:6]) @ euler_to_matrix(state[..., 3:6])
    gripper = (state[..., 6:7] + action[..., 6:7]).clamp(0.0, 1.0)
    return torch.cat([xyz, matrix_to_euler(rotation), gripper], dim=-1)


def actions_from_states(states: torch.Tensor) -> torch.Tensor:
    """Actions between consecutive states ``[..., T, 7]`` → ``[..., T-1, 7]`` (DROID convention)."""
    if states.shape[-2] < 2:
        raise ValueError(
            "actions_from_states: expected at least 2 states along dim -2, found "
            f"{tuple(states.shape)}"
        )
    start, end = states[..., :-1, :], states[..., 1:, :]
    relative = euler_to_matrix(end[..., 3:6]) @ euler_to_matrix(start[..., 3:6]).transpose(-1, -2)
    return torch.cat(
        [end[..., :3] - start[..., :3], matrix_to_euler(relative), end[..., 6:7] - start[..., 6:7]],
        dim=-1,
    )


def wrap_angle(angle: torch.Tensor) -> torch.Tensor:
    """Angles wrapped to (−π, π]."""
    return angle - 2 * math.pi * torch.ceil((angle - math.pi) / (2 * math.pi))


def ogbench_motion_per_unit(block: int) -> tuple[float, float]:
    """How far one unit of an OGBench action held for ``block`` steps moves the effector: (m along
    each of x, y, z, rad of yaw), as its controller tracks the targets."""
    return (
        block * OGBENCH_SCALE[0] * OGBENCH_TRACKING[0],
        block * OGBENCH_SCALE[3] * OGBENCH_TRACKING[1],
    )


def _ogbench_steps(block: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """How far ``block`` held steps move xyz and yaw per action unit: ``[4]`` (m, m, m, rad)."""
    translation, rotation = ogbench_motion_per_unit(block)
    return torch.tensor([translation] * 3 + [rotation], dtype=dtype, device=device)


def integrate_ogbench_state(state: torch.Tensor, action: torch.Tensor, block: int) -> torch.Tensor:
    """OGBench layout: the state after an action held for ``block`` control steps, as its
    controller tracks it: xyz + ``block·0.43·0.05 m·a[:3]``, yaw + ``block·0.22·0.3 rad·a[3]``
    (wrapped), and ``block`` times the gripper closure ``g ← g + 0.38·(clip(g + a[4], 0, 1) − g)``.

    Args: state ``[..., 5]``, action ``[..., 5]`` (broadcastable), block >= 1. Returns ``[..., 5]``.
    """
    steps = _ogbench_steps(block, state.dtype, state.device)  # [4]
    xyz = state[..., :3] + action[..., :3] * steps[:3]
    yaw = wrap_angle(state[..., 3:4] + action[..., 3:4] * steps[3])
    gripper = state[..., 4:5]
    for _ in range(block):
        target = (gripper + action[..., 4:5]).clamp(0.0, 1.0)
        gripper = gripper + OGBENCH_TRACKING[2] * (target - gripper)
    return torch.cat([xyz, yaw, gripper], dim=-1)


def ogbench_actions_from_states(states: torch.Tensor, block: int) -> torch.Tensor:
    """OGBench layout: the actions between consecutive states ``[..., T, 5]`` → ``[..., T-1, 5]``
    (the inverse of :func:`integrate_ogbench_state` where the gripper's target stays in [0, 1];
    not clipped to [−1, 1])."""
    if states.shape[-2] < 2:
        raise ValueError(
            f"ogbench_actions_from_states: expected at least 2 states along dim -2, found "
            f"{tuple(states.shape)}"
        )
    steps = _ogbench_steps(block, states.dtype, states.device)  # [4]
    start, end = states[..., :-1, :], states[..., 1:, :]
    xyz = (end[..., :3] - start[..., :3]) / steps[:3]
    yaw = wrap_angle(end[..., 3:4] - start[..., 3:4]) / steps[3]
    # unclipped, each step closes the gap by rate·a: g_block = g_0 + block·rate·a
    gripper = (end[..., 4:5] - start[..., 4:5]) / (block * OGBENCH_TRACKING[2])
    return torch.cat([xyz, yaw, gripper], dim=-1)
