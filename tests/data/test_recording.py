"""Recording simulated episodes into LeRobot datasets: round trip, safe writing, the CLI."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from lerobot.datasets.lerobot_dataset import LeRobotDataset

import envs  # noqa: F401
from envs.experts import make_policy
from wm_control.data.recording import DatasetSpec, SafeDatasetWriter, record_episodes

SIZE = 64
REPO_ID = "local/test_sim"


class _Spy:
    """Wraps a policy, keeps what it was shown and what it returned, and raises ``fail`` at
    (episode, step) ``fail_at`` when given."""

    def __init__(self, policy, fail_at=None, fail=None):
        self.policy = policy
        self.fail_at, self.fail = fail_at, fail
        self.episode, self.step = -1, 0
        self.states: list[np.ndarray] = []
        self.frames: list[dict[str, np.ndarray]] = []
        self.actions: list[np.ndarray] = []

    def reset(self, seed=None):
        self.policy.reset(seed)
        self.episode, self.step = self.episode + 1, 0

    def __call__(self, observation, info):
        if (self.episode, self.step) == self.fail_at:
            raise self.fail("stop")
        self.step += 1
        action = self.policy(observation, info)
        self.states.append(observation["state"].copy())
        self.frames.append({k: observation[k].copy() for k in ("pixels", "wrist_pixels")})
        self.actions.append(action)
        return action


def _load(root: Path) -> LeRobotDataset:
    return LeRobotDataset(REPO_ID, root=root, video_backend="pyav")


def _record(tmp_path: Path, episodes: int, fail_at=None, fail=None, frames: str = "video"):
    env = gym.make("wm_control/Push-v2", image_size=SIZE, wrist_camera=True, max_episode_steps=12)
    spy = _Spy(make_policy("expert", env, noise=0.1, seed=0), fail_at, fail)
    spec = DatasetSpec(
        repo_id=REPO_ID, fps=4, image_size=SIZE, cameras=("exterior", "wrist"), frames=frames
    )
    output = tmp_path / "ds"
    try:
        with SafeDatasetWriter(output, spec) as writer:
            summary = record_episodes(
                env,
                spy,
                writer,
                episodes=episodes,
                task="push it",
                seed=3,
                steps_after_success=1,
                progress=False,
            )
    finally:
        env.close()
    return output, spy, summary


def test_round_trip_gives_the_recorded_states_actions_and_frames(tmp_path):
    output, spy, summary = _record(tmp_path, episodes=2)
    dataset = _load(output)
    assert dataset.num_episodes == 2 and dataset.fps == 4
    assert dataset.num_frames == summary.frames == len(spy.states)
    assert set(dataset.meta.video_keys) == {
        "observation.images.exterior",
        "observation.images.wrist",
    }
    errors = []
    for i in range(dataset.num_frames):
        item = dataset[i]
        np.testing.assert_array_equal(item["observation.state"].numpy(), spy.states[i])
        np.testing.assert_array_equal(item["action"].numpy(), spy.actions[i])
        assert item["task"] == "push it"
        for camera, key in (("exterior", "pixels"), ("wrist", "wrist_pixels")):
            decoded = item[f"observation.images.{camera}"].numpy()  # (3, H, W) float in [0, 1]
            assert decoded.shape == (3, SIZE, SIZE)
            original = spy.frames[i][key].transpose(2, 0, 1) / 255.0
            errors.append(np.abs(decoded - original).mean())
    assert max(errors) < 0.03, f"mean absolute decoding error per frame up to {max(errors):.4f}"
    assert not list(tmp_path.glob(".*partial*"))


def test_png_frames_round_trip_bit_for_bit(tmp_path):
    """``frames="png"`` stores the camera frames losslessly: LeRobot and the project's own reader
    (what training's token and frame caches read) give back exactly the rendered pixels, where
    the default video differs by its compression."""
    from wm_control.data.trajectories import DatasetConfig, TrajectoryReader

    output, spy, summary = _record(tmp_path, episodes=2, frames="png")
    dataset = _load(output)
    assert dataset.meta.video_keys == [] and not (output / "videos").exists()
    assert dataset.num_frames == summary.frames == len(spy.states)
    for i in range(dataset.num_frames):
        stored = dataset[i]["observation.images.wrist"].numpy()  # (3, H, W) float in [0, 1]
        np.testing.assert_array_equal(
            np.round(stored * 255.0).astype(np.uint8),
            spy.frames[i]["wrist_pixels"].transpose(2, 0, 1),
        )
    reader = TrajectoryReader(
        DatasetConfig(repo_id=REPO_ID, root=str(output), camera_key="observation.images.exterior")
    )
    rows = 0
    for episode in reader.episode_indices:
        frames = reader.read(episode).frames  # [T, H, W, 3] uint8
        expected = np.stack([f["pixels"] for f in spy.frames[rows : rows + len(frames)]])
        np.testing.assert_array_equal(frames, expected)
        rows += len(frames)
    assert rows == len(spy.frames)


def test_unknown_frame_storage_is_refused():
    with pytest.raises(ValueError, match=r"frames must be one of \('video', 'png'\), found 'jpeg'"):
        DatasetSpec(repo_id=REPO_ID, fps=4, image_size=SIZE, frames="jpeg")


class _Boom(Exception):
    pass


@pytest.mark.parametrize("error", [_Boom, KeyboardInterrupt])
def test_interrupted_recording_keeps_the_finished_episodes_readable(tmp_path, error):
    with pytest.raises(error):
        _record(tmp_path, episodes=3, fail_at=(1, 3), fail=error)
    dataset = _load(tmp_path / "ds")
    assert dataset.num_episodes == 1
    assert dataset[dataset.num_frames - 1]["episode_index"].item() == 0
    assert not list(tmp_path.glob(".*partial*"))


def test_ctrl_c_right_after_the_saving_message_is_held_until_the_episodes_are_saved(
    tmp_path, capsys
):
    """The user reads "saving the N finished episodes" and presses Ctrl-C at once: that press is
    held like any other during saving (it once landed before the hold was in place and left the
    episodes unpublished)."""

    class _PressOnSaving(logging.Handler):
        def emit(self, record):
            if "saving the" in record.getMessage():
                os.kill(os.getpid(), signal.SIGINT)

    press = _PressOnSaving()
    logger = logging.getLogger("wm_control.data.recording")
    logger.addHandler(press)
    # Python's own handler, as the command has it (a test run started from a background job
    # begins with SIGINT ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            _record(tmp_path, episodes=3, fail_at=(1, 3), fail=KeyboardInterrupt)
    finally:
        signal.signal(signal.SIGINT, previous)
        logger.removeHandler(press)
    assert "still saving the 1 finished episodes" in capsys.readouterr().err
    assert _load(tmp_path / "ds").num_episodes == 1
    assert not list(tmp_path.glob(".*partial*"))


def test_interrupted_first_episode_leaves_nothing(tmp_path):
    with pytest.raises(_Boom):
        _record(tmp_path, episodes=2, fail_at=(0, 2), fail=_Boom)
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_not_overwritten_by_default(tmp_path):
    (tmp_path / "ds").mkdir()
    spec = DatasetSpec(repo_id=REPO_ID, fps=4, image_size=SIZE)
    with pytest.raises(FileExistsError, match="overwrite"):
        SafeDatasetWriter(tmp_path / "ds", spec)
    with pytest.raises(ValueError, match="cameras"):
        DatasetSpec(repo_id=REPO_ID, fps=4, image_size=SIZE, cameras=("top",))


def test_collect_command_writes_a_dataset(tmp_path):
    from wm_control.cli.main import main

    output = tmp_path / "collected"
    main(
        [
            "collect",
            "env=reach",
            "episodes=2",
            "policy=random",
            "env.image_size=32",
            "env.max_episode_steps=5",
            "frames=png",
            f"output_dir={output}",
            "progress=false",
            f"hydra.run.dir={tmp_path / 'run'}",
        ]
    )
    dataset = _load(output)
    assert dataset.num_episodes == 2 and dataset.num_frames == 10
    assert dataset.meta.video_keys == []  # frames=png: images, no video
    assert dataset.meta.tasks.index[0] == "Move the gripper to the goal position."
    from wm_control.data.provenance import read_recording_record

    record = read_recording_record(output)  # how the dataset was made travels with it
    assert record["producer"] == "wm-control collect" and "policy=random" in record["command"]
    assert record["policy"] == "random" and record["episodes"] == record["episodes_saved"] == 2
    assert record["env"]["id"] == "wm_control/Reach-v2" and record["env"]["image_size"] == 32
    assert record["frames"] == "png"
    assert str(tmp_path) not in json.dumps({k: v for k, v in record.items() if k != "command"})


def test_collect_config_is_validated(tmp_path):
    from hydra import compose, initialize_config_dir

    from wm_control.cli.collect import config_from_hydra
    from wm_control.cli.main import config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("collect", overrides=["env=pick_place", "episodes=0"])
    with pytest.raises(ValueError, match="episodes must be >= 1, found 0"):
        config_from_hydra(cfg, tmp_path)
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("collect", overrides=["env=push", "env.control_hz=2.5"])
    with pytest.raises(ValueError, match="control_hz must be an integer"):
        config_from_hydra(cfg, tmp_path)
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        config = config_from_hydra(compose("collect", overrides=["env=grasp"]), tmp_path)
    assert config.env.id == "wm_control/Grasp-v2" and config.output_dir == tmp_path / "dataset"
    assert config.frames == "video"
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("collect", overrides=["env=push", "frames=jpeg"])
    with pytest.raises(ValueError, match=r"frames must be one of \('video', 'png'\), found 'jpeg'"):
        config_from_hydra(cfg, tmp_path)
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("collect", overrides=["frames=png"])
    assert config_from_hydra(cfg, tmp_path).frames == "png"


def test_interruption_inside_save_episode_never_leaves_a_corrupt_dataset(tmp_path, monkeypatch):
    original = LeRobotDataset._save_episode_video

    def fail_for_the_second_episode(self, video_key, episode_index, *args, **kwargs):
        if episode_index == 1:
            raise _Boom("disk full")
        return original(self, video_key, episode_index, *args, **kwargs)

    monkeypatch.setattr(LeRobotDataset, "_save_episode_video", fail_for_the_second_episode)
    with pytest.raises(_Boom):
        _record(tmp_path, episodes=3)
    monkeypatch.undo()
    if (tmp_path / "ds").exists():
        dataset = _load(tmp_path / "ds")
        assert dataset.num_episodes == 1 and len(dataset) == dataset.num_frames
        assert dataset[len(dataset) - 1]["episode_index"].item() == 0
    assert not list(tmp_path.glob(".*partial*"))


def _record_into(output: Path, episodes: int, overwrite: bool = False, fail_at=None) -> None:
    env = gym.make("wm_control/Reach-v2", image_size=32, wrist_camera=True, max_episode_steps=3)
    spy = _Spy(make_policy("random", env, seed=0), fail_at, KeyboardInterrupt)
    spec = DatasetSpec(repo_id=REPO_ID, fps=4, image_size=32)
    try:
        with SafeDatasetWriter(output, spec, overwrite=overwrite) as writer:
            record_episodes(env, spy, writer, episodes=episodes, task="reach", progress=False)
    finally:
        env.close()


def test_overwrite_refuses_what_is_not_a_dataset_and_touches_nothing(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "important.txt").write_text("keep me")
    spec = DatasetSpec(repo_id=REPO_ID, fps=4, image_size=SIZE)
    with pytest.raises(FileExistsError, match=r"not a LeRobot dataset .*found important\.txt"):
        SafeDatasetWriter(folder, spec, overwrite=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is a file, not a dataset folder"):
        SafeDatasetWriter(tmp_path / "file", spec, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "file"]
    assert [p.name for p in folder.iterdir()] == ["important.txt"]
    assert (folder / "important.txt").read_text() == "keep me"


def test_interrupted_overwrite_keeps_the_old_dataset_and_sets_the_new_episodes_aside(tmp_path):
    output = tmp_path / "ds"
    _record_into(output, episodes=3)
    info = (output / "meta" / "info.json").read_text()
    with pytest.raises(KeyboardInterrupt):
        _record_into(output, episodes=5, overwrite=True, fail_at=(2, 1))
    assert (output / "meta" / "info.json").read_text() == info and _load(output).num_episodes == 3
    assert _load(tmp_path / "ds.interrupted").num_episodes == 2
    _record_into(output, episodes=2, overwrite=True)  # a complete recording replaces it
    assert _load(output).num_episodes == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "ds.interrupted"]


def test_datasets_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        _record_into(tmp_path / "ds", episodes=2)  # lerobot appends the second video via mkstemp
    finally:
        os.umask(previous)
    modes = {
        p.relative_to(tmp_path).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in tmp_path.rglob("*")
    }
    assert any(name.endswith(".mp4") for name in modes)
    assert modes == {name: 0o755 if (tmp_path / name).is_dir() else 0o644 for name in modes}


class _Collect:
    """``wm-control collect`` of many short Reach episodes in its own process, its log read live."""

    def __init__(self, output: Path, *args: str) -> None:
        executable = Path(sys.executable).with_name("wm-control")
        command = [str(executable)]
        if not executable.exists():
            command = [sys.executable, "-m", "wm_control.cli.main"]
        self.log = ""
        # started as a script's background job starts it, SIGINT ignored: Ctrl-C must still work
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self.process = self._popen(command, output, args)
        finally:
            signal.signal(signal.SIGINT, previous)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @staticmethod
    def _popen(command: list[str], output: Path, args: tuple[str, ...]) -> subprocess.Popen:
        return subprocess.Popen(
            [
                *command,
                "collect",
                "env=reach",
                "episodes=500",
                "policy=random",
                "env.image_size=32",
                "env.max_episode_steps=3",
                f"output_dir={output}",
                f"hydra.run.dir={output.parent / 'run'}",
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )

    def _read(self) -> None:
        while chunk := self.process.stdout.read1(4096):
            self.log += chunk.decode(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.log):
            assert self.process.poll() is None and time.monotonic() < deadline, (
                f"no {pattern!r} in the output:\n{self.log[-3000:]}"
            )
            time.sleep(0.02)

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def finish(self) -> int:
        code = self.process.wait(timeout=120)
        self._reader.join(timeout=10)
        return code


@pytest.mark.slow
def test_ctrl_c_during_collect_overwrite_keeps_the_old_dataset(tmp_path):
    output = tmp_path / "ds"
    _record_into(output, episodes=3)
    info = (output / "meta" / "info.json").read_text()
    collect = _Collect(output, "overwrite=true")
    collect.wait_for(r"\b([3-9]|\d\d+)/500\b")  # a few episodes written
    collect.interrupt()
    assert collect.finish() == 130  # 128 + SIGINT, one line, no traceback
    assert "wm-control collect: interrupted" in collect.log and "Traceback" not in collect.log, (
        collect.log[-3000:]
    )
    assert (output / "meta" / "info.json").read_text() == info and _load(output).num_episodes == 3
    kept = tmp_path / "ds.interrupted"
    assert _load(kept).num_episodes >= 3
    assert str(kept) in collect.log
    assert not list(tmp_path.glob(".*"))


@pytest.mark.slow
def test_sigterm_during_collect_keeps_the_finished_episodes_as_ctrl_c_does(tmp_path):
    output = tmp_path / "ds"
    collect = _Collect(output)
    collect.wait_for(r"\b([3-9]|\d\d+)/500\b")
    collect.process.send_signal(signal.SIGTERM)  # a `kill`, a cluster's preemption
    assert collect.finish() == 143  # 128 + SIGTERM, one line, no traceback
    assert "wm-control collect: terminated" in collect.log and "Traceback" not in collect.log, (
        collect.log[-3000:]
    )
    assert _load(output).num_episodes >= 3
    assert not list(tmp_path.glob(".*"))


@pytest.mark.slow
def test_second_ctrl_c_while_saving_keeps_the_episodes_in_place(tmp_path):
    """Saving a few episodes takes a fraction of a second, so on a busy machine the second press
    can come after it, while the command exits (which must end the same way): up to three
    recordings are interrupted until one press lands while saving."""
    landed_while_saving = False
    for attempt in range(3):
        output = tmp_path / f"ds{attempt}"
        collect = _Collect(output)
        collect.wait_for(r"\b([3-9]|\d\d+)/500\b")
        collect.interrupt()
        collect.wait_for(r"saving the \d+ finished episodes")
        collect.interrupt()
        assert collect.finish() == 130, collect.log[-3000:]
        assert "Traceback" not in collect.log, collect.log[-3000:]
        assert _load(output).num_episodes >= 3
        assert str(output) in collect.log
        assert not list(tmp_path.glob(".*"))
        if "still saving" in collect.log:
            landed_while_saving = True
            break
    assert landed_while_saving, "no second Ctrl-C landed while the episodes were saved"


@pytest.mark.slow
def test_ctrl_c_pressed_again_and_again_still_ends_in_interrupted(tmp_path):
    """A user who keeps pressing Ctrl-C after the first: whether a press lands while the episodes
    are saved, or after, while the command exits, it ends with status 130 and its one line, and
    the finished episodes are kept (a press during the exit used to kill it by SIGINT)."""
    output = tmp_path / "ds"
    collect = _Collect(output)
    collect.wait_for(r"\b([3-9]|\d\d+)/500\b")
    collect.interrupt()
    collect.wait_for(r"saving the \d+ finished episodes")
    deadline = time.monotonic() + 60
    while collect.process.poll() is None and time.monotonic() < deadline:
        collect.interrupt()
        time.sleep(0.01)
    assert collect.finish() == 130, collect.log[-3000:]
    assert "wm-control collect: interrupted" in collect.log, collect.log[-3000:]
    assert "Traceback" not in collect.log, collect.log[-3000:]
