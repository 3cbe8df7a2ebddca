"""`wm-control <command> [hydra overrides...]`: dispatch to a Hydra-configured subcommand.

Each command is a module ``wm_control.cli.<command>`` with ``CONFIG_NAME`` (a file
``configs/<CONFIG_NAME>.yaml``) and ``run(cfg: DictConfig) -> None``. Every run gets a Hydra run
folder (``outputs/<date>/<time>/`` by default) where commands write their outputs.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

COMMANDS = {
    "plan": "plan toward a goal image with the world model (receding-horizon CEM)",
    "collect": "record demonstrations in a simulated task into a LeRobot dataset",
    "train": "fine-tune the action-conditioned predictor on a LeRobot dataset",
    "pretrain": "self-supervised pretraining of a small video encoder",
    "eval": "success rates of the planner and baselines over seeded episodes",
    "landscape": "energy over a grid of actions, as a heat map",
}


def config_dir() -> Path:
    """The repository's ``configs/`` folder (the project is installed in editable mode)."""
    path = Path(__file__).resolve().parents[2] / "configs"
    if not path.is_dir():
        raise FileNotFoundError(
            f"wm-control: expected the Hydra configs at {path}; install the project from its repository "
            f"with `make install` (an editable install keeps configs/ next to the code)"
        )
    return path


def available_commands() -> dict[str, str]:
    return {name: text for name, text in COMMANDS.items() if importlib.util.find_spec(f"wm_control.cli.{name}")}


def usage() -> str:
    lines = ["usage: wm-control <command> [key=value ...] [--help | --cfg job | --multirun]", "", "commands:"]
    lines += [f"  {name:<10} {text}" for name, text in available_commands().items()]
    lines += ["", "Settings are Hydra overrides, e.g. `wm-control plan planner.samples=400`;",
              "`wm-control <command> --cfg job` prints the composed configuration."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import hydra

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return
    command, overrides = argv[0], argv[1:]
    if command not in available_commands():
        print(f"wm-control: unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        raise SystemExit(2)
    module = importlib.import_module(f"wm_control.cli.{command}")
    saved = sys.argv
    sys.argv = [f"wm-control {command}", *overrides]
    try:
        hydra.main(config_path=str(config_dir()), config_name=module.CONFIG_NAME, version_base="1.3")(module.run)()
    finally:
        sys.argv = saved


def console_main() -> None:
    """The `wm-control` executable: process-level settings first (allocator, headless rendering),
    then :func:`main`. Tests and embedding code call :func:`main` and keep their process as it is."""
    from envs.headless import headless_rendering_default

    from ..runtime import tune_cpu_allocator

    tune_cpu_allocator()
    headless_rendering_default()
    main()


if __name__ == "__main__":
    console_main()
