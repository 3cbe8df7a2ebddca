"""Episode split, a resumable deterministic window order, and batches read from the token cache.

A training sample is a window of ``clip_frames`` consecutive resampled frames of one episode:
tokens ``[T, N, D]``, states ``[T, P]`` and the ``T-1`` actions between them ``[T-1, A]``.
The order of windows is a permutation drawn from ``(seed, epoch)``; the sampler's whole state is
``(epoch, cursor)``, so a resumed run sees exactly the batches the interrupted run would have seen.
Every step draws one *global* batch; with several processes each takes a contiguous shard of it,
so the data seen per step does not depend on the number of processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from wm_control.data.token_cache import TokenCache


def split_episodes(count: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``[0, count)`` split into (train, validation) episodes, deterministically by
    ``seed``.

    At least one validation episode when ``val_fraction > 0``, at least one training episode always.
    """
    if count < 1:
        raise ValueError("the dataset has no episodes")
    order = np.random.default_rng(seed).permutation(count)
    n_val = 0 if val_fraction <= 0 else min(max(1, round(val_fraction * count)), count - 1)
    if val_fraction > 0 and n_val == 0:
        raise ValueError(
            f"train.val_fraction={val_fraction} needs at least 2 episodes to hold one out; the "
            f"dataset has {count}"
        )
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def split_parts(counts: list[int], val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`split_episodes` within each part of a combined cache (``counts``: episodes per part,
    in order), so that every dataset keeps its share of validation episodes; global positions."""
    train, val, offset = [], [], 0
    for i, count in enumerate(counts):
        t, v = split_episodes(count, val_fraction, seed + i)
        train.append(t + offset)
        val.append(v + offset)
        offset += count
    return np.concatenate(train), np.concatenate(val)


class WindowSampler:
    """Global batches of window starts in a per-epoch permutation; state is ``(epoch, cursor)``."""

    def __init__(self, starts: np.ndarray, global_batch: int, seed: int) -> None:
        if len(starts) < global_batch:
            raise ValueError(
                f"train.batch_size={global_batch} is larger than the {len(starts)} training "
                "windows; lower the batch size or train.clip_frames, or add episodes"
            )
        self.starts = np.asarray(starts, dtype=np.int64)
        self.global_batch = global_batch
        self.seed = seed
        self.epoch = 0
        self.cursor = 0
        self._order = self._permutation(0)

    def _permutation(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.starts))

    def next_global(self) -> np.ndarray:
        """The next global batch ``[global_batch]`` of window starts (an epoch's tail is
        dropped)."""
        if self.cursor + self.global_batch > len(self.starts):
            self.epoch += 1
            self.cursor = 0
            self._order = self._permutation(self.epoch)
        picked = self.starts[self._order[self.cursor : self.cursor + self.global_batch]]
        self.cursor += self.global_batch
        return picked

    def state_dict(self) -> dict[str, int]:
        return {
            "epoch": self.epoch,
            "cursor": self.cursor,
            "seed": self.seed,
            "windows": len(self.starts),
        }

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state["seed"] != self.seed or state["windows"] != len(self.starts):
            raise ValueError(
                f"cannot resume the data order: the checkpoint has seed {state['seed']} over "
                f"{state['windows']} windows, this run has seed {self.seed} over "
                f"{len(self.starts)}; the dataset, split or clip length changed since the "
                "checkpoint"
            )
        self.epoch = int(state["epoch"])
        self.cursor = int(state["cursor"])
        self._order = self._permutation(self.epoch)


def shard(batch: np.ndarray, rank: int, world_size: int) -> np.ndarray:
    """This process's contiguous part of a global batch (the batch size must divide evenly)."""
    if len(batch) % world_size:
        raise ValueError(
            f"train.batch_size={len(batch)} must be divisible by the {world_size} processes"
        )
    size = len(batch) // world_size
    return batch[rank * size : (rank + 1) * size]


@dataclass(frozen=True)
class Batch:
    """tokens ``[B, T, N, D]`` float32, states ``[B, T, P]``, actions ``[B, T-1, A]``."""

    tokens: torch.Tensor
    states: torch.Tensor
    actions: torch.Tensor


def read_batch(
    cache: TokenCache, starts: np.ndarray, clip_frames: int, device: torch.device
) -> Batch:
    """The windows beginning at ``starts`` (rows of the cache), as tensors on ``device``."""
    rows = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(clip_frames)  # [B, T]
    tokens = torch.from_numpy(np.asarray(cache.tokens[rows.reshape(-1)], dtype=np.float32))
    tokens = tokens.view(len(starts), clip_frames, *tokens.shape[1:])
    states = torch.from_numpy(np.asarray(cache.states[rows], dtype=np.float32))
    actions = torch.from_numpy(np.asarray(cache.actions[rows[:, :-1]], dtype=np.float32))
    return Batch(tokens=tokens.to(device), states=states.to(device), actions=actions.to(device))
