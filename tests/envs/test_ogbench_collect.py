"""`wm-control collect env=ogbench_cube_single policy=oracle`: OGBench's oracle recorded into a
real LeRobot dataset at 4 Hz, in OGBench's layouts."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hydra import compose, initialize_config_dir
from lerobot.datasets.lerobot_dataset import LeRobotDataset

from envs.config import EnvConfig
from wm_control.cli.collect import CollectConfig, collect_dataset, config_from_hydra
from wm_control.cli.main import config_dir

OGBENCH = EnvConfig(
    id="wm_control/OGBenchCubeSingle-v0",
    task="Move the cube.",
    image_size=64,
    control_hz=4,
    timestep=0.002,
    max_episode_steps=3,
    mode="data_collection",
)


def oracle_collect_config(output_dir, env: EnvConfig = OGBENCH) -> CollectConfig:
    """Two episodes of OGBench's play oracle into ``output_dir`` (``local/ogbench_test``)."""
    return CollectConfig(
        env=env,
        output_dir=output_dir,
        episodes=2,
        policy="oracle",
        seed=3,
        steps_after_success=None,
        repo_id="local/ogbench_test",
        progress=False,
    )


def test_oracle_collection_writes_a_lerobot_dataset(tmp_path):
    summary = collect_dataset(oracle_collect_config(tmp_path / "ds"))
    assert (summary.episodes, summary.frames) == (2, 6)
    dataset = LeRobotDataset("local/ogbench_test", root=tmp_path / "ds", video_backend="pyav")
    assert dataset.fps == 4 and dataset.meta.total_episodes == 2 and len(dataset) == 6
    features = dataset.meta.features
    assert features["observation.state"]["names"] == ["x", "y", "z", "yaw", "gripper"]
    assert features["action"]["shape"] == (5,)
    frame = dataset[1]
    assert frame["observation.images.exterior"].shape == (3, 64, 64)
    assert frame["observation.state"].shape == (5,) and frame["action"].abs().max() <= 1.0
    assert frame["action"].abs().max() > 0.05  # the oracle moves
    record = json.loads((tmp_path / "ds" / "meta" / "wm_control_collect.json").read_text())
    assert record["policy"] == "oracle" and record["env"]["mode"] == "data_collection"


def test_collect_command_puts_the_task_in_data_collection_mode_for_the_oracles(tmp_path):
    with initialize_config_dir(config_dir=str(config_dir()), version_base=None):
        cfg = compose(
            "collect",
            overrides=["env=ogbench_cube_single", "policy=oracle", f"output_dir={tmp_path / 'ds'}"],
        )
        expert = compose("collect", overrides=["env=reach", f"output_dir={tmp_path / 'ds'}"])
    config = config_from_hydra(cfg)
    assert config.env.mode == "data_collection" and config.steps_after_success is None
    assert config.env.control_hz == 4 and config.env.image_size == 64
    assert config_from_hydra(expert).steps_after_success == 2  # `auto` for the scripted experts


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"env": replace(OGBENCH, mode="task")}, "env.mode must be 'data_collection'"),
        ({"noise": 0.1}, "noise must be 0 for policy=oracle"),
        ({"steps_after_success": 2}, "steps_after_success must be None for policy=oracle"),
        ({"noise_per": "block"}, "noise_per='block' holds the noise of policy=oracle_noisy"),
        ({"noise_per": "episode"}, r"noise_per must be one of \('step', 'block'\)"),
    ],
)
def test_oracle_settings_that_would_not_be_ogbenchs_are_refused(tmp_path, change, message):
    settings = dict(
        env=OGBENCH, output_dir=tmp_path / "ds", policy="oracle", steps_after_success=None
    )
    with pytest.raises(ValueError, match=message):
        CollectConfig(**{**settings, **change})


def test_noisy_oracle_collection_records_that_its_noise_is_held_per_block(tmp_path):
    with initialize_config_dir(config_dir=str(config_dir()), version_base=None):
        cfg = compose(
            "collect",
            overrides=[
                "env=ogbench_cube_single",
                "policy=oracle_noisy",
                "noise_per=block",
                "episodes=1",
                "env.max_episode_steps=2",
                f"output_dir={tmp_path / 'ds'}",
                "progress=false",
            ],
        )
    config = config_from_hydra(cfg)
    assert config.noise_per == "block"
    collect_dataset(config)
    record = json.loads((tmp_path / "ds" / "meta" / "wm_control_collect.json").read_text())
    assert record["policy"] == "oracle_noisy" and record["noise_per"] == "block"
