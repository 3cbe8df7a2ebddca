"""Does an ensemble's disagreement stop a long search from exploiting the model?

Planning protocol (a)'s pick-ups five actions ahead, the search finds motions that the model
scores better than the expert's but that, played, end further from the goal (bench/RESULTS.md,
*Lossless data and five-step rollouts*): it exploits the model's error. A standard remedy is an
ensemble of predictors on the same encoder: where they disagree, the imagination is unreliable.
This script plans each episode's first plan with the energy

    mean over members of the image energy + ``--spread-weight`` × the members' spread
    (+ ``--goal-state-weight`` × the goal-state term, as the stack's energy)

where the spread is the mean absolute deviation of the members' last imagined tokens from their
mean, and reports, as ``diagnose_trajectory_goals.py`` does, how the plan and the expert's own
motion score imagined and in real frames, and whether the plan, played open-loop, reaches the goal.

With ``--library DATASET`` the candidates are not searched but drawn from the recorded data:
``--library-samples`` windows of 5 consecutive recorded actions of the dataset (the oracle's own
motions, grasps included), each played from the episode's start in imagination and scored by the
same energy; the best is the plan. The search then cannot propose motions the data never showed.

    .venv/bin/python bench/ensemble_plans.py --model-paths A B [C ...] \\
        --only 2 4 9 11 13 20 22 25 --spread-weight 1.0 [--goal-state-weight 0] \\
        [--set max_step=0.2 search_yaw=true ...]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

from bench_planner_configs import model_preset  # noqa: E402
from diagnose_trajectory_goals import (  # noqa: E402
    expert_block_actions,
    planner_config,
    play_open_loop,
    protocol_env,
)

from wm_control.data.trajectories import DatasetConfig, TrajectoryReader  # noqa: E402
from wm_control.energies import energy, state_energy  # noqa: E402
from wm_control.model_source import ModelSource  # noqa: E402
from wm_control.planning.mpc import MPCController  # noqa: E402
from wm_control.world_model import Rollout, WorldModel  # noqa: E402


def encoder_digest(model: WorldModel) -> str:
    """A digest of the encoder's weights: members must share one token space."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.encoder.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()


class EnsembleMPC(MPCController):
    """The stack's MPC controller, imagining with every member and scoring with their mean energy
    plus a penalty on their spread. Members share the first member's encoder and layout."""

    def __init__(self, members: list[WorldModel], spread_weight: float, **kwargs) -> None:
        if len({encoder_digest(m) for m in members}) != 1:
            raise ValueError(
                "EnsembleMPC: expected members that share one encoder (one token space), found "
                "different encoder weights"
            )
        super().__init__(members[0], **kwargs)
        self.members = members
        self.spread_weight = spread_weight

    def _imagine(self, tokens0: torch.Tensor, state: torch.Tensor, actions: torch.Tensor):
        executed = self._executed(actions, state).to(self.model.dtype)
        rollouts = [m.rollout(tokens0, state.view(1, 1, -1), executed) for m in self.members]
        # tokens [K, S, H, N, D]; the states are the layout's integration, equal for all members
        return Rollout(torch.stack([r.tokens for r in rollouts]), rollouts[0].states)

    def _member_terms(self, tokens: torch.Tensor, goal: torch.Tensor):
        """Members' mean image energy ``[S]`` and their spread ``[S]`` for imagined
        ``tokens [K, S, H, N, D]``."""
        image = torch.stack([energy(t, goal, self.discount) for t in tokens]).mean(0)  # [S]
        last = tokens[:, :, -1].float()  # [K, S, N, D]
        return image, (last - last.mean(0)).abs().mean(dim=(0, -2, -1))

    def _energy_terms(self, imagined: Rollout, goal: torch.Tensor, goal_state):
        image, spread = self._member_terms(imagined.tokens, goal)
        distance = None
        if goal_state is not None:
            distance = state_energy(imagined.states, goal_state, self._angular, self.discount)
        return image + self.spread_weight * spread, distance

    def ensemble_terms(self, frame: np.ndarray, state: np.ndarray, plans: np.ndarray):
        """Members' mean image energy ``[S]`` and spread ``[S]`` of ``plans [S, H, A]`` from
        ``frame`` and ``state``, imagined as the planner imagines its candidates."""
        imagined = self.imagine_plans(frame, state, plans)  # tokens [K, S, H, N, D]
        return self._member_terms(imagined.tokens, self._goal)


