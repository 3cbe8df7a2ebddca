"""`wm-control landscape`: the energy over a grid of Δx/Δy (and Δz) actions, as a heat map.

With no images it uses the reference clip (frame 0 → frame 1) and the tiny reference model. The true
displacement (``true_action=[dx,dy,dz,0,0,0,0]``) is marked on the map when given.
"""

from __future__ import annotations

import json

from omegaconf import DictConfig, OmegaConf

from ..landscape import energy_landscape, plot_landscape
from ..model_source import ModelSource
from . import output_dir
from .image_inputs import REPO_ROOT, image_inputs, seven_numbers

CONFIG_NAME = "landscape"


def run(cfg: DictConfig) -> None:
    source = ModelSource.from_dict(OmegaConf.to_container(cfg.model, resolve=True))
    model = source.load(REPO_ROOT)
    frame, goal, state = image_inputs(cfg, reference_goal_frame=1)
    true_action = None if cfg.true_action is None else seven_numbers("true_action", cfg.true_action)
    result = energy_landscape(
        model, frame, state, goal, axes=tuple(cfg.axes), extent=cfg.extent, resolution=cfg.resolution
    )
    folder = output_dir()
    plot_landscape(result, folder / "landscape.png", true_action)
    summary = {
        "axes": list(result.axes), "values": result.values.tolist(), "energies": result.energies.tolist(),
        "best_action": result.best.tolist(), "best_energy": float(result.energies.min()),
        "true_action": None if true_action is None else true_action.tolist(),
    }
    (folder / "landscape.json").write_text(json.dumps(summary))
    best = " ".join(f"{a}={result.best[i] * 100:+.1f} cm" for i, a in enumerate(("dx", "dy", "dz")) if a in result.axes)
    print(f"grid minimum: {best} (energy {summary['best_energy']:.5f}); "
          f"{result.energies.size} one-step rollouts")
    if true_action is not None:
        true = " ".join(f"{a}={true_action[i] * 100:+.1f} cm" for i, a in enumerate(("dx", "dy", "dz")))
        print(f"true displacement: {true}")
    print(f"heat map: {folder / 'landscape.png'}")
