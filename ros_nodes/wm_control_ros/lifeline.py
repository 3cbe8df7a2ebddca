"""A node's lifeline to the launcher that started it.

A launcher (``launch_specs.run``, or ``ros2 launch`` through the launch files) puts its own process
id into each node's environment as ``WM_CONTROL_LAUNCHER_PID``. While the node runs it compares that
id with its parent's: when the launcher dies, by any signal including SIGKILL, the node is
re-parented (to init or a subreaper) and stops itself, so no arm is left driven by an orphaned
planner. A node started without the variable (``ros2 run``, a console script) has no lifeline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

LAUNCHER_PID_ENV = "WM_CONTROL_LAUNCHER_PID"


@dataclass(frozen=True)
class Lifeline:
    """``launcher_pid``: the process the node must outlive never (None: no lifeline)."""

    launcher_pid: int | None

    @classmethod
    def from_environment(cls) -> Lifeline:
        value = os.environ.get(LAUNCHER_PID_ENV, "")
        if not value:
            return cls(None)
        try:
            pid = int(value)
        except ValueError:
            raise ValueError(
                f"{LAUNCHER_PID_ENV}: expected a process id, found {value!r}"
            ) from None
        if pid <= 1:
            raise ValueError(f"{LAUNCHER_PID_ENV}: expected a process id > 1, found {pid}")
        return cls(pid)

    def launcher_gone(self) -> bool:
        """True once the launcher is no longer this process's parent (it exited or was killed)."""
        return self.launcher_pid is not None and os.getppid() != self.launcher_pid

    def describe(self) -> str:
        return f"the launcher (pid {self.launcher_pid}) is gone"


def launcher_environment() -> dict[str, str]:
    """The environment entries a launcher gives its nodes: its own process id."""
    return {LAUNCHER_PID_ENV: str(os.getpid())}
