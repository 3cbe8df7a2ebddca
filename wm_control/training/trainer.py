"""Predictor training: frozen encoder tokens from the cache → ``predict``/``rollout`` → L1.

One function, :func:`train`, wires the pieces explicitly: world model, token cache, episode split,
sampler, loss (wrapped in DDP for several processes), AdamW and validation; the loop shared with
pretraining (:mod:`wm_control.training.loop`) runs the updates under the warmup-constant-decay
schedule, logs, validates and writes atomic checkpoints. ``resume`` continues the same run from
its newest checkpoint: weights, optimizer moments, schedule position, data order and RNG states.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel

from wm_control.data.provenance import recording_records
from wm_control.data.token_cache import TokenCache, open_token_caches
from wm_control.layouts import check_layouts
from wm_control.models.presets import predictor_preset, predictor_preset_names
from wm_control.training import loop
from wm_control.training.batches import WindowSampler, read_batch, shard, split_parts
from wm_control.training.config import TrainConfig
from wm_control.training.distributed import DistributedContext, average, setup
from wm_control.training.evaluate import evaluate, validation_starts
from wm_control.training.losses import PredictorLoss
from wm_control.training.optim import build_optimizer, optimizer_step
from wm_control.world_model import WorldModel

FORMAT_NOTE = (
    "states and actions are fed in raw DROID units (m, rad, gripper 0..1); no normalisation is "
    "applied"
)
TRAIN_LOSSES = ("loss", "tf_l1", "rollout_l1")  # what the loss module returns, in its order


def load_start_model(config: TrainConfig, device: torch.device) -> WorldModel:
    """The float32 world model a new run starts from (see :class:`TrainConfig`)."""
    source = config.model
    wm = WorldModel.from_pretrained(
        source.path,
        encoder_num_heads=source.encoder_num_heads,
        predictor_num_heads=source.predictor_num_heads,
        image_size=source.image_size,
        device=device,
        dtype=torch.float32,
    )
    layout = config.data.layout
    if config.predictor is not None:
        preset = predictor_preset(config.predictor, wm.config.encoder, layout=layout)
        wm = wm.with_new_predictor(preset)
    elif wm.predictor is None:
        raise ValueError(
            f"{source.path} holds an encoder only; choose a fresh predictor with "
            f"predictor=<preset> (one of {predictor_preset_names()})"
        )
    check_layouts(wm.layout.name, layout, task=f"the training data (data.layout={layout!r})")
    mixed = sorted({d.layout for d in config.datasets} - {layout})
    if mixed:
        raise ValueError(
            f"extra_datasets: every dataset must use data.layout={layout!r}, found {mixed}"
        )
    return wm


def train(
    config: TrainConfig,
    *,
    wm: WorldModel | None = None,
    step_hook: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) the predictor as configured; returns the run summary.

    ``wm``: a model to start from instead of ``config.model`` (ignored when resuming: the
    checkpoint's model is loaded). ``step_hook(step)`` is called after every update (1-based step),
    after any checkpoint of that step is complete.
    """
    ctx = setup(config.device)
    try:
        return _train(config, ctx, wm, step_hook)
    finally:
        ctx.close()


