"""Success against planning time: every solver at several budgets on the same seeded episodes.

Each (solver, budget) is one `wm-control eval` run (the real command, agents=[planner], the same
tasks, episodes and seeds), so the planner is built exactly as `eval` builds it from the one planner
config; the episodes' success and seconds per action are read back from its episodes.csv.

    nice .venv/bin/python bench/bench_solvers_success.py --tasks reach --episodes 4 \\
        --budgets 200x4 50x4 --threads 1

Writes bench/results/solvers_success.md (table + the command) and solvers_success.png (success
rate against seconds per action, one line per solver and task). Runs split across processes (one
per core, e.g. the gradient solver apart) are put into one table and plot with
``--combine part_a.md part_b.md --out ...``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wm_control.cli.main import main as wm_control  # noqa: E402
from wm_control.evaluation import read_outcomes, wilson_interval  # noqa: E402
from wm_control.planning import SOLVERS  # noqa: E402
from wm_control.runtime import tune_cpu_allocator  # noqa: E402


def budget(text: str) -> tuple[int, int]:
    """``"SxI"`` → (samples, iterations)."""
    samples, iterations = text.lower().split("x")
    return int(samples), int(iterations)


def play(task: str, solver: str, samples: int, iterations: int, args, folder: Path) -> list:
    """The outcomes of one `wm-control eval` run of the planner with this solver and budget."""
    elites = min(10, samples)
    run = folder / f"{task}_{solver}_{samples}x{iterations}"
    wm_control(
        [
            "eval",
            f"tasks=[{task}]",
            "agents=[planner]",
            f"episodes={args.episodes}",
            f"seed={args.seed}",
            f"model={args.model}",
            "progress=false",
            f"threads={args.threads}",
            f"planner={args.planner}",
            f"planner.solver={solver}",
            f"planner.samples={samples}",
            f"planner.iterations={iterations}",
            f"planner.elites={elites}",
            f"hydra.run.dir={run}",
            *args.override,
        ]
    )
    return read_outcomes(run / "episodes.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["reach"])
    parser.add_argument("--solvers", nargs="+", default=sorted(SOLVERS), choices=sorted(SOLVERS))
    parser.add_argument(
        "--budgets", nargs="+", default=["800x10", "200x4", "50x4"], help="samples x iterations"
    )
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--model", default="sim_default")
    parser.add_argument(
        "--planner", default="paper", help="the planner group file the budgets override"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--override",
        nargs="*",
        default=[],
        help="further eval overrides for every run, e.g. planner.goal_state_weight=1.0",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "solvers_success.md"
    )
    parser.add_argument(
        "--combine",
        nargs="+",
        type=Path,
        help="write the rows of earlier outputs of this bench into one table and plot; run nothing",
    )
    args = parser.parse_args()
    if args.combine:
        combine(args.combine, args.out)
        return
    tune_cpu_allocator()
    rows = []
    with tempfile.TemporaryDirectory(prefix="solvers-success-") as tmp:
        for task in args.tasks:
            for solver in args.solvers:
                for text in args.budgets:
                    samples, iterations = budget(text)
                    outcomes = play(task, solver, samples, iterations, args, Path(tmp))
                    wins = sum(o.success for o in outcomes)
                    low, high = wilson_interval(wins, len(outcomes))
                    row = {
                        "task": task,
                        "solver": solver,
                        "budget": text,
                        "episodes": len(outcomes),
                        "successes": wins,
                        "success_low": low,
                        "success_high": high,
                        "seconds_per_action": statistics.median(
                            o.seconds_per_action for o in outcomes
                        ),
                        "seeds": [o.seed for o in outcomes],
                    }
                    rows.append(row)
                    print(
                        f"{task} {solver} {text}: {wins}/{len(outcomes)} successes, "
                        f"{row['seconds_per_action']:.3f} s per action",
                        flush=True,
                    )
    command = "nice .venv/bin/python bench/bench_solvers_success.py " + " ".join(
        [
            f"--tasks {' '.join(args.tasks)}",
            f"--solvers {' '.join(args.solvers)}",
            f"--budgets {' '.join(args.budgets)}",
            f"--episodes {args.episodes}",
            f"--seed {args.seed}",
            f"--model {args.model}",
            f"--planner {args.planner}",
            f"--threads {args.threads}",
            *([f"--override {' '.join(args.override)}"] if args.override else []),
        ]
    )
    lines = [
        "# Success against planning time, per solver and budget",
        "",
        f"Same seeded episodes ({args.seed} … {args.seed + args.episodes - 1}) for every row; "
        f"model `{args.model}`, planner `{args.planner}` with the budget overridden"
        + (f" and {', '.join(args.override)}" if args.override else "")
        + "; "
        f"{args.threads} torch thread(s); seconds per action: the median over episodes of each "
        "episode's mean. The machine was shared with other jobs (run under `nice`), so compare "
        "seconds within one run only.",
        "",
        f"Rerun: `{command}`",
        "",
        "| task | solver | samples x iterations | success | 95 % interval | s / action |",
        "|---|---|---|---|---|---|",
    ]
    lines += table_rows(rows)
    write(lines, rows, args.out)


def table_rows(rows: list[dict]) -> list[str]:
    return [
        f"| {r['task']} | {r['solver']} | {r['budget']} | {r['successes']}/{r['episodes']} | "
        f"{r['success_low']:.0%}–{r['success_high']:.0%} | {r['seconds_per_action']:.3f} |"
        for r in rows
    ]


def write(lines: list[str], rows: list[dict], out: Path) -> None:
    """The markdown ``lines`` with the rows' JSON appended to ``out``, and the plot beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n\n```json\n" + json.dumps(rows, indent=2) + "\n```\n")
    plot(rows, out.with_suffix(".png"))
    print(f"written: {out} and {out.with_suffix('.png')}")


