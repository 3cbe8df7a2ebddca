"""Evaluation episodes of OGBench's cube task under two protocols.

**(a) stable-worldmodel's** (``galilai-group/stable-worldmodel``, ``scripts/plan/config/cube.yaml``
and ``scripts/plan/eval_wm.py``), the protocol of the published DINO-WM, GCBC, LeWM, PLDM and
TD-MPC2 numbers. It starts from a state of an expert trajectory and takes as goal the cube pose
``goal_offset_steps`` (25) OGBench control steps later on the same trajectory, the goal image being
that later frame; the agent gets ``eval_budget`` (50) OGBench control steps, and the episode is a
success as soon as OGBench's own test passes (the cube within 4 cm of the goal cube position) at
any of them (the episode ends there). stable-worldmodel draws 50 start rows with
``np.random.default_rng(42).choice`` over
the rows of its expert dataset whose step index is at most ``episode_length - offset - 1``. That
dataset cannot be downloaded here, so each episode makes its own expert trajectory, the way
stable-worldmodel's data were made (its ``ExpertPolicy`` defaults: OGBench's closed-loop
``CubeMarkovOracle`` with ``min_norm=0.4``, Gaussian action noise of standard deviation
``xi * [1, 1, 1, 3, 10]``, ``xi ~ U(0, 0.1)`` per trajectory, no random actions; OGBench's
data-collection mode, a new random target whenever the oracle is done; 200 control steps), and
draws its start step uniformly over the same valid range. As stable-worldmodel's trajectories all
have one length, a uniform draw over valid rows is a uniform trajectory and a uniform start step,
which is what this does, one trajectory per episode seed.

**(b) OGBench's own five evaluation tasks** (task ids 1..5, each with its goal image, OGBench's
200 control steps): the episode of seed ``s`` plays task ``1 + s % 5``, so any 5 consecutive seeds
play each task once and a multiple of 5 episodes weighs the tasks equally, as OGBench's average
over its tasks does.

Each episode is a function of its seed alone. One action of the adapter lasts ``block`` OGBench
control steps (5 at 4 Hz), so the budgets are 10 and 40 actions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from envs.ogbench_cube import NUM_TASKS, OGBENCH_CONTROL_HZ, OGBenchConfiguration, OGBenchCubeEnv

START_STREAM = 0x5357
"""Second word of the start-step generator's seed ``(seed, START_STREAM)``, so the start draw is
independent of the environment's own generator seeded with ``seed``."""


@dataclass(frozen=True)
class TrajectoryGoalProtocol:
    """Protocol (a), stable-worldmodel's; all steps are OGBench control steps (20 Hz).

    Attributes:
        goal_offset_steps: steps from the start state to the goal state on the expert trajectory
            (stable-worldmodel's ``eval.goal_offset_steps``).
        eval_budget: steps the agent gets (``eval.eval_budget``); a multiple of the adapter's
            block.
        trajectory_steps: length of each expert trajectory (its ``max_episode_steps``); it holds
            ``trajectory_steps + 1`` states.
        p_random_action: the expert's probability of a uniformly random action.
    """

    goal_offset_steps: int = 25
    eval_budget: int = 50
    trajectory_steps: int = 200
    p_random_action: float = 0.0

    def __post_init__(self) -> None:
        for name in ("goal_offset_steps", "eval_budget", "trajectory_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"TrajectoryGoalProtocol.{name}: expected an integer >= 1, found {value!r}"
                )
        if self.goal_offset_steps > self.trajectory_steps:
            raise ValueError(
                f"TrajectoryGoalProtocol.goal_offset_steps: expected at most trajectory_steps "
                f"({self.trajectory_steps}), found {self.goal_offset_steps}"
            )
        if not 0.0 <= self.p_random_action <= 1.0:
            raise ValueError(
                f"TrajectoryGoalProtocol.p_random_action: expected a probability in "
                f"[0, 1], found {self.p_random_action}"
            )

    @property
    def start_steps(self) -> range:
        """Valid start steps: stable-worldmodel's ``step_idx <= length - offset - 1`` for a
        trajectory of ``length = trajectory_steps + 1`` states."""
        return range(self.trajectory_steps + 1 - self.goal_offset_steps)

    def budget_actions(self, block: int) -> int:
        """The budget in adapter actions of ``block`` control steps each."""
        if self.eval_budget % block:
            raise ValueError(
                f"TrajectoryGoalProtocol.eval_budget: expected a multiple of the "
                f"action block ({block} control steps), found {self.eval_budget}"
            )
        return self.eval_budget // block


