"""Declared action/state layouts: recorded in checkpoints, used by the rollout, the planner's
action space and the training data; a task of another layout is refused."""

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from wm_control import WorldModel
from wm_control.layouts import LAYOUTS, LayoutMismatchError, check_layouts, get_layout
from wm_control.models.config import PredictorConfig, WorldModelConfig
from wm_control.models.presets import encoder_preset, predictor_preset
from wm_control.planning.action_spec import ActionSpec, jaw_hold
from wm_control.pose import integrate_ogbench_state, ogbench_actions_from_states
from wm_control.world_model import layer_norm

SHIPPED = Path(__file__).parents[2] / "wm_control/pretrained/sim_default/model.safetensors"


def _model(layout: str) -> WorldModel:
    torch.manual_seed(0)
    encoder = encoder_preset("vit_tiny")
    predictor = predictor_preset("ac_mini", encoder, layout=layout)
    return WorldModel(WorldModelConfig(encoder=encoder, predictor=predictor)).eval()


@pytest.fixture(scope="module")
def ogbench_model() -> WorldModel:
    return _model("ogbench")


def test_layout_round_trips_through_a_checkpoint(tmp_path, ogbench_model):
    ogbench_model.save_pretrained(tmp_path / "model")
    loaded = WorldModel.from_pretrained(tmp_path / "model")
    assert loaded.config.predictor.layout == "ogbench"
    assert loaded.layout is LAYOUTS["ogbench"]
    assert (loaded.config.predictor.action_dim, loaded.config.predictor.state_dim) == (5, 5)


def test_checkpoints_without_a_layout_record_are_droid(tmp_path):
    _model("droid").save_pretrained(tmp_path / "model")
    file = tmp_path / "model" / "model.safetensors"
    with safe_open(str(file), framework="pt") as handle:
        header = dict(handle.metadata())
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    config = json.loads(header["config"])
    del config["predictor"]["layout"]  # as written before layouts existed
    header["config"] = json.dumps(config)
    save_file(tensors, str(file), metadata=header)
    assert WorldModel.from_pretrained(file).layout.name == "droid"
    assert WorldModel.from_pretrained(SHIPPED).layout.name == "droid"  # the shipped model, too


def test_config_refuses_widths_that_contradict_the_layout():
    with pytest.raises(ValueError, match=r"PredictorConfig.layout: 'ogbench' has 5 action"):
        PredictorConfig(
            width=32, depth=1, num_heads=2, mlp_hidden=64, encoder_width=32, layout="ogbench"
        )
    with pytest.raises(ValueError, match=r"PredictorConfig.layout: expected one of"):
        PredictorConfig(
            width=32, depth=1, num_heads=2, mlp_hidden=64, encoder_width=32, layout="ur5_joints"
        )


def test_ogbench_rollout_integrates_states_by_the_ogbench_layout(ogbench_model):
    g = torch.Generator().manual_seed(0)
    N, D = ogbench_model.tokens_per_frame, ogbench_model.token_dim
    tokens = layer_norm(torch.randn(2, 1, N, D, generator=g))
    states = torch.tensor([[[0.4, 0.1, 0.2, 3.05, 0.3]], [[0.5, -0.1, 0.1, -0.2, 0.9]]])
    actions = torch.tensor([[0.2, -0.4, 0.1, 0.5, 1.0], [-0.1, 0.0, 0.3, -0.2, -1.0]])
    actions = actions[:, None].expand(2, 3, 5)  # the same action for 3 steps
    with torch.no_grad():
        out = ogbench_model.rollout(tokens, states, actions)
    state = states[:, 0].clone()
    for h in range(3):  # 5 OGBench steps: 43 % of 0.05 m and 22 % of 0.3 rad per unit and step
        a = actions[:, h]
        state[:, :3] += 5 * 0.43 * 0.05 * a[:, :3]
        yaw = state[:, 3] + 5 * 0.22 * 0.3 * a[:, 3]
        state[:, 3] = torch.remainder(yaw + math.pi, 2 * math.pi) - math.pi
        for _ in range(5):  # the gripper closes 38 % of the gap to its target per step
            target = (state[:, 4] + a[:, 4]).clamp(0, 1)
            state[:, 4] += 0.38 * (target - state[:, 4])
        assert torch.allclose(out.states[:, h], state, atol=1e-5), h
    assert out.states[0, 0, 3] < 0  # the yaw wrapped past π
    assert out.states.shape == (2, 3, 5)


