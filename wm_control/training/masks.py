"""Multi-block tubelet masks for V-JEPA-style pretraining.

The token grid of a clip is ``(t, h, w)`` = (frames / tubelet, rows, columns), flattened in
time-row-column order. A :class:`MaskSpec` draws ``num_blocks`` boxes of one size per batch
(spatial area ``spatial_scale`` of a frame, aspect ratio in ``aspect_ratio``, spanning
``temporal_scale`` of the time steps) at random places per sample; their union is the *target*
(predicted) set and the rest is the *context* the encoder sees. Within a batch every sample keeps
the same number of context and target tokens (the smallest found), so they stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class MaskSpec:
    """One family of masks. Scales are fractions in (0, 1]; ranges are ``(low, high)``."""

    num_blocks: int = 8
    spatial_scale: tuple[float, float] = (0.15, 0.15)
    temporal_scale: tuple[float, float] = (1.0, 1.0)
    aspect_ratio: tuple[float, float] = (0.75, 1.5)

    def __post_init__(self) -> None:
        if not isinstance(self.num_blocks, int) or self.num_blocks <= 0:
            raise ValueError(
                f"MaskSpec.num_blocks: expected a positive int, found {self.num_blocks!r}"
            )
        for name in ("spatial_scale", "temporal_scale", "aspect_ratio"):
            value = tuple(float(v) for v in getattr(self, name))
            upper = math.inf if name == "aspect_ratio" else 1.0
            if len(value) != 2 or not 0.0 < value[0] <= value[1] <= upper:
                raise ValueError(
                    f"MaskSpec.{name}: expected (low, high) with 0 < low <= high <= {upper}, found "
                    f"{value}"
                )
            object.__setattr__(self, name, value)


def _uniform(low: float, high: float, generator: torch.Generator) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def block_size(
    spec: MaskSpec, grid: tuple[int, int, int], generator: torch.Generator
) -> tuple[int, int, int]:
    """(time, rows, columns) of the blocks of one batch."""
    t, h, w = grid
    duration = max(1, int(t * _uniform(*spec.temporal_scale, generator)))
    area = h * w * _uniform(*spec.spatial_scale, generator)
    ratio = _uniform(*spec.aspect_ratio, generator)
    rows = min(h, max(1, int(round(math.sqrt(area * ratio)))))
    cols = min(w, max(1, int(round(math.sqrt(area / ratio)))))
    return duration, rows, cols


def sample_masks(
    batch: int, grid: tuple[int, int, int], spec: MaskSpec, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(context [B, K], target [B, M])`` long token indices (sorted) for a batch of ``batch``
    clips.

    Samples whose blocks would cover every token are redrawn, so the context is never empty; a spec
    whose blocks cannot leave any context on this grid is an error.
    """
    t, h, w = grid
    size_t, size_h, size_w = block_size(spec, grid, generator)
    if (size_t, size_h, size_w) == (t, h, w):
        raise ValueError(
            f"mask blocks of {spec} cover the whole {t}x{h}x{w} token grid, leaving no context; "
            "lower spatial_scale/temporal_scale or use larger images"
        )
    contexts, targets = [], []
    attempts = 0
    while len(contexts) < batch:
        attempts += 1
        if attempts > 100 * batch:
            raise ValueError(
                f"mask blocks of {spec} (size {size_t}x{size_h}x{size_w}) almost always cover the "
                f"whole {t}x{h}x{w} token grid; lower num_blocks or spatial_scale"
            )
        masked = torch.zeros(t, h, w, dtype=torch.bool)
        for _ in range(spec.num_blocks):
            t0 = int(torch.randint(0, t - size_t + 1, (), generator=generator))
            r0 = int(torch.randint(0, h - size_h + 1, (), generator=generator))
            c0 = int(torch.randint(0, w - size_w + 1, (), generator=generator))
            masked[t0 : t0 + size_t, r0 : r0 + size_h, c0 : c0 + size_w] = True
        flat = masked.flatten()
        if flat.all():
            continue
        contexts.append(torch.nonzero(~flat).squeeze(1))
        targets.append(torch.nonzero(flat).squeeze(1))
    keep = min(len(c) for c in contexts)
    predict = min(len(p) for p in targets)
    return torch.stack([c[:keep] for c in contexts]), torch.stack([p[:predict] for p in targets])
