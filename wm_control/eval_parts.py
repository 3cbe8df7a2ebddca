"""A long evaluation in parts, then gathered into one report.

Each part is an ordinary ``wm-control eval`` run with ``part=i parts=n``: it plays the i-th of n
contiguous blocks of the episode seeds, for every task and agent, so that the parts share the work
evenly and Hydra's sweeper can enumerate them (``part=0,1,2,3 parts=4 --multirun``) for any
launcher: joblib on one machine, submitit on a SLURM cluster. An episode depends only on its task,
agent, seed and settings, so the parts together play exactly the episodes of one run.

:func:`gather` reads the parts' run folders (``episodes.csv``, ``.hydra/config.yaml``,
``simulator.json``), refuses parts of different evaluations or an incomplete set, and returns the
episodes in the order a single run plays them, so that the report written from them is the one a
single run writes (the time per action aside, which is measured).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from .evaluation import EpisodeOutcome, read_outcomes

SIMULATOR_RECORD = "simulator.json"
"""File of an eval run folder naming the simulator version its episodes were played on."""
GATHER_RECORD = "gather.json"
"""File of a gathered run folder: the part folders and the settings they were played with."""
NOT_COMPARED = ("part", "gather", "resume", "progress", "threads")
"""Settings that may differ between the parts of one evaluation (they do not change episodes)."""


@dataclass(frozen=True)
class EvalPart:
    """Part ``part`` (from 0) of an evaluation split into ``parts``: a block of episode seeds."""

    part: int = 0
    parts: int = 1

    def __post_init__(self) -> None:
        for key in ("part", "parts"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{key}: expected an integer, found {value!r}")
        if self.parts < 1:
            raise ValueError(f"parts: expected >= 1 (1: the whole evaluation), found {self.parts}")
        if not 0 <= self.part < self.parts:
            raise ValueError(
                f"part: expected 0..{self.parts - 1} (parts={self.parts}), found {self.part}"
            )

    def seeds(self, episodes: int, seed: int) -> range:
        """The episode seeds this part plays, of ``episodes`` seeds from ``seed``."""
        if self.parts > episodes:
            raise ValueError(
                f"parts: {self.parts} parts of {episodes} episodes would leave parts "
                f"without episodes; expected parts <= episodes"
            )
        start = self.part * episodes // self.parts
        stop = (self.part + 1) * episodes // self.parts
        return range(seed + start, seed + stop)


@dataclass(frozen=True)
class PartRun:
    """One part's run folder as recorded: its settings, simulator version and episodes."""

    folder: Path
    config: DictConfig
    simulator_version: int | None
    outcomes: list[EpisodeOutcome]

    @property
    def part(self) -> EvalPart:
        return EvalPart(int(self.config.get("part", 0)), int(self.config.get("parts", 1)))

    @classmethod
    def read(cls, folder: Path) -> PartRun:
        csv_path = folder / "episodes.csv"
        if not csv_path.is_file():
            raise ValueError(
                f"gather: {folder} holds no episodes.csv (a part that has not started "
                f"or failed before its first episode): run that part again"
            )
        return cls(
            folder, recorded_config(folder), simulator_version(folder), read_outcomes(csv_path)
        )


def recorded_config(folder: Path) -> DictConfig:
    """The settings an eval run folder's episodes were played with: a gathered folder's
    ``gather.json`` (the parts' settings), else Hydra's ``.hydra/config.yaml``."""
    gathered = folder / GATHER_RECORD
    if gathered.is_file():
        return OmegaConf.create(json.loads(gathered.read_text())["config"])
    return OmegaConf.load(folder / ".hydra" / "config.yaml")


def simulator_version(folder: Path) -> int | None:
    """The simulator version an eval run folder recorded; None for folders from before version 2."""
    record = folder / SIMULATOR_RECORD
    return json.loads(record.read_text())["simulator_version"] if record.is_file() else None


def part_folders(entries: Sequence[str]) -> list[Path]:
    """Run folders of the parts: each entry is an eval run folder, or a ``--multirun`` folder
    whose subfolders (Hydra's job numbers) are."""
    folders = []
    for entry in entries:
        path = Path(str(entry)).expanduser()
        if _is_run_folder(path):
            folders.append(path)
            continue
        found = (
            sorted((p for p in path.iterdir() if _is_run_folder(p)), key=_job_number)
            if path.is_dir()
            else []
        )
        if not found:
            raise ValueError(
                f"gather: expected a --multirun folder of eval parts or an eval run "
                f"folder, found none at {str(path)!r} (a run folder holds "
                f".hydra/config.yaml and episodes.csv)"
            )
        folders += found
    return folders


