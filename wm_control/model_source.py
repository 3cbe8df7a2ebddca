"""Where a world model comes from (a checkpoint path and import options), as a typed config."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .world_model import WorldModel

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class ModelSource:
    """A checkpoint to load with :meth:`WorldModel.from_pretrained`.

    A relative ``path`` is looked up from the current folder, then from the repository root (where
    the shipped checkpoints and the reference fixture live); ``device`` "auto" picks CUDA when
    present; ``dtype`` "auto" is bfloat16 on CUDA and float32 on CPU. ``compile`` runs the
    predictor's blocks through compiled, fused kernels
    (:meth:`WorldModel.use_compiled_blocks`): faster rollouts on GPUs after a warm-up of tens of
    seconds, no faster on CPUs.
    """

    path: str
    encoder_num_heads: int | None = None
    predictor_num_heads: int | None = None
    image_size: int | tuple[int, int] | None = None
    device: str = "auto"
    dtype: str = "auto"
    compile: bool = False

    def __post_init__(self) -> None:
        if not self.path:
            raise ValueError("ModelSource.path: expected a checkpoint path, found an empty value")
        if self.dtype != "auto" and self.dtype not in DTYPES:
            raise ValueError(
                f"ModelSource.dtype: expected 'auto' or one of {sorted(DTYPES)}, found "
                f"{self.dtype!r}"
            )
        if not isinstance(self.compile, bool):
            raise ValueError(
                f"ModelSource.compile: expected true or false, found {self.compile!r}"
            )
        if isinstance(self.image_size, list):
            object.__setattr__(self, "image_size", tuple(self.image_size))

    def resolved_path(self, root: Path) -> Path:
        path = Path(self.path).expanduser()
        if path.is_absolute() or path.exists() or not (root / path).exists():
            return path
        return root / path

    def torch_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def torch_dtype(self) -> torch.dtype:
        if self.dtype == "auto":
            return torch.bfloat16 if self.torch_device().type == "cuda" else torch.float32
        return DTYPES[self.dtype]

    def load(self, root: Path) -> WorldModel:
        model = WorldModel.from_pretrained(
            self.resolved_path(root),
            encoder_num_heads=self.encoder_num_heads,
            predictor_num_heads=self.predictor_num_heads,
            image_size=self.image_size,
            device=self.torch_device(),
            dtype=self.torch_dtype(),
        )
        if self.compile and model.device.type != "cuda":
            log.warning(
                "model.compile=true on %s: compiled blocks speed up GPUs; on CPUs they were "
                "measured slower than the eager path (bench/RESULTS.md)",
                model.device,
            )
        return model.use_compiled_blocks(self.compile)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSource:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"ModelSource: unknown fields {unknown}; expected a subset of {sorted(known)}"
            )
        return cls(**data)
