"""Import the encoder of a Hugging Face ``transformers`` VJEPA2 model folder (``save_pretrained``).

Key map (HF → ours): ``encoder.embeddings.patch_embeddings.proj`` → ``patch_embed.proj``;
``encoder.layer.{i}.attention.{query,key,value}`` → ``blocks.{i}.attn.qkv`` (stacked in that
order); ``encoder.layer.{i}.attention.proj`` → ``blocks.{i}.attn.proj``; ``norm1``/``norm2``/
``mlp.fc1``/``mlp.fc2`` keep their names; ``encoder.layernorm`` → ``norm``. The masked-prediction
``predictor.*`` and a classification ``pooler.*``/``classifier.*`` are not part of the encoder and
are left out explicitly; any other unknown key is an error.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from ..models.config import EncoderConfig, WorldModelConfig, as_image_size
from .common import CheckpointError, LoadedCheckpoint
from .meta import encoder_config_from_state

NOT_ENCODER = ("predictor.", "pooler.", "classifier.")


def is_hf_folder(path: Path) -> bool:
    config = path / "config.json"
    if not config.is_file():
        return False
    try:
        return json.loads(config.read_text()).get("model_type") == "vjepa2"
    except (json.JSONDecodeError, OSError):
        return False


def load_hf_folder(
    path: Path, *, encoder_num_heads: int | None, image_size: int | tuple[int, int] | None
) -> LoadedCheckpoint:
    source = str(path)
    hf_config = json.loads((path / "config.json").read_text())
    raw = _read_weights(path)
    state = {k.removeprefix("vjepa2."): v for k, v in raw.items()}
    encoder_state = _map_keys(state, source)
    heads = (
        encoder_num_heads if encoder_num_heads is not None else hf_config.get("num_attention_heads")
    )
    size = as_image_size(image_size if image_size is not None else hf_config.get("crop_size", 256))
    cfg = encoder_config_from_state(encoder_state, heads, size, source=source)
    cfg = EncoderConfig(
        **{**cfg.to_dict(), "norm_eps": float(hf_config.get("layer_norm_eps", 1e-6))}
    )
    return LoadedCheckpoint(
        WorldModelConfig(encoder=cfg), encoder_state, None, {"imported_from": "huggingface"}, "hf"
    )


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    single = path / "model.safetensors"
    index = path / "model.safetensors.index.json"
    if single.is_file():
        return load_file(str(single))
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        out: dict[str, torch.Tensor] = {}
        for shard in shards:
            out.update(load_file(str(path / shard)))
        return out
    bin_file = path / "pytorch_model.bin"
    if bin_file.is_file():
        return torch.load(bin_file, map_location="cpu", weights_only=True)
    raise CheckpointError(
        f"{path}: a Hugging Face VJEPA2 folder needs model.safetensors, "
        "model.safetensors.index.json or pytorch_model.bin; found "
        f"{sorted(p.name for p in path.iterdir())}"
    )


def _map_keys(state: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    qkv: dict[int, dict[str, dict[str, torch.Tensor]]] = {}
    unknown = []
    for key, value in state.items():
        if key.startswith(NOT_ENCODER):
            continue
        if key.startswith("encoder.embeddings.patch_embeddings.proj."):
            out["patch_embed.proj." + key.rsplit(".", 1)[1]] = value
        elif key.startswith("encoder.layernorm."):
            out["norm." + key.rsplit(".", 1)[1]] = value
        elif key.startswith("encoder.layer."):
            index_str, rest = key[len("encoder.layer.") :].split(".", 1)
            index = int(index_str)
            if rest.startswith("attention.") and rest.split(".")[1] in ("query", "key", "value"):
                _, which, param = rest.split(".")
                qkv.setdefault(index, {}).setdefault(param, {})[which] = value
            elif rest.startswith("attention.proj."):
                out[f"blocks.{index}.attn.proj.{rest.rsplit('.', 1)[1]}"] = value
            else:
                out[f"blocks.{index}.{rest}"] = value
        else:
            unknown.append(key)
    if unknown:
        raise CheckpointError(
            f"{source}: unexpected keys in the Hugging Face weights: {sorted(unknown)[:12]}"
        )
    for index, params in qkv.items():
        for param, parts in params.items():
            if set(parts) != {"query", "key", "value"}:
                raise CheckpointError(
                    f"{source}: layer {index} {param}: expected query, key and value, found "
                    f"{sorted(parts)}"
                )
            out[f"blocks.{index}.attn.qkv.{param}"] = torch.cat(
                [parts["query"], parts["key"], parts["value"]], 0
            )
    return out