def combine(parts: list[Path], out: Path) -> None:
    """One table and plot of the rows of earlier outputs of this bench (each a markdown file with
    its description, its rerun command and its rows' JSON)."""
    descriptions, commands, rows = [], [], []
    for part in parts:
        text = part.read_text()
        if "```json" not in text or "Rerun: `" not in text:
            raise SystemExit(
                f"bench_solvers_success: expected an output of this bench (a table, a 'Rerun:' "
                f"line and a json block) in {part}, found a file without them"
            )
        found = json.loads(text.split("```json", 1)[1].split("```", 1)[0])
        if not isinstance(found, list) or not all("solver" in r for r in found):
            raise SystemExit(f"bench_solvers_success: expected a list of rows in {part}'s json")
        rows += found
        for line in text.splitlines():
            if line.startswith("Same seeded episodes") and line not in descriptions:
                descriptions.append(line)
            if line.startswith("Rerun: `"):
                commands.append(line.removeprefix("Rerun: ").strip())
    lines = [
        "# Success against planning time, per solver and budget",
        "",
        *descriptions,
        "",
        f"Run in {len(parts)} processes side by side; rerun: " + "; ".join(commands) + ".",
        "",
        "| task | solver | samples x iterations | success | 95 % interval | s / action |",
        "|---|---|---|---|---|---|",
        *table_rows(rows),
    ]
    write(lines, rows, out)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for task in sorted({r["task"] for r in rows}):
        for solver in sorted({r["solver"] for r in rows}):
            mine = sorted(
                (r for r in rows if r["task"] == task and r["solver"] == solver),
                key=lambda r: r["seconds_per_action"],
            )
            if mine:
                ax.plot(
                    [r["seconds_per_action"] for r in mine],
                    [r["successes"] / r["episodes"] for r in mine],
                    "o-",
                    label=f"{task} {solver}",
                )
    ax.set_xscale("log")
    ax.set_xlabel("seconds per action")
    ax.set_ylabel("success rate")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
