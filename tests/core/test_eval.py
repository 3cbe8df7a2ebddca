"""`wm-control eval`: every agent on the same seeded episodes, tables and a plot."""

import csv
import json

import pytest

from envs.reach import ReachEnv
from wm_control.cli.main import main
from wm_control.evaluation import wilson_interval


def test_eval_writes_tables_and_plot_for_all_agents(tmp_path, capsys):
    main(
        [
            "eval",
            "tasks=[reach]",
            "episodes=2",
            "planner.samples=16",
            "planner.iterations=1",
            "planner.elites=2",
            "env_overrides.image_size=32",
            "env_overrides.max_episode_steps=12",
            "progress=false",
            f"hydra.run.dir={tmp_path}",
        ]
    )
    with open(tmp_path / "episodes.csv") as handle:
        episodes = list(csv.DictReader(handle))
    assert len(episodes) == 6
    for agent in ("planner", "random", "expert"):
        assert sorted(int(e["seed"]) for e in episodes if e["agent"] == agent) == [1000, 1001]
    summary = {row["agent"]: row for row in csv.DictReader(open(tmp_path / "summary.csv"))}
    assert (
        float(summary["expert"]["success_rate"]) == 1.0
    )  # the scripted expert reaches in 12 steps
    # the goal distance is what success judges (Reach: the end effector within 3 cm of the goal)
    threshold = ReachEnv.success_threshold
    assert (
        float(summary["expert"]["goal_distance_mean"])
        < threshold
        < float(summary["random"]["goal_distance_mean"])
    )
    for row in episodes:
        assert (float(row["final_goal_distance"]) < threshold) == (row["success"] == "True")
    assert float(summary["planner"]["seconds_per_action"]) > float(
        summary["random"]["seconds_per_action"]
    )
    assert "| reach | expert | 2 | 100% | 34%–100% |" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "success.png").read_bytes()[:4] == b"\x89PNG"
    assert "summary.md" in capsys.readouterr().out


def test_unknown_agent_or_task_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(ValueError, match=r"agents: unknown \['octo'\]"):
        main(["eval", "agents=[octo]", f"hydra.run.dir={tmp_path}"])
    with pytest.raises(ValueError, match="unknown task 'stack'"):
        main(["eval", "tasks=[stack]", "agents=[random]", f"hydra.run.dir={tmp_path}"])
    with pytest.raises(ValueError, match=r"subgoal_steps: tasks \['push'\] are not evaluated"):
        main(
            [
                "eval",
                "tasks=[reach]",
                "agents=[planner]",
                "subgoal_steps={push:[6,3,31]}",
                f"hydra.run.dir={tmp_path}",
            ]
        )


SMALL = [
    "tasks=[reach]",
    "planner.samples=16",
    "planner.iterations=1",
    "planner.elites=2",
    "env_overrides.image_size=32",
    "env_overrides.max_episode_steps=12",
    "progress=false",
]


def _eval(folder, *overrides):
    """``wm-control eval`` on the small Reach setting into ``folder``."""
    main(["eval", *SMALL, *overrides, f"hydra.run.dir={folder}"])


def _episodes(folder):
    with open(folder / "episodes.csv") as handle:
        return list(csv.DictReader(handle))


