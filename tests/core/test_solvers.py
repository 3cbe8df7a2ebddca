"""The solvers (cem, icem, mppi, gd) as pure optimisers: a known optimum, the box and held
dimensions, seeding, batching, and the gradient solver's gradients against finite differences."""

import dataclasses

import numpy as np
import pytest
import torch

from wm_control import WorldModel, energy
from wm_control.models.config import WorldModelConfig
from wm_control.models.presets import encoder_preset, predictor_preset
from wm_control.planning import SOLVERS, ActionSpec, shift_warm_start
from wm_control.planning.config import PlannerConfig
from wm_control.planning.solvers.gd import energy_and_gradient
from wm_control.planning.solvers.icem import coloured_noise

BUDGETS = {  # per solver: a budget that solves the problems below
    "cem": {"samples": 500, "iterations": 25, "elites": 25},
    "icem": {"samples": 500, "iterations": 25, "elites": 25},
    "mppi": {"samples": 500, "iterations": 25, "temperature": 0.3},
    "gd": {"samples": 8, "iterations": 80, "lr": 0.05},
}


def _solver(name, **overrides):
    return PlannerConfig(**{"solver": name, **BUDGETS[name], **overrides}).planner()


def _quadratic_problem(target: torch.Tensor, seed: int = 0):
    """A linear "world model" z_h = W · (a_1 + … + a_h) and a quadratic energy over every step
    against the latents of ``target [H, A]``: the unique optimum is ``target`` itself."""
    g = torch.Generator().manual_seed(seed)
    scale = torch.tensor(
        [1 / 0.075] * 6 + [1 / 0.75]
    )  # every dimension matters alike within its box
    W = torch.randn(4 * 8, target.shape[-1], generator=g) * scale

    def rollout(actions):  # [S, H, A] → [S, H, 4, 8]
        return (actions.cumsum(1) @ W.T).unflatten(-1, (4, 8))

    goal = rollout(target.unsqueeze(0))  # [1, H, 4, 8]

    def energy_fn(imagined):  # [S, H, 4, 8] → [S]
        return ((imagined - goal) ** 2).mean(dim=(1, 2, 3))

    return rollout, energy_fn


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_converges_to_the_known_optimum(name):
    spec = ActionSpec.droid(max_step=0.075)
    target = torch.tensor(
        [[0.04, -0.03, 0.02, 0, 0, 0, 0.5], [-0.02, 0.05, 0.01, 0, 0, 0, -0.4]]
    )  # [H, A]
    rollout, energy_fn = _quadratic_problem(target)
    result = _solver(name, horizon=2, seed=3).plan(rollout, energy_fn, spec)
    assert result.actions.shape == (2, 7)
    assert torch.allclose(result.actions[:, :3], target[:, :3], atol=2e-3), result.actions
    assert torch.allclose(result.actions[:, 6], target[:, 6], atol=0.02), result.actions
    assert torch.all(result.actions[:, 3:6] == 0)
    assert result.energy_per_iteration[-1] < 1e-3 * result.energy_per_iteration[0]
    assert len(result.energy_per_iteration) == BUDGETS[name]["iterations"]


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_every_candidate_respects_the_box_and_the_held_dimensions(name):
    spec = ActionSpec.droid(max_step=0.02, gripper_limit=0.6).holding({"dgripper": 0.5})
    target = torch.tensor([[0.3, -0.3, 0.01, 0, 0, 0, -0.5]])  # x and y beyond the box
    rollout, energy_fn = _quadratic_problem(target)
    batches = []

    def recording(actions):
        batches.append(actions.detach().clone())
        return rollout(actions)

    result = _solver(name, seed=1).plan(recording, energy_fn, spec)
    seen = torch.cat([b.flatten(0, 1) for b in batches])  # [all candidates, A]
    assert seen[:, :3].abs().max() <= 0.02 + 1e-7
    assert torch.all(seen[:, 3:6] == 0) and torch.all(seen[:, 6] == 0.5)
    assert seen[:, :2].abs().max() > 0.019  # the box is explored up to its edge
    # batched: one call per iteration (all candidates at once) and one for the plan's energy
    assert len(batches) == BUDGETS[name]["iterations"] + 1 and batches[-1].shape[0] == 1
    assert batches[0].shape[0] == BUDGETS[name]["samples"]
    # the optimum outside the box ends on its boundary; the held gripper stays held
    assert result.actions[0, :2].tolist() == pytest.approx([0.02, -0.02], abs=1e-3)
    assert result.actions[0, 6] == 0.5


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_same_seed_same_plan(name):
    spec = ActionSpec.droid()
    rollout, energy_fn = _quadratic_problem(torch.tensor([[0.01, 0.02, -0.01, 0, 0, 0, 0.3]]))
    few = (
        {"samples": 16, "iterations": 3, "elites": 4}
        if name != "gd"
        else {"samples": 4, "iterations": 3}
    )
    firsts = []  # the first batch of candidates of each plan

    def recording(actions):
        if len(firsts) == 0 or firsts[-1] is None:
            firsts[-1:] = [actions.detach().clone()]
        return rollout(actions)

    def plan(solver):
        firsts.append(None)
        return solver.plan(recording, energy_fn, spec)

    a, b = _solver(name, seed=5, **few), _solver(name, seed=5, **few)
    first = plan(a)
    again = plan(b)
    assert (
        torch.equal(first.actions, again.actions)
        and first.energy_per_iteration == again.energy_per_iteration
    )
    assert torch.equal(firsts[0], firsts[1])
    plan(a)
    assert not torch.equal(firsts[0], firsts[2])  # the stream moves on
    a.reset()
    assert torch.equal(first.actions, plan(a).actions) and torch.equal(firsts[0], firsts[3])
    plan(_solver(name, seed=6, **few))
    assert not torch.equal(firsts[0], firsts[4])


