"""Where a hand that has just lifted an object grasped it: a linear map fitted on recorded states.

An arm lifting fast does not rise straight up. OGBench's UR5e follows its inverse-kinematics
target through position-controlled joints that lag, so a hand that closes on the cube at the floor
and rises at full speed drifts 2-4 cm towards the arm's base on the way. OGBench's Markov oracle,
the expert that makes protocol (a)'s goals, lifts at full speed. A goal that shows the cube just
lifted therefore shows the hand a few centimetres off the point where it grasped, and ``pick``,
which grasps under the goal's hand, misses the cube by as much (the jaws need ~1 cm).

:class:`GraspLift` says where such a hand grasped. It is fitted from a dataset's states alone (no
simulator, no object positions): every grasp-and-lift in the recording (the jaws holding at the
floor, the hand higher in the next frame) gives pairs of the hand's position ``k`` frames later
(``k`` = 1 .. ``frames``, while the jaws keep holding and the hand keeps rising) and the grasp
point. The grasp point's offset from the lifted hand, in the table's plane, is regressed linearly
on the lifted hand's position ``[x, y, z, 1]``; the fit is trimmed (refitted on the pairs with the
smallest residuals) because recorded action noise knocks some lifts about. The drift depends on
how the recording's expert lifts, so fit it on data of the expert that makes the goals (for
protocol (a): OGBench's Markov oracle, ``collect policy=oracle_noisy``).

    .venv/bin/python -m wm_control.grasp_lift --data <dataset folder> --out grasp_lift.json
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data.atomic import fsync_path, follow_umask
from .episode import CARRY_CLOSURE, PICK_EMPTY_CLOSURE, jaws_hold

FORMAT = "wm-control grasp lift"
OGBENCH_DATA_HELP = (
    "LeRobot dataset folders (OGBench layout, written by `wm-control collect "
    "env=ogbench_cube_single`)"
)
FORMAT_VERSION = 1

AT_FLOOR = 0.01
"""Height (m) over the workspace floor under which a holding hand is at its grasp."""

RISING = 0.01
"""Least rise (m) of the hand in the frame after a grasp for it to count as a lift."""

KEEP = 0.8
"""Share of the pairs with the smallest residuals the trimmed fit keeps."""

TRIM_ROUNDS = 5
"""Refits of the trimmed fit (each on the pairs the previous one fitted best)."""


@dataclass(frozen=True)
class GraspLift:
    """``offset = [x, y, z, 1] @ weights``: from a lifted hand's position (m) to the offset (m,
    x and y) of the point where it grasped.

    ``pairs``/``lifts``: how many (lifted hand, grasp) pairs and grasp-and-lift events the fit saw;
    ``residual``: the median distance (m) between fitted and recorded grasp points over all pairs,
    and ``unfitted``: the same with no correction (the lifted hand taken as the grasp point);
    ``source``: what it was fitted on (datasets, frames, the command)."""

    weights: np.ndarray  # [4, 2]
    pairs: int
    lifts: int
    residual: float
    unfitted: float
    source: dict

    def __post_init__(self) -> None:
        weights = np.asarray(self.weights, np.float64)
        if weights.shape != (4, 2) or not np.isfinite(weights).all():
            raise ValueError(
                f"GraspLift: expected finite weights of shape (4, 2), found shape "
                f"{weights.shape}{'' if np.isfinite(weights).all() else ' with non-finite values'}"
            )
        object.__setattr__(self, "weights", weights)

    def grasp_point(self, hand: Sequence[float]) -> np.ndarray:
        """Where a hand now at ``hand`` ([3]: x, y, z in m) grasped: ``[2]`` (x, y in m)."""
        hand = np.asarray(hand, np.float64)
        if hand.shape != (3,):
            raise ValueError(
                f"GraspLift.grasp_point: expected a hand position [3], found {hand.shape}"
            )
        return hand[:2] + np.append(hand, 1.0) @ self.weights

    @classmethod
    def fit(
        cls, episodes: Sequence[np.ndarray], *, floor: float, frames: int = 2, source=None
    ) -> GraspLift:
        """Fit on the states of recorded ``episodes`` (each ``[T, 5]``: x, y, z, yaw, gripper),
        the workspace floor at height ``floor`` (m)."""
        lifted, grasped, lifts = lift_pairs(episodes, floor=floor, frames=frames)
        if lifts < 8:
            raise ValueError(
                f"GraspLift.fit: expected at least 8 grasp-and-lift events in the data (the jaws "
                f"holding at the floor, closure {CARRY_CLOSURE}-{PICK_EMPTY_CLOSURE}, then the "
                "hand rising), "
                f"found {lifts}"
            )
        features = np.concatenate([lifted, np.ones((len(lifted), 1))], axis=1)  # [n, 4]
        offsets = grasped - lifted[:, :2]  # [n, 2]
        keep = np.ones(len(features), bool)
        for _ in range(TRIM_ROUNDS):
            weights = np.linalg.lstsq(features[keep], offsets[keep], rcond=None)[0]  # [4, 2]
            errors = np.linalg.norm(features @ weights - offsets, axis=1)
            keep = errors <= np.quantile(errors, KEEP)
        return cls(
            weights=weights,
            pairs=len(features),
            lifts=lifts,
            residual=float(np.median(errors)),
            unfitted=float(np.median(np.linalg.norm(offsets, axis=1))),
            source={"frames": frames, "floor": floor, **(source or {})},
        )

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "features": ["x", "y", "z", "1"],
            "weights": self.weights.tolist(),
            "pairs": self.pairs,
            "lifts": self.lifts,
            "median_residual_m": self.residual,
            "median_unfitted_m": self.unfitted,
            "source": self.source,
        }

    def save(self, path: str | Path) -> Path:
        """Write as JSON, atomically (a temporary file renamed over ``path``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        follow_umask(tmp)
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_path(path.parent)
        return path

    @classmethod
    def load(cls, path: str | Path) -> GraspLift:
        path = Path(path)
        try:
            values = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(
                f"grasp lift {path}: expected a JSON file written by "
                f"wm_control.grasp_lift, could not read it ({error})"
            ) from error
        found = values if isinstance(values, dict) else {}
        if found.get("format") != FORMAT or found.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"grasp lift {path}: expected format {FORMAT!r} version {FORMAT_VERSION}, found "
                f"{found.get('format')!r} version {found.get('format_version')!r}"
            )
        try:
            return cls(
                weights=np.asarray(values["weights"], np.float64),
                pairs=int(values["pairs"]),
                lifts=int(values["lifts"]),
                residual=float(values["median_residual_m"]),
                unfitted=float(values["median_unfitted_m"]),
                source=dict(values["source"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"grasp lift {path}: a damaged map ({error})") from error


def lift_pairs(
    episodes: Sequence[np.ndarray], *, floor: float, frames: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """The (lifted hand ``[n, 3]``, grasp point ``[n, 2]``) pairs of the grasp-and-lift events in
    ``episodes`` (states ``[T, 5]`` each), and the number of events (see the module docstring)."""
    if frames < 1:
        raise ValueError(f"GraspLift: expected frames >= 1, found {frames}")
    lifted, grasped, lifts = [], [], 0
    for states in episodes:
        states = np.asarray(states, np.float64)
        if states.ndim != 2 or states.shape[1] != 5:
            raise ValueError(
                f"GraspLift: expected states [T, 5] (x, y, z, yaw, gripper), found {states.shape}"
            )
        z, closure = states[:, 2], states[:, 4]
        holding = jaws_hold(closure)
        for t in range(len(states) - 1):
            if not (holding[t] and z[t] < floor + AT_FLOOR and z[t + 1] > z[t] + RISING):
                continue
            lifts += 1
            for k in range(1, frames + 1):
                if t + k >= len(states) or not holding[t + k] or z[t + k] <= z[t + k - 1]:
                    break
                lifted.append(states[t + k, :3])
                grasped.append(states[t, :2])
    return np.reshape(lifted, (-1, 3)), np.reshape(grasped, (-1, 2)), lifts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m wm_control.grasp_lift", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--data", nargs="+", required=True, help=OGBENCH_DATA_HELP)
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--frames", type=int, default=2, help="frames after each grasp to pair")
    parser.add_argument(
        "--floor",
        type=float,
        default=None,
        help="workspace floor height (m); default: OGBench cube's",
    )
    args = parser.parse_args(argv)
    import yaml

    from envs.ogbench_cube import WORKSPACE

    from .cli.main import config_dir
    from .data.trajectories import read_recordings

    floor = WORKSPACE[0][2] if args.floor is None else args.floor
    data = yaml.safe_load((config_dir() / "data" / "ogbench_cube.yaml").read_text())
    trajectories, datasets = read_recordings(args.data, data, with_frames=False)
    episodes = [trajectory.states for trajectory in trajectories]
    command = shlex.join(["python", "-m", "wm_control.grasp_lift", *(argv or sys.argv[1:])])
    lift = GraspLift.fit(
        episodes, floor=floor, frames=args.frames, source={"datasets": datasets, "command": command}
    )
    lift.save(args.out)
    print(
        f"{args.out}: {lift.lifts} grasp-and-lift events, {lift.pairs} pairs; median distance to "
        f"the recorded grasp {100 * lift.residual:.1f} cm fitted, {100 * lift.unfitted:.1f} cm "
        f"under the lifted hand"
    )


if __name__ == "__main__":
    main()
