"""CEM as a pure optimiser on problems with a known optimum."""

import pytest
import torch

from wm_control import energy
from wm_control.planning import ActionSpec, CEMConfig, CEMPlanner, shift_warm_start
from wm_control.planning.action_spec import jaw_hold


def _linear_problem(target: torch.Tensor, seed: int = 0):
    """Latent dynamics z_h = W · (a_1 + … + a_h): a linear world model with a known best action."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(4 * 8, 7, generator=g)

    def rollout(actions):  # [S, H, 7] → [S, H, 4, 8]
        return (actions.cumsum(1) @ W.T).unflatten(-1, (4, 8))

    goal = rollout(target.view(1, 1, 7))[0, 0]
    return rollout, lambda imagined: energy(imagined, goal)


def test_converges_to_known_optimum_and_respects_spec():
    spec = ActionSpec.droid(max_step=0.075)
    target = torch.tensor([0.04, -0.03, 0.02, 0.0, 0.0, 0.0, 0.5])
    rollout, energy_fn = _linear_problem(target)
    planner = CEMPlanner(CEMConfig(samples=300, iterations=15, elites=20, seed=3))
    result = planner.plan(rollout, energy_fn, spec)
    assert torch.allclose(result.actions[0, :3], target[:3], atol=4e-3)
    assert abs(result.actions[0, 6] - 0.5) < 0.05
    assert torch.all(result.actions[0, 3:6] == 0)  # rotation fixed
    assert result.energy_per_iteration[-1] < result.energy_per_iteration[0]
    assert len(result.energy_per_iteration) == 15


def test_samples_are_clipped_and_fixed_dims_held():
    spec = ActionSpec.droid(max_step=0.02, gripper_limit=0.75)
    seen = []

    def rollout(actions):
        seen.append(actions.clone())
        return torch.zeros(actions.shape[0], actions.shape[1], 1, 1)

    CEMPlanner(CEMConfig(samples=200, iterations=2, elites=5)).plan(
        rollout, lambda x: x.sum((1, 2, 3)), spec
    )
    samples = torch.cat(seen[:-1])  # the last call evaluates the final plan
    assert samples.shape[0] == 400  # one batch of all samples per iteration
    assert samples[..., :3].abs().max() <= 0.02
    assert samples[..., 6].abs().max() <= 0.75
    assert torch.all(samples[..., 3:6] == 0)
    assert samples[..., :3].abs().max() > 0.019  # the box is actually explored


def test_optimum_outside_box_ends_on_the_boundary():
    spec = ActionSpec.droid(max_step=0.05)
    rollout, energy_fn = _linear_problem(torch.tensor([0.3, 0.0, 0.0, 0, 0, 0, 0.0]))
    result = CEMPlanner(CEMConfig(samples=200, iterations=10, seed=1)).plan(
        rollout, energy_fn, spec
    )
    assert result.actions[0, 0] == pytest.approx(0.05, abs=2e-3)


def test_same_seed_same_plan_and_reset():
    spec = ActionSpec.droid()
    rollout, energy_fn = _linear_problem(torch.tensor([0.01, 0.02, -0.01, 0, 0, 0, 0.0]))
    a = CEMPlanner(CEMConfig(samples=64, iterations=3, seed=5))
    b = CEMPlanner(CEMConfig(samples=64, iterations=3, seed=5))
    first = a.plan(rollout, energy_fn, spec).actions
    assert torch.equal(first, b.plan(rollout, energy_fn, spec).actions)
    second = a.plan(rollout, energy_fn, spec).actions
    assert not torch.equal(first, second)  # the stream moves on
    a.reset()
    assert torch.equal(first, a.plan(rollout, energy_fn, spec).actions)
    other = (
        CEMPlanner(CEMConfig(samples=64, iterations=3, seed=6))
        .plan(rollout, energy_fn, spec)
        .actions
    )
    assert not torch.equal(first, other)


def test_small_gripper_rounded_to_zero():
    spec = ActionSpec.droid()
    rollout, energy_fn = _linear_problem(torch.tensor([0.0, 0.0, 0.0, 0, 0, 0, 0.1]))
    result = CEMPlanner(CEMConfig(samples=200, iterations=10)).plan(rollout, energy_fn, spec)
    assert result.actions[0, 6] == 0.0 and abs(float(result.mean[0, 6])) > 0.0


def test_horizon_and_warm_start_shift():
    spec = ActionSpec.droid()
    planner = CEMPlanner(CEMConfig(samples=64, iterations=2, horizon=3))
    rollout, energy_fn = _linear_problem(torch.tensor([0.02, 0.0, 0.0, 0, 0, 0, 0.0]))
    result = planner.plan(rollout, energy_fn, spec)
    assert result.actions.shape == (3, 7)
    initial = planner.initial(spec)
    warm = shift_warm_start(result, initial)
    assert torch.equal(warm.mean[:2], result.mean[1:])
    assert torch.equal(warm.mean[2], initial.mean[2]) and torch.equal(warm.std, initial.std)
    with pytest.raises(ValueError, match=r"warm start: expected mean and std \[3, 7\]"):
        planner.plan(
            rollout, energy_fn, spec, warm_start=CEMPlanner(CEMConfig(horizon=1)).initial(spec)
        )


def test_config_and_spec_validation():
    with pytest.raises(ValueError, match="planner.elites"):
        CEMConfig(samples=10, elites=20)
    with pytest.raises(ValueError, match="planner.samples"):
        CEMConfig(samples=0)
    with pytest.raises(ValueError, match=r"ActionSpec.low: expected 2 entries"):
        ActionSpec(
            names=("a", "b"),
            low=(0.0,),
            high=(1.0, 1.0),
            searched=(True, True),
            fixed=(0.0, 0.0),
            init_std=(1.0, 1.0),
            round_below=(0.0, 0.0),
        )


def test_yaw_alone_can_be_searched():
    spec = ActionSpec.droid(max_step=0.05, search_yaw=True, max_rotation=0.25)
    assert spec.searched == (True, True, True, False, False, True, True)
    target = torch.tensor([0.02, 0.01, -0.03, 0.0, 0.0, 0.15, 0.0])
    rollout, energy_fn = _linear_problem(target)
    result = CEMPlanner(CEMConfig(samples=300, iterations=15, elites=20, seed=1)).plan(
        rollout, energy_fn, spec
    )
    assert abs(float(result.actions[0, 5]) - 0.15) < 0.01
    assert torch.all(result.actions[0, 3:5] == 0)  # roll and pitch held


def test_held_dimensions_are_not_searched():
    spec = ActionSpec.droid().holding({"dgripper": 0.75})
    assert spec.searched[6] is False and spec.fixed[6] == 0.75 and spec.searched[:3] == (True,) * 3
    assert ActionSpec.droid().holding({}) == ActionSpec.droid()
    seen = []

    def rollout(actions):
        seen.append(actions.clone())
        return torch.zeros(actions.shape[0], actions.shape[1], 1, 1)

    result = CEMPlanner(CEMConfig(samples=50, iterations=2, elites=5)).plan(
        rollout, lambda x: x.sum((1, 2, 3)), spec
    )
    assert torch.all(torch.cat(seen)[..., 6] == 0.75) and result.actions[0, 6] == 0.75
    assert jaw_hold("closed", 0.75) == {"dgripper": 0.75} and jaw_hold("open", 0.5) == {
        "dgripper": -0.5
    }
    assert jaw_hold("search", 0.75) == {}
    with pytest.raises(ValueError, match="jaws: expected one of"):
        jaw_hold("shut", 0.75)
    with pytest.raises(ValueError, match=r"unknown dimensions \['grip'\]"):
        ActionSpec.droid().holding({"grip": 1.0})
    with pytest.raises(
        ValueError, match=r"ActionSpec.fixed\[dgripper\]: expected a value in \[-0.75, 0.75\]"
    ):
        ActionSpec.droid().holding({"dgripper": 1.0})
