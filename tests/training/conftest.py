"""Fixtures of the training tests (the helpers live in ``training_toys``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from training_toys import make_dataset, tiny_world_model  # noqa: E402


@pytest.fixture(scope="session")
def toy_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("datasets") / "toy_arm")


@pytest.fixture(scope="session")
def second_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another toy dataset (3 shorter episodes), for training on several datasets."""
    return make_dataset(
        tmp_path_factory.mktemp("datasets") / "toy_arm_b", episodes=3, length=24, seed=5
    )


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny world model (encoder + predictor) that ``from_pretrained`` loads."""
    path = tmp_path_factory.mktemp("models") / "tiny"
    tiny_world_model().save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A token-cache folder shared by the training tests (same dataset and encoder → one build)."""
    return tmp_path_factory.mktemp("token_cache")
