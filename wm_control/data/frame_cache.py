"""Decoded, resampled camera frames of a dataset on disk, for encoder pretraining.

Pretraining changes the encoder every step, so it needs pixels, not tokens; decoding video on
every step would dominate a small model's step time. Frames are decoded once into::

    <cache root>/<dataset>-frames-<key[:16]>/
        frames.npy    [F, H, W, 3] uint8 (memory-mapped when read), at the dataset's resolution
        offsets.npy   [E+1] int64; episode e owns rows offsets[e]:offsets[e+1]
        manifest.json key, format version, shapes

keyed by the dataset identity, the camera and the resample rate, written atomically.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from wm_control.data.atomic import publish, temporary_sibling
from wm_control.data.trajectories import DatasetConfig, TrajectoryReader

FRAMES_FORMAT = "wm-control-frame-cache"
FRAMES_VERSION = 1


class FrameCache:
    """``frames [F, H, W, 3]`` uint8 (memory-mapped) and ``offsets [E+1]`` of one dataset."""

    def __init__(self, path: Path, *, built_now: bool = False) -> None:
        self.path = path
        self.manifest = json.loads((path / "manifest.json").read_text())
        self.frames: np.ndarray = np.load(path / "frames.npy", mmap_mode="r")
        self.offsets: np.ndarray = np.load(path / "offsets.npy")
        self.built_now = built_now

    def clip_starts(self, length: int) -> np.ndarray:
        """Rows ``s`` such that frames ``s … s+length-1`` lie in one episode."""
        starts = [
            np.arange(self.offsets[e], self.offsets[e + 1] - length + 1)
            for e in range(len(self.offsets) - 1)
        ]
        return np.concatenate(starts).astype(np.int64)


def open_frame_cache(data: DatasetConfig, root: Path, *, progress: bool = True) -> FrameCache:
    """The frame cache of ``data`` under ``root``: reused when complete, built otherwise."""
    reader = TrajectoryReader(replace_action_source(data))
    payload = {
        "format": FRAMES_FORMAT,
        "version": FRAMES_VERSION,
        "dataset": reader.identity(),
        "camera_key": data.camera_key,
        "rate_hz": float(data.rate_hz),
        "episodes": None if data.episodes is None else list(data.episodes),
    }
    key = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in data.repo_id)
    path = Path(root) / f"{slug}-frames-{key[:16]}"
    if _is_complete(path, key):
        return FrameCache(path)
    _build(reader, key, path, progress=progress)
    return FrameCache(path, built_now=True)


def _is_complete(path: Path, key: str) -> bool:
    """A finished cache of ``key`` whose files have the sizes its manifest records."""
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        return False
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("key") != key or "sizes" not in manifest:
        return False
    return all(
        (path / name).is_file() and (path / name).stat().st_size == size
        for name, size in manifest["sizes"].items()
    )


def replace_action_source(data: DatasetConfig) -> DatasetConfig:
    """``data`` reading states only (pretraining needs no actions, and the dataset may have
    none)."""
    return replace(data, action_source="states")


def _build(reader: TrajectoryReader, key: str, path: Path, *, progress: bool) -> None:
    from tqdm.auto import tqdm

    episodes = reader.episode_indices
    lengths = [len(reader.read(e, with_frames=False).states) for e in episodes]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    tmp = temporary_sibling(path)
    frames = None
    for e, episode in enumerate(tqdm(episodes, desc="decoding episodes", disable=not progress)):
        traj = reader.read(episode)
        if frames is None:
            frames = np.lib.format.open_memmap(
                tmp / "frames.npy",
                mode="w+",
                dtype=np.uint8,
                shape=(int(offsets[-1]), *traj.frames.shape[1:]),
            )
        if traj.frames.shape[1:] != frames.shape[1:]:
            raise ValueError(
                f"episode {episode} of {reader.config.repo_id!r} has frames "
                f"{traj.frames.shape[1:]}, earlier episodes {frames.shape[1:]}; a camera must keep "
                "one resolution"
            )
        frames[offsets[e] : offsets[e + 1]] = traj.frames
    if frames is None:
        raise ValueError(f"dataset {reader.config.repo_id!r} has no episodes")
    frames.flush()
    shape = list(frames.shape)
    del frames
    np.save(tmp / "offsets.npy", offsets)
    manifest = {
        "format": FRAMES_FORMAT,
        "version": FRAMES_VERSION,
        "key": key,
        "dataset": asdict(reader.config),
        "frames": shape,
        "sizes": {name: (tmp / name).stat().st_size for name in ("frames.npy", "offsets.npy")},
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    publish(tmp, path)
