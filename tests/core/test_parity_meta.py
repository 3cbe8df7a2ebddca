"""Our encoder and predictor reproduce Meta's official code on the reference fixture."""

import numpy as np
import torch

from wm_control.preprocess import to_model_input

TOL = 1e-4


def test_architecture_read_from_shapes(reference):
    data, model = reference
    img, patch, tubelet, enc_w, enc_d, enc_h, pred_w, pred_d, pred_h = data["arch"].tolist()
    enc, pred = model.config.encoder, model.config.predictor
    assert (enc.width, enc.depth, enc.num_heads, enc.patch_size, enc.tubelet_size) == (
        enc_w,
        enc_d,
        enc_h,
        patch,
        tubelet,
    )
    assert (pred.width, pred.depth, pred.num_heads, pred.encoder_width) == (
        pred_w,
        pred_d,
        pred_h,
        enc_w,
    )
    assert enc.image_size == (img, img)


def test_clip_encoding_matches_official(reference):
    data, model = reference
    video = to_model_input(data["frames"][:, :2], model.image_size)  # [2, 3, 2, 64, 64]
    with torch.no_grad():
        tokens = model.encoder(video)
    assert np.abs(tokens.numpy() - data["video_clip_tokens"]).max() <= TOL


def test_frame_encoding_matches_official(reference):
    data, model = reference
    tokens = model.encode(data["frames"])  # [2, 3, 16, 128]
    assert tokens.shape == (2, 3, 16, 128)
    assert np.abs(tokens.flatten(1, 2).numpy() - data["frame_tokens_ln"]).max() <= TOL


def test_encode_accepts_torch_and_single_frames(reference):
    data, model = reference
    one = model.encode(torch.from_numpy(data["frames"][1, 2]))  # [1, 1, 16, 128]
    assert one.shape == (1, 1, 16, 128)
    assert np.abs(one[0, 0].numpy() - data["frame_tokens_ln"][1, 32:48]).max() <= TOL


def test_predictor_matches_official(reference):
    data, model = reference
    tokens = torch.from_numpy(data["frame_tokens_ln"]).unflatten(1, (3, 16))
    with torch.no_grad():
        pred = model.predict(
            tokens, torch.from_numpy(data["actions"]), torch.from_numpy(data["states"])
        )
    assert pred.shape == (2, 3, 16, 128)
    assert np.abs(pred.flatten(1, 2).numpy() - data["pred_tokens_ln"]).max() <= TOL


def test_encoder_is_frozen(reference):
    _, model = reference
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert all(p.requires_grad for p in model.predictor.parameters())
    model.train()
    assert not model.encoder.training and model.predictor.training
    model.eval()
