"""`resume=true` alone: the run folder's recorded configuration, what may change, what not."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from training_toys import CAMERA

from wm_control.cli.main import main
from wm_control.world_model import WorldModel


def _start(dataset: Path, checkpoint: Path, out: Path, cache: Path) -> list[str]:
    return [
        "train",
        "data=lerobot",
        "data.repo_id=test/toy_arm",
        f"data.root={dataset}",
        f"data.camera_key={CAMERA}",
        "data.action_source=states",
        f"model.path={checkpoint}",
        "model.image_size=null",
        "train=smoke",
        "train.steps=4",
        "train.batch_size=4",
        "train.checkpoint_every=2",
        "train.log_every=1",
        "train.val_every=1000",
        "train.val_fraction=0.25",
        "train.validation.windows=8",
        "train.validation.random_actions=3",
        "train.validation.batch_size=4",
        f"cache.root={cache}",
        f"out_dir={out}",
        "progress=false",
        f"hydra.run.dir={out.parent / 'hydra_first'}",
    ]


def _cut_after_step_2(out: Path) -> None:
    """What a run killed after its step-2 checkpoint leaves."""
    shutil.rmtree(out / "checkpoints" / "step_00000004")
    shutil.rmtree(out / "model")
    (out / "checkpoints" / "latest").write_text("step_00000002")


def _resume(out: Path, *args: str) -> None:
    hydra = f"hydra.run.dir={out.parent / 'hydra_again'}"
    main(["train", f"out_dir={out}", "resume=true", *args, hydra])


def test_resume_true_alone_continues_the_recorded_run(
    toy_dataset: Path, tiny_checkpoint: Path, shared_cache: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    main(_start(toy_dataset, tiny_checkpoint, out, shared_cache))
    _cut_after_step_2(out)
    _resume(out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resumed_from_step"] == 2 and summary["steps"] == 4
    assert [int(r["step"]) for r in csv.DictReader(open(out / "train.csv"))] == [1, 2, 3, 4]
    assert WorldModel.read_metadata(out / "model")["data"]["root"] == str(toy_dataset)


def test_resume_accepts_equal_and_allowed_arguments_and_refuses_conflicts(
    toy_dataset: Path, tiny_checkpoint: Path, shared_cache: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    main(_start(toy_dataset, tiny_checkpoint, out, shared_cache))
    conflicts = (
        r"data\.rate_hz: recorded 4\.0, given 2\.0; train\.batch_size: recorded 4, given 2\b"
    )
    with pytest.raises(ValueError, match=conflicts):
        _resume(out, "train.batch_size=2", "data.rate_hz=2.0")
    with pytest.raises(ValueError, match=r"train\.optim\.lr: recorded 0\.001, given 0\.000425"):
        _resume(out, "train=recipe")  # a whole group swapped: every differing setting is named
    # equal, or allowed to change (how long, how often it logs, on how many threads)
    _resume(out, f"data.root={toy_dataset}", "train.steps=6", "train.log_every=2", "threads=1")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resumed_from_step"] == 4 and summary["steps"] == 6
    _resume(out)  # the record now holds steps=6: nothing left to train
    assert json.loads((out / "summary.json").read_text())["resumed_from_step"] == 6
    with pytest.raises(ValueError, match="the run is at step 6, beyond steps=5"):
        _resume(out, "train.steps=5")


@pytest.mark.parametrize("command", ["train", "pretrain"])
def test_resume_accepts_another_thread_count(command: str, tmp_path: Path) -> None:
    """How many cores a run uses may change between sessions: ``threads=`` is not refused on
    resume (train and pretrain), and the new value is the one the run continues with."""
    from importlib import import_module

    from omegaconf import OmegaConf

    from wm_control.cli.run_record import record_path, resumed_config

    changeable = import_module(f"wm_control.cli.{command}").RESUME_CHANGES
    OmegaConf.save({"threads": None, "out_dir": None, "resume": False}, record_path(tmp_path))
    given = OmegaConf.create({"threads": 1, "out_dir": str(tmp_path), "resume": True})
    merged = resumed_config(given, tmp_path, ["threads=1", "resume=true"], changeable)
    assert merged.threads == 1
