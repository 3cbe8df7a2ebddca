"""Evaluation harness: agents × tasks over the same seeded episodes; tables and a bar plot.

Every agent plays the same episode seeds of every task (``seed``, ``seed + 1``, …), so the planner
and the baselines (random actions, the scripted expert as an upper bound, a goal-conditioned
behaviour-cloning policy) are compared on identical starts and goals.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from envs.episode import Policy, run_episode

AgentFactory = Callable[[object], Policy]  # env → agent (a policy) for that env


@dataclass(frozen=True)
class EpisodeOutcome:
    task: str
    agent: str
    seed: int
    success: bool
    final_goal_distance: (
        float  # m: the task's object (Reach: end effector) to where the final goal image shows it
    )
    final_ee_distance: float  # m: end effector to the final sub-goal's end-effector position
    seconds_per_action: float
    steps: int


@dataclass(frozen=True)
class SummaryRow:
    task: str
    agent: str
    episodes: int
    success_rate: float
    success_low: float  # 95 % Wilson score interval of the success rate
    success_high: float
    goal_distance_mean: float
    ee_distance_mean: float
    seconds_per_action: float


EpisodeKey = tuple[str, str, int]  # (task, agent, seed)


def evaluate(
    tasks: dict[str, Callable[[], object]],
    agents: dict[str, AgentFactory],
    *,
    episodes: int,
    seed: int,
    progress: bool = True,
    reuse: Mapping[EpisodeKey, EpisodeOutcome] | None = None,
    on_outcome: Callable[[EpisodeOutcome], None] | None = None,
) -> list[EpisodeOutcome]:
    """Play ``episodes`` seeded episodes of every task (name → env factory) with every agent.

    Episodes found in ``reuse`` (outcomes of an earlier run, by task, agent and seed) are taken
    from there instead of being played again. ``on_outcome`` sees every outcome as it is known.
    """
    if episodes < 1:
        raise ValueError(f"evaluate: expected episodes >= 1, found {episodes}")
    reuse = reuse or {}
    outcomes: list[EpisodeOutcome] = []
    for task, make_env in tasks.items():
        env = None
        try:
            for name, make_agent in agents.items():
                agent = None
                bar = tqdm(
                    range(episodes), desc=f"{task:<12} {name:<8}", disable=not progress, leave=True
                )
                successes = 0
                for i in bar:
                    outcome = reuse.get((task, name, seed + i))
                    if outcome is None:
                        if env is None:
                            env = make_env()
                        if agent is None:
                            agent = make_agent(env)
                        result = run_episode(
                            env, agent, seed=seed + i, max_steps=env.spec.max_episode_steps
                        )
                        outcome = EpisodeOutcome(
                            task=task,
                            agent=name,
                            seed=seed + i,
                            success=result.success,
                            final_goal_distance=result.final_goal_distance,
                            final_ee_distance=result.final_ee_distance,
                            seconds_per_action=result.seconds_per_action,
                            steps=len(result.steps),
                        )
                    outcomes.append(outcome)
                    if on_outcome is not None:
                        on_outcome(outcome)
                    successes += outcome.success
                    bar.set_postfix(success=f"{successes}/{i + 1}")
        finally:
            if env is not None:
                env.close()
    return outcomes


def read_outcomes(path: Path) -> list[EpisodeOutcome]:
    """The episodes of an ``episodes.csv`` written by :func:`write_report` or :class:`EpisodeLog`.
    A cut-off last row (a run killed while writing it) is left out; any other bad row is an
    error."""
    names = list(EpisodeOutcome.__dataclass_fields__)
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != names:
            older = (
                " (written by an older wm-control: play its episodes again)"
                if (reader.fieldnames and "final_distance" in reader.fieldnames)
                else ""
            )
            raise ValueError(
                f"{path}: expected the columns {names} of an evaluation's episodes.csv, "
                f"found {reader.fieldnames}{older}"
            )
        rows = list(reader)
    outcomes = []
    for number, row in enumerate(rows, start=2):
        try:
            outcomes.append(
                EpisodeOutcome(
                    task=row["task"],
                    agent=row["agent"],
                    seed=int(row["seed"]),
                    success={"True": True, "False": False}[row["success"]],
                    final_goal_distance=float(row["final_goal_distance"]),
                    final_ee_distance=float(row["final_ee_distance"]),
                    seconds_per_action=float(row["seconds_per_action"]),
                    steps=int(row["steps"]),
                )
            )
        except (KeyError, ValueError, TypeError) as error:
            if number == len(rows) + 1:
                print(f"{path}: line {number} is cut off (an interrupted run); left out")
                continue
            raise ValueError(
                f"{path}: line {number} is not an episode row ({error!r}): {row}"
            ) from error
    return outcomes


class EpisodeLog:
    """Appends outcomes to ``episodes.csv`` as they come (flushed per row), so that an interrupted
    evaluation keeps its episodes and can be resumed from them."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(path, "w", newline="")
        self._writer = csv.DictWriter(
            self._handle, fieldnames=list(EpisodeOutcome.__dataclass_fields__)
        )
        self._writer.writeheader()

    def __call__(self, outcome: EpisodeOutcome) -> None:
        self._writer.writerow(asdict(outcome))
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % (default ``z``) Wilson score interval of a success rate: sound at 0 or all successes and
    for few trials, where the normal approximation is not."""
    if trials < 1:
        raise ValueError(f"wilson_interval: expected trials >= 1, found {trials}")
    rate = successes / trials
    centre = (rate + z * z / (2 * trials)) / (1 + z * z / trials)
    half = (
        z
        / (1 + z * z / trials)
        * np.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials))
    )
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


def summarise(outcomes: list[EpisodeOutcome]) -> list[SummaryRow]:
    rows = []
    keys = dict.fromkeys((o.task, o.agent) for o in outcomes)
    for task, agent in keys:
        group = [o for o in outcomes if o.task == task and o.agent == agent]
        successes = sum(o.success for o in group)
        low, high = wilson_interval(successes, len(group))
        rows.append(
            SummaryRow(
                task=task,
                agent=agent,
                episodes=len(group),
                success_rate=successes / len(group),
                success_low=low,
                success_high=high,
                goal_distance_mean=float(np.mean([o.final_goal_distance for o in group])),
                ee_distance_mean=float(np.mean([o.final_ee_distance for o in group])),
                seconds_per_action=float(np.mean([o.seconds_per_action for o in group])),
            )
        )
    return rows


def markdown_table(rows: list[SummaryRow]) -> str:
    lines = [
        "| task | agent | episodes | success | 95 % interval | distance to goal (cm) "
        "| end effector to final pose (cm) | s / action |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.task} | {r.agent} | {r.episodes} | {r.success_rate:.0%} | "
        f"{r.success_low:.0%}–{r.success_high:.0%} | {r.goal_distance_mean * 100:.1f} | "
        f"{r.ee_distance_mean * 100:.1f} | {r.seconds_per_action:.3f} |"
        for r in rows
    ]
    return "\n".join(lines)


def write_report(outcomes: list[EpisodeOutcome], folder: Path) -> list[SummaryRow]:
    """``episodes.csv`` (one row per episode), ``summary.csv``, ``summary.md`` and
    ``success.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = summarise(outcomes)
    for name, items in (("episodes.csv", outcomes), ("summary.csv", rows)):
        with open(folder / name, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(asdict(items[0])))
            writer.writeheader()
            writer.writerows(asdict(item) for item in items)
    (folder / "summary.md").write_text(markdown_table(rows) + "\n")
    _bar_plot(rows, folder / "success.png")
    return rows


