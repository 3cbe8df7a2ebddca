"""Shared machinery of the arm tasks: scene, Cartesian control, observations, goal rendering.

Action (7,), float32, the DROID / V-JEPA 2-AC convention, applied once per control step:
    ``[dx, dy, dz, droll, dpitch, dyaw, dgripper]``
    * ``dx, dy, dz`` (m): end-effector translation in the robot base frame, each in
      ``[-max_translation, max_translation]``;
    * ``droll, dpitch, dyaw`` (rad): orientation change as extrinsic Euler xyz angles applied in the
      base frame (``R_next = R(d) @ R``), each in ``[-max_rotation, max_rotation]``;
    * ``dgripper`` in ``[-1, 1]``: change of the gripper *command* ``c`` (0 open .. 1 closed),
      which is integrated and clipped, ``c <- clip(c + dgripper, 0, 1)``; holding an object
      needs no repeated action. The measured gripper state may stay below ``c`` when the jaws
      close on an object.
    The new end-effector target is the *measured* pose plus the delta, clipped to the workspace.
    Components outside their bounds are clipped (``info["action_clipped"]``); NaN/inf values or a
    wrong shape raise ``ValueError``.

State (7,), float32: ``[x, y, z, roll, pitch, yaw, gripper]``: the ``ee`` site position (m) and
extrinsic xyz Euler angles (rad) in the base frame, and the measured jaw closure
(0 open .. 1 closed).
The top-down grasp pose is the zero orientation (see :mod:`envs.scene`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from envs.controller import DifferentialIK
from envs.goals import Configuration, GoalRendering
from envs.rendering import CameraRenderer
from envs.rotations import euler_to_matrix, matrix_to_euler
from envs.scene import FINGER_MAX_OPENING, HOME_QPOS, SceneSpec, build_scene_xml
from envs.task import checked_action

ACTION_NAMES = ("dx", "dy", "dz", "droll", "dpitch", "dyaw", "dgripper")
STATE_NAMES = ("x", "y", "z", "roll", "pitch", "yaw", "gripper")

WORKSPACE_LOW = np.array([0.2, -0.45, 0.015])
"""Lower corner of the box the end-effector target is clipped to (m, base frame)."""
WORKSPACE_HIGH = np.array([0.8, 0.45, 0.6])
"""Upper corner of that box (m)."""
ORIENTATION_LIMIT = np.array([0.6, 0.6, 1.6])
"""Bound on |roll|, |pitch|, |yaw| of the end-effector target (rad)."""
STATE_LOW = np.array([-1.5, -1.5, -1.0, -np.pi, -np.pi / 2, -np.pi, 0.0], dtype=np.float32)
"""Lower bound of the state space (the arm's reach; Euler angle ranges; gripper)."""
STATE_HIGH = np.array([1.5, 1.5, 1.5, np.pi, np.pi / 2, np.pi, 1.0], dtype=np.float32)
"""Upper bound of the state space."""


class ArmEnv(GoalRendering, gym.Env):
    """Base class of the table-top tasks; subclasses define the scene content, the task sampling,
    the goal configurations and the rewards (see each task's docstring for the details).

    Args:
        image_size: side of the square camera images (px), 16..512.
        control_hz: control rate (Hz); one action lasts ``1 / control_hz`` s (default 4 Hz, the
            released V-JEPA 2-AC rate).
        timestep: physics time step (s); ``1 / (control_hz * timestep)`` must be an integer, the
            number of physics substeps per action (50 by default).
        wrist_camera: also render the wrist camera into ``observation["wrist_pixels"]``.
        randomize_colors: randomise table and cube colours and the light intensity per episode.
        max_translation: per-step bound on each of dx, dy, dz (m).
        max_rotation: per-step bound on each of droll, dpitch, dyaw (rad).
        terminate_on_success: end the episode (``terminated=True``) at the first success.
        render_mode: ``None`` or ``"rgb_array"`` (``render()`` returns the exterior image).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}
    scene_spec = SceneSpec()
    layout = "droid"
    """The action/state layout (see the module docstring; ``wm_control.layouts``)."""
    action_names = ACTION_NAMES
    state_names = STATE_NAMES
    workspace = (tuple(WORKSPACE_LOW.tolist()), tuple(WORKSPACE_HIGH.tolist()))
    """The box ``(low, high)`` (m, base frame) each step's end-effector target is clipped to."""
    subgoal_steps: tuple[int, ...] | None = None
    """For tasks with several goal images: the control steps a planner spends on each in turn
    (the last one until the episode ends); ``None`` for single-goal tasks."""
    subgoal_jaws: tuple[str, ...] | None = None
    """For tasks whose goal images need the jaws in a given state: ``"open"`` or ``"closed"`` per
    goal image, as its goal configuration shows them (a planner may hold the jaws so rather than
    search the gripper action); ``None`` where the jaws do not matter (Reach)."""

    def __init__(
        self,
        image_size: int = 128,
        control_hz: float = 4.0,
        timestep: float = 0.005,
        wrist_camera: bool = False,
        randomize_colors: bool = False,
        max_translation: float = 0.075,
        max_rotation: float = 0.25,
        terminate_on_success: bool = False,
        render_mode: str | None = None,
    ) -> None:
        if not 16 <= image_size <= 512:
            raise ValueError(f"image_size must be in [16, 512] px, found {image_size}")
        if control_hz <= 0:
            raise ValueError(f"control_hz must be > 0, found {control_hz}")
        substeps = 1.0 / (control_hz * timestep)
        if abs(substeps - round(substeps)) > 1e-6 or round(substeps) < 1:
            raise ValueError(
                f"1 / (control_hz * timestep) must be a positive integer number of physics "
                f"substeps, found control_hz={control_hz}, timestep={timestep} -> {substeps:.4f}"
            )
        if max_translation <= 0 or max_rotation <= 0:
            raise ValueError(
                f"max_translation and max_rotation must be > 0, found {max_translation}, "
                f"{max_rotation}"
            )
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', found {render_mode!r}")
        self.image_size = image_size
        self.control_hz = control_hz
        self.wrist_camera = wrist_camera
        self.randomize_colors = randomize_colors
        self.terminate_on_success = terminate_on_success
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": control_hz}
        self.cameras = ("exterior", "wrist") if wrist_camera else ("exterior",)

        spec = SceneSpec(
            cube=self.scene_spec.cube,
            target_zone=self.scene_spec.target_zone,
            timestep=timestep,
            max_image_size=image_size,
        )
        self.model = mujoco.MjModel.from_xml_string(build_scene_xml(spec))
        self.data = mujoco.MjData(self.model)
        self._substeps = int(round(substeps))
        self._ik = DifferentialIK(self.model)
        self._renderer = CameraRenderer(self.model, image_size)
        self._cache_ids()
        self._default_rgba = self.model.geom_rgba.copy()
        self._default_light = self.model.light_diffuse.copy()

        bound = np.array([max_translation] * 3 + [max_rotation] * 3 + [1.0], dtype=np.float32)
        self.action_space = gym.spaces.Box(-bound, bound, dtype=np.float32)
        pixels = gym.spaces.Box(0, 255, (image_size, image_size, 3), dtype=np.uint8)
        spaces = {
            "pixels": pixels,
            "state": gym.spaces.Box(STATE_LOW, STATE_HIGH, dtype=np.float32),
        }
        if wrist_camera:
            spaces["wrist_pixels"] = pixels
        self.observation_space = gym.spaces.Dict(spaces)
        self._gripper_command = 0.0
        self._goals: list[Configuration] = []
        self._goal_images: dict[str, list[np.ndarray]] = {}

    # ----------------------------------------------------------------------------- setup
    def _cache_ids(self) -> None:
        m = self.model
        self._ee_site = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, "ee")
        self._arm_qpos = self._ik.qpos_indices
        self._finger_qpos = np.array(
            [m.jnt_qposadr[m.joint(f"finger_{side}").id] for side in ("left", "right")]
        )
        self._arm_act = np.array([m.actuator(f"act{i + 1}").id for i in range(7)])
        self._finger_act = np.array(
            [m.actuator(f"act_finger_{side}").id for side in ("left", "right")]
        )
        self._free_qpos: dict[str, int] = {}
        if self.scene_spec.cube:
            self._free_qpos["cube"] = int(m.jnt_qposadr[m.joint("cube").id])
            self._cube_geom = m.geom("cube").id
        self._table_geom = m.geom("table").id
        self._state_size = mujoco.mj_stateSize(m, mujoco.mjtState.mjSTATE_INTEGRATION)

    # ----------------------------------------------------------------------------- subclass API
    def _sample_task(self, rng: np.random.Generator) -> None:
        """Place objects and goals for a new episode (the arm is already placed)."""
        raise NotImplementedError

    def _goal_configurations(self) -> list[Configuration]:
        """The goal configuration(s) of the current episode, in temporal order."""
        raise NotImplementedError

    def _evaluate(self) -> tuple[dict[str, float], dict[str, float], bool]:
        """(reward terms, distances, success) of the current state."""
        raise NotImplementedError

    def _task_info(self) -> dict[str, Any]:
        """Task-specific entries of ``info``: ``goal_position`` (3,) (m), where the final goal image
        shows what the task moves, and ``object_position`` / ``object_quaternion`` when it moves an
        object (otherwise it moves the end effector)."""
        raise NotImplementedError

    # ----------------------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        rng = self.np_random
        mujoco.mj_resetData(self.model, self.data)
        if self.randomize_colors:
            self._randomize_colors(rng)
        start = np.array([rng.uniform(0.38, 0.52), rng.uniform(-0.12, 0.12), rng.uniform(0.2, 0.3)])
        yaw = rng.uniform(-0.3, 0.3)
        self.data.qpos[self._arm_qpos] = HOME_QPOS
        q, _ = self._ik.solve(self.data.qpos, start, euler_to_matrix(np.array([0.0, 0.0, yaw])))
        self.data.qpos[self._arm_qpos] = q
        self.data.ctrl[self._arm_act] = q
        self._gripper_command = 0.0
        self._set_gripper(self.data.qpos, 0.0)
        self.data.ctrl[self._finger_act] = FINGER_MAX_OPENING
        self._sample_task(rng)
        mujoco.mj_forward(self.model, self.data)
        self._goals = self._goal_configurations()
        self._goal_images = {}
        info = self._info(np.zeros(7, dtype=np.float32), False, False)
        return self._observation(), info

    def step(self, action):
        action = self._validate_action(action)
        clipped = np.clip(action, self.action_space.low, self.action_space.high)
        action_clipped = bool(np.any(clipped != action))
        workspace_clipped = self._apply_action(clipped.astype(np.float64))
        reward_terms, _, success = self._evaluate()
        reward = float(sum(reward_terms.values()))
        terminated = bool(success and self.terminate_on_success)
        info = self._info(clipped.astype(np.float32), action_clipped, workspace_clipped)
        return self._observation(), reward, terminated, False, info

    def render(self) -> np.ndarray | None:
        """The exterior camera image when ``render_mode == "rgb_array"``, else None."""
        if self.render_mode != "rgb_array":
            gym.logger.warn("render() called with render_mode=None; pass render_mode='rgb_array'")
            return None
        return self._renderer.render(self.data, "exterior")

    def close(self) -> None:
        self._renderer.close()

    # ----------------------------------------------------------------------------- internals
    def _validate_action(self, action) -> np.ndarray:
        return checked_action(action, ACTION_NAMES, type(self).__name__)

    def _apply_action(self, action: np.ndarray) -> bool:
        """Run one control step; returns whether the target was clipped to the workspace."""
        site = self.data.site(self._ee_site)
        target = site.xpos + action[:3]
        rotation = euler_to_matrix(action[3:6]) @ site.xmat.reshape(3, 3)
        euler = matrix_to_euler(rotation)
        clipped_target = np.clip(target, *self.workspace)  # the box planners are given too
        clipped_euler = np.clip(euler, -ORIENTATION_LIMIT, ORIENTATION_LIMIT)
        workspace_clipped = bool(np.any(clipped_target != target) or np.any(clipped_euler != euler))
        q_goal, _ = self._ik.solve(self.data.qpos, clipped_target, euler_to_matrix(clipped_euler))
        self._gripper_command = float(np.clip(self._gripper_command + action[6], 0.0, 1.0))
        self.data.ctrl[self._finger_act] = FINGER_MAX_OPENING * (1.0 - self._gripper_command)
        # Joint targets ramp to the IK solution over the first 60% of the step, then hold.
        q_start = self.data.ctrl[self._arm_act].copy()
        chunks = 6
        ramp = max(1, int(0.6 * self._substeps) // chunks)
        for k in range(1, chunks + 1):
            self.data.ctrl[self._arm_act] = q_start + (q_goal - q_start) * (k / chunks)
            mujoco.mj_step(self.model, self.data, nstep=ramp)
        remaining = self._substeps - chunks * ramp
        if remaining > 0:
            mujoco.mj_step(self.model, self.data, nstep=remaining)
        mujoco.mj_forward(self.model, self.data)  # positions derived from the final state
        return workspace_clipped

    def _set_gripper(self, qpos: np.ndarray, closure: float) -> None:
        qpos[self._finger_qpos] = FINGER_MAX_OPENING * (1.0 - closure)

    def _measured_gripper(self) -> float:
        opening = float(np.mean(self.data.qpos[self._finger_qpos]))
        return float(np.clip(1.0 - opening / FINGER_MAX_OPENING, 0.0, 1.0))

    def ee_state(self) -> np.ndarray:
        """The current 7-D state ``[x, y, z, roll, pitch, yaw, gripper]`` (float32)."""
        site = self.data.site(self._ee_site)
        euler = matrix_to_euler(site.xmat.reshape(3, 3))
        return np.concatenate([site.xpos, euler, [self._measured_gripper()]]).astype(np.float32)

    def _observation(self) -> dict[str, np.ndarray]:
        obs = {
            "pixels": self._renderer.render(self.data, "exterior"),
            "state": self.ee_state(),
        }
        if self.wrist_camera:
            obs["wrist_pixels"] = self._renderer.render(self.data, "wrist")
        return obs

    def _info(
        self, executed_action: np.ndarray, action_clipped: bool, workspace_clipped: bool
    ) -> dict[str, Any]:
        """The step's ``info``; ``goal_distance`` (m) is how far what the task moves (its object,
        else the end effector) is from ``goal_position``, the place the final goal image shows
        it."""
        reward_terms, distances, success = self._evaluate()
        task_info = self._task_info()
        moved = task_info.get("object_position", self.data.site(self._ee_site).xpos)
        return {
            "success": bool(success),
            "reward_terms": reward_terms,
            "distances": distances,
            "goal_distance": float(
                np.linalg.norm(np.asarray(moved, np.float64) - task_info["goal_position"])
            ),
            "goal_state": self._goals[-1].state.astype(np.float32),
            "ee_position": self.data.site(self._ee_site).xpos.astype(np.float32),
            "gripper_command": self._gripper_command,
            "executed_action": executed_action,
            "action_clipped": action_clipped,
            "workspace_clipped": workspace_clipped,
            **task_info,
        }

    def _randomize_colors(self, rng: np.random.Generator) -> None:
        rgba = self._default_rgba.copy()
        rgba[self._table_geom, :3] = np.clip(
            rgba[self._table_geom, :3] + rng.uniform(-0.12, 0.12, 3), 0, 1
        )
        if self.scene_spec.cube:
            rgba[self._cube_geom, :3] = np.clip(
                rgba[self._cube_geom, :3] + rng.uniform(-0.15, 0.15, 3), 0, 1
            )
        self.model.geom_rgba[:] = rgba
        self.model.light_diffuse[:] = self._default_light * rng.uniform(0.75, 1.25)

    # ----------------------------------------------------------------------------- task helpers
    def _free_pose(self, name: str) -> np.ndarray:
        adr = self._free_qpos[name]
        return self.data.qpos[adr : adr + 7].copy()

    def _set_free_pose(self, name: str, pose: np.ndarray) -> None:
        adr = self._free_qpos[name]
        self.data.qpos[adr : adr + 7] = pose
