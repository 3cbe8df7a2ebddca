"""The loop that predictor training and encoder pretraining share: resume, update, log, validate,
checkpoint, save.

A run first calls :func:`start_run`: it finds the newest checkpoint of ``out_dir`` (and refuses to
overwrite a run unless ``resume`` is set), seeds torch, and reads and verifies that checkpoint's
training state against the run's identity. The run then builds its model, data and optimizer
and restores what it saved from that state, and hands :func:`run_loop` its :class:`RunParts`:
the parts that differ between runs (how one update draws its batch and computes its loss, what
is validated, what a checkpoint and the final model hold). The loop does the rest, the same for
every run:

- for each update: set the learning rate of the warmup-constant-decay schedule, run the update;
- every ``log_every`` updates and at the last: a row of ``train.csv`` and TensorBoard scalars;
- every ``val_every`` updates, at the last and before the first of a fresh run: validation;
- every ``checkpoint_every`` updates and at the last: an atomic checkpoint, ``keep_last`` kept;
- at the end: ``<out_dir>/model`` and ``summary.json``.

Under several processes only the main one logs and writes; all meet at a barrier after each
validation and checkpoint. Ctrl-C or SIGTERM stops the run after the update in hand, with a
checkpoint of it (:mod:`wm_control.training.stop_request`); a second Ctrl-C stops at once, and
the newest complete checkpoint is then what ``resume`` continues from.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from wm_control.training import checkpointing
from wm_control.training.distributed import DistributedContext
from wm_control.training.optim import OptimConfig, learning_rate, set_learning_rate
from wm_control.training.run_log import RunLog
from wm_control.training.stop_request import StopRequests, TrainingStopped
from wm_control.world_model import WorldModel

Scalars = dict[str, float]


class LoopConfig(Protocol):
    """The settings of a run config (``TrainConfig``, ``PretrainConfig``) that the loop reads."""

    out_dir: str
    resume: bool
    seed: int
    steps: int
    batch_size: int
    log_every: int
    checkpoint_every: int
    keep_last: int
    optim: OptimConfig
    progress: bool

    def run_identity(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RunStart:
    """Where a run starts: its checkpoint folder and, when resuming, the checkpoint it continues
    (``checkpoint``) with its verified training state (``state``: what the run saved, plus
    ``step``)."""

    checkpoints: Path
    checkpoint: Path | None = None
    state: dict[str, Any] | None = None

    @property
    def step(self) -> int:
        """Updates already made: 0 for a fresh run."""
        return 0 if self.state is None else int(self.state["step"])


@dataclass(frozen=True)
class LoopEnd:
    """What the loop hands to :attr:`RunParts.summary` when the last update is done.

    ``logged``: the scalars of the newest ``train.csv`` row (empty if no update ran);
    ``first_metrics``: validation before the first update (empty when resumed or not validated);
    ``metrics``: the newest validation; ``model``: the final model's folder.
    """

    start_step: int
    seconds: float
    logged: Scalars
    first_metrics: Scalars
    metrics: Scalars
    model: Path


@dataclass(frozen=True)
class RunParts:
    """What a kind of run does at each point of the loop.

    ``update(step, lr)``: one optimizer update, ``step`` 0-based, ``lr`` already set on
    ``optimizer``: draw the batch, compute the loss, backpropagate, refuse a non-finite loss, step
    the optimizer. Returns a function that computes the scalars to log for this update, called
    only when the update is logged (it may synchronise with the device).
    ``model()``: the model a checkpoint and the final ``model`` folder hold;
    ``metadata(step, metrics)``: its metadata after ``step`` updates, ``metrics`` the newest
    validation. ``training_state()``: what the run itself restores on resume (its data order,
    masks, trainable modules); the loop adds the optimizer, the RNG states and the run's identity
    (:func:`restore` reads the first two back) and calls it before ``model()``, so that the RNG
    states precede anything ``model()`` draws. ``summary(end)``: the run's own summary entries,
    after the loop's ``steps``, ``resumed_from_step`` and ``seconds``. ``validate(step)``:
    validation metrics (empty on all but the main process), every ``val_every`` updates; ``None``
    for a run without validation.
    """

    optimizer: torch.optim.Optimizer
    update: Callable[[int, float], Callable[[], Scalars]]
    model: Callable[[], WorldModel]
    metadata: Callable[[int, Scalars], dict[str, Any]]
    training_state: Callable[[], dict[str, Any]]
    summary: Callable[[LoopEnd], dict[str, Any]]
    validate: Callable[[int], Scalars] | None = None
    val_every: int | None = None


def start_run(config: LoopConfig) -> RunStart:
    """Seed torch with ``config.seed`` and find where the run in ``config.out_dir`` starts.

    A folder that already holds checkpoints is continued only with ``config.resume`` (its newest
    checkpoint, verified against its manifest and refused when the run's identity changed), never
    overwritten.
    """
    directory, checkpoint = checkpointing.checkpoint_to_resume(Path(config.out_dir), config.resume)
    torch.manual_seed(config.seed)
    if checkpoint is None:
        return RunStart(directory)
    state = checkpointing.load_training_state(checkpoint)
    checkpointing.check_same_run(state["run"], config.run_identity(), checkpoint, config.steps)
    return RunStart(directory, checkpoint, state)


def restore(start: RunStart, optimizer: torch.optim.Optimizer) -> None:
    """On resume, restore what the loop saved in the checkpoint: the optimizer's state, then the
    RNG states (call it last, once the run has restored its own parts). No-op for a fresh run."""
    if start.state is None:
        return
    optimizer.load_state_dict(start.state["optimizer"])
    checkpointing.set_rng_state(start.state["rng"])


def run_loop(
    config: LoopConfig,
    start: RunStart,
    ctx: DistributedContext,
    parts: RunParts,
    *,
    name: str,
    step_hook: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Make the updates ``start.step`` … ``config.steps`` with ``parts``; returns the summary.

    ``name``: the progress bar's and the printed summary's title. ``step_hook(step)`` is called
    after every update (1-based step), after any checkpoint of that step is complete.
    """
    out = Path(config.out_dir)
    log = RunLog(
        out,
        total_steps=config.steps,
        start_step=start.step,
        enabled=ctx.is_main,
        progress=config.progress,
        name=name,
    )

    def due(done: int, every: int | None) -> bool:
        return every is not None and (done % every == 0 or done == config.steps)

    def validate(step: int) -> Scalars:
        if parts.validate is None:
            return {}
        metrics = parts.validate(step)
        log.validation(step, metrics)
        ctx.barrier()
        return metrics

    def checkpoint(done: int, metrics: Scalars) -> Path:
        if ctx.is_main:
            state = {  # first: it holds the RNG states before model()
                **parts.training_state(),
                "optimizer": parts.optimizer.state_dict(),
                "rng": checkpointing.rng_state(),
                "run": config.run_identity(),
            }
            checkpointing.save_checkpoint(
                start.checkpoints,
                done,
                parts.model(),
                parts.metadata(done, metrics),
                state,
                keep_last=config.keep_last,
            )
        ctx.barrier()
        return start.checkpoints / checkpointing.checkpoint_name(done)

    first_metrics = validate(start.step) if start.step == 0 else {}
    metrics = dict(first_metrics)
    logged: Scalars = {}
    started = time.perf_counter()
    with StopRequests(announce=ctx.is_main) as stops:
        for step in range(start.step, config.steps):
            lr = learning_rate(config.optim, step, config.steps)
            set_learning_rate(parts.optimizer, lr)
            scalars = parts.update(step, lr)
            done = step + 1
            if due(done, config.log_every):
                logged = scalars()
                log.step(done, (done - start.step) * config.batch_size, logged)
            log.advance()
            if due(done, parts.val_every):
                metrics = validate(done)
            saved = checkpoint(done, metrics) if due(done, config.checkpoint_every) else None
            signum = stops.agreed(ctx) if done < config.steps else None
            if signum is not None:
                saved = saved or checkpoint(done, metrics)
                log.close()
                if ctx.is_main:
                    print(
                        f"{name}: stopped after update {done}; its checkpoint {saved} is what "
                        "resume=true continues from",
                        file=sys.stderr,
                        flush=True,
                    )
                raise TrainingStopped(signum, done, str(saved))
            if step_hook is not None:
                step_hook(done)
    seconds = time.perf_counter() - started
    final = out / "model"
    if ctx.is_main:
        parts.model().save_pretrained(final, metadata=parts.metadata(config.steps, metrics))
    end = LoopEnd(start.step, seconds, logged, first_metrics, metrics, final)
    summary = {
        "steps": config.steps,
        "resumed_from_step": start.step,
        "seconds": round(seconds, 3),
        **parts.summary(end),
    }
    log.summary(summary)
    return summary
