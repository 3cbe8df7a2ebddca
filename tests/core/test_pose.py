"""Pose maths: extrinsic xyz Euler, state integration and DROID actions are consistent."""

import math

import torch

from wm_control.pose import actions_from_states, euler_to_matrix, integrate_state, matrix_to_euler


def _axis(axis: int, angle: float) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    i, j = [(1, 2), (0, 2), (0, 1)][axis]
    m = torch.eye(3, dtype=torch.float64)
    m[i, i], m[j, j] = c, c
    m[i, j], m[j, i] = (-s, s) if axis != 1 else (s, -s)
    return m


def test_extrinsic_xyz_is_rz_ry_rx():
    roll, pitch, yaw = 0.3, -0.4, 1.2
    expected = _axis(2, yaw) @ _axis(1, pitch) @ _axis(0, roll)
    got = euler_to_matrix(torch.tensor([roll, pitch, yaw], dtype=torch.float64))
    assert torch.allclose(got, expected, atol=1e-12)


def test_euler_round_trip():
    euler = (torch.rand(1000, 3, dtype=torch.float64) - 0.5) * torch.tensor(
        [2 * math.pi, 0.98 * math.pi, 2 * math.pi]
    )
    assert torch.allclose(matrix_to_euler(euler_to_matrix(euler)), euler, atol=1e-9)


def test_actions_from_states_inverts_integration():
    g = torch.Generator().manual_seed(0)
    state = torch.cat(
        [
            torch.rand(64, 3, generator=g),
            (torch.rand(64, 3, generator=g) - 0.5) * 2,
            torch.rand(64, 1, generator=g) * 0.5,
        ],
        -1,
    ).double()
    action = torch.cat(
        [
            torch.randn(64, 3, generator=g) * 0.05,
            torch.randn(64, 3, generator=g) * 0.1,
            torch.rand(64, 1, generator=g) * 0.4,
        ],
        -1,
    ).double()
    nxt = integrate_state(state, action)
    recovered = actions_from_states(torch.stack([state, nxt], dim=-2))[..., 0, :]
    assert torch.allclose(recovered, action, atol=1e-9)


def test_gripper_is_clipped():
    state = torch.tensor([0.0, 0, 0, 0, 0, 0, 0.9])
    assert integrate_state(state, torch.tensor([0.0, 0, 0, 0, 0, 0, 0.5]))[6] == 1.0
    assert integrate_state(state, torch.tensor([0.0, 0, 0, 0, 0, 0, -2.0]))[6] == 0.0


def test_simulator_and_world_model_share_the_convention():
    """envs (numpy, no torch) and wm_control.pose (torch, batched) implement the same extrinsic xyz
    Euler convention: the states the simulator records are the states the rollout integrates."""
    import numpy as np

    from envs.rotations import euler_to_matrix as np_euler_to_matrix
    from envs.rotations import matrix_to_euler as np_matrix_to_euler

    rng = np.random.default_rng(0)
    for euler in (rng.uniform(-1, 1, 3) * [math.pi, 1.5, math.pi] for _ in range(50)):
        expected = np_euler_to_matrix(euler)
        got = euler_to_matrix(torch.from_numpy(euler))
        assert np.allclose(got.numpy(), expected, atol=1e-12)
        assert np.allclose(
            matrix_to_euler(torch.from_numpy(expected)).numpy(),
            np_matrix_to_euler(expected),
            atol=1e-9,
        )