def action_windows(root: str, horizon: int, count: int, seed: int = 0) -> np.ndarray:
    """``count`` windows of ``horizon`` consecutive recorded actions ``[count, horizon, A]``,
    drawn uniformly over every episode's windows of the OGBench dataset at ``root``."""
    reader = TrajectoryReader(
        DatasetConfig(
            repo_id="local/library",
            root=root,
            camera_key="observation.images.exterior",
            layout="ogbench",
        )
    )
    windows = []
    for episode in reader.episode_indices:
        actions = reader.read(episode, with_frames=False).actions  # [T-1, A]
        starts = range(len(actions) - horizon + 1)
        windows.extend(actions[t : t + horizon] for t in starts)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(windows), size=min(count, len(windows)), replace=False)
    return np.stack([windows[i] for i in chosen])


def library_plan(controller: EnsembleMPC, frame, state, library: np.ndarray) -> np.ndarray:
    """The library window ``[H, A]`` of lowest energy from ``frame`` and ``state`` (all windows
    in one rollout, which imagines them in memory-bounded chunks of samples itself)."""
    return library[int(controller.plan_energy(frame, state, library).argmin())]  # energies [L]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-paths", nargs="+", required=True, help="the members' checkpoints")
    parser.add_argument("--only", type=int, nargs="+", required=True, metavar="SEED")
    parser.add_argument("--spread-weight", type=float, default=1.0)
    parser.add_argument("--goal-state-weight", type=float, default=0.0)
    parser.add_argument("--planner", default="paper", help="configs/planner/<name>.yaml")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--library", default=None, help="an OGBench dataset's folder")
    parser.add_argument("--library-samples", type=int, default=3000)
    args = parser.parse_args()
    torch.set_num_threads(1)

    members = [
        ModelSource.from_dict(model_preset("ogbench_cube", path)).load(ROOT.parent)
        for path in args.model_paths
    ]
    config = planner_config(parser, args, horizon=5)
    env = protocol_env()
    library = None
    if args.library:
        library = action_windows(args.library, 5, args.library_samples)  # [L, 5, A]
    print(
        f"members: {len(members)}, spread weight {args.spread_weight}, goal-state weight "
        f"{args.goal_state_weight}, "
        + (
            f"{config.solver} {config.samples} x {config.iterations}"
            if library is None
            else f"{len(library)} recorded 5-action windows"
        )
    )
    print(
        "seed | plan: image (spread) imagined | expert: image (spread) imagined | "
        "plan real | expert real | plan reaches the goal | expert reaches the goal"
    )
    model = members[0]
    controller = EnsembleMPC(
        members,
        args.spread_weight,
        planner=config.planner(),
        spec=config.action_spec(model.layout.name),
        discount=config.discount,
        warm_start=False,
        state_weight=config.goal_state_weight,
    )
    for seed in args.only:
        actions = expert_block_actions(env, seed)  # [5, A]
        observation, _ = env.reset(seed=seed)
        task = env.unwrapped
        controller.reset()  # each episode's search starts from the same random stream
        goal_image = task.goal_images()[-1]
        controller.set_goal(goal_image, task.goal_configurations()[-1].state)
        frame, state = observation["pixels"], observation["state"]
        if library is None:
            plan = controller.act(frame, state).plan  # [5, A]
        else:
            plan = library_plan(controller, frame, state, library)
        image, spread = controller.ensemble_terms(frame, state, np.stack([plan, actions]))
        plan_reached, plan_frame = play_open_loop(env, plan)
        env.reset(seed=seed)
        expert_reached, expert_frame = play_open_loop(env, actions)
        with torch.inference_mode():
            tokens = model.encode(np.stack([goal_image, plan_frame, expert_frame]))[0]
            plan_real, expert_real = energy(tokens[1:].unsqueeze(1), tokens[0]).tolist()
        (plan_image, expert_image), (plan_spread, expert_spread) = image.tolist(), spread.tolist()
        print(
            f"{seed} | {plan_image:.4f} ({plan_spread:.4f}) | {expert_image:.4f} "
            f"({expert_spread:.4f}) | {plan_real:.4f} | {expert_real:.4f} | {plan_reached} | "
            f"{expert_reached}",
            flush=True,
        )


if __name__ == "__main__":
    main()