@dataclass(frozen=True)
class ExpertTrajectory:
    """The simulation states of one expert trajectory, one per OGBench control step:
    ``qpos [T + 1, nq]``, ``qvel [T + 1, nv]`` (state ``t`` is the one before step ``t``)."""

    seed: int
    qpos: np.ndarray
    qvel: np.ndarray

    def __post_init__(self) -> None:
        if self.qpos.ndim != 2 or self.qvel.ndim != 2 or len(self.qpos) != len(self.qvel):
            raise ValueError(
                f"ExpertTrajectory: expected qpos [T, nq] and qvel [T, nv] of one "
                f"length, found {self.qpos.shape} and {self.qvel.shape}"
            )


@dataclass(frozen=True)
class StartGoalEpisode:
    """One episode of protocol (a): start and goal states of an expert trajectory."""

    seed: int
    start_step: int
    goal_step: int
    start_qpos: np.ndarray
    start_qvel: np.ndarray
    goal_qpos: np.ndarray
    goal_qvel: np.ndarray


def _data_collection_task(env: gym.Env) -> OGBenchCubeEnv:
    task = env.unwrapped
    if not isinstance(task, OGBenchCubeEnv) or task.mode != "data_collection":
        mode = f" in mode {task.mode!r}" if hasattr(task, "mode") else ""
        found = f"{type(task).__name__}{mode}"
        raise ValueError(
            "protocol (a) plays the OGBench cube task in its data-collection mode "
            f"(OGBenchCubeEnv, mode='data_collection'), found {found}"
        )
    return task


def draw_start_step(protocol: TrajectoryGoalProtocol, seed: int) -> int:
    """The start step of the episode of ``seed``: uniform over ``protocol.start_steps``
    (generator seeded with ``(seed, START_STREAM)``). It does not depend on the trajectory, so
    the expert only needs to be run up to the goal."""
    rng = np.random.default_rng((seed, START_STREAM))
    return int(rng.choice(protocol.start_steps))


def play_recorded(
    task: OGBenchCubeEnv, control: Callable[[dict[str, Any]], np.ndarray], control_steps: int
) -> list[tuple[np.ndarray, np.ndarray, dict[str, Any]]]:
    """Play ``control`` (OGBench ``info`` -> action [5], closed loop at OGBench's 20 Hz) from the
    current scene in whole actions of ``task.block`` control steps until at least
    ``control_steps`` were played; returns ``(qpos, qvel, info)`` before each control step."""
    records: list[tuple[np.ndarray, np.ndarray, dict[str, Any]]] = []

    def act(raw):  # called before every control step of a block
        records.append((*task.simulator_state(), raw))
        return control(raw)

    while len(records) < control_steps:
        task.step_block(act)
    return records


def protocol_expert(task: OGBenchCubeEnv, seed: int, protocol: TrajectoryGoalProtocol):
    """The expert of the episode of ``seed`` (see the module docstring): OGBench's closed-loop
    Markov oracle with its noise seeded by ``seed``, acting on ``task`` as just reset with it."""
    from envs.ogbench_oracles import OGBenchOracle

    return OGBenchOracle(
        task, kind="oracle_noisy", seed=seed, p_random_action=protocol.p_random_action
    )


