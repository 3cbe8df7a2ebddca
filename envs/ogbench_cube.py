"""OGBench's pixel-based cube task (``visual-cube-single-v0``) as a task of this stack.

Registered as ``wm_control/OGBenchCubeSingle-v0`` (``env=ogbench_cube_single``). The scene, physics,
controller, evaluation tasks and success test are OGBench's own (:mod:`envs.ogbench_scene`); this
adapter gives them the observation, ``info`` and goal-image interface of this project's tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from envs.ogbench_scene import OGBenchCubeScene, ogbench_kwargs
from envs.task import checked_action

OGBENCH_ID = "visual-cube-single-v0"
ACTION_NAMES = ("x", "y", "z", "yaw", "gripper")
"""OGBench's action layout, each in [-1, 1] (see :class:`OGBenchCubeEnv`)."""
STATE_NAMES = ("x", "y", "z", "yaw", "gripper")
"""OGBench's robot state layout: effector position (m), yaw (rad), gripper closure (0 open .. 1)."""
ACTION_SCALE = np.array([0.05, 0.05, 0.05, 0.3, 1.0])
"""What an action of 1 means in each dimension: m, m, m, rad, closure (OGBench's action range)."""
WORKSPACE = ((0.25, -0.35, 0.02), (0.6, 0.35, 0.35))
"""The box (m) OGBench clips each effector position target to (its ``_workspace_bounds``)."""
SUCCESS_DISTANCE = 0.04
"""OGBench's success test: the cube within this distance (m) of its goal position."""
NUM_TASKS = 5
"""OGBench's evaluation tasks of the single-cube environment (task ids 1..5)."""
MODES = ("task", "data_collection")
OGBENCH_CONTROL_HZ = 20.0
"""OGBench's control rate (its ``control_timestep`` 0.05 s); its controller and oracles are tuned
for it."""


def action_to_delta(action: np.ndarray) -> np.ndarray:
    """Normalised action(s) ``[..., 5]`` in [-1, 1] -> physical command ``[..., 5]``: Δxyz (m),
    Δyaw (rad), Δgripper closure (OGBench's ``unnormalize_action``; its range is symmetric)."""
    return np.asarray(action, np.float64) * ACTION_SCALE


def delta_to_action(delta: np.ndarray) -> np.ndarray:
    """Physical command(s) ``[..., 5]`` -> normalised action(s), clipped to [-1, 1] (OGBench's
    ``normalize_action``)."""
    return np.clip(np.asarray(delta, np.float64) / ACTION_SCALE, -1.0, 1.0)


@dataclass(frozen=True)
class OGBenchConfiguration:
    """A scene configuration of the OGBench cube task: full ``qpos``/``qvel`` and its robot state
    ``[x, y, z, yaw, gripper]`` (float32)."""

    qpos: np.ndarray
    qvel: np.ndarray
    state: np.ndarray


