"""Import Meta's official V-JEPA 2 / V-JEPA 2-AC ``.pt`` checkpoints through an explicit key map.

Layouts handled:
- AC checkpoints (``vjepa2-ac-vitg.pt``): ``target_encoder`` (the EMA encoder the predictor was
  trained on) and an action-conditioned ``predictor``; prefixes ``module.``/``backbone.`` stripped.
- Pretraining checkpoints (``vitl.pt`` …): ``encoder`` (its masked-prediction ``predictor`` is not
  an AC predictor and is left out, explicitly).
- A bare encoder state dict.
The unused ``pos_embed`` is ignored explicitly; every other key must match.

Facts the tensors cannot tell, taken as Meta's own code builds the model:
- Extrinsics: an AC predictor always holds ``extrinsics_encoder`` weights, trained with
  extrinsics or not (the released ``vjepa2-ac-vitg.pt`` was not); ``use_extrinsics`` says which,
  off by default.
- Predictor grid: Meta builds the predictor for the same crop size as the encoder, so the
  predictor's ``image_size`` is the encoder's (``image_size``, 256 px by default) and its RoPE
  positions are not rescaled for square inputs (for non-square ones the column indices are, by
  rows / columns).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..models.config import EncoderConfig, PredictorConfig, WorldModelConfig, as_image_size
from ..models.presets import heads_for_width
from .common import CheckpointError, LoadedCheckpoint, count_blocks, require, strip_prefixes

PREFIXES = ("module.", "backbone.")
IGNORED = ("pos_embed",)


def load_meta_checkpoint(
    path: Path,
    *,
    encoder_num_heads: int | None,
    predictor_num_heads: int | None,
    image_size: int | tuple[int, int] | None,
    use_extrinsics: bool = False,
) -> LoadedCheckpoint:
    source = str(path)
    raw = _torch_load(path)
    encoder_raw, predictor_raw, layout = _split(raw, source)
    encoder_state = {
        k: v for k, v in strip_prefixes(encoder_raw, PREFIXES).items() if k not in IGNORED
    }
    size = as_image_size(image_size if image_size is not None else 256)
    encoder_cfg = encoder_config_from_state(encoder_state, encoder_num_heads, size, source=source)
    predictor_state = None
    predictor_cfg = None
    if predictor_raw is not None:
        predictor_state = strip_prefixes(predictor_raw, PREFIXES)
        predictor_cfg = predictor_config_from_state(
            predictor_state,
            predictor_num_heads,
            size,
            patch_size=encoder_cfg.patch_size,
            source=source,
            use_extrinsics=use_extrinsics,
        )
    elif use_extrinsics:
        raise CheckpointError(
            f"{source}: use_extrinsics=True, but this {layout} checkpoint has no AC predictor"
        )
    config = WorldModelConfig(encoder=encoder_cfg, predictor=predictor_cfg)
    return LoadedCheckpoint(
        config, encoder_state, predictor_state, {"imported_from": layout}, "meta"
    )


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # torch raises several types for non-checkpoint files
        raise CheckpointError(
            f"{path}: expected a PyTorch checkpoint (torch.save zip file) of V-JEPA 2 weights, "
            f"a wm-control checkpoint (.safetensors or a folder holding model.safetensors) or a "
            f"Hugging Face VJEPA2 folder; torch.load failed with: {type(err).__name__}: {err}"
        ) from err


def _split(raw: Any, source: str) -> tuple[dict, dict | None, str]:
    """(encoder state, AC predictor state or None, layout name) of a loaded checkpoint object."""
    if not isinstance(raw, dict):
        raise CheckpointError(f"{source}: expected a dict of weights, found {type(raw).__name__}")
    predictor = raw.get("predictor")
    is_ac = isinstance(predictor, dict) and any(
        k.endswith("action_encoder.weight") for k in predictor
    )
    if is_ac:
        encoder = raw.get("target_encoder", raw.get("encoder"))
        if not isinstance(encoder, dict):
            raise CheckpointError(
                f"{source}: an AC checkpoint needs 'target_encoder' or 'encoder' weights"
            )
        return encoder, predictor, "meta-ac"
    if isinstance(raw.get("encoder"), dict):
        return raw["encoder"], None, "meta-pretrain"
    if any(k.endswith("patch_embed.proj.weight") for k in raw):
        return raw, None, "meta-encoder-state-dict"
    raise CheckpointError(
        f"{source}: expected Meta's layout (keys 'encoder'/'target_encoder'/'predictor', or an "
        "encoder state dict with 'patch_embed.proj.weight'), found top-level keys "
        f"{sorted(map(str, raw))[:12]}"
    )


def encoder_config_from_state(
    state: dict[str, torch.Tensor],
    num_heads: int | None,
    image_size: tuple[int, int],
    *,
    source: str,
) -> EncoderConfig:
    """Encoder architecture read from tensor shapes (heads from presets or ``num_heads``)."""
    proj = require(
        state, "patch_embed.proj.weight", source=source, part="encoder"
    )  # [D, 3, tubelet, p, p]
    width = int(proj.shape[0])
    depth = count_blocks(state, "blocks.")
    if depth == 0:
        raise CheckpointError(f"{source}: expected encoder blocks 'blocks.0.…', found none")
    fc1 = require(state, "blocks.0.mlp.fc1.weight", source=source, part="encoder")
    try:
        heads = heads_for_width(width, num_heads, part="encoder")
    except ValueError as err:
        raise CheckpointError(f"{source}: {err}") from err
    return EncoderConfig(
        width=width,
        depth=depth,
        num_heads=heads,
        mlp_hidden=int(fc1.shape[0]),
        image_size=image_size,
        patch_size=int(proj.shape[-1]),
        tubelet_size=int(proj.shape[2]),
    )


def predictor_config_from_state(
    state: dict[str, torch.Tensor],
    num_heads: int | None,
    image_size: tuple[int, int],
    *,
    patch_size: int,
    source: str,
    use_extrinsics: bool = False,
) -> PredictorConfig:
    """AC predictor architecture read from tensor shapes (heads from presets or ``num_heads``);
    whether it takes extrinsics tokens is ``use_extrinsics`` (the weights are there either way)."""
    embed = require(state, "predictor_embed.weight", source=source, part="predictor")  # [W, D_enc]
    width = int(embed.shape[0])
    depth = count_blocks(state, "predictor_blocks.")
    fc1 = require(state, "predictor_blocks.0.mlp.fc1.weight", source=source, part="predictor")
    action = require(state, "action_encoder.weight", source=source, part="predictor")
    st = require(state, "state_encoder.weight", source=source, part="predictor")
    ext = require(state, "extrinsics_encoder.weight", source=source, part="predictor")
    try:
        heads = heads_for_width(width, num_heads, part="predictor")
    except ValueError as err:
        raise CheckpointError(f"{source}: {err}") from err
    return PredictorConfig(
        width=width,
        depth=depth,
        num_heads=heads,
        mlp_hidden=int(fc1.shape[0]),
        encoder_width=int(embed.shape[1]),
        image_size=image_size,
        patch_size=patch_size,
        action_dim=int(action.shape[1]),
        state_dim=int(st.shape[1]),
        extrinsics_dim=int(ext.shape[1]),
        use_extrinsics=use_extrinsics,
    )
