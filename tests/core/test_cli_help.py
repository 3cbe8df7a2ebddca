"""`wm-control --help` answers without loading torch or MuJoCo (seconds of imports on a small
machine): the library's top-level names are imported on first use."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from wm_control.cli.main import console_main
sys.argv = ["wm-control", "--help"]
console_main()
names = ("torch", "mujoco", "lerobot", "transformers")
heavy = sorted(name for name in names if name in sys.modules)
print("HEAVY", heavy)
"""


def test_help_lists_the_commands_without_heavy_imports():
    output = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    ).stdout
    assert "usage: wm-control <command>" in output and "plan " in output and "eval " in output, (
        output
    )
    assert "HEAVY []" in output, output


def test_the_library_names_still_import():
    import wm_control

    assert wm_control.WorldModel.__name__ == "WorldModel" and callable(wm_control.energy)
    assert set(wm_control.__all__) == {"Rollout", "WorldModel", "energy"}
