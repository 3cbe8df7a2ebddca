"""A Hugging Face transformers VJEPA2 folder loads through from_pretrained with the same outputs."""

import torch
from transformers import VJEPA2Config, VJEPA2Model

from wm_control import WorldModel


def test_hf_folder_encoder_output_reproduced(tmp_path):
    torch.manual_seed(0)
    config = VJEPA2Config(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        crop_size=64,
        patch_size=16,
        frames_per_clip=4,
        pred_hidden_size=32,
        pred_num_hidden_layers=1,
        pred_num_attention_heads=4,
    )
    hf = VJEPA2Model(config).eval()
    with torch.no_grad():  # random weights with non-trivial norms
        for name, param in hf.named_parameters():
            param.add_(0.05 * torch.randn_like(param))
    hf.save_pretrained(tmp_path)

    model = WorldModel.from_pretrained(tmp_path)
    assert model.predictor is None
    assert (
        model.config.encoder.width,
        model.config.encoder.depth,
        model.config.encoder.num_heads,
    ) == (64, 2, 4)
    assert model.image_size == (64, 64)

    video = torch.randn(2, 4, 3, 64, 64)  # HF layout [B, T, C, H, W]
    with torch.no_grad():
        expected = hf(pixel_values_videos=video, skip_predictor=True).last_hidden_state
        ours = model.encoder(video.permute(0, 2, 1, 3, 4))  # [B, C, T, H, W]
    assert ours.shape == expected.shape == (2, 32, 64)
    assert (ours - expected).abs().max().item() <= 1e-4