def _train(
    config: TrainConfig,
    ctx: DistributedContext,
    wm: WorldModel | None,
    step_hook: Callable[[int], None] | None,
) -> dict[str, Any]:
    start = loop.start_run(config)
    if start.checkpoint is not None:
        wm = WorldModel.from_pretrained(start.checkpoint / "model", device=ctx.device)
    elif wm is None:
        wm = load_start_model(config, ctx.device)
    # provenance of the starting model (e.g. the pretrained encoder's own command and data)
    if start.state is not None:
        origin = wm.metadata.get("start_model")
    else:
        origin = {"path": config.model.path, "metadata": wm.metadata}
    wm = wm.to(device=ctx.device, dtype=torch.float32)
    if wm.predictor is not None and wm.config.predictor.use_extrinsics:
        raise ValueError(
            "the predictor expects camera extrinsics, which training does not read from datasets; "
            "start from a predictor without extrinsics (the released V-JEPA 2-AC has none) or a "
            "fresh preset"
        )
    wm.train()

    cache = _shared_cache(wm, config, ctx)
    episodes = [part["episodes"] for part in cache.parts]
    train_eps, val_eps = split_parts(episodes, config.val_fraction, config.seed)
    windows = cache.window_starts(config.clip_frames, train_eps)
    sampler = WindowSampler(windows, config.batch_size, config.seed)
    val_starts = validation_starts(cache, val_eps, config.clip_frames, config.validation.windows)
    action_low = torch.tensor(cache.stats["action"]["min"])  # [A]
    action_high = torch.tensor(cache.stats["action"]["max"])  # [A]

    loss_module: torch.nn.Module = PredictorLoss(wm, config.rollout_steps)
    if ctx.enabled:
        device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        loss_module = DistributedDataParallel(
            loss_module, device_ids=device_ids, find_unused_parameters=True
        )
    optimizer = build_optimizer(wm.predictor, config.optim)
    if start.state is not None:
        sampler.load_state_dict(start.state["sampler"])
    loop.restore(start, optimizer)
    use_bf16 = config.bf16 and ctx.device.type == "cuda"

    def update(step: int, lr: float) -> Callable[[], dict[str, float]]:
        indices = shard(sampler.next_global(), ctx.rank, ctx.world_size)
        batch = read_batch(cache, indices, config.clip_frames, ctx.device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_bf16):
            # [3]: total, teacher-forcing and rollout L1
            losses = loss_module(batch.tokens, batch.states, batch.actions)
        losses[0].backward()
        mean = average(losses.detach().float(), ctx)  # [3], over processes: the same on every one
        if not torch.isfinite(mean).all():  # before the update, so the weights stay finite
            raise FloatingPointError(
                f"non-finite loss {mean.tolist()} at step {step + 1}; lower train.optim.lr or set "
                f"train.optim.grad_clip"
            )
        grad_norm = optimizer_step(optimizer, wm.predictor, config.optim.grad_clip)

        def scalars() -> dict[str, float]:
            return {**dict(zip(TRAIN_LOSSES, mean.tolist())), "lr": lr, "grad_norm": grad_norm}

        return scalars

    def validate(step: int) -> dict[str, float]:
        if not ctx.is_main or not len(val_starts):
            return {}
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_bf16):
            return evaluate(
                wm,
                cache,
                val_starts,
                config.clip_frames,
                action_low,
                action_high,
                config.validation,
            )

    recordings = recording_records([config.data.root, *(d.root for d in config.extra_datasets)])

    def metadata(step: int, metrics: dict[str, float]) -> dict[str, Any]:
        return {
            "producer": "wm-control train",
            "command": " ".join(sys.argv),
            "step": step,
            "data": asdict(config.data),
            "extra_datasets": [asdict(d) for d in config.extra_datasets],
            "data_recordings": recordings,
            "clip_frames": config.clip_frames,
            "normalization": {
                "state": cache.stats["state"],
                "action": cache.stats["action"],
                "applied": FORMAT_NOTE,
            },
            "token_cache_key": cache.key,
            "validation_episodes": cache.episode_ids(val_eps),
            "validation": metrics,
            "train_config": json.loads(json.dumps(asdict(config))),
            "start_model": origin,
        }

    def training_state() -> dict[str, Any]:
        return {"sampler": sampler.state_dict()}

    def summary(end: loop.LoopEnd) -> dict[str, Any]:
        updates = config.steps - end.start_step
        return {
            "processes": ctx.world_size,
            "samples_per_s": updates * config.batch_size / max(end.seconds, 1e-9),
            **{f"train/{k}": end.logged.get(k, float("nan")) for k in TRAIN_LOSSES},
            **{f"{k} (start)": v for k, v in end.first_metrics.items()},
            **end.metrics,
            "cache": str(cache.path),
            "model": str(end.model),
        }

    parts = loop.RunParts(
        optimizer=optimizer,
        update=update,
        model=lambda: wm,
        metadata=metadata,
        training_state=training_state,
        summary=summary,
        validate=validate,
        val_every=config.val_every,
    )
    return loop.run_loop(config, start, ctx, parts, name="train", step_hook=step_hook)


def _shared_cache(wm: WorldModel, config: TrainConfig, ctx: DistributedContext) -> TokenCache:
    """The token cache, built by the main process while the others wait, then opened by all."""
    if ctx.is_main:
        cache = open_token_caches(wm, config.datasets, config.cache, progress=config.progress)
    ctx.barrier()
    if not ctx.is_main:
        cache = open_token_caches(wm, config.datasets, config.cache, progress=False)
        if cache.built_now:
            raise RuntimeError(
                f"process {ctx.rank} computed another token cache key than the main process: the "
                "processes do not load the same encoder weights"
            )
    return cache
