"""Process entry point shared by the nodes: init, spin, and a clean stop on Ctrl-C or SIGTERM.

rclpy's own signal handler shuts the context down before the node could publish anything, so it is
disabled: SIGINT and SIGTERM raise KeyboardInterrupt in the main thread (between short executor
waits), and ``destroy_node`` runs with the context still valid (the planner sends its zero command
there). Both handlers are installed explicitly: a process started from a script's background job
inherits SIGINT ignored (POSIX shells without job control do that), and such a node could not be
stopped by the launcher's SIGINT.

Once the node is built, its heap (torch, the model, rclpy) is frozen out of the garbage collector's
reach: a full collection of it stops every thread of the process for ~0.17 s (the planner with the
shipped model, measured on 2 cores), a third of the default 0.5 s input watchdog.
"""

from __future__ import annotations

import gc
import signal
from collections.abc import Callable

import rclpy
from rclpy.executors import Executor, ExternalShutdownException
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions


def run_node(make_node: Callable[[], Node], make_executor: Callable[[], Executor], args: list[str] | None) -> None:
    """Create the node and spin it until Ctrl-C, SIGTERM or shutdown; then destroy it."""
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)
    node = None
    executor = make_executor()
    try:
        node = make_node()
        gc.collect()
        gc.freeze()
        executor.add_node(node)
        while node.context.ok():
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # A second Ctrl-C (a terminal signals the whole process group) must not cut the cleanup
        # short: the planner's zero command is sent in destroy_node.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        executor.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
