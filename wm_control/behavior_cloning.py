"""Goal-conditioned behaviour cloning: the baseline the world-model planner is compared with.

The role Octo plays in Meta's paper: a policy trained directly on the same demonstrations, mapping
(camera frame, goal image, state) to an action. Goals are relabelled in hindsight: every step of an
episode is paired with the episode's last frame as its goal image, so at test time the task's goal
image conditions it. A small CNN reads the frame and the goal stacked as 6 channels; an MLP adds the
state; actions are predicted normalised by the dataset's mean and std (stored in the checkpoint).
The action and state widths are the data's (7 for this project's tasks, 5 for OGBench's), and the
hindsight goal may instead be the frame ``goal_steps`` ahead (OGBench's protocol (a) asks for the
cube pose 5 actions ahead).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .checkpoints.common import CheckpointError
from .checkpoints.native import read_safetensors, write_safetensors_atomic

FORMAT = "wm-control-bc"


@dataclass(frozen=True)
class BCConfig:
    """Architecture and training of the policy (image_size px, square inputs).

    ``goal_steps``: the hindsight goal of a step is the frame that many steps ahead (the last
    frame when fewer remain); ``None``: the episode's last frame. ``action_dim`` and
    ``state_dim`` are set from the demonstrations by :func:`train_policy`.
    """

    image_size: int = 64
    channels: tuple[int, ...] = (32, 64, 128, 128)
    hidden: int = 256
    steps: int = 3000
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 1e-4
    seed: int = 0
    goal_steps: int | None = None
    action_dim: int = 7
    state_dim: int = 7

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        if self.goal_steps is not None and self.goal_steps < 1:
            raise ValueError(f"BCConfig.goal_steps: expected null or >= 1, found {self.goal_steps}")
        if self.image_size < 16 or self.image_size % 2 ** len(self.channels):
            raise ValueError(
                f"BCConfig.image_size: expected >= 16 and divisible by {2 ** len(self.channels)}, "
                f"found {self.image_size}"
            )
        for name in ("hidden", "steps", "batch_size", "action_dim", "state_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"BCConfig.{name}: expected >= 1, found {getattr(self, name)}")


@dataclass
class Demonstrations:
    """All training episodes: ``frames [F, S, S, 3]`` uint8 (every resampled frame, resized) and,
    per step with an action, ``step_frame [M]`` (row of its frame), ``goal_frame [M]`` (row of its
    goal: the episode's last frame, or the frame ``goal_steps`` ahead), ``states [M, P]`` and
    ``actions [M, A]``."""

    frames: np.ndarray
    step_frame: np.ndarray
    goal_frame: np.ndarray
    states: np.ndarray
    actions: np.ndarray


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """uint8 ``[..., H, W, 3]`` → ``[..., size, size, 3]`` (area interpolation; no-op at that
    size)."""
    if frames.shape[-3:-1] == (size, size):
        return frames
    flat = frames.reshape(-1, *frames.shape[-3:])
    out = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in flat])
    return out.reshape(*frames.shape[:-3], size, size, 3)


def load_demonstrations(
    readers, image_size: int, progress: bool = True, goal_steps: int | None = None
) -> Demonstrations:
    """Read every episode of the given ``TrajectoryReader`` s (hindsight goal: the last frame, or
    the frame ``goal_steps`` ahead)."""
    frames, step_frame, goal_frame, states, actions = [], [], [], [], []
    offset = 0
    episodes = [(reader, e) for reader in readers for e in reader.episode_indices]
    for reader, episode in tqdm(episodes, desc="reading demonstrations", disable=not progress):
        trajectory = reader.read(episode)
        T, steps = len(trajectory.frames), len(trajectory.actions)  # steps = T - 1
        if steps == 0:
            continue
        frames.append(resize_frames(trajectory.frames, image_size))
        step_frame.append(offset + np.arange(steps))
        ahead = np.arange(steps) + goal_steps if goal_steps else np.full(steps, T - 1)
        goal_frame.append(offset + np.minimum(ahead, T - 1))
        states.append(trajectory.states[:steps])
        actions.append(trajectory.actions)
        offset += T
    if not actions:
        raise ValueError("behaviour cloning: the datasets hold no episode with at least two steps")
    return Demonstrations(
        frames=np.concatenate(frames),
        step_frame=np.concatenate(step_frame),
        goal_frame=np.concatenate(goal_frame),
        states=np.concatenate(states).astype(np.float32),
        actions=np.concatenate(actions).astype(np.float32),
    )


class GoalConditionedPolicy(nn.Module):
    """(frame, goal image, state) → action; see the module docstring."""

    def __init__(
        self, config: BCConfig, action_mean: torch.Tensor, action_std: torch.Tensor
    ) -> None:
        super().__init__()
        self.config = config
        layers, channels = [], 6
        for width in config.channels:
            layers += [
                nn.Conv2d(channels, width, 3, stride=2, padding=1),
                nn.GroupNorm(8, width),
                nn.SiLU(),
            ]
            channels = width
        self.cnn = nn.Sequential(*layers)
        side = config.image_size // 2 ** len(config.channels)
        self.head = nn.Sequential(
            nn.Linear(channels * side * side + config.state_dim, config.hidden),
            nn.SiLU(),
            nn.Linear(config.hidden, config.hidden),
            nn.SiLU(),
            nn.Linear(config.hidden, config.action_dim),
        )
        self.register_buffer("action_mean", action_mean.float().clone())
        self.register_buffer("action_std", action_std.float().clamp_min(1e-4).clone())

    def forward(
        self, frames: torch.Tensor, goals: torch.Tensor, states: torch.Tensor
    ) -> torch.Tensor:
        """frames, goals uint8 ``[B, S, S, 3]``; states ``[B, P]`` → normalised actions
        ``[B, A]``."""
        x = (
            torch.cat([frames, goals], dim=-1).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        )  # [B, 6, S, S]
        features = self.cnn(x).flatten(1)  # [B, C·s·s]
        return self.head(torch.cat([features, states], dim=-1))

    @torch.no_grad()
    def act(self, frame: np.ndarray, goal: np.ndarray, state: np.ndarray) -> np.ndarray:
        """One action [A] (float32, the dataset's units) for uint8 ``[H, W, 3]`` frame and goal."""
        size = self.config.image_size
        f = torch.from_numpy(resize_frames(frame, size)).unsqueeze(0)
        g = torch.from_numpy(resize_frames(goal, size)).unsqueeze(0)
        s = torch.as_tensor(np.asarray(state, np.float32)).unsqueeze(0)
        normalised = self(f, g, s)[0]
        return (normalised * self.action_std + self.action_mean).numpy().astype(np.float32)

    def save(self, path: Path, metadata: dict[str, Any] | None = None) -> Path:
        header = {
            "format": FORMAT,
            "config": json.dumps(asdict(self.config)),
            "metadata": json.dumps(metadata or {}, default=str),
        }
        return write_safetensors_atomic(Path(path), self.state_dict(), header)

    @classmethod
    def load(cls, path: Path) -> GoalConditionedPolicy:
        header, state = read_safetensors(Path(path), "a behaviour-cloning policy")
        if header.get("format") != FORMAT:
            raise CheckpointError(
                f"{path}: expected format {FORMAT!r}, found {header.get('format')!r}"
            )
        policy = cls(
            BCConfig(**json.loads(header["config"])), state["action_mean"], state["action_std"]
        )
        policy.load_state_dict(state)
        return policy.eval()


def train_policy(
    demos: Demonstrations, config: BCConfig, progress: bool = True
) -> GoalConditionedPolicy:
    """L1 regression of normalised actions with AdamW; returns the policy in eval mode."""
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    actions = torch.from_numpy(demos.actions)
    config = replace(config, action_dim=demos.actions.shape[1], state_dim=demos.states.shape[1])
    policy = GoalConditionedPolicy(config, actions.mean(0), actions.std(0))
    optimizer = torch.optim.AdamW(
        policy.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    frames = torch.from_numpy(demos.frames)
    step_frame, goal_frame = torch.from_numpy(demos.step_frame), torch.from_numpy(demos.goal_frame)
    states = torch.from_numpy(demos.states)
    target = (actions - policy.action_mean) / policy.action_std
    rows = len(actions)
    bar = tqdm(range(config.steps), desc="behaviour cloning", disable=not progress)
    policy.train()
    for step in bar:
        batch = torch.randint(0, rows, (config.batch_size,), generator=generator)
        predicted = policy(frames[step_frame[batch]], frames[goal_frame[batch]], states[batch])
        loss = F.l1_loss(predicted, target[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss.item():.4f}")
    return policy.eval()


class BCAgent:
    """The policy as an agent of :func:`envs.episode.run_episode`, conditioned on the task's
    final goal image."""

    def __init__(self, env, policy: GoalConditionedPolicy) -> None:
        widths = (env.action_space.shape[0], env.observation_space["state"].shape[0])
        if widths != (policy.config.action_dim, policy.config.state_dim):
            raise ValueError(
                f"behaviour cloning: the policy acts with {policy.config.action_dim}-D actions "
                f"from {policy.config.state_dim}-D states, task {env.spec.id} has {widths[0]}-D "
                f"actions and {widths[1]}-D states: train it on this task's datasets (bc.datasets)"
            )
        self.env, self.policy = env, policy
        self.goals: list[np.ndarray] = []

    def reset(self, seed: int | None = None) -> None:
        self.goals = self.env.unwrapped.goal_images()

    def __call__(self, observation: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        return self.policy.act(observation["pixels"], self.goals[-1], observation["state"])
