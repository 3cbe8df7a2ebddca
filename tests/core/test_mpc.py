"""The receding-horizon controller over the real world model."""

import numpy as np
import pytest
import torch

from wm_control.planning import ActionSpec, CEMConfig, CEMPlanner, MPCController, Workspace


def _controller(model, workspace=None, **cem):
    config = CEMConfig(**{"samples": 64, "iterations": 3, "elites": 8, **cem})
    return MPCController(
        model, CEMPlanner(config), ActionSpec.droid(max_step=0.05), workspace=workspace
    )


def test_act_returns_bounded_first_action(reference):
    data, model = reference
    ctrl = _controller(model, horizon=2)
    ctrl.set_goal(data["frames"][0, 2])
    step = ctrl.act(data["frames"][0, 0], data["states"][0, 0])
    assert step.action.shape == (7,) and step.plan.shape == (2, 7)
    assert np.abs(step.action[:3]).max() <= 0.05 and np.all(step.action[3:6] == 0)
    assert np.array_equal(step.action, step.plan[0])
    assert len(step.energies_per_iteration) == 3 and step.planning_seconds > 0
    assert np.isfinite(step.energy)


def test_plan_energy_is_the_model_energy_of_the_plan(reference):
    data, model = reference
    ctrl = _controller(model)
    ctrl.set_goal(data["frames"][1, 2])
    step = ctrl.act(data["frames"][1, 0], data["states"][1, 0])
    tokens0 = model.encode(data["frames"][1, 0])
    goal = model.encode(data["frames"][1, 2])[0, 0]
    with torch.no_grad():
        imagined = model.rollout(
            tokens0,
            torch.from_numpy(data["states"][1, :1])[None],
            torch.from_numpy(step.plan)[None],
        )
    assert step.energy == pytest.approx(
        float((imagined.tokens[0, -1] - goal).abs().mean()), rel=1e-5
    )
    # the plan is at least as good as doing nothing
    with torch.no_grad():
        idle = model.rollout(
            tokens0, torch.from_numpy(data["states"][1, :1])[None], torch.zeros(1, 1, 7)
        )
    assert step.energy <= float((idle.tokens[0, -1] - goal).abs().mean()) + 1e-6


def test_same_seed_same_actions_after_reset(reference):
    data, model = reference
    ctrl = _controller(model)
    ctrl.set_goal(data["frames"][0, 2])
    first = ctrl.act(data["frames"][0, 0], data["states"][0, 0]).action
    ctrl.reset()
    assert np.array_equal(first, ctrl.act(data["frames"][0, 0], data["states"][0, 0]).action)


def test_errors_are_clear(reference):
    data, model = reference
    ctrl = _controller(model)
    with pytest.raises(RuntimeError, match="no goal set"):
        ctrl.act(data["frames"][0, 0], data["states"][0, 0])
    with pytest.raises(TypeError, match="expected uint8"):
        ctrl.set_goal(data["frames"][0, 2].astype(np.float32))
    with pytest.raises(ValueError, match="NaN or inf"):
        ctrl.set_goal_tokens(torch.full((16, 128), float("nan")))
    with pytest.raises(ValueError, match=r"expected tokens \[16, 128\]"):
        ctrl.set_goal_tokens(torch.zeros(4, 128))
    ctrl.set_goal(data["frames"][0, 2])
    with pytest.raises(ValueError, match="expected a finite state"):
        ctrl.act(data["frames"][0, 0], np.array([0, 0, np.nan, 0, 0, 0, 0], dtype=np.float32))


def test_workspace_the_model_imagines_and_the_controller_returns_executable_actions(
    reference, monkeypatch
):
    data, model = reference
    state = data["states"][0, 0].copy()
    position = state[:3].astype(np.float64)
    # a box whose floor is the current height and whose +x wall is 1 cm ahead
    box = Workspace(
        low=(position[0] - 1, position[1] - 1, position[2]),
        high=(position[0] + 0.01, position[1] + 1, position[2] + 1),
    )
    ctrl = _controller(model, workspace=box, horizon=2)
    ctrl.set_goal(data["frames"][0, 2])
    imagined = []
    rollout = model.rollout

    def recording_rollout(tokens, states, actions):
        imagined.append(actions.clone())
        return rollout(tokens, states, actions)

    monkeypatch.setattr(model, "rollout", recording_rollout)
    step = ctrl.act(data["frames"][0, 0], state)
    for actions in imagined:  # every sample the model saw stays in the box along its plan
        targets = torch.from_numpy(position).float() + actions[..., :3].cumsum(dim=1)  # [S, H, 3]
        assert float(targets[..., 2].min()) >= position[2] - 1e-5
        assert float(targets[..., 0].max()) <= position[0] + 0.01 + 1e-5
    assert len(imagined) == 4  # 3 iterations + the plan's energy
    targets = position + step.plan[:, :3].cumsum(axis=0)
    assert (
        targets[:, 2].min() >= position[2] - 1e-5
        and targets[:, 0].max() <= position[0] + 0.01 + 1e-5
    )
    # without the box, the same planner imagines moves through the floor
    free = _controller(model, horizon=2)
    free.set_goal(data["frames"][0, 2])
    imagined.clear()
    free.act(data["frames"][0, 0], state)
    assert float(imagined[0][..., 2].min()) < -0.01


