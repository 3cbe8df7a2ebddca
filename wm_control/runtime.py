"""Process-level settings applied by the entry points (never as an import side effect).

Headless rendering (choosing MuJoCo's OpenGL backend before MuJoCo is imported) lives in
:mod:`envs.headless`, which the ROS simulator node can import without torch.

Planning on CPU allocates and frees the same tens-of-megabyte activation buffers at every CEM
iteration. glibc returns such blocks to the kernel on free (mmap/trim), so every allocation pays
page faults on first touch; keeping them in the heap made a rollout of 800 samples on the tiny model
~35 % faster in our measurements (bench/RESULTS.md). The entry points (`wm-control`, the ROS
planner node, the benchmarks) call :func:`tune_cpu_allocator`; scripts using the library may too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from contextlib import contextmanager

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's maximum for 64-bit builds
TRIM_THRESHOLD_BYTES = 1024 * 1024 * 1024


def tune_cpu_allocator() -> bool:
    """Keep freed blocks up to 32 MiB in the heap and trim it only past 1 GiB of free memory.

    Returns True when applied (glibc), False where the C library has no ``mallopt``.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt"):
        return False
    ok_mmap = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    ok_trim = libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    return bool(ok_mmap and ok_trim)


@contextmanager
def preserved_scheduling():
    """Restore the calling thread's CPU scheduling policy and priority on exit.

    The SVT-AV1 video encoder that LeRobot uses (through PyAV) switches the thread that starts it to
    real-time SCHED_FIFO priority 99 when it runs as root. Left like that, the process (and every
    process it starts, which inherits the policy) can starve the rest of the machine, so video
    encoding is wrapped in this.
    """
    policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
    try:
        yield
    finally:
        if os.sched_getscheduler(0) != policy or os.sched_getparam(0) != param:
            os.sched_setscheduler(0, policy, param)
