"""Ctrl-C and SIGTERM stop a training run after the update in hand, with a checkpoint of it; real
processes, real signals."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from test_resume_config import _start

from wm_control.training.checkpointing import latest_checkpoint, load_training_state
from wm_control.training.distributed import single_process
from wm_control.training.stop_request import StopRequests

SCRIPT = Path(__file__).parent / "toy_training_script.py"


def _rows(path: Path) -> int:
    if not path.exists():
        return 0
    return len(list(csv.DictReader(open(path))))


def _wm_control() -> list[str]:
    executable = Path(sys.executable).with_name("wm-control")
    if executable.exists():
        return [str(executable)]
    return [sys.executable, "-m", "wm_control.cli.main"]


@pytest.mark.parametrize(
    ("signum", "status", "said"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_signal_saves_the_update_in_hand_and_resume_continues_from_it(
    toy_dataset: Path,
    tiny_checkpoint: Path,
    shared_cache: Path,
    tmp_path: Path,
    signum: int,
    status: int,
    said: str,
) -> None:
    out = tmp_path / "run"
    args = _start(toy_dataset, tiny_checkpoint, out, shared_cache)
    args = [a for a in args if not a.startswith(("train.steps=", "train.checkpoint_every="))]
    args += ["train.steps=100000", "train.checkpoint_every=100000"]  # no checkpoint on its own
    process = subprocess.Popen(
        [*_wm_control(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.monotonic() + 240
    while _rows(out / "train.csv") < 3:
        assert process.poll() is None and time.monotonic() < deadline, process.stdout.read()
        time.sleep(0.05)
    process.send_signal(signum)
    log = process.communicate(timeout=120)[0]
    assert process.returncode == status, log[-3000:]
    assert f"wm-control train: {said}" in log and "Traceback" not in log, log[-3000:]
    found = re.search(r"stopped after update (\d+)", log)
    assert found, log[-3000:]
    step = int(found.group(1))
    assert step >= 3
    saved = latest_checkpoint(out / "checkpoints")
    assert saved.name == f"step_{step:08d}" and str(saved) in log
    assert load_training_state(saved)["step"] == step
    assert not (out / "model").exists()

    resumed = subprocess.run(
        [*_wm_control(), "train", f"out_dir={out}", "resume=true", f"train.steps={step + 2}",
         f"hydra.run.dir={tmp_path / 'again'}"],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resumed_from_step"] == step and summary["steps"] == step + 2


def test_a_signal_to_one_torchrun_worker_stops_both_after_the_same_update(
    toy_dataset: Path, tiny_checkpoint: Path, shared_cache: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(SCRIPT), str(toy_dataset), str(tiny_checkpoint), str(out), str(shared_cache),
        "100000", "100000", "4",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "TOY_PRINT_STEPS": "1"},
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 240
    pid = None
    while pid is None:
        assert process.poll() is None and time.monotonic() < deadline, "".join(lines)[-3000:]
        for line in list(lines):
            found = re.search(r"STEP ([3-9]|\d\d+) RANK 1 PID (\d+)", line)
            if found:
                pid = int(found.group(2))
        time.sleep(0.05)
    os.kill(pid, signal.SIGTERM)  # only the second worker hears it
    assert process.wait(timeout=120) == 0, "".join(lines)[-3000:]
    reader.join(timeout=10)
    stopped = {
        found.group(2): int(found.group(1))
        for found in (re.search(r"STOPPED (\d+) RANK (\d)", line) for line in lines)
        if found
    }
    assert set(stopped) == {"0", "1"} and stopped["0"] == stopped["1"], "".join(lines)[-3000:]
    assert latest_checkpoint(out / "checkpoints").name == f"step_{stopped['0']:08d}"


def test_requests_are_recorded_and_a_second_ctrl_c_stops_at_once() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    ctx = single_process(torch.device("cpu"))
    with StopRequests(announce=False) as stops:
        assert stops.agreed(ctx) is None
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)  # while the checkpoint is written: ignored
        assert stops.agreed(ctx) == signal.SIGTERM
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs here at the latest
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