def record_expert_trajectory(
    env: gym.Env, seed: int, steps: int, protocol: TrajectoryGoalProtocol
) -> ExpertTrajectory:
    """Run stable-worldmodel's expert (see the module docstring) for ``steps`` control steps from
    the scene ``env`` was just reset to, recording the ``steps + 1`` states. The oracle's noise is
    seeded with ``seed``; the first ``k + 1`` states do not depend on ``steps >= k``."""
    task = _data_collection_task(env)
    if not 0 <= steps <= protocol.trajectory_steps:
        raise ValueError(
            f"record_expert_trajectory: expected 0 <= steps <= "
            f"{protocol.trajectory_steps} (trajectory_steps), found {steps}"
        )
    expert = protocol_expert(task, seed, protocol)
    states = [(q, v) for q, v, _ in play_recorded(task, expert, steps)]
    states.append(task.simulator_state())
    states = states[: steps + 1]
    return ExpertTrajectory(
        seed=seed, qpos=np.stack([q for q, _ in states]), qvel=np.stack([v for _, v in states])
    )


def draw_start_goal(env: gym.Env, seed: int, protocol: TrajectoryGoalProtocol) -> StartGoalEpisode:
    """Protocol (a)'s episode of ``seed`` on ``env``, the OGBench cube task in data-collection
    mode just reset with ``seed``: draw the start step, run the expert to the goal step."""
    start = draw_start_step(protocol, seed)
    goal = start + protocol.goal_offset_steps
    trajectory = record_expert_trajectory(env, seed, goal, protocol)
    return StartGoalEpisode(
        seed=seed,
        start_step=start,
        goal_step=goal,
        start_qpos=trajectory.qpos[start].copy(),
        start_qvel=trajectory.qvel[start].copy(),
        goal_qpos=trajectory.qpos[goal].copy(),
        goal_qvel=trajectory.qvel[goal].copy(),
    )


PROTOCOL_JAWS = ("pick", "carry", "search")  # the first is the default
"""The planner's jaws on protocol (a)'s goal image (``ogbench.jaws`` of ``wm-control eval``; see
``wm_control.episode.SCHEDULE_JAWS``): ``"carry"`` holds them closed on a held cube until the hand
is at the goal state's position, then searches them; ``"pick"`` (the default) is ``"carry"``
after a grasp where the goal's jaws hold the cube and the start's are open (under the start's
hand where it is coming down low, else where the goal's hand grasped: ``eval``'s
``ogbench.grasp_lift``);
``"search"`` searches them throughout, as the paper's planner does, and drops a held cube at once
where the goal shows it set down elsewhere with the jaws open. Chosen on seeds 0-79: ``carry``
18 of 30 against 13 for ``search`` on seeds 0-29; ``pick`` 20 there (the same 18 and two
pick-ups) and 32 of 50 on seeds 30-79, against 26 for ``carry``; with the grasp lift 62 of 80
on seeds 0-79, against 52 without."""


