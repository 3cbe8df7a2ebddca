"""`wm-control eval`: success rate, final distance and time per action of the planner and the
baselines (random actions, the scripted expert, goal-conditioned behaviour cloning) over the same
seeded episodes of each task (this project's tasks, and OGBench's cube task under two protocols:
:mod:`.eval_tasks`). A long evaluation runs in parts (``part=0,1,2,3 parts=4 --multirun`` on any
Hydra launcher) that ``gather=<multirun folder>`` merges into one report (:mod:`..eval_parts`)."""

from __future__ import annotations

import functools
import json
import logging
import os
import socket

from omegaconf import DictConfig, OmegaConf

from ..behavior_cloning import (
    BCAgent,
    BCConfig,
    GoalConditionedPolicy,
    load_demonstrations,
    train_policy,
)
from ..episode import MPCAgent, jaw_setting
from ..eval_parts import SIMULATOR_RECORD, EvalPart, gather, recorded_config
from ..evaluation import markdown_table, write_report
from ..grasp_lift import GraspLift
from ..layouts import task_layout
from ..object_locator import ObjectLocator
from ..model_source import ModelSource
from ..planning.config import PlannerConfig
from ..planning.workspace import TRANSLATION_NAMES, Workspace
from . import output_dir
from .eval_tasks import OGBENCH_PROTOCOL_TASKS, baseline_agent, env_config, task_factory
from .image_inputs import REPO_ROOT

CONFIG_NAME = "eval"
AGENTS = ("planner", "bc", "random", "expert", "oracle")
"""``expert`` and ``oracle`` are one agent: the task's scripted expert (OGBench: its oracle)."""


def run(cfg: DictConfig) -> None:
    if cfg.gather:
        _gather(cfg.gather)
        return
    part = EvalPart(cfg.part, cfg.parts)
    seeds = part.seeds(cfg.episodes, cfg.seed)
    if part.parts > 1 and "bc" in cfg.agents and not cfg.bc.checkpoint:
        raise ValueError(
            "bc.checkpoint: parts > 1 would each train their own behaviour-cloning "
            "policy; train it once (agents=[bc] episodes=1 with bc.datasets) and give "
            "every part bc.checkpoint=<that run's bc_policy.safetensors>"
        )
    unknown = sorted(set(cfg.agents) - set(AGENTS))
    if unknown:
        raise ValueError(f"agents: unknown {unknown}; expected a subset of {list(AGENTS)}")
    overrides = {
        k: v
        for k, v in OmegaConf.to_container(cfg.env_overrides, resolve=True).items()
        if v is not None
    }
    env_configs = {task: env_config(task, overrides) for task in cfg.tasks}
    ogbench = OmegaConf.to_container(cfg.ogbench, resolve=True)
    factories = {task: task_factory(task, c, ogbench) for task, c in env_configs.items()}
    task_of_env: dict[int, str] = {}  # id(env) -> task name, for the per-task planner settings

    def made(task: str):
        env = factories[task]()
        task_of_env[id(env)] = task
        return env

    tasks = {task: functools.partial(made, task) for task in env_configs}

    agents = {}  # in the order of AGENTS: a single run's order, which gather restores
    if "planner" in cfg.agents:
        source = ModelSource.from_dict(OmegaConf.to_container(cfg.model, resolve=True))
        planner_cfg = PlannerConfig.from_dict(OmegaConf.to_container(cfg.planner, resolve=True))
        model = functools.cache(
            lambda: source.load(REPO_ROOT)
        )  # loaded for the first episode played
        schedules = (
            {}
            if cfg.subgoal_steps is None
            else OmegaConf.to_container(cfg.subgoal_steps, resolve=True)
        )
        unknown = sorted(set(schedules) - set(env_configs))
        if unknown:
            raise ValueError(
                f"subgoal_steps: tasks {unknown} are not evaluated; expected a subset of "
                f"{list(env_configs)}"
            )
        jaws = _jaw_settings(cfg.subgoal_jaws, env_configs)
        protocol = any(task in OGBENCH_PROTOCOL_TASKS for task in env_configs)
        # read before playing: a bad file stops the run at once
        lift = _repo_file(GraspLift.load, ogbench.get("grasp_lift")) if protocol else None
        locator = _repo_file(ObjectLocator.load, ogbench.get("locator")) if protocol else None

        def planner_agent(env):
            # the box is imagined for Δxyz in metres, not for OGBench's scaled actions
            metric = set(TRANSLATION_NAMES) <= set(model().layout.action_names)
            box = Workspace(*env.unwrapped.workspace) if metric else None
            controller = planner_cfg.controller(model(), workspace=box)
            task = task_of_env[id(env)]
            steps = schedules.get(task)
            return MPCAgent(
                env,
                controller,
                subgoal_steps=list(steps) if steps else None,
                subgoal_jaws=jaws.get(task),
                max_steps=env.spec.max_episode_steps,
                grasp_lift=lift if task in OGBENCH_PROTOCOL_TASKS else None,
                locator=locator if task in OGBENCH_PROTOCOL_TASKS else None,
            )

        agents["planner"] = planner_agent
    if "bc" in cfg.agents:
        policy = functools.cache(lambda layout: _bc_policy(cfg, layout))  # at its first episode
        agents["bc"] = lambda env: BCAgent(env, policy(task_layout(env)))
    for name in ("random", "expert", "oracle"):
        if name in cfg.agents:
            agents[name] = functools.partial(baseline_agent, name, seed=cfg.seed)

    from ..evaluation import EpisodeLog, evaluate

    reuse = _episodes_to_reuse(cfg)
    folder = output_dir()
    (folder / SIMULATOR_RECORD).write_text(
        json.dumps({"simulator_version": _simulator_version()}) + "\n"
    )
    if part.parts > 1:  # which process and machine played it: a launcher runs parts anywhere
        logging.getLogger(__name__).info(
            "part %d of %d (from 0): seeds %d-%d, process %d on %s",
            part.part,
            part.parts,
            seeds.start,
            seeds.stop - 1,
            os.getpid(),
            socket.gethostname(),
        )
    log = EpisodeLog(folder / "episodes.csv")
    try:
        outcomes = evaluate(
            tasks,
            agents,
            episodes=len(seeds),
            seed=seeds.start,
            progress=cfg.progress,
            reuse=reuse,
            on_outcome=log,
        )
    finally:
        log.close()
    rows = write_report(outcomes, folder)
    print(markdown_table(rows))
    print(f"outputs: {folder} (summary.md, summary.csv, episodes.csv, success.png)")


