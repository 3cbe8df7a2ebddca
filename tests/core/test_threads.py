"""`threads=`: every command has it, and the torch thread count it sets is the one in force."""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from wm_control.cli import main as cli
from wm_control.runtime import default_threads, physical_cores

ROOT = Path(__file__).resolve().parents[2]
TINY = ["landscape", "~env", "model=reference_tiny", "resolution=3", "mark_plan=false"]


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_every_command_has_a_threads_setting():
    for command in cli.available_commands():
        name = importlib.import_module(f"wm_control.cli.{command}").CONFIG_NAME
        config = OmegaConf.load(cli.config_dir() / f"{name}.yaml")
        assert "threads" in config and config.threads is None, command


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_is_in_force_when_the_command_runs(tmp_path, monkeypatch, restore_threads, threads):
    seen = []
    landscape = importlib.import_module("wm_control.cli.landscape")
    original = landscape.run
    monkeypatch.setattr(
        landscape, "run", lambda cfg: (seen.append(torch.get_num_threads()), original(cfg))
    )
    torch.set_num_threads(3 - threads)  # the other value
    cli.main([*TINY, f"threads={threads}", f"hydra.run.dir={tmp_path}"])
    assert seen == [threads]


def test_default_is_the_physical_cores_shared_out_among_parallel_jobs(
    tmp_path, monkeypatch, restore_threads
):
    assert default_threads() == physical_cores() and default_threads(physical_cores() + 1) == 1
    cli.main([*TINY, f"hydra.run.dir={tmp_path / 'one'}"])
    assert torch.get_num_threads() == physical_cores()
    monkeypatch.setattr(cli, "_parallel_jobs", lambda: 64)  # e.g. joblib's launcher with n_jobs=64
    cli.main([*TINY, f"hydra.run.dir={tmp_path / 'many'}"])
    assert torch.get_num_threads() == 1
    with pytest.raises(ValueError, match="threads: expected null"):
        cli.main([*TINY, "threads=0", f"hydra.run.dir={tmp_path / 'bad'}"])


def test_parallel_jobs_reads_the_launcher(monkeypatch):
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    class Fake:
        def __init__(self, mode, launcher):
            self.mode, self.launcher = mode, OmegaConf.create(launcher)

    monkeypatch.setattr(HydraConfig, "initialized", staticmethod(lambda: True))
    for mode, launcher, jobs in [
        (RunMode.RUN, {"n_jobs": 4}, 1),
        (RunMode.MULTIRUN, {}, 1),
        (RunMode.MULTIRUN, {"n_jobs": 4}, 4),
        (RunMode.MULTIRUN, {"n_jobs": -1}, physical_cores()),
    ]:
        monkeypatch.setattr(
            HydraConfig, "get", staticmethod(lambda m=mode, la=launcher: Fake(m, la))
        )
        assert cli._parallel_jobs() == jobs, (mode, launcher)


def test_the_executable_applies_threads_before_the_model_loads(tmp_path):
    """The installed `wm-control` in its own process: the thread count it logs is read back from
    torch after setting it, before the command's work (the run folder's log keeps the line)."""
    executable = Path(sys.executable).with_name("wm-control")
    result = subprocess.run(
        [str(executable), *TINY, "threads=1", f"hydra.run.dir={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "landscape.log").read_text()
    assert re.search(r"torch threads: 1 \(inter-op 1; threads=1", log), log