def test_droid_rollout_keeps_the_droid_integration():
    model = _model("droid")
    tokens = layer_norm(torch.randn(1, 1, model.tokens_per_frame, model.token_dim))
    states = torch.tensor([[[0.4, 0.0, 0.3, 0.0, 0.0, 0.1, 0.5]]])
    actions = torch.tensor([[[0.05, 0.0, -0.02, 0.0, 0.0, 0.2, 0.25]]])
    with torch.no_grad():
        out = model.rollout(tokens, states, actions)
    expected = torch.tensor([0.45, 0.0, 0.28, 0.0, 0.0, 0.3, 0.75])
    assert torch.allclose(out.states[0, 0], expected, atol=1e-6)


def test_ogbench_actions_from_states_invert_the_integration():
    g = torch.Generator().manual_seed(1)
    low, high = torch.tensor([0.3, -0.3, 0.05, -3.0, 0.5]), torch.tensor([0.6, 0.3, 0.35, 3.0, 0.5])
    state = low + (high - low) * torch.rand(6, 5, generator=g)
    action = (torch.rand(6, 5, generator=g) - 0.5) * torch.tensor([0.8] * 4 + [0.3])
    # gripper 0.5, actions within ±0.15: its targets stay inside [0, 1] (no clipping to invert)
    nxt = integrate_ogbench_state(state, action, block=5)
    recovered = ogbench_actions_from_states(torch.stack([state, nxt], dim=-2), block=5)[..., 0, :]
    assert torch.allclose(recovered, action, atol=1e-5)
    assert get_layout("ogbench").from_states(torch.stack([state, nxt], -2)).shape == (6, 1, 5)


def test_a_task_of_another_layout_is_refused_naming_both():
    check_layouts("ogbench", "ogbench")
    with pytest.raises(LayoutMismatchError) as error:
        check_layouts("droid", "ogbench", task="wm_control/OGBenchCubeSingle-v0")
    message = str(error.value)
    assert "'droid'" in message and "'ogbench'" in message
    assert "wm_control/OGBenchCubeSingle-v0" in message


def test_the_planners_action_space_comes_from_the_layout():
    droid = ActionSpec.for_layout("droid", max_step=0.075, gripper_limit=0.75)
    assert droid == ActionSpec.droid(max_step=0.075, gripper_limit=0.75)
    # bounds in metres and radians, whatever the layout: one OGBench unit held 5 steps moves
    # 5 * 0.05 m * 0.43 = 0.1075 m and turns 5 * 0.3 rad * 0.22 = 0.33 rad
    spec = ActionSpec.for_layout(
        "ogbench", max_step=0.075, gripper_limit=0.75, search_yaw=True, max_rotation=0.2
    )
    assert spec.names == get_layout("ogbench").action_names
    assert spec.high == pytest.approx((0.075 / 0.1075,) * 3 + (0.2 / 0.33, 0.75))
    assert spec.searched == (True,) * 5
    assert ActionSpec.for_layout("ogbench", max_step=0.5, gripper_limit=2.0).high[0] == 1.0
    assert jaw_hold("closed", 1.0, spec.names) == {"gripper": 1.0}
    assert jaw_hold("open", 0.75) == {"dgripper": -0.75}
    with pytest.raises(ValueError, match="only a yaw"):
        ActionSpec.for_layout("ogbench", max_step=1.0, gripper_limit=1.0, search_rotation=True)


def test_the_workspace_clips_ogbench_actions_in_metres():
    from wm_control.planning.workspace import Workspace

    box = Workspace(low=(0.25, -0.35, 0.02), high=(0.6, 0.35, 0.35))  # OGBench's
    per_unit = get_layout("ogbench").translation_per_unit  # 0.1075 m
    actions = torch.tensor([[[1.0, 0.2, 0.0, 0.3, 1.0], [1.0, 0.0, 0.0, 0.0, 1.0]]])  # [1, H=2, 5]
    names = get_layout("ogbench").action_names
    out = box.executed(actions, torch.tensor([0.55, 0.0, 0.2]), names, per_unit)
    assert out[0, 0, 0] == pytest.approx(0.05 / per_unit)  # to the x = 0.6 wall, in units
    assert out[0, 0, 1:].tolist() == pytest.approx(actions[0, 0, 1:].tolist())  # inside: as planned
    assert out[0, 1, 0] == 0.0  # already at the wall
