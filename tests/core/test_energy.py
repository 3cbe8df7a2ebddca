import pytest
import torch

from wm_control import energy


def test_last_step_l1_mean():
    imagined = torch.zeros(2, 3, 4, 5)
    imagined[0, -1] = 1.0
    imagined[1, 0] = 7.0  # not the last step: ignored
    assert energy(imagined, torch.zeros(4, 5)).tolist() == [1.0, 0.0]


def test_discounted_sum_weighs_last_step_most():
    imagined = torch.zeros(1, 3, 2, 2)
    imagined[0, 0] = 1.0  # distances 1, 2, 4 per step: a reversed discount gives 1 + 1 + 1
    imagined[0, 1] = 2.0
    imagined[0, 2] = 4.0
    expected = 0.25 * 1 + 0.5 * 2 + 1.0 * 4
    assert energy(imagined, torch.zeros(2, 2), discount=0.5).item() == pytest.approx(expected)


@pytest.mark.parametrize("discount", [None, 0.9])
def test_bfloat16_tokens_rank_apart_by_less_than_a_bfloat16_step(discount):
    """Planning in bfloat16 (the CUDA default): energies near 1 that differ by 1e-3 (an eighth of
    bfloat16's step there) must still order the samples, so the reduction is float32."""
    S, N, D = 8, 16, 64
    goal = torch.zeros(N, D, dtype=torch.bfloat16)
    imagined = torch.ones(S, 2, N, D)  # [S, H, N, D], distance 1 everywhere
    imagined[:, :, 0, :8] += torch.arange(S).view(S, 1, 1) * 0.125  # sample s: 1 + s / 1024
    energies = energy(imagined.to(torch.bfloat16), goal, discount=discount)
    assert energies.dtype == torch.float32
    assert (energies.diff() > 0).all(), energies.tolist()


def test_goal_shape_checked():
    with pytest.raises(ValueError, match="do not match"):
        energy(torch.zeros(2, 1, 4, 5), torch.zeros(4, 6))


def test_state_energy_last_step_wraps_angles():
    from wm_control.energies import state_energy

    states = torch.zeros(2, 2, 3)  # [S, H, P]: x, yaw, gripper
    states[0, -1] = torch.tensor([0.3, 3.1, 0.0])
    states[1, -1] = torch.tensor([0.0, -3.1, 0.6])
    states[1, 0] = 9.0  # not the last step: ignored
    goal = torch.tensor([0.0, -3.1, 0.0])
    angular = torch.tensor([False, True, False])
    distance = state_energy(states, goal, angular)
    # sample 0: |0.3| + the yaw gap across ±π (2π − 6.2) + 0; sample 1: 0 + 0 + 0.6; mean of 3
    assert distance.tolist() == pytest.approx([(0.3 + (2 * torch.pi - 6.2)) / 3, 0.6 / 3], rel=1e-5)
    unwrapped = state_energy(states, goal, torch.zeros(3, dtype=torch.bool))
    assert unwrapped[0].item() == pytest.approx((0.3 + 6.2) / 3, rel=1e-5)
    with pytest.raises(ValueError, match=r"goal state \[P\]"):
        state_energy(states, torch.zeros(4), angular)


def test_the_package_energy_stays_the_function_once_the_planner_is_imported():
    import subprocess
    import sys

    code = (
        "import wm_control.planning.mpc, wm_control.landscape\n"
        "from wm_control import energy\n"
        "assert callable(energy), type(energy)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
