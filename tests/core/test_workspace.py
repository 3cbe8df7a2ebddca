"""The planner's picture of the arm's workspace clipping, against the simulator's own."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401  (registers the tasks)
from wm_control.planning import ActionSpec, Workspace
from wm_control.planning.config import PlannerConfig

NAMES = ActionSpec.droid().names
BOX = Workspace(low=(0.2, -0.4, 0.02), high=(0.8, 0.4, 0.6))


def _actions(*steps):
    return torch.tensor(
        [[list(s) + [0.0, 0.0, 0.0, 0.5] for s in steps]], dtype=torch.float32
    )  # [1, H, 7]


def test_targets_leaving_the_box_are_moved_onto_it_step_by_step():
    position = torch.tensor([0.5, 0.0, 0.03])
    actions = _actions((0.05, 0.0, -0.05), (0.0, 0.0, -0.05), (0.0, 0.1, 0.05))
    executed = BOX.executed(actions, position, NAMES)
    expected = torch.tensor([[0.05, 0.0, -0.01], [0.0, 0.0, 0.0], [0.0, 0.1, 0.05]])
    assert torch.allclose(executed[0, :, :3], expected, atol=1e-7)
    assert torch.equal(executed[..., 3:], actions[..., 3:])  # rotation and gripper untouched
    inside = _actions((0.01, -0.02, 0.03))
    assert torch.equal(BOX.executed(inside, position, NAMES), inside)


def test_a_position_outside_the_box_gets_targets_on_its_boundary():
    below = torch.tensor([0.5, 0.0, 0.01])  # 1 cm under the floor
    executed = BOX.executed(_actions((0.0, 0.0, -0.03), (0.0, 0.0, 0.0)), below, NAMES)
    assert torch.allclose(executed[0, :, 2], torch.tensor([0.01, 0.0]), atol=1e-7)


def test_batched_samples_with_named_dimensions_in_any_order():
    names = ("dgripper", "dz", "dy", "dx")
    actions = torch.tensor([[[0.3, -0.2, 0.0, 0.0]], [[0.3, 0.0, 0.0, 0.5]]])  # [2, 1, 4]
    executed = BOX.executed(actions, torch.tensor([0.5, 0.0, 0.1]), names)
    assert torch.allclose(
        executed[:, 0], torch.tensor([[0.3, -0.08, 0.0, 0.0], [0.3, 0.0, 0.0, 0.3]]), atol=1e-6
    )


def test_bad_boxes_and_names_are_refused():
    with pytest.raises(ValueError, match="low < high on every axis"):
        Workspace(low=(0, 0, 0.5), high=(1, 1, 0.1))
    with pytest.raises(ValueError, match="3 values"):
        Workspace(low=(0, 0), high=(1, 1))
    with pytest.raises(ValueError, match=r"lack a translation .*found \['dx', 'dy'\]"):
        BOX.executed(torch.zeros(1, 1, 2), torch.zeros(3), ("dx", "dy"))


def test_the_simulator_moves_the_arm_where_the_workspace_says():
    env = gym.make("wm_control/Reach-v2", image_size=32)
    try:
        obs, _ = env.reset(seed=0)
        box = Workspace(*env.unwrapped.workspace)
        # go down to the floor, then ask for more: the arm stays where the box predicts
        for _ in range(6):
            obs, *_ = env.step(np.array([0.0, 0.0, -0.075, 0, 0, 0, 0], np.float32))
        position = obs["state"][:3].astype(np.float64)
        assert position[2] == pytest.approx(box.low[2], abs=3e-3)
        action = torch.tensor([[[0.03, 0.0, -0.05, 0, 0, 0, 0]]])
        planned = box.executed(action, torch.from_numpy(position), NAMES)[0, 0, :3].numpy()
        assert planned[2] == pytest.approx(box.low[2] - position[2], abs=1e-6)
        obs, *_ = env.step(action[0, 0].numpy())
        assert np.allclose(obs["state"][:3], position + planned, atol=4e-3)
    finally:
        env.close()


def test_planner_config_switch(reference):
    _, model = reference
    assert PlannerConfig().controller(model, workspace=BOX).workspace == BOX
    assert PlannerConfig(clip_to_workspace=False).controller(model, workspace=BOX).workspace is None
    assert PlannerConfig().controller(model).workspace is None
