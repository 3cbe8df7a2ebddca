"""`wm-control plan env=...`: MPC in a simulated task end to end, and the episode runner."""

import json

import cv2
import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the tasks)
from wm_control.cli.main import main
from wm_control.episode import MPCAgent, goal_schedule, run_episode
from wm_control.planning import ActionSpec, CEMConfig, CEMPlanner, MPCController


SMALL = ["planner.samples=24", "planner.iterations=2", "planner.elites=4", "env.image_size=64"]


def test_plan_in_reach_writes_video_plot_and_summary(tmp_path, capsys):
    main(["plan", "env=reach", "episode.max_steps=3", *SMALL, f"hydra.run.dir={tmp_path}"])
    out = capsys.readouterr().out
    assert out.count("end effector to goal") == 3 and "s per action" in out
    assert "pursued goal pose" not in out  # Reach moves the end effector: one final distance, not two alike
    summary = json.loads((tmp_path / "episode.json").read_text())
    # Reach moves the end effector: its goal distance is the end effector's, to the single goal pose
    np.testing.assert_allclose(summary["goal_distances_m"], summary["ee_distances_m"], atol=0.01)
    assert summary["final_goal_distance_m"] == summary["goal_distances_m"][-1]
    assert summary["steps"] == 3 and len(summary["energies"]) == 3
    assert all(np.abs(np.array(summary["actions"])[:, :3]).max(0) <= 0.075 + 1e-6)
    video = cv2.VideoCapture(str(tmp_path / "episode.mp4"))
    frames = 0
    while video.read()[0]:
        frames += 1
    assert frames == 4  # start + one per step
    assert (tmp_path / "episode.png").read_bytes()[:4] == b"\x89PNG"


def test_goal_image_of_wrong_type_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    (tmp_path / "goal.txt").write_text("hello")
    with pytest.raises(ValueError, match="could not decode it as an image"):
        main(["plan", "env=reach", f"goal={tmp_path / 'goal.txt'}", *SMALL, f"hydra.run.dir={tmp_path / 'r'}"])


class _RecordingController(MPCController):
    """The real controller, remembering the goals it was given and its resets."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.goals, self.resets = [], 0

    def set_goal(self, image):
        self.goals.append(image)
        super().set_goal(image)

    def reset(self):
        self.resets += 1
        super().reset()


def test_pick_place_follows_the_subgoal_schedule(reference):
    _, model = reference
    env = gym.make("wm_control/PickPlace-v0", image_size=32)
    try:
        controller = _RecordingController(
            model, CEMPlanner(CEMConfig(samples=8, iterations=1, elites=2)), ActionSpec.droid()
        )
        agent = MPCAgent(env, controller, subgoal_steps=[2, 1, 1, 1, 1], max_steps=7)
        result = run_episode(env, agent, seed=1, max_steps=7)
        goals = env.unwrapped.goal_images()
    finally:
        env.close()
    assert [s.subgoal for s in result.steps] == [0, 0, 1, 2, 3, 4, 4]
    assert len(controller.goals) == 5 and controller.resets == 5
    assert all(np.array_equal(a, b) for a, b in zip(controller.goals, goals))
    assert len(result.frames) == 8 and all(np.isfinite(s.energy) for s in result.steps)


def test_goal_schedule_validation():
    assert goal_schedule(1, 3, [4, 10, 4]) == [0, 0, 0]
    assert goal_schedule(3, 2, None) == [2, 2]  # no schedule: the final goal
    assert goal_schedule(3, 5, [1, 1, 1]) == [0, 1, 2, 2, 2]
    with pytest.raises(ValueError, match="expected 3 positive step counts"):
        goal_schedule(3, 5, [1, 1])


def test_agent_uses_the_task_schedule_unless_told(reference):
    _, model = reference
    env = gym.make("wm_control/Push-v0", image_size=32)
    try:
        controller = MPCController(model, CEMPlanner(CEMConfig(samples=8, iterations=1, elites=2)), ActionSpec.droid())
        agent = MPCAgent(env, controller, max_steps=12)
        result = run_episode(env, agent, seed=0, max_steps=12)
    finally:
        env.close()
    assert env.unwrapped.subgoal_steps == (6, 3, 31)
    assert [s.subgoal for s in result.steps] == [0] * 6 + [1] * 3 + [2] * 3
