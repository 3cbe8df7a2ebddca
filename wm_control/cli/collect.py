"""``wm-control collect``: record simulated episodes into a LeRobot dataset.

Example: ``wm-control collect env=push episodes=200 policy=expert noise=0.1 output_dir=data/push``;
``wm-control collect env=ogbench_cube_single policy=oracle episodes=100 output_dir=data/ogbench``
records OGBench play data with OGBench's own oracle and noise (:mod:`envs.ogbench_oracles`).
The dataset is written with :mod:`wm_control.data.recording` (safe writing, progress bar); without
``output_dir`` it goes to ``<hydra run folder>/dataset``.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

import envs  # noqa: F401  (registers the gymnasium ids)
from envs.config import EnvConfig, make_env
from envs.experts import make_policy
from wm_control.cli import task_config
from wm_control.data.recording import (
    FRAME_STORAGE,
    DatasetSpec,
    RecordingSummary,
    SafeDatasetWriter,
    record_episodes,
)

POLICIES = ("expert", "random", "oracle", "oracle_noisy")
ORACLE_POLICIES = ("oracle", "oracle_noisy")
"""OGBench's own oracles (its play and noisy datasets), for the OGBench cube task."""

CONFIG_NAME = "collect"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CollectConfig:
    """What to record.

    Attributes:
        env: the simulated task.
        output_dir: dataset folder (must not exist unless ``overwrite``).
        episodes: number of episodes.
        policy: ``"expert"`` (scripted), ``"random"`` (exploration), or for the OGBench cube task
            ``"oracle"`` / ``"oracle_noisy"`` (OGBench's own oracles and noise, as its play / noisy
            datasets are made; the task runs in its data-collection mode, see
            :mod:`envs.ogbench_oracles`).
        noise: expert action noise (std as a fraction of the action bounds); the oracles use
            OGBench's own noise and need 0.
        noise_per: ``policy="oracle_noisy"``: ``"step"`` (OGBench's: noise and random actions
            drawn at every 20 Hz control step) or ``"block"`` (drawn once per recorded block and
            held through it, so the block's recorded mean action describes what it executed; see
            :mod:`envs.ogbench_oracles`).
        seed: episode ``i`` is reset with ``seed + i``.
        steps_after_success: end an episode this many steps after its first success; ``None``:
            run to the time limit (what the oracles do: OGBench's play episodes chain a new
            target whenever one is reached).
        repo_id: dataset name stored in the metadata.
        frames: ``"video"`` (LeRobot's AV1, lossy) or ``"png"`` (lossless images; what small
            frames need, see :class:`~wm_control.data.recording.DatasetSpec`).
        overwrite: replace an existing dataset at ``output_dir`` once the new one is complete.
        progress: show a progress bar.
    """

    env: EnvConfig
    output_dir: Path
    episodes: int = 10
    policy: str = "expert"
    noise: float = 0.0
    noise_per: str = "step"
    seed: int = 0
    steps_after_success: int | None = 2
    repo_id: str = "local/wm_control_sim"
    frames: str = "video"
    overwrite: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"CollectConfig.episodes must be >= 1, found {self.episodes}")
        if self.policy not in POLICIES:
            raise ValueError(
                f"CollectConfig.policy must be one of {POLICIES}, found {self.policy!r}"
            )
        if self.noise < 0:
            raise ValueError(f"CollectConfig.noise must be >= 0, found {self.noise}")
        if self.frames not in FRAME_STORAGE:
            raise ValueError(
                f"CollectConfig.frames must be one of {FRAME_STORAGE}, found {self.frames!r}"
            )
        if self.noise_per != "step":  # the default needs no OGBench import
            from envs.ogbench_oracles import NOISE_PER

            if self.noise_per not in NOISE_PER:
                raise ValueError(
                    f"CollectConfig.noise_per must be one of {NOISE_PER}, found {self.noise_per!r}"
                )
            if self.policy != "oracle_noisy":
                raise ValueError(
                    f"CollectConfig.noise_per={self.noise_per!r} holds the noise of "
                    f"policy=oracle_noisy, found policy={self.policy}"
                )
        if self.policy in ORACLE_POLICIES:
            if self.env.mode != "data_collection":
                raise ValueError(
                    f"CollectConfig.env.mode must be 'data_collection' for policy={self.policy} "
                    f"(OGBench's oracles collect in that mode), found {self.env.mode!r}"
                )
            if self.noise != 0:
                raise ValueError(
                    f"CollectConfig.noise must be 0 for policy={self.policy}: OGBench's oracles "
                    f"add OGBench's own noise, found {self.noise}"
                )
            if self.steps_after_success is not None:
                raise ValueError(
                    f"CollectConfig.steps_after_success must be None for policy={self.policy} "
                    f"(play episodes run to the time limit), found {self.steps_after_success}"
                )
        if self.steps_after_success is not None and self.steps_after_success < 0:
            raise ValueError(
                f"CollectConfig.steps_after_success must be >= 0 or None, found "
                f"{self.steps_after_success}"
            )


