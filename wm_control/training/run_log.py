"""What a run shows and writes: a progress bar, TensorBoard scalars, CSV files, a final summary.

Only the main process logs. CSV files (``train.csv``, ``val.csv``) and TensorBoard events live in
the run folder; when a run resumes from step ``s``, rows after ``s`` (written by the interrupted
process after its last checkpoint) are dropped so the logs read as one uninterrupted run.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any


class RunLog:
    """Progress bar with ETA, samples/s and loss; TensorBoard and CSV scalars."""

    def __init__(
        self,
        folder: Path,
        *,
        total_steps: int,
        start_step: int,
        enabled: bool,
        progress: bool,
        name: str = "train",
    ) -> None:
        self.enabled = enabled
        self.name = name
        self.folder = folder
        self._bar = None
        self._writer = None
        self._last_time = time.perf_counter()
        self._last_samples = 0
        if not enabled:
            return
        from torch.utils.tensorboard import SummaryWriter
        from tqdm.auto import tqdm

        folder.mkdir(parents=True, exist_ok=True)
        for log_file in ("train.csv", "val.csv"):
            _drop_rows_after(folder / log_file, start_step)
        self._writer = SummaryWriter(
            log_dir=str(folder / "tensorboard"), purge_step=start_step if start_step else None
        )
        self._bar = tqdm(
            total=total_steps,
            initial=start_step,
            desc=name,
            unit="step",
            disable=not progress,
            dynamic_ncols=True,
        )

    def step(self, step: int, samples: int, scalars: dict[str, float]) -> float:
        """Record training scalars of update ``step`` (1-based) after ``samples`` samples in this
        process's run so far; returns the throughput (samples/s) since the previous call."""
        now = time.perf_counter()
        rate = (samples - self._last_samples) / max(now - self._last_time, 1e-9)
        self._last_time, self._last_samples = now, samples
        if not self.enabled:
            return rate
        row = {"step": step, **scalars, "samples_per_s": rate}
        self._append("train.csv", row)
        for name, value in scalars.items():
            self._writer.add_scalar(f"train/{name}", value, step)
        self._writer.add_scalar("train/samples_per_s", rate, step)
        self._bar.set_postfix(loss=f"{scalars['loss']:.4f}", samples_s=f"{rate:.1f}", refresh=False)
        return rate

    def advance(self, steps: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(steps)

    def validation(self, step: int, metrics: dict[str, float]) -> None:
        if not self.enabled or not metrics:
            return
        self._append(
            "val.csv", {"step": step, **{k.removeprefix("val/"): v for k, v in metrics.items()}}
        )
        for name, value in metrics.items():
            self._writer.add_scalar(name, value, step)
        self._bar.write(
            f"step {step}: "
            + ", ".join(f"{k.removeprefix('val/')}={v:.4f}" for k, v in metrics.items())
        )

    def summary(self, summary: dict[str, Any]) -> None:
        """Write ``summary.json`` and print it; closes the bar and the TensorBoard writer."""
        if not self.enabled:
            return
        self._bar.close()
        self._writer.flush()
        self._writer.close()
        (self.folder / "summary.json").write_text(json.dumps(summary, indent=1))
        width = max(len(k) for k in summary)
        lines = [f"  {k.ljust(width)}  {_fmt(v)}" for k, v in summary.items()]
        print(f"{self.name} summary\n" + "\n".join(lines), flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._writer is not None:
            self._writer.close()

    def _append(self, name: str, row: dict[str, Any]) -> None:
        path = self.folder / name
        new = not path.exists()
        with open(path, "a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)


def _drop_rows_after(path: Path, step: int) -> None:
    if not path.exists():
        return
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return
    kept = [row for row in rows if int(row["step"]) <= step]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)


def _fmt(value: Any) -> str:
    return f"{value:.5g}" if isinstance(value, float) else str(value)
