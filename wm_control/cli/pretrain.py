"""`wm-control pretrain`: self-supervised pretraining of a small video encoder (V-JEPA style).

Converts the composed Hydra config (configs/pretrain.yaml) into a
:class:`~wm_control.training.pretrain.PretrainConfig` and runs
:func:`wm_control.training.pretrain.pretrain`. Like ``train``, ``out_dir=<folder> resume=true``
alone continues a run from the configuration its folder records.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ..models.presets import encoder_preset
from ..training.masks import MaskSpec
from ..training.optim import OptimConfig
from ..training.pretrain import PretrainConfig
from .datasets import dataset_configs, require_local_folders
from .run_record import prepared_run

CONFIG_NAME = "pretrain"
RESUME_CHANGES = (
    "steps",
    "log_every",
    "checkpoint_every",
    "keep_last",
    "frames_root",
    "bf16",
    "device",
    "progress",
    "threads",
)
"""Settings that may differ from the run's recorded configuration on ``resume=true`` (the
learning-rate and EMA schedules follow the new ``steps``)."""


def build_config(cfg: DictConfig, run_dir: Path) -> PretrainConfig:
    """The typed run config of a composed ``pretrain`` Hydra config (``run_dir``: the default
    out_dir)."""
    raw = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    datasets = dataset_configs(dict(raw["data"]), raw["extra_datasets"])
    require_local_folders(datasets)
    optim = dict(raw["optim"])
    optim["betas"] = tuple(optim["betas"])
    masks = tuple(
        MaskSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in m.items()})
        for m in raw["masks"]
    )
    predictor = raw["predictor"]
    return PretrainConfig(
        datasets=tuple(datasets),
        encoder=encoder_preset(
            raw["encoder"], image_size=raw["image_size"], patch_size=raw["patch_size"]
        ),
        out_dir=str(Path(raw["out_dir"]).expanduser() if raw["out_dir"] is not None else run_dir),
        frames_root=str(raw["frames_root"]),
        predictor_width=predictor["width"],
        predictor_depth=predictor["depth"],
        predictor_heads=predictor["num_heads"],
        predictor_mlp_hidden=predictor["mlp_hidden"],
        masks=masks,
        clip_frames=raw["clip_frames"],
        steps=raw["steps"],
        batch_size=raw["batch_size"],
        optim=OptimConfig(**optim),
        ema=tuple(raw["ema"]),
        checkpoint_every=raw["checkpoint_every"],
        keep_last=raw["keep_last"],
        log_every=raw["log_every"],
        seed=raw["seed"],
        resume=raw["resume"],
        bf16=raw["bf16"],
        device=raw["device"],
        progress=raw["progress"],
    )


def run(cfg: DictConfig) -> None:
    from ..training.pretrain import pretrain

    pretrain(prepared_run(cfg, build_config, RESUME_CHANGES))
