"""wm-control's own checkpoint format: one self-describing safetensors file.

A checkpoint is a folder holding ``model.safetensors`` (or that file alone). Tensor names are
``encoder.*`` and ``predictor.*``; the safetensors header metadata holds ``format`` = "wm-control",
``format_version``, ``config`` (the WorldModelConfig as JSON) and ``metadata`` (JSON given by the
writer: data config, normalisation stats, training step, the command that made it). Writes are
atomic: a temporary file in the same folder, fsync, rename, fsync of the folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..models.config import WorldModelConfig
from .common import CheckpointError, LoadedCheckpoint

FORMAT = "wm-control"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"


def weights_path(path: Path) -> Path:
    """The safetensors file of a checkpoint given as a folder or as the file itself."""
    return path / WEIGHTS_FILE if path.is_dir() else path


def is_native(path: Path) -> bool:
    file = weights_path(path)
    return file.is_file() and file.suffix == ".safetensors"


def save_native(
    path: Path,
    config: WorldModelConfig,
    state: dict[str, torch.Tensor],
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically; ``path`` is a folder (created) or a ``.safetensors`` file."""
    path = Path(path)
    file = path if path.suffix == ".safetensors" else path / WEIGHTS_FILE
    header = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(config.to_dict()),
        "metadata": json.dumps(metadata or {}, default=str),
    }
    return write_safetensors_atomic(file, state, header)


def write_safetensors_atomic(file: Path, state: dict[str, torch.Tensor], header: dict[str, str]) -> Path:
    """Tensors + string header into ``file``: temporary file in the same folder, fsync, rename,
    fsync of the folder; a crash leaves the old file or the new one, never a partial one."""
    file.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    tmp = file.with_name(f".{file.name}.tmp-{os.getpid()}")
    try:
        save_file(tensors, str(tmp), metadata=header)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, file)
    finally:
        if tmp.exists():
            tmp.unlink()
    dir_fd = os.open(file.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return file


def read_header(path: Path) -> dict[str, str]:
    """The string metadata of a wm-control checkpoint, validated."""
    file = weights_path(Path(path))
    try:
        with safe_open(str(file), framework="pt") as handle:
            header = handle.metadata() or {}
    except Exception as err:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(
            f"{file}: expected a complete safetensors file, could not read it ({type(err).__name__}: {err}); "
            f"the file may be truncated or not a checkpoint"
        ) from err
    if header.get("format") != FORMAT:
        raise CheckpointError(
            f"{file}: expected a safetensors file written by wm-control (metadata format={FORMAT!r}), "
            f"found format={header.get('format')!r}"
        )
    version = int(header.get("format_version", "0"))
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{file}: checkpoint format version {version} is newer than this wm-control reads "
            f"({FORMAT_VERSION}); upgrade wm-control"
        )
    return header


def read_metadata(path: Path) -> dict[str, Any]:
    return json.loads(read_header(path).get("metadata", "{}"))


def load_native(path: Path) -> LoadedCheckpoint:
    file = weights_path(Path(path))
    header = read_header(file)
    config = WorldModelConfig.from_dict(json.loads(header["config"]))
    try:
        with safe_open(str(file), framework="pt") as handle:
            state = {k: handle.get_tensor(k) for k in handle.keys()}
    except Exception as err:
        raise CheckpointError(f"{file}: could not read the tensors ({type(err).__name__}: {err})") from err
    encoder = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    predictor = {k[len("predictor."):]: v for k, v in state.items() if k.startswith("predictor.")}
    other = sorted(k for k in state if not k.startswith(("encoder.", "predictor.")))
    if other:
        raise CheckpointError(f"{file}: unexpected tensors {other[:12]}; expected names 'encoder.*' and 'predictor.*'")
    metadata = json.loads(header.get("metadata", "{}"))
    return LoadedCheckpoint(config, encoder, predictor if config.predictor else None, metadata, "wm-control")
