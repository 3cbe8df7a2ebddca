"""The `wm-control` command line: one command, Hydra subcommands."""

from __future__ import annotations

from pathlib import Path


def output_dir() -> Path:
    """The Hydra run folder of the current command (where it writes its outputs)."""
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)
