"""Headless rendering: choose MuJoCo's OpenGL backend before MuJoCo is imported.

MuJoCo reads ``MUJOCO_GL`` once, when ``import mujoco`` runs. Without a display its default (GLFW)
cannot open a context and rendering aborts the process, so ``import envs`` calls
:func:`headless_rendering_default` before any task imports MuJoCo (the ``wm-control`` and
``sim_arm`` entry points call it too, first thing). It only fills in what is unset: a display, or a
``MUJOCO_GL`` chosen by the user, is left as it is. This module imports nothing from MuJoCo.
"""

from __future__ import annotations

import ctypes.util
import os

DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY")


def headless_backend() -> str:
    """``egl`` (GPU or Mesa) when the EGL library is installed, else ``osmesa`` (pure software)
    when OSMesa is; ``egl`` when neither is, so that MuJoCo's error names the library to install."""
    if ctypes.util.find_library("EGL") is None and ctypes.util.find_library("OSMesa") is not None:
        return "osmesa"
    return "egl"


def headless_rendering_default() -> str:
    """Without a display and with ``MUJOCO_GL`` unset, select :func:`headless_backend` for MuJoCo
    (and PyOpenGL); returns the backend MuJoCo will use (``glfw`` when a display is present)."""
    has_display = any(os.environ.get(name) for name in DISPLAY_VARIABLES)
    if "MUJOCO_GL" not in os.environ and not has_display:
        backend = headless_backend()
        os.environ["MUJOCO_GL"] = backend
        os.environ.setdefault("PYOPENGL_PLATFORM", backend)
    return os.environ.get("MUJOCO_GL", "glfw")
