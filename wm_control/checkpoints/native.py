"""wm-control's own checkpoint format: one self-describing safetensors file.

A checkpoint is a folder holding ``model.safetensors`` (or that file alone). Tensor names are
``encoder.*`` and ``predictor.*``; the safetensors header metadata holds ``format`` = "wm-control",
``format_version``, ``config`` (the WorldModelConfig as JSON) and ``metadata`` (JSON given by the
writer: data config, normalisation stats, training step, the command that made it) and
``weights_sha256``, a checksum of every tensor's name, dtype, shape and bytes. Loading recomputes
the checksum and refuses a file whose weights changed since they were written (a disk or copy
error that keeps the size). Files of format version 1 (before checksums, e.g. the shipped model of
release 1) carry none and load unverified; from version 2 the checksum is required. Writes are
atomic: a temporary file in the same folder, fsync, rename, fsync of the folder; the file gets the
user's umask permissions.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..data.atomic import fsync_path, follow_umask
from ..models.config import WorldModelConfig
from .common import CheckpointError, LoadedCheckpoint, describe_file

FORMAT = "wm-control"
FORMAT_VERSION = 2
CHECKSUM_SINCE = 2  # the first format version whose files carry ``weights_sha256``
WEIGHTS_FILE = "model.safetensors"
CHECKSUM_KEY = "weights_sha256"


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


def tensors_sha256(state: dict[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order: independent of how
    safetensors lays the tensors out in the file."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def write_safetensors_atomic(
    file: Path, state: dict[str, torch.Tensor], header: dict[str, str]
) -> Path:
    """Tensors + string header (plus their ``weights_sha256``) into ``file``: temporary file in the
    same folder, fsync, rename, fsync of the folder; a crash leaves the old file or the new one,
    never a partial one."""
    file.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    header = {**header, CHECKSUM_KEY: tensors_sha256(tensors)}
    tmp = file.with_name(f".{file.name}.tmp-{os.getpid()}")
    try:
        save_file(tensors, str(tmp), metadata=header)
        follow_umask(tmp)  # safetensors creates its file private (0600)
        fsync_path(tmp)
        os.replace(tmp, file)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_path(file.parent)
    return file


def verify_tensors(file: Path, header: dict[str, str], state: dict[str, torch.Tensor]) -> None:
    """Refuse tensors whose checksum differs from the one ``file`` recorded when it was written;
    files older than checksums (format version 1) have none to compare."""
    version = int(header.get("format_version", "0"))
    recorded = header.get(CHECKSUM_KEY)
    if recorded is None:
        if version >= CHECKSUM_SINCE:
            raise CheckpointError(
                f"{file}: expected a weights checksum ({CHECKSUM_KEY}) in a format version "
                f"{version} checkpoint, found none; the file was altered after it was written"
            )
        return
    found = tensors_sha256(state)
    if found != recorded:
        raise CheckpointError(
            f"{file} is corrupt: its weights do not match the checksum recorded when it was saved "
            f"(sha256 {recorded[:16]}…, found {found[:16]}…); the file was damaged on disk or in "
            f"a copy: copy it again, or use an earlier checkpoint"
        )


def read_safetensors(path: Path, expected: str) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """The header and tensors of a safetensors file holding ``expected`` (words for the error),
    its checksum verified where it carries one (see :func:`verify_tensors`)."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as err:  # safetensors raises its own error types
        raise CheckpointError(f"{path}: expected {expected}, could not read it ({err})") from err
    verify_tensors(Path(path), header, state)
    return header, state


def read_header(path: Path) -> dict[str, str]:
    """The string metadata of a wm-control checkpoint, validated."""
    file = weights_path(Path(path))
    try:
        with safe_open(str(file), framework="pt") as handle:
            header = handle.metadata() or {}
    except Exception as err:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(
            f"{file}: expected a wm-control checkpoint (a complete safetensors file), found "
            f"{_describe_safetensors(file)}; safetensors says: {err}"
        ) from err
    if header.get("format") != FORMAT:
        raise CheckpointError(
            f"{file}: expected a safetensors file written by wm-control (metadata "
            f"format={FORMAT!r}), found format={header.get('format')!r}"
        )
    version = int(header.get("format_version", "0"))
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{file}: checkpoint format version {version} is newer than this wm-control reads "
            f"({FORMAT_VERSION}); upgrade wm-control"
        )
    return header


def _describe_safetensors(file: Path) -> str:
    """What a safetensors file that does not open holds: a truncated one (fewer bytes than its
    header describes) or something else entirely (see :func:`describe_file`)."""
    size = file.stat().st_size
    with open(file, "rb") as handle:
        length = int.from_bytes(handle.read(8), "little")
        if 2 <= length <= size - 8:
            try:
                entries = json.loads(handle.read(length))
                end = max(
                    (e["data_offsets"][1] for k, e in entries.items() if k != "__metadata__"),
                    default=0,
                )
            except (ValueError, KeyError, TypeError, AttributeError, IndexError):
                end = None
            if end is not None and 8 + length + end > size:
                return (
                    f"{size} bytes where its header describes {8 + length + end}: the file is "
                    f"truncated (an interrupted copy or download?)"
                )
    return describe_file(file)


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
        raise CheckpointError(
            f"{file}: could not read the tensors ({type(err).__name__}: {err})"
        ) from err
    verify_tensors(file, header, state)
    encoder = {k[len("encoder.") :]: v for k, v in state.items() if k.startswith("encoder.")}
    predictor = {k[len("predictor.") :]: v for k, v in state.items() if k.startswith("predictor.")}
    other = sorted(k for k in state if not k.startswith(("encoder.", "predictor.")))
    if other:
        raise CheckpointError(
            f"{file}: unexpected tensors {other[:12]}; expected names 'encoder.*' and 'predictor.*'"
        )
    metadata = json.loads(header.get("metadata", "{}"))
    return LoadedCheckpoint(
        config, encoder, predictor if config.predictor else None, metadata, "wm-control"
    )
