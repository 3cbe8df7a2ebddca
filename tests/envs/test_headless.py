"""`import envs` renders without a display: it picks a headless OpenGL backend before MuJoCo
loads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from envs.headless import headless_rendering_default

DISPLAY_SETTINGS = ("DISPLAY", "WAYLAND_DISPLAY", "MUJOCO_GL", "PYOPENGL_PLATFORM")

SCRIPT = """
import os
import gymnasium as gym
import envs
env = gym.make("wm_control/Push-v2", image_size=32)
observation, _ = env.reset(seed=0)
assert observation["pixels"].shape == (32, 32, 3) and observation["pixels"].any()
env.close()
print("backend", os.environ["MUJOCO_GL"])
"""


def _clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in DISPLAY_SETTINGS}


def test_import_envs_renders_without_a_display(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=_clean_environment(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] in ("egl", "osmesa")


@pytest.mark.parametrize(
    "display, preset, expected",
    [
        (None, None, {"egl", "osmesa"}),  # no display: a headless backend
        (":0", None, {None}),  # a display: MuJoCo's own default (GLFW) is left alone
        (None, "glfw", {"glfw"}),  # the user's choice is kept
    ],
)
def test_backend_choice(monkeypatch, display, preset, expected):
    for name in DISPLAY_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    if display:
        monkeypatch.setenv("DISPLAY", display)
    if preset:
        monkeypatch.setenv("MUJOCO_GL", preset)
    headless_rendering_default()
    assert os.environ.get("MUJOCO_GL") in expected
