"""The shipped OGBench cube model: it loads with OGBench's layout, says how it was made (the recipe
of `make ogbench-model`), and its encoder sees the cube."""

import numpy as np
import pytest
import torch

import envs  # noqa: F401  (registers the tasks)
from wm_control import WorldModel, energy
from wm_control.cli.image_inputs import REPO_ROOT
from wm_control.model_source import ModelSource

from shipped_models import load_shipped_model


@pytest.fixture(scope="module")
def shipped() -> tuple[ModelSource, WorldModel]:
    return load_shipped_model("ogbench_cube")


def test_it_is_small_and_declares_ogbench_layout(shipped) -> None:
    source, model = shipped
    assert source.resolved_path(REPO_ROOT).stat().st_size < 10 * 2**20
    assert model.layout.name == "ogbench" and model.predictor.config.action_dim == 5
    assert model.image_size == (64, 64) and model.tokens_per_frame == 16


def test_it_records_the_makefile_recipe(shipped) -> None:
    source, _ = shipped
    meta = WorldModel.read_metadata(source.resolved_path(REPO_ROOT))
    assert meta["producer"] == "wm-control train" and "train=ogbench_cube_mix" in meta["command"]
    policies = sorted(
        r["command"].split("policy=")[1].split()[0] for r in meta["data_recordings"].values()
    )
    assert policies == ["oracle", "oracle_noisy"]  # play and noisy data
    start = meta["start_model"]["metadata"]  # the first predictor stage, on play data
    assert (
        "train=ogbench_cube " in start["command"] + " " and "predictor=ac_mini" in start["command"]
    )


def test_its_encoder_sees_the_cube_move(shipped) -> None:
    import gymnasium as gym

    _, model = shipped
    env = gym.make("wm_control/OGBenchCubeSingle-v0")
    try:
        env.reset(seed=0)
        task = env.unwrapped
        qpos, qvel = task.simulator_state()
        cube = task.scene._model.joint("object_joint_0").qposadr[0]
        base = model.encode(task.render_configuration(qpos, qvel))[0, 0]  # [N, D]
        distances = []
        for shift in (0.01, 0.04):
            moved = qpos.copy()
            moved[cube] += shift
            with torch.no_grad():
                frame = model.encode(task.render_configuration(moved, qvel))
            distances.append(float(energy(frame, base)))
    finally:
        env.close()
    assert 0 < distances[0] < distances[1], distances
    assert np.isfinite(distances).all()
