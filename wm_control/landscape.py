"""Energy landscape: the planning energy over a grid of end-effector displacements.

The check Meta's notebook makes by hand: from a start frame, imagine one step for every action on a
Δx/Δy (optionally Δz) grid, measure the energy against the goal image, and see whether the minimum
sits at the true displacement. All grid actions go through one batched ``rollout``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .energies import energy
from .planning.action_spec import DROID_ACTION_NAMES
from .world_model import WorldModel

CHUNK = 4096  # grid actions per rollout batch


@dataclass(frozen=True)
class Landscape:
    """``axes`` names (e.g. ("dx", "dy")), ``values [R]`` (m) per axis, ``energies`` of shape
    ``[R] * len(axes)`` (indexed in axis order), and the grid action of lowest energy
    ``best [7]``."""

    axes: tuple[str, ...]
    values: np.ndarray
    energies: np.ndarray
    best: np.ndarray


@torch.inference_mode()
def energy_landscape(
    model: WorldModel,
    frame: np.ndarray,
    state: np.ndarray,
    goal: np.ndarray,
    *,
    axes: tuple[str, ...] = ("dx", "dy"),
    extent: float = 0.075,
    resolution: int = 21,
    base_action: np.ndarray | None = None,
) -> Landscape:
    """Energies of one-step rollouts from ``frame`` (uint8 [H, W, 3]) and ``state`` [7] toward
    ``goal`` (uint8 [H, W, 3]) for displacements on a ``resolution``-point grid in
    ``[-extent, extent]`` (m) along each of ``axes``; other action entries from ``base_action``."""
    if not axes or len(set(axes)) != len(axes) or any(a not in DROID_ACTION_NAMES for a in axes):
        raise ValueError(
            f"landscape axes: expected distinct names from {DROID_ACTION_NAMES}, found {axes}"
        )
    if resolution < 2 or extent <= 0:
        raise ValueError(
            f"landscape: expected resolution >= 2 and extent > 0, found {resolution} and {extent}"
        )
    values = np.linspace(-extent, extent, resolution, dtype=np.float32)
    columns = [DROID_ACTION_NAMES.index(a) for a in axes]
    mesh = np.stack(np.meshgrid(*([values] * len(axes)), indexing="ij"), axis=-1).reshape(
        -1, len(axes)
    )
    actions = np.tile(
        np.zeros(7, np.float32) if base_action is None else np.asarray(base_action, np.float32),
        (len(mesh), 1),
    )
    actions[:, columns] = mesh
    device, dtype = model.device, model.dtype
    tokens0 = model.encode(frame)  # [1, 1, N, D]
    goal_tokens = model.encode(goal)[0, 0]  # [N, D]
    state0 = torch.as_tensor(np.asarray(state, np.float32), device=device, dtype=dtype).view(
        1, 1, -1
    )
    energies = []
    for chunk in torch.from_numpy(actions).split(CHUNK):
        imagined = model.rollout(
            tokens0, state0, chunk.to(device, dtype).unsqueeze(1)
        ).tokens  # [S, 1, N, D]
        energies.append(energy(imagined, goal_tokens).float().cpu())
    grid = torch.cat(energies).numpy().reshape([resolution] * len(axes))
    return Landscape(
        axes=tuple(axes), values=values, energies=grid, best=actions[int(grid.argmin())]
    )


def plot_landscape(
    landscape: Landscape,
    path,
    true_action: np.ndarray | None = None,
    planned: tuple[str, np.ndarray] | None = None,
) -> None:
    """Heat map(s) of the energy; one panel for 2 axes, three slices through the minimum for 3.
    The grid minimum is marked with a white cross, ``true_action`` (if given) with a red circle,
    ``planned`` (solver name, its first action ``[7]``) with an orange plus."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes, values, energies = landscape.axes, landscape.values, landscape.energies
    best_index = np.unravel_index(int(energies.argmin()), energies.shape)
    pairs = [(0, 1)] if len(axes) == 2 else [(0, 1), (0, 2), (1, 2)] if len(axes) == 3 else []
    if not pairs:
        raise ValueError(f"plot_landscape: expected 2 or 3 axes, found {axes}")
    fig, panels = plt.subplots(1, len(pairs), figsize=(5 * len(pairs), 4.2), squeeze=False)
    extent = [values[0] * 100, values[-1] * 100, values[0] * 100, values[-1] * 100]
    for panel, (i, j) in zip(panels[0], pairs):
        index = [slice(None) if k in (i, j) else best_index[k] for k in range(len(axes))]
        plane = energies[tuple(index)]  # [R_i, R_j]
        image = panel.imshow(plane.T, origin="lower", extent=extent, cmap="viridis", aspect="equal")
        fig.colorbar(image, ax=panel, label="energy (L1)")
        names = DROID_ACTION_NAMES
        panel.plot(
            landscape.best[names.index(axes[i])] * 100,
            landscape.best[names.index(axes[j])] * 100,
            "wx",
            markersize=10,
            markeredgewidth=2,
            label="grid minimum",
            clip_on=False,
        )
        if true_action is not None:
            panel.plot(
                true_action[names.index(axes[i])] * 100,
                true_action[names.index(axes[j])] * 100,
                "o",
                markerfacecolor="none",
                markeredgecolor="red",
                markersize=12,
                markeredgewidth=2,
                label="true displacement",
            )
        if planned is not None:
            solver, action = planned
            panel.plot(
                action[names.index(axes[i])] * 100,
                action[names.index(axes[j])] * 100,
                "+",
                color="orange",
                markersize=14,
                markeredgewidth=2,
                label=f"planner ({solver})",
            )
        panel.set_xlabel(f"{axes[i]} (cm)")
        panel.set_ylabel(f"{axes[j]} (cm)")
        panel.legend(loc="upper right", fontsize=8)
    fig.suptitle("Energy of one imagined step toward the goal")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
