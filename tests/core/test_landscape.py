"""Energy landscape: grid energies equal direct rollout energies; the command writes its outputs."""

import json

import numpy as np
import pytest
import torch

from wm_control import energy
from wm_control.cli.main import main
from wm_control.landscape import energy_landscape


def test_grid_energies_are_rollout_energies(reference):
    data, model = reference
    frame, goal, state = data["frames"][0, 0], data["frames"][0, 1], data["states"][0, 0]
    result = energy_landscape(
        model, frame, state, goal, axes=("dx", "dz"), extent=0.05, resolution=5
    )
    assert result.energies.shape == (5, 5) and result.values.tolist() == pytest.approx(
        [-0.05, -0.025, 0, 0.025, 0.05]
    )
    i, j = 3, 1  # dx = +2.5 cm, dz = -2.5 cm
    action = torch.tensor([[[0.025, 0.0, -0.025, 0.0, 0.0, 0.0, 0.0]]])
    with torch.no_grad():
        imagined = model.rollout(
            model.encode(frame), torch.from_numpy(state).view(1, 1, 7), action
        ).tokens
    expected = energy(imagined, model.encode(goal)[0, 0]).item()
    assert result.energies[i, j] == pytest.approx(expected, rel=1e-5)
    flat = int(result.energies.argmin())
    bi, bj = np.unravel_index(flat, (5, 5))
    assert result.best[0] == pytest.approx(result.values[bi]) and result.best[2] == pytest.approx(
        result.values[bj]
    )
    with pytest.raises(ValueError, match="distinct names"):
        energy_landscape(model, frame, state, goal, axes=("dx", "dx"))


def test_landscape_command_writes_heat_map_and_summary(tmp_path, capsys):
    main(
        [
            "landscape",
            "~env",
            "model=reference_tiny",
            "resolution=4",
            "axes=[dx,dy,dz]",
            "true_action=[0.01,0,0,0,0,0,0]",
            f"hydra.run.dir={tmp_path}",
        ]
    )
    summary = json.loads((tmp_path / "landscape.json").read_text())
    assert np.array(summary["energies"]).shape == (4, 4, 4)
    assert summary["true_action"][0] == pytest.approx(0.01)
    png = (tmp_path / "landscape.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "grid minimum" in capsys.readouterr().out


def test_landscape_in_a_task_marks_the_displacement_the_arm_achieved(tmp_path, capsys):
    main(
        [
            "landscape",
            "resolution=5",
            "true_action=[0.04,-0.02,0,0,0,0,0]",
            "env.image_size=64",
            "seed=2",
            f"hydra.run.dir={tmp_path}",
        ]
    )
    summary = json.loads((tmp_path / "landscape.json").read_text())
    achieved = np.array(summary["true_action"])
    assert achieved[:2] == pytest.approx([0.04, -0.02], abs=0.01) and np.all(achieved[3:] == 0)
    assert np.array(summary["energies"]).shape == (5, 5)
    assert "the arm moved" in capsys.readouterr().out
