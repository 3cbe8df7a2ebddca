"""The AC predictor against Meta's code where the base fixture is silent: extrinsics tokens, and
RoPE positions rescaled to a predictor grid other than the input grid (fixture made by
``tests/fixtures/make_ac_variants.py`` with Meta's ``vit_ac_predictor``)."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest
import torch

from wm_control import WorldModel
from wm_control.checkpoints import CheckpointError
from wm_control.models.predictor import ACPredictor
from wm_control.world_model import layer_norm

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
CHECKPOINT = os.path.join(FIXTURES, "vjepa2_tiny_official.pt")
TOL = 1e-4


@pytest.fixture(scope="module")
def variants():
    return np.load(os.path.join(FIXTURES, "vjepa2_tiny_ac_variants.npz"))


def _load(**kwargs) -> WorldModel:
    return WorldModel.from_pretrained(
        CHECKPOINT, encoder_num_heads=4, predictor_num_heads=4, **kwargs
    )


def _inputs(data, tokens: np.ndarray, per_frame: int):
    tokens = torch.from_numpy(tokens).unflatten(1, (3, per_frame))  # [2, 3, N, 128]
    return tokens, torch.from_numpy(data["actions"]), torch.from_numpy(data["states"])


def test_extrinsics_match_official(reference, variants):
    data, _ = reference
    model = _load(image_size=64, use_extrinsics=True)
    assert model.config.predictor.use_extrinsics and model.config.predictor.condition_tokens == 3
    tokens, actions, states = _inputs(data, data["frame_tokens_ln"], 16)
    with torch.no_grad():
        pred = model.predict(tokens, actions, states, torch.from_numpy(variants["extrinsics"]))
    assert np.abs(pred.flatten(1, 2).numpy() - variants["pred_extrinsics_ln"]).max() <= TOL


def test_rollout_with_extrinsics_matches_teacher_forcing(reference, variants):
    data, _ = reference
    model = _load(image_size=64, use_extrinsics=True)
    tokens, actions, states = _inputs(data, data["frame_tokens_ln"], 16)
    extrinsics = torch.from_numpy(variants["extrinsics"])
    with torch.no_grad():
        out = model.rollout(
            tokens[:, :1], states[:, :1], actions[:, :1], extrinsics=extrinsics[:, :1]
        )
    assert np.abs(out.tokens[:, 0].numpy() - variants["pred_extrinsics_ln"][:, :16]).max() <= TOL


def test_extrinsics_the_model_would_ignore_are_refused(reference, variants):
    data, model = reference  # loaded without use_extrinsics, as Meta's release is used
    assert not model.config.predictor.use_extrinsics
    tokens, actions, states = _inputs(data, data["frame_tokens_ln"], 16)
    extrinsics = torch.from_numpy(variants["extrinsics"])
    with pytest.raises(ValueError, match="would ignore them.*use_extrinsics=True"):
        model.predict(tokens, actions, states, extrinsics)
    with pytest.raises(ValueError, match="would ignore them"):
        model.rollout(tokens[:, :1], states[:, :1], actions[:, :1], extrinsics=extrinsics[:, :1])
    with pytest.raises(ValueError, match="expected extrinsics"):
        _load(image_size=64, use_extrinsics=True).predict(tokens, actions, states)


def test_recorded_extrinsics_setting_is_kept(tmp_path):
    _load(image_size=64).save_pretrained(tmp_path / "model")
    assert not WorldModel.from_pretrained(tmp_path / "model").config.predictor.use_extrinsics
    with pytest.raises(CheckpointError, match="records use_extrinsics=False"):
        WorldModel.from_pretrained(tmp_path / "model", use_extrinsics=True)


def test_meta_import_builds_the_predictor_for_the_encoders_image_size():
    """As Meta's code builds both for one crop size: a 64×96 import gives a 4×6 predictor grid."""
    model = _load(image_size=(64, 96))
    assert model.config.predictor.image_size == model.config.encoder.image_size == (64, 96)
    assert _load().config.predictor.image_size == (256, 256)  # the released size by default


def test_non_square_grid_matches_official(reference, variants):
    """Meta rescales column positions by grid height / columns (4/6) for a 4×6 grid."""
    data, _ = reference
    model = _load(image_size=(64, 96))
    tokens, actions, states = _inputs(data, variants["tokens_4x6_ln"], 24)
    with torch.no_grad():
        pred = model.predict(tokens, actions, states)
    assert np.abs(pred.flatten(1, 2).numpy() - variants["pred_4x6_ln"]).max() <= TOL


def test_predictor_grid_other_than_input_grid_matches_official(reference, variants):
    """A predictor configured for a 6×6 grid on 4×4 inputs: rows and columns rescaled by 6/4."""
    data, model = reference
    predictor = ACPredictor(replace(model.config.predictor, image_size=(96, 96)))
    predictor.load_state_dict(model.predictor.state_dict())
    tokens, actions, states = _inputs(data, data["frame_tokens_ln"], 16)
    with torch.no_grad():
        pred = layer_norm(predictor.eval()(tokens, actions, states, grid=(4, 4)))
    assert np.abs(pred.flatten(1, 2).numpy() - variants["pred_grid6_ln"]).max() <= TOL
