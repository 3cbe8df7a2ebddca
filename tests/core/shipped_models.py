"""Loading the shipped models as their ``model=`` configs do, for the tests that check them."""

from omegaconf import OmegaConf

from wm_control import WorldModel
from wm_control.cli.image_inputs import REPO_ROOT
from wm_control.model_source import ModelSource


def load_shipped_model(config_name: str) -> tuple[ModelSource, WorldModel]:
    """(source, model) of a shipped model, as ``model=<config_name>`` (``configs/model/``) loads
    it."""
    config = REPO_ROOT / "configs" / "model" / f"{config_name}.yaml"
    source = ModelSource.from_dict(OmegaConf.to_container(OmegaConf.load(config), resolve=True))
    return source, source.load(REPO_ROOT)
