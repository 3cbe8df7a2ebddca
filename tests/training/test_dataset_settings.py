"""`data` + `extra_datasets` of the training commands: inheritance, overrides and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from wm_control.cli.datasets import dataset_configs

MAIN = {
    "repo_id": "local/sim",
    "root": "runs/a",
    "camera_key": "observation.images.exterior",
    "rate_hz": 4.0,
}


def test_extra_datasets_inherit_the_main_settings(tmp_path: Path) -> None:
    main, by_path, by_mapping = dataset_configs(
        MAIN,
        [str(tmp_path / "b"), {"root": str(tmp_path / "c"), "episodes": [0, 2], "rate_hz": 2.0}],
    )
    assert (
        main.root == "runs/a"
    )  # kept as given: checkpoints record it, never a path of the machine
    assert by_path.root == str(tmp_path / "b") and by_path.camera_key == MAIN["camera_key"]
    assert by_mapping.episodes == (0, 2) and by_mapping.rate_hz == 2.0
    assert by_mapping.camera_key == MAIN["camera_key"] and by_mapping.repo_id == "local/sim"


def test_bad_dataset_settings_name_the_entry() -> None:
    with pytest.raises(ValueError, match=r"extra_datasets\[0\]: unknown settings \['camera'\]"):
        dataset_configs(MAIN, [{"root": "x", "camera": "front"}])
    with pytest.raises(
        ValueError, match=r"extra_datasets\[1\]: expected a dataset folder or a mapping"
    ):
        dataset_configs(MAIN, ["x", 3])
    with pytest.raises(
        ValueError, match=r"data.root: the local dataset 'local/sim' needs its folder"
    ):
        dataset_configs({**MAIN, "root": None}, [])


@pytest.mark.parametrize("command", ["train", "pretrain"])
def test_a_missing_dataset_folder_is_named_and_nothing_is_created(
    tmp_path: Path, command: str
) -> None:
    from wm_control.cli.main import main

    missing = tmp_path / "nonexistent"
    run = [f"hydra.run.dir={tmp_path / 'run'}", f"out_dir={tmp_path / 'out'}"]
    message = f"data.root: the dataset folder {missing} does not exist"
    with pytest.raises(FileNotFoundError, match=message):
        main([command, f"data.root={missing}", *run])
    assert not missing.exists() and not (tmp_path / "out").exists()


def test_extra_dataset_folders_are_checked(tmp_path: Path, toy_dataset: Path) -> None:
    from wm_control.cli.main import main

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("x")
    base = ["train", f"data.root={toy_dataset}", f"hydra.run.dir={tmp_path / 'run'}"]
    missing = r"extra_datasets\[1\].root: the dataset folder .*gone"
    with pytest.raises(FileNotFoundError, match=missing):
        main([*base, f"extra_datasets=[{toy_dataset},{tmp_path / 'gone'}]"])
    foreign = r"extra_datasets\[0\].root: .*notes is not a LeRobot .*todo\.txt"
    with pytest.raises(FileNotFoundError, match=foreign):
        main([*base, f"extra_datasets=[{tmp_path / 'notes'}]"])
    assert not (tmp_path / "gone").exists()
