"""The small random world model the predictor tests share."""

from __future__ import annotations

import dataclasses

import torch

from wm_control import WorldModel
from wm_control.models.config import WorldModelConfig
from wm_control.models.presets import encoder_preset, predictor_preset


def mini_world_model(depth: int | None = None) -> WorldModel:
    """``vit_tiny`` encoder + ``ac_mini`` predictor (``depth`` blocks if given), weights drawn
    after ``torch.manual_seed(0)``, in eval mode."""
    torch.manual_seed(0)
    encoder = encoder_preset("vit_tiny")
    predictor = predictor_preset("ac_mini", encoder)
    if depth is not None:
        predictor = dataclasses.replace(predictor, depth=depth)
    return WorldModel(WorldModelConfig(encoder=encoder, predictor=predictor)).eval()
