"""The training loop: learning, self-describing checkpoints, exact resume after a kill."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from training_toys import toy_config

from wm_control.training.checkpointing import (
    CheckpointError,
    latest_checkpoint,
    load_training_state,
)
from wm_control.training.trainer import train
from wm_control.world_model import WorldModel

SCRIPT = Path(__file__).parent / "toy_training_script.py"


def _predictor_weights(model_dir: Path) -> dict[str, torch.Tensor]:
    state = load_file(str(model_dir / "model.safetensors"))
    return {k: v for k, v in state.items() if k.startswith("predictor.")}


def test_loss_decreases_and_outputs_are_self_describing(
    toy_dataset: Path, tiny_checkpoint: Path, shared_cache: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    config = toy_config(
        toy_dataset, tiny_checkpoint, out, shared_cache, steps=40, val_every=20, checkpoint_every=20
    )
    summary = train(config)
    assert summary["val/tf_l1"] < 0.5 * summary["val/tf_l1 (start)"]
    assert summary["val/rollout_l1"] < 0.5 * summary["val/rollout_l1 (start)"]
    assert 0.0 <= summary["val/action_rank"] <= 1.0

    rows = list(csv.DictReader(open(out / "train.csv")))
    assert [int(r["step"]) for r in rows] == list(range(1, 41))
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    assert {"loss", "tf_l1", "rollout_l1", "lr", "samples_per_s"} <= set(rows[0])
    assert [int(r["step"]) for r in csv.DictReader(open(out / "val.csv"))] == [0, 20, 40]
    assert list((out / "tensorboard").iterdir())
    assert (out / "summary.json").is_file()

    model = WorldModel.from_pretrained(out / "model")
    assert model.predictor is not None
    meta = WorldModel.read_metadata(out / "model")
    assert meta["step"] == 40 and meta["data"]["rate_hz"] == 4.0
    assert set(meta["normalization"]) >= {"state", "action", "applied"}
    assert meta["validation"]["val/tf_l1"] == pytest.approx(summary["val/tf_l1"])
    ckpt = latest_checkpoint(out / "checkpoints")
    assert ckpt is not None and ckpt.name == "step_00000040"
    assert sorted(p.name for p in (out / "checkpoints").glob("step_*")) == [
        "step_00000020",
        "step_00000040",
    ]
    state = load_training_state(ckpt)
    assert state["step"] == 40 and state["sampler"]["cursor"] > 0


def test_existing_run_needs_resume(
    toy_dataset: Path, tiny_checkpoint: Path, shared_cache: Path, tmp_path: Path
) -> None:
    config = toy_config(toy_dataset, tiny_checkpoint, tmp_path / "run", shared_cache, steps=2)
    train(config)
    with pytest.raises(FileExistsError, match="resume=true"):
        train(config)
    with pytest.raises(ValueError, match="batch_size"):
        train(replace(config, resume=True, steps=3, batch_size=2))


@pytest.mark.parametrize("victim", ["training_state.pt", "model/model.safetensors"])
def test_truncated_checkpoint_is_refused(
    toy_dataset: Path, tiny_checkpoint: Path, shared_cache: Path, tmp_path: Path, victim: str
) -> None:
    config = toy_config(toy_dataset, tiny_checkpoint, tmp_path / "run", shared_cache, steps=2)
    train(config)
    file = tmp_path / "run" / "checkpoints" / "step_00000002" / victim
    file.write_bytes(file.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=f"truncated or corrupt: {victim}"):
        train(replace(config, resume=True, steps=4))


@pytest.mark.parametrize("victim", ["training_state.pt", "model/model.safetensors"])
def test_same_size_corruption_is_refused_on_resume(
    toy_dataset: Path, tiny_checkpoint: Path, shared_cache: Path, tmp_path: Path, victim: str
) -> None:
    config = toy_config(toy_dataset, tiny_checkpoint, tmp_path / "run", shared_cache, steps=2)
    train(config)
    file = tmp_path / "run" / "checkpoints" / "step_00000002" / victim
    size = file.stat().st_size
    with open(file, "r+b") as handle:  # zeros in the middle of the file, its size unchanged
        handle.seek(size // 3)
        handle.write(bytes(min(200_000, size // 3)))
    assert file.stat().st_size == size
    with pytest.raises(CheckpointError, match=f"is corrupt: the content of {victim} differs"):
        train(replace(config, resume=True, steps=4))


def test_run_outputs_follow_the_umask(
    toy_dataset: Path, tiny_checkpoint: Path, shared_cache: Path, tmp_path: Path
) -> None:
    previous = os.umask(0o022)
    try:
        train(toy_config(toy_dataset, tiny_checkpoint, tmp_path / "run", shared_cache, steps=2))
    finally:
        os.umask(previous)
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert any(p.name == "model.safetensors" for p in files)
    assert {p.relative_to(tmp_path).as_posix(): oct(p.stat().st_mode & 0o777) for p in files} == {
        p.relative_to(tmp_path).as_posix(): oct(0o644) for p in files
    }


def test_resume_after_kill_matches_an_uninterrupted_run(
    toy_dataset: Path, tiny_checkpoint: Path, shared_cache: Path, tmp_path: Path
) -> None:
    steps, every = 10, 3
    straight = toy_config(
        toy_dataset,
        tiny_checkpoint,
        tmp_path / "straight",
        shared_cache,
        steps=steps,
        checkpoint_every=every,
    )
    train(straight)

    killed = tmp_path / "killed"
    args = [
        str(toy_dataset),
        str(tiny_checkpoint),
        str(killed),
        str(shared_cache),
        str(steps),
        str(every),
        "4",
        "7",
    ]
    log = tmp_path / "killed.log"
    with open(log, "w") as stderr:
        env = {
            **os.environ,
            "TOY_TRAINING_THREADS": str(torch.get_num_threads()),
        }  # bit-exact needs equal threads
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
        try:
            for line in proc.stdout:
                if line.startswith("HANGING"):
                    break
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, log.read_text()[-3000:]
    assert latest_checkpoint(killed / "checkpoints").name == "step_00000006"  # step 7 was lost
    assert not (killed / "model").exists()

    summary = train(replace(straight, out_dir=str(killed), resume=True))
    assert summary["resumed_from_step"] == 6
    expected, found = (
        _predictor_weights(tmp_path / "straight" / "model"),
        _predictor_weights(killed / "model"),
    )
    assert expected.keys() == found.keys()
    for name in expected:
        assert torch.equal(expected[name], found[name]), name
    rows = list(csv.DictReader(open(killed / "train.csv")))
    assert [int(r["step"]) for r in rows] == list(range(1, steps + 1))


def test_finetunes_the_predictor_of_a_meta_checkpoint(
    toy_dataset: Path, shared_cache: Path, tmp_path: Path
) -> None:
    from wm_control.model_source import ModelSource

    official = Path(__file__).parents[1] / "fixtures" / "vjepa2_tiny_official.pt"
    source = ModelSource(
        path=str(official), encoder_num_heads=4, predictor_num_heads=4, image_size=64
    )
    config = replace(
        toy_config(toy_dataset, official, tmp_path / "run", shared_cache, steps=3), model=source
    )
    summary = train(config)
    start = WorldModel.from_pretrained(
        official, encoder_num_heads=4, predictor_num_heads=4, image_size=64
    )
    tuned = WorldModel.from_pretrained(tmp_path / "run" / "model")
    assert summary["steps"] == 3 and tuned.config == start.config
    changed = [
        n
        for n, p in tuned.predictor.state_dict().items()
        if not torch.equal(p, start.predictor.state_dict()[n])
    ]
    assert changed, "the released predictor's weights must be trained"
    for name, value in tuned.encoder.state_dict().items():
        assert torch.equal(value, start.encoder.state_dict()[name]), name


def test_split_parts_holds_out_episodes_of_every_dataset() -> None:
    import numpy as np

    from wm_control.training.batches import split_episodes, split_parts

    train_eps, val_eps = split_parts([10, 3], 0.2, seed=0)
    assert sorted(np.concatenate([train_eps, val_eps]).tolist()) == list(range(13))
    assert (val_eps < 10).any() and (val_eps >= 10).any()
    single = split_parts([10], 0.2, seed=0)
    expected = split_episodes(10, 0.2, seed=0)
    assert all((x == y).all() for x, y in zip(single, expected))


def test_trains_on_several_datasets(
    toy_dataset: Path,
    second_dataset: Path,
    tiny_checkpoint: Path,
    shared_cache: Path,
    tmp_path: Path,
) -> None:
    base = toy_config(toy_dataset, tiny_checkpoint, tmp_path / "run", shared_cache, steps=4)
    extra = replace(base.data, root=str(second_dataset))
    summary = train(replace(base, extra_datasets=(extra,)))
    meta = WorldModel.read_metadata(tmp_path / "run" / "model")
    assert meta["extra_datasets"][0]["root"] == str(second_dataset)
    assert {part for part, _ in meta["validation_episodes"]} == {0, 1}
    assert "combined" in Path(summary["cache"]).name


def test_checkpoint_records_how_its_datasets_were_recorded(
    toy_dataset: Path,
    second_dataset: Path,
    tiny_checkpoint: Path,
    shared_cache: Path,
    tmp_path: Path,
) -> None:
    import shutil

    from wm_control.data.provenance import write_recording_record

    recorded = tmp_path / "recorded"
    shutil.copytree(second_dataset, recorded)
    record = {
        "producer": "wm-control collect",
        "command": "wm-control collect env=push seed=7",
        "seed": 7,
    }
    write_recording_record(recorded, record)
    base = toy_config(toy_dataset, tiny_checkpoint, tmp_path / "run", shared_cache, steps=2)
    train(replace(base, extra_datasets=(replace(base.data, root=str(recorded)),)))
    meta = WorldModel.read_metadata(tmp_path / "run" / "model")
    assert meta["data_recordings"] == {str(toy_dataset): None, str(recorded): record}


def test_checkpoint_records_the_starting_model(
    toy_dataset: Path, shared_cache: Path, tmp_path: Path
) -> None:
    from training_toys import tiny_world_model

    start = tiny_world_model(predictor=False).save_pretrained(
        tmp_path / "encoder",
        metadata={"producer": "wm-control pretrain", "command": "wm-control pretrain x=1"},
    )
    config = toy_config(
        toy_dataset, start.parent, tmp_path / "run", shared_cache, steps=2, predictor="ac_tiny"
    )
    train(config)
    origin = WorldModel.read_metadata(tmp_path / "run" / "model")["start_model"]
    assert origin["path"] == str(start.parent)
    assert origin["metadata"]["command"] == "wm-control pretrain x=1"
