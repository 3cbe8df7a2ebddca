"""Dataset settings of the training commands: ``data`` plus ``extra_datasets``, as typed configs.

``train`` and ``pretrain`` read one main dataset (``data``, a ``configs/data/`` group) and any
number of extra ones. An extra dataset is a folder path (the main dataset's settings, another local
folder) or a mapping of settings that override the main dataset's, e.g.::

    extra_datasets=[runs/data/push_expert,{root:runs/data/push_random,episodes:[0,1,2]}]

A ``root`` is a local dataset folder and must exist (:func:`require_local_folders`): lerobot would
take a missing one for a place to download the hub dataset ``repo_id`` into, create it and fail on
the network. A hub dataset is read with ``root: null`` (lerobot's cache).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..data.trajectories import DatasetConfig


def dataset_config(data: dict[str, Any], section: str) -> DatasetConfig:
    """A :class:`DatasetConfig` from plain settings; unknown names are an error naming
    ``section``."""
    known = set(DatasetConfig.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"{section}: unknown settings {unknown}; expected a subset of {sorted(known)}"
        )
    data = dict(data)
    if data.get("root") is not None:
        data["root"] = str(data["root"])  # kept as given: checkpoints record it
    if data.get("episodes") is not None:
        data["episodes"] = tuple(data["episodes"])
    config = DatasetConfig(**data)
    if config.root is None and config.repo_id.startswith("local/"):
        raise ValueError(
            f"{section}.root: the local dataset {config.repo_id!r} needs its folder; set "
            f"{section}.root=<path>"
        )
    return config


def dataset_configs(main: dict[str, Any], extra: list[Any]) -> list[DatasetConfig]:
    """``[data, *extra_datasets]``; each extra entry is a folder or a mapping overriding
    ``main``."""
    configs = [dataset_config(main, "data")]
    for i, entry in enumerate(extra or []):
        section = f"extra_datasets[{i}]"
        if isinstance(entry, str):
            overrides: dict[str, Any] = {"root": entry}
        elif isinstance(entry, dict):
            overrides = dict(entry)
        else:
            raise ValueError(
                f"{section}: expected a dataset folder or a mapping of settings, found {entry!r}"
            )
        configs.append(dataset_config({**main, **overrides}, section))
    return configs


def require_local_folders(configs: list[DatasetConfig]) -> None:
    """Refuse a ``root`` (of ``data``, then of each ``extra_datasets`` entry) that is not an
    existing LeRobot dataset folder, before anything reads it or creates it."""
    for i, config in enumerate(configs):
        if config.root is None:
            continue
        section = "data.root" if i == 0 else f"extra_datasets[{i - 1}].root"
        folder = Path(config.root).expanduser()
        if not folder.exists():
            raise FileNotFoundError(
                f"{section}: the dataset folder {config.root} does not exist; expected a LeRobot "
                f"dataset folder, e.g. one written by `wm-control collect output_dir=<folder>` "
                f"(a hub dataset is read with {section}=null and its repo_id)"
            )
        if not (folder / "meta" / "info.json").is_file():
            content = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
            found = f"a folder holding {content[:6]}" if folder.is_dir() else "a file"
            raise FileNotFoundError(
                f"{section}: {config.root} is not a LeRobot dataset: expected a folder with "
                f"meta/info.json, found {found}"
            )
