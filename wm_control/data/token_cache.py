"""An on-disk cache of frozen-encoder tokens for every resampled frame of a dataset.

The encoder runs once per frame; training then reads tokens, not pixels. A cache is a folder::

    <cache root>/<dataset>-<key[:16]>/
        tokens.npy    [F, N, D]  float16 (or float32), layer-normed, memory-mapped when read
        states.npy    [F, P]     float32
        actions.npy   [F, A]     float32; row t is the action from frame t to t+1 (zeros on the
                                 last frame of each episode, never used)
        offsets.npy   [E+1]      int64; episode e owns rows offsets[e]:offsets[e+1]
        episodes.npy  [E]        int64; the dataset's episode index of each episode
        manifest.json            key, format version, shapes, normalisation stats

The key hashes the encoder fingerprint (weights and preprocessing, from
``WorldModel.encoder_fingerprint()``), the dataset identity (id, metadata, file sizes), the keys
read, the action source and the resample rate. A cache whose key or manifest does not match is
rebuilt; a new cache is written into a temporary folder, fsynced and renamed into place, so a
killed build never leaves a half-written cache behind.

Several datasets (e.g. one per task) train together through a *combined* cache: the caches of the
datasets, concatenated episode after episode into one folder of the same layout, keyed by the
keys of its parts; its manifest lists the parts (dataset, key, episode count) and its
normalisation stats cover all of them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from wm_control.data.atomic import publish, temporary_sibling
from wm_control.data.trajectories import DatasetConfig, TrajectoryReader

if TYPE_CHECKING:
    from wm_control.world_model import WorldModel

CACHE_FORMAT = "wm-control-token-cache"
CACHE_VERSION = 1
_ARRAYS = ("tokens", "states", "actions", "offsets", "episodes")


@dataclass(frozen=True)
class TokenCacheConfig:
    """Where caches live, the stored precision and how many frames go through the encoder at
    once."""

    root: str = "cache/tokens"
    dtype: Literal["float16", "float32"] = "float16"
    encode_batch: int = 32

    def __post_init__(self) -> None:
        if not isinstance(self.root, str) or not self.root:
            raise ValueError(f"TokenCacheConfig.root: expected a folder path, found {self.root!r}")
        if self.dtype not in ("float16", "float32"):
            raise ValueError(
                f"TokenCacheConfig.dtype: expected 'float16' or 'float32', found {self.dtype!r}"
            )
        if not isinstance(self.encode_batch, int) or self.encode_batch <= 0:
            raise ValueError(
                "TokenCacheConfig.encode_batch: expected a positive int, found "
                f"{self.encode_batch!r}"
            )


class TokenCache:
    """A finished cache opened read-only; arrays are memory-mapped.

    ``tokens [F, N, D]``, ``states [F, P]``, ``actions [F, A]``, ``offsets [E+1]``,
    ``episodes [E]``; ``manifest`` is the parsed ``manifest.json``; ``built_now`` tells whether this
    process encoded it (False when an existing cache was reused).
    """

    def __init__(self, path: Path, *, built_now: bool = False) -> None:
        self.path = Path(path)
        self.manifest = json.loads((self.path / "manifest.json").read_text())
        arrays = {name: np.load(self.path / f"{name}.npy", mmap_mode="r") for name in _ARRAYS}
        self.tokens: np.ndarray = arrays["tokens"]
        self.states: np.ndarray = arrays["states"]
        self.actions: np.ndarray = arrays["actions"]
        self.offsets: np.ndarray = np.asarray(arrays["offsets"])
        self.episodes: np.ndarray = np.asarray(arrays["episodes"])
        self.built_now = built_now

    @property
    def key(self) -> str:
        return str(self.manifest["key"])

    @property
    def parts(self) -> list[dict]:
        """The datasets of a combined cache (``dataset``, ``key``, ``episodes``); one entry
        otherwise."""
        return self.manifest.get("parts") or [
            {"dataset": self.manifest["dataset"], "key": self.key, "episodes": len(self.episodes)}
        ]

    def episode_ids(self, positions: np.ndarray) -> list:
        """Names of the episodes at ``positions``: the dataset's episode index for a single-dataset
        cache, ``[part, episode index]`` pairs for a combined one."""
        positions = np.asarray(positions, dtype=np.int64)
        if "parts" not in self.manifest:
            return self.episodes[positions].tolist()
        bounds = np.cumsum([0] + [part["episodes"] for part in self.parts])
        part_of = np.searchsorted(bounds, positions, side="right") - 1
        return [[int(p), int(e)] for p, e in zip(part_of, self.episodes[positions])]

    @property
    def stats(self) -> dict[str, dict[str, list[float]]]:
        """Per-dimension mean/std/min/max of states and actions (JSON-ready)."""
        return self.manifest["stats"]

    def window_starts(self, length: int, episodes: np.ndarray | None = None) -> np.ndarray:
        """Rows ``s`` such that frames ``s … s+length-1`` lie in one episode (``episodes``:
        positions into ``self.episodes`` to draw from, all when None)."""
        chosen = np.arange(len(self.episodes)) if episodes is None else np.asarray(episodes)
        starts = [np.arange(self.offsets[e], self.offsets[e + 1] - length + 1) for e in chosen]
        return np.concatenate(starts).astype(np.int64) if starts else np.zeros(0, dtype=np.int64)


def cache_key(
    fingerprint: str, identity: dict[str, object], data: DatasetConfig, dtype: str
) -> str:
    """The sha256 naming a cache: encoder fingerprint + dataset identity + what is read and how."""
    payload = {
        "format": CACHE_FORMAT,
        "version": CACHE_VERSION,
        "encoder": fingerprint,
        "dataset": identity,
        "camera_key": data.camera_key,
        "state_key": data.state_key,
        "action_key": data.action_key if data.action_source == "dataset" else None,
        "action_source": data.action_source,
        "rate_hz": float(data.rate_hz),
        "episodes": None if data.episodes is None else list(data.episodes),
        "dtype": dtype,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def cache_path(cache: TokenCacheConfig, data: DatasetConfig, key: str) -> Path:
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in data.repo_id)
    return Path(cache.root).expanduser() / f"{slug}-{key[:16]}"


def open_token_cache(
    wm: WorldModel, data: DatasetConfig, cache: TokenCacheConfig, *, progress: bool = True
) -> TokenCache:
    """The cache of ``data`` under ``wm``'s encoder: reused when valid, (re)built otherwise."""
    reader = TrajectoryReader(data)
    key = cache_key(wm.encoder_fingerprint(), reader.identity(), data, cache.dtype)
    path = cache_path(cache, data, key)
    if _is_valid(path, key):
        return TokenCache(path)
    if path.exists():
        shutil.rmtree(path)
    _build(wm, reader, cache, key, path, progress=progress)
    return TokenCache(path, built_now=True)


