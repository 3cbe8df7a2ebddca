"""The `wm-control` command line: one command, Hydra subcommands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from envs.config import EnvConfig


def output_dir() -> Path:
    """The Hydra run folder of the current command (where it writes its outputs)."""
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)


def task_config(cfg: DictConfig) -> EnvConfig:
    """The typed simulated-task config of a command's composed ``env`` group."""
    from envs.config import EnvConfig

    return EnvConfig(**{str(k): v for k, v in cfg.env.items()})
