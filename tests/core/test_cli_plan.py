"""`wm-control plan` end to end through Hydra."""

import json

import numpy as np
import pytest
import torch

from wm_control import energy
from wm_control.cli.main import main
from wm_control.images import write_rgb_image


def test_plan_reference_clip_writes_summary(tmp_path, capsys):
    main(
        [
            "plan",
            "~env",
            "model=reference_tiny",
            "planner.samples=40",
            "planner.iterations=2",
            "planner.elites=4",
            "replans=1",
            f"hydra.run.dir={tmp_path}",
        ]
    )
    out = capsys.readouterr().out
    assert "action [" in out and "best energy per ICEM iteration" in out  # planner=fast
    summary = json.loads((tmp_path / "plan.json").read_text())
    assert len(summary["action"]) == 7 and len(summary["energies_per_iteration"]) == 2


def test_plan_with_image_files_of_any_size(tmp_path):
    rng = np.random.default_rng(0)
    write_rgb_image(tmp_path / "obs.png", rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    write_rgb_image(tmp_path / "goal.png", rng.integers(0, 255, (90, 90, 3), dtype=np.uint8))
    main(
        [
            "plan",
            "model=reference_tiny",
            f"observation={tmp_path / 'obs.png'}",
            f"goal={tmp_path / 'goal.png'}",
            "state=[0.5,0,0.3,0,0,0,0]",
            "planner.samples=20",
            "planner.iterations=1",
            "planner.elites=2",
            "replans=1",
            f"hydra.run.dir={tmp_path / 'run'}",
        ]
    )
    summary = json.loads((tmp_path / "run" / "plan.json").read_text())
    assert len(summary["action"]) == 7 and np.isfinite(summary["energy"])


def test_plan_json_holds_the_best_plan_found(tmp_path, reference):
    """The summary's action is the plan's first step, inside the searched box, and its energy is the
    energy the model gives that plan; it beats most random actions of the same box."""
    data, model = reference
    observation, goal, state = data["frames"][0, 0], data["frames"][0, -1], data["states"][0, 0]
    write_rgb_image(tmp_path / "obs.png", observation)
    write_rgb_image(tmp_path / "goal.png", goal)
    state_arg = "state=[" + ",".join(f"{v:.6f}" for v in state) + "]"
    main(
        [
            "plan",
            "model=reference_tiny",
            f"observation={tmp_path / 'obs.png'}",
            f"goal={tmp_path / 'goal.png'}",
            state_arg,
            "planner.samples=32",
            "planner.iterations=3",
            "planner.elites=4",
            "planner.horizon=2",
            "planner.gripper_round=0",
            "replans=1",
            f"hydra.run.dir={tmp_path}",
        ]
    )
    summary = json.loads((tmp_path / "plan.json").read_text())
    plan = torch.tensor(summary["plan"])  # [H, A]
    assert plan.shape == (2, 7) and summary["action"] == summary["plan"][0]
    assert (plan[:, :3].abs() <= 0.075 + 1e-6).all() and (plan[:, 3:5] == 0).all()
    assert (plan[:, 5].abs() <= 0.2 + 1e-6).all()  # planner=fast turns the hand: yaw only
    assert (plan[:, 6].abs() <= 0.75 + 1e-6).all()

    state_t = torch.from_numpy(np.array(state, dtype=np.float32)).view(1, 1, 7)
    with torch.no_grad():
        tokens0, goal_tokens = model.encode(observation), model.encode(goal)
        replayed = energy(model.rollout(tokens0, state_t, plan[None]).tokens, goal_tokens)
        box = torch.tensor([0.075] * 3 + [0.0] * 2 + [0.2, 0.75])
        random = (torch.rand(64, 2, 7, generator=torch.Generator().manual_seed(0)) * 2 - 1) * box
        energies = energy(model.rollout(tokens0, state_t, random).tokens, goal_tokens)
    assert replayed.item() == pytest.approx(summary["energy"], abs=1e-5)
    assert summary["energy"] < energies.median().item()


def test_unknown_command_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["fly"])
    assert "plan" in capsys.readouterr().err
