"""Process entry point shared by the nodes: init, spin, and a clean stop.

A node process stops (its ``destroy_node`` runs, the planner's zero command goes out first) on:
- Ctrl-C (SIGINT), SIGTERM, and SIGHUP (a closed terminal or a dropped SSH session);
- the death of the launcher that started it (``LAUNCHER_PID_ENV``, see :mod:`.lifeline`), also
  when the launcher was killed with SIGKILL and could not stop its nodes itself;
- a fatal error the node reports through its ``fatal_error`` attribute (e.g. the simulation
  thread died): the process then exits with status 1.

rclpy's own signal handler shuts the context down before the node could publish anything, so it is
disabled. While the node is built, the signals raise KeyboardInterrupt (a slow model load can be
interrupted); once it spins, they only record the request and the main loop stops at its next
turn (within ``SPIN_PERIOD``): an exception raised inside rclpy's C++ calls would come out as a
RuntimeError from pybind11 instead. Either way ``destroy_node`` runs with the context still valid.
The handlers are installed explicitly: a process started from a script's background job inherits
SIGINT ignored (POSIX shells without job control do that), and such a node could not be stopped by
the launcher's SIGINT.

A node that cannot be built (a missing checkpoint, a parameter out of range, an unknown parameter)
ends the process with one error line naming the problem and status 2, not a traceback.

Once the node is built, its heap (torch, the model, rclpy) is frozen out of the garbage collector's
reach: a full collection of it stops every thread of the process for ~0.17 s (the planner with the
shipped model, measured on 2 cores), a third of the default 0.5 s input watchdog.
"""

from __future__ import annotations

import gc
import signal
import sys
from collections.abc import Callable

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import Executor, ExternalShutdownException
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from .lifeline import Lifeline

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals that stop a node cleanly (zero command first)."""

SPIN_PERIOD = 0.1
"""s; the longest the main loop waits before it checks the launcher and the node's health."""


def run_node(
    make_node: Callable[[], Node], make_executor: Callable[[], Executor], args: list[str] | None
) -> None:
    """Create the node and spin it until a stop signal, the launcher's death, a fatal error of the
    node or shutdown; then destroy it. Exits the process with status 1 after a fatal error and 2
    when the node cannot be built."""
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.default_int_handler)
    lifeline = Lifeline.from_environment()
    node = None
    status = 0
    executor = make_executor()
    try:
        try:
            node = make_node()
        except (ValueError, OSError, ParameterException) as error:
            print(f"[FATAL] cannot start the node: {error}", file=sys.stderr, flush=True)
            status = 2
        if node is not None:
            gc.collect()
            gc.freeze()
            executor.add_node(node)
        requested: list[int] = []
        for sig in STOP_SIGNALS:
            signal.signal(sig, lambda signum, frame: requested.append(signum))
        while node is not None and node.context.ok() and not requested:
            if lifeline.launcher_gone():
                node.get_logger().error(f"{lifeline.describe()}: stopping the node")
                break
            fatal = getattr(node, "fatal_error", None)
            if fatal is not None:
                node.get_logger().fatal(f"stopping the node: {fatal}")
                status = 1
                break
            executor.spin_once(timeout_sec=SPIN_PERIOD)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # A second signal (a terminal signals the whole process group) must not cut the cleanup
        # short: the planner's zero command is sent in destroy_node.
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        executor.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    if status:
        sys.exit(status)
