"""Scripted experts (Cartesian waypoints with noise) and a random exploration policy.

Experts and the random policy follow the policy protocol of :mod:`envs.episode`:
``policy(observation, info) -> action (7,) float32`` after ``policy.reset(seed)`` at the start of
each episode. Experts read privileged task information from ``info`` (``object_position``,
``object_quaternion``, ``goal_position``) and the end-effector state from ``observation["state"]``;
they step through phases (move above, descend, close, lift, ...), each ending when its waypoint is
reached. The gripper action drives the environment's gripper command (``info["gripper_command"]``)
to the phase's open/closed value, so noise does not accumulate in it. ``noise`` is the standard
deviation of Gaussian noise added to every action, as a fraction of the action bounds (0 = clean
demonstrations).

Run ``python -m envs.experts --episodes 20`` to print the experts' success rates.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from envs.episode import Policy, run_episode
from envs.grasp import APPROACH_HEIGHT, GRASP_CLEARANCE, LIFT_HEIGHT, GraspEnv
from envs.objects import grasp_yaw, quaternion_yaw
from envs.pick_place import RELEASE_CLEARANCE, PickPlaceEnv
from envs.push import PUSH_HEIGHT, PUSH_OFFSET, PushEnv
from envs.reach import ReachEnv
from envs.scene import CUBE_HALF_SIZE


@dataclass
class _Phase:
    """One waypoint: where to go, the gripper change, when it is done."""

    name: str
    target: Callable[[dict[str, Any]], np.ndarray]
    gripper: float | None = None  # desired gripper command (0 open, 1 closed); None: unchanged
    tolerance: float = 0.01
    steps: int = 0  # > 0: the phase lasts exactly this many steps (waits for the gripper)
    until: Callable[[dict[str, Any]], bool] | None = None  # replaces the waypoint test


class _WaypointExpert:
    """Follows a list of phases with a proportional Cartesian controller and holds at the end."""

    max_speed = 0.075

    def __init__(self, action_space: gym.spaces.Box, noise: float = 0.0, seed: int | None = None):
        if noise < 0:
            raise ValueError(f"noise must be >= 0, found {noise}")
        self._low, self._high = action_space.low, action_space.high
        self.noise = noise
        self._rng = np.random.default_rng(seed)
        self._phases = self._make_phases()
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._index = 0
        self._steps_in_phase = 0
        self._gripper = 0.0

    @property
    def phase(self) -> str:
        """Name of the current phase."""
        return self._phases[min(self._index, len(self._phases) - 1)].name

    def _make_phases(self) -> list[_Phase]:
        raise NotImplementedError

    def _target_yaw(self, info: dict[str, Any]) -> float:
        return 0.0

    def _speed(self, info: dict[str, Any]) -> float:
        return self.max_speed

    def __call__(self, observation: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        state = observation["state"].astype(np.float64)
        phase = self._phases[min(self._index, len(self._phases) - 1)]
        target = phase.target(info)
        if phase.steps:
            done = self._steps_in_phase >= phase.steps
        elif phase.until is not None:
            done = phase.until(info)
        else:
            done = np.linalg.norm(target - state[:3]) < phase.tolerance
        if done and self._index < len(self._phases) - 1:
            self._index += 1
            self._steps_in_phase = 0
            phase = self._phases[self._index]
            target = phase.target(info)
        self._steps_in_phase += 1
        if phase.gripper is not None:
            self._gripper = phase.gripper
        delta = target - state[:3]
        speed = self._speed(info)
        norm = np.linalg.norm(delta)
        if norm > speed:
            delta *= speed / norm
        yaw_error = (self._target_yaw(info) - state[5] + np.pi) % (2 * np.pi) - np.pi
        gripper = self._gripper - float(info["gripper_command"])  # closed loop on the command
        action = np.concatenate([delta, [-state[3], -state[4], yaw_error], [gripper]])
        if self.noise > 0:
            action += self._rng.normal(0.0, self.noise, 7) * self._high
        return np.clip(action, self._low, self._high).astype(np.float32)


def _cube_xy(info: dict[str, Any]) -> np.ndarray:
    return np.asarray(info["object_position"][:2], dtype=np.float64)


def _at(xy: np.ndarray, z: float) -> np.ndarray:
    return np.array([xy[0], xy[1], z])


class ReachExpert(_WaypointExpert):
    """Straight to the goal, then hold."""

    def _make_phases(self) -> list[_Phase]:
        return [_Phase("reach", lambda info: np.asarray(info["goal_position"], np.float64))]


class PushExpert(_WaypointExpert):
    """Close the jaws, go up, then behind the cube (seen from the goal), descend, push through its
    centre along the cube-goal line, slowing down near the goal, and back off to the goal pose;
    start over from "up" when the cube has drifted off the line."""

    push_speed = 0.04
    stop_distance = 0.015

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self._line: np.ndarray | None = None  # last pushing direction (towards the goal)

    def _goal(self, info: dict[str, Any]) -> np.ndarray:
        return np.asarray(info["goal_position"][:2], np.float64)

    def _direction(self, info: dict[str, Any]) -> np.ndarray:
        offset = self._goal(info) - _cube_xy(info)
        return offset / max(np.linalg.norm(offset), 1e-6)

    def _behind(self, info: dict[str, Any], z: float) -> np.ndarray:
        return _at(_cube_xy(info) - self._direction(info) * (CUBE_HALF_SIZE + 0.045), z)

    def _push_target(self, info: dict[str, Any]) -> np.ndarray:
        contact = self._goal(info) - self._direction(info) * (CUBE_HALF_SIZE + 0.012)
        return _at(contact, PUSH_HEIGHT)

    def _final(self, info: dict[str, Any]) -> np.ndarray:
        return _at(self._goal(info) - self._line * PUSH_OFFSET, PUSH_HEIGHT)

    def _cube_to_goal(self, info: dict[str, Any]) -> float:
        return float(np.linalg.norm(self._goal(info) - _cube_xy(info)))

    def _make_phases(self) -> list[_Phase]:
        def up(info: dict[str, Any]) -> np.ndarray:
            ee = np.asarray(info["ee_position"], np.float64)
            return _at(ee[:2], max(ee[2], 0.1))

        return [
            _Phase("up", up, gripper=1.0, tolerance=0.015),
            _Phase("above", lambda info: self._behind(info, 0.1), gripper=1.0, tolerance=0.015),
            _Phase("descend", lambda info: self._behind(info, PUSH_HEIGHT), tolerance=0.01),
            _Phase(
                "push",
                self._push_target,
                until=lambda info: self._cube_to_goal(info) < self.stop_distance,
            ),
            _Phase("back_off", self._final, tolerance=0.0),
        ]

    def _speed(self, info: dict[str, Any]) -> float:
        if self.phase == "push":
            return float(np.clip(0.6 * self._cube_to_goal(info), 0.01, self.push_speed))
        return self.push_speed if self.phase == "back_off" else self.max_speed

    def __call__(self, observation: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        if self._line is None or (
            self.phase == "push" and self._cube_to_goal(info) > self.stop_distance
        ):
            self._line = self._direction(info)  # the back-off goes straight away from the cube
        if self.phase == "push" and self._cube_to_goal(info) > 2 * self.stop_distance:
            # Off the cube-goal line (cube turned away or slid sideways): start over from "up".
            relative = observation["state"][:2].astype(np.float64) - _cube_xy(info)
            direction = self._direction(info)
            lateral = abs(relative[0] * direction[1] - relative[1] * direction[0])
            if lateral > 0.02 or relative @ direction > -CUBE_HALF_SIZE:
                self._index, self._steps_in_phase = 0, 0
        return super().__call__(observation, info)


class GraspExpert(_WaypointExpert):
    """Open, align the jaws with the cube's faces above it, descend, close, lift."""

    def _target_yaw(self, info: dict[str, Any]) -> float:
        if "object_quaternion" not in info:
            return 0.0
        return grasp_yaw(quaternion_yaw(np.asarray(info["object_quaternion"], np.float64)))

    def _grasp_phases(self) -> list[_Phase]:
        cube = lambda info: np.asarray(info["object_position"], np.float64)  # noqa: E731
        return [
            _Phase(
                "above",
                lambda info: cube(info) + [0, 0, APPROACH_HEIGHT],
                gripper=0.0,
                tolerance=0.012,
            ),
            _Phase("descend", lambda info: cube(info) + [0, 0, GRASP_CLEARANCE], tolerance=0.008),
            _Phase(
                "close", lambda info: cube(info) + [0, 0, GRASP_CLEARANCE], gripper=1.0, steps=2
            ),
            _Phase("lift", lambda info: _at(_cube_xy(info), LIFT_HEIGHT), tolerance=0.01),
        ]

    def _make_phases(self) -> list[_Phase]:
        return self._grasp_phases()


