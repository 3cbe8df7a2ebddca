"""Recording environment episodes into a LeRobot dataset, safely.

The dataset is written with ``lerobot`` itself (``LeRobotDataset.create`` / ``add_frame`` /
``save_episode`` / ``finalize``), in its current format: camera streams as
``observation.images.<camera>`` (uint8 H x W x 3 frames; AV1 video, LeRobot's default, or lossless
PNG images, see :class:`DatasetSpec`), ``observation.state`` (7,) float32
``[x, y, z, roll, pitch, yaw, gripper]``, ``action`` (7,) float32
``[dx, dy, dz, droll, dpitch, dyaw, dgripper]``, ``next.reward`` (1,) float32, ``next.success``
(1,) bool, and the task string; ``fps`` is the control rate. Frame ``t`` holds the observation
*before* action ``t``.

Safe writing: :class:`SafeDatasetWriter` builds the dataset in a hidden temporary sibling folder
(``.NAME.partial-PID``) and moves it to its final place only when it is finalized; files get the
user's umask permissions. If recording stops with an exception (including ``KeyboardInterrupt``),
the unfinished episode is dropped, the finished ones are finalized, read back as a check and moved
into place (or, when there are none or they do not read back, the temporary folder is removed),
and the exception is re-raised: the output folder either does not exist or holds a readable
dataset. ``overwrite`` replaces only a LeRobot dataset (a folder with ``meta/info.json``), and only
with a complete recording: an interrupted one leaves the old dataset as it was and keeps its
finished episodes next to it, in ``NAME.interrupted`` (the log says where). While the finished
episodes are being saved, a further Ctrl-C only says so; one more stops at once and the log names
the temporary folder holding them. A killed process leaves the hidden temporary folder; the next
recording into the same place names it.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from tqdm import tqdm

from envs.episode import Policy

from ..runtime import preserved_scheduling
from .atomic import publish
from .provenance import write_recording_record

log = logging.getLogger(__name__)

STATE_NAMES = ["x", "y", "z", "roll", "pitch", "yaw", "gripper"]
ACTION_NAMES = ["dx", "dy", "dz", "droll", "dpitch", "dyaw", "dgripper"]
CAMERA_OBSERVATION_KEYS = {"exterior": "pixels", "wrist": "wrist_pixels"}
"""Camera name -> key of its image in the environment observation."""
FRAME_STORAGE = ("video", "png")
"""How camera frames are stored (:attr:`DatasetSpec.frames`)."""


@dataclass(frozen=True)
class DatasetSpec:
    """Shape of the recorded dataset.

    Attributes:
        repo_id: dataset name (``"<user>/<name>"``); used locally only.
        fps: frames per second = the environment's control rate (Hz).
        image_size: side of the square camera frames (px).
        cameras: recorded cameras, a subset of ``("exterior", "wrist")``.
        robot_type: free-form robot name stored in the metadata.
        state_names, action_names: the state and action layouts (default DROID's, this project's
            tasks; the OGBench cube task records its own 5-D layouts).
        frames: how camera frames are stored: ``"video"`` (LeRobot's default: AV1 at CRF 30 with
            4:2:0 chroma, small but lossy) or ``"png"`` (lossless images inside the parquet
            files, about 6x larger at 64 px). At 64 px the video's loss moves encoder tokens
            about as much as a world model's one-step prediction error, and the halved chroma
            resolution blurs a small coloured object (the OGBench cube's pixels change by 22 of
            255 on average); a model trained on such frames learns the codec's noise and plans
            on clean renders (bench/RESULTS.md, *Video compression and small frames*).
    """

    repo_id: str
    fps: int
    image_size: int
    cameras: tuple[str, ...] = ("exterior",)
    robot_type: str = "wm_control_sim_arm"
    state_names: tuple[str, ...] = tuple(STATE_NAMES)
    action_names: tuple[str, ...] = tuple(ACTION_NAMES)
    frames: str = "video"

    def __post_init__(self) -> None:
        if self.frames not in FRAME_STORAGE:
            raise ValueError(
                f"DatasetSpec.frames must be one of {FRAME_STORAGE}, found {self.frames!r}"
            )
        if self.repo_id.count("/") != 1:
            raise ValueError(
                f"DatasetSpec.repo_id must look like 'user/name', found {self.repo_id!r}"
            )
        if self.fps < 1:
            raise ValueError(f"DatasetSpec.fps must be an integer >= 1, found {self.fps}")
        if self.image_size < 1:
            raise ValueError(f"DatasetSpec.image_size must be >= 1 px, found {self.image_size}")
        unknown = set(self.cameras) - set(CAMERA_OBSERVATION_KEYS)
        if not self.cameras or unknown:
            raise ValueError(
                f"DatasetSpec.cameras must be a non-empty subset of "
                f"{tuple(CAMERA_OBSERVATION_KEYS)}, found {self.cameras}"
            )

    def features(self) -> dict[str, dict[str, Any]]:
        """The LeRobot feature description of the dataset."""
        size = self.image_size
        features: dict[str, dict[str, Any]] = {
            f"observation.images.{camera}": {
                "dtype": "video" if self.frames == "video" else "image",
                "shape": (size, size, 3),
                "names": ["height", "width", "channels"],
            }
            for camera in self.cameras
        }
        state, action = list(self.state_names), list(self.action_names)
        features["observation.state"] = {"dtype": "float32", "shape": (len(state),), "names": state}
        features["action"] = {"dtype": "float32", "shape": (len(action),), "names": action}
        features["next.reward"] = {"dtype": "float32", "shape": (1,), "names": None}
        features["next.success"] = {"dtype": "bool", "shape": (1,), "names": None}
        return features


class SafeDatasetWriter:
    """A LeRobot dataset written into ``output_dir`` all at once (see the module docstring).

    Use as a context manager::

        with SafeDatasetWriter(path, spec) as writer:
            writer.add_frame(observation, action, reward, success, task)
            writer.save_episode()

    Args:
        output_dir: final dataset folder; must not exist unless ``overwrite``.
        spec: what the frames contain.
        overwrite: replace an existing ``output_dir`` (only once the new dataset is complete).
        record: how the dataset was made (:mod:`wm_control.data.provenance`), stored with it.
    """

    def __init__(
        self,
        output_dir: str | Path,
        spec: DatasetSpec,
        overwrite: bool = False,
        record: dict[str, Any] | None = None,
    ) -> None:
        self.output_dir = Path(output_dir)
        self.spec = spec
        self.overwrite = overwrite
        self.record = record
        if self.output_dir.exists() and not overwrite:
            raise FileExistsError(
                f"dataset folder {self.output_dir} already exists; choose another output_dir or "
                f"pass overwrite=True"
            )
        if self.output_dir.exists():
            _require_replaceable(self.output_dir)
        self._partial_dir = self.output_dir.with_name(
            f".{self.output_dir.name}.partial-{os.getpid()}"
        )
        self._dataset: LeRobotDataset | None = None
        self._frames_in_episode = 0
        self.episodes_saved = 0
        self.kept_in: Path | None = None
        """Where the finished episodes went when recording stopped early (None: not yet)."""
        _report_leftovers(self.output_dir)

    def __enter__(self) -> SafeDatasetWriter:
        self.output_dir.parent.mkdir(parents=True, exist_ok=True)
        if self._partial_dir.exists():
            shutil.rmtree(self._partial_dir)
        self._dataset = LeRobotDataset.create(
            repo_id=self.spec.repo_id,
            fps=self.spec.fps,
            features=self.spec.features(),
            root=self._partial_dir,
            robot_type=self.spec.robot_type,
            use_videos=self.spec.frames == "video",
        )
        return self

    def add_frame(
        self,
        observation: dict[str, np.ndarray],
        action: np.ndarray,
        reward: float,
        success: bool,
        task: str,
    ) -> None:
        """Append one frame (the observation before ``action``) to the current episode."""
        frame: dict[str, Any] = {
            f"observation.images.{camera}": observation[CAMERA_OBSERVATION_KEYS[camera]]
            for camera in self.spec.cameras
        }
        frame["observation.state"] = np.asarray(observation["state"], dtype=np.float32)
        frame["action"] = np.asarray(action, dtype=np.float32)
        frame["next.reward"] = np.array([reward], dtype=np.float32)
        frame["next.success"] = np.array([success], dtype=bool)
        frame["task"] = task
        self._require_open().add_frame(frame)
        self._frames_in_episode += 1

    def save_episode(self) -> None:
        """Encode and store the current episode."""
        if self._frames_in_episode == 0:
            raise RuntimeError("save_episode() called on an empty episode")
        with (
            preserved_scheduling()
        ):  # the AV1 encoder would leave this thread at real-time priority
            self._require_open().save_episode()
        self._frames_in_episode = 0
        self.episodes_saved += 1

    def discard_episode(self) -> None:
        """Drop the frames of the current, unsaved episode."""
        if self._frames_in_episode:
            self._require_open().clear_episode_buffer()
            self._frames_in_episode = 0

    def __exit__(self, exc_type, exc, traceback) -> None:
        stopped = exc_type is not None
        # the handler goes in before the message: a press right after it is held, not lost
        with _interrupts_deferred(self._partial_dir, self.episodes_saved) as presses:
            if stopped and self.episodes_saved:
                log.warning(
                    "recording stopped by %s: saving the %d finished episodes (a few seconds)",
                    exc_type.__name__,
                    self.episodes_saved,
                )
            try:
                self._finish(exc_type.__name__ if stopped else None)
            except BaseException:
                if self._partial_dir.exists():
                    log.error(
                        "saving stopped: the %d finished episodes are in %s (a LeRobot dataset if "
                        "its meta/ folder is complete; delete it if not needed)",
                        self.episodes_saved,
                        self._partial_dir,
                    )
                raise
        if presses() and not stopped:  # Ctrl-C while saving a complete recording: stop now
            raise KeyboardInterrupt

    def _finish(self, stopped_by: str | None) -> None:
        """Finalize the temporary dataset and publish it (see the module docstring)."""
        dataset = self._require_open()
        try:
            if stopped_by is not None:
                self.discard_episode()
            with preserved_scheduling():
                dataset.finalize()
        except Exception:
            shutil.rmtree(self._partial_dir, ignore_errors=True)
            raise
        finally:
            self._dataset = None
        if stopped_by is not None and self.episodes_saved and not self._readable():
            # Interrupted inside save_episode: the last episode may be half written.
            log.error("the interrupted dataset did not read back; removed it")
            self.episodes_saved = 0
        if self.episodes_saved == 0:
            shutil.rmtree(self._partial_dir, ignore_errors=True)
            log.warning("no finished episode: nothing written to %s", self.output_dir)
            return
        if self.record is not None:
            write_recording_record(
                self._partial_dir, {**self.record, "episodes_saved": self.episodes_saved}
            )
        if stopped_by is not None and self.output_dir.exists():
            self.kept_in = _free_sibling(self.output_dir, "interrupted")
            publish(self._partial_dir, self.kept_in)
            log.warning(
                "recording stopped by %s: %s is unchanged (overwrite replaces it only with a "
                "complete recording); the %d finished new episodes are in %s",
                stopped_by,
                self.output_dir,
                self.episodes_saved,
                self.kept_in,
            )
            return
        publish(self._partial_dir, self.output_dir)
        if stopped_by is not None:
            self.kept_in = self.output_dir
            log.warning(
                "recording stopped by %s: kept the %d finished episodes in %s",
                stopped_by,
                self.episodes_saved,
                self.output_dir,
            )

    def _readable(self) -> bool:
        """Whether the temporary dataset loads with the saved episodes and its last frame
        decodes."""
        try:
            dataset = LeRobotDataset(
                self.spec.repo_id, root=self._partial_dir, video_backend="pyav"
            )
            dataset[len(dataset) - 1]
        except Exception as error:  # any failure to load means the dataset is not usable
            log.error("reading the interrupted dataset back failed: %r", error)
            return False
        return dataset.meta.total_episodes == self.episodes_saved

    def _require_open(self) -> LeRobotDataset:
        if self._dataset is None:
            raise RuntimeError("SafeDatasetWriter is not open: use it in a `with` block")
        return self._dataset


def is_lerobot_dataset(folder: Path) -> bool:
    """Whether ``folder`` holds a LeRobot dataset (its ``meta/info.json``)."""
    return (Path(folder) / "meta" / "info.json").is_file()


def _require_replaceable(folder: Path) -> None:
    """Refuse to let ``overwrite`` replace anything but a LeRobot dataset or an empty folder."""
    if not folder.is_dir():
        raise FileExistsError(
            f"{folder} is a file, not a dataset folder; overwrite=true replaces LeRobot datasets "
            f"only: choose another output_dir"
        )
    if is_lerobot_dataset(folder):
        return
    content = sorted(p.name for p in folder.iterdir())
    if content:
        shown = ", ".join(content[:5]) + (", …" if len(content) > 5 else "")
        raise FileExistsError(
            f"{folder} is not a LeRobot dataset (expected meta/info.json, found {shown}); "
            f"overwrite=true replaces datasets only and left it untouched: choose another "
            f"output_dir, or move that folder away yourself"
        )


def _free_sibling(folder: Path, label: str) -> Path:
    """``NAME.<label>`` next to ``folder``, or ``NAME.<label>-2``, … when that exists."""
    candidate, n = folder.with_name(f"{folder.name}.{label}"), 1
    while candidate.exists():
        n += 1
        candidate = folder.with_name(f"{folder.name}.{label}-{n}")
    return candidate


def _report_leftovers(output_dir: Path) -> None:
    """Name the temporary folders that killed recordings into ``output_dir`` left behind."""
    for leftover in sorted(output_dir.parent.glob(f".{output_dir.name}.partial-*")):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            log.warning(
                "%s holds the unfinished dataset of a recording that was killed (process %s); "
                "delete it if not needed",
                leftover,
                pid,
            )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def _interrupts_deferred(partial: Path, episodes: int) -> Iterator[Any]:
    """While the finished episodes are saved, a first Ctrl-C says so and is held until the end
    (yields a function counting the presses); a second one stops at once. Only in the main thread
    with Python's own SIGINT handler in place: otherwise nothing changes."""
    presses = 0
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield lambda: presses
        return

    def on_interrupt(signum: int, frame: Any) -> None:
        nonlocal presses
        presses += 1
        if presses > 1:
            raise KeyboardInterrupt
        print(
            f"\nstill saving the {episodes} finished episodes; press Ctrl-C again to stop at once "
            f"and leave them, unfinished, in {partial}",
            file=sys.stderr,
            flush=True,
        )

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield lambda: presses
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@dataclass(frozen=True)
class RecordingSummary:
    """What :func:`record_episodes` wrote."""

    episodes: int
    frames: int
    successes: int


