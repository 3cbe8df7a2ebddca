"""`wm-control <command> [hydra overrides...]`: dispatch to a Hydra-configured subcommand.

Each command is a module ``wm_control.cli.<command>`` with ``CONFIG_NAME`` (a file
``configs/<CONFIG_NAME>.yaml``) and ``run(cfg: DictConfig) -> None``. Every run gets a Hydra run
folder (``outputs/<date>/<time>/`` by default) where commands write their outputs.

:func:`main` lets every exception reach its caller as the exception it is (Hydra would otherwise
print and exit on its own); :func:`console_main`, the executable, reports the user's errors in one
line without a traceback (see :mod:`wm_control.cli.errors`).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import debug_enabled, is_user_error, report

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
            f"wm-control: expected the Hydra configs at {path}; install the project from its "
            "repository with `make install` (an editable install keeps configs/ next to the code)"
        )
    return path


def available_commands() -> dict[str, str]:
    return {
        name: text
        for name, text in COMMANDS.items()
        if importlib.util.find_spec(f"wm_control.cli.{name}")
    }


def usage() -> str:
    lines = [
        "usage: wm-control <command> [key=value ...] [--help | --cfg job | --multirun]",
        "",
        "commands:",
    ]
    lines += [f"  {name:<10} {text}" for name, text in available_commands().items()]
    lines += [
        "",
        "Settings are Hydra overrides, e.g. `wm-control plan planner.samples=400`;",
        "`wm-control <command> --cfg job` prints the composed configuration.",
    ]
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
        with _hydra_errors_raised():
            entry = hydra.main(
                config_path=str(config_dir()), config_name=module.CONFIG_NAME, version_base="1.3"
            )
            entry(_task(module.run))()
    except _UserInputError as carried:
        raise carried.error from carried.error.__cause__
    finally:
        sys.argv = saved


class _UserInputError(BaseException):
    """Carries a user error out of a Hydra job. Hydra catches ``Exception`` around the job, logs
    "Error executing job" and re-raises; a ``BaseException`` passes through unlogged and
    :func:`main` raises the original error again."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _task(run: Callable[[Any], None]) -> Callable[[Any], None]:
    @functools.wraps(run)
    def task(cfg: Any) -> None:
        try:
            apply_threads(cfg)
            run(cfg)
        except Exception as error:
            if is_user_error(error):
                raise _UserInputError(error) from None
            raise

    return task


def apply_threads(cfg: Any) -> None:
    """The command's ``threads`` setting, applied before it loads a model: torch's intra- and
    inter-op threads. ``null``: one per physical core, shared out among the jobs a parallel Hydra
    launcher runs side by side (``--multirun`` with joblib's ``n_jobs``: one thread each on a
    machine with as many cores as jobs)."""
    from ..runtime import set_torch_threads

    threads, processes = cfg.get("threads"), _parallel_jobs()
    intra, inter = set_torch_threads(threads, processes=processes)
    logging.getLogger(__name__).info(
        "torch threads: %d (inter-op %d; threads=%s, %d parallel jobs)",
        intra,
        inter,
        threads,
        processes,
    )


def _parallel_jobs() -> int:
    """How many jobs of this run the Hydra launcher runs at once (1 outside ``--multirun`` and for
    the basic launcher, which runs them one after another)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from ..runtime import physical_cores

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return 1
    jobs = HydraConfig.get().launcher.get("n_jobs")
    if jobs is None:
        return 1
    return physical_cores() if jobs < 0 else max(1, int(jobs))  # joblib: -1 = one per CPU


@contextmanager
def _hydra_errors_raised() -> Iterator[None]:
    """Hydra prints configuration errors and exits unless ``HYDRA_FULL_ERROR`` is set; with it set
    they propagate as exceptions, for the command line to report."""
    saved = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    finally:
        if saved is None:
            del os.environ["HYDRA_FULL_ERROR"]
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is, so that it stops as on Ctrl-C."""

    signum = signal.SIGTERM


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated


def console_main() -> None:
    """The `wm-control` executable: process-level settings first (allocator, headless rendering),
    then :func:`main`. A user error (bad input, unknown option, missing file) ends in one line on
    stderr and exit status 2, Ctrl-C in ``interrupted`` and status 130 (the shell's 128 + SIGINT),
    SIGTERM stops it as Ctrl-C does, in ``terminated`` and 143; ``WM_CONTROL_DEBUG=1`` shows the
    traceback instead. Tests and embedding code call :func:`main` and keep their process as it
    is."""
    from envs.headless import headless_rendering_default

    from ..runtime import tune_cpu_allocator

    tune_cpu_allocator()
    headless_rendering_default()
    # Ctrl-C (SIGINT) must stop a command even when it was started from a script's background job,
    # which inherits SIGINT ignored (POSIX shells without job control do that). SIGTERM (a `kill`, a
    # cluster's preemption) stops it the same way, so it keeps what Ctrl-C keeps.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_terminated)
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        main()
    except KeyboardInterrupt as stop:
        # The command has stopped: a further Ctrl-C or SIGTERM (a second press that comes just
        # after collect finished saving) would only kill the exit itself, without its message
        # and status.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if debug_enabled():
            raise
        # What a command keeps on Ctrl-C or SIGTERM (collect's finished episodes, train's
        # checkpoint of its last update) it has already saved and logged; a traceback would only
        # bury that.
        signum = getattr(stop, "signum", signal.SIGINT)
        said = "terminated" if signum == signal.SIGTERM else "interrupted"
        print(f"wm-control {command}: {said}", file=sys.stderr)
        raise SystemExit(128 + signum) from None
    except Exception as error:
        if not is_user_error(error) or debug_enabled():
            raise
        report(command, error)


if __name__ == "__main__":
    console_main()
