"""Headless rendering: choose MuJoCo's OpenGL backend before MuJoCo is imported.

MuJoCo reads ``MUJOCO_GL`` once, when ``import mujoco`` runs. Without a display the default (GLFW)
cannot open a context, so entry points that render (``wm-control``, the ``sim_arm`` ROS node) call
:func:`headless_rendering_default` before importing it. This module imports nothing from MuJoCo.
"""

from __future__ import annotations

import os


def headless_rendering_default() -> str:
    """Use EGL for MuJoCo when there is no display and ``MUJOCO_GL`` is unset; returns the backend
    (``osmesa`` in ``MUJOCO_GL`` selects pure software rendering)."""
    if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
        os.environ["MUJOCO_GL"] = "egl"
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    return os.environ.get("MUJOCO_GL", "glfw")