class PickPlaceExpert(GraspExpert):
    """Grasp and lift as :class:`GraspExpert`, carry above the target, lower, open, retreat up."""

    def _make_phases(self) -> list[_Phase]:
        target = lambda info: np.asarray(info["goal_position"][:2], np.float64)  # noqa: E731
        place_z = CUBE_HALF_SIZE + 0.008
        return self._grasp_phases() + [
            _Phase("carry", lambda info: _at(target(info), LIFT_HEIGHT), tolerance=0.01),
            _Phase("lower", lambda info: _at(target(info), place_z), tolerance=0.008),
            _Phase("release", lambda info: _at(target(info), place_z), gripper=0.0, steps=2),
            _Phase(
                "retreat",
                lambda info: _at(target(info), CUBE_HALF_SIZE + RELEASE_CLEARANCE),
                tolerance=0.01,
            ),
        ]


class RandomPolicy:
    """Temporally correlated random exploration: an exponentially smoothed uniform random walk in
    the action box (``smoothing`` in [0, 1)), with rotations scaled by ``rotation_scale`` and the
    gripper toggled with probability ``toggle_probability`` per step."""

    def __init__(
        self,
        action_space: gym.spaces.Box,
        seed: int | None = None,
        smoothing: float = 0.7,
        rotation_scale: float = 0.3,
        toggle_probability: float = 0.1,
    ) -> None:
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), found {smoothing}")
        self._low, self._high = action_space.low, action_space.high
        self._smoothing = smoothing
        self._scale = np.array([1.0] * 3 + [rotation_scale] * 3 + [1.0])
        self._toggle = toggle_probability
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)
        self._previous = np.zeros(7)
        self._gripper = -1.0

    def __call__(self, observation: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        sample = self._rng.uniform(self._low, self._high) * self._scale
        self._previous = self._smoothing * self._previous + (1 - self._smoothing) * sample
        if self._rng.random() < self._toggle:
            self._gripper = -self._gripper
        action = self._previous.copy()
        action[6] = self._gripper
        return np.clip(action, self._low, self._high).astype(np.float32)


EXPERTS: dict[type, type[_WaypointExpert]] = {
    ReachEnv: ReachExpert,
    PushEnv: PushExpert,
    GraspEnv: GraspExpert,
    PickPlaceEnv: PickPlaceExpert,
}


def make_policy(name: str, env: gym.Env, noise: float = 0.0, seed: int | None = None) -> Policy:
    """``"expert"`` (the task's scripted expert) or ``"random"`` (:class:`RandomPolicy`)."""
    if name == "random":
        return RandomPolicy(env.action_space, seed=seed)
    if name == "expert":
        task = type(env.unwrapped)
        if task not in EXPERTS:
            raise ValueError(f"no scripted expert for {task.__name__}; known: {list(EXPERTS)}")
        return EXPERTS[task](env.action_space, noise=noise, seed=seed)
    raise ValueError(f"policy must be 'expert' or 'random', found {name!r}")


def success_rate(env_id: str, episodes: int, noise: float = 0.0, seed: int = 0, **kwargs) -> float:
    """Fraction of ``episodes`` (seeds ``seed``, ``seed + 1``, ...) the expert ends successfully:
    each is played to its time limit and judged there, so an expert that reaches the goal and
    then leaves it (action noise can push it off) fails."""
    env = gym.make(env_id, **{"image_size": 32, **kwargs})
    try:
        policy = make_policy("expert", env, noise=noise, seed=seed)
        return float(
            np.mean(
                [
                    run_episode(env, policy, seed=seed + i, stop_at_success=False).success
                    for i in range(episodes)
                ]
            )
        )
    finally:
        env.close()


def main(argv: list[str] | None = None) -> None:
    """Print the scripted experts' success rate per task (the tasks with a scripted expert; the
    OGBench adapter's experts are OGBench's own oracles, :mod:`envs.ogbench_oracles`)."""
    from envs import TASKS

    with_expert = {f"{task.__module__}:{task.__name__}" for task in EXPERTS}

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print("| task | episodes | noise | success rate |\n|---|---|---|---|")
    for env_id in (i for i, (entry, _) in TASKS.items() if entry in with_expert):
        rate = success_rate(env_id, args.episodes, noise=args.noise, seed=args.seed)
        print(f"| {env_id} | {args.episodes} | {args.noise} | {rate:.2f} |")


if __name__ == "__main__":
    main()
