"""Recording OGBench's oracles: each recorded step is one action block, driven at OGBench's rate.

OGBench's oracles act at every one of its 20 Hz control steps, closed loop; this stack's task and
model run at ``control_hz`` (4 Hz: blocks of 5). :func:`record_oracle_episodes` lets the oracle
drive the steps of each block (``OGBenchCubeEnv.step_block``) and records one frame per block:
the observation before it and, as its action, the mean of the block's executed actions, the
action that held for the block (as a planner's action is held) commands the same total motion.
Only the frames recorded are rendered.
"""

from __future__ import annotations

import gymnasium as gym
from tqdm import tqdm

from envs.ogbench_oracles import OGBenchOracle
from wm_control.data.recording import RecordingSummary, SafeDatasetWriter


def record_oracle_episodes(
    env: gym.Env,
    oracle: OGBenchOracle,
    writer: SafeDatasetWriter,
    episodes: int,
    task: str,
    seed: int = 0,
    progress: bool = True,
) -> RecordingSummary:
    """Record ``episodes`` episodes of ``env.spec.max_episode_steps`` blocks each (reset seeds
    ``seed``, ``seed + 1``, ...). ``successes`` counts episodes in which the oracle reached at
    least one target."""
    if env.spec is None or env.spec.max_episode_steps is None:
        raise ValueError("record_oracle_episodes: the environment needs a time limit (gym.make)")
    steps = int(env.spec.max_episode_steps)
    frames = successes = 0
    bar = tqdm(
        total=episodes,
        desc=f"recording {env.spec.id} ({oracle.kind})",
        unit="episode",
        disable=not progress,
    )
    try:
        for episode in range(episodes):
            observation, _ = env.reset(seed=seed + episode)
            oracle.reset(seed + episode)
            reached = False
            for _ in range(steps):
                next_observation, reward, _, _, info = env.unwrapped.step_block(oracle)
                action, success = info["executed_action"], info["success"]
                writer.add_frame(observation, action, reward, success, task)
                reached |= bool(info["success"])
                observation = next_observation
            writer.save_episode()
            frames += steps
            successes += int(reached)
            bar.update(1)
            bar.set_postfix(reached=f"{successes / (episode + 1):.2f}")
    finally:
        bar.close()
    return RecordingSummary(episodes=episodes, frames=frames, successes=successes)