def test_goal_state_weight_adds_the_imagined_state_distance(reference):
    data, model = reference
    spec, config = ActionSpec.droid(max_step=0.05), CEMConfig(samples=64, iterations=3, elites=8)
    frame, state = data["frames"][1, 0], data["states"][1, 0]
    goal_state = state + np.array([0.04, 0, 0, 0, 0, 0, 0], np.float32)  # 4 cm ahead in x
    plain = MPCController(model, CEMPlanner(config), spec)
    weighted = MPCController(model, CEMPlanner(config), spec, state_weight=10.0)
    plain.set_goal(data["frames"][1, 2], goal_state)
    weighted.set_goal(data["frames"][1, 2], goal_state)
    image_only, with_state = plain.act(frame, state), weighted.act(frame, state)
    tokens0 = model.encode(frame)
    with torch.no_grad():
        imagined = model.rollout(
            tokens0, torch.from_numpy(state)[None, None], torch.from_numpy(with_state.plan)[None]
        )
    goal = model.encode(data["frames"][1, 2])[0, 0]
    distance = float((imagined.states[0, -1] - torch.from_numpy(goal_state)).abs().mean())
    image_energy = float((imagined.tokens[0, -1] - goal).abs().mean())
    assert with_state.energy == pytest.approx(image_energy + 10.0 * distance, rel=1e-4)
    assert with_state.action[0] > 0.03  # the state term pulls the plan toward +x
    with torch.no_grad():  # weight 0: the image alone, whatever the goal state
        plain_imagined = model.rollout(
            tokens0, torch.from_numpy(state)[None, None], torch.from_numpy(image_only.plan)[None]
        )
    plain_energy = float((plain_imagined.tokens[0, -1] - goal).abs().mean())
    assert image_only.energy == pytest.approx(plain_energy, rel=1e-4)
    assert image_only.action[0] < with_state.action[0]
    with pytest.raises(ValueError, match=r"goal state \[7\]"):
        weighted.set_goal(data["frames"][1, 2], np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="state_weight >= 0"):
        MPCController(model, CEMPlanner(config), spec, state_weight=-1.0)


def test_plan_energies_score_given_plans_as_act_scores_its_own(reference):
    """plan_energies imagines plans from elsewhere as act imagines its candidates: the plan act
    returns scores act's energy (image + weight · state), and batched plans score as each alone."""
    data, model = reference
    spec, config = ActionSpec.droid(max_step=0.05), CEMConfig(samples=64, iterations=3, elites=8)
    frame, state = data["frames"][1, 0], data["states"][1, 0]
    goal_state = state + np.array([0.04, 0, 0, 0, 0, 0, 0], np.float32)
    ctrl = MPCController(model, CEMPlanner(config), spec, state_weight=10.0)
    with pytest.raises(RuntimeError, match="no goal set"):
        ctrl.plan_energies(frame, state, np.zeros((1, 1, 7), np.float32))
    ctrl.set_goal(data["frames"][1, 2], goal_state)
    step = ctrl.act(frame, state)
    idle = np.zeros_like(step.plan)
    image, distance = ctrl.plan_energies(frame, state, np.stack([step.plan, idle]))
    assert image.shape == distance.shape == (2,)
    assert step.energy == pytest.approx(float(image[0] + 10.0 * distance[0]), rel=1e-4)
    alone, _ = ctrl.plan_energies(frame, state, idle[None])
    assert float(alone[0]) == pytest.approx(float(image[1]), rel=1e-5)
    assert float(distance[0]) < float(distance[1])  # the plan heads for the goal state
    with pytest.raises(ValueError, match=r"plans \[S, H, 7\]"):
        ctrl.plan_energies(frame, state, step.plan)
    ctrl.set_goal(data["frames"][1, 2])  # no goal state: no state term
    assert ctrl.plan_energies(frame, state, step.plan[None])[1] is None


def test_a_state_goal_alone_is_planned_on_its_distance_until_the_image_goal_returns(reference):
    """set_state_goal: the energy is the imagined state's distance to the state, whatever
    state_weight (0 here), and the plan heads for it; set_goal goes back to the image energy."""
    data, model = reference
    spec, config = ActionSpec.droid(max_step=0.05), CEMConfig(samples=64, iterations=3, elites=8)
    frame, state = data["frames"][1, 0], data["states"][1, 0]
    target = state + np.array([0.04, 0, 0, 0, 0, 0, 0], np.float32)  # 4 cm ahead in x
    ctrl = MPCController(model, CEMPlanner(config), spec)
    with pytest.raises(RuntimeError, match="set the goal image first"):
        ctrl.set_state_goal(target)
    ctrl.set_goal(data["frames"][1, 2])
    ctrl.set_state_goal(target)
    step = ctrl.act(frame, state)
    start = torch.from_numpy(state)[None, None]  # [1, 1, P]
    with torch.no_grad():
        imagined = model.rollout(model.encode(frame), start, torch.from_numpy(step.plan)[None])
    distance = float((imagined.states[0, -1] - torch.from_numpy(target)).abs().mean())
    assert step.energy == pytest.approx(distance, rel=1e-4)
    assert step.action[0] > 0.03  # toward the state, with no state weight set
    goal = model.encode(data["frames"][1, 2])[0, 0]
    assert step.observed_energy == pytest.approx(
        float((model.encode(frame)[0, 0] - goal).abs().mean()), rel=1e-5
    )  # the image goal stays for the observed energy
    ctrl.set_goal(data["frames"][1, 2])
    back = ctrl.act(frame, state)
    with torch.no_grad():
        imagined = model.rollout(model.encode(frame), start, torch.from_numpy(back.plan)[None])
    image_energy = float((imagined.tokens[0, -1] - goal).abs().mean())
    assert back.energy == pytest.approx(image_energy, rel=1e-4)
    with pytest.raises(ValueError, match=r"goal state \[7\]"):
        ctrl.set_state_goal(np.zeros(5, np.float32))
