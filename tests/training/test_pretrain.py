"""Encoder pretraining: masks, an end-to-end run through the CLI, and training a predictor on its
output."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from training_toys import CAMERA

from wm_control.cli.main import main
from wm_control.training.masks import MaskSpec, sample_masks
from wm_control.world_model import WorldModel


def test_masks_split_the_grid_into_context_and_targets() -> None:
    generator = torch.Generator().manual_seed(0)
    grid = (2, 8, 8)
    context, target = sample_masks(
        5, grid, MaskSpec(num_blocks=4, spatial_scale=(0.1, 0.2)), generator
    )
    assert context.shape[0] == target.shape[0] == 5
    assert context.shape[1] > 0 and target.shape[1] > 0
    for c, t in zip(context, target, strict=True):
        assert not set(c.tolist()) & set(t.tolist())
        assert max(c.max(), t.max()) < 2 * 8 * 8
    # blocks span the whole duration by default: a masked (row, col) is masked at both times
    rows_cols = {int(i) % 64 for i in target[0]}
    times = {int(i) // 64 for i in target[0] if int(i) % 64 in rows_cols}
    assert times == {0, 1}


def test_masks_refuse_blocks_that_leave_no_context() -> None:
    with pytest.raises(ValueError, match="no context"):
        sample_masks(
            2, (1, 2, 2), MaskSpec(num_blocks=1, spatial_scale=(1.0, 1.0)), torch.Generator()
        )


def _pretrain_args(
    dataset: Path, out: Path, frames: Path, steps: int, **extra: object
) -> list[str]:
    args = [
        "pretrain",
        "data=lerobot",
        "data.repo_id=test/toy_arm",
        f"data.root={dataset}",
        f"data.camera_key={CAMERA}",
        "encoder=vit_tiny",
        f"out_dir={out}",
        f"frames_root={frames}",
        f"steps={steps}",
        "batch_size=4",
        "predictor.width=32",
        "predictor.depth=1",
        "predictor.num_heads=2",
        "predictor.mlp_hidden=64",
        "checkpoint_every=2",
        "log_every=1",
        "progress=false",
        "optim.warmup_steps=2",
        "optim.decay_steps=2",
        (
            "masks=[{num_blocks: 4, spatial_scale: [0.15, 0.15]}, "
            "{num_blocks: 1, spatial_scale: [0.5, 0.5]}]"
        ),
        f"hydra.run.dir={out}/hydra",
    ]
    return args + [f"{k}={v}" for k, v in extra.items()]


def _train_on(encoder: Path, dataset: Path, tmp_path: Path, steps: int) -> Path:
    """A short ``train`` run of a fresh ``ac_tiny`` predictor on ``encoder``; its run folder."""
    run = tmp_path / "train"
    main(
        [
            "train",
            "model=pretrained_encoder",
            f"model.path={encoder}",
            "predictor=ac_tiny",
            "data=lerobot",
            "data.repo_id=test/toy_arm",
            f"data.root={dataset}",
            f"data.camera_key={CAMERA}",
            "train=smoke",
            f"train.steps={steps}",
            "train.batch_size=4",
            "train.val_fraction=0.25",
            f"out_dir={run}",
            f"cache.root={tmp_path / 'cache'}",
            "progress=false",
            f"hydra.run.dir={run}/hydra",
        ]
    )
    return run


def test_pretrain_saves_an_encoder_that_train_builds_on(toy_dataset: Path, tmp_path: Path) -> None:
    out, frames = tmp_path / "pretrain", tmp_path / "frames"
    main(_pretrain_args(toy_dataset, out, frames, steps=6))
    rows = list(csv.DictReader(open(out / "train.csv")))
    assert len(rows) == 6 and all(float(r["loss"]) > 0 for r in rows)

    encoder = WorldModel.from_pretrained(out / "model")
    assert encoder.predictor is None and encoder.token_dim == 64 and encoder.image_size == (64, 64)
    meta = WorldModel.read_metadata(out / "model")
    assert meta["producer"] == "wm-control pretrain" and meta["step"] == 6
    assert meta["data_recordings"] == {
        str(toy_dataset): None
    }  # made without `collect`: nothing to copy

    run = _train_on(out / "model", toy_dataset, tmp_path, steps=3)
    trained = load_file(str(run / "model" / "model.safetensors"))
    pretrained = load_file(str(out / "model" / "model.safetensors"))
    assert any(k.startswith("predictor.") for k in trained)
    assert WorldModel.from_pretrained(run / "model").image_size == (64, 64)  # the encoder's own
    for name, value in pretrained.items():  # the encoder stays frozen
        assert torch.equal(trained[name], value), name


def test_patch_size_8_gives_64_tokens_per_frame_through_train_and_rollout(
    toy_dataset: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pretrain"
    main(_pretrain_args(toy_dataset, out, tmp_path / "frames", steps=2, patch_size=8))
    encoder = WorldModel.from_pretrained(out / "model")
    assert encoder.config.encoder.patch_size == 8 and encoder.tokens_per_frame == 64

    run = _train_on(out / "model", toy_dataset, tmp_path, steps=2)
    model = WorldModel.from_pretrained(run / "model")
    assert model.config.predictor.patch_size == 8 and model.grid == (8, 8)
    assert model.image_size == (64, 64)
    frame = np.zeros((64, 64, 3), dtype=np.uint8)
    with torch.no_grad():
        tokens = model.encode(frame)  # [1, 1, 64, D]
        imagined = model.rollout(tokens, torch.zeros(1, 1, 7), torch.zeros(3, 2, 7)).tokens
    assert tokens.shape[2] == 64 and imagined.shape == (3, 2, 64, model.token_dim)


def test_pretrain_resumes_exactly(toy_dataset: Path, tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    main(_pretrain_args(toy_dataset, tmp_path / "straight", frames, steps=4))
    interrupted = tmp_path / "interrupted"
    main(_pretrain_args(toy_dataset, interrupted, frames, steps=4))
    # simulate a run killed after its step-2 checkpoint: drop what came later
    shutil.rmtree(interrupted / "checkpoints" / "step_00000004")
    shutil.rmtree(interrupted / "model")
    (interrupted / "checkpoints" / "latest").write_text("step_00000002")
    main(_pretrain_args(toy_dataset, interrupted, frames, steps=4, resume="true"))
    expected = load_file(str(tmp_path / "straight" / "model" / "model.safetensors"))
    found = load_file(str(interrupted / "model" / "model.safetensors"))
    for name in expected:
        assert torch.equal(expected[name], found[name]), name
