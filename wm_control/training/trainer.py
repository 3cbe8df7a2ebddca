"""The predictor training loop: frozen encoder tokens from the cache → ``predict``/``rollout`` → L1.

One function, :func:`train`, wires the pieces explicitly: world model, token cache, episode split,
sampler, loss (wrapped in DDP for several processes), AdamW with the warmup-constant-decay
schedule, validation, logging and atomic checkpoints. ``resume`` continues the same run from its
newest checkpoint: weights, optimizer moments, schedule position, data order and RNG states.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel

from wm_control.data.provenance import recording_records
from wm_control.data.token_cache import TokenCache, open_token_caches
from wm_control.layouts import check_layouts
from wm_control.models.presets import predictor_preset, predictor_preset_names
from wm_control.training import checkpointing
from wm_control.training.batches import WindowSampler, read_batch, shard, split_parts
from wm_control.training.config import TrainConfig
from wm_control.training.distributed import DistributedContext, average, setup
from wm_control.training.evaluate import evaluate, validation_starts
from wm_control.training.losses import PredictorLoss
from wm_control.training.optim import build_optimizer, learning_rate, set_learning_rate
from wm_control.training.run_log import RunLog
from wm_control.world_model import WorldModel

FORMAT_NOTE = "states and actions are fed in raw DROID units (m, rad, gripper 0..1); no normalisation is applied"


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
        raise ValueError(f"extra_datasets: every dataset must use data.layout={layout!r}, found {mixed}")
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
    config: TrainConfig, ctx: DistributedContext, wm: WorldModel | None, step_hook: Callable[[int], None] | None
) -> dict[str, Any]:
    out = Path(config.out_dir)
    ckpt_dir, resume_from = checkpointing.checkpoint_to_resume(out, config.resume)
    torch.manual_seed(config.seed)
    state: dict[str, Any] | None = None
    if resume_from is not None:
        state = checkpointing.load_training_state(resume_from)
        checkpointing.check_same_run(state["run"], config.run_identity(), resume_from, config.steps)
        wm = WorldModel.from_pretrained(resume_from / "model", device=ctx.device)
    elif wm is None:
        wm = load_start_model(config, ctx.device)
    # provenance of the starting model (e.g. the pretrained encoder's own command and data)
    origin = wm.metadata.get("start_model") if state is not None else {"path": config.model.path, "metadata": wm.metadata}
    wm = wm.to(device=ctx.device, dtype=torch.float32)
    if wm.predictor is not None and wm.config.predictor.use_extrinsics:
        raise ValueError(
            "the predictor expects camera extrinsics, which training does not read from datasets; "
            "start from a predictor without extrinsics (the released V-JEPA 2-AC has none) or a fresh preset"
        )
    wm.train()

    cache = _shared_cache(wm, config, ctx)
    train_eps, val_eps = split_parts([part["episodes"] for part in cache.parts], config.val_fraction, config.seed)
    sampler = WindowSampler(cache.window_starts(config.clip_frames, train_eps), config.batch_size, config.seed)
    val_starts = validation_starts(cache, val_eps, config.clip_frames, config.validation.windows)
    action_low = torch.tensor(cache.stats["action"]["min"])
    action_high = torch.tensor(cache.stats["action"]["max"])

    loss_module: torch.nn.Module = PredictorLoss(wm, config.rollout_steps)
    if ctx.enabled:
        device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        loss_module = DistributedDataParallel(loss_module, device_ids=device_ids, find_unused_parameters=True)
    optimizer = build_optimizer(wm.predictor, config.optim)
    start = 0
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        sampler.load_state_dict(state["sampler"])
        checkpointing.set_rng_state(state["rng"])
        start = int(state["step"])
    use_bf16 = config.bf16 and ctx.device.type == "cuda"
    log = RunLog(out, total_steps=config.steps, start_step=start, enabled=ctx.is_main, progress=config.progress)

    def validate(step: int) -> dict[str, float]:
        metrics: dict[str, float] = {}
        if ctx.is_main and len(val_starts):
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_bf16):
                metrics = evaluate(
                    wm, cache, val_starts, config.clip_frames, action_low, action_high, config.validation
                )
            log.validation(step, metrics)
        ctx.barrier()
        return metrics

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
            "normalization": {"state": cache.stats["state"], "action": cache.stats["action"], "applied": FORMAT_NOTE},
            "token_cache_key": cache.key,
            "validation_episodes": cache.episode_ids(val_eps),
            "validation": metrics,
            "train_config": json.loads(json.dumps(asdict(config))),
            "start_model": origin,
        }

    first_metrics = validate(start) if start == 0 else {}
    metrics: dict[str, float] = dict(first_metrics)
    started = time.perf_counter()
    last = {"loss": float("nan"), "tf_l1": float("nan"), "rollout_l1": float("nan")}
    for step in range(start, config.steps):
        lr = learning_rate(config.optim, step, config.steps)
        set_learning_rate(optimizer, lr)
        batch = read_batch(
            cache, shard(sampler.next_global(), ctx.rank, ctx.world_size), config.clip_frames, ctx.device
        )
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_bf16):
            losses = loss_module(batch.tokens, batch.states, batch.actions)  # [3]: total, tf, rollout
        losses[0].backward()
        mean = average(losses.detach().float(), ctx)  # over processes; every process sees the same values
        done = step + 1
        if not torch.isfinite(mean).all():  # before the update, so the weights stay finite
            raise FloatingPointError(
                f"non-finite loss {mean.tolist()} at step {done}; lower train.optim.lr or set train.optim.grad_clip"
            )
        grad_norm = float("nan")
        if config.optim.grad_clip is not None:
            grad_norm = float(torch.nn.utils.clip_grad_norm_(wm.predictor.parameters(), config.optim.grad_clip))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if done % config.log_every == 0 or done == config.steps:
            total, tf, roll = mean.tolist()
            last = {"loss": total, "tf_l1": tf, "rollout_l1": roll}
            log.step(done, (done - start) * config.batch_size, {**last, "lr": lr, "grad_norm": grad_norm})
        log.advance()
        if done % config.val_every == 0 or done == config.steps:
            metrics = validate(done)
        if done % config.checkpoint_every == 0 or done == config.steps:
            if ctx.is_main:
                training_state = {
                    "optimizer": optimizer.state_dict(),
                    "sampler": sampler.state_dict(),
                    "rng": checkpointing.rng_state(),
                    "run": config.run_identity(),
                }
                checkpointing.save_checkpoint(
                    ckpt_dir, done, wm, metadata(done, metrics), training_state, keep_last=config.keep_last
                )
            ctx.barrier()
        if step_hook is not None:
            step_hook(done)
    elapsed = time.perf_counter() - started
    final = out / "model"
    if ctx.is_main:
        wm.save_pretrained(final, metadata=metadata(config.steps, metrics))
    summary = {
        "steps": config.steps,
        "resumed_from_step": start,
        "processes": ctx.world_size,
        "seconds": round(elapsed, 3),
        "samples_per_s": (config.steps - start) * config.batch_size / max(elapsed, 1e-9),
        **{f"train/{k}": v for k, v in last.items()},
        **{f"{k} (start)": v for k, v in first_metrics.items()},
        **metrics,
        "cache": str(cache.path),
        "model": str(final),
    }
    log.summary(summary)
    return summary


def _shared_cache(wm: WorldModel, config: TrainConfig, ctx: DistributedContext) -> TokenCache:
    """The token cache, built by the main process while the others wait, then opened by all."""
    if ctx.is_main:
        cache = open_token_caches(wm, config.datasets, config.cache, progress=config.progress)
    ctx.barrier()
    if not ctx.is_main:
        cache = open_token_caches(wm, config.datasets, config.cache, progress=False)
        if cache.built_now:
            raise RuntimeError(
                f"process {ctx.rank} computed another token cache key than the main process: the processes "
                f"do not load the same encoder weights"
            )
    return cache
