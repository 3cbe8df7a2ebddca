"""`wm-control eval` in parts: Hydra's joblib and submitit launchers run them in their own
processes, gather writes the report a single run writes, and parts of another evaluation are
refused. (SLURM itself is not here: its launcher's config is composed, not submitted.)"""

import csv
import json
import os
import re
import shutil

import pytest
from omegaconf import OmegaConf

from wm_control.cli.main import main
from wm_control.eval_parts import EvalPart
from wm_control.runtime import physical_cores

TINY = [
    "tasks=[reach]",
    "agents=[random,expert]",
    "episodes=4",
    "env_overrides.image_size=32",
    "env_overrides.max_episode_steps=12",
    "progress=false",
]
TIMED = "seconds_per_action"  # measured, so it differs from run to run


def test_parts_split_the_seeds_into_blocks_that_cover_them_once():
    for episodes in (1, 4, 7, 50):
        for parts in range(1, episodes + 1):
            seeds = [s for p in range(parts) for s in EvalPart(p, parts).seeds(episodes, 1000)]
            assert seeds == list(range(1000, 1000 + episodes)), (episodes, parts)
            sizes = [len(EvalPart(p, parts).seeds(episodes, 1000)) for p in range(parts)]
            assert max(sizes) - min(sizes) <= 1
    assert EvalPart(1, 4).seeds(50, 1000) == range(1012, 1025)
    with pytest.raises(ValueError, match=r"part: expected 0\.\.3 \(parts=4\), found 4"):
        EvalPart(4, 4)
    with pytest.raises(ValueError, match="parts: expected >= 1"):
        EvalPart(0, 0)
    with pytest.raises(ValueError, match="part: expected an integer, found '1'"):
        EvalPart("1", 2)
    with pytest.raises(ValueError, match="parts: 5 parts of 4 episodes would leave parts without"):
        EvalPart(0, 5).seeds(4, 1000)


