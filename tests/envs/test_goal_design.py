"""The tasks' goal images ask for what can be done: followed exactly, they solve the task.

A goal-image planner can at best bring the arm to each goal configuration in turn, with the jaws as
the configuration shows them. These tests play that ideal follower (the end effector driven to each
goal pose within the action bounds, the jaws commanded open or closed per ``subgoal_jaws``) and
check that the task succeeds, and that the schedules agree with the goal configurations they
describe.
"""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import envs
from envs.push import CONTACT_MARGIN, HALF_WAY, PUSH_OFFSET, contact_offset

MULTI_GOAL = [
    i for i in envs.TASKS if i not in ("wm_control/Reach-v2", "wm_control/OGBenchCubeSingle-v0")
]
"""This project's tasks with sub-goal images (OGBench's task has OGBench's single goal image)."""


def _follow_goal_configurations(env: gym.Env, seed: int) -> dict:
    """Drive the end effector to each goal configuration for its scheduled steps; return the last
    info."""
    _, info = env.reset(seed=seed)
    task = env.unwrapped
    steps = task.subgoal_steps or (env.spec.max_episode_steps,)
    jaws = task.subgoal_jaws or ("open",) * len(steps)
    for goal, n, jaw in zip(task.goal_configurations(), steps, jaws):
        for _ in range(n):
            state = task.ee_state()
            action = np.zeros(7, np.float32)
            action[:3] = np.clip(goal.state[:3] - state[:3], -0.075, 0.075)
            action[3:6] = np.clip(goal.state[3:6] - state[3:6], -0.25, 0.25)
            action[6] = 1.0 if jaw == "closed" else -1.0
            _, _, _, _, info = env.step(action)
    return info


@pytest.mark.parametrize("env_id", MULTI_GOAL)
def test_jaw_schedule_matches_the_goal_configurations(env_id):
    env = gym.make(env_id, image_size=32)
    try:
        env.reset(seed=3)
        task = env.unwrapped
        closures = [g.gripper for g in task.goal_configurations()]
    finally:
        env.close()
    assert len(task.subgoal_jaws) == len(task.subgoal_steps) == len(closures)
    assert list(task.subgoal_jaws) == ["closed" if c > 0.1 else "open" for c in closures]


@pytest.mark.parametrize(
    "env_id, seeds, needed",
    [
        ("wm_control/Reach-v2", 6, 6),
        ("wm_control/Grasp-v2", 6, 6),
        ("wm_control/PickPlace-v2", 6, 6),
        ("wm_control/Push-v2", 10, 9),
    ],
)
def test_following_the_goal_configurations_solves_the_task(env_id, seeds, needed):
    env = gym.make(env_id, image_size=16)
    try:
        outcomes = [_follow_goal_configurations(env, 2000 + i) for i in range(seeds)]
    finally:
        env.close()
    successes = sum(info["success"] for info in outcomes)
    assert successes >= needed, [round(info["goal_distance"], 3) for info in outcomes]


def test_push_goals_show_the_jaws_against_the_cube_half_way_and_at_the_goal():
    env = gym.make("wm_control/Push-v2", image_size=16)
    try:
        for seed in range(5):
            env.reset(seed=seed)
            task = env.unwrapped
            approach, lowered, *pushing = task.goal_configurations()
            start_xy = lowered.object_poses["cube"][:2]
            goal_xy = pushing[-1].object_poses["cube"][:2]
            np.testing.assert_allclose(goal_xy, task._goal)
            np.testing.assert_allclose(
                pushing[0].object_poses["cube"][:2], start_xy + HALF_WAY * (goal_xy - start_xy)
            )
            direction = (goal_xy - start_xy) / np.linalg.norm(goal_xy - start_xy)
            for config in pushing:
                # the end effector sits a contact offset behind the cube, closer than the approach
                gap = np.linalg.norm(config.object_poses["cube"][:2] - config.state[:2])
                assert gap == pytest.approx(
                    contact_offset(direction, _yaw(config.object_poses["cube"])), abs=1e-3
                )
                assert gap < PUSH_OFFSET - 0.01
                # and the pads really are CONTACT_MARGIN from the cube in that configuration
                task.data.qpos[:] = task._configured_qpos(config)
                mujoco.mj_forward(task.model, task.data)
                assert _pad_to_cube(task) == pytest.approx(CONTACT_MARGIN, abs=1e-3)
    finally:
        env.close()


def _yaw(pose: np.ndarray) -> float:
    w, x, y, z = pose[3:]
    return float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))


def _pad_to_cube(task) -> float:
    """Smallest distance (m) between a finger pad and the cube."""
    cube = mujoco.mj_name2id(task.model, mujoco.mjtObj.mjOBJ_GEOM, "cube")
    pads = [
        g
        for g in range(task.model.ngeom)
        if task.model.body(task.model.geom_bodyid[g]).name.startswith("finger_")
    ]
    fromto = np.zeros(6)
    return min(
        mujoco.mj_geomDistance(task.model, task.data, pad, cube, 0.1, fromto) for pad in pads
    )
