"""DDP through torchrun: two CPU processes (gloo) train like one process with the same global
batch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file
from training_toys import toy_config

from wm_control.training.trainer import train

SCRIPT = Path(__file__).parent / "toy_training_script.py"


def test_two_processes_match_one(
    toy_dataset: Path, tiny_checkpoint: Path, shared_cache: Path, tmp_path: Path
) -> None:
    steps, batch = 4, 4
    train(
        toy_config(
            toy_dataset,
            tiny_checkpoint,
            tmp_path / "single",
            shared_cache,
            steps=steps,
            batch_size=batch,
        )
    )

    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(SCRIPT),
        str(toy_dataset),
        str(tiny_checkpoint),
        str(tmp_path / "ddp"),
        str(shared_cache),
        str(steps),
        str(steps),
        str(batch),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]

    single = load_file(str(tmp_path / "single" / "model" / "model.safetensors"))
    ddp = load_file(str(tmp_path / "ddp" / "model" / "model.safetensors"))
    initial = load_file(str(tiny_checkpoint / "model.safetensors"))
    predictor = [k for k in single if k.startswith("predictor.")]
    assert predictor and single.keys() == ddp.keys()
    moved = max(float((single[k] - initial[k]).abs().max()) for k in predictor)
    assert moved > 1e-3, "training must change the weights for the comparison to mean something"
    for name in predictor:
        torch.testing.assert_close(ddp[name], single[name], rtol=1e-4, atol=1e-5, msg=name)