def _bar_plot(rows: list[SummaryRow], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r.task for r in rows))
    agents = list(dict.fromkeys(r.agent for r in rows))
    width = 0.8 / len(agents)
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(tasks), 3.8))
    for k, agent in enumerate(agents):
        found = [next((r for r in rows if r.task == t and r.agent == agent), None) for t in tasks]
        rates = np.array([0.0 if r is None else r.success_rate * 100 for r in found])
        low = np.array([0.0 if r is None else r.success_low * 100 for r in found])
        high = np.array([0.0 if r is None else r.success_high * 100 for r in found])
        x = np.arange(len(tasks)) + (k - (len(agents) - 1) / 2) * width
        ax.bar(
            x,
            rates,
            width,
            label=agent,
            yerr=np.clip(np.stack([rates - low, high - rates]), 0, None),
            error_kw={"elinewidth": 0.8, "capsize": 2},
        )
        for xi, rate, top in zip(x, rates, high):  # the rate above its interval
            ax.text(xi, top + 1.5, f"{rate:.0f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(np.arange(len(tasks)), tasks)
    ax.set_ylabel("success rate (%)")
    ax.set_ylim(0, 125)  # room for the legend above bars at 100 %
    ax.legend(ncols=len(agents), fontsize=8, loc="upper center")
    ax.set_title(f"success over {rows[0].episodes} seeded episodes per task (bars: 95 % interval)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
