"""Training checkpoints: a self-describing model plus the state needed to continue the same run.

Layout of ``<run>/checkpoints/``::

    step_00001000/
        model/            WorldModel.save_pretrained: model.safetensors with config + metadata
        training_state.pt optimizer, step, data order, RNG states (tensors and plain containers)
        manifest.json     format, version, step and the size and sha256 of every file above
    latest                name of the newest complete checkpoint

A checkpoint is written into a temporary folder, every file fsynced, then renamed into place; only
then does ``latest`` move (written the same way). ``training_state.pt`` holds no pickled objects
and is read with ``torch.load(weights_only=True)``. Before a checkpoint is used, every file is
checked against the manifest: a file whose size or content differs (truncated, or damaged in place)
is refused with its name instead of being half-loaded or trained on. Manifests of version 1
(written before checksums) record sizes only, and only sizes are checked for them.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from wm_control.checkpoints.common import CheckpointError as _LoadError
from wm_control.data.atomic import fsync_path, publish, temporary_sibling

if TYPE_CHECKING:
    from wm_control.world_model import WorldModel

STATE_FORMAT = "wm-control-training-state"
STATE_VERSION = 1  # of training_state.pt
MANIFEST_VERSION = 2  # of manifest.json: 1 recorded sizes, 2 sizes and sha256
LATEST = "latest"


class CheckpointError(_LoadError):
    """A checkpoint that cannot be used: missing, truncated, corrupt or from another format."""


def checkpoint_name(step: int) -> str:
    return f"step_{step:08d}"


def rng_state() -> dict[str, Any]:
    """Python, numpy, torch (CPU and CUDA) generator states as tensors and plain containers."""
    np_state = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": {
            "name": np_state[0],
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = state["numpy"]
    np.random.set_state(
        (
            np_state["name"],
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    directory: Path,
    step: int,
    wm: WorldModel,
    metadata: dict[str, Any],
    training_state: dict[str, Any],
    *,
    keep_last: int,
) -> Path:
    """Write checkpoint ``step`` atomically under ``directory``, point ``latest`` at it, prune old
    ones.

    Returns the final checkpoint folder.
    """
    final = directory / checkpoint_name(step)
    tmp = temporary_sibling(final)
    wm.save_pretrained(tmp / "model", metadata=metadata)
    state = {"format": STATE_FORMAT, "version": STATE_VERSION, "step": step, **training_state}
    with open(tmp / "training_state.pt", "wb") as handle:
        torch.save(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    files = {
        p.relative_to(tmp).as_posix(): {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
        for p in sorted(tmp.rglob("*"))
        if p.is_file()
    }
    manifest = {"format": STATE_FORMAT, "version": MANIFEST_VERSION, "step": step, "files": files}
    _write_synced(tmp / "manifest.json", json.dumps(manifest, indent=1).encode())
    publish(tmp, final)
    _write_synced(directory / f".{LATEST}.tmp-{os.getpid()}", final.name.encode())
    os.replace(directory / f".{LATEST}.tmp-{os.getpid()}", directory / LATEST)
    fsync_path(directory)
    _prune(directory, keep_last)
    return final


def checkpoint_to_resume(out_dir: Path, resume: bool) -> tuple[Path, Path | None]:
    """(checkpoint folder of the run in ``out_dir``, its latest checkpoint or None). A run folder
    that already holds checkpoints is only continued when ``resume`` is set, never overwritten."""
    directory = Path(out_dir) / "checkpoints"
    latest = latest_checkpoint(directory)
    if latest is not None and not resume:
        raise FileExistsError(
            f"{out_dir} already holds checkpoints (latest {latest.name}); pass resume=true to "
            "continue that run or choose another out_dir"
        )
    return directory, latest


def check_same_run(stored: dict[str, Any], current: dict[str, Any], path: Path, steps: int) -> None:
    """Refuse to continue checkpoint ``path`` with another run: every field of the ``current``
    run identity must equal the ``stored`` one (fields that are no longer part of the identity,
    such as ``steps`` in older checkpoints, are not compared), and ``steps`` may grow but not fall
    below the step the checkpoint was saved at."""
    stored, current = json.loads(json.dumps(stored)), json.loads(json.dumps(current))
    differ = sorted(k for k in current if stored.get(k) != current[k])
    if differ:
        details = "; ".join(
            f"{k}: checkpoint {stored.get(k)!r}, now {current[k]!r}" for k in differ
        )
        raise ValueError(
            f"cannot resume from {path}: the run's configuration changed ({details}); restore "
            f"those settings or start a new run in another out_dir"
        )
    step = int(path.name.removeprefix("step_")) if path.name.startswith("step_") else 0
    if steps < step:
        raise ValueError(
            f"cannot resume from {path}: the run is at step {step}, beyond steps={steps}; set "
            f"steps to {step} or more"
        )


def latest_checkpoint(directory: Path) -> Path | None:
    """The checkpoint ``latest`` points at, or None when the run has none yet."""
    pointer = directory / LATEST
    if not pointer.is_file():
        return None
    path = directory / pointer.read_text().strip()
    if not path.is_dir():
        raise CheckpointError(
            f"{pointer} names {path.name!r}, which does not exist; remove {pointer} to start "
            "afresh or write the name of an existing checkpoint folder into it"
        )
    return path


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify_checkpoint(path: Path) -> dict[str, Any]:
    """The manifest of checkpoint ``path`` after checking that every file is present, complete and
    unchanged since it was written."""
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise CheckpointError(f"{path} is not a complete checkpoint: manifest.json is missing")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as error:
        raise CheckpointError(
            f"{manifest_path} is corrupt ({error}); use an earlier checkpoint"
        ) from error
    version = manifest.get("version")
    if manifest.get("format") != STATE_FORMAT or version not in (1, MANIFEST_VERSION):
        raise CheckpointError(
            f"{path}: expected a {STATE_FORMAT} checkpoint manifest version 1 … "
            f"{MANIFEST_VERSION}, found {manifest.get('format')!r} version {version!r}"
        )
    remedy = (
        f"resume from an earlier checkpoint (write its folder name into {path.parent / LATEST}) "
        f"or start a new run"
    )
    for name, recorded in manifest["files"].items():
        size, sha256 = (recorded, None) if version == 1 else (recorded["bytes"], recorded["sha256"])
        file = path / name
        if not file.is_file():
            raise CheckpointError(f"checkpoint {path} is incomplete: {name} is missing; {remedy}")
        found = file.stat().st_size
        if found != size:
            raise CheckpointError(
                f"checkpoint {path} is truncated or corrupt: {name} has {found} bytes, the "
                f"manifest records {size}; {remedy}"
            )
        if sha256 is not None and (digest := file_sha256(file)) != sha256:
            raise CheckpointError(
                f"checkpoint {path} is corrupt: the content of {name} differs from what was "
                f"written (sha256 {sha256[:16]}…, found {digest[:16]}…); {remedy}"
            )
    return manifest


def load_training_state(path: Path) -> dict[str, Any]:
    """The verified training state of checkpoint ``path`` (loaded with ``weights_only=True``)."""
    verify_checkpoint(path)
    file = path / "training_state.pt"
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for damaged archives
        raise CheckpointError(
            f"cannot read {file}: {type(error).__name__}: {error}; the file is damaged, resume "
            "from an earlier checkpoint or start a new run"
        ) from error
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{file} is not a {STATE_FORMAT} file")
    return state


def _prune(directory: Path, keep_last: int) -> None:
    done = sorted(p for p in directory.glob("step_*") if p.is_dir())
    for old in done[: max(len(done) - keep_last, 0)]:
        shutil.rmtree(old)


def _write_synced(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and flush it to disk."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
