"""Loading world-model weights from Meta's `.pt` files, Hugging Face folders and our own format."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

from ..models.config import as_image_size
from .common import CheckpointError, LoadedCheckpoint, describe_file
from .hf import is_hf_folder, load_hf_folder
from .meta import load_meta_checkpoint
from .native import is_native, load_native, read_metadata, save_native

__all__ = ["CheckpointError", "LoadedCheckpoint", "load_checkpoint", "read_metadata", "save_native"]


def _is_torch_archive(path: Path) -> bool:
    """Whether ``path`` is a zip archive as ``torch.save`` writes it (with a ``data.pkl``)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("data.pkl") for name in archive.namelist())


def load_checkpoint(
    path: str | Path,
    *,
    encoder_num_heads: int | None = None,
    predictor_num_heads: int | None = None,
    image_size: int | tuple[int, int] | None = None,
    use_extrinsics: bool | None = None,
) -> LoadedCheckpoint:
    """Read any supported checkpoint; the kind is recognised from the path's contents.

    ``use_extrinsics``: whether the AC predictor takes extrinsics tokens. Meta's checkpoints cannot
    tell (None: no, as released); a wm-control checkpoint records it, and a different value given
    here is refused."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"checkpoint {path} does not exist; expected a wm-control checkpoint folder or "
            ".safetensors file, a Meta V-JEPA 2 .pt file or a Hugging Face VJEPA2 folder"
        )
    if path.is_dir() and is_hf_folder(path):
        loaded = load_hf_folder(path, encoder_num_heads=encoder_num_heads, image_size=image_size)
        return _check_extrinsics(loaded, use_extrinsics, path)
    if is_native(path):
        loaded = load_native(path)
        if image_size is not None:  # RoPE has no fixed grid: the encoder may run at another size
            encoder = replace(loaded.config.encoder, image_size=as_image_size(image_size))
            loaded.config = replace(loaded.config, encoder=encoder)
        return _check_extrinsics(loaded, use_extrinsics, path)
    if path.is_dir():
        raise CheckpointError(
            f"{path}: expected a folder with model.safetensors (wm-control) or config.json with "
            "model_type 'vjepa2' (Hugging Face), found "
            f"{sorted(p.name for p in path.iterdir())[:12]}"
        )
    if not _is_torch_archive(path):
        raise CheckpointError(
            f"{path}: expected a checkpoint: a Meta V-JEPA 2 .pt file (a torch.save zip archive), "
            "a wm-control .safetensors file or folder, or a Hugging Face VJEPA2 folder; found "
            f"{describe_file(path)}"
        )
    return load_meta_checkpoint(
        path,
        encoder_num_heads=encoder_num_heads,
        predictor_num_heads=predictor_num_heads,
        image_size=image_size,
        use_extrinsics=bool(use_extrinsics),
    )


def _check_extrinsics(
    loaded: LoadedCheckpoint, use_extrinsics: bool | None, path: Path
) -> LoadedCheckpoint:
    """A checkpoint that records whether its predictor takes extrinsics, against the caller's
    choice."""
    predictor = loaded.config.predictor
    if use_extrinsics is None or predictor is None and not use_extrinsics:
        return loaded
    if predictor is None:
        raise CheckpointError(
            f"{path}: use_extrinsics=True was given, but this checkpoint has no AC predictor"
        )
    if predictor.use_extrinsics != use_extrinsics:
        raise CheckpointError(
            f"{path}: use_extrinsics={use_extrinsics} was given, but this checkpoint records "
            f"use_extrinsics={predictor.use_extrinsics}; leave it out to use the recorded value"
        )
    return loaded