def _gather(entries) -> None:
    """``gather=``: the parts' episodes in one report in this run's folder, as a single run of
    their settings writes it; ``gather.json`` records the parts and their settings."""
    from hydra.core.hydra_config import HydraConfig

    given = [o.split("=", 1)[0].lstrip("+~") for o in HydraConfig.get().overrides.task]
    ignored = [key for key in given if key.split(".")[0] not in ("gather", "progress", "threads")]
    if ignored:
        raise ValueError(
            f"gather: the settings are the parts' own; leave out {ignored} (a part "
            f"with other settings is played as its own run, not gathered)"
        )
    gathered = gather([entries] if isinstance(entries, str) else list(entries), agent_order=AGENTS)
    folder = output_dir()
    first = gathered.runs[0]
    version = {"simulator_version": first.simulator_version}
    (folder / SIMULATOR_RECORD).write_text(json.dumps(version) + "\n")
    (folder / "gather.json").write_text(gathered.record())
    rows = write_report(gathered.outcomes, folder)
    print(f"gather: {len(gathered.outcomes)} episodes from {len(gathered.runs)} parts")
    print(markdown_table(rows))
    print(f"outputs: {folder} (summary.md, summary.csv, episodes.csv, success.png, gather.json)")


def _jaw_settings(value, env_configs: dict) -> dict:
    """``subgoal_jaws`` per task: null → {} (the tasks' own), ``search`` → search for every task,
    or a mapping task → list."""
    if value is None:
        return {}
    if isinstance(value, str):
        if value != "search":
            raise ValueError(
                f"subgoal_jaws: expected null, 'search' or a mapping task -> list, found {value!r}"
            )
        return dict.fromkeys(env_configs, "search")
    mapping = {
        task: jaw_setting(v) for task, v in OmegaConf.to_container(value, resolve=True).items()
    }
    unknown = sorted(set(mapping) - set(env_configs))
    if unknown:
        raise ValueError(
            f"subgoal_jaws: tasks {unknown} are not evaluated; expected a subset of "
            f"{list(env_configs)}"
        )
    return mapping


PLANNER_SETTINGS = ("model", "planner", "subgoal_steps", "subgoal_jaws")
"""Settings a reused planner episode must share with this run, besides ``env_overrides`` (all
agents)."""


