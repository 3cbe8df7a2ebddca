"""What every checkpoint importer shares: the loaded result, strict key checking, prefix stripping,
and a description of a file that is not the checkpoint it was given as."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..models.config import WorldModelConfig


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded as asked; the message says what was expected and found."""


@dataclass
class LoadedCheckpoint:
    """Weights and architecture read from a checkpoint, ready for ``WorldModel``."""

    config: WorldModelConfig
    encoder_state: dict[str, torch.Tensor]
    predictor_state: dict[str, torch.Tensor] | None
    metadata: dict[str, Any] = field(default_factory=dict)
    source_format: str = ""


def strip_prefixes(
    state: dict[str, torch.Tensor], prefixes: tuple[str, ...]
) -> dict[str, torch.Tensor]:
    """Remove any leading run of the given prefixes (e.g. ``module.backbone.``) from every key."""
    out = {}
    for key, value in state.items():
        stripped = True
        while stripped:
            stripped = False
            for prefix in prefixes:
                if key.startswith(prefix):
                    key, stripped = key[len(prefix) :], True
        out[key] = value
    return out


def check_state(
    expected: dict[str, torch.Tensor],
    found: dict[str, torch.Tensor],
    *,
    part: str,
    source: str,
    ignored: tuple[str, ...] = (),
) -> dict[str, torch.Tensor]:
    """Strictly match ``found`` against a module's ``expected`` state dict.

    Keys in ``ignored`` are dropped explicitly; any other missing, unexpected or mis-shaped key
    raises :class:`CheckpointError` listing all of them.
    """
    found = {k: v for k, v in found.items() if k not in ignored}
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    misshaped = sorted(
        f"{k}: expected {tuple(expected[k].shape)}, found {tuple(found[k].shape)}"
        for k in set(expected) & set(found)
        if tuple(expected[k].shape) != tuple(found[k].shape)
    )
    problems = []
    if missing:
        problems.append(f"missing keys {_short(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {_short(unexpected)}")
    if misshaped:
        problems.append(f"mis-shaped keys {_short(misshaped)}")
    if problems:
        raise CheckpointError(
            f"{source}: the {part} weights do not match the architecture: " + "; ".join(problems)
        )
    return found


def count_blocks(state: dict[str, torch.Tensor], prefix: str) -> int:
    """Number of ``{prefix}{i}.`` blocks present (0 … n−1)."""
    indices = {int(k[len(prefix) :].split(".", 1)[0]) for k in state if k.startswith(prefix)}
    return len(indices)


def require(state: dict[str, torch.Tensor], key: str, *, source: str, part: str) -> torch.Tensor:
    if key not in state:
        raise CheckpointError(
            f"{source}: expected the {part} key {key!r} to read the architecture from, "
            f"found keys {_short(sorted(state))}"
        )
    return state[key]


def _short(items: list[str], limit: int = 12) -> str:
    shown = ", ".join(items[:limit])
    return f"[{shown}{', …' if len(items) > limit else ''}] ({len(items)} in all)"


_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x93NUMPY", "a NumPy array file"),
)


def describe_file(path: Path) -> str:
    """What a file holds, in words, for messages that say what was found instead of a checkpoint:
    its size and kind (empty, a truncated zip archive, an image, text, unknown binary data)."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        return "an empty file (0 bytes)"
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head.startswith(b"PK\x03\x04"):
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
            return f"a zip archive of {size} bytes holding {_short(names, limit=4)}"
        return (
            f"the start of a zip archive ({size} bytes) that ends before its directory: truncated"
        )
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return f"{kind} ({size} bytes)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if not text or not text.replace("\n", " ").replace("\t", " ").replace("\r", " ").isprintable():
        return f"{size} bytes of unrecognised binary data starting {head[:8].hex()}"
    return f"a text file of {size} byte{'' if size == 1 else 's'} starting {text[:40]!r}"
