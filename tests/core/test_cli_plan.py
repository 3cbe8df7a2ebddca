"""`wm-control plan` end to end through Hydra."""

import json

import numpy as np
import pytest

from wm_control.cli.main import main
from wm_control.images import write_rgb_image


def test_plan_reference_clip_writes_summary(tmp_path, capsys):
    main(["plan", "~env", "model=reference_tiny", "planner.samples=40", "planner.iterations=2",
          "planner.elites=4", "replans=1", f"hydra.run.dir={tmp_path}"])
    out = capsys.readouterr().out
    assert "action [" in out and "best energy per CEM iteration" in out
    summary = json.loads((tmp_path / "plan.json").read_text())
    assert len(summary["action"]) == 7 and len(summary["energies_per_iteration"]) == 2


def test_plan_with_image_files_of_any_size(tmp_path):
    rng = np.random.default_rng(0)
    write_rgb_image(tmp_path / "obs.png", rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    write_rgb_image(tmp_path / "goal.png", rng.integers(0, 255, (90, 90, 3), dtype=np.uint8))
    main(["plan", "model=reference_tiny", f"observation={tmp_path / 'obs.png'}", f"goal={tmp_path / 'goal.png'}",
          "state=[0.5,0,0.3,0,0,0,0]", "planner.samples=20", "planner.iterations=1", "planner.elites=2",
          "replans=1", f"hydra.run.dir={tmp_path / 'run'}"])
    assert (tmp_path / "run" / "plan.json").is_file()


def test_unreadable_goal_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    (tmp_path / "goal.png").write_text("not an image")
    with pytest.raises(ValueError, match="could not decode it as an image"):
        main(["plan", "~env", "model=reference_tiny", f"goal={tmp_path / 'goal.png'}",
              f"hydra.run.dir={tmp_path / 'run'}"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        main(["plan", "~env", "model=reference_tiny", f"goal={tmp_path / 'missing.png'}",
              f"hydra.run.dir={tmp_path / 'run2'}"])


def test_unknown_command_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["fly"])
    assert "plan" in capsys.readouterr().err
