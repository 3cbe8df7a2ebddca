import subprocess
import sys

from wm_control.runtime import MMAP_THRESHOLD_BYTES


def test_allocator_tuning_applies_on_glibc():
    # in a child process: the setting is process-wide and the test process keeps glibc's defaults
    code = (
        "from wm_control.runtime import tune_cpu_allocator; "
        "raise SystemExit(0 if tune_cpu_allocator() else 3)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
    assert MMAP_THRESHOLD_BYTES <= 32 * 1024 * 1024  # larger values are rejected by glibc on 64-bit
