"""`wm-control eval`: every agent on the same seeded episodes, tables and a plot."""

import csv

import pytest

from wm_control.cli.main import main


def test_eval_writes_tables_and_plot_for_all_agents(tmp_path, capsys):
    main(["eval", "tasks=[reach]", "episodes=2", "planner.samples=16", "planner.iterations=1", "planner.elites=2",
          "env_overrides.image_size=32", "env_overrides.max_episode_steps=12", "progress=false",
          f"hydra.run.dir={tmp_path}"])
    with open(tmp_path / "episodes.csv") as handle:
        episodes = list(csv.DictReader(handle))
    assert len(episodes) == 6
    for agent in ("planner", "random", "expert"):
        assert sorted(int(e["seed"]) for e in episodes if e["agent"] == agent) == [1000, 1001]
    summary = {row["agent"]: row for row in csv.DictReader(open(tmp_path / "summary.csv"))}
    assert float(summary["expert"]["success_rate"]) == 1.0  # the scripted expert reaches in 12 steps
    assert float(summary["planner"]["seconds_per_action"]) > float(summary["random"]["seconds_per_action"])
    assert "| reach | expert | 2 | 100% |" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "success.png").read_bytes()[:4] == b"\x89PNG"
    assert "summary.md" in capsys.readouterr().out


def test_unknown_agent_or_task_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(ValueError, match=r"agents: unknown \['octo'\]"):
        main(["eval", "agents=[octo]", f"hydra.run.dir={tmp_path}"])
    with pytest.raises(ValueError, match="unknown task 'stack'"):
        main(["eval", "tasks=[stack]", "agents=[random]", f"hydra.run.dir={tmp_path}"])
    with pytest.raises(ValueError, match=r"subgoal_steps: tasks \['push'\] are not evaluated"):
        main(["eval", "tasks=[reach]", "agents=[planner]", "subgoal_steps={push:[6,3,31]}", f"hydra.run.dir={tmp_path}"])
