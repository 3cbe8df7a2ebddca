"""Offscreen camera rendering tuned for CPU rasterisers (EGL on Mesa llvmpipe, or OSMesa).

Shadows, reflections and the skybox are switched off (the MJCF also sets ``offsamples=0``, i.e. no
multisampling): with MuJoCo's default visuals the shadow map alone caps CPU rendering near
30 frames/s at any size. The OpenGL backend is chosen by MuJoCo from ``MUJOCO_GL``.
"""

from __future__ import annotations

import mujoco
import numpy as np

_DISABLED_FLAGS = (
    mujoco.mjtRndFlag.mjRND_SHADOW,
    mujoco.mjtRndFlag.mjRND_REFLECTION,
    mujoco.mjtRndFlag.mjRND_SKYBOX,
)


class CameraRenderer:
    """One ``mujoco.Renderer`` of size ``image_size`` x ``image_size`` shared by all cameras.

    Created lazily on the first :meth:`render` so that building an environment does not need an
    OpenGL context; :meth:`close` frees the context (call it before the process exits).
    """

    def __init__(self, model: mujoco.MjModel, image_size: int) -> None:
        self._model = model
        self._image_size = image_size
        self._renderer: mujoco.Renderer | None = None

    def render(self, data: mujoco.MjData, camera: str) -> np.ndarray:
        """RGB image (image_size, image_size, 3) uint8 of ``camera`` for the current ``data``."""
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self._model, self._image_size, self._image_size)
            for flag in _DISABLED_FLAGS:
                self._renderer.scene.flags[flag] = 0
        self._renderer.update_scene(data, camera=camera)
        return self._renderer.render()

    def close(self) -> None:
        """Free the OpenGL context; the renderer can still be used again afterwards."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
