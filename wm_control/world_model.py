"""The world model: one ``encode`` and one ``rollout`` for training, planning, evaluation and ROS.

A frozen V-JEPA 2 encoder maps camera frames to patch tokens; the V-JEPA 2-AC predictor imagines
the tokens of the next frames given end-effector actions. Every token this class returns is
layer-normed without affine parameters over its last dimension — the space planning compares in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .checkpoints import load_checkpoint, read_metadata, save_native
from .checkpoints.common import check_state
from .models.config import PredictorConfig, WorldModelConfig
from .models.predictor import ACPredictor
from .models.vit import VisionTransformer
from .layouts import ControlLayout, get_layout
from .preprocess import PREPROCESSING_ID, as_frame_batch, to_model_input

ENCODE_CHUNK = 64  # frames encoded per forward pass: bounds memory when encoding long videos
CPU_BLOCK_BYTES = 32 * 1024 * 1024
"""Largest activation a CPU inference rollout makes in one pass. glibc serves bigger blocks by a
fresh ``mmap`` at every allocation (32 MiB is the most its threshold can be raised to), so each one
is page-faulted and zeroed again; larger batches are imagined in chunks of samples instead
(:meth:`WorldModel.rollout`: the same results up to float rounding, 1.1–1.3× faster at 800
samples of 64 tokens)."""


@dataclass
class Rollout:
    """Imagined future: ``tokens [B, H, N, D]`` (layer-normed) and ``states [B, H, P]`` after each
    action."""

    tokens: torch.Tensor
    states: torch.Tensor


def layer_norm(tokens: torch.Tensor) -> torch.Tensor:
    """LayerNorm without affine parameters over the last dimension (the comparison space).

    It is computed with a unit scale and a zero shift, which change nothing: PyTorch's CPU kernel
    without them is about twice as slow (1.5 against 0.8 ms for 800 imagined frames of 16 tokens,
    one thread)."""
    width = tokens.shape[-1]
    unit = torch.ones(width, dtype=tokens.dtype, device=tokens.device)
    return F.layer_norm(tokens, (width,), unit, torch.zeros_like(unit))


class WorldModel(nn.Module):
    """Frozen encoder + action-conditioned predictor. Build from a config or ``from_pretrained``."""

    def __init__(self, config: WorldModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = VisionTransformer(config.encoder)
        self.encoder.requires_grad_(False)
        self.encoder.eval()
        self.predictor = ACPredictor(config.predictor) if config.predictor is not None else None
        self.metadata: dict[str, Any] = {}  # what the checkpoint it was loaded from says of itself

    # ----------------------------------------------------------------------------------- loading
    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        encoder_num_heads: int | None = None,
        predictor_num_heads: int | None = None,
        image_size: int | tuple[int, int] | None = None,
        use_extrinsics: bool | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> WorldModel:
        """Load Meta's official ``.pt`` (AC or encoder-only), a Hugging Face VJEPA2 folder
        (encoder), or a wm-control checkpoint. Widths/depths come from tensor shapes; head counts
        from the known presets or the overrides. Mismatching keys raise ``CheckpointError`` listing
        them. ``use_extrinsics=True`` loads a Meta AC predictor trained with extrinsics (its weights
        cannot tell; off by default, as released); wm-control checkpoints record it."""
        loaded = load_checkpoint(
            path,
            encoder_num_heads=encoder_num_heads,
            predictor_num_heads=predictor_num_heads,
            image_size=image_size,
            use_extrinsics=use_extrinsics,
        )
        with torch.device("meta"):
            model = cls(loaded.config)
        source = str(path)
        encoder_state = check_state(
            model.encoder.state_dict(), loaded.encoder_state, part="encoder", source=source
        )
        model.encoder.load_state_dict(encoder_state, strict=True, assign=True)
        if model.predictor is not None:
            predictor_state = check_state(
                model.predictor.state_dict(),
                loaded.predictor_state or {},
                part="predictor",
                source=source,
            )
            model.predictor.load_state_dict(predictor_state, strict=True, assign=True)
        model.encoder.requires_grad_(False)
        model.metadata = loaded.metadata
        model = model.to(device=device or "cpu", dtype=dtype or torch.float32)
        _own_cpu_tensors(model)
        return model

    def save_pretrained(self, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
        """Write a self-describing checkpoint (atomic). Returns the safetensors file written."""
        state = {f"encoder.{k}": v for k, v in self.encoder.state_dict().items()}
        if self.predictor is not None:
            state.update({f"predictor.{k}": v for k, v in self.predictor.state_dict().items()})
        return save_native(Path(path), self.config, state, metadata)

    @staticmethod
    def read_metadata(path: str | Path) -> dict[str, Any]:
        """The metadata dict stored by :meth:`save_pretrained`."""
        return read_metadata(Path(path))

    def with_new_predictor(self, predictor: PredictorConfig) -> WorldModel:
        """A model with this (frozen) encoder and a freshly initialised predictor."""
        model = WorldModel(WorldModelConfig(encoder=self.config.encoder, predictor=predictor))
        model.encoder.load_state_dict(self.encoder.state_dict())
        model.metadata = dict(self.metadata)
        model.use_compiled_blocks(self.compiled_blocks)
        return model.to(device=self.device, dtype=self.dtype)

    def use_compiled_blocks(self, enabled: bool = True) -> WorldModel:
        """Run the predictor's blocks through compiled, fused kernels (:mod:`.models.fused`), or
        back through the eager path. The same computation up to float rounding; the first rollout
        of each new shape pays for compilation (seconds on a GPU, tens of seconds on a CPU).
        Faster on GPUs; on CPUs the eager path is faster (bench/RESULTS.md). Returns the model."""
        if self.predictor is not None:
            for block in self.predictor.predictor_blocks:
                block.compiled = enabled
        return self

    @property
    def compiled_blocks(self) -> bool:
        """Whether the predictor's blocks run compiled (:meth:`use_compiled_blocks`)."""
        return self.predictor is not None and all(
            block.compiled for block in self.predictor.predictor_blocks
        )

    # -------------------------------------------------------------------------------- properties
    @property
    def device(self) -> torch.device:
        return self.encoder.norm.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.encoder.norm.weight.dtype

    @property
    def layout(self) -> ControlLayout:
        """The action/state layout the predictor declares (:mod:`wm_control.layouts`)."""
        return get_layout(self._require_predictor().config.layout)

    @property
    def image_size(self) -> tuple[int, int]:
        return self.config.encoder.image_size

    @property
    def grid(self) -> tuple[int, int]:
        return self.config.encoder.grid

    @property
    def tokens_per_frame(self) -> int:
        return self.config.encoder.tokens_per_frame

    @property
    def token_dim(self) -> int:
        return self.config.encoder.width

    def train(self, mode: bool = True) -> WorldModel:
        """Only the predictor trains; the encoder stays in eval mode."""
        super().train(mode)
        self.encoder.eval()
        return self

    def encoder_fingerprint(self) -> str:
        """Hash of the encoder's weights, architecture and preprocessing (keys token caches)."""
        digest = hashlib.sha256()
        digest.update(repr(self.config.encoder.to_dict()).encode())
        digest.update(PREPROCESSING_ID.encode())
        for name, tensor in sorted(self.encoder.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
        return digest.hexdigest()[:16]

    # ---------------------------------------------------------------------------------- encoding
    @torch.no_grad()
    def encode(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Encode each frame on its own (repeated into a 2-frame tubelet).

        Args:
            frames: uint8 RGB ``[H, W, 3]``, ``[T, H, W, 3]`` or ``[B, T, H, W, 3]`` of any size
                (centre-cropped and resized to the model input).
        Returns:
            ``[B, T, N, D]`` layer-normed tokens on the model's device.
        """
        batch = as_frame_batch(frames)  # [B, T, H, W, 3]
        B, T = batch.shape[:2]
        flat = batch.flatten(0, 1).unsqueeze(1)  # [B·T, 1, H, W, 3]
        out = []
        for chunk in flat.split(ENCODE_CHUNK):
            video = to_model_input(
                chunk, self.image_size, device=self.device, dtype=self.dtype
            )  # [b, 3, 1, h, w]
            video = video.repeat(1, 1, self.config.encoder.tubelet_size, 1, 1)  # [b, 3, 2, h, w]
            out.append(self.encoder(video))  # [b, N, D]
        tokens = torch.cat(out).unflatten(0, (B, T))  # [B, T, N, D]
        return layer_norm(tokens)

    @torch.no_grad()
    def encode_clip(self, video: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Encode videos as clips (tubelets of consecutive frames).

        Args: video uint8 ``[T, H, W, 3]`` or ``[B, T, H, W, 3]``, T a multiple of the tubelet size.
        Returns: ``[B, T/tubelet, N, D]`` layer-normed tokens.
        """
        batch = as_frame_batch(video)
        tubelet = self.config.encoder.tubelet_size
        if batch.shape[1] % tubelet:
            raise ValueError(
                f"encode_clip: expected a number of frames divisible by {tubelet}, found "
                f"{batch.shape[1]}"
            )
        x = to_model_input(
            batch, self.image_size, device=self.device, dtype=self.dtype
        )  # [B, 3, T, h, w]
        tokens = self.encoder(x)  # [B, T/2·N, D]
        return layer_norm(tokens.unflatten(1, (batch.shape[1] // tubelet, self.tokens_per_frame)))

    # -------------------------------------------------------------------------------- prediction
    def _require_predictor(self) -> ACPredictor:
        if self.predictor is None:
            raise RuntimeError(
                "this world model has no action-conditioned predictor (an encoder-only "
                "checkpoint); train one with `wm-control train` or load a V-JEPA 2-AC checkpoint"
            )
        return self.predictor

    def _check_tokens(self, tokens: torch.Tensor, name: str) -> None:
        if tokens.dim() != 4 or tokens.shape[-2:] != (self.tokens_per_frame, self.token_dim):
            raise ValueError(
                f"{name}: expected tokens [B, T, {self.tokens_per_frame}, {self.token_dim}], found "
                f"{tuple(tokens.shape)}"
            )

    def predict(
        self,
        tokens: torch.Tensor,
        actions: torch.Tensor,
        states: torch.Tensor,
        extrinsics: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Teacher-forced prediction: tokens ``[B, T, N, D]`` of steps 0…T−1, actions ``[B, T, A]``,
        states ``[B, T, P]`` (extrinsics ``[B, T, 6]``) → layer-normed predictions ``[B, T, N, D]``
        of steps 1…T. Differentiable with respect to the predictor."""
        predictor = self._require_predictor()
        self._check_tokens(tokens, "predict")
        out = predictor(tokens, actions, states, extrinsics, grid=self.grid)
        return layer_norm(out)

    def rollout(
        self,
        tokens: torch.Tensor,
        states: torch.Tensor,
        actions: torch.Tensor,
        *,
        context_actions: torch.Tensor | None = None,
        teacher_states: torch.Tensor | None = None,
        extrinsics: torch.Tensor | None = None,
    ) -> Rollout:
        """Autoregressive imagination of ``H`` steps from the current frame (and optional past
        context).

        Args:
            tokens: ``[B, C, N, D]`` (or ``[B, N, D]``) layer-normed context frames; the last is
                now. A batch of 1 is shared by all B action sequences (planning from one
                observation).
            states: ``[B, C, P]`` (or ``[B, P]``; batch 1 shared likewise) states of the context
                frames.
            actions: ``[B, H, A]`` actions to imagine, from the current frame on.
            context_actions: ``[B, C−1, A]`` actions taken between the context frames (C > 1).
            teacher_states: ``[B, H−1, P]`` recorded states of steps 1…H−1 to feed instead of the
                integrated ones (training's rollout loss); otherwise states are integrated by the
                predictor's declared layout (:attr:`layout`; DROID: xyz + Δxyz, R(Δθ)·R(θ),
                gripper clipped to [0, 1]).
            extrinsics: ``[B, C+H−1, 6]`` when the predictor uses extrinsics.
        Returns:
            :class:`Rollout` with tokens ``[B, H, N, D]`` of steps 1…H and states ``[B, H, P]``.
        """
        predictor = self._require_predictor()
        if tokens.dim() == 3:
            tokens = tokens.unsqueeze(1)
        if states.dim() == 2:
            states = states.unsqueeze(1)
        self._check_tokens(tokens, "rollout")
        if actions.dim() != 3 or actions.shape[1] < 1:
            raise ValueError(
                f"rollout: expected actions [B, H>=1, A], found {tuple(actions.shape)}"
            )
        B, H = actions.shape[:2]
        C = tokens.shape[1]
        if tokens.shape[0] not in (1, B) or states.shape[0] not in (1, B) or states.shape[1] != C:
            raise ValueError(
                f"rollout: expected tokens [{B} or 1, C, N, D] and states [{B} or 1, C, P] for "
                f"actions {tuple(actions.shape)}, found {tuple(tokens.shape)} and "
                f"{tuple(states.shape)}"
            )
        states = states.expand(B, -1, -1)
        if C > 1:
            if context_actions is None or context_actions.shape[:2] != (B, C - 1):
                found = None if context_actions is None else tuple(context_actions.shape)
                raise ValueError(
                    f"rollout: {C} context frames need context_actions [{B}, {C - 1}, A], found "
                    f"{found}"
                )
            step_actions = torch.cat([context_actions, actions[:, :1]], dim=1)  # [B, C, A]
        else:
            step_actions = actions[:, :1]
        if teacher_states is not None and teacher_states.shape[:2] != (B, H - 1):
            raise ValueError(
                f"rollout: expected teacher_states [{B}, {H - 1}, P], found "
                f"{tuple(teacher_states.shape)}"
            )

        chunk = self._cpu_chunk(B, C)
        if chunk < B:  # each sample's imagination is its own (chunks differ by float rounding)

            def rows(x: torch.Tensor | None, start: int) -> torch.Tensor | None:
                shared = x is None or x.shape[0] == 1
                return x if shared else x[start : start + chunk]

            parts = [
                self.rollout(
                    rows(tokens, start),
                    rows(states, start),
                    actions[start : start + chunk],
                    context_actions=rows(context_actions, start),
                    teacher_states=rows(teacher_states, start),
                    extrinsics=rows(extrinsics, start),
                )
                for start in range(0, B, chunk)
            ]
            return Rollout(
                tokens=torch.cat([part.tokens for part in parts]),
                states=torch.cat([part.states for part in parts]),
            )

        def ext(start: int, stop: int) -> torch.Tensor | None:
            return None if extrinsics is None else extrinsics[:, start:stop]

        cache = predictor.new_cache() if H > 1 else None  # one step: nothing to keep
        out = predictor(
            tokens, step_actions, states, ext(0, C), grid=self.grid, cache=cache
        )  # [B, C, N, D]
        next_tokens = layer_norm(out[:, -1:])  # [B, 1, N, D]
        integrate = self.layout.integrate
        state = integrate(states[:, -1], actions[:, 0])  # [B, P]
        imagined, imagined_states = [next_tokens], [state]
        for h in range(1, H):
            fed_state = teacher_states[:, h - 1] if teacher_states is not None else state
            out = predictor(
                next_tokens,
                actions[:, h : h + 1],
                fed_state.unsqueeze(1),
                ext(C + h - 1, C + h),
                grid=self.grid,
                cache=cache,
            )
            next_tokens = layer_norm(out)  # [B, 1, N, D]
            state = integrate(fed_state, actions[:, h])
            imagined.append(next_tokens)
            imagined_states.append(state)
        # one step (a planning step at horizon 1) is returned as it is: a cat would copy it
        tokens = imagined[0] if H == 1 else torch.cat(imagined, dim=1)  # [B, H, N, D]
        return Rollout(tokens=tokens, states=torch.stack(imagined_states, dim=1))

    def _cpu_chunk(self, samples: int, context: int) -> int:
        """Samples per pass of a rollout of ``samples`` from ``context`` frames: all of them, unless
        on CPU without gradients the predictor's largest activation (its MLP's hidden layer over
        the first pass's tokens) would exceed :data:`CPU_BLOCK_BYTES`; then equal chunks that
        fit."""
        if self.device.type != "cpu" or torch.is_grad_enabled():
            return samples
        cfg = self._require_predictor().config
        conditions = 3 if cfg.use_extrinsics else 2
        per_sample = (
            context * (self.tokens_per_frame + conditions) * cfg.mlp_hidden * self.dtype.itemsize
        )
        fit = max(1, CPU_BLOCK_BYTES // per_sample)
        if samples <= fit:
            return samples
        chunks = -(-samples // fit)
        return -(-samples // chunks)


def _own_cpu_tensors(module: nn.Module) -> None:
    """Copy every CPU parameter and buffer into memory of this process. The checkpoint readers map
    the file into memory, and a tensor loaded as it is (CPU, same dtype) would keep reading the
    file: replacing the checkpoint in place (``cp``, a re-download) while a planner runs would
    then crash it (SIGBUS) or change its weights under it."""
    for tensor in (*module.parameters(), *module.buffers()):
        if tensor.device.type == "cpu":
            tensor.data = tensor.data.clone()
