"""Runs a toy training in its own process (for the kill/resume test and the torchrun DDP test).

Usage: python toy_training_script.py DATASET CHECKPOINT OUT CACHE STEPS CHECKPOINT_EVERY BATCH
       [HANG_AT]
With HANG_AT, the process prints ``HANGING <step>`` after update HANG_AT and sleeps, to be killed.
``TOY_TRAINING_THREADS`` sets torch's thread count (to match the process it is compared with).
With ``TOY_PRINT_STEPS`` set, every process prints ``STEP <step> RANK <rank> PID <pid>`` after each
update, and ``STOPPED <step> RANK <rank>`` where a stop request ends the run (exit status 0).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from training_toys import toy_config  # noqa: E402

from wm_control.training.stop_request import TrainingStopped  # noqa: E402
from wm_control.training.trainer import train  # noqa: E402


def main(argv: list[str]) -> None:
    if "TOY_TRAINING_THREADS" in os.environ:
        torch.set_num_threads(int(os.environ["TOY_TRAINING_THREADS"]))
    dataset, checkpoint, out, cache = (Path(a) for a in argv[:4])
    steps, every, batch = (int(a) for a in argv[4:7])
    hang_at = int(argv[7]) if len(argv) > 7 else None

    rank = os.environ.get("RANK", "0")
    print_steps = "TOY_PRINT_STEPS" in os.environ

    def hook(step: int) -> None:
        if print_steps:
            print(f"STEP {step} RANK {rank} PID {os.getpid()}", flush=True)
        if step == hang_at:
            print(f"HANGING {step}", flush=True)
            time.sleep(600)

    config = toy_config(
        dataset, checkpoint, out, cache, steps=steps, checkpoint_every=every, batch_size=batch
    )
    try:
        train(config, step_hook=hook)
    except TrainingStopped as stop:
        print(f"STOPPED {stop.step} RANK {rank}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
