"""bench/ensemble_plans.py: the ensemble's planning energy is the members' mean image energy plus
the weighted spread of their last imagined tokens, on one shared encoder."""

import copy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from wm_control.planning.config import PlannerConfig

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from ensemble_plans import EnsembleMPC  # noqa: E402
from mini_models import mini_world_model  # noqa: E402

CONFIG = PlannerConfig(solver="cem", samples=16, iterations=2, elites=4, horizon=2)


def _controller(members, spread_weight):
    return EnsembleMPC(
        members,
        spread_weight,
        planner=CONFIG.planner(),
        spec=CONFIG.action_spec("droid"),
        warm_start=False,
    )


@pytest.fixture(scope="module")
def scene():
    model = mini_world_model()
    other = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for weight in other.predictor.parameters():
            weight.add_(0.05 * torch.randn(weight.shape, generator=generator))
    rng = np.random.default_rng(0)
    frame, goal = (rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2))
    state = np.zeros(7, np.float32)
    plans = rng.uniform(-0.05, 0.05, (3, 2, 7)).astype(np.float32)  # [S, H, A]
    return model, other, frame, goal, state, plans


def _image_energy(members, weight, scene):
    model, other, frame, goal, state, plans = scene
    controller = _controller(members, weight)
    controller.set_goal(goal)
    image, distance = controller.plan_energies(frame, state, plans)
    assert distance is None
    return image


def test_identical_members_give_the_single_models_energy(scene):
    model, *_ = scene
    single = CONFIG.controller(model)
    single.set_goal(scene[3])
    expected, _ = single.plan_energies(scene[2], scene[4], scene[5])
    torch.testing.assert_close(_image_energy([model, model], 5.0, scene), expected)


def test_energy_is_the_members_mean_plus_the_weighted_spread(scene):
    model, other, *_ = scene
    singles = [_image_energy([m], 0.0, scene) for m in (model, other)]
    mean = _image_energy([model, other], 0.0, scene)
    torch.testing.assert_close(mean, (singles[0] + singles[1]) / 2)
    penalised = _image_energy([model, other], 2.0, scene)
    spread = (penalised - mean) / 2.0
    assert (spread > 0).all()
    # the spread of two members: half their last imagined tokens' mean absolute difference
    _, _, frame, goal, state, plans = scene
    with torch.inference_mode():
        tokens0 = model.encode(frame)
        actions = torch.as_tensor(plans)
        states = torch.as_tensor(state).view(1, 1, -1)
        last = [m.rollout(tokens0, states, actions).tokens[:, -1] for m in (model, other)]
    expected = (last[0] - last[1]).abs().mean(dim=(-2, -1)) / 2
    torch.testing.assert_close(spread, expected, rtol=1e-4, atol=1e-6)


def test_members_of_other_encoders_are_refused(scene):
    model = scene[0]
    stranger = copy.deepcopy(model)
    with torch.no_grad():
        next(stranger.encoder.parameters()).add_(1.0)
    with pytest.raises(ValueError, match="share one encoder"):
        _controller([model, stranger], 1.0)


def test_the_ensemble_plans(scene):
    model, other, frame, goal, state, _ = scene
    controller = _controller([model, other], 1.0)
    controller.set_goal(goal)
    step = controller.act(frame, state)
    assert step.plan.shape == (2, 7) and np.isfinite(step.energy)


def test_the_library_plan_is_the_window_of_lowest_energy(scene):
    """--library: every recorded window is scored (in chunks) and the lowest-energy one is the
    plan."""
    from ensemble_plans import library_plan

    model, other, frame, goal, state, _ = scene
    controller = _controller([model, other], 1.0)
    controller.set_goal(goal)
    rng = np.random.default_rng(2)
    library = rng.uniform(-0.05, 0.05, (1100, 2, 7)).astype(np.float32)  # [L, H, A], 2 chunks
    image, _ = controller.plan_energies(frame, state, library)
    best = int(image.argmin())
    np.testing.assert_array_equal(library_plan(controller, frame, state, library), library[best])
