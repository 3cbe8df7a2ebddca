"""The goal-conditioned behaviour-cloning baseline: learns from demonstrations, saves, evaluates."""

import csv

import numpy as np
import pytest
import torch

from wm_control.behavior_cloning import (
    BCConfig,
    GoalConditionedPolicy,
    load_demonstrations,
    train_policy,
)
from wm_control.checkpoints import CheckpointError
from wm_control.cli.main import main
from wm_control.data.trajectories import DatasetConfig, TrajectoryReader


@pytest.fixture(scope="module")
def reach_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bc")
    main(
        [
            "collect",
            "env=reach",
            "episodes=4",
            "policy=expert",
            "noise=0.1",
            "env.image_size=32",
            f"output_dir={folder / 'data'}",
            "progress=false",
            f"hydra.run.dir={folder / 'run'}",
        ]
    )
    return folder / "data"


def test_policy_fits_the_demonstrations_and_round_trips(reach_dataset, tmp_path):
    reader = TrajectoryReader(
        DatasetConfig(
            repo_id="local/bc",
            root=str(reach_dataset),
            camera_key="observation.images.exterior",
            action_source="dataset",
        )
    )
    demos = load_demonstrations([reader], 32, progress=False)
    assert demos.frames.shape[1:] == (32, 32, 3) and len(demos.actions) == len(demos.step_frame)
    assert np.all(demos.goal_frame >= demos.step_frame)
    config = BCConfig(image_size=32, channels=(16, 32), hidden=64, steps=300, batch_size=32)

    def error(policy):
        with torch.no_grad():
            predicted = policy(
                torch.from_numpy(demos.frames[demos.step_frame]),
                torch.from_numpy(demos.frames[demos.goal_frame]),
                torch.from_numpy(demos.states),
            )
            return float(
                (
                    predicted * policy.action_std
                    + policy.action_mean
                    - torch.from_numpy(demos.actions)
                )
                .abs()
                .mean()
            )

    untrained = train_policy(demos, BCConfig(**{**config.__dict__, "steps": 1}), progress=False)
    trained = train_policy(demos, config, progress=False)
    assert error(trained) < 0.6 * error(untrained)
    path = trained.save(tmp_path / "bc.safetensors")
    loaded = GoalConditionedPolicy.load(path)
    frame, goal, state = demos.frames[0], demos.frames[demos.goal_frame[0]], demos.states[0]
    assert np.allclose(loaded.act(frame, goal, state), trained.act(frame, goal, state))
    corrupt = bytearray(path.read_bytes())  # same size, last tensor bytes zeroed
    corrupt[-64:] = bytes(64)
    (tmp_path / "corrupt.safetensors").write_bytes(bytes(corrupt))
    with pytest.raises(CheckpointError, match="is corrupt"):
        GoalConditionedPolicy.load(tmp_path / "corrupt.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="could not read"):
        GoalConditionedPolicy.load(tmp_path / "junk.safetensors")


def test_eval_trains_and_runs_the_bc_baseline(reach_dataset, tmp_path):
    main(
        [
            "eval",
            "tasks=[reach]",
            "episodes=1",
            "agents=[bc,random]",
            f"bc.datasets=[{reach_dataset}]",
            "bc.policy.steps=20",
            "bc.policy.image_size=32",
            "bc.policy.channels=[16,32]",
            "env_overrides.image_size=32",
            "env_overrides.max_episode_steps=5",
            "progress=false",
            f"hydra.run.dir={tmp_path}",
        ]
    )
    rows = list(csv.DictReader(open(tmp_path / "summary.csv")))
    assert [r["agent"] for r in rows] == ["bc", "random"]
    assert (tmp_path / "bc_policy.safetensors").is_file()
