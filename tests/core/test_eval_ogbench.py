"""`wm-control eval` on OGBench's cube task: protocol (a) (``ogbench_cube_single``, stable-
worldmodel's) and (b) (``ogbench_cube_single_tasks``, OGBench's five tasks), with the random and
oracle baselines, the planner with a tiny untrained model of OGBench's layout, and behaviour
cloning trained on an OGBench oracle dataset."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from wm_control.behavior_cloning import BCAgent, BCConfig, Demonstrations, train_policy
from wm_control.cli.main import main

BOTH = "tasks=[ogbench_cube_single,ogbench_cube_single_tasks]"


def _rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ogbench_eval")
    main(
        [
            "eval",
            BOTH,
            "agents=[random,oracle]",
            "episodes=2",
            "progress=false",
            f"hydra.run.dir={folder}",
        ]
    )
    return folder


@pytest.mark.slow
def test_random_and_oracle_play_both_protocols_and_write_the_summaries(baseline_run):
    episodes = _rows(baseline_run / "episodes.csv")
    assert len(episodes) == 8
    budget = {"ogbench_cube_single": 10, "ogbench_cube_single_tasks": 40}  # 50 and 200 steps
    for row in episodes:
        assert int(row["seed"]) in (1000, 1001)
        steps = int(row["steps"])
        if row["agent"] == "oracle":  # OGBench's oracle reaches every goal and stops there
            assert row["success"] == "True" and 1 <= steps <= budget[row["task"]]
            assert float(row["final_goal_distance"]) <= 0.04
        else:  # uniform random actions do not move the cube to the goal in the budget
            assert row["success"] == "False" and steps == budget[row["task"]]
            assert float(row["final_goal_distance"]) > 0.04
    summary = {(r["task"], r["agent"]): r for r in _rows(baseline_run / "summary.csv")}
    assert float(summary["ogbench_cube_single", "oracle"]["success_rate"]) == 1.0
    assert float(summary["ogbench_cube_single_tasks", "random"]["success_rate"]) == 0.0
    table = (baseline_run / "summary.md").read_text()
    assert "| ogbench_cube_single | oracle | 2 | 100% |" in table
    assert "| ogbench_cube_single_tasks | random | 2 | 0% |" in table


@pytest.mark.slow
def test_resume_refuses_other_protocol_settings(baseline_run, tmp_path, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(ValueError, match=r"other settings \(ogbench: .*'goal_offset_steps': 25"):
        main(
            [
                "eval",
                BOTH,
                "agents=[random,oracle]",
                "episodes=2",
                "progress=false",
                "ogbench.goal_offset_steps=20",
                f"resume=[{baseline_run}]",
                f"hydra.run.dir={tmp_path}",
            ]
        )


def test_protocol_settings_and_budget_overrides_are_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    budget = "env_overrides.max_episode_steps: task ogbench_cube_single"
    with pytest.raises(ValueError, match=budget):
        main(
            [
                "eval",
                BOTH,
                "agents=[random]",
                "env_overrides.max_episode_steps=12",
                f"hydra.run.dir={tmp_path}",
            ]
        )
    with pytest.raises(ValueError, match="unknown task 'ogbench_cube'.*ogbench_cube_single_tasks"):
        main(["eval", "tasks=[ogbench_cube]", "agents=[random]", f"hydra.run.dir={tmp_path}"])
    with pytest.raises(ValueError, match="TrajectoryGoalProtocol.goal_offset_steps"):
        main(
            [
                "eval",
                "tasks=[ogbench_cube_single]",
                "agents=[random]",
                "ogbench.goal_offset_steps=0",
                f"hydra.run.dir={tmp_path}",
            ]
        )


def test_behaviour_cloning_takes_the_datas_widths_and_refuses_another_tasks():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8)
    demos = Demonstrations(
        frames=frames,
        step_frame=np.arange(5),
        goal_frame=np.full(5, 5),
        states=rng.normal(size=(5, 5)).astype(np.float32),
        actions=rng.uniform(-1, 1, (5, 5)).astype(np.float32),
    )
    policy = train_policy(
        demos,
        BCConfig(image_size=32, channels=(8, 8), hidden=16, steps=2, batch_size=4),
        progress=False,
    )
    assert (policy.config.action_dim, policy.config.state_dim) == (5, 5)
    assert policy.act(frames[0], frames[-1], demos.states[0]).shape == (5,)

    class Droid:  # a task of this project's 7-D layout
        action_space = type("Box", (), {"shape": (7,)})()
        observation_space = {"state": type("Box", (), {"shape": (7,)})()}
        spec = type("Spec", (), {"id": "wm_control/Reach-v2"})()

    with pytest.raises(ValueError, match="5-D actions from 5-D states, task wm_control/Reach-v2"):
        BCAgent(Droid(), policy)


def test_hindsight_goals_can_be_a_fixed_number_of_steps_ahead():
    from wm_control.behavior_cloning import load_demonstrations

    class Reader:
        episode_indices = [0]

        def read(self, episode):
            frames = np.zeros((6, 32, 32, 3), np.uint8)
            return type(
                "T",
                (),
                {
                    "frames": frames,
                    "actions": np.zeros((5, 5), np.float32),
                    "states": np.zeros((6, 5), np.float32),
                },
            )()

    ahead = load_demonstrations([Reader()], 32, progress=False, goal_steps=2)
    assert ahead.goal_frame.tolist() == [2, 3, 4, 5, 5]
    assert load_demonstrations([Reader()], 32, progress=False).goal_frame.tolist() == [5] * 5


@pytest.mark.slow
def test_planner_plays_protocol_a_with_a_tiny_model_of_ogbenchs_layout(tmp_path):
    from wm_control import WorldModel
    from wm_control.models.config import WorldModelConfig
    from wm_control.models.presets import encoder_preset, predictor_preset

    torch.manual_seed(0)
    encoder = encoder_preset("vit_tiny")
    predictor = predictor_preset("ac_mini", encoder, layout="ogbench")
    model = WorldModel(WorldModelConfig(encoder=encoder, predictor=predictor))
    model.save_pretrained(tmp_path / "model")
    main(
        [
            "eval",
            "tasks=[ogbench_cube_single]",
            "agents=[planner]",
            "episodes=1",
            "progress=false",
            "model=pretrained_encoder",
            f"model.path={tmp_path / 'model'}",
            "planner.samples=8",
            "planner.iterations=1",
            "planner.elites=2",
            f"hydra.run.dir={tmp_path / 'run'}",
        ]
    )
    (row,) = _rows(tmp_path / "run" / "episodes.csv")
    assert row["agent"] == "planner" and row["task"] == "ogbench_cube_single"
    # the whole budget of 10 actions is played unless the goal is reached, and each action was
    # planned through the model (a no-op agent records microseconds per action)
    assert row["success"] == "True" or int(row["steps"]) == 10, row
    assert float(row["seconds_per_action"]) > 1e-3, row
    assert "| ogbench_cube_single | planner | 1 |" in (tmp_path / "run" / "summary.md").read_text()


@pytest.mark.slow
def test_behaviour_cloning_trains_on_an_ogbench_dataset_and_plays_protocol_a(tmp_path):
    data = tmp_path / "data"
    main(
        [
            "collect",
            "env=ogbench_cube_single",
            "policy=oracle",
            "episodes=2",
            "progress=false",
            f"output_dir={data}",
            f"hydra.run.dir={tmp_path / 'collect'}",
        ]
    )
    main(
        [
            "eval",
            "tasks=[ogbench_cube_single]",
            "agents=[bc]",
            "episodes=1",
            "progress=false",
            f"bc.datasets=[{data}]",
            "bc.policy.steps=3",
            "bc.policy.image_size=32",
            "bc.policy.goal_steps=5",
            f"hydra.run.dir={tmp_path / 'run'}",
        ]
    )
    (row,) = _rows(tmp_path / "run" / "episodes.csv")
    assert row["agent"] == "bc" and int(row["steps"]) >= 1
    from wm_control.behavior_cloning import GoalConditionedPolicy

    policy = GoalConditionedPolicy.load(tmp_path / "run" / "bc_policy.safetensors")
    config = policy.config
    assert (config.action_dim, config.state_dim, config.goal_steps) == (5, 5, 5)


def _planner_episode(folder, seed: int, *settings: str) -> bool:
    """Whether `eval` with the shipped OGBench model and the README's planner solves protocol
    (a)'s episode ``seed`` with the extra ``settings``."""
    main(
        [
            "eval",
            "model=ogbench_cube",
            "tasks=[ogbench_cube_single]",
            "agents=[planner]",
            "planner.goal_state_weight=1.0",
            "episodes=1",
            f"seed={seed}",
            "progress=false",
            *settings,
            f"hydra.run.dir={folder}",
        ]
    )
    (row,) = _rows(folder / "episodes.csv")
    return row["success"] == "True"