def _job_number(path: Path) -> tuple:
    """Hydra's job subfolders in number order (0, 1, …, 10), other names after them."""
    return (not path.name.isdigit(), int(path.name) if path.name.isdigit() else 0, path.name)


def _is_run_folder(path: Path) -> bool:
    return (path / ".hydra" / "config.yaml").is_file() or (path / GATHER_RECORD).is_file()


def compared_settings(config: DictConfig) -> dict:
    """The settings that make a part's episodes (all but :data:`NOT_COMPARED`)."""
    values = OmegaConf.to_container(config, resolve=True)
    return {k: v for k, v in values.items() if k not in NOT_COMPARED}


@dataclass(frozen=True)
class Gathered:
    """The parts of one evaluation (by part) and their episodes in a single run's order."""

    runs: list[PartRun]
    outcomes: list[EpisodeOutcome]

    def record(self) -> str:
        """``gather.json``: the part folders and their settings (part and parts as of one run), so
        that ``resume=`` compares a gathered folder's episodes with the settings they were played
        with."""
        config = OmegaConf.to_container(self.runs[0].config, resolve=True)
        config.update(part=0, parts=1)
        parts = [str(run.folder) for run in self.runs]
        return json.dumps({"parts": parts, "config": config}, indent=1) + "\n"


def gather(entries: Sequence[str], agent_order: Sequence[str]) -> Gathered:
    """The episodes of all parts of one evaluation, in the order a single run plays them (task as
    in ``tasks``, agent as in ``agent_order``, then seed). Refuses parts of other settings or
    simulator versions, a part missing or given twice, and a part with missing or extra episodes."""
    runs = [PartRun.read(folder) for folder in part_folders(entries)]
    first = runs[0]
    _check_same_evaluation(first, runs[1:])
    by_part: dict[int, PartRun] = {}
    for run in runs:
        index = run.part.part
        if index in by_part:
            raise ValueError(
                f"gather: part {index} is given twice ({by_part[index].folder} and "
                f"{run.folder}); give each part once"
            )
        by_part[index] = run
    parts = first.part.parts
    missing = sorted(set(range(parts)) - set(by_part))
    if missing:
        listed = ",".join(map(str, missing))
        raise ValueError(
            f"gather: parts {missing} of {parts} are missing (found "
            f"{sorted(by_part)}); run them with part={listed} parts={parts} and "
            f"the same settings"
        )
    settings = first.config
    outcomes = []
    for index, run in sorted(by_part.items()):
        seeds = run.part.seeds(int(settings.episodes), int(settings.seed))
        expected = {(t, a, s) for t in settings.tasks for a in settings.agents for s in seeds}
        found = {(o.task, o.agent, o.seed) for o in run.outcomes}
        if found != expected or len(run.outcomes) != len(expected):
            raise ValueError(
                f"gather: part {index} ({run.folder}) holds {len(found & expected)} of its "
                f"{len(expected)} episodes{' and others' if found - expected else ''} "
                f"(an interrupted part?): finish it with the same settings, part={index} "
                f"parts={parts} resume=[{run.folder}], and gather that run instead"
            )
        outcomes += run.outcomes
    tasks, agents = list(settings.tasks), list(agent_order)
    outcomes.sort(key=lambda o: (tasks.index(o.task), agents.index(o.agent), o.seed))
    return Gathered([run for _, run in sorted(by_part.items())], outcomes)


def _check_same_evaluation(first: PartRun, others: list[PartRun]) -> None:
    here = compared_settings(first.config)
    for run in others:
        there = compared_settings(run.config)
        differ = sorted(k for k in here.keys() | there.keys() if here.get(k) != there.get(k))
        if differ:
            details = "; ".join(
                f"{k}: {there.get(k)} there, {here.get(k)} in {first.folder}" for k in differ
            )
            raise ValueError(
                f"gather: {run.folder} is a part of another evaluation ({details}); "
                f"gather parts made with the same settings"
            )
        if run.simulator_version != first.simulator_version:
            raise ValueError(
                f"gather: {run.folder} was played on simulator version "
                f"{run.simulator_version}, {first.folder} on "
                f"{first.simulator_version}; play the parts again on one version"
            )