def open_token_caches(
    wm: WorldModel,
    datasets: Sequence[DatasetConfig],
    cache: TokenCacheConfig,
    *,
    progress: bool = True,
) -> TokenCache:
    """One cache over several datasets: each dataset's cache (reused or built), then their
    concatenation (reused when its parts are unchanged). A single dataset gives its own cache."""
    if not datasets:
        raise ValueError("open_token_caches: expected at least one dataset, found none")
    parts = [open_token_cache(wm, data, cache, progress=progress) for data in datasets]
    if len(parts) == 1:
        return parts[0]
    shapes = {(p.manifest["tokens_per_frame"], p.manifest["token_dim"]) for p in parts}
    if (
        len(shapes) > 1
    ):  # cannot happen with one encoder, but a corrupt manifest must not slip through
        raise ValueError(
            f"the datasets' token caches disagree on tokens per frame / width: {sorted(shapes)}"
        )
    payload = {"format": CACHE_FORMAT, "version": CACHE_VERSION, "parts": [p.key for p in parts]}
    key = hashlib.sha256(json.dumps(payload).encode()).hexdigest()
    path = Path(cache.root).expanduser() / f"combined-{len(parts)}-{key[:16]}"
    if _is_valid(path, key):
        return TokenCache(path)
    if path.exists():
        shutil.rmtree(path)
    _combine(parts, key, path)
    return TokenCache(path, built_now=True)


