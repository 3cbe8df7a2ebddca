"""Fixtures of the ROS node tests: an rclpy context per test (ROS_DOMAIN_ID and ROS_LOG_DIR come
from tests/conftest.py), a tiny random world model checkpoint, torch limited to one thread."""

from __future__ import annotations

import gc
import sys
import uuid

import pytest
import rclpy
import torch
from rclpy.context import Context

from wm_control import WorldModel
from wm_control.models.config import EncoderConfig, PredictorConfig, WorldModelConfig


@pytest.fixture(scope="session", autouse=True)
def _no_collector_pauses():
    """The heap the earlier tests left in this process is collected and frozen out of the garbage
    collector's reach when the first ROS test starts: a full collection of it stops every thread for
    ~0.3 s (measured after the rest of the suite), longer than the 0.3 s input watchdog some tests
    run with. Collected before freezing and after thawing, so no garbage stays frozen (frozen
    executor futures reported their unretrieved exceptions only at interpreter exit, after the
    test summary). The node processes freeze their own startup heap (wm_control_ros.node_main)."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()
    gc.collect()


@pytest.fixture(autouse=True)
def _planner_switch_interval():
    """The GIL switch interval of the planner process (wm_control_ros.planner.configure_process) for
    the nodes these tests run in one process: with Python's 5 ms, the simulator thread next to a
    planner on a MultiThreadedExecutor fell from 40 to ~3 steps per second."""
    from wm_control_ros.planner import GIL_SWITCH_INTERVAL

    previous = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    yield
    sys.setswitchinterval(previous)


@pytest.fixture
def ros_context():
    context = Context()
    rclpy.init(context=context)
    yield context
    rclpy.try_shutdown(context=context)


@pytest.fixture
def ns():
    """A ROS namespace of this test alone: nodes of earlier tests (and their transient-local goal
    images) never reach it, even on the same ROS_DOMAIN_ID."""
    return f"/t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A random 1-layer world model on 64x64 frames, saved like a trained one."""
    torch.manual_seed(0)
    encoder = EncoderConfig(width=48, depth=1, num_heads=4, mlp_hidden=96, image_size=(64, 64))
    predictor = PredictorConfig(
        width=48, depth=1, num_heads=4, mlp_hidden=96, encoder_width=48, image_size=(64, 64)
    )
    path = tmp_path_factory.mktemp("tiny_world_model")
    WorldModel(WorldModelConfig(encoder=encoder, predictor=predictor)).save_pretrained(path)
    return path


@pytest.fixture
def one_torch_thread():
    """The planner sets torch's thread count (torch_threads=1 in these tests); restore it after."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
