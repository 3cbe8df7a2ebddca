"""The token cache: built once per frame, reused, rebuilt when the encoder or the data changes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from training_toys import CAMERA, tiny_world_model

from wm_control.data.token_cache import TokenCacheConfig, open_token_cache
from wm_control.data.trajectories import DatasetConfig, TrajectoryReader


def _data(root: Path, **overrides: object) -> DatasetConfig:
    return DatasetConfig(
        repo_id="test/toy_arm",
        root=str(root),
        camera_key=CAMERA,
        action_source="states",
        **overrides,
    )


def _forbid_encoding(wm: torch.nn.Module, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(frames: object) -> torch.Tensor:
        raise AssertionError("the cache should have been reused, but the encoder ran")

    monkeypatch.setattr(wm, "encode", fail)


def test_cache_holds_encoder_tokens_and_is_reused(
    toy_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wm = tiny_world_model()
    config = TokenCacheConfig(root=str(tmp_path), encode_batch=7)
    cache = open_token_cache(wm, _data(toy_dataset), config, progress=False)
    assert cache.built_now
    assert (
        cache.tokens.shape == (80, wm.tokens_per_frame, wm.token_dim)
        and cache.tokens.dtype == np.float16
    )
    assert isinstance(cache.tokens, np.memmap)
    traj = TrajectoryReader(_data(toy_dataset)).read(2)
    lo, hi = cache.offsets[2], cache.offsets[3]
    np.testing.assert_allclose(
        cache.tokens[lo:hi].astype(np.float32), wm.encode(traj.frames[None])[0].numpy(), atol=5e-3
    )
    np.testing.assert_allclose(cache.states[lo:hi], traj.states)
    np.testing.assert_allclose(cache.actions[lo : hi - 1], traj.actions)
    assert not list(tmp_path.glob(".*tmp*")), "no temporary folder may remain after a build"

    _forbid_encoding(wm, monkeypatch)
    again = open_token_cache(wm, _data(toy_dataset), config, progress=False)
    assert not again.built_now and again.path == cache.path


def test_cache_is_rebuilt_when_encoder_or_rate_changes(toy_dataset: Path, tmp_path: Path) -> None:
    config = TokenCacheConfig(root=str(tmp_path))
    wm = tiny_world_model()
    first = open_token_cache(wm, _data(toy_dataset), config, progress=False)
    with torch.no_grad():
        for param in wm.encoder.parameters():
            param.add_(0.1 * torch.randn_like(param))
    changed = open_token_cache(wm, _data(toy_dataset), config, progress=False)
    assert changed.built_now and changed.key != first.key
    assert not np.allclose(
        changed.tokens[:5].astype(np.float32), first.tokens[:5].astype(np.float32), atol=1e-3
    )
    other_rate = open_token_cache(wm, _data(toy_dataset, rate_hz=2.0), config, progress=False)
    assert other_rate.built_now and other_rate.tokens.shape[0] == 40


def test_damaged_cache_is_rebuilt(toy_dataset: Path, tmp_path: Path) -> None:
    config = TokenCacheConfig(root=str(tmp_path))
    wm = tiny_world_model()
    cache = open_token_cache(wm, _data(toy_dataset), config, progress=False)
    tokens_file = cache.path / "tokens.npy"
    data = tokens_file.read_bytes()
    del cache
    tokens_file.write_bytes(data[: len(data) // 2])
    rebuilt = open_token_cache(wm, _data(toy_dataset), replace(config), progress=False)
    assert rebuilt.built_now and rebuilt.tokens.shape[0] == 80


def test_combined_cache_concatenates_datasets_and_is_reused(
    toy_dataset: Path, second_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wm_control.data.token_cache import open_token_caches

    wm = tiny_world_model()
    config = TokenCacheConfig(root=str(tmp_path))
    datasets = [_data(toy_dataset), _data(second_dataset)]
    a, b = (open_token_cache(wm, d, config, progress=False) for d in datasets)
    combined = open_token_caches(wm, datasets, config, progress=False)
    assert combined.path not in (a.path, b.path)
    assert len(combined.tokens) == len(a.tokens) + len(b.tokens)
    assert [p["episodes"] for p in combined.parts] == [len(a.episodes), len(b.episodes)]
    np.testing.assert_array_equal(combined.tokens[len(a.tokens) :], b.tokens)
    np.testing.assert_array_equal(combined.states[: len(a.states)], a.states)
    assert (
        combined.offsets[-1] == len(combined.tokens)
        and len(combined.offsets) == len(a.episodes) + len(b.episodes) + 1
    )
    # windows never cross from one dataset into the other
    starts = combined.window_starts(4)
    assert len(starts) == len(a.window_starts(4)) + len(b.window_starts(4))
    assert combined.episode_ids(np.array([0, len(a.episodes)])) == [[0, 0], [1, 0]]
    states = np.concatenate([a.states, b.states])
    assert combined.stats["state"]["max"] == pytest.approx(states.max(0).tolist())

    _forbid_encoding(wm, monkeypatch)
    again = open_token_caches(wm, datasets, config, progress=False)
    assert again.path == combined.path and not again.built_now
    assert open_token_caches(wm, datasets[:1], config, progress=False).path == a.path
