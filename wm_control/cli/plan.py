"""`wm-control plan`: plan the next action from an observation image toward a goal image.

With no images given it plans on the reference clip shipped with the tests (frame 0 → frame 2),
using the tiny model saved by Meta's official code: real CEM through the real predictor.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from ..images import read_rgb_image
from . import output_dir
from ..model_source import ModelSource
from ..planning import MPCController
from ..planning.config import PlannerConfig

CONFIG_NAME = "plan"
REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_CLIP = REPO_ROOT / "tests" / "fixtures" / "vjepa2_tiny_official.npz"


def _inputs(cfg: DictConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(observation [H, W, 3], goal [H, W, 3], state [7]) from the config or the reference clip."""
    reference = np.load(REFERENCE_CLIP) if None in (cfg.observation, cfg.goal, cfg.state) else None
    observation = read_rgb_image(cfg.observation) if cfg.observation else reference["frames"][0, 0]
    goal = read_rgb_image(cfg.goal) if cfg.goal else reference["frames"][0, -1]
    if cfg.state is not None:
        state = np.asarray(list(cfg.state), dtype=np.float32)
        if state.shape != (7,):
            raise ValueError(f"state: expected 7 numbers [x, y, z, roll, pitch, yaw, gripper], found {state.tolist()}")
    else:
        state = reference["states"][0, 0]
    return observation, goal, state


def run(cfg: DictConfig) -> None:
    source = ModelSource.from_dict(OmegaConf.to_container(cfg.model, resolve=True))
    planner_cfg = PlannerConfig.from_dict(OmegaConf.to_container(cfg.planner, resolve=True))
    model = source.load(REPO_ROOT)
    controller = MPCController(
        model, planner_cfg.planner(), planner_cfg.action_spec(),
        discount=planner_cfg.discount, warm_start=planner_cfg.warm_start,
    )
    observation, goal, state = _inputs(cfg)
    controller.set_goal(goal)
    print(f"model: {source.path} ({model.tokens_per_frame} tokens x {model.token_dim} per frame, {model.device})")
    print(f"planner: {planner_cfg.samples} samples x {planner_cfg.iterations} iterations, "
          f"top-{planner_cfg.elites}, horizon {planner_cfg.horizon}")
    for replan in range(cfg.replans):
        step = controller.act(observation, state)
        action = " ".join(f"{v:+.4f}" for v in step.action)
        print(f"[{replan}] action [{action}]  energy {step.energy:.5f}  planning {step.planning_seconds * 1000:.0f} ms")
        print("    best energy per CEM iteration: " + " ".join(f"{e:.5f}" for e in step.energies_per_iteration))
    summary = {"action": step.action.tolist(), "plan": step.plan.tolist(), "energy": step.energy,
               "energies_per_iteration": step.energies_per_iteration, "planning_seconds": step.planning_seconds}
    path = output_dir() / "plan.json"
    path.write_text(json.dumps(summary, indent=2))
    print(f"summary: {path}")
