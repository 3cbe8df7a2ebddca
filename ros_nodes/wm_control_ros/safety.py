"""Safety filter applied to every command before it leaves the planner (pure numpy).

Given the planned action, the measured end-effector state and the control period, the filter

1. refuses non-finite actions or states (``UnsafeCommandError``: the caller publishes zero),
2. keeps the commanded position target inside the workspace box (a target outside is moved to the
   nearest point of the box; from outside the box only motion towards it is allowed),
3. limits the per-step displacement and rotation and the linear/angular speed (the whole vector is
   scaled, so the direction is kept),
4. limits the per-step gripper change and keeps the gripper target in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.rotations import euler_to_matrix, rotation_log

from .conversions import rotation_exp


class UnsafeCommandError(ValueError):
    """A command that must not be sent (non-finite action or state)."""


@dataclass(frozen=True)
class SafetyLimits:
    """Limits on every command (SI units, base frame).

    workspace_min, workspace_max: corners of the allowed end-effector box (m).
    max_linear_speed (m/s), max_angular_speed (rad/s): speed limits of the commanded twist.
    max_step_translation (m), max_step_rotation (rad): per control step limits.
    max_gripper_step: largest gripper change per control step (gripper in 0 open .. 1 closed).
    """

    workspace_min: tuple[float, float, float] = (0.2, -0.5, 0.0)
    workspace_max: tuple[float, float, float] = (0.9, 0.5, 0.7)
    max_linear_speed: float = 0.2
    max_angular_speed: float = 0.8
    max_step_translation: float = 0.05
    max_step_rotation: float = 0.2
    max_gripper_step: float = 1.0

    def __post_init__(self) -> None:
        for name in ("workspace_min", "workspace_max"):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.shape != (3,) or not np.all(np.isfinite(value)):
                raise ValueError(
                    f"{name}: expected 3 finite numbers (m), found {getattr(self, name)!r}"
                )
        low, high = np.asarray(self.workspace_min), np.asarray(self.workspace_max)
        if not np.all(low < high):
            raise ValueError(
                f"workspace_min < workspace_max: expected on every axis, found "
                f"min={list(self.workspace_min)} max={list(self.workspace_max)}"
            )
        for name in (
            "max_linear_speed",
            "max_angular_speed",
            "max_step_translation",
            "max_step_rotation",
            "max_gripper_step",
        ):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0.0):
                raise ValueError(f"{name}: expected a finite number > 0, found {value!r}")


@dataclass(frozen=True)
class SafeCommand:
    """A command that passed the filter (float64 arrays, base frame).

    linear_velocity [3] m/s and angular_velocity [3] rad/s: the twist to hold for ``period`` s.
    delta_xyz [3] m and delta_rotvec [3] rad: the displacement that twist produces over ``period``.
    target_xyz [3] m: the position target (inside the workspace unless starting outside it).
    gripper_target: absolute gripper command in [0, 1].
    limited: names of the limits that changed the planned action (empty if none).
    """

    linear_velocity: np.ndarray
    angular_velocity: np.ndarray
    delta_xyz: np.ndarray
    delta_rotvec: np.ndarray
    target_xyz: np.ndarray
    gripper_target: float
    limited: tuple[str, ...]


def _scale_to_norm(vector: np.ndarray, max_norm: float) -> tuple[np.ndarray, bool]:
    norm = float(np.linalg.norm(vector))
    if norm <= max_norm:
        return vector, False
    return vector * (max_norm / norm), True


def limit_action(
    action: np.ndarray, state: np.ndarray, period: float, limits: SafetyLimits
) -> SafeCommand:
    """Planned action [7] + measured state [7] -> SafeCommand for one control period (s).

    Raises UnsafeCommandError for non-finite inputs or a non-positive period.
    """
    action = np.asarray(action, dtype=np.float64)
    state = np.asarray(state, dtype=np.float64)
    if action.shape != (7,) or not np.all(np.isfinite(action)):
        raise UnsafeCommandError(f"action: expected 7 finite values, found {action.tolist()}")
    if state.shape != (7,) or not np.all(np.isfinite(state)):
        raise UnsafeCommandError(f"state: expected 7 finite values, found {state.tolist()}")
    if not (np.isfinite(period) and period > 0.0):
        raise UnsafeCommandError(f"period: expected a finite number > 0 s, found {period!r}")
    limited: list[str] = []

    position = state[:3]
    low, high = np.asarray(limits.workspace_min), np.asarray(limits.workspace_max)
    target = np.clip(position + action[:3], low, high)
    delta = target - position
    if not np.allclose(delta, action[:3]):
        limited.append("workspace")
    max_translation = min(limits.max_step_translation, limits.max_linear_speed * period)
    delta, hit = _scale_to_norm(delta, max_translation)
    if hit:
        limited.append("translation")

    rotvec = rotation_log(euler_to_matrix(action[3:6]))
    max_rotation = min(limits.max_step_rotation, limits.max_angular_speed * period)
    rotvec, hit = _scale_to_norm(rotvec, max_rotation)
    if hit:
        limited.append("rotation")

    gripper_now = float(np.clip(state[6], 0.0, 1.0))
    gripper_delta = float(np.clip(action[6], -limits.max_gripper_step, limits.max_gripper_step))
    if gripper_delta != action[6]:
        limited.append("gripper")
    gripper_target = float(np.clip(gripper_now + gripper_delta, 0.0, 1.0))

    command = SafeCommand(
        linear_velocity=delta / period,
        angular_velocity=rotvec / period,
        delta_xyz=delta,
        delta_rotvec=rotvec,
        target_xyz=position + delta,
        gripper_target=gripper_target,
        limited=tuple(limited),
    )
    parts = (command.linear_velocity, command.angular_velocity, command.target_xyz)
    if not all(np.all(np.isfinite(p)) for p in parts) or not np.isfinite(gripper_target):
        raise UnsafeCommandError(f"filtered command is not finite: {command}")
    return command


def target_orientation(state: np.ndarray, command: SafeCommand) -> np.ndarray:
    """Rotation matrix [3, 3] the command reaches from ``state``: ``exp([rotvec]) R(state)``."""
    return rotation_exp(command.delta_rotvec) @ euler_to_matrix(np.asarray(state[3:6], np.float64))
