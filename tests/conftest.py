"""Test environment: offline, headless, isolated. Set here, never as a side effect of the
library."""

from __future__ import annotations

import os
import random
import sys
import tempfile

_TMP = tempfile.mkdtemp(prefix="wm-control-tests-")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HOME", os.path.join(_TMP, "hf"))
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
os.environ.setdefault("ROS_LOG_DIR", os.path.join(_TMP, "ros-log"))
os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(1, 200)))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))


def _absl_logs_to_the_real_stderr() -> None:
    """absl (imported by dm_control, for OGBench) logs to the ``sys.stderr`` of its import, and its
    handler closes that stream when Hydra reconfigures logging unless it is the current
    ``sys.stderr``. Under pytest the stream is the capture file of one test, and a later test that
    swaps ``sys.stderr`` (``capsys``) would see it closed; the real stderr is never closed."""
    try:
        from absl import logging as absl_logging
    except ImportError:
        return
    absl_logging.get_absl_handler().python_handler.setStream(sys.__stderr__)


_absl_logs_to_the_real_stderr()


FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture(scope="session")
def reference():
    """(arrays, model): the reference clip and the tiny model saved by Meta's official code
    (see tests/fixtures/README.md)."""
    import numpy as np

    from wm_control import WorldModel

    data = np.load(os.path.join(FIXTURES, "vjepa2_tiny_official.npz"))
    model = WorldModel.from_pretrained(
        os.path.join(FIXTURES, "vjepa2_tiny_official.pt"),
        encoder_num_heads=4,
        predictor_num_heads=4,
        image_size=64,
    )
    return data, model


@pytest.fixture(autouse=True)
def _normal_scheduling():
    """Tests that write videos through lerobot directly would leave the test process at real-time
    priority (see wm_control.runtime.preserved_scheduling); every test starts and ends at normal."""
    from wm_control.runtime import preserved_scheduling

    with preserved_scheduling():
        yield


@pytest.fixture(scope="session")
def ogbench_markov_recording(tmp_path_factory):
    """A real recording of OGBench's Markov oracle: one 200-step episode of `wm-control collect
    env=ogbench_cube_single policy=oracle_noisy seed=100000` (the first episode of the data the
    shipped grasp-lift map and object locator were made from), about 20 seconds."""
    from wm_control.cli.main import main

    folder = tmp_path_factory.mktemp("ogbench_markov")
    main(
        [
            "collect",
            "env=ogbench_cube_single",
            "policy=oracle_noisy",
            "episodes=1",
            "env.max_episode_steps=200",
            "seed=100000",
            f"output_dir={folder / 'noisy'}",
            "progress=false",
            f"hydra.run.dir={folder / 'collect'}",
        ]
    )
    return folder / "noisy"