class TrajectoryGoalEpisodes(gym.Wrapper):
    """The OGBench cube task playing protocol (a): ``reset(seed=s)`` records the expert trajectory
    of seed ``s``, draws its start and goal and starts there (``info["protocol"]`` names the
    steps), with ``jaws`` (one of :data:`PROTOCOL_JAWS`) as the task's jaw schedule. Wraps
    ``gym.make`` of the task in ``data_collection`` mode whose time limit is the budget in actions
    (:func:`make_protocol_env` builds it). The episode drawn for a seed is kept, so resetting to
    a seed again (a diagnosis replaying one start many times) skips the expert's run, about a
    second, and plays bit for bit as the first reset did."""

    def __init__(
        self, env: gym.Env, protocol: TrajectoryGoalProtocol, jaws: str = PROTOCOL_JAWS[0]
    ) -> None:
        super().__init__(env)
        _check_jaws(jaws)
        task = _data_collection_task(env)
        actions = protocol.budget_actions(task.block)
        if env.spec is None or env.spec.max_episode_steps != actions:
            found = None if env.spec is None else env.spec.max_episode_steps
            raise ValueError(
                f"TrajectoryGoalEpisodes: expected a time limit of {actions} actions "
                f"({protocol.eval_budget} control steps), found {found}"
            )
        self.protocol, self.actions, self.jaws = protocol, actions, jaws
        self.episode: StartGoalEpisode | None = None
        self._drawn: dict[int, StartGoalEpisode] = {}  # seed -> its episode (reset without options)
        task.terminate_on_success = True  # stable-worldmodel's terminate_at_goal: at that step

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is None:
            raise ValueError(
                "TrajectoryGoalEpisodes.reset: expected a seed (each episode of the "
                "protocol is a function of its seed), found None"
            )
        self.env.reset(seed=seed, options=options)  # the time limit's count starts here
        e = None if options else self._drawn.get(seed)
        if e is None:
            e = draw_start_goal(self.env, seed, self.protocol)
            if not options:
                self._drawn[seed] = e
        self.episode = e
        task = self.env.unwrapped
        observation, info = task.reset_to(e.start_qpos, e.start_qvel, e.goal_qpos, e.goal_qvel)
        task.set_subgoals([], (self.actions,), (self.jaws,))
        info["protocol"] = {"start_step": e.start_step, "goal_step": e.goal_step}
        return observation, info


def _check_jaws(jaws: str) -> None:
    if jaws not in PROTOCOL_JAWS:
        raise ValueError(f"ogbench.jaws: expected one of {list(PROTOCOL_JAWS)}, found {jaws!r}")


def task_of_seed(seed: int) -> int:
    """Protocol (b): OGBench's evaluation task (1..5) played by the episode of ``seed``."""
    return 1 + seed % NUM_TASKS


GRIPPER_OPEN = 0.05
"""Gripper closure (0 open .. 1 shut) below which the oracle's jaws count as open."""
GRIPPER_HOLDING = 0.5
"""Gripper closure at or above which the oracle's jaws count as closed on the cube (0.56 held)."""


def oracle_subgoals(task: OGBenchCubeEnv, actions: int, seed: int) -> bool:
    """Give the episode just reset on ``task`` sub-goals from OGBench's oracle solving it: run
    :class:`~envs.ogbench_agents.OGBenchGoalOracle` from the start for up to ``actions`` actions,
    recording the configuration before each of its 20 Hz control steps, then restore the start.
    The sub-goals are four of those configurations: the open jaws around the cube (the last
    before they close), the jaws closed on it (the first with the cube held, before the lift),
    the cube at its highest while carried, and the cube held at its target (the last before the
    jaws open). The planner's steps on each are the oracle's actions to it, times 1.5 and at least
    2, the rest of the budget on the goal; its jaws are held open, closed, closed, closed and
    open. Returns False, giving none, when the oracle did not grasp, carry and release the cube
    within the budget."""
    from envs.ogbench_agents import OGBenchGoalOracle

    start = task.simulator_state()
    control = OGBenchGoalOracle(task, seed)(None, {})
    try:
        played = play_recorded(task, control, actions * task.block)
    finally:
        task.restore_simulator_state(*start)
    # qpos, qvel, robot state [5], cube height (m) before each control step
    records = [
        (q, v, task.robot_state(raw), float(raw["privileged/block_0_pos"][2]))
        for q, v, raw in played
    ]
    closure = np.array([state[4] for _, _, state, _ in records])  # [T]
    closing = np.flatnonzero(closure > GRIPPER_OPEN)
    if len(closing) == 0 or closing[0] < 1:
        return False
    around = int(closing[0]) - 1
    held = np.flatnonzero(closure[around:] >= GRIPPER_HOLDING)
    if len(held) == 0:
        return False
    grasped = around + int(held[0])
    opening = np.flatnonzero(closure[grasped:] < GRIPPER_HOLDING)
    if len(opening) == 0 or opening[0] < 3:
        return False
    placed = grasped + int(opening[0]) - 1
    lifted = grasped + 1 + int(np.argmax([z for *_, z in records[grasped + 1 : placed]]))
    chosen = [around, grasped, lifted, placed]  # control steps (20 Hz)
    configurations = [
        OGBenchConfiguration(qpos=q.copy(), qvel=v.copy(), state=np.asarray(x, np.float32).copy())
        for q, v, x, _ in (records[i] for i in chosen)
    ]
    block = task.block
    reached = np.diff([0, *chosen]) / block  # the oracle's actions to each sub-goal
    steps = [max(2, int(np.ceil(1.5 * n))) for n in reached]
    if sum(steps) >= actions:
        return False
    task.set_subgoals(
        configurations,
        (*steps, actions - sum(steps)),
        ("open", "closed", "closed", "closed", "open"),
    )
    return True