def collect_dataset(config: CollectConfig) -> RecordingSummary:
    """Record ``config.episodes`` episodes of ``config.env`` into ``config.output_dir``."""
    env = make_env(config.env)
    task = env.unwrapped
    spec = DatasetSpec(
        repo_id=config.repo_id,
        fps=config.env.control_hz,
        image_size=config.env.image_size,
        cameras=config.env.cameras,
        frames=config.frames,
        **layout_names(task),
    )
    record = recording_record(config)
    try:
        writer = SafeDatasetWriter(
            config.output_dir, spec, overwrite=config.overwrite, record=record
        )
        with writer:
            if config.policy in ORACLE_POLICIES:
                from envs.ogbench_oracles import OGBenchOracle
                from wm_control.cli.collect_oracle import record_oracle_episodes

                oracle = OGBenchOracle(
                    env, kind=config.policy, seed=config.seed, noise_per=config.noise_per
                )
                summary = record_oracle_episodes(
                    env,
                    oracle,
                    writer,
                    episodes=config.episodes,
                    task=config.env.task,
                    seed=config.seed,
                    progress=config.progress,
                )
            else:
                policy = make_policy(config.policy, env, noise=config.noise, seed=config.seed)
                summary = record_episodes(
                    env,
                    policy,
                    writer,
                    episodes=config.episodes,
                    task=config.env.task,
                    seed=config.seed,
                    steps_after_success=config.steps_after_success,
                    progress=config.progress,
                )
    finally:
        env.close()
    log.info(
        "wrote %d episodes (%d frames, %d successful) to %s",
        summary.episodes,
        summary.frames,
        summary.successes,
        config.output_dir,
    )
    return summary


def layout_names(task) -> dict[str, tuple[str, ...]]:
    """The task's declared state and action names (``state_names``/``action_names``), for the
    dataset's features; tasks that declare none record DROID's (:class:`DatasetSpec`'s default)."""
    names = {}
    for key in ("state_names", "action_names"):
        if hasattr(task, key):
            names[key] = tuple(getattr(task, key))
    return names


def recording_record(config: CollectConfig) -> dict[str, Any]:
    """What the dataset keeps about how it was made (no output path: datasets move)."""
    return {
        "producer": "wm-control collect",
        "command": " ".join(sys.argv),
        "env": asdict(config.env),
        "episodes": config.episodes,
        "policy": config.policy,
        "noise": config.noise,
        "noise_per": config.noise_per,
        "seed": config.seed,
        "steps_after_success": config.steps_after_success,
        "frames": config.frames,
    }


def config_from_hydra(cfg: DictConfig, default_output_dir: Path | None = None) -> CollectConfig:
    """The typed :class:`CollectConfig` of a composed ``collect`` Hydra config."""
    output_dir = cfg.output_dir
    if output_dir is None:
        if default_output_dir is None:
            raise ValueError("collect: output_dir is null and there is no Hydra run folder")
        output_dir = default_output_dir / "dataset"
    env = task_config(cfg)
    policy = str(cfg.policy)
    steps_after_success = cfg.steps_after_success
    if policy in ORACLE_POLICIES:
        # OGBench's oracles collect play data in the task's data-collection mode, to the time limit.
        env = replace(env, mode="data_collection")
        steps_after_success = None if steps_after_success == "auto" else steps_after_success
    elif steps_after_success == "auto":
        steps_after_success = 2
    return CollectConfig(
        env=env,
        output_dir=Path(output_dir),
        episodes=int(cfg.episodes),
        policy=policy,
        noise=float(cfg.noise),
        noise_per=str(cfg.get("noise_per", "step")),
        seed=int(cfg.seed),
        steps_after_success=steps_after_success,
        repo_id=str(cfg.repo_id),
        frames=str(cfg.get("frames", "video")),
        overwrite=bool(cfg.overwrite),
        progress=bool(cfg.progress),
    )


def run(cfg: DictConfig) -> None:
    """Hydra entry point of ``wm-control collect``."""
    from hydra.core.hydra_config import HydraConfig

    os.environ.setdefault("SVT_LOG", "1")  # silence the AV1 encoder's banner on every episode
    run_dir = Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else None
    collect_dataset(config_from_hydra(cfg, run_dir))
