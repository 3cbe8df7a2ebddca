"""Camera frames (uint8 RGB, any size) → normalised encoder input, as V-JEPA 2-AC's pipeline does
it.

Frames are centre-cropped to the model's aspect ratio, resized bilinearly to the model input size,
and normalised with ImageNet statistics in uint8 units: ``(x − mean·255) / (std·255)``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PREPROCESSING_ID = "center-crop+bilinear+imagenet-uint8-v1"  # part of the token-cache key


def as_frame_batch(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Validate frames and return them as a uint8 tensor ``[B, T, H, W, 3]``.

    Accepts ``[H, W, 3]``, ``[T, H, W, 3]`` or ``[B, T, H, W, 3]`` uint8 RGB (numpy or torch).
    """
    if isinstance(frames, np.ndarray):
        if frames.dtype != np.uint8:
            raise TypeError(
                f"frames: expected uint8 RGB pixels (0-255), found numpy dtype {frames.dtype}"
            )
        frames = torch.from_numpy(np.ascontiguousarray(frames))
    elif isinstance(frames, torch.Tensor):
        if frames.dtype != torch.uint8:
            raise TypeError(
                f"frames: expected uint8 RGB pixels (0-255), found torch dtype {frames.dtype}"
            )
    else:
        raise TypeError(
            "frames: expected a numpy array or torch tensor of uint8, found "
            f"{type(frames).__name__}"
        )
    if frames.dim() not in (3, 4, 5) or frames.shape[-1] != 3:
        raise ValueError(
            "frames: expected shape [H, W, 3], [T, H, W, 3] or [B, T, H, W, 3] (RGB, channels "
            f"last), found {tuple(frames.shape)}"
        )
    if frames.shape[-2] == 0 or frames.shape[-3] == 0:
        raise ValueError(f"frames: expected a non-empty image, found shape {tuple(frames.shape)}")
    while frames.dim() < 5:
        frames = frames.unsqueeze(0)
    return frames


def center_crop_box(height: int, width: int, target: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, left, crop height, crop width) of the largest centred crop with ``target``'s aspect
    ratio."""
    th, tw = target
    if height * tw > width * th:  # too tall
        ch, cw = max(1, round(width * th / tw)), width
    else:
        ch, cw = height, max(1, round(height * tw / th))
    return (height - ch) // 2, (width - cw) // 2, ch, cw


def to_model_input(
    frames: np.ndarray | torch.Tensor,
    image_size: tuple[int, int],
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """uint8 frames ``[H,W,3] | [T,H,W,3] | [B,T,H,W,3]`` → normalised float ``[B, 3, T, h, w]``."""
    batch = as_frame_batch(frames).to(device)  # [B, T, H, W, 3]
    B, T, H, W, _ = batch.shape
    top, left, ch, cw = center_crop_box(H, W, image_size)
    x = (
        batch[:, :, top : top + ch, left : left + cw].permute(0, 1, 4, 2, 3).flatten(0, 1).float()
    )  # [B·T, 3, ch, cw]
    if (ch, cw) != tuple(image_size):
        x = F.interpolate(x, size=image_size, mode="bilinear", align_corners=False)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1) * 255.0
    x = (x - mean) / std
    return x.unflatten(0, (B, T)).permute(0, 2, 1, 3, 4).to(dtype)  # [B, 3, T, h, w]
