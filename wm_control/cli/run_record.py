"""The configuration a training run was started with, kept in its run folder, so that
``wm-control train out_dir=<folder> resume=true`` alone continues it.

``<out_dir>/run_config.yaml`` holds the composed, resolved Hydra configuration of the run (the
command's arguments applied to the YAML files). On ``resume=true`` it *is* the run's
configuration: the YAML files and their defaults are not read again. Settings given on the command
line next to ``resume=true`` must equal the recorded ones, except those the command lists as
changeable on resume (e.g. ``train.steps``, to train longer, or ``device``); a changed setting
outside that list is refused with the recorded and the given value. ``out_dir`` and ``resume``
themselves are never compared. A run folder without the file (started before it existed, or from
Python) is resumed from the arguments given, as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ..data.atomic import follow_umask, fsync_path

RECORD = "run_config.yaml"
NEVER_COMPARED = ("out_dir", "resume")


def record_path(out_dir: Path) -> Path:
    return Path(out_dir) / RECORD


def run_folder(cfg: DictConfig, default: Path) -> Path:
    """The run folder of a training command: ``out_dir``, or ``default`` (Hydra's run folder)."""
    return Path(cfg.out_dir).expanduser() if cfg.out_dir is not None else default


def keep_record(cfg: DictConfig, out_dir: Path) -> None:
    """Record ``cfg`` as the configuration of the run in ``out_dir`` when it starts or resumes
    (a folder holding another run's checkpoints, which the command refuses without resume=true,
    keeps its record); only the main process of a distributed run writes."""
    from ..training.checkpointing import latest_checkpoint

    if int(os.environ.get("RANK", "0")) != 0:
        return
    if cfg.resume or latest_checkpoint(Path(out_dir) / "checkpoints") is None:
        write_record(cfg, out_dir)


def write_record(cfg: DictConfig, out_dir: Path) -> Path:
    """Write ``cfg`` (resolved) as the run's recorded configuration, atomically."""
    path = record_path(out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# The configuration of this training run, written by wm-control; `resume=true` reads it.\n"
        + OmegaConf.to_yaml(_plain(cfg))
    )
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    follow_umask(tmp)
    os.replace(tmp, path)
    fsync_path(path.parent)
    return path


def resumed_config(
    cfg: DictConfig, out_dir: Path, overrides: list[str], changeable: tuple[str, ...]
) -> DictConfig:
    """The configuration to resume the run in ``out_dir`` with: its recorded one, with the given
    ``overrides`` (Hydra override strings) checked against it. ``cfg`` is the configuration Hydra
    composed from those overrides; ``changeable`` names settings (or whole sections) that may
    differ from the record. Without a record, ``cfg`` itself."""
    path = record_path(out_dir)
    if not path.is_file():
        return cfg
    recorded = _plain(OmegaConf.load(path))
    given = _plain(cfg)
    conflicts, changes = [], {}
    for key in sorted({_override_key(o) for o in overrides} - set(NEVER_COMPARED)):
        old, new = _leaves(_select(recorded, key), key), _leaves(_select(given, key), key)
        for leaf in sorted(set(old) | set(new)):
            if old.get(leaf, _MISSING) == new.get(leaf, _MISSING):
                continue
            if any(leaf == c or leaf.startswith(f"{c}.") for c in changeable):
                changes[leaf] = new.get(leaf)
            else:
                conflicts.append(
                    f"{leaf}: recorded {_show(old.get(leaf, _MISSING))}, "
                    f"given {_show(new.get(leaf, _MISSING))}"
                )
    if conflicts:
        raise ValueError(
            f"resume=true continues the run in {out_dir} with the configuration recorded in "
            f"{path}; these arguments differ from it: {'; '.join(conflicts)}. Leave them out (or "
            "repeat the recorded values), or start a new run in another out_dir. Settings that may "
            f"change on resume: {', '.join(changeable)}"
        )
    merged = OmegaConf.create(recorded)
    for leaf, value in changes.items():
        OmegaConf.update(merged, leaf, value, merge=False)
    for key in NEVER_COMPARED:
        merged[key] = given[key]
    return merged


class _Missing:
    def __repr__(self) -> str:
        return "(not set)"


_MISSING = _Missing()


def prepared_run(
    cfg: DictConfig,
    build_config: Callable[[DictConfig, Path], Any],
    resume_changes: tuple[str, ...],
) -> Any:
    """The typed config of a ``train`` or ``pretrain`` run in the current Hydra job: with
    ``resume=true`` the run folder's recorded config (only ``resume_changes`` may differ), built by
    ``build_config(cfg, hydra run folder)``; the composed config is recorded in the run folder."""
    from hydra.core.hydra_config import HydraConfig

    hydra = HydraConfig.get()
    run_dir = Path(hydra.runtime.output_dir)
    out_dir = run_folder(cfg, run_dir)
    if cfg.resume:
        cfg = resumed_config(cfg, out_dir, list(hydra.overrides.task), resume_changes)
    config = build_config(cfg, run_dir)
    keep_record(cfg, out_dir)
    return config


def _plain(cfg: Any) -> dict[str, Any]:
    return OmegaConf.to_container(cfg, resolve=True) if not isinstance(cfg, dict) else cfg


def _override_key(override: str) -> str:
    """The setting an override string names: ``train.steps=3`` → ``train.steps``, ``+a.b=1`` →
    ``a.b``, ``~x`` → ``x``, a group choice ``model=sim_default`` → ``model``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    (parsed,) = OverridesParser.create().parse_overrides([override])
    key = parsed.key_or_group
    return key.split("@", 1)[0]


def _select(tree: dict[str, Any], key: str) -> Any:
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _leaves(node: Any, prefix: str) -> dict[str, Any]:
    """``{dotted.key: value}`` of every leaf under ``node`` (lists are leaves)."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for name, child in node.items():
            out.update(_leaves(child, f"{prefix}.{name}"))
        return out
    return {} if node is _MISSING else {prefix: node}


def _show(value: Any) -> str:
    return repr(value) if value is not _MISSING else "(not set)"
