"""OGBench's cube through the whole stack, small: collect with OGBench's oracle -> train a predictor
in OGBench's layout on a frozen encoder -> plan the task with it. What a user of another arm
does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from wm_control import WorldModel
from wm_control.cli.main import main
from wm_control.models.config import WorldModelConfig
from wm_control.models.presets import encoder_preset


@pytest.mark.slow
def test_collect_train_plan_on_ogbench_cube(tmp_path: Path) -> None:
    data = tmp_path / "play"
    main(
        [
            "collect",
            "env=ogbench_cube_single",
            "policy=oracle",
            "episodes=2",
            "env.max_episode_steps=12",
            "seed=0",
            f"output_dir={data}",
            "progress=false",
            f"hydra.run.dir={tmp_path / 'collect'}",
        ]
    )

    torch.manual_seed(0)
    encoder = tmp_path / "encoder"
    WorldModel(WorldModelConfig(encoder=encoder_preset("vit_tiny"))).save_pretrained(encoder)
    run = tmp_path / "predictor"
    main(
        [
            "train",
            "model=pretrained_encoder",
            f"model.path={encoder}",
            "predictor=ac_tiny",
            "data=ogbench_cube",
            f"data.root={data}",
            "train=smoke",
            "train.steps=3",
            "train.batch_size=4",
            "train.val_fraction=0.5",
            "train.validation.windows=4",
            "train.validation.batch_size=4",
            f"cache.root={tmp_path / 'cache'}",
            f"out_dir={run}",
            "progress=false",
            f"hydra.run.dir={tmp_path / 'train'}",
        ]
    )
    model = WorldModel.from_pretrained(run / "model")
    assert model.layout.name == "ogbench" and model.predictor.config.action_dim == 5

    main(
        [
            "plan",
            "env=ogbench_cube_single",
            "model=pretrained_encoder",
            f"model.path={run / 'model'}",
            "planner.samples=8",
            "planner.iterations=1",
            "planner.elites=2",
            "env.max_episode_steps=2",
            f"hydra.run.dir={tmp_path / 'plan'}",
        ]
    )
    episode = json.loads((tmp_path / "plan" / "episode.json").read_text())
    assert episode["task"] == "wm_control/OGBenchCubeSingle-v0" and episode["steps"] == 2, episode
    for action in episode["actions"]:
        assert len(action) == 5 and all(-1.0 <= a <= 1.0 for a in action), action
