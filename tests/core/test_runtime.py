import ctypes

from wm_control.runtime import MMAP_THRESHOLD_BYTES, tune_cpu_allocator


def test_allocator_tuning_applies_on_glibc():
    # the project targets glibc Linux (Debian/Ubuntu); mallopt accepts these values there
    assert ctypes.CDLL(None).gnu_get_libc_version() is not None
    assert tune_cpu_allocator() is True
    assert MMAP_THRESHOLD_BYTES <= 32 * 1024 * 1024  # larger values are rejected by glibc on 64-bit
