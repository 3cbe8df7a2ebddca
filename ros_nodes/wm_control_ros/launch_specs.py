"""Node specifications shared by the launch files, and a small runner for machines without
``launch``.

A launch file describes its nodes as ``NodeSpec`` values (package, executable, name, parameter
files and values, remappings). ``generate_launch_description()`` turns them into
``launch_ros.actions.Node`` actions on a machine with a ROS 2 distribution; without one,
``run(specs)`` starts the same nodes (the ``main`` of the console scripts ``wm-sim-arm`` and
``wm-planner``) as subprocesses with the equivalent ``--ros-args``, and stops them together on
Ctrl-C, SIGTERM or SIGHUP. Either way each node gets the launcher's process id (see
:mod:`.lifeline`) and stops itself, zero command first, if the launcher dies without stopping it.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .lifeline import launcher_environment

PACKAGE = "wm_control_ros"
CONSOLE_SCRIPTS = {"sim_arm": "wm-sim-arm", "planner": "wm-planner"}
"""ROS executable -> console script installed by the project."""

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals on which the runner stops its nodes."""


@dataclass(frozen=True)
class NodeSpec:
    """One node of a launch description.

    parameter_files: YAML files (``<node name>: ros__parameters: {...}``), applied first.
    parameters: values that override the files. remappings: (from, to) topic names.
    """

    executable: str
    name: str
    parameter_files: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    remappings: tuple[tuple[str, str], ...] = ()
    package: str = PACKAGE

    def __post_init__(self) -> None:
        if self.executable not in CONSOLE_SCRIPTS:
            raise ValueError(
                f"executable: expected one of {sorted(CONSOLE_SCRIPTS)}, found {self.executable!r}"
            )
        for path in self.parameter_files:
            if not Path(path).is_file():
                raise ValueError(
                    f"parameter file: expected an existing YAML file, found no file at {path!r}"
                )

    def ros_args(self) -> list[str]:
        """The equivalent command-line arguments: ``--ros-args -r __node:=name ...``."""
        args = ["--ros-args", "-r", f"__node:={self.name}"]
        for path in self.parameter_files:
            args += ["--params-file", path]
        for name, value in self.parameters.items():
            args += ["-p", f"{name}:={_yaml_value(value)}"]
        for source, target in self.remappings:
            args += ["-r", f"{source}:={target}"]
        return args

    def launch_ros_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``launch_ros.actions.Node``."""
        return {
            "package": self.package,
            "executable": self.executable,
            "name": self.name,
            "output": "screen",
            "parameters": [*self.parameter_files, dict(self.parameters)],
            "remappings": list(self.remappings),
            "additional_env": launcher_environment(),
        }


def shipped_model_path() -> str:
    """The default world model shipped inside the ``wm_control`` package (found without importing
    it, which would load torch into the launch process)."""
    spec = importlib.util.find_spec("wm_control")
    if spec is None or spec.origin is None:
        return ""
    return str(Path(spec.origin).parent / "pretrained" / "sim_default" / "model.safetensors")


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_yaml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return f"'{value}'" if value == "" or any(c in value for c in ",[]:'\" ") else value
    return repr(value)


def parse_launch_arguments(argv: Sequence[str], known: dict[str, str]) -> dict[str, str]:
    """``name:=value`` arguments (the ``ros2 launch`` syntax) over the defaults in ``known``."""
    values = dict(known)
    for arg in argv:
        name, sep, value = arg.partition(":=")
        if not sep or name not in known:
            raise SystemExit(
                f"launch argument: expected name:=value with name in {sorted(known)}, found {arg!r}"
            )
        values[name] = value
    return values


def run(specs: Sequence[NodeSpec]) -> int:
    """Start every node as a subprocess (same interpreter); stop all when one exits, on Ctrl-C,
    SIGTERM or SIGHUP (each node gets one SIGINT and sends its zero command; none is left running).
    Killed outright (SIGKILL), the runner cannot stop its nodes: they stop themselves when they see
    it gone (:mod:`.lifeline`).

    Returns the first non-zero exit status (0 when all stopped cleanly).
    """
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        # SIGTERM (a supervisor, `timeout`, `kill`) and SIGHUP (a closed terminal, a dropped SSH
        # session) would otherwise end this runner at once and orphan the nodes, which live in
        # their own sessions: stop them as Ctrl-C does. SIGINT is set too: started from a script's
        # background job, this runner inherits it ignored.
        previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
        for sig in previous:
            signal.signal(sig, signal.default_int_handler)
    processes: list[subprocess.Popen] = []
    environment = {**os.environ, **launcher_environment()}
    try:
        for spec in specs:
            # own sessions: a terminal's Ctrl-C reaches only this runner, which forwards exactly one
            # SIGINT
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", f"{PACKAGE}.{spec.executable}", *spec.ros_args()],
                    start_new_session=True,
                    env=environment,
                )
            )
        while all(p.poll() is None for p in processes):
            try:
                processes[0].wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
    except KeyboardInterrupt:
        pass
    finally:
        if main_thread:  # a second signal must not cut the nodes' shutdown short
            for sig in STOP_SIGNALS:
                signal.signal(sig, signal.SIG_IGN)
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=10.0)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if main_thread:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return next((p.returncode for p in processes if p.returncode), 0)


# returns a launch.LaunchDescription
def launch_description(arguments: dict[str, tuple[str, str]], node_specs):  # noqa: ANN201
    """The ``ros2 launch`` description of a launch file: its declared arguments (default,
    description) and the nodes ``node_specs(**values)`` builds from them (needs a ROS 2
    distribution)."""
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    def setup(context):  # noqa: ANN001, ANN202
        values = {name: LaunchConfiguration(name).perform(context) for name in arguments}
        return [Node(**spec.launch_ros_kwargs()) for spec in node_specs(**values)]

    declared = [
        DeclareLaunchArgument(name, default_value=default, description=text)
        for name, (default, text) in arguments.items()
    ]
    return LaunchDescription([*declared, OpaqueFunction(function=setup)])


def run_from_command_line(
    arguments: dict[str, tuple[str, str]], node_specs, argv: Sequence[str]
) -> int:
    """Run a launch file as a plain script (``name:=value`` arguments), without ``ros2 launch``."""
    defaults = {name: default for name, (default, _) in arguments.items()}
    return run(node_specs(**parse_launch_arguments(argv, defaults)))
