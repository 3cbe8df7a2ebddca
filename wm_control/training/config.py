"""Typed configuration of a predictor training run (what ``wm-control train`` builds from YAML)."""

from __future__ import annotations

from dataclasses import dataclass, field

from wm_control.data.token_cache import TokenCacheConfig
from wm_control.data.trajectories import DatasetConfig
from wm_control.model_source import ModelSource
from wm_control.training.evaluate import ValidationConfig
from wm_control.training.optim import OptimConfig


@dataclass(frozen=True)
class TrainConfig:
    """A training run.

    ``model``: the checkpoint to start from: Meta's ``.pt`` (``vjepa2-ac-vitg.pt`` brings the
    released predictor; ``vitg.pt`` only an encoder), a Hugging Face VJEPA2 folder, or a wm-control
    checkpoint (e.g. the output of ``wm-control pretrain``); its ``device``/``dtype`` are not used:
    training keeps float32 weights on ``device`` and autocasts to bf16 on CUDA. ``predictor``: a
    preset name (``ac_tiny``, ``ac_mini``, ``ac_small``, ``ac_released``) for a fresh predictor on
    the checkpoint's encoder; ``None`` fine-tunes the checkpoint's own predictor.
    Steps are optimizer updates; ``batch_size`` is the global batch (split evenly over the
    processes of a distributed run); ``clip_frames`` frames per sample (T); ``rollout_steps`` the
    rollout loss's R (≤ T−1). ``extra_datasets``: more datasets trained on together with ``data``
    (e.g. one per task); validation episodes are held out of each in proportion.
    """

    data: DatasetConfig
    model: ModelSource
    out_dir: str
    predictor: str | None = None
    extra_datasets: tuple[DatasetConfig, ...] = ()
    cache: TokenCacheConfig = field(default_factory=TokenCacheConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    steps: int = 1000
    batch_size: int = 8
    clip_frames: int = 8
    rollout_steps: int = 2
    val_fraction: float = 0.1
    val_every: int = 200
    checkpoint_every: int = 200
    keep_last: int = 3
    log_every: int = 10
    seed: int = 0
    resume: bool = False
    bf16: bool = True
    device: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        for name, kind in (
            ("data", DatasetConfig),
            ("model", ModelSource),
            ("cache", TokenCacheConfig),
            ("optim", OptimConfig),
            ("validation", ValidationConfig),
        ):
            if not isinstance(getattr(self, name), kind):
                raise ValueError(
                    f"TrainConfig.{name}: expected a {kind.__name__}, found "
                    f"{type(getattr(self, name)).__name__}"
                )
        extra = tuple(self.extra_datasets)
        if not all(isinstance(d, DatasetConfig) for d in extra):
            raise ValueError(
                "TrainConfig.extra_datasets: expected DatasetConfig entries, found "
                f"{[type(d).__name__ for d in extra]}"
            )
        object.__setattr__(self, "extra_datasets", extra)
        if self.predictor is not None and (
            not isinstance(self.predictor, str) or not self.predictor
        ):
            raise ValueError(
                f"TrainConfig.predictor: expected a preset name or None, found {self.predictor!r}"
            )
        if not isinstance(self.out_dir, str) or not self.out_dir:
            raise ValueError(f"TrainConfig.out_dir: expected a folder path, found {self.out_dir!r}")
        for name in (
            "steps",
            "batch_size",
            "val_every",
            "checkpoint_every",
            "keep_last",
            "log_every",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"TrainConfig.{name}: expected a positive int, found {value!r}")
        if not isinstance(self.clip_frames, int) or self.clip_frames < 2:
            raise ValueError(
                f"TrainConfig.clip_frames: expected an int >= 2, found {self.clip_frames!r}"
            )
        if (
            not isinstance(self.rollout_steps, int)
            or not 1 <= self.rollout_steps <= self.clip_frames - 1
        ):
            raise ValueError(
                f"TrainConfig.rollout_steps: expected 1 … clip_frames-1 = {self.clip_frames - 1}, "
                f"found {self.rollout_steps!r}"
            )
        if self.validation.steps > self.clip_frames - 1:
            raise ValueError(
                "TrainConfig.validation.steps: expected at most clip_frames-1 = "
                f"{self.clip_frames - 1}, found {self.validation.steps}"
            )
        if not isinstance(self.val_fraction, (int, float)) or not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(
                "TrainConfig.val_fraction: expected a number in [0, 1), found "
                f"{self.val_fraction!r}"
            )
        if self.device not in (None, "cpu", "cuda"):
            raise ValueError(
                f"TrainConfig.device: expected None, 'cpu' or 'cuda', found {self.device!r}"
            )

    @property
    def datasets(self) -> tuple[DatasetConfig, ...]:
        """``data`` followed by ``extra_datasets``."""
        return (self.data, *self.extra_datasets)

    def run_identity(self) -> dict[str, object]:
        """The fields a resumed run must share with the interrupted one to continue it exactly.
        ``steps`` is not one of them: a resumed run may train longer (its learning-rate schedule
        then follows the new total)."""
        from dataclasses import asdict

        return {
            "data": asdict(self.data),
            "extra_datasets": [asdict(d) for d in self.extra_datasets],
            "model": asdict(self.model),
            "predictor": self.predictor,
            "optim": asdict(self.optim),
            "batch_size": self.batch_size,
            "clip_frames": self.clip_frames,
            "rollout_steps": self.rollout_steps,
            "val_fraction": self.val_fraction,
            "seed": self.seed,
            "cache_dtype": self.cache.dtype,
        }
