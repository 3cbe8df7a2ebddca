"""What made a dataset: the record ``wm-control collect`` keeps next to LeRobot's metadata.

``meta/wm_control_collect.json`` holds the command and the recording settings (task, policy, noise,
seed, episodes). It is written into the dataset before the dataset is published, so a finished
dataset always carries it; training and pretraining copy it into their checkpoints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RECORD_PATH = Path("meta") / "wm_control_collect.json"


def write_recording_record(dataset_root: str | Path, record: dict[str, Any]) -> None:
    """Store ``record`` (JSON-serialisable) in the dataset at ``dataset_root``."""
    path = Path(dataset_root) / RECORD_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, sort_keys=True))


def read_recording_record(dataset_root: str | Path) -> dict[str, Any] | None:
    """The record of a local dataset folder; ``None`` for datasets recorded otherwise (or hub
    ids)."""
    path = Path(dataset_root).expanduser() / RECORD_PATH
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def recording_records(roots: list[str]) -> dict[str, dict[str, Any] | None]:
    """``{root: record or None}`` for every dataset root, as given."""
    return {root: read_recording_record(root) for root in roots}