class OGBenchTaskEpisodes(gym.Wrapper):
    """The OGBench cube task playing protocol (b): ``reset(seed=s)`` plays OGBench's evaluation
    task :func:`task_of_seed` ``(s)`` with its goal image, after the sub-goals of
    :func:`oracle_subgoals` when ``subgoals`` is true (where the oracle's solution gives them)."""

    def __init__(self, env: gym.Env, subgoals: bool = False) -> None:
        super().__init__(env)
        self.subgoals = subgoals
        task = env.unwrapped
        if not isinstance(task, OGBenchCubeEnv) or task.mode != "task":
            raise ValueError(
                "protocol (b) plays the OGBench cube task in its task mode "
                f"(OGBenchCubeEnv, mode='task'), found {type(task).__name__}"
            )
        task.terminate_on_success = True  # OGBench's evaluation ends at the goal

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is None:
            raise ValueError(
                "OGBenchTaskEpisodes.reset: expected a seed (it chooses the task), found None"
            )
        observation, info = self.env.reset(
            seed=seed, options={**(options or {}), "task_id": task_of_seed(seed)}
        )
        if self.subgoals:
            info["subgoals"] = oracle_subgoals(
                self.env.unwrapped, self.env.spec.max_episode_steps, seed
            )
        return observation, info


OGBENCH_TASK_STEPS = 200
"""OGBench's time limit of its cube evaluation tasks (control steps), protocol (b)'s budget."""
PROTOCOLS = ("trajectory_goals", "ogbench_tasks")


def make_protocol_env(
    config,
    protocol: str,
    trajectory_goals: TrajectoryGoalProtocol | None = None,
    task_subgoals: bool = False,
    jaws: str = PROTOCOL_JAWS[0],
) -> gym.Env:
    """The OGBench cube task of ``config`` (an ``envs.config.EnvConfig``) playing ``protocol``:
    ``"trajectory_goals"`` (a, the planner's jaws on its goal: ``jaws``) or ``"ogbench_tasks"``
    (b, with the oracle's sub-goals when ``task_subgoals``), with its budget as the time limit."""
    from envs.config import make_env

    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol: expected one of {PROTOCOLS}, found {protocol!r}")
    block = round(OGBENCH_CONTROL_HZ / config.control_hz)  # control steps per action
    if protocol == "trajectory_goals":
        _check_jaws(jaws)
        trajectory_goals = trajectory_goals or TrajectoryGoalProtocol()
        actions = trajectory_goals.budget_actions(block)
        env = make_env(
            dataclasses.replace(config, mode="data_collection", max_episode_steps=actions)
        )
        return TrajectoryGoalEpisodes(env, trajectory_goals, jaws)
    env = make_env(
        dataclasses.replace(config, mode="task", max_episode_steps=-(-OGBENCH_TASK_STEPS // block))
    )
    return OGBenchTaskEpisodes(env, subgoals=task_subgoals)
