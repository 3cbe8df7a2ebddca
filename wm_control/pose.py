"""End-effector pose maths in the DROID / V-JEPA 2-AC convention (batched torch).

State (7): xyz (m) + extrinsic Euler "xyz" angles (rad, roll-pitch-yaw about the fixed base axes,
R = Rz(yaw)·Ry(pitch)·Rx(roll)) + gripper (0 open … 1 closed).
Action (7): Δxyz, the Euler angles of ``R_{t+1}·R_tᵀ``, Δgripper.

This is the one implementation used by the rollout (state integration), training (actions from
recorded states) and the ROS nodes.
"""

from __future__ import annotations

import torch


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
    """Rotation matrices ``[..., 3, 3]`` → extrinsic xyz Euler angles ``[..., 3]``, pitch in [−π/2, π/2]."""
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
        raise ValueError(f"actions_from_states: expected at least 2 states along dim -2, found {tuple(states.shape)}")
    start, end = states[..., :-1, :], states[..., 1:, :]
    relative = euler_to_matrix(end[..., 3:6]) @ euler_to_matrix(start[..., 3:6]).transpose(-1, -2)
    return torch.cat(
        [end[..., :3] - start[..., :3], matrix_to_euler(relative), end[..., 6:7] - start[..., 6:7]], dim=-1
    )