def test_eval_resumes_from_an_earlier_run_without_playing_its_episodes_again(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    main(["eval", *SMALL, "agents=[random,expert]", "episodes=2", f"hydra.run.dir={first}"])
    main(
        [
            "eval",
            *SMALL,
            "agents=[random,expert]",
            "episodes=3",
            f"resume=[{first}]",
            f"hydra.run.dir={second}",
        ]
    )
    earlier, resumed = _episodes(first), _episodes(second)
    assert "resume: 4 episodes from" in capsys.readouterr().out
    # a run killed while writing a row: the cut-off last row is left out, the others are reused
    lines = (first / "episodes.csv").read_text().splitlines()
    (tmp_path / "cut.csv").write_text("\n".join([*lines[:-1], lines[-1][:12]]))
    main(
        [
            "eval",
            *SMALL,
            "agents=[random,expert]",
            "episodes=1",
            f"resume=[{tmp_path / 'cut.csv'}]",
            f"hydra.run.dir={tmp_path / 'third'}",
        ]
    )
    output = capsys.readouterr().out
    assert "line 5 is cut off" in output and "resume: 3 episodes from" in output
    assert len(resumed) == 6
    # reused rows are copied (a replay would measure other decision times); seed 1002 is new
    for row in earlier:
        assert row in resumed
    new = [row for row in resumed if row["seed"] == "1002"]
    assert sorted(row["agent"] for row in new) == ["expert", "random"]
    assert "| reach | expert | 3 | 100% |" in (second / "summary.md").read_text()


def test_eval_refuses_to_resume_from_other_settings_or_files(tmp_path, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    first = tmp_path / "first"
    _eval(first, "agents=[planner]", "episodes=1")
    with pytest.raises(
        ValueError, match=r"resume: .*episodes.csv was evaluated with other settings \(planner: "
    ):
        _eval(
            tmp_path / "second",
            "agents=[planner]",
            "episodes=1",
            "planner.samples=32",
            f"resume=[{first}]",
        )
    with pytest.raises(
        ValueError, match="resume: expected an episodes.csv file or an eval run folder"
    ):
        _eval(tmp_path / "x", "agents=[random]", f"resume=[{tmp_path / 'missing'}]")
    rows = (first / "episodes.csv").read_text().splitlines()
    (tmp_path / "broken.csv").write_text("\n".join([rows[0], rows[1][:-5], rows[1]]) + "\n")
    with pytest.raises(ValueError, match="line 2 is not an episode row"):
        _eval(tmp_path / "z", "agents=[planner]", f"resume=[{tmp_path / 'broken.csv'}]")
    older = (
        "task,agent,seed,success,final_distance,seconds_per_action,steps\n"
        "reach,random,1000,False,0.3,0.0,12\n"
    )
    (tmp_path / "older.csv").write_text(older)
    with pytest.raises(
        ValueError, match=r"found \[.*'final_distance'.*\] \(written by an older wm-control"
    ):
        _eval(tmp_path / "o", "agents=[random]", f"resume=[{tmp_path / 'older.csv'}]")
    (tmp_path / "other.csv").write_text("step,loss\n1,0.5\n")
    with pytest.raises(ValueError, match="expected the columns"):
        _eval(tmp_path / "y", "agents=[random]", f"resume=[{tmp_path / 'other.csv'}]")


def test_wilson_interval_of_success_rates():
    z2 = 1.959964**2
    # closed forms at the ends: 0 of n → [0, z²/(n+z²)], n of n → [n/(n+z²), 1]
    assert wilson_interval(0, 50) == pytest.approx((0.0, z2 / (50 + z2)))
    assert wilson_interval(50, 50) == pytest.approx((50 / (50 + z2), 1.0))
    low, high = wilson_interval(12, 50)
    assert low < 12 / 50 < high and (low, high) == pytest.approx((0.1430, 0.3741), abs=5e-4)
    assert (
        wilson_interval(24, 100)[1] - wilson_interval(24, 100)[0] < high - low
    )  # more episodes, narrower
    with pytest.raises(ValueError, match="expected trials >= 1, found 0"):
        wilson_interval(0, 0)


def test_jaw_schedule_is_part_of_the_settings_a_resumed_run_must_share(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    first = tmp_path / "first"
    _eval(first, "agents=[planner]", "episodes=1")
    with pytest.raises(
        ValueError, match=r"other settings \(subgoal_jaws: None there, search here\)"
    ):
        _eval(
            tmp_path / "second",
            "agents=[planner]",
            "episodes=1",
            "subgoal_jaws=search",
            f"resume=[{first}]",
        )
    # a run recorded before the jaw schedule existed searched the gripper everywhere
    recorded = first / ".hydra" / "config.yaml"
    recorded.write_text(
        "\n".join(
            line
            for line in recorded.read_text().splitlines()
            if not line.startswith("subgoal_jaws")
        )
        + "\n"
    )
    _eval(
        tmp_path / "third",
        "agents=[planner]",
        "episodes=1",
        "subgoal_jaws=search",
        f"resume=[{first}]",
    )
    assert "resume: 1 episodes from" in capsys.readouterr().out
    with pytest.raises(
        ValueError, match=r"other settings \(subgoal_jaws: search there, None here\)"
    ):
        _eval(tmp_path / "fourth", "agents=[planner]", "episodes=1", f"resume=[{first}]")
    with pytest.raises(ValueError, match=r"subgoal_jaws: tasks \['grasp'\] are not evaluated"):
        _eval(
            tmp_path / "fifth", "agents=[planner]", "subgoal_jaws={grasp:[open,open,closed,closed]}"
        )
    with pytest.raises(ValueError, match="subgoal_jaws: expected null, 'search' or a mapping"):
        _eval(tmp_path / "sixth", "agents=[planner]", "subgoal_jaws=closed")


def test_eval_refuses_episodes_played_on_another_simulator_version(tmp_path, monkeypatch, capsys):
    import envs

    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    first = tmp_path / "first"
    _eval(first, "agents=[random]", "episodes=1")
    assert json.loads((first / "simulator.json").read_text()) == {
        "simulator_version": envs.SIMULATOR_VERSION
    }
    _eval(tmp_path / "same", "agents=[random]", "episodes=1", f"resume=[{first}]")
    assert "resume: 1 episodes from" in capsys.readouterr().out
    monkeypatch.setattr(envs, "SIMULATOR_VERSION", envs.SIMULATOR_VERSION + 1)
    with pytest.raises(
        ValueError,
        match=rf"played on simulator version {envs.SIMULATOR_VERSION - 1}, this is "
        rf"version {envs.SIMULATOR_VERSION}: its episodes would play differently",
    ):
        _eval(tmp_path / "newer", "agents=[random]", "episodes=1", f"resume=[{first}]")
    (first / "simulator.json").unlink()  # a run folder from before versions were recorded
    with pytest.raises(ValueError, match=r"simulator a version before 2 \(none recorded\)"):
        _eval(tmp_path / "older", "agents=[random]", "episodes=1", f"resume=[{first}]")


def test_ogbench_runs_recorded_before_ogbench_jaws_count_as_searching_them():
    """Protocol (a)'s planner searched the jaws before ``ogbench.jaws`` (default: pick) existed;
    such runs compare as ``search``, so ``resume=`` refuses to mix their episodes with pick's."""
    from omegaconf import OmegaConf

    from wm_control.cli.eval import _compared_settings
    from wm_control.cli.main import config_dir

    settings = OmegaConf.to_container(OmegaConf.load(config_dir() / "eval.yaml"))["ogbench"]
    old = {k: v for k, v in settings.items() if k != "jaws"}
    here = _compared_settings(OmegaConf.create({"ogbench": settings}))["ogbench"]
    there = _compared_settings(OmegaConf.create({"ogbench": old}))["ogbench"]
    assert here["jaws"] == "pick" and there["jaws"] == "search" and here != there


def test_ogbench_runs_recorded_before_the_grasp_lift_count_as_without_it():
    """Runs from before ``ogbench.grasp_lift`` grasped under the goal's hand: they compare as
    ``grasp_lift: None``, so ``resume=`` does not mix their episodes with the map's."""
    from omegaconf import OmegaConf

    from wm_control.cli.eval import _compared_settings
    from wm_control.cli.main import config_dir

    settings = OmegaConf.to_container(OmegaConf.load(config_dir() / "eval.yaml"))["ogbench"]
    old = {k: v for k, v in settings.items() if k != "grasp_lift"}
    here = _compared_settings(OmegaConf.create({"ogbench": settings}))["ogbench"]
    there = _compared_settings(OmegaConf.create({"ogbench": old}))["ogbench"]
    assert here["grasp_lift"].endswith("grasp_lift.json") and there["grasp_lift"] is None
    assert here != there


def test_ogbench_runs_recorded_before_the_object_locator_count_as_without_it():
    from omegaconf import OmegaConf

    from wm_control.cli.eval import _compared_settings
    from wm_control.cli.main import config_dir

    settings = OmegaConf.to_container(OmegaConf.load(config_dir() / "eval.yaml"))["ogbench"]
    old = {k: v for k, v in settings.items() if k != "locator"}
    here = _compared_settings(OmegaConf.create({"ogbench": settings}))["ogbench"]
    there = _compared_settings(OmegaConf.create({"ogbench": old}))["ogbench"]
    assert here["locator"].endswith("object_locator.safetensors") and there["locator"] is None