def _combine(parts: list[TokenCache], key: str, path: Path) -> None:
    """Concatenate finished caches into one at ``path`` (atomic)."""
    tmp = temporary_sibling(path)
    total = sum(len(p.tokens) for p in parts)
    first = parts[0].tokens
    tokens = np.lib.format.open_memmap(
        tmp / "tokens.npy", mode="w+", dtype=first.dtype, shape=(total, *first.shape[1:])
    )
    row = 0
    for part in parts:
        tokens[row : row + len(part.tokens)] = part.tokens
        row += len(part.tokens)
    tokens.flush()
    del tokens
    starts = np.cumsum([0] + [len(p.tokens) for p in parts[:-1]])
    offsets = np.concatenate(
        [[0]] + [p.offsets[1:] + start for p, start in zip(parts, starts)]
    ).astype(np.int64)
    states = np.concatenate([np.asarray(p.states) for p in parts])
    actions = np.concatenate([np.asarray(p.actions) for p in parts])
    arrays = {
        "states": states,
        "actions": actions,
        "offsets": offsets,
        "episodes": np.concatenate([p.episodes for p in parts]).astype(np.int64),
    }
    for name, array in arrays.items():
        np.save(tmp / f"{name}.npy", array)
    valid_actions = np.concatenate(
        [actions[offsets[e] : offsets[e + 1] - 1] for e in range(len(offsets) - 1)]
    )
    manifest = {
        "format": CACHE_FORMAT,
        "version": CACHE_VERSION,
        "key": key,
        "dataset": "combined",
        "parts": [
            {"dataset": p.manifest["dataset"], "key": p.key, "episodes": len(p.episodes)}
            for p in parts
        ],
        "frames": total,
        "tokens_per_frame": parts[0].manifest["tokens_per_frame"],
        "token_dim": parts[0].manifest["token_dim"],
        "dtype": parts[0].manifest["dtype"],
        "stats": {"state": _stats(states), "action": _stats(valid_actions)},
        "sizes": {name: (tmp / f"{name}.npy").stat().st_size for name in _ARRAYS},
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    publish(tmp, path)


def _is_valid(path: Path, key: str) -> bool:
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        return False
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError:
        return False
    if (
        manifest.get("format") != CACHE_FORMAT
        or manifest.get("version") != CACHE_VERSION
        or manifest.get("key") != key
    ):
        return False
    for name in _ARRAYS:
        file = path / f"{name}.npy"
        if not file.is_file() or file.stat().st_size != manifest["sizes"][name]:
            return False
    return True


def _build(
    wm: WorldModel,
    reader: TrajectoryReader,
    cache: TokenCacheConfig,
    key: str,
    path: Path,
    *,
    progress: bool,
) -> None:
    from tqdm.auto import tqdm

    episodes = reader.episode_indices
    lengths = [len(reader.read(e, with_frames=False).states) for e in episodes]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    total = int(offsets[-1])
    n, d = wm.tokens_per_frame, wm.token_dim
    tmp = temporary_sibling(path)
    tokens = np.lib.format.open_memmap(
        tmp / "tokens.npy", mode="w+", dtype=np.dtype(cache.dtype), shape=(total, n, d)
    )
    from wm_control.layouts import get_layout

    layout = get_layout(reader.config.layout)
    states = np.zeros((total, layout.state_dim), dtype=np.float32)
    actions = np.zeros((total, layout.action_dim), dtype=np.float32)
    bar = tqdm(total=total, desc="encoding frames", unit="frame", disable=not progress)
    for e, episode in enumerate(episodes):
        traj = reader.read(episode)
        lo = int(offsets[e])
        if len(traj.states) != lengths[e]:
            raise RuntimeError(f"episode {episode} changed length while the cache was built")
        for i in range(0, len(traj.frames), cache.encode_batch):
            chunk = traj.frames[i : i + cache.encode_batch]  # [t, H, W, 3]
            encoded = wm.encode(chunk[None])[0]  # [t, N, D]
            tokens[lo + i : lo + i + len(chunk)] = encoded.float().cpu().numpy().astype(cache.dtype)
            bar.update(len(chunk))
        states[lo : lo + len(traj.states)] = traj.states
        actions[lo : lo + len(traj.actions)] = traj.actions
    bar.close()
    tokens.flush()
    del tokens
    valid_actions = np.concatenate(
        [actions[offsets[e] : offsets[e + 1] - 1] for e in range(len(episodes))]
    )
    arrays = {
        "states": states,
        "actions": actions,
        "offsets": offsets,
        "episodes": np.asarray(episodes, dtype=np.int64),
    }
    for name, array in arrays.items():
        np.save(tmp / f"{name}.npy", array)
    manifest = {
        "format": CACHE_FORMAT,
        "version": CACHE_VERSION,
        "key": key,
        "dataset": asdict(reader.config),
        "frames": total,
        "tokens_per_frame": n,
        "token_dim": d,
        "dtype": cache.dtype,
        "stats": {"state": _stats(states), "action": _stats(valid_actions)},
        "sizes": {name: (tmp / f"{name}.npy").stat().st_size for name in _ARRAYS},
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    publish(tmp, path)


def _stats(values: np.ndarray) -> dict[str, list[float]]:
    if len(values) == 0:
        zeros = [0.0] * values.shape[1]
        return {"mean": zeros, "std": zeros, "min": zeros, "max": zeros}
    return {
        "mean": values.mean(0).tolist(),
        "std": values.std(0).tolist(),
        "min": values.min(0).tolist(),
        "max": values.max(0).tolist(),
    }