def test_icem_keeps_elites_across_iterations_and_plans():
    spec = ActionSpec.droid()
    rollout, energy_fn = _quadratic_problem(torch.tensor([[0.03, 0.01, -0.02, 0, 0, 0, 0.2]] * 3))
    solver = _solver("icem", horizon=3, samples=40, iterations=3, elites=10, keep_elites=0.3)
    batches = []

    def recording(actions):
        batches.append(actions.clone())
        return rollout(actions)

    result = solver.plan(recording, energy_fn, spec)
    assert [b.shape[0] for b in batches] == [40, 40, 40, 1]  # 37 new + 3 kept after the first
    assert any(
        torch.equal(batches[1][-3], row) for row in batches[0]
    )  # an elite of iteration 1, kept
    warm = shift_warm_start(result, solver.initial(spec))
    assert torch.equal(warm.elites[:, :2], result.elites[:, 1:])  # shifted one step earlier
    batches.clear()
    solver.plan(recording, energy_fn, spec, warm)
    assert torch.equal(
        batches[0][-3:], warm.elites[:3]
    )  # the previous plan's elites, evaluated again


def test_coloured_noise_has_unit_variance_and_correlates_along_the_horizon():
    g = torch.Generator().manual_seed(0)
    white = coloured_noise((20000, 6, 2), 0.0, g, torch.device("cpu"))
    pink = coloured_noise((20000, 6, 2), 2.0, g, torch.device("cpu"))
    for noise in (white, pink):
        assert noise.var(dim=0).mean().item() == pytest.approx(1.0, abs=0.03)

    def neighbours(x):  # correlation of steps 2 and 3
        return torch.corrcoef(torch.stack([x[:, 2, 0], x[:, 3, 0]]))[0, 1].item()

    assert abs(neighbours(white)) < 0.03 and neighbours(pink) > 0.4


def _tiny_world_model(dtype=torch.float64):
    torch.manual_seed(0)
    encoder = dataclasses.replace(
        encoder_preset("vit_tiny", image_size=32), width=32, depth=1, num_heads=2, mlp_hidden=64
    )  # 4 tokens per frame
    predictor = dataclasses.replace(
        predictor_preset("ac_tiny", encoder), width=32, num_heads=2, mlp_hidden=64
    )
    return WorldModel(WorldModelConfig(encoder=encoder, predictor=predictor)).to(dtype).eval()


def test_gradient_solver_gradients_match_finite_differences():
    model = _tiny_world_model()
    g = torch.Generator().manual_seed(1)
    frames = torch.randint(0, 255, (2, *model.image_size, 3), generator=g, dtype=torch.uint8)
    tokens0, goal = model.encode(frames[0]), model.encode(frames[1])[0, 0]  # [1, 1, N, D], [N, D]
    state = torch.tensor([[[0.5, 0.0, 0.3, 0.1, -0.2, 0.3, 0.4]]], dtype=torch.float64)

    def rollout(actions):  # [S, H, A] → [S, H, N, D]
        return model.rollout(tokens0, state, actions).tokens

    def energy_fn(imagined):
        return energy(imagined, goal, discount=0.9)

    spec = ActionSpec.droid(search_yaw=True).holding({"dgripper": 0.25})
    t = {k: v.double() if v.is_floating_point() else v for k, v in spec.tensors("cpu").items()}
    u = (
        torch.rand(3, 2, 7, generator=g, dtype=torch.float64) * 1.6 - 0.8
    )  # [S, H, A] inside the box
    _, energies, grad = energy_and_gradient(rollout, energy_fn, t, u)
    assert grad.shape == u.shape and torch.all(grad[..., [3, 4, 6]] == 0)  # held dims do not move
    eps = 1e-6
    for s, h, a in [(0, 0, 0), (1, 1, 1), (2, 0, 2), (0, 1, 5), (2, 1, 0)]:
        bumped = [u.clone(), u.clone()]
        bumped[0][s, h, a] += eps
        bumped[1][s, h, a] -= eps
        up, down = (energy_and_gradient(rollout, energy_fn, t, b)[1][s] for b in bumped)
        assert grad[s, h, a].item() == pytest.approx(
            ((up - down) / (2 * eps)).item(), rel=1e-5, abs=1e-9
        )
    assert grad[..., [0, 1, 2, 5]].abs().min() > 0  # the searched dims all carry a gradient

    def energies_of(x):  # the same function for autograd's own check
        return energy_and_gradient(rollout, energy_fn, t, x)[1]

    assert torch.autograd.gradcheck(
        lambda x: energy_fn(
            rollout(
                torch.where(
                    t["searched"],
                    (t["high"] + t["low"]) / 2 + (t["high"] - t["low"]) / 2 * x,
                    t["fixed"],
                )
            )
        ),
        (u.clone().requires_grad_(True),),
        eps=1e-6,
        atol=1e-7,
    )
    assert torch.allclose(energies_of(u), energies)


def test_gradient_solver_plans_through_the_controller_outside_inference_mode(reference):
    data, model = reference
    controller = PlannerConfig(solver="gd", samples=4, iterations=5, max_step=0.05).controller(
        model
    )
    controller.set_goal(data["frames"][0, 2])
    step = controller.act(data["frames"][0, 0], data["states"][0, 0])
    assert np.abs(step.action[:3]).max() <= 0.05 and np.all(step.action[3:6] == 0)
    assert len(step.energies_per_iteration) == 5 and np.isfinite(step.energy)
    # the descent improves on its first point, the warm start's mean (no motion)
    assert min(step.energies_per_iteration) < step.energies_per_iteration[0]
    assert not any(p.grad is not None for p in model.parameters())  # the model's weights untouched
