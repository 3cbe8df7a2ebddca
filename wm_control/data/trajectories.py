"""Reading robot trajectories from LeRobot datasets, resampled by timestamps.

A trajectory is one episode seen at a fixed control rate (default 4 Hz, one action ≈ 0.25 s as in
the V-JEPA 2-AC release): frames ``uint8 [T, H, W, 3]``, states ``[T, P]`` and actions ``[T-1, A]``
where action ``t`` takes the robot from sample ``t`` to sample ``t+1``.

Resampling uses each row's ``timestamp`` column, never a video header's frame rate (raw DROID MP4
headers claim 60 fps for ~15 Hz streams). Actions come either from the dataset (the row of each
resampled step gives its action, so recorded actions must already be expressed at the control
rate) or are derived from consecutive resampled states in the DROID convention with
:func:`wm_control.pose.actions_from_states` (the right choice when the recording rate differs).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

ActionSource = Literal["dataset", "states"]


@dataclass(frozen=True)
class DatasetConfig:
    """Which LeRobot dataset to read and how.

    ``repo_id``: the dataset's id (a hub id such as ``lerobot/droid_100``, or any name for a local
    dataset). ``root``: a local dataset folder; ``None`` downloads ``repo_id`` from the hub.
    ``camera_key``/``state_key``: feature names of the camera and the end-effector state
    (xyz, extrinsic Euler xyz, gripper). ``action_source``: ``"dataset"`` reads ``action_key``;
    ``"states"`` derives DROID actions from consecutive resampled states. ``rate_hz``: the control
    rate the trajectories are resampled to. ``episodes``: a subset of episode indices, or ``None``.
    ``layout``: the action/state layout of the dataset's states and actions
    (:mod:`wm_control.layouts`: ``"droid"``, ``"ogbench"``, ...), which sets their widths and how
    actions are derived from states.
    """

    repo_id: str
    root: str | None = None
    camera_key: str = "observation.images.front"
    state_key: str = "observation.state"
    action_key: str = "action"
    action_source: ActionSource = "dataset"
    rate_hz: float = 4.0
    episodes: tuple[int, ...] | None = None
    video_backend: str = "pyav"
    layout: str = "droid"

    def __post_init__(self) -> None:
        from wm_control.layouts import get_layout

        get_layout(self.layout)  # an unknown layout lists the known ones
        if not isinstance(self.repo_id, str) or not self.repo_id:
            raise ValueError(
                f"DatasetConfig.repo_id: expected a non-empty string, found {self.repo_id!r}"
            )
        for name in ("camera_key", "state_key", "action_key"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"DatasetConfig.{name}: expected a feature name, found {value!r}")
        if self.action_source not in ("dataset", "states"):
            raise ValueError(
                "DatasetConfig.action_source: expected 'dataset' or 'states', found "
                f"{self.action_source!r}"
            )
        if not isinstance(self.rate_hz, (int, float)) or not self.rate_hz > 0:
            raise ValueError(
                f"DatasetConfig.rate_hz: expected a positive number, found {self.rate_hz!r}"
            )
        if self.episodes is not None:
            episodes = tuple(int(e) for e in self.episodes)
            if not episodes or any(e < 0 for e in episodes):
                raise ValueError(
                    "DatasetConfig.episodes: expected non-negative episode indices or None, found "
                    f"{self.episodes!r}"
                )
            object.__setattr__(self, "episodes", episodes)
        if self.video_backend not in ("pyav", "torchcodec", "video_reader"):
            raise ValueError(
                f"DatasetConfig.video_backend: expected 'pyav', 'torchcodec' or 'video_reader', "
                f"found {self.video_backend!r}"
            )


@dataclass(frozen=True)
class Trajectory:
    """One episode resampled to the control rate.

    ``frames`` uint8 ``[T, H, W, 3]`` (None when read without frames); ``states`` float32
    ``[T, P]``; ``actions`` float32 ``[T-1, A]``; ``timestamps`` float64 ``[T]`` (seconds, the
    source rows' timestamps).
    """

    episode_index: int
    frames: np.ndarray | None
    states: np.ndarray
    actions: np.ndarray
    timestamps: np.ndarray


def resample_indices(
    timestamps: np.ndarray, rate_hz: float, *, episode: int | None = None
) -> np.ndarray:
    """Row indices that sample an episode at ``rate_hz`` by its timestamps (nearest row).

    ``timestamps``: ``[L]`` seconds, strictly increasing. Targets are ``t_0 + k / rate_hz`` for
    every ``k`` whose target lies within the episode. Raises when the recording is slower than the
    target rate or has a gap wider than one target period (the nearest row would be more than half a
    period away), naming the episode and the time.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    where = "" if episode is None else f" in episode {episode}"
    if ts.ndim != 1 or ts.size == 0:
        raise ValueError(
            f"timestamps{where}: expected a non-empty 1-D array, found shape {ts.shape}"
        )
    if ts.size > 1 and not np.all(np.diff(ts) > 0):
        bad = int(np.argmin(np.diff(ts)))
        raise ValueError(
            f"timestamps{where} are not strictly increasing: row {bad} has {ts[bad]:.6f} s, "
            f"row {bad + 1} has {ts[bad + 1]:.6f} s"
        )
    period = 1.0 / float(rate_hz)
    count = int(np.floor((ts[-1] - ts[0]) / period + 1e-6)) + 1
    targets = ts[0] + period * np.arange(count)
    right = np.clip(np.searchsorted(ts, targets), 1, max(ts.size - 1, 1))
    left = right - 1
    if ts.size == 1:
        return np.zeros(count, dtype=np.int64)
    nearest = np.where(np.abs(ts[left] - targets) <= np.abs(ts[right] - targets), left, right)
    error = np.abs(ts[nearest] - targets)
    tolerance = 0.5 * period + 1e-6
    if np.any(error > tolerance):
        k = int(np.argmax(error))
        raise ValueError(
            f"cannot resample{where} to {rate_hz} Hz: no recorded frame within {tolerance:.4f} s "
            f"of t = {targets[k]:.4f} s (nearest {ts[nearest[k]]:.4f} s); the recording has a gap "
            "or is slower than the requested rate: lower data.rate_hz or drop the episode"
        )
    if np.any(np.diff(nearest) == 0):
        raise ValueError(
            f"cannot resample{where} to {rate_hz} Hz: the recording ({ts.size} rows over "
            f"{ts[-1] - ts[0]:.3f} s) is slower than the requested rate; lower data.rate_hz"
        )
    return nearest.astype(np.int64)


class TrajectoryReader:
    """Opens a LeRobot dataset, checks the configured keys and reads episodes as resampled
    :class:`Trajectory`.

    Pixels are decoded only for the resampled rows (one decoder call per episode chunk).
    """

    def __init__(self, config: DatasetConfig) -> None:
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        self.config = config
        self._dataset = LeRobotDataset(
            config.repo_id,
            root=None if config.root is None else Path(config.root).expanduser(),
            episodes=None if config.episodes is None else list(config.episodes),
            video_backend=config.video_backend,
        )
        self._check_keys()
        columns = ["timestamp", "episode_index", config.state_key]
        if config.action_source == "dataset":
            columns.append(config.action_key)
        table = self._dataset.hf_dataset.select_columns(columns).with_format("numpy")[:]
        self._columns = {key: np.asarray(value) for key, value in table.items()}
        self._check_widths()
        if (
            config.action_source == "dataset"
            and abs(float(self._dataset.meta.fps) - config.rate_hz) > 1e-6
        ):
            warnings.warn(
                f"dataset {config.repo_id!r} is recorded at {self._dataset.meta.fps} Hz and "
                f"resampled to {config.rate_hz} Hz: recorded actions are taken at each resampled "
                "row, which is only right for actions expressed at the control rate; use "
                "data.action_source=states for DROID deltas",
                stacklevel=2,
            )

    @property
    def root(self) -> Path:
        return Path(self._dataset.root)

    @property
    def episode_indices(self) -> list[int]:
        """The episodes present (sorted), restricted to ``config.episodes`` when given."""
        return sorted(int(e) for e in np.unique(self._columns["episode_index"]))

    def _check_keys(self) -> None:
        meta = self._dataset.meta
        available = sorted(meta.features)
        cfg = self.config
        cameras = sorted(meta.camera_keys)
        if cfg.camera_key not in meta.camera_keys:
            raise KeyError(
                f"data.camera_key={cfg.camera_key!r} is not a camera of dataset {cfg.repo_id!r}; "
                f"its cameras are {cameras} (all features: {available}); set data.camera_key to "
                "one of them"
            )
        wanted = [("data.state_key", cfg.state_key)]
        if cfg.action_source == "dataset":
            wanted.append(("data.action_key", cfg.action_key))
        for field, key in wanted:
            if key not in meta.features:
                hint = (
                    " or data.action_source=states to derive actions from states"
                    if field == "data.action_key"
                    else ""
                )
                raise KeyError(
                    f"{field}={key!r} is not a feature of dataset {cfg.repo_id!r}; available "
                    f"features: {available}; set {field} to one of them{hint}"
                )

    def _check_widths(self) -> None:
        from wm_control.layouts import get_layout

        cfg = self.config
        layout = get_layout(cfg.layout)
        state = self._columns[cfg.state_key]
        if state.ndim != 2 or state.shape[1] != layout.state_dim:
            raise ValueError(
                f"data.state_key={cfg.state_key!r}: expected {layout.state_dim} values per row "
                f"{list(layout.state_names)} (data.layout={cfg.layout!r}), found shape "
                f"{state.shape[1:]}"
            )
        if cfg.action_source == "dataset":
            action = self._columns[cfg.action_key]
            if action.ndim != 2 or action.shape[1] != layout.action_dim:
                raise ValueError(
                    f"data.action_key={cfg.action_key!r}: expected {layout.action_dim} values per "
                    f"row {list(layout.action_names)} (data.layout={cfg.layout!r}), found shape "
                    f"{action.shape[1:]}; use data.action_source=states to derive them"
                )

    def identity(self) -> dict[str, object]:
        """What identifies the dataset's content: its id, metadata and the sizes of its files.

        Metadata files are hashed; data and video files contribute their relative path and size
        (hashing gigabytes of video on every start would defeat the cache).
        """
        root = self.root
        digest = hashlib.sha256()
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(root).as_posix()
            if rel.startswith(".cache") or "/." in f"/{rel}":
                continue
            digest.update(rel.encode())
            if rel.startswith("meta/"):
                digest.update(path.read_bytes())
            else:
                digest.update(str(path.stat().st_size).encode())
        return {
            "repo_id": self.config.repo_id,
            "files_sha256": digest.hexdigest(),
            "total_frames": int(self._columns["timestamp"].shape[0]),
        }

    def episode_rows(self, episode: int) -> np.ndarray:
        """Row positions (in the loaded table) of ``episode``, in time order."""
        rows = np.flatnonzero(self._columns["episode_index"] == episode)
        if rows.size == 0:
            raise KeyError(f"episode {episode} is not in dataset {self.config.repo_id!r}")
        return rows[np.argsort(self._columns["timestamp"][rows], kind="stable")]

    def read(self, episode: int, *, with_frames: bool = True, chunk: int = 64) -> Trajectory:
        """Episode ``episode`` resampled to ``config.rate_hz`` (frames omitted when ``with_frames``
        is False)."""
        cfg = self.config
        rows = self.episode_rows(episode)
        timestamps = self._columns["timestamp"][rows].astype(np.float64)
        pick = rows[resample_indices(timestamps, cfg.rate_hz, episode=episode)]
        states = self._columns[cfg.state_key][pick].astype(np.float32)
        if cfg.action_source == "dataset":
            actions = self._columns[cfg.action_key][pick[:-1]].astype(np.float32)
        else:
            from wm_control.layouts import get_layout

            derive = get_layout(cfg.layout).from_states
            actions = derive(torch.from_numpy(states).double()).float().numpy()
        ts = self._columns["timestamp"][pick].astype(np.float64)
        frames = None
        if with_frames:
            frames = np.concatenate(
                [
                    self._frames(episode, pick[i : i + chunk], ts[i : i + chunk])
                    for i in range(0, len(pick), chunk)
                ]
            )
        return Trajectory(
            episode_index=episode, frames=frames, states=states, actions=actions, timestamps=ts
        )

    def _frames(self, episode: int, rows: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
        """uint8 ``[len(rows), H, W, 3]`` camera frames of the given rows."""
        key = self.config.camera_key
        meta = self._dataset.meta
        if key in meta.video_keys:
            from lerobot.datasets.video_utils import decode_video_frames

            ep = meta.episodes[episode]
            start = float(ep[f"videos/{key}/from_timestamp"])
            path = self.root / meta.get_video_file_path(episode, key)
            frames = decode_video_frames(
                path,
                [start + float(t) for t in timestamps],
                self._dataset.tolerance_s,
                self.config.video_backend,
            )  # float [T, 3, H, W] in [0, 1]
        else:
            items = self._dataset.hf_dataset.with_format(None)[rows.tolist()][key]
            frames = torch.stack([_image_to_tensor(item) for item in items])
        return (
            (frames.clamp(0, 1) * 255.0)
            .round()
            .to(torch.uint8)
            .permute(0, 2, 3, 1)
            .contiguous()
            .numpy()
        )


def read_recordings(
    roots: list[str], config: dict, *, with_frames: bool
) -> tuple[list[Trajectory], list[dict]]:
    """Every episode of the LeRobot datasets at ``roots``, read with ``config`` (the fields of a
    :class:`DatasetConfig`, its ``root`` replaced by each), and per dataset what it is: its root,
    episode count and, where ``collect`` recorded them, its policy, seed and command."""
    from .provenance import read_recording_record

    trajectories, datasets = [], []
    for root in roots:
        reader = TrajectoryReader(DatasetConfig(**{**config, "root": str(root)}))
        indices = reader.episode_indices
        trajectories += [reader.read(index, with_frames=with_frames) for index in indices]
        record = read_recording_record(root) or {}
        datasets.append(
            {
                "root": str(root),
                "episodes": len(indices),
                **{key: record[key] for key in ("policy", "seed", "command") if key in record},
            }
        )
    return trajectories, datasets


def _image_to_tensor(item: object) -> torch.Tensor:
    """A stored image (PIL image or ``[3, H, W]`` float tensor in [0, 1]) as a float tensor
    ``[3, H, W]``."""
    if isinstance(item, torch.Tensor):
        return item.float()
    array = np.array(item)  # a writable copy
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"expected an RGB image [H, W, 3], found shape {array.shape}")
    return torch.from_numpy(array).permute(2, 0, 1).float() / 255.0
