"""`wm-control train`: fine-tune the action-conditioned predictor on a LeRobot dataset.

Converts the composed Hydra config (configs/train.yaml with the model/, data/ and train/ groups)
into a :class:`~wm_control.training.config.TrainConfig` and runs
:func:`wm_control.training.trainer.train`. Under ``torchrun`` every process runs this command; give
them one ``out_dir`` (Hydra's run folder differs between processes). The run folder keeps the
run's configuration (:mod:`wm_control.cli.run_record`), so ``out_dir=<folder> resume=true`` alone
continues it.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ..data.token_cache import TokenCacheConfig
from ..model_source import ModelSource
from ..training.config import TrainConfig
from ..training.evaluate import ValidationConfig
from ..training.optim import OptimConfig
from .datasets import dataset_configs, require_local_folders
from .run_record import prepared_run

CONFIG_NAME = "train"
REPO_ROOT = Path(__file__).resolve().parents[2]
RESUME_CHANGES = (
    "train.steps",
    "train.log_every",
    "train.val_every",
    "train.checkpoint_every",
    "train.keep_last",
    "train.validation",
    "train.bf16",
    "cache.root",
    "cache.encode_batch",
    "device",
    "progress",
    "threads",
)
"""Settings that may differ from the run's recorded configuration on ``resume=true``: how long
it trains (the learning-rate schedule follows the new ``train.steps``), how often it logs,
validates and saves, what validation measures, and where and how it runs."""


def _typed(cls: type, data: dict[str, Any], section: str) -> Any:
    known = set(cls.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"{section}: unknown settings {unknown}; expected a subset of {sorted(known)}"
        )
    return cls(**data)


def build_config(cfg: DictConfig, run_dir: Path) -> TrainConfig:
    """The typed run config of a composed ``train`` Hydra config (``run_dir``: the default
    out_dir)."""
    raw = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    section = dict(raw["train"])
    top_level = {
        "data",
        "extra_datasets",
        "model",
        "out_dir",
        "predictor",
        "cache",
        "resume",
        "device",
        "progress",
    }
    allowed = set(TrainConfig.__dataclass_fields__) - top_level
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise ValueError(
            f"train: unknown settings {unknown}; expected a subset of {sorted(allowed)}"
        )
    optim = dict(section.pop("optim"))
    optim["betas"] = tuple(optim["betas"])
    source = ModelSource.from_dict(raw["model"])
    source = replace(source, path=str(source.resolved_path(REPO_ROOT)))
    cache = dict(raw["cache"])
    if raw["out_dir"] is None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError(
            "out_dir: several processes need one shared run folder; set out_dir=<folder>"
        )
    main, *extra = dataset_configs(dict(raw["data"]), raw["extra_datasets"])
    require_local_folders([main, *extra])
    return TrainConfig(
        data=main,
        extra_datasets=tuple(extra),
        model=source,
        out_dir=str(Path(raw["out_dir"]).expanduser() if raw["out_dir"] is not None else run_dir),
        predictor=raw["predictor"],
        cache=_typed(TokenCacheConfig, cache, "cache"),
        optim=_typed(OptimConfig, optim, "train.optim"),
        validation=_typed(ValidationConfig, dict(section.pop("validation")), "train.validation"),
        resume=raw["resume"],
        device=raw["device"],
        progress=raw["progress"],
        **section,
    )


def run(cfg: DictConfig) -> None:
    from ..training.trainer import train

    train(prepared_run(cfg, build_config, RESUME_CHANGES))
