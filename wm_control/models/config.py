"""Typed, validated architecture configs for the encoder, the predictor and the world model.

Every field is checked in ``__post_init__``; a bad value raises ``ValueError`` naming the field,
what was expected and what was found. Configs round-trip through plain dicts (``to_dict`` /
``from_dict``) so that checkpoints can store them as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from ..layouts import LAYOUTS


def _check_positive(owner: str, name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{owner}.{name}: expected a positive int, found {value!r}")


def as_image_size(
    value: int | tuple[int, int] | list[int], owner: str = "image_size"
) -> tuple[int, int]:
    """Normalise an image size given as ``int`` or ``(height, width)`` to a ``(height, width)``
    tuple."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) for v in value)
    ):
        return (int(value[0]), int(value[1]))
    raise ValueError(f"{owner}: expected an int or (height, width), found {value!r}")


@dataclass(frozen=True)
class EncoderConfig:
    """V-JEPA 2 video ViT: tubelet Conv3d patches, pre-norm blocks with 3D RoPE, final LayerNorm.

    ``image_size`` is the model input (height, width) in pixels; both must be multiples of
    ``patch_size``. ``mlp_hidden`` is the width of the MLP's hidden layer (``fc1`` output).
    """

    width: int
    depth: int
    num_heads: int
    mlp_hidden: int
    image_size: tuple[int, int] = (256, 256)
    patch_size: int = 16
    tubelet_size: int = 2
    norm_eps: float = 1e-6

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "image_size", as_image_size(self.image_size, "EncoderConfig.image_size")
        )
        for name in ("width", "depth", "num_heads", "mlp_hidden", "patch_size", "tubelet_size"):
            _check_positive("EncoderConfig", name, getattr(self, name))
        if self.width % self.num_heads:
            raise ValueError(
                f"EncoderConfig.num_heads: width {self.width} must be divisible by num_heads, "
                f"found {self.num_heads}"
            )
        if self.width // self.num_heads < 6:
            raise ValueError(
                f"EncoderConfig.num_heads: head_dim = width/num_heads must be >= 6 for 3D RoPE, "
                f"found {self.width}/{self.num_heads}"
            )
        for side in self.image_size:
            if side % self.patch_size:
                raise ValueError(
                    "EncoderConfig.image_size: expected multiples of patch_size "
                    f"{self.patch_size}, found {self.image_size}"
                )

    @property
    def grid(self) -> tuple[int, int]:
        """Patch grid (rows, columns) of one frame."""
        return (self.image_size[0] // self.patch_size, self.image_size[1] // self.patch_size)

    @property
    def tokens_per_frame(self) -> int:
        return self.grid[0] * self.grid[1]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncoderConfig:
        return cls(**_known_fields(cls, data))


@dataclass(frozen=True)
class PredictorConfig:
    """V-JEPA 2-AC predictor: per step ``[action, state, (extrinsics), patches]`` tokens,
    block-causal.

    ``image_size`` is the size the predictor was configured for; the RoPE row/column indices of
    the patch tokens are rescaled by ``grid_h / rows`` and ``grid_h / cols`` of the actual input.
    ``layout`` names the action/state layout the predictor was trained on
    (:mod:`wm_control.layouts`; configs and checkpoints without one are ``"droid"``);
    ``action_dim``/``state_dim`` must be its widths.
    """

    width: int
    depth: int
    num_heads: int
    mlp_hidden: int
    encoder_width: int
    image_size: tuple[int, int] = (256, 256)
    patch_size: int = 16
    action_dim: int = 7
    state_dim: int = 7
    extrinsics_dim: int = 6
    use_extrinsics: bool = False
    norm_eps: float = 1e-6
    layout: str = "droid"

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "image_size", as_image_size(self.image_size, "PredictorConfig.image_size")
        )
        if self.layout not in LAYOUTS:
            raise ValueError(
                f"PredictorConfig.layout: expected one of {sorted(LAYOUTS)}, found {self.layout!r}"
            )
        declared = LAYOUTS[self.layout]
        if (self.action_dim, self.state_dim) != (declared.action_dim, declared.state_dim):
            raise ValueError(
                f"PredictorConfig.layout: {self.layout!r} has {declared.action_dim} action and "
                f"{declared.state_dim} state dimensions, found action_dim={self.action_dim}, "
                f"state_dim={self.state_dim}"
            )
        for name in (
            "width",
            "depth",
            "num_heads",
            "mlp_hidden",
            "encoder_width",
            "patch_size",
            "action_dim",
            "state_dim",
            "extrinsics_dim",
        ):
            _check_positive("PredictorConfig", name, getattr(self, name))
        if self.width % self.num_heads:
            raise ValueError(
                f"PredictorConfig.num_heads: width {self.width} must be divisible by num_heads, "
                f"found {self.num_heads}"
            )
        if self.width // self.num_heads < 6:
            raise ValueError(
                "PredictorConfig.num_heads: head_dim must be >= 6 for 3D RoPE, found "
                f"{self.width}/{self.num_heads}"
            )
        if not isinstance(self.use_extrinsics, bool):
            raise ValueError(
                f"PredictorConfig.use_extrinsics: expected a bool, found {self.use_extrinsics!r}"
            )

    @property
    def grid_height(self) -> int:
        return self.image_size[0] // self.patch_size

    @property
    def condition_tokens(self) -> int:
        """Tokens before the patches of every step: action, state and (if used) extrinsics."""
        return 3 if self.use_extrinsics else 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PredictorConfig:
        return cls(**_known_fields(cls, data))


@dataclass(frozen=True)
class WorldModelConfig:
    """A frozen encoder and (optionally) an action-conditioned predictor working in its token
    space."""

    encoder: EncoderConfig
    predictor: PredictorConfig | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.encoder, EncoderConfig):
            raise ValueError(
                "WorldModelConfig.encoder: expected an EncoderConfig, found "
                f"{type(self.encoder).__name__}"
            )
        if self.predictor is not None:
            if not isinstance(self.predictor, PredictorConfig):
                raise ValueError(
                    f"WorldModelConfig.predictor: expected a PredictorConfig or None, "
                    f"found {type(self.predictor).__name__}"
                )
            if self.predictor.encoder_width != self.encoder.width:
                raise ValueError(
                    "WorldModelConfig.predictor.encoder_width: expected the encoder width "
                    f"{self.encoder.width}, found {self.predictor.encoder_width}"
                )
            if self.predictor.patch_size != self.encoder.patch_size:
                raise ValueError(
                    f"WorldModelConfig.predictor.patch_size: expected the encoder patch size "
                    f"{self.encoder.patch_size}, found {self.predictor.patch_size}"
                )

    def to_dict(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder.to_dict(),
            "predictor": None if self.predictor is None else self.predictor.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorldModelConfig:
        if not isinstance(data, dict) or "encoder" not in data:
            raise ValueError(
                f"WorldModelConfig: expected a dict with an 'encoder' entry, found {data!r:.200}"
            )
        predictor = data.get("predictor")
        return cls(
            encoder=EncoderConfig.from_dict(data["encoder"]),
            predictor=None if predictor is None else PredictorConfig.from_dict(predictor),
        )


def _known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(
            f"{cls.__name__}: unknown fields {unknown}; expected a subset of {sorted(names)}"
        )
    out = dict(data)
    if "image_size" in out and isinstance(out["image_size"], list):
        out["image_size"] = tuple(out["image_size"])
    return out
