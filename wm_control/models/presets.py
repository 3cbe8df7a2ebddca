"""Named architecture presets and the width→heads table used when importing checkpoints.

Head counts cannot be read from tensor shapes; known widths map to the heads Meta released them
with. Any other width needs ``num_heads`` given explicitly.
"""

from __future__ import annotations

from .config import EncoderConfig, PredictorConfig

# name: (width, depth, num_heads, mlp_hidden, image size)
_ENCODERS: dict[str, tuple[int, int, int, int, int]] = {
    # small encoders of the same architecture, for tests and for models trained by this project
    "vit_tiny": (64, 2, 4, 256, 64),
    "vit_mini": (128, 4, 4, 512, 64),
    "vit_small": (192, 6, 6, 768, 128),
    # Meta's released encoders
    "vit_large": (1024, 24, 16, 4096, 256),
    "vit_huge": (1280, 32, 16, 5120, 256),
    "vit_giant": (1408, 40, 22, 6144, 256),
    "vit_giant_384": (1408, 40, 22, 6144, 384),
}

# name: (width, depth, num_heads, mlp_hidden)
_PREDICTORS: dict[str, tuple[int, int, int, int]] = {
    "ac_tiny": (48, 1, 4, 192),
    "ac_mini": (96, 2, 4, 384),
    "ac_small": (192, 4, 6, 768),
    "ac_released": (1024, 24, 16, 4096),  # V-JEPA 2-AC as released with ViT-g
}

# width → heads for the widths Meta released (encoders) plus the released predictor width.
KNOWN_ENCODER_HEADS: dict[int, int] = {1024: 16, 1280: 16, 1408: 22}
KNOWN_PREDICTOR_HEADS: dict[int, int] = {1024: 16}


def encoder_preset_names() -> list[str]:
    return sorted(_ENCODERS)


def predictor_preset_names() -> list[str]:
    return sorted(_PREDICTORS)


def encoder_preset(
    name: str, image_size: int | tuple[int, int] | None = None, patch_size: int | None = None
) -> EncoderConfig:
    """The encoder config of a named preset, optionally at another input size or patch size
    (patch 8 at 64 px gives 64 tokens per frame, as 128 px at patch 16 does, from a quarter of
    the pixels)."""
    if name not in _ENCODERS:
        raise ValueError(
            f"unknown encoder preset {name!r}; expected one of {encoder_preset_names()}"
        )
    width, depth, heads, hidden, size = _ENCODERS[name]
    return EncoderConfig(
        width=width,
        depth=depth,
        num_heads=heads,
        mlp_hidden=hidden,
        image_size=size if image_size is None else image_size,
        **({} if patch_size is None else {"patch_size": patch_size}),
    )


def predictor_preset(
    name: str, encoder: EncoderConfig, *, use_extrinsics: bool = False, layout: str = "droid"
) -> PredictorConfig:
    """The predictor config of a named preset, sized to work on ``encoder``'s tokens, for the
    action/state ``layout`` (:mod:`wm_control.layouts`)."""
    from wm_control.layouts import get_layout

    declared = get_layout(layout)
    if name not in _PREDICTORS:
        raise ValueError(
            f"unknown predictor preset {name!r}; expected one of {predictor_preset_names()}"
        )
    width, depth, heads, hidden = _PREDICTORS[name]
    return PredictorConfig(
        width=width,
        depth=depth,
        num_heads=heads,
        mlp_hidden=hidden,
        encoder_width=encoder.width,
        image_size=encoder.image_size,
        patch_size=encoder.patch_size,
        use_extrinsics=use_extrinsics,
        action_dim=declared.action_dim,
        state_dim=declared.state_dim,
        layout=layout,
    )


def heads_for_width(width: int, override: int | None, *, part: str) -> int:
    """Head count for an imported ``part`` ("encoder" or "predictor") of the given width."""
    if override is not None:
        if width % override:
            raise ValueError(
                f"{part}_num_heads={override} does not divide the {part} width {width}"
            )
        return override
    table = KNOWN_ENCODER_HEADS if part == "encoder" else KNOWN_PREDICTOR_HEADS
    if width not in table:
        raise ValueError(
            f"cannot infer the {part} head count for width {width}: known widths are "
            f"{sorted(table)}; pass {part}_num_heads=... to from_pretrained"
        )
    return table[width]
