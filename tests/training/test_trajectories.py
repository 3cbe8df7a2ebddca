"""Reading LeRobot trajectories: key checks, timestamp resampling, actions from states."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from training_toys import CAMERA, render

from wm_control.data.trajectories import DatasetConfig, TrajectoryReader, resample_indices
from wm_control.pose import actions_from_states


def test_resample_uses_timestamps_not_a_nominal_rate() -> None:
    # a 15 Hz stream with jitter, resampled to 4 Hz: rows nearest to 0, 0.25, 0.5, ...
    rng = np.random.default_rng(0)
    ts = np.arange(46) / 15.0 + rng.uniform(-0.005, 0.005, 46)
    ts[0] = 0.0
    picked = resample_indices(ts, 4.0)
    targets = np.arange(len(picked)) * 0.25
    assert len(picked) == int(np.floor(ts[-1] / 0.25)) + 1
    assert np.all(np.abs(ts[picked] - targets) <= 1 / 30 + 0.006)
    assert np.all(np.diff(picked) > 0)


def test_resample_refuses_gaps_and_slow_recordings() -> None:
    with pytest.raises(ValueError, match="gap"):
        resample_indices(np.array([0.0, 0.25, 0.5, 2.0, 2.25]), 4.0, episode=3)
    with pytest.raises(ValueError, match="slower than the requested rate"):
        resample_indices(np.arange(10) / 2.0, 4.0)
    with pytest.raises(ValueError, match="not strictly increasing"):
        resample_indices(np.array([0.0, 0.5, 0.4]), 4.0)


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("data.camera_key", {"camera_key": "observation.images.wrist"}),
        ("data.state_key", {"state_key": "observation.pose"}),
        ("data.action_key", {"action_key": "actions"}),
    ],
)
def test_bad_keys_name_the_available_ones(
    toy_dataset: Path, field: str, overrides: dict[str, str]
) -> None:
    config = DatasetConfig(
        repo_id="test/toy_arm", root=str(toy_dataset), **{"camera_key": CAMERA, **overrides}
    )
    with pytest.raises(KeyError) as error:
        TrajectoryReader(config)
    message = str(error.value)
    assert field in message
    assert CAMERA in message and "observation.state" in message


def test_read_resamples_frames_states_and_derives_actions(toy_dataset: Path) -> None:
    reader = TrajectoryReader(
        DatasetConfig(
            repo_id="test/toy_arm", root=str(toy_dataset), camera_key=CAMERA, action_source="states"
        )
    )
    assert reader.episode_indices == [0, 1, 2, 3]
    traj = reader.read(1)
    # 40 rows at 8 Hz (0 … 4.875 s) → 4 Hz: every second row, 20 samples
    assert traj.frames.shape == (20, 32, 32, 3) and traj.frames.dtype == np.uint8
    np.testing.assert_allclose(np.diff(traj.timestamps), 0.25, atol=1e-6)
    expected = actions_from_states(torch.from_numpy(traj.states).double()).float().numpy()
    np.testing.assert_allclose(traj.actions, expected, atol=1e-6)
    # the decoded frame is the frame of that state (square position; video coding is lossy)
    for t in (0, 7, 19):
        red = traj.frames[t, ..., 0].astype(float)
        want = render(traj.states[t])[..., 0].astype(float)
        assert np.abs(red - want).mean() < 20


def test_dataset_actions_are_read_at_the_resampled_rows(toy_dataset: Path) -> None:
    with pytest.warns(UserWarning, match="action_source=states"):
        reader = TrajectoryReader(
            DatasetConfig(repo_id="test/toy_arm", root=str(toy_dataset), camera_key=CAMERA)
        )
    traj = reader.read(0, with_frames=False)
    # the toy stores per-row (8 Hz) deltas; at 4 Hz a state step is the sum of two of them
    assert traj.actions.shape == (19, 7)
    step = np.diff(traj.states[:, 0])
    assert not np.allclose(traj.actions[:, 0], step)


def test_image_features_are_read_like_videos(tmp_path: Path) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    features = {
        "cam": {"dtype": "image", "shape": (16, 16, 3), "names": ["height", "width", "channels"]},
        "observation.state": {"dtype": "float32", "shape": (7,), "names": None},
    }
    ds = LeRobotDataset.create(
        "test/images", fps=8, features=features, root=tmp_path / "ds", use_videos=False
    )
    for value in range(12):
        ds.add_frame(
            {
                "cam": np.full((16, 16, 3), 10 * value, np.uint8),
                "observation.state": np.full(7, value, np.float32),
                "task": "t",
            }
        )
    ds.save_episode()
    ds.finalize()
    reader = TrajectoryReader(
        DatasetConfig(
            repo_id="test/images",
            root=str(tmp_path / "ds"),
            camera_key="cam",
            action_source="states",
        )
    )
    traj = reader.read(0)
    np.testing.assert_array_equal(traj.frames[:, 0, 0, 0], [0, 20, 40, 60, 80, 100])
    np.testing.assert_array_equal(traj.states[:, 0], [0, 2, 4, 6, 8, 10])
