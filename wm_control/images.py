"""Reading goal and observation images from files, with errors that say what went wrong."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

MAX_UPSCALE = 4
"""An input image is resized to the model's input; it may be enlarged at most this many times per
side (a 1×1 goal image would otherwise be blown up into a uniform frame and planned toward)."""


def read_rgb_image(path: str | Path) -> np.ndarray:
    """An image file (PNG, JPEG, …) as uint8 RGB ``[H, W, 3]`` (alpha dropped, grey expanded)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"image {path} does not exist or is not a file; expected a PNG or JPEG image"
        )
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(
            f"image {path}: could not decode it as an image; expected a PNG or JPEG file"
        )
    if image.dtype != np.uint8:
        raise ValueError(
            f"image {path}: expected 8-bit pixels, found {image.dtype}; convert it to 8-bit RGB"
        )
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    else:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image)


def write_rgb_image(path: str | Path, image: np.ndarray) -> Path:
    """Write a uint8 RGB ``[H, W, 3]`` image (format from the suffix)."""
    path = Path(path)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"write_rgb_image: expected uint8 [H, W, 3], found {image.dtype} {image.shape}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write image {path}")
    return path


def check_image_size(image: np.ndarray, name: str, model_size: tuple[int, int]) -> None:
    """Refuse an image ``[H, W, 3]`` whose shorter side is below the model input's shorter side
    divided by :data:`MAX_UPSCALE` (``name`` says which input it is, e.g. ``goal``)."""
    height, width = image.shape[:2]
    need = math.ceil(min(model_size) / MAX_UPSCALE)
    if min(height, width) < need:
        raise ValueError(
            f"{name}: image of {height}x{width} px is too small for the model's "
            f"{model_size[0]}x{model_size[1]} px input; expected a shorter side of at least "
            f"{need} px (images are enlarged at most {MAX_UPSCALE}x)"
        )
