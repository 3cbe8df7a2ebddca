"""encode: input validation and preprocessing (crop, resize, normalisation)."""

import numpy as np
import pytest
import torch

from wm_control import WorldModel
from wm_control.models.config import WorldModelConfig
from wm_control.models.presets import encoder_preset
from wm_control.preprocess import IMAGENET_MEAN, IMAGENET_STD, center_crop_box, to_model_input


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return WorldModel(WorldModelConfig(encoder=encoder_preset("vit_tiny")))


def test_shapes_of_all_input_ranks(model):
    rng = np.random.default_rng(0)
    N, D = model.tokens_per_frame, model.token_dim
    assert model.encode(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).shape == (1, 1, N, D)
    assert model.encode(rng.integers(0, 255, (5, 64, 64, 3), dtype=np.uint8)).shape == (1, 5, N, D)
    assert model.encode(rng.integers(0, 255, (2, 3, 64, 64, 3), dtype=np.uint8)).shape == (
        2,
        3,
        N,
        D,
    )


def test_tokens_are_layer_normed(model):
    frames = np.random.default_rng(1).integers(0, 255, (2, 64, 64, 3), dtype=np.uint8)
    tokens = model.encode(frames)
    assert torch.allclose(tokens.mean(-1), torch.zeros(()), atol=1e-5)
    assert torch.allclose(tokens.var(-1, unbiased=False), torch.ones(()), atol=1e-3)


def test_wrong_dtype_and_shape_rejected(model):
    with pytest.raises(TypeError, match="expected uint8 RGB pixels.*float32"):
        model.encode(np.zeros((64, 64, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"channels last\), found \(3, 64, 64\)"):
        model.encode(np.zeros((3, 64, 64), dtype=np.uint8))
    with pytest.raises(ValueError, match="found"):
        model.encode(np.zeros((1, 1, 1, 64, 64, 3), dtype=np.uint8))
    with pytest.raises(TypeError, match="numpy array or torch tensor"):
        model.encode([[0, 0, 0]])


def test_any_size_is_cropped_and_resized(model):
    rng = np.random.default_rng(2)
    wide = rng.integers(0, 255, (48, 96, 3), dtype=np.uint8)
    tokens = model.encode(wide)
    assert tokens.shape == (1, 1, 16, 64)
    # the centre square of a wide frame is what gets encoded
    assert torch.allclose(tokens, model.encode(np.ascontiguousarray(wide[:, 24:72])), atol=1e-6)
    assert center_crop_box(48, 96, (64, 64)) == (0, 24, 48, 48)
    assert center_crop_box(100, 50, (32, 64)) == (37, 0, 25, 50)


def test_normalisation_in_uint8_units():
    grey = np.full((16, 16, 3), 128, dtype=np.uint8)
    x = to_model_input(grey, (16, 16))
    expected = [(128 - m * 255) / (s * 255) for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]
    assert x.shape == (1, 3, 1, 16, 16)
    assert torch.allclose(x[0, :, 0, 0, 0], torch.tensor(expected), atol=1e-6)


def test_clip_encoding_needs_whole_tubelets(model):
    video = np.zeros((3, 64, 64, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="divisible by 2"):
        model.encode_clip(video)
    assert model.encode_clip(np.zeros((4, 64, 64, 3), dtype=np.uint8)).shape == (1, 2, 16, 64)
