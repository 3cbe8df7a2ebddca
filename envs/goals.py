"""Scene configurations: set, render and restore them; goal images.

A :class:`Configuration` (arm joints, jaw closure, object poses) can be rendered by any task without
disturbing its simulation (:meth:`GoalRendering.render_configuration`); each task's goal images
are renders of its goal configurations (:meth:`GoalRendering.goal_images`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mujoco
import numpy as np

from envs.rotations import euler_to_matrix, matrix_to_euler
from envs.scene import HOME_QPOS


@dataclass(frozen=True)
class Configuration:
    """A configuration of the scene that can be rendered.

    Attributes:
        arm_qpos: the 7 arm joint angles (rad).
        gripper: jaw closure, 0 open .. 1 closed.
        object_poses: free body name -> pose (7,) ``[x, y, z, qw, qx, qy, qz]`` (m, unit
            quaternion).
        state: the 7-D state of this configuration (filled in by the environment).
    """

    arm_qpos: np.ndarray
    gripper: float
    object_poses: dict[str, np.ndarray] = field(default_factory=dict)
    state: np.ndarray | None = None


class GoalRendering:
    """Configuration and goal-image methods of :class:`envs.base.ArmEnv` (a mixin).

    Uses the environment's ``model``, ``data``, ``_ik`` (:class:`envs.controller.DifferentialIK`),
    ``_renderer`` (:class:`envs.rendering.CameraRenderer`), ``_goals``, ``_goal_images``,
    ``_free_qpos``, ``_arm_qpos``, ``_state_size``, ``_set_gripper`` and ``_measured_gripper``.
    """

    def goal_configurations(self) -> list[Configuration]:
        """The goal configuration(s) of the episode (call after ``reset``), in temporal order."""
        return list(self._goals)

    def goal_images(self, camera: str = "exterior") -> list[np.ndarray]:
        """Images (image_size, image_size, 3) uint8 of the goal configurations seen by ``camera``.

        One per goal configuration (PickPlace: grasped, above the target, final). Each equals
        ``render_configuration(qpos=g.arm_qpos, gripper=g.gripper, object_poses=g.object_poses)``
        for ``g`` in :meth:`goal_configurations`.
        """
        if not self._goals:
            raise RuntimeError("goal_images() needs a goal: call reset() first")
        if camera not in self._goal_images:
            self._goal_images[camera] = [
                self.render_configuration(
                    qpos=g.arm_qpos, gripper=g.gripper, object_poses=g.object_poses, camera=camera
                )
                for g in self._goals
            ]
        return [image.copy() for image in self._goal_images[camera]]

    def render_configuration(
        self,
        qpos: np.ndarray | None = None,
        gripper: float | None = None,
        object_poses: dict[str, np.ndarray] | None = None,
        ee_position: np.ndarray | None = None,
        ee_euler: np.ndarray | None = None,
        camera: str = "exterior",
    ) -> np.ndarray:
        """Render a configuration without disturbing the simulation (set, render, restore).

        Args:
            qpos: the 7 arm joint angles (rad); default: the current ones.
            gripper: jaw closure 0 open .. 1 closed; default: the current one.
            object_poses: free body name (``"cube"``) -> pose ``[x, y, z, qw, qx, qy, qz]``.
            ee_position: alternatively to ``qpos``, an end-effector target (m, base frame) reached
                by inverse kinematics from the current joints; ``ValueError`` if unreachable.
            ee_euler: orientation for ``ee_position`` (extrinsic xyz, rad); default top-down (0).
            camera: ``"exterior"`` or ``"wrist"``.

        Returns:
            uint8 image (image_size, image_size, 3).
        """
        config = self.configuration(qpos, gripper, object_poses, ee_position, ee_euler)
        saved = np.empty(self._state_size)
        mujoco.mj_getState(self.model, self.data, saved, mujoco.mjtState.mjSTATE_INTEGRATION)
        try:
            self._apply_configuration(config)
            mujoco.mj_forward(self.model, self.data)
            return self._renderer.render(self.data, camera)
        finally:
            mujoco.mj_setState(self.model, self.data, saved, mujoco.mjtState.mjSTATE_INTEGRATION)
            mujoco.mj_forward(self.model, self.data)

    def configuration(
        self,
        qpos: np.ndarray | None = None,
        gripper: float | None = None,
        object_poses: dict[str, np.ndarray] | None = None,
        ee_position: np.ndarray | None = None,
        ee_euler: np.ndarray | None = None,
    ) -> Configuration:
        """A :class:`Configuration` from joint angles or an IK end-effector target (see
        :meth:`render_configuration` for the arguments), with its 7-D state."""
        if qpos is not None and ee_position is not None:
            raise ValueError("give either qpos or ee_position, not both")
        for name in object_poses or {}:
            if name not in self._free_qpos:
                raise ValueError(
                    f"object_poses: unknown object {name!r}; this task has {list(self._free_qpos)}"
                )
        if ee_position is not None:
            euler = np.zeros(3) if ee_euler is None else np.asarray(ee_euler, dtype=np.float64)
            target = np.asarray(ee_position, dtype=np.float64)
            start = self.data.qpos.copy()
            start[self._arm_qpos] = HOME_QPOS
            qpos, error = self._ik.solve(start, target, euler_to_matrix(euler))
            if error > 1e-3:
                raise ValueError(
                    f"ee_position {target.tolist()} / ee_euler {euler.tolist()} is not reachable "
                    f"(remaining pose error {error:.4f})"
                )
        arm_qpos = self.data.qpos[self._arm_qpos].copy() if qpos is None else np.asarray(qpos)
        if arm_qpos.shape != (7,):
            raise ValueError(f"qpos must have shape (7,), found {arm_qpos.shape}")
        config = Configuration(
            arm_qpos=np.array(arm_qpos, dtype=np.float64),
            gripper=self._measured_gripper() if gripper is None else float(gripper),
            object_poses={
                k: np.array(v, dtype=np.float64) for k, v in (object_poses or {}).items()
            },
        )
        return self._with_state(config)

    def _with_state(self, config: Configuration) -> Configuration:
        position, rotation = self._ik.site_pose(self._configured_qpos(config))
        state = np.concatenate([position, matrix_to_euler(rotation), [config.gripper]])
        return Configuration(config.arm_qpos, config.gripper, config.object_poses, state)

    def _configured_qpos(self, config: Configuration) -> np.ndarray:
        qpos = self.data.qpos.copy()
        qpos[self._arm_qpos] = config.arm_qpos
        self._set_gripper(qpos, config.gripper)
        for name, pose in config.object_poses.items():
            qpos[self._free_qpos[name] : self._free_qpos[name] + 7] = pose
        return qpos

    def _apply_configuration(self, config: Configuration) -> None:
        self.data.qpos[:] = self._configured_qpos(config)

    def _ik_configuration(
        self, position: np.ndarray, yaw: float, gripper: float, objects: dict[str, np.ndarray]
    ) -> Configuration:
        """A goal configuration: end effector top-down at ``position``, rotated by ``yaw``."""
        return self.configuration(
            gripper=gripper,
            object_poses=objects,
            ee_position=position,
            ee_euler=np.array([0.0, 0.0, yaw]),
        )
