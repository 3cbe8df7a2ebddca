"""bench_solvers_success.py --combine: runs split across processes become one table and plot."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from bench_solvers_success import combine  # noqa: E402


def _row(solver: str, budget: str, wins: int) -> dict:
    return {
        "task": "ogbench_cube_single",
        "solver": solver,
        "budget": budget,
        "episodes": 4,
        "successes": wins,
        "success_low": 0.1,
        "success_high": 0.9,
        "seconds_per_action": 0.25,
        "seeds": [0, 1, 2, 3],
    }


def _part(path: Path, solvers: str, rows: list[dict]) -> Path:
    path.write_text(
        "# Success against planning time, per solver and budget\n\n"
        "Same seeded episodes (0 … 3) for every row; model `m`.\n\n"
        f"Rerun: `bench_solvers_success.py --solvers {solvers}`\n\n"
        "| task | solver | samples x iterations | success | 95 % interval | s / action |\n"
        "|---|---|---|---|---|---|\n\n```json\n" + json.dumps(rows) + "\n```\n"
    )
    return path


def test_combine_puts_every_part_in_one_table_and_plot(tmp_path):
    a = _part(tmp_path / "a.md", "cem icem", [_row("cem", "80x5", 3), _row("icem", "80x5", 4)])
    b = _part(tmp_path / "b.md", "gd", [_row("gd", "80x5", 1)])
    out = tmp_path / "all.md"
    combine([a, b], out)
    text = out.read_text()
    for line in (
        "| ogbench_cube_single | cem | 80x5 | 3/4 |",
        "| ogbench_cube_single | icem | 80x5 | 4/4 |",
        "| ogbench_cube_single | gd | 80x5 | 1/4 |",
    ):
        assert line in text
    assert "--solvers cem icem" in text and "--solvers gd" in text  # both rerun commands
    assert text.count("Same seeded episodes (0 … 3)") == 1  # one description for equal ones
    rows = json.loads(text.split("```json", 1)[1].split("```", 1)[0])
    assert [r["solver"] for r in rows] == ["cem", "icem", "gd"]
    assert out.with_suffix(".png").stat().st_size > 1000


def test_combine_refuses_a_file_that_is_not_an_output_of_the_bench(tmp_path):
    other = tmp_path / "notes.md"
    other.write_text("# notes\n")
    with pytest.raises(SystemExit, match="expected an output of this bench"):
        combine([other], tmp_path / "all.md")
    assert not (tmp_path / "all.md").exists()