def record_episodes(
    env: gym.Env,
    policy: Policy,
    writer: SafeDatasetWriter,
    episodes: int,
    task: str,
    seed: int = 0,
    steps_after_success: int | None = 2,
    progress: bool = True,
) -> RecordingSummary:
    """Run ``episodes`` episodes (reset seeds ``seed``, ``seed + 1``, ...) and record them.

    ``policy`` follows :class:`envs.episode.Policy` and returns an action at every step (the frames
    are the task's control steps; closed-loop block policies are not recorded here).

    An episode ends at the environment's termination/truncation or ``steps_after_success`` steps
    after the first success (``None``: never early). The recorded action is the one the environment
    executed (``info["executed_action"]``, i.e. after clipping).
    """
    frames = successes = 0
    name = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    bar = tqdm(total=episodes, desc=f"recording {name}", unit="episode", disable=not progress)
    try:
        for episode in range(episodes):
            observation, info = env.reset(seed=seed + episode)
            policy.reset(seed + episode)
            since_success: int | None = None
            step = 0
            while True:
                action = policy(observation, info)
                next_observation, reward, terminated, truncated, info = env.step(action)
                writer.add_frame(
                    observation, info["executed_action"], float(reward), info["success"], task
                )
                step += 1
                observation = next_observation
                if info["success"] and since_success is None:
                    since_success = 0
                elif since_success is not None:
                    since_success += 1
                early = steps_after_success is not None and since_success is not None
                if terminated or truncated or (early and since_success >= steps_after_success):
                    break
            writer.save_episode()
            frames += step
            successes += int(since_success is not None)
            bar.update(1)
            bar.set_postfix(success_rate=f"{successes / (episode + 1):.2f}")
    finally:
        bar.close()
    return RecordingSummary(episodes=episodes, frames=frames, successes=successes)