def test_eval_gives_the_planner_the_grasp_lift_map_of_its_settings(tmp_path, monkeypatch):
    """Protocol (a), tuning seed 4 (a pick-up from a high start; see
    test_shipped_ogbench_model.py), without the object locator: `eval` with the default
    ``ogbench.grasp_lift`` (the shipped map) solves it, with ``ogbench.grasp_lift=null`` it does
    not; a file that is not a map is refused in one line, before any episode."""
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    no_locator = "ogbench.locator=null"
    assert _planner_episode(tmp_path / "map", 4, no_locator)
    assert not _planner_episode(tmp_path / "none", 4, no_locator, "ogbench.grasp_lift=null")
    (tmp_path / "lift.json").write_text("[]")
    with pytest.raises(ValueError, match="expected format 'wm-control grasp lift'"):
        _planner_episode(tmp_path / "bad", 4, f"ogbench.grasp_lift={tmp_path / 'lift.json'}")
    assert not (tmp_path / "bad" / "episodes.csv").exists()


def test_eval_gives_the_planner_the_object_locator_of_its_settings(tmp_path, monkeypatch):
    """Protocol (a), tuning seed 22: the expert lifted the cube and carried it 8 cm before the goal
    step, so neither the goal's hand nor the grasp-lift map says where it lay. `eval` with its
    default settings (``ogbench.locator``, the shipped locator, which sees the cube in the start
    frame) solves it, with ``ogbench.locator=null`` it does not; a file that is not a locator is
    refused in one line, before any episode."""
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    assert _planner_episode(tmp_path / "locator", 22)
    assert not _planner_episode(tmp_path / "none", 22, "ogbench.locator=null")
    (tmp_path / "locator.safetensors").write_bytes(b"{}")
    with pytest.raises(ValueError, match="expected a safetensors file written by"):
        _planner_episode(
            tmp_path / "bad", 22, f"ogbench.locator={tmp_path / 'locator.safetensors'}"
        )
    assert not (tmp_path / "bad" / "episodes.csv").exists()
