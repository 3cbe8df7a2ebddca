"""bench/ensemble_plans.py --library and bench/imagined_vs_real_energy.py: windows of consecutive
recorded actions of a real OGBench dataset, written by `collect policy=oracle`, and how a model's
imagination ranks them against the simulator."""

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from lerobot.datasets.lerobot_dataset import LeRobotDataset

from wm_control.cli.collect import collect_dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from ensemble_plans import action_windows  # noqa: E402
from imagined_vs_real_energy import spearman  # noqa: E402
from test_ogbench_collect import OGBENCH, oracle_collect_config  # noqa: E402

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("library") / "ds"
    collect_dataset(oracle_collect_config(root, replace(OGBENCH, max_episode_steps=8)))
    return root


def test_windows_are_consecutive_recorded_actions_of_one_episode(library):
    root = library
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


def test_spearman_is_scipys():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=40), rng.normal(size=40)
    assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic)
    assert spearman(a, 2 * a + 1) == pytest.approx(1.0)
    assert spearman(a, -a) == pytest.approx(-1.0)


def test_imagined_vs_real_energy_reports_each_episode(library):
    """The shipped OGBench model on 3 recorded windows from protocol (a)'s seed 0."""
    run = subprocess.run(
        [
            sys.executable,
            str(BENCH / "imagined_vs_real_energy.py"),
            "--only",
            "0",
            "--library",
            str(library),
            "--windows",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    row = next(line for line in run.stdout.splitlines() if line.startswith("| 0 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    correlation, chosen, best, median = (float(c) for c in cells[1:5])
    assert -1.0 <= correlation <= 1.0
    assert best <= chosen and best <= median
    assert cells[5].endswith("of 3")
