"""bench/ensemble_plans.py --library: windows of consecutive recorded actions of a real OGBench
dataset, written by `collect policy=oracle`."""

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from lerobot.datasets.lerobot_dataset import LeRobotDataset

from wm_control.cli.collect import CollectConfig, collect_dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from ensemble_plans import action_windows  # noqa: E402
from test_ogbench_collect import OGBENCH  # noqa: E402


def test_windows_are_consecutive_recorded_actions_of_one_episode(tmp_path):
    root = tmp_path / "ds"
    collect_dataset(
        CollectConfig(
            env=replace(OGBENCH, max_episode_steps=8),
            output_dir=root,
            episodes=2,
            policy="oracle",
            seed=3,
            steps_after_success=None,
            repo_id="local/ogbench_test",
            progress=False,
        )
    )
    dataset = LeRobotDataset("local/ogbench_test", root=root, video_backend="pyav")
    recorded = [
        np.stack(
            [
                dataset[i]["action"].numpy()
                for i in range(len(dataset))
                if dataset[i]["episode_index"] == e
            ]
        )
        for e in range(2)
    ]  # per episode [T, 5]; the last frame's action is not part of the trajectory
    expected = {
        actions[t : t + 5].tobytes()
        for actions in recorded
        for t in range(len(actions) - 1 - 5 + 1)
    }
    windows = action_windows(str(root), 5, count=100)  # more than there are: all of them
    assert windows.shape == (len(expected), 5, 5)
    assert {w.tobytes() for w in windows} == expected
    assert len(action_windows(str(root), 5, count=3)) == 3
