"""V-JEPA-style self-supervised pretraining of a small video encoder on LeRobot camera frames.

For domains without a suitable encoder (a simulator, a user's own cameras) and machines without a
GPU. The encoder has the V-JEPA 2 architecture (:class:`~wm_control.models.vit.VisionTransformer`).
Each step takes clips of ``clip_frames`` consecutive resampled frames, masks multi-block tubelet
regions (:mod:`wm_control.training.masks`), encodes only the context tokens, and a small predictor
(:class:`~wm_control.training.masked_predictor.MaskedPredictor`) predicts the layer-normed tokens
of an EMA copy of the encoder (the target encoder, which sees the whole clip) at the masked
positions; the loss is their L1 distance. The EMA target encoder is what gets saved, as an
encoder-only :class:`~wm_control.world_model.WorldModel` that ``from_pretrained`` loads and
``wm-control train`` puts a predictor on (``predictor=<preset>``). Resume, the learning-rate
schedule, logging and checkpoints are the loop shared with training
(:mod:`wm_control.training.loop`).
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wm_control.data.frame_cache import FrameCache, open_frame_cache
from wm_control.data.provenance import recording_records
from wm_control.data.trajectories import DatasetConfig
from wm_control.models.config import EncoderConfig, WorldModelConfig
from wm_control.preprocess import to_model_input
from wm_control.training import loop
from wm_control.training.batches import WindowSampler
from wm_control.training.masked_predictor import MaskedPredictor
from wm_control.training.masks import MaskSpec, sample_masks
from wm_control.training.distributed import single_process
from wm_control.training.optim import OptimConfig, build_optimizer, optimizer_step
from wm_control.world_model import WorldModel, layer_norm

# The two mask families of the V-JEPA 2 recipe: 8 small blocks (15 % of a frame each), 2 large
# (70 %).
DEFAULT_MASKS = (
    MaskSpec(num_blocks=8, spatial_scale=(0.15, 0.15)),
    MaskSpec(num_blocks=2, spatial_scale=(0.7, 0.7)),
)


@dataclass(frozen=True)
class PretrainConfig:
    """A pretraining run.

    ``datasets``: LeRobot datasets whose ``camera_key`` frames are used (states are not, but the
    state key must exist). ``encoder``: the architecture to train. ``predictor_*``: the masked
    predictor's size. ``clip_frames``: frames per clip (a multiple of the tubelet size).
    ``ema``: the target encoder's momentum, linearly from the first to the second value.
    ``frames_root``: where decoded frames are cached.
    """

    datasets: tuple[DatasetConfig, ...]
    encoder: EncoderConfig
    out_dir: str
    frames_root: str = "cache/frames"
    predictor_width: int = 96
    predictor_depth: int = 2
    predictor_heads: int = 4
    predictor_mlp_hidden: int = 384
    masks: tuple[MaskSpec, ...] = DEFAULT_MASKS
    clip_frames: int = 4
    steps: int = 1000
    batch_size: int = 16
    optim: OptimConfig = field(
        default_factory=lambda: OptimConfig(
            lr=5e-4, start_lr=1e-4, final_lr=1e-5, warmup_steps=100, decay_steps=100
        )
    )
    ema: tuple[float, float] = (0.998, 1.0)
    checkpoint_every: int = 500
    keep_last: int = 2
    log_every: int = 10
    seed: int = 0
    resume: bool = False
    bf16: bool = True
    device: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        datasets = tuple(self.datasets)
        if not datasets or not all(isinstance(d, DatasetConfig) for d in datasets):
            raise ValueError(
                "PretrainConfig.datasets: expected one or more DatasetConfig, found "
                f"{self.datasets!r}"
            )
        object.__setattr__(self, "datasets", datasets)
        if not isinstance(self.encoder, EncoderConfig):
            raise ValueError(
                "PretrainConfig.encoder: expected an EncoderConfig, found "
                f"{type(self.encoder).__name__}"
            )
        masks = tuple(self.masks)
        if not masks or not all(isinstance(m, MaskSpec) for m in masks):
            raise ValueError(
                f"PretrainConfig.masks: expected one or more MaskSpec, found {self.masks!r}"
            )
        object.__setattr__(self, "masks", masks)
        for name in (
            "predictor_width",
            "predictor_depth",
            "predictor_heads",
            "predictor_mlp_hidden",
            "steps",
            "batch_size",
            "checkpoint_every",
            "keep_last",
            "log_every",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"PretrainConfig.{name}: expected a positive int, found {value!r}")
        if (
            self.predictor_width % self.predictor_heads
            or self.predictor_width // self.predictor_heads < 6
        ):
            raise ValueError(
                f"PretrainConfig.predictor_heads: predictor_width {self.predictor_width} must "
                f"split into heads of >= 6 channels, found {self.predictor_heads} heads"
            )
        if (
            not isinstance(self.clip_frames, int)
            or self.clip_frames <= 0
            or self.clip_frames % self.encoder.tubelet_size
        ):
            raise ValueError(
                f"PretrainConfig.clip_frames: expected a positive multiple of the tubelet size "
                f"{self.encoder.tubelet_size}, found {self.clip_frames!r}"
            )
        ema = tuple(float(v) for v in self.ema)
        if len(ema) != 2 or not all(0.0 <= v <= 1.0 for v in ema):
            raise ValueError(
                f"PretrainConfig.ema: expected (start, end) momenta in [0, 1], found {self.ema!r}"
            )
        object.__setattr__(self, "ema", ema)
        if self.device not in (None, "cpu", "cuda"):
            raise ValueError(
                f"PretrainConfig.device: expected None, 'cpu' or 'cuda', found {self.device!r}"
            )

    @property
    def grid(self) -> tuple[int, int, int]:
        rows, cols = self.encoder.grid
        return self.clip_frames // self.encoder.tubelet_size, rows, cols

    def run_identity(self) -> dict[str, Any]:
        """The fields a resumed run must share with the interrupted one (not ``steps``: a resumed
        run may train longer; the learning-rate and EMA schedules follow the new total)."""
        return json.loads(
            json.dumps(
                {
                    "datasets": [asdict(d) for d in self.datasets],
                    "encoder": self.encoder.to_dict(),
                    "predictor": [
                        self.predictor_width,
                        self.predictor_depth,
                        self.predictor_heads,
                        self.predictor_mlp_hidden,
                    ],
                    "masks": [asdict(m) for m in self.masks],
                    "clip_frames": self.clip_frames,
                    "batch_size": self.batch_size,
                    "optim": asdict(self.optim),
                    "ema": self.ema,
                    "seed": self.seed,
                }
            )
        )


class _ClipSource:
    """Clips ``[B, T, H, W, 3]`` uint8 drawn from several frame caches, indexed globally."""

    def __init__(self, caches: list[FrameCache], clip_frames: int) -> None:
        shapes = {tuple(c.frames.shape[1:]) for c in caches}
        if len(shapes) > 1:
            raise ValueError(
                f"pretraining datasets must share one frame size, found {sorted(shapes)}"
            )
        self.caches = caches
        self.clip_frames = clip_frames
        self.starts = [c.clip_starts(clip_frames) for c in caches]
        self.bounds = np.cumsum([0] + [len(s) for s in self.starts])
        if self.bounds[-1] == 0:
            raise ValueError(f"no episode is long enough for clips of {clip_frames} frames")

    def __len__(self) -> int:
        return int(self.bounds[-1])

    def clips(self, indices: np.ndarray) -> np.ndarray:
        out = []
        for index in indices:
            which = int(np.searchsorted(self.bounds, index, side="right") - 1)
            start = int(self.starts[which][index - self.bounds[which]])
            out.append(np.asarray(self.caches[which].frames[start : start + self.clip_frames]))
        return np.stack(out)


def _momentum(config: PretrainConfig, step: int) -> float:
    start, end = config.ema
    return start + (end - start) * step / max(config.steps, 1)


def _encoder_only(config: PretrainConfig, encoder: torch.nn.Module) -> WorldModel:
    model = WorldModel(WorldModelConfig(encoder=config.encoder, predictor=None))
    model.encoder.load_state_dict(encoder.state_dict())
    return model


def pretrain(config: PretrainConfig) -> dict[str, Any]:
    """Run (or resume) pretraining; writes ``<out_dir>/model`` (encoder-only) and returns a
    summary."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise RuntimeError(
            "pretrain runs in a single process (one GPU or the CPU); launch it without torchrun"
        )
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    start = loop.start_run(config)
    frames_root = Path(config.frames_root).expanduser()
    caches = [open_frame_cache(d, frames_root, progress=config.progress) for d in config.datasets]
    source = _ClipSource(caches, config.clip_frames)
    encoder = (
        WorldModel(WorldModelConfig(encoder=config.encoder)).encoder.requires_grad_(True).train()
    )
    predictor = MaskedPredictor(
        config.encoder.width,
        config.predictor_width,
        config.predictor_depth,
        config.predictor_heads,
        config.predictor_mlp_hidden,
    )
    encoder, predictor = encoder.to(device), predictor.to(device)
    target = copy.deepcopy(encoder).requires_grad_(False).eval()
    trainable = torch.nn.ModuleDict({"encoder": encoder, "predictor": predictor})
    optimizer = build_optimizer(trainable, config.optim)
    sampler = WindowSampler(np.arange(len(source)), config.batch_size, config.seed)
    masks_rng = torch.Generator().manual_seed(config.seed)
    if (state := start.state) is not None:
        saved = WorldModel.from_pretrained(start.checkpoint / "model")
        target.load_state_dict(saved.encoder.state_dict())
        trainable.load_state_dict(state["trainable"])
        sampler.load_state_dict(state["sampler"])
        masks_rng.set_state(state["masks_rng"])
    loop.restore(start, optimizer)
    use_bf16 = config.bf16 and device.type == "cuda"
    loss_value = float("nan")  # of the newest update, for the checkpoint metadata

    def update(step: int, lr: float) -> Callable[[], dict[str, float]]:
        nonlocal loss_value
        clips = torch.from_numpy(source.clips(sampler.next_global()))  # [B, T, H, W, 3] uint8
        video = to_model_input(clips, config.encoder.image_size, device=device)  # [B, 3, T, h, w]
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_bf16):
            with torch.no_grad():
                raw_target = target(video)  # [B, L, D]
                wanted = layer_norm(raw_target.float())  # [B, L, D]
            losses = []
            for spec in config.masks:
                masks = sample_masks(len(clips), config.grid, spec, masks_rng)
                context_idx, target_idx = (m.to(device) for m in masks)  # [B, C], [B, M]
                predicted = predictor(
                    encoder(video, keep=context_idx), context_idx, target_idx, config.grid
                )  # [B, M, D]
                index = target_idx.unsqueeze(-1).expand(-1, -1, wanted.shape[-1])  # [B, M, D]
                chosen = torch.gather(wanted, 1, index)  # [B, M, D]
                losses.append((predicted.float() - chosen).abs().mean())
            loss = torch.stack(losses).mean()
        loss.backward()
        value = float(loss.detach())
        if not np.isfinite(value):  # before the update, so the weights stay finite
            message = f"non-finite pretraining loss at step {step + 1}; lower optim.lr"
            raise FloatingPointError(message)
        loss_value = value
        grad_norm = optimizer_step(optimizer, trainable, config.optim.grad_clip)
        momentum = _momentum(config, step)
        with torch.no_grad():
            target_params, online_params = list(target.parameters()), list(encoder.parameters())
            torch._foreach_mul_(target_params, momentum)
            torch._foreach_add_(target_params, online_params, alpha=1.0 - momentum)

        def scalars() -> dict[str, float]:
            spread = float(raw_target.float().std(dim=1).mean())  # token diversity: ~0 = collapse
            return {
                "loss": value,
                "lr": lr,
                "ema": momentum,
                "target_token_std": spread,
                "grad_norm": grad_norm,
            }

        return scalars

    recordings = recording_records([d.root for d in config.datasets])

    def metadata(step: int, metrics: dict[str, float]) -> dict[str, Any]:
        """``metrics`` is always empty: pretraining does not validate."""
        return {
            "producer": "wm-control pretrain",
            "command": " ".join(sys.argv),
            "step": step,
            "loss": loss_value,
            "datasets": [asdict(d) for d in config.datasets],
            "data_recordings": recordings,
            "clip_frames": config.clip_frames,
            "masks": [asdict(m) for m in config.masks],
            "ema": list(config.ema),
            "note": "encoder = the EMA target encoder of V-JEPA-style masked latent prediction",
        }

    def training_state() -> dict[str, Any]:
        return {
            "trainable": trainable.state_dict(),
            "sampler": sampler.state_dict(),
            "masks_rng": masks_rng.get_state(),
        }

    def summary(end: loop.LoopEnd) -> dict[str, Any]:
        updates = config.steps - end.start_step
        return {
            "clips_per_s": updates * config.batch_size / max(end.seconds, 1e-9),
            "final_loss": loss_value,
            "clips_available": len(source),
            "model": str(end.model),
        }

    parts = loop.RunParts(
        optimizer=optimizer,
        update=update,
        model=lambda: _encoder_only(config, target),
        metadata=metadata,
        training_state=training_state,
        summary=summary,
    )
    return loop.run_loop(config, start, single_process(device), parts, name="pretrain")
