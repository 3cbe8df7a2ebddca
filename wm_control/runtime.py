"""Process-level performance settings for CPU planning, applied by the entry points.

Planning on CPU allocates and frees the same tens-of-megabyte activation buffers at every CEM
iteration. glibc returns such blocks to the kernel on free (mmap/trim), so every allocation pays
page faults on first touch; keeping them in the heap made a rollout of 800 samples on the tiny model
~35 % faster in our measurements (bench/RESULTS.md). The entry points (`wm-control`, the ROS
planner node, the benchmarks) call :func:`tune_cpu_allocator`; scripts using the library may too.
"""

from __future__ import annotations

import ctypes
import ctypes.util

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