class OGBenchCubeEnv(gym.Env):
    """OGBench single-cube pick-and-place from 64 x 64 pixels, UR5e arm with a Robotiq gripper.

    Description:
        OGBench's ``visual-cube-single-v0`` (same scene, physics at 500 Hz, its controller at
        20 Hz, the semi-transparent arm of its pixel tasks). One action of this task lasts
        ``block = 20 / control_hz`` OGBench control steps (5 at the default 4 Hz, the stack's
        rate; ``control_hz=20`` is OGBench's own stepping): the action is held for all of them,
        as stable-worldmodel's OGBench protocol holds each planned action (``action_block: 5``),
        and only the last is rendered. :meth:`step_block` takes the block's actions from a
        closed-loop policy instead (OGBench's oracles, :mod:`envs.ogbench_oracles`).
        In ``task`` mode (default) each reset is one of OGBench's five evaluation tasks
        (``options={"task_id": k}``, else drawn from the seed), with its goal image; in
        ``data_collection`` mode the cube and a target pose are random and
        :meth:`set_new_target` draws the next one (what OGBench's oracles collect play data in).
    Action Space:
        ``Box(-1, 1, (5,))``, OGBench's layout ``[x, y, z, yaw, gripper]``: effector position
        target = measured position + ``0.05 m * a[:3]`` (clipped to :data:`WORKSPACE`), yaw target
        = measured yaw + ``0.3 rad * a[3]``, gripper closure target = measured closure + ``a[4]``
        clipped to [0, 1] (OGBench's oracles send ±1: close or open). Out-of-range values are
        clipped (``info["action_clipped"]``); NaN/inf or a wrong shape raise ``ValueError``.
    Observation Space:
        ``{"pixels": uint8 [S, S, 3], "state": float32 [5]}``, state ``[x, y, z, yaw, gripper]``:
        the pinch site's position (m) and yaw (rad, (-π, π]) in the world frame and the gripper
        closure (OGBench's ``gripper_opening``: 0 open .. 1 closed).
    Rewards:
        OGBench's: 1 on success, else 0 (``info["reward_terms"]``).
    Starting State:
        ``task`` mode: the task's initial cube position ± 1 cm, random cube yaw, random effector
        pose in OGBench's arm sampling box; ``data_collection``: cube and target anywhere.
    Episode End:
        Success (OGBench's test: cube within 4 cm of its goal) ends the episode only with
        ``terminate_on_success``; the time limit is 200 steps (OGBench's) unless configured.

    ``info`` holds OGBench's own entries (``proprio/*``, ``privileged/*``, ``time``, ...) plus
    this stack's: ``success``, ``goal_position``, ``goal_distance``, ``distances``,
    ``reward_terms``, ``ee_position``, ``object_position``, ``object_quaternion``,
    ``executed_action``, ``action_clipped``, ``workspace_clipped``, and in ``task`` mode
    ``goal_state`` and ``task_id``.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}
    workspace = WORKSPACE
    subgoal_steps: tuple[int, ...] | None = None
    subgoal_jaws: tuple[str, ...] | None = None
    action_names = ACTION_NAMES
    state_names = STATE_NAMES

    def __init__(
        self,
        image_size: int = 64,
        control_hz: float = 4.0,
        timestep: float = 0.002,
        wrist_camera: bool = False,
        randomize_colors: bool = False,
        mode: str = "task",
        terminate_on_success: bool = False,
        fast_render: bool = True,
        render_mode: str | None = None,
    ) -> None:
        if not 16 <= image_size <= 512:
            raise ValueError(f"image_size must be in [16, 512] px, found {image_size}")
        block = OGBENCH_CONTROL_HZ / control_hz if control_hz > 0 else 0.0
        if abs(block - round(block)) > 1e-6 or round(block) < 1:
            raise ValueError(
                f"control_hz must divide OGBench's control rate {OGBENCH_CONTROL_HZ} Hz (each "
                f"action held for an integer number of its control steps), found {control_hz}"
            )
        if wrist_camera:
            raise ValueError("wrist_camera: OGBench's cube task has no wrist camera; pass false")
        if randomize_colors:
            raise ValueError("randomize_colors: not supported by the OGBench adapter; pass false")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, found {mode!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', found {render_mode!r}")
        kwargs = ogbench_kwargs(OGBENCH_ID)
        kwargs.update(
            width=image_size,
            height=image_size,
            mode=mode,
            terminate_at_goal=False,
            physics_timestep=timestep,
            control_timestep=1.0 / OGBENCH_CONTROL_HZ,
        )
        self.scene = OGBenchCubeScene(fast_render=fast_render, **kwargs)
        self.image_size, self.control_hz, self.mode = image_size, control_hz, mode
        self.block = int(round(block))
        """OGBench control steps (20 Hz) one action lasts: 5 at the stack's 4 Hz."""
        layouts = {5: "ogbench", 1: "ogbench_20hz"}
        self.layout = layouts.get(self.block, f"ogbench_block{self.block}")
        """The action/state layout of this task (``wm_control.layouts``), which a planning model
        must share."""
        self._last_raw: dict[str, Any] = {}
        self.terminate_on_success, self.render_mode = terminate_on_success, render_mode
        self.metadata = {**self.metadata, "render_fps": control_hz}
        self.cameras = ("exterior",)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (5,), dtype=np.float32)
        state_high = np.array([2.0, 2.0, 2.0, np.pi, 1.0], dtype=np.float32)
        state_low = np.array([-2.0, -2.0, -2.0, -np.pi, 0.0], dtype=np.float32)
        self.observation_space = gym.spaces.Dict(
            {
                "pixels": gym.spaces.Box(0, 255, (image_size, image_size, 3), dtype=np.uint8),
                "state": gym.spaces.Box(state_low, state_high, dtype=np.float32),
            }
        )
        self._goal: OGBenchConfiguration | None = None
        self._goal_image: np.ndarray | None = None
        self._clear_subgoals()
        self._task_id: int | None = None

    # ----------------------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        inner_options: dict[str, Any] = {}
        if self.mode == "task":
            task_id = int(options.get("task_id", self.np_random.integers(1, NUM_TASKS + 1)))
            if not 1 <= task_id <= NUM_TASKS:
                raise ValueError(f"options['task_id'] must be in [1, {NUM_TASKS}], found {task_id}")
            inner_options = {"task_id": task_id, "render_goal": True}
            self._task_id = task_id
        inner_seed = None if seed is None else int(self.np_random.integers(2**31))
        pixels, raw = self.scene.reset(seed=inner_seed, options=inner_options)
        self._goal = self._goal_image = None
        self._clear_subgoals()
        if self.mode == "task":
            self._goal = OGBenchConfiguration(
                qpos=self.scene.goal_qpos,
                qvel=self.scene.goal_qvel,
                state=self._configuration_state(self.scene.goal_qpos, self.scene.goal_qvel),
            )
            self._goal_image = np.asarray(raw["goal_rendered"]).copy()
        self._last_raw = raw
        zero = np.zeros(5, dtype=np.float32)
        info = self._info(raw, zero, False, False, success=False)
        return self._observation(pixels, raw), info

    def step(self, action):
        action = self._validate_action(action)  # before anything moves
        return self.step_block(lambda raw: action)

    def step_block(self, policy: Callable[[dict[str, Any]], np.ndarray]):
        """One control step whose ``block`` OGBench control steps take their actions from
        ``policy(ogbench_info) -> action [5]``, closed loop (OGBench's oracles at their own 20 Hz).

        Returns the gym step tuple; ``info["executed_action"]`` is the mean of the clipped actions
        executed, the action that, held for the block, commands the same total motion.
        """
        executed, action_clipped, workspace_clipped, success = [], False, False, False
        reward, raw, pixels = 0.0, self._last_raw, None
        for k in range(self.block):
            action = self._validate_action(policy(raw))
            clipped = np.clip(action, -1.0, 1.0)
            action_clipped |= bool(np.any(clipped != action))
            target = raw["proprio/effector_pos"] + action_to_delta(clipped)[:3]
            outside = np.any(target < WORKSPACE[0]) or np.any(target > WORKSPACE[1])
            workspace_clipped |= bool(outside)
            last = k == self.block - 1
            self.scene.skip_pixels = not last
            try:
                pixels, step_reward, _, _, raw = self.scene.step(clipped)
            finally:
                self.scene.skip_pixels = False
            executed.append(clipped)
            reward = max(reward, float(step_reward))
            success |= bool(raw["success"])
            if success and self.terminate_on_success and not last:
                pixels = self.scene.render()
                break
        self._last_raw = raw
        mean = np.mean(executed, axis=0).astype(np.float32)
        info = self._info(
            raw, mean, action_clipped, workspace_clipped, success=success, reward=reward
        )
        terminated = success and self.terminate_on_success
        return self._observation(pixels, raw), reward, terminated, False, info

    def render(self) -> np.ndarray | None:
        """The camera image when ``render_mode == "rgb_array"``, else None."""
        if self.render_mode != "rgb_array":
            gym.logger.warn("render() called with render_mode=None; pass render_mode='rgb_array'")
            return None
        return self.scene.render()

    def close(self) -> None:
        renderer = self.scene._renderer
        if renderer is not None:
            renderer.close()
            self.scene._renderer = None

    def _clear_subgoals(self) -> None:
        self._subgoals: list[OGBenchConfiguration] = []
        self._subgoal_images: list[np.ndarray] = []
        self.subgoal_steps = self.subgoal_jaws = None

    # ----------------------------------------------------------------------------- task interface
    def goal_configurations(self) -> list[OGBenchConfiguration]:
        """The goal configuration of the current evaluation task (``task`` mode, after reset),
        after the episode's sub-goal configurations when :meth:`set_subgoals` gave some."""
        if self._goal is None:
            raise RuntimeError("goal_configurations() needs a task: reset() in 'task' mode first")
        return [*self._subgoals, self._goal]

    def set_subgoals(
        self,
        configurations: list[OGBenchConfiguration],
        steps: tuple[int, ...],
        jaws: tuple[str, ...],
    ) -> None:
        """Sub-goals of this episode before its goal (cleared by the next reset): their
        configurations (rendered as goal images), the planner's steps on each goal (one more entry
        than ``configurations``: the last is the final goal's) and its jaws on each."""
        goals = len(configurations) + 1
        if len(steps) != goals or len(jaws) != goals or any(n < 1 for n in steps):
            raise ValueError(
                f"set_subgoals: expected {goals} positive step counts and {goals} jaw states "
                f"(the sub-goals and the goal), found steps {list(steps)} and jaws {list(jaws)}"
            )
        self._subgoals = list(configurations)
        self._subgoal_images = [self.render_configuration(c.qpos, c.qvel) for c in configurations]
        self.subgoal_steps, self.subgoal_jaws = tuple(steps), tuple(jaws)

    def goal_images(self, camera: str = "exterior") -> list[np.ndarray]:
        """OGBench's goal image of the current task (``reset(options=dict(task_id=k,
        render_goal=True))``), rendered with the observations' visuals: uint8 [S, S, 3]."""
        if camera != "exterior":
            raise ValueError(
                f"camera must be 'exterior' (OGBench has one camera), found {camera!r}"
            )
        if self._goal_image is None:
            raise RuntimeError("goal_images() needs a task: reset() in 'task' mode first")
        return [*(image.copy() for image in self._subgoal_images), self._goal_image.copy()]

    def render_configuration(self, qpos: np.ndarray, qvel: np.ndarray | None = None) -> np.ndarray:
        """Render the scene at ``qpos`` (and ``qvel``) without disturbing the simulation.

        OGBench renders right after its physics steps, before body positions are recomputed, so
        its images (observations, goal images) show the last 2 ms physics substep's start; a
        render here shows ``qpos`` itself (a moving arm differs by a few pixels' edges)."""
        data = self.scene._data
        saved = data.qpos.copy(), data.qvel.copy()
        try:
            velocities = np.zeros_like(saved[1]) if qvel is None else np.asarray(qvel)
            self.scene.set_state(np.asarray(qpos), velocities)
            return self.scene.render()
        finally:
            self.scene.set_state(*saved)

    def simulator_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the simulation's full ``qpos`` and ``qvel`` (what :meth:`reset_to` takes)."""
        data = self.scene._data
        return data.qpos.copy(), data.qvel.copy()

    def restore_simulator_state(self, qpos: np.ndarray, qvel: np.ndarray) -> None:
        """Put the simulation back at a :meth:`simulator_state` of this episode (its goal, target
        and sub-goals stay), e.g. after playing ahead in it."""
        self.scene.set_state(np.asarray(qpos, np.float64), np.asarray(qvel, np.float64))
        self._last_raw = self.scene.compute_ob_info()

    @property
    def cube_target(self) -> tuple[np.ndarray, np.ndarray]:
        """Position (m) and orientation (quaternion w, x, y, z) OGBench's success test wants the
        cube at: the current task's goal, or the goal given to :meth:`reset_to`."""
        scene = self.scene
        target = scene._cube_target_mocap_ids[0]
        return scene._data.mocap_pos[target].copy(), scene._data.mocap_quat[target].copy()

    def reset_to(
        self, qpos: np.ndarray, qvel: np.ndarray, goal_qpos: np.ndarray, goal_qvel: np.ndarray
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode from a recorded configuration toward another (stable-worldmodel's
        OGBench protocol, :mod:`envs.ogbench_protocol`): call after :meth:`reset`. The simulation
        is set to ``qpos``/``qvel``; the cube's target (OGBench's success test) to the cube pose
        of ``goal_qpos``; the goal image is the render of ``goal_qpos``/``goal_qvel``. Returns
        the observation and ``info`` of the new start, as :meth:`reset` does."""
        nq, nv = self.scene._model.nq, self.scene._model.nv
        arrays = {
            "qpos": (qpos, nq),
            "qvel": (qvel, nv),
            "goal_qpos": (goal_qpos, nq),
            "goal_qvel": (goal_qvel, nv),
        }
        for name, (value, width) in arrays.items():
            value = np.asarray(value, np.float64)
            if value.shape != (width,) or not np.all(np.isfinite(value)):
                raise ValueError(
                    f"reset_to: expected {name} of shape ({width},), finite, found "
                    f"shape {value.shape}"
                )
        goal_qpos, goal_qvel = np.array(goal_qpos, np.float64), np.array(goal_qvel, np.float64)
        cube = self.scene._model.joint("object_joint_0").qposadr[0]
        target = self.scene._cube_target_mocap_ids[0]
        self.scene._data.mocap_pos[target] = goal_qpos[cube : cube + 3]
        self.scene._data.mocap_quat[target] = goal_qpos[cube + 3 : cube + 7]
        self._goal = OGBenchConfiguration(
            qpos=goal_qpos, qvel=goal_qvel, state=self._configuration_state(goal_qpos, goal_qvel)
        )
        self._goal_image = self.render_configuration(goal_qpos, goal_qvel)
        self.restore_simulator_state(qpos, qvel)
        raw = self._last_raw
        info = self._info(raw, np.zeros(5, dtype=np.float32), False, False, success=False)
        return self._observation(self.scene.render(), raw), info

    def set_new_target(self) -> dict[str, Any]:
        """``data_collection`` mode: draw the next target pose of the cube (OGBench's, without
        stacking: one cube); returns OGBench's info for it (what its oracles are reset with)."""
        if self.mode != "data_collection":
            raise RuntimeError("set_new_target() needs mode='data_collection'")
        _, raw = self.scene.set_new_target(return_info=True, p_stack=0.0)
        return raw

    @property
    def task_id(self) -> int | None:
        """OGBench's evaluation task of the episode (1..5), None in ``data_collection`` mode."""
        return self._task_id

    # ----------------------------------------------------------------------------- internals
    def _validate_action(self, action) -> np.ndarray:
        return checked_action(action, ACTION_NAMES, "OGBenchCubeEnv", " in [-1, 1]")

    @staticmethod
    def robot_state(raw: dict[str, Any]) -> np.ndarray:
        """The robot state ``[x, y, z, yaw, gripper]`` (float32) in OGBench's ``info`` ``raw``."""
        return np.concatenate(
            [
                raw["proprio/effector_pos"],
                raw["proprio/effector_yaw"],
                raw["proprio/gripper_opening"],
            ]
        ).astype(np.float32)

    def _configuration_state(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        data = self.scene._data
        saved = data.qpos.copy(), data.qvel.copy()
        try:
            self.scene.set_state(qpos, qvel)
            return self.robot_state(self.scene.compute_ob_info())
        finally:
            self.scene.set_state(*saved)

    def _observation(self, pixels: np.ndarray, raw: dict[str, Any]) -> dict[str, np.ndarray]:
        return {"pixels": np.asarray(pixels, dtype=np.uint8), "state": self.robot_state(raw)}

    def _goal_position(self) -> np.ndarray:
        scene = self.scene
        return scene._data.mocap_pos[scene._cube_target_mocap_ids[0]].astype(np.float64).copy()

    def _info(
        self,
        raw: dict[str, Any],
        executed: np.ndarray,
        action_clipped: bool,
        workspace_clipped: bool,
        *,
        success: bool,
        reward: float = 0.0,
    ) -> dict[str, Any]:
        cube = np.asarray(raw["privileged/block_0_pos"], np.float64)
        goal = self._goal_position()
        distance = float(np.linalg.norm(cube - goal))
        info = dict(raw)
        info.update(
            success=success,
            goal_position=goal.astype(np.float32),
            goal_distance=distance,
            distances={"object_to_goal": distance},
            reward_terms={"success": reward},
            ee_position=np.asarray(raw["proprio/effector_pos"], np.float32),
            object_position=cube.astype(np.float32),
            object_quaternion=np.asarray(raw["privileged/block_0_quat"], np.float32),
            executed_action=executed,
            action_clipped=action_clipped,
            workspace_clipped=workspace_clipped,
        )
        if self._goal is not None:  # task mode, or a goal given to reset_to
            info.update(goal_state=self._goal.state.copy(), task_id=self._task_id)
        return info
