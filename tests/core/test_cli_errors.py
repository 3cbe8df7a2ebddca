"""Bad input to the real `wm-control` executable: one clear line, exit status 2, no traceback.

Each case runs the installed console script in a subprocess, as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wm_control.cli.errors import USER_ERROR_EXIT, is_user_error, one_line
from wm_control.images import write_rgb_image

WM_CONTROL = Path(sys.executable).with_name("wm-control")
FIXTURE = Path(__file__).parents[1] / "fixtures" / "vjepa2_tiny_official.pt"
STATE = "state=[0.5,0,0.3,0,0,0,0]"
SMALL = [
    "model=reference_tiny",
    "planner.samples=8",
    "planner.iterations=1",
    "planner.elites=2",
    "replans=1",
]


def wm_control(
    folder: Path, command: str, *args: str, debug: bool = False
) -> subprocess.CompletedProcess:
    """``wm-control <command> <args>`` run in ``folder`` (its Hydra run folder ``folder/run``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "WM_CONTROL_DEBUG")}
    if debug:
        env["WM_CONTROL_DEBUG"] = "1"
    command = [str(WM_CONTROL), command, f"hydra.run.dir={folder / 'run'}", *args]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=600)


def assert_user_error(result: subprocess.CompletedProcess, command: str, *fragments: str) -> str:
    """The one error line (the last of stderr); exit status 2 and no traceback anywhere."""
    output = result.stdout + result.stderr
    assert result.returncode == USER_ERROR_EXIT, output[-3000:]
    assert "Traceback" not in output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(f"wm-control {command}: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in errors[0]
    return errors[0]


@pytest.fixture
def images(tmp_path):
    """(observation, goal, text file named .png, 1×1 image): paths in tmp_path."""
    rng = np.random.default_rng(0)
    observation = write_rgb_image(tmp_path / "obs.png", rng.integers(0, 255, (64, 64, 3), np.uint8))
    goal = write_rgb_image(tmp_path / "goal.png", rng.integers(0, 255, (80, 80, 3), np.uint8))
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    tiny = write_rgb_image(tmp_path / "tiny.png", np.zeros((1, 1, 3), dtype=np.uint8))
    return observation, goal, text, tiny


def test_missing_observation_image(tmp_path, images):
    _, goal, _, _ = images
    result = wm_control(tmp_path, "plan", "observation=nope.png", f"goal={goal}", STATE, *SMALL)
    assert_user_error(result, "plan", "nope.png does not exist")


def test_undecodable_goal_image(tmp_path, images):
    observation, _, text, _ = images
    result = wm_control(
        tmp_path, "plan", f"observation={observation}", f"goal={text}", STATE, *SMALL
    )
    assert_user_error(result, "plan", "could not decode it as an image")


def test_bad_planner_value_names_the_users_key(tmp_path):
    result = wm_control(tmp_path, "plan", "planner.max_step=-1")
    line = assert_user_error(result, "plan", "planner.max_step")
    assert "ActionSpec" not in line


def test_unknown_task(tmp_path):
    assert_user_error(wm_control(tmp_path, "plan", "env=nope"), "plan", "env/nope", "reach")


def test_state_that_is_not_numbers(tmp_path, images):
    observation, goal, _, _ = images
    result = wm_control(
        tmp_path, "plan", f"observation={observation}", f"goal={goal}", "state=hello", *SMALL
    )
    assert_user_error(result, "plan", "state: expected a list of 7 numbers", "'hello'")


def test_observation_without_goal_or_state_is_refused(tmp_path, images):
    observation, _, _, _ = images
    result = wm_control(tmp_path, "plan", f"observation={observation}", *SMALL)
    assert_user_error(result, "plan", "goal and state missing")
    assert not (tmp_path / "run" / "plan.json").exists()


@pytest.mark.slow
def test_observation_and_goal_without_state_is_refused(tmp_path, images):
    observation, goal, _, _ = images
    result = wm_control(tmp_path, "plan", f"observation={observation}", f"goal={goal}", *SMALL)
    assert_user_error(result, "plan", "state missing", "found only observation, goal")


@pytest.mark.slow
def test_landscape_observation_without_goal_or_state_is_refused(tmp_path, images):
    observation, _, _, _ = images
    result = wm_control(tmp_path, "landscape", f"observation={observation}", "model=reference_tiny")
    assert_user_error(result, "landscape", "goal and state missing")


@pytest.mark.slow
def test_unknown_eval_task(tmp_path):
    assert_user_error(wm_control(tmp_path, "eval", "tasks=[nope]"), "eval", "unknown task 'nope'")


@pytest.mark.slow
def test_goal_image_too_small_is_refused(tmp_path, images):
    observation, _, _, tiny = images
    result = wm_control(
        tmp_path, "plan", f"observation={observation}", f"goal={tiny}", STATE, *SMALL
    )
    assert_user_error(result, "plan", "goal: image of 1x1 px is too small", "at least 16 px")


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncated", "foreign"])
def test_truncated_or_foreign_checkpoint(tmp_path, damage):
    path = tmp_path / "model.pt"
    data = FIXTURE.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"hello, not weights")
    result = wm_control(tmp_path, "plan", "~env", *SMALL, f"model.path={path}")
    assert_user_error(result, "plan", str(path), "expected a checkpoint")


@pytest.mark.slow
def test_corrupt_checkpoint(tmp_path, reference):
    """Same size, damaged content: the checksum recorded at saving refuses it."""
    _, model = reference
    path = model.save_pretrained(tmp_path / "model")
    with path.open("r+b") as file:
        file.seek(path.stat().st_size - 5000)
        file.write(bytes(2000))
    result = wm_control(
        tmp_path, "plan", "~env", *SMALL, f"model.path={tmp_path / 'model'}", "model.image_size=64"
    )
    assert_user_error(result, "plan", str(path), "checksum")


@pytest.mark.slow
def test_missing_dataset_folder(tmp_path):
    missing = tmp_path / "nonexistent"
    result = wm_control(tmp_path, "train", "model=reference_tiny", f"data.root={missing}")
    assert_user_error(result, "train", f"data.root: the dataset folder {missing} does not exist")
    assert not missing.exists()


@pytest.mark.slow
def test_config_help_and_multirun_still_work(tmp_path):
    shown = wm_control(tmp_path, "plan", "planner.samples=7", "--cfg", "job")
    assert shown.returncode == 0 and "samples: 7" in shown.stdout
    helped = wm_control(tmp_path, "plan", "--help")
    assert helped.returncode == 0 and "planner" in helped.stdout
    swept = wm_control(
        tmp_path,
        "plan",
        "planner.max_step=-1,-2",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        "--multirun",
    )
    assert_user_error(swept, "plan", "planner.max_step")


@pytest.mark.slow
def test_debug_switch_shows_the_traceback(tmp_path):
    result = wm_control(tmp_path, "plan", "planner.max_step=-1", debug=True)
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "planner.max_step" in result.stderr


def test_only_input_errors_are_the_users():
    assert is_user_error(ValueError("x")) and is_user_error(FileNotFoundError("x"))
    assert not is_user_error(RuntimeError("x")) and not is_user_error(KeyError("x"))
    assert one_line(ValueError("first\n  second\n")) == "first second"
