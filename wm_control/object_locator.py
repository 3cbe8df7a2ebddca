"""Where the object is in a camera frame: a small CNN taught by the robot's own grasps.

The world model's 16-token frames place OGBench's 4-pixel cube only to ~4 cm (a linear probe,
bench/RESULTS.md), too coarse to grasp it. :class:`ObjectLocator` reads the object's position
from a frame directly. It is trained on a dataset's frames with labels taken from the robot's
proprioception alone, no simulator state (:func:`object_labels`): while the jaws hold the object
it is where the hand is; between letting go at the floor and grasping again at the same place
(within :data:`SAME_PLACE`) it rests there; before the first grasp it rests where that grasp
happens, after the last release where it was let go (both at the floor). Frames that none of these
cover (the object dropped, pushed, or never grasped) get no label.

``pick`` (:class:`wm_control.episode.GraspApproach`) grasps where the locator sees the object in
the frame at which the grasp starts.

    .venv/bin/python -m wm_control.object_locator --data <dataset> [<dataset> ...] --out <file>
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .episode import jaws_hold
from .grasp_lift import OGBENCH_DATA_HELP

FORMAT = "wm-control object locator"
FORMAT_VERSION = 1

AT_FLOOR = 0.02
"""Height (m) over the workspace floor under which a release or grasp is at the floor (the
object then rests where the hand was)."""

SAME_PLACE = 0.02
"""Largest distance (m) in the table's plane between a release and the next grasp for the object
to count as resting there in between."""


def object_labels(states: np.ndarray, *, floor: float) -> np.ndarray:
    """The held object's position ``[T, 3]`` (m) at each frame of one episode's states
    ``[T, 5]`` (x, y, z, yaw, gripper), NaN where the states do not say (module docstring)."""
    states = np.asarray(states, np.float64)
    if states.ndim != 2 or states.shape[1] != 5:
        raise ValueError(
            f"object_labels: expected states [T, 5] (x, y, z, yaw, gripper), found {states.shape}"
        )
    hand, closure = states[:, :3], states[:, 4]
    holding = jaws_hold(closure)
    labels = np.full((len(states), 3), np.nan)
    labels[holding] = hand[holding]
    if not holding.any():
        return labels
    low = hand[:, 2] < floor + AT_FLOOR
    t = 0
    while t < len(states):
        if holding[t]:
            t += 1
            continue
        end = t
        while end < len(states) and not holding[end]:
            end += 1
        released, grasped = t - 1, end  # the frames around this run without a hold
        if released >= 0 and grasped < len(states):
            same = np.linalg.norm(hand[released, :2] - hand[grasped, :2]) < SAME_PLACE
            if same and low[released] and low[grasped]:
                labels[t:end] = hand[grasped]
        elif grasped < len(states) and low[grasped]:
            labels[t:end] = hand[grasped]
        elif released >= 0 and low[released]:
            labels[t:end] = hand[released]
        t = end
    return labels


class LocatorNet(nn.Module):
    """RGB scaled to 0..1 ``[B, 3, S, S]`` -> ``[B, 3]`` normalised position. Convolutions over
    the image and its pixel coordinates (so position is easy to read out), then a small head."""

    def __init__(self, size: int = 64) -> None:
        super().__init__()
        if size % 8:
            raise ValueError(f"LocatorNet: expected an image size divisible by 8, found {size}")
        self.features = nn.Sequential(
            nn.Conv2d(5, 32, 5, 2, 2), nn.ReLU(),
            nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(64, 128, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(128, 32, 1), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * (size // 8) ** 2, 128), nn.ReLU(), nn.Linear(128, 3)
        )
        axis = torch.linspace(-1.0, 1.0, size)
        grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"))[None]  # [1, 2, S, S]
        self.register_buffer("grid", grid, persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        grid = self.grid.expand(len(images), -1, -1, -1)
        return self.head(self.features(torch.cat([images, grid], dim=1)))


class ObjectLocator:
    """A trained :class:`LocatorNet` with its label normalisation: ``locator(pixels)`` gives the
    object's position ``[3]`` (m) in a frame ``uint8 [H, W, 3]``. ``source`` records what it was
    trained on and how well it does on held-out episodes."""

    def __init__(self, net: LocatorNet, mean, std, source: dict | None = None) -> None:
        self.net = net.eval()
        self.mean = np.asarray(mean, np.float64)
        self.std = np.asarray(std, np.float64)
        self.source = dict(source or {})

    def locate(self, pixels: np.ndarray) -> np.ndarray:
        """Positions ``[N, 3]`` (m) of frames ``uint8 [N, H, W, 3]``."""
        pixels = np.asarray(pixels)
        size = self.net.grid.shape[-1]
        if pixels.ndim != 4 or pixels.shape[1:] != (size, size, 3) or pixels.dtype != np.uint8:
            raise ValueError(
                f"ObjectLocator: expected uint8 frames [N, {size}, {size}, 3], found "
                f"{pixels.dtype} {pixels.shape}"
            )
        with torch.no_grad():
            out = self.net(_as_input(pixels)).double().numpy()
        return out * self.std + self.mean

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        return self.locate(np.asarray(pixels)[None])[0]

    def save(self, path: str | Path) -> Path:
        """One safetensors file (weights; header: format, normalisation, source), atomic."""
        from .checkpoints.native import write_safetensors_atomic

        header = {
            "format": FORMAT,
            "format_version": str(FORMAT_VERSION),
            "image_size": str(self.net.grid.shape[-1]),
            "mean": json.dumps(self.mean.tolist()),
            "std": json.dumps(self.std.tolist()),
            "source": json.dumps(self.source, default=str),
        }
        state = {k: v.detach().contiguous() for k, v in self.net.state_dict().items()}
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_safetensors_atomic(path, state, header)

    @classmethod
    def load(cls, path: str | Path) -> ObjectLocator:
        from .checkpoints.native import read_safetensors

        path = Path(path)
        expected = "a safetensors file written by wm_control.object_locator"
        header, state = read_safetensors(path, expected)  # its checksum verified
        if header.get("format") != FORMAT or header.get("format_version") != str(FORMAT_VERSION):
            raise ValueError(
                f"object locator {path}: expected format {FORMAT!r} version {FORMAT_VERSION}, "
                f"found {header.get('format')!r} version {header.get('format_version')!r}"
            )
        net = LocatorNet(int(header["image_size"]))
        net.load_state_dict(state)
        source = json.loads(header["source"])
        return cls(net, json.loads(header["mean"]), json.loads(header["std"]), source)


def _as_input(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float().div(255.0)


def train_locator(
    frames: np.ndarray,
    labels: np.ndarray,
    episodes: np.ndarray,
    *,
    steps: int = 4000,
    batch_size: int = 64,
    seed: int = 0,
    progress: bool = True,
    source: dict | None = None,
) -> ObjectLocator:
    """Train on labelled ``frames uint8 [N, S, S, 3]`` / ``labels [N, 3]``; every tenth episode
    (``episodes [N]``) is held out and its error recorded in ``source["held_out"]``."""
    if len(frames) != len(labels) or len(frames) != len(episodes) or len(frames) < 2:
        raise ValueError(
            f"train_locator: expected as many frames, labels and episode indices (at least 2), "
            f"found {len(frames)}, {len(labels)} and {len(episodes)}"
        )
    held = (np.asarray(episodes) % 10) == 0
    if held.all() or not held.any():
        held = np.arange(len(frames)) % 10 == 0
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    mean, std = labels[~held].mean(0), labels[~held].std(0) + 1e-6
    train_x = _as_input(frames[~held])
    train_y = torch.from_numpy(((labels[~held] - mean) / std).astype(np.float32))
    net = LocatorNet(frames.shape[1])
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    bar = _progress(steps, progress)
    for step in range(steps):
        if step == int(steps * 0.75):
            for group in optimiser.param_groups:
                group["lr"] = 3e-4
        pick = torch.randint(0, len(train_x), (batch_size,), generator=generator)
        loss = nn.functional.smooth_l1_loss(net(train_x[pick]), train_y[pick], beta=0.1)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        bar.update(1)
    bar.close()
    locator = ObjectLocator(net, mean, std, source)
    errors = np.linalg.norm((locator.locate(frames[held]) - labels[held])[:, :2], axis=1)
    locator.source["held_out"] = {
        "frames": int(held.sum()),
        "median_xy_error_m": float(np.median(errors)),
        "share_within_1.5_cm": float(np.mean(errors < 0.015)),
    }
    locator.source.update(steps=steps, batch_size=batch_size, seed=seed)
    return locator


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="object locator", unit="step", disable=not enabled)


def labelled_frames(
    episodes: Sequence[tuple[np.ndarray, np.ndarray]], *, floor: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames ``[N, S, S, 3]``, labels ``[N, 3]``, episode numbers ``[N]``) of the frames
    :func:`object_labels` labels, from ``(frames [T, S, S, 3], states [T, 5])`` per episode."""
    frames, labels, numbers = [], [], []
    for number, (pixels, states) in enumerate(episodes):
        found = object_labels(states, floor=floor)
        known = ~np.isnan(found[:, 0])
        frames.append(np.asarray(pixels)[known])
        labels.append(found[known])
        numbers.append(np.full(int(known.sum()), number))
    if not frames or sum(len(f) for f in frames) == 0:
        raise ValueError(
            "object locator: found no frame to learn from (no grasp and release of an object "
            "in the data's states)"
        )
    return np.concatenate(frames), np.concatenate(labels), np.concatenate(numbers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m wm_control.object_locator", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--data", nargs="+", required=True, help=OGBENCH_DATA_HELP)
    parser.add_argument("--out", required=True, help="the safetensors file to write")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    import yaml

    from envs.ogbench_cube import WORKSPACE

    from .cli.main import config_dir
    from .data.trajectories import read_recordings

    torch.set_num_threads(args.threads)
    data = yaml.safe_load((config_dir() / "data" / "ogbench_cube.yaml").read_text())
    trajectories, datasets = read_recordings(args.data, data, with_frames=True)
    episodes = [(trajectory.frames, trajectory.states) for trajectory in trajectories]
    frames, labels, numbers = labelled_frames(episodes, floor=WORKSPACE[0][2])
    command = shlex.join(["python", "-m", "wm_control.object_locator", *(argv or sys.argv[1:])])
    locator = train_locator(
        frames, labels, numbers, steps=args.steps, seed=args.seed,
        progress=not args.no_progress,
        source={"datasets": datasets, "labelled_frames": len(frames), "command": command},
    )  # fmt: skip
    locator.save(args.out)
    held = locator.source["held_out"]
    print(
        f"{args.out}: {len(frames)} labelled frames; held-out episodes: median error "
        f"{100 * held['median_xy_error_m']:.2f} cm in the table's plane, "
        f"{100 * held['share_within_1.5_cm']:.0f} % within 1.5 cm"
    )


if __name__ == "__main__":
    main()
