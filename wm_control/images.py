"""Reading goal and observation images from files, with errors that say what went wrong."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def read_rgb_image(path: str | Path) -> np.ndarray:
    """An image file (PNG, JPEG, …) as uint8 RGB ``[H, W, 3]`` (alpha dropped, grey expanded)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"image {path} does not exist or is not a file; expected a PNG or JPEG image")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"image {path}: could not decode it as an image; expected a PNG or JPEG file")
    if image.dtype != np.uint8:
        raise ValueError(f"image {path}: expected 8-bit pixels, found {image.dtype}; convert it to 8-bit RGB")
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
        raise ValueError(f"write_rgb_image: expected uint8 [H, W, 3], found {image.dtype} {image.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write image {path}")
    return path