def test_parts_refuse_to_train_their_own_behaviour_cloning_policies(tmp_path, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(ValueError, match="bc.checkpoint: parts > 1 would each train their own"):
        main(
            [
                "eval",
                *TINY,
                "agents=[bc]",
                "bc.datasets=[x]",
                "part=1",
                "parts=2",
                f"hydra.run.dir={tmp_path}",
            ]
        )


def _rows(path, drop=TIMED):
    with open(path) as handle:
        return [{k: v for k, v in row.items() if k != drop} for row in csv.DictReader(handle)]


def _markdown(path):
    """summary.md without its last column (time per action)."""
    return [line.rsplit("|", 2)[0] for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The tiny evaluation in two parts under the real joblib launcher (2 jobs), and in one run."""
    root = tmp_path_factory.mktemp("parts")
    main(
        [
            "eval",
            *TINY,
            "part=0,1",
            "parts=2",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            f"hydra.sweep.dir={root / 'multirun'}",
            "--multirun",
        ]
    )
    main(["eval", *TINY, f"hydra.run.dir={root / 'single'}"])
    return root


@pytest.mark.slow
def test_the_joblib_launcher_plays_the_parts_in_their_own_processes(runs):
    processes = set()
    for number, seeds in ((0, "1000-1001"), (1, "1002-1003")):
        log = (runs / "multirun" / str(number) / "eval.log").read_text()
        # one thread each when the jobs take all the cores (cli.main: threads shared out)
        threads = max(1, physical_cores() // 2)
        line = f"torch threads: {threads} (inter-op {threads}; threads=None, 2 parallel jobs)"
        assert line in log
        found = re.search(rf"part {number} of 2 \(from 0\): seeds {seeds}, process (\d+) on ", log)
        assert found, log
        processes.add(int(found.group(1)))
        assert len(_rows(runs / "multirun" / str(number) / "episodes.csv")) == 4
    assert len(processes) == 2 and os.getpid() not in processes


@pytest.mark.slow
def test_gather_writes_the_report_a_single_run_writes(runs):
    # (no capsys with the module's runs: pytest's capture and Hydra's log handlers clash)
    gathered = runs / "gathered"
    main(["eval", f"gather={runs / 'multirun'}", f"hydra.run.dir={gathered}"])
    single = runs / "single"
    # same seeds, same episodes, in the order a single run plays them; the same summary
    assert _rows(gathered / "episodes.csv") == _rows(single / "episodes.csv")
    assert _rows(gathered / "summary.csv") == _rows(single / "summary.csv")
    assert _markdown(gathered / "summary.md") == _markdown(single / "summary.md")
    assert (gathered / "success.png").read_bytes()[:4] == b"\x89PNG"
    record = json.loads((gathered / "gather.json").read_text())
    assert record["parts"] == [str(runs / "multirun" / "0"), str(runs / "multirun" / "1")]
    assert (record["config"]["part"], record["config"]["parts"]) == (0, 1)
    # a gathered folder resumes as the single run would: its recorded settings are the parts'
    main(["eval", *TINY, "episodes=5", f"resume=[{gathered}]", f"hydra.run.dir={runs / 'more'}"])
    more = _rows(runs / "more" / "episodes.csv", drop=None)
    reused = _rows(gathered / "episodes.csv", drop=None)  # copied, timing and all
    assert len(more) == 10 and all(row in more for row in reused)


@pytest.mark.slow
def test_the_submitit_launcher_runs_the_parts_as_jobs(runs, tmp_path):
    """Submitit's local executor: the job code the SLURM launcher runs on a cluster's nodes
    (pickled task, one process per job), here without SLURM."""
    main(
        [
            "eval",
            *TINY,
            "part=0,1",
            "parts=2",
            "threads=1",
            "hydra/launcher=submitit_local",
            "hydra.launcher.cpus_per_task=1",
            f"hydra.sweep.dir={tmp_path / 'multirun'}",
            "--multirun",
        ]
    )
    for number in (0, 1):
        log = (tmp_path / "multirun" / str(number) / "eval.log").read_text()
        found = re.search(rf"part {number} of 2 \(from 0\): .*, process (\d+) on ", log)
        assert found and int(found.group(1)) != os.getpid(), log
    main(["eval", f"gather={tmp_path / 'multirun'}", f"hydra.run.dir={tmp_path / 'gathered'}"])
    assert _rows(tmp_path / "gathered" / "episodes.csv") == _rows(runs / "single" / "episodes.csv")
    assert _rows(tmp_path / "gathered" / "summary.csv") == _rows(runs / "single" / "summary.csv")


def _copy_parts(runs, folder):
    shutil.copytree(runs / "multirun", folder)
    return folder


@pytest.mark.slow
def test_gather_refuses_parts_of_another_evaluation_or_an_incomplete_set(runs, tmp_path):
    def gather(*entries):
        main(["eval", f"gather=[{','.join(map(str, entries))}]", f"hydra.run.dir={tmp_path / 'g'}"])

    parts = _copy_parts(runs, tmp_path / "parts")
    with pytest.raises(
        ValueError,
        match=r"gather: parts \[1\] of 2 are missing \(found \[0\]\); "
        r"run them with part=1 parts=2",
    ):
        gather(parts / "0")
    with pytest.raises(ValueError, match="gather: part 0 is given twice"):
        gather(parts / "0", parts)
    # a part played with another model budget, another task list, or on another simulator
    recorded = parts / "1" / ".hydra" / "config.yaml"
    original = recorded.read_text()
    for key, value in (
        ("planner.samples", 16),
        ("tasks", ["reach", "push"]),
        ("env_overrides.image_size", 64),
    ):
        config = OmegaConf.load(recorded)
        OmegaConf.update(config, key, value)
        OmegaConf.save(config, recorded)
        with pytest.raises(
            ValueError,
            match=rf"gather: .*1 is a part of another evaluation "
            rf"\({key.split('.')[0]}: .* there, .* in ",
        ):
            gather(parts)
        recorded.write_text(original)
    (parts / "1" / "simulator.json").write_text('{"simulator_version": 1}\n')
    with pytest.raises(ValueError, match=r"played on simulator version 1, .*0 on \d+; play the"):
        gather(parts)
    shutil.copy(runs / "multirun" / "1" / "simulator.json", parts / "1")
    lines = (parts / "1" / "episodes.csv").read_text().splitlines()
    (parts / "1" / "episodes.csv").write_text("\n".join(lines[:-1]) + "\n")  # an interrupted part
    with pytest.raises(ValueError, match=r"part 1 \(.*\) holds 3 of its 4 episodes \(an"):
        gather(parts)
    with pytest.raises(ValueError, match="expected a --multirun folder of eval parts"):
        gather(tmp_path / "nothing")
    with pytest.raises(
        ValueError,
        match=r"gather: the settings are the parts' own; leave out "
        r"\['episodes', 'model'\]",
    ):
        main(
            [
                "eval",
                f"gather={runs / 'multirun'}",
                "episodes=8",
                "model=reference_tiny",
                f"hydra.run.dir={tmp_path / 'g'}",
            ]
        )


def test_the_launchers_compose_without_running(capsys):
    """The SLURM launcher's config composes (nothing is submitted: ``--cfg`` only prints)."""
    main(
        [
            "eval",
            "--cfg",
            "hydra",
            "hydra/launcher=submitit_slurm",
            "hydra.launcher.partition=cpu",
            "hydra.launcher.cpus_per_task=8",
            "hydra.launcher.timeout_min=240",
        ]
    )
    out = capsys.readouterr().out
    assert "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher" in out
    assert "partition: cpu" in out and "cpus_per_task: 8" in out
    main(["eval", "--cfg", "hydra", "hydra/launcher=joblib", "hydra.launcher.n_jobs=4"])
    out = capsys.readouterr().out
    assert "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher" in out