def _episodes_to_reuse(cfg: DictConfig) -> dict:
    """Outcomes of earlier runs (``resume``: episodes.csv files or run folders), by (task, agent,
    seed); later entries win. Refused when the earlier run's recorded settings
    (``.hydra/config.yaml`` of its run folder) differ."""
    from pathlib import Path

    from ..evaluation import read_outcomes

    here = _compared_settings(cfg)
    reuse = {}
    for entry in cfg.resume:
        path = Path(str(entry)).expanduser()
        csv_path = path / "episodes.csv" if path.is_dir() else path
        if not csv_path.is_file():
            raise ValueError(
                f"resume: expected an episodes.csv file or an eval run folder holding one, "
                f"found nothing at {str(csv_path)!r}"
            )
        outcomes = read_outcomes(csv_path)
        folder = csv_path.parent
        if (folder / ".hydra" / "config.yaml").is_file():  # a run folder (a bare CSV: as given)
            _check_simulator(csv_path)
            there = _compared_settings(recorded_config(folder))
            keys = (
                "env_overrides",
                *(PLANNER_SETTINGS if any(o.agent == "planner" for o in outcomes) else ()),
            )
            if any(o.task in OGBENCH_PROTOCOL_TASKS for o in outcomes):
                keys = (*keys, "ogbench")  # the protocol's settings make its episodes
            differ = [k for k in keys if there.get(k) != here.get(k)]
            if differ:
                details = "; ".join(
                    f"{k}: {there.get(k)} there, {here.get(k)} here" for k in differ
                )
                raise ValueError(
                    f"resume: {csv_path} was evaluated with other settings ({details})"
                )
        reuse.update({(o.task, o.agent, o.seed): o for o in outcomes})
        print(f"resume: {len(outcomes)} episodes from {csv_path}")
    return reuse


def _simulator_version() -> int:
    import envs

    return envs.SIMULATOR_VERSION


def _check_simulator(csv_path) -> None:
    """Refuse an earlier run's episodes played on another simulator version."""
    record = csv_path.parent / SIMULATOR_RECORD
    there = json.loads(record.read_text())["simulator_version"] if record.is_file() else None
    here = _simulator_version()
    if there != here:
        played = f"version {there}" if there is not None else "a version before 2 (none recorded)"
        raise ValueError(
            f"resume: {csv_path} was played on simulator {played}, this is version {here}: "
            f"its episodes would play differently now; play them again"
        )


def _repo_file(load, path: str | None):
    """``load`` of a setting's file (``ogbench.grasp_lift``, ``ogbench.locator``; relative paths
    from the repository), or None where the setting is null."""
    if not path:
        return None
    path = os.path.expanduser(path)
    return load(path if os.path.isabs(path) else REPO_ROOT / path)


def _compared_settings(cfg: DictConfig) -> dict:
    values = OmegaConf.to_container(cfg, resolve=True)
    values["subgoal_steps"] = (
        values.get("subgoal_steps") or None
    )  # {} means the tasks' own, as null does
    # runs from before the jaw schedule searched the gripper everywhere
    values["subgoal_jaws"] = values.get("subgoal_jaws", "search") or None
    if isinstance(values.get("ogbench"), dict):  # runs from before ogbench.jaws searched them
        values["ogbench"].setdefault("jaws", "search")
        values["ogbench"].setdefault("grasp_lift", None)  # ... and had no grasp lift
        values["ogbench"].setdefault("locator", None)  # ... nor object locator
    if isinstance(
        values.get("planner"), dict
    ):  # runs from before planner.solver: CEM, the defaults
        values["planner"] = PlannerConfig.from_dict(values["planner"]).to_dict()
    return values


def _bc_policy(cfg: DictConfig, layout: str) -> GoalConditionedPolicy:
    """The behaviour-cloning baseline: loaded from ``bc.checkpoint`` or trained on ``bc.datasets``
    (the datasets the world model was trained on, in the action/state ``layout`` of the task that
    first asks for it) and saved into the run folder."""
    from pathlib import Path

    from ..data.trajectories import DatasetConfig, TrajectoryReader

    if cfg.bc.checkpoint:
        return GoalConditionedPolicy.load(Path(cfg.bc.checkpoint).expanduser())
    if not cfg.bc.datasets:
        raise ValueError(
            "agents includes bc: give bc.checkpoint=<policy> or bc.datasets=[<dataset folder>, ...]"
        )
    readers = [
        TrajectoryReader(
            DatasetConfig(
                repo_id="local/bc",
                root=str(Path(root).expanduser()),
                camera_key=cfg.bc.camera_key,
                action_source="dataset",
                layout=layout,
            )
        )
        for root in cfg.bc.datasets
    ]
    config = BCConfig(**OmegaConf.to_container(cfg.bc.policy, resolve=True))
    demos = load_demonstrations(
        readers, config.image_size, progress=cfg.progress, goal_steps=config.goal_steps
    )
    policy = train_policy(demos, config, progress=cfg.progress)
    path = policy.save(
        output_dir() / "bc_policy.safetensors", metadata={"datasets": list(cfg.bc.datasets)}
    )
    print(f"behaviour-cloning policy: {len(demos.actions)} steps, saved to {path}")
    return policy
