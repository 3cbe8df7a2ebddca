"""What every checkpoint importer shares: the loaded result, strict key checking, prefix stripping."""

from __future__ import annotations

from dataclasses import dataclass, field
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


def strip_prefixes(state: dict[str, torch.Tensor], prefixes: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """Remove any leading run of the given prefixes (e.g. ``module.backbone.``) from every key."""
    out = {}
    for key, value in state.items():
        stripped = True
        while stripped:
            stripped = False
            for prefix in prefixes:
                if key.startswith(prefix):
                    key, stripped = key[len(prefix):], True
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
        raise CheckpointError(f"{source}: the {part} weights do not match the architecture: " + "; ".join(problems))
    return found


def count_blocks(state: dict[str, torch.Tensor], prefix: str) -> int:
    """Number of ``{prefix}{i}.`` blocks present (0 … n−1)."""
    indices = {int(k[len(prefix):].split(".", 1)[0]) for k in state if k.startswith(prefix)}
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
