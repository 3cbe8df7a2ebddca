"""The shipped default model: it loads, its config matches its weights, it says how it was made,
and its energy points the way to the goal in the simulated task it was trained on."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from safetensors import safe_open

import envs  # registers the tasks
from wm_control import WorldModel, energy
from wm_control.cli.image_inputs import REPO_ROOT
from wm_control.model_source import ModelSource

from shipped_models import load_shipped_model


@pytest.fixture(scope="module")
def shipped() -> tuple[ModelSource, WorldModel]:
    return load_shipped_model("sim_default")


def test_shipped_model_is_small_and_its_config_matches_its_weights(shipped) -> None:
    source, model = shipped
    path = source.resolved_path(REPO_ROOT)
    assert path.stat().st_size < 10 * 2**20, (
        "the default model must stay small enough for a fresh clone"
    )
    assert (
        model.predictor is not None
        and model.tokens_per_frame == 64
        and model.image_size == (128, 128)
    )
    fresh = WorldModel(model.config)  # what the stored config builds
    expected = {f"encoder.{k}": tuple(v.shape) for k, v in fresh.encoder.state_dict().items()}
    expected |= {f"predictor.{k}": tuple(v.shape) for k, v in fresh.predictor.state_dict().items()}
    with safe_open(str(path), framework="pt") as handle:
        stored = {k: tuple(handle.get_slice(k).get_shape()) for k in handle.keys()}
    assert stored == expected


def test_shipped_model_records_how_it_was_made(shipped) -> None:
    source, _ = shipped
    meta = WorldModel.read_metadata(source.resolved_path(REPO_ROOT))
    assert meta["producer"] == "wm-control train" and meta["command"].startswith("wm-control train")
    assert meta["train_config"]["predictor"] and meta["train_config"]["steps"] == meta["step"]
    encoder = meta["start_model"]["metadata"]
    assert encoder["producer"] == "wm-control pretrain" and encoder["command"].startswith(
        "wm-control pretrain"
    )
    assert "/root/" not in str(meta) and "/work/" not in str(meta), (
        "no path of the training machine"
    )


def test_shipped_model_was_made_by_the_makefile_recipe(shipped) -> None:
    """`make default-model`'s settings (one torch thread: the weights it remakes are the shipped
    ones) on the datasets of `make default-model-data`, recorded on the current simulator."""
    source, _ = shipped
    meta = WorldModel.read_metadata(source.resolved_path(REPO_ROOT))
    encoder = meta["start_model"]["metadata"]
    for part in ("encoder=vit_mini", "image_size=128", "steps=3000", "batch_size=16", "threads=1"):
        assert part in encoder["command"].split(), part
    for part in ("predictor=ac_mini", "train=sim_default", "threads=1"):
        assert part in meta["command"].split(), part
    recipe = OmegaConf.load(REPO_ROOT / "configs" / "train" / "sim_default.yaml")
    trained = meta["train_config"]
    assert (trained["steps"], trained["batch_size"]) == (recipe.steps, recipe.batch_size)
    assert trained["optim"]["lr"] == recipe.optim.lr
    recordings = meta["data_recordings"]
    collected = sorted(
        (r["env"]["id"], r["policy"], r["episodes"], r["seed"]) for r in recordings.values()
    )
    expected = []
    for i, task in enumerate(("Reach", "Push", "PickPlace", "Grasp"), start=1):
        task_id = f"wm_control/{task}-v{envs.SIMULATOR_VERSION}"
        expected += [
            (task_id, "expert", 200, i * 100000),
            (task_id, "expert", 100, i * 100000 + 10000),
            (task_id, "random", 100, i * 100000 + 20000),
        ]
    assert collected == sorted(expected)


def test_shipped_model_energy_prefers_moving_toward_a_near_goal(shipped) -> None:
    """From Reach starts of seeds 0-39 whose goal is within 18 cm, a 5 cm step toward the goal
    gets a lower image energy than the same step away from it, in at least two thirds of the
    starts and by a clear margin on average (far goals share no pixels with the start, where a
    one-step energy need not point the way). The shipped model: 14 of 14 starts, mean margin
    0.10; its encoder under a predictor with random weights: 7 of 14, margin 0.00. A 16-token
    model passed with 10 of 14, so the bound is kept loose (one-step image energy is coarse)."""
    _, model = shipped
    env = gym.make("wm_control/Reach-v2", image_size=128)  # as recorded for training
    margins = []
    try:
        for seed in range(40):
            observation, info = env.reset(seed=seed)
            direction = info["goal_position"] - info["ee_position"]
            if np.linalg.norm(direction) > 0.18:
                continue
            step = torch.from_numpy(0.05 * direction / np.linalg.norm(direction)).float()
            actions = torch.zeros(2, 1, 7)
            actions[0, 0, :3], actions[1, 0, :3] = step, -step
            with torch.inference_mode():
                tokens = model.encode(observation["pixels"])
                state = torch.from_numpy(observation["state"]).view(1, 1, 7)
                goal = model.encode(env.unwrapped.goal_images()[-1])[0, 0]
                toward, away = energy(model.rollout(tokens, state, actions).tokens, goal).tolist()
            margins.append(away - toward)
    finally:
        env.close()
    assert len(margins) >= 10
    assert sum(m > 0 for m in margins) >= 2 * len(margins) / 3, margins
    assert np.mean(margins) > 0.05, margins


def test_default_planner_turns_the_jaws_to_a_rotated_cube(shipped) -> None:
    """Toward Grasp's first sub-goal (open jaws above the cube, turned to its faces), the default
    planner (`planner=fast`, goal state in the energy as in the README's results) turns the hand
    the right way by a clear step where the jaws start well off the cube's faces (> 0.3 rad; seeds
    0-29). A planner that keeps the yaw fixed (`search_yaw: false`, the paper's) leaves the jaws
    across the cube, where they close on its edges: the Grasp failures of that planner."""
    from wm_control.episode import MPCAgent
    from wm_control.planning.config import PlannerConfig
    from wm_control.planning.workspace import Workspace

    _, model = shipped
    fast = OmegaConf.to_container(OmegaConf.load(REPO_ROOT / "configs/planner/fast.yaml"))
    config = PlannerConfig.from_dict({**fast, "goal_state_weight": 1.0})
    env = gym.make("wm_control/Grasp-v2", image_size=128)
    turns = []  # (yaw error to the sub-goal, planned Δyaw) (rad)
    try:
        for seed in range(30):
            observation, info = env.reset(seed=seed)
            box = Workspace(*env.unwrapped.workspace)
            agent = MPCAgent(env, config.controller(model, workspace=box))
            agent.reset(seed)
            error = float(agent.goal_states[0][5] - observation["state"][5])
            error = (error + np.pi) % (2 * np.pi) - np.pi
            if abs(error) > 0.3:
                turns.append((error, float(agent(observation, info)[5])))
            if len(turns) == 3:
                break
    finally:
        env.close()
    assert len(turns) == 3
    assert all(np.sign(turn) == np.sign(error) and abs(turn) > 0.1 for error, turn in turns), turns
