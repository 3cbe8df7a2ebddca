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


def physical_cores() -> int:
    """Physical CPU cores this process may use: the machine's (hyper-threads not counted; psutil),
    no more than the CPUs it is allowed to run on (taskset, a SLURM allocation), at least 1."""
    import psutil

    physical = psutil.cpu_count(logical=False) or os.cpu_count() or 1
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else physical
    return max(1, min(physical, allowed))


def default_threads(processes: int = 1) -> int:
    """Torch threads per process when ``processes`` run side by side: the physical cores shared
    out, at least one each. Why not torch's own default (every logical CPU): next to another busy
    process, OpenMP barriers wait for the busiest core (on 2 cores, 2 threads planned 2.4x slower
    than 1 next to another job)."""
    if not isinstance(processes, int) or processes < 1:
        raise ValueError(f"default_threads: expected processes >= 1, found {processes!r}")
    return max(1, physical_cores() // processes)


def set_torch_threads(
    threads: int | None, processes: int = 1, key: str = "threads"
) -> tuple[int, int]:
    """Set torch's intra-op and inter-op thread counts to ``threads`` (None: :func:`default_threads`
    of ``processes``), before a model loads. Returns the counts in force. Torch allows setting the
    inter-op count once per process, before inter-op work starts; when that moment has passed (a
    second call in one process), the count in force stays and is returned. Errors name ``key``."""
    import torch

    if threads is None:
        threads = default_threads(processes)
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(
            f"{key}: expected null (one per physical core) or an int >= 1, found {threads!r}"
        )
    torch.set_num_threads(threads)
    if torch.get_num_interop_threads() != threads:
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:  # already set or started in this process: torch refuses a second time
            pass
    return torch.get_num_threads(), torch.get_num_interop_threads()
