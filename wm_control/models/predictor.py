"""The V-JEPA 2-AC action-conditioned predictor.

Per time step the sequence holds ``[a_t, s_t, (e_t), z_t patches]``; attention is block-causal by
step (every token of step t sees all tokens of steps ≤ t). The output at step t, read off the patch
tokens after ``predictor_norm`` and ``predictor_proj``, is the prediction of the next frame's
tokens.

Because attention is block-causal, the keys and values of earlier steps never change when steps are
appended: :class:`PredictorCache` keeps them so that an autoregressive rollout processes each new
step once, and a single new step needs no attention mask at all.

:meth:`ACPredictor.plain_forward` is the algorithm as written: every block on every token of the
whole sequence. :meth:`ACPredictor.forward` computes the same thing with less work (both also under
autograd; tests/core/test_fast_paths.py checks they agree):
- the first block projects the frame tokens apart from the condition tokens, so one observed frame
  shared by all CEM samples is normalised, projected and rotated once, not once per sample;
- when that shared frame is the whole sequence (a planning step from the observation), the first
  block's frame-on-frame attention is also computed once, and each sample adds only its frame
  queries' scores on its own condition keys (:func:`_first_block_over_shared_frame`);
- the last block computes its attention output and MLP for the patch tokens only (the only outputs
  read); the condition tokens still contribute their keys and values, and the cache keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from . import position_major
from .config import PredictorConfig
from .rope import RotaryTables, grid_positions
from .linear import linear
from .vit import Block, LayerCache, init_vit_weights


@dataclass
class PredictorCache:
    """Per-layer keys/values of the steps processed so far, and how many steps that is."""

    layers: list[LayerCache]
    steps: int = 0

    @classmethod
    def empty(cls, depth: int) -> PredictorCache:
        return cls(layers=[LayerCache() for _ in range(depth)])


class ACPredictor(nn.Module):
    """Action-conditioned predictor over frozen-encoder tokens (parameter names as in Meta's
    release)."""

    def __init__(self, config: PredictorConfig) -> None:
        super().__init__()
        self.config = config
        self.predictor_embed = nn.Linear(config.encoder_width, config.width)
        self.action_encoder = nn.Linear(config.action_dim, config.width)
        self.state_encoder = nn.Linear(config.state_dim, config.width)
        self.extrinsics_encoder = nn.Linear(config.extrinsics_dim, config.width)
        self.predictor_blocks = nn.ModuleList(
            Block(config.width, config.num_heads, config.mlp_hidden, config.norm_eps)
            for _ in range(config.depth)
        )
        self.predictor_norm = nn.LayerNorm(config.width, eps=config.norm_eps)
        self.predictor_proj = nn.Linear(config.width, config.encoder_width)
        init_vit_weights(self, self.predictor_blocks)
        # block-causal masks by (t0, T, tokens per step, device)
        self._masks: dict[tuple[int, int, int, str], torch.Tensor] = {}

    def new_cache(self) -> PredictorCache:
        return PredictorCache.empty(self.config.depth)

    def forward(
        self,
        tokens: torch.Tensor,
        actions: torch.Tensor,
        states: torch.Tensor,
        extrinsics: torch.Tensor | None = None,
        *,
        grid: tuple[int, int],
        cache: PredictorCache | None = None,
    ) -> torch.Tensor:
        """Predict the next-frame tokens of every given step.

        Args:
            tokens: ``[B, T, N, D_enc]`` layer-normed frame tokens of steps ``t0 … t0+T-1`` (batch 1
                is broadcast to the actions' batch, e.g. one observed frame for all CEM samples).
            actions: ``[B, T, A]``; states: ``[B, T, P]``; extrinsics: ``[B, T, 6]``, required
                when the config enables them and refused otherwise.
            grid: (rows, cols) patch grid of the frames, ``rows · cols = N``.
            cache: earlier steps (``t0 = cache.steps``); updated in place with these steps.
        Returns:
            ``[B, T, N, D_enc]``: the prediction of steps ``t0+1 … t0+T`` (before the caller's
            LayerNorm).
        """
        cfg = self.config
        B, T = actions.shape[:2]
        N = tokens.shape[2]
        if tokens.shape[0] not in (1, B) or tokens.shape[1] != T:
            raise ValueError(
                f"predictor: expected tokens [{B} or 1, {T}, N, D] for actions "
                f"{tuple(actions.shape)}, found {tuple(tokens.shape)}"
            )
        rows, cols = grid
        if rows * cols != N:
            raise ValueError(
                f"predictor: grid {grid} implies {rows * cols} tokens per frame, found {N}"
            )
        t0 = 0 if cache is None else cache.steps
        cond = [self.action_encoder(actions), self.state_encoder(states)]  # 2×[B, T, W]
        if cfg.use_extrinsics:
            if extrinsics is None:
                raise ValueError(
                    "predictor: this model uses extrinsics; expected extrinsics [B, T, 6], "
                    "found None"
                )
            cond.append(self.extrinsics_encoder(extrinsics))
        elif extrinsics is not None:
            raise ValueError(
                "predictor: extrinsics were given, but this predictor takes none and would "
                "ignore them; a Meta checkpoint trained with extrinsics is loaded with "
                "use_extrinsics=True"
            )
        K = len(cond)
        cond = torch.stack(cond, dim=2)  # [B, T, K, W]
        frames = linear(tokens, self.predictor_embed)  # [1 or B, T, N, W] (embedded once if shared)
        positions = self._positions(t0, T, K, rows, cols, cond.device)  # [T, K+N, 3]
        rope = RotaryTables.from_positions(
            positions.flatten(0, 1), cfg.width // cfg.num_heads, cond.dtype
        )
        mask = self._mask(t0, T, K + N, cond.device)
        last = len(self.predictor_blocks) - 1
        # one shared frame alone in the sequence (a planning step from the observation): the first
        # block's frame-on-frame attention is the same for every sample
        one_shared_frame = frames.shape[0] == 1 and T == 1 and t0 == 0 and last > 0
        if not one_shared_frame:
            x = torch.cat([cond, frames.expand(B, -1, -1, -1)], dim=2).flatten(1, 2)
            # x: [B, T·(K+N), W]
        for i, block in enumerate(self.predictor_blocks):
            layer_cache = None if cache is None else cache.layers[i]
            if i == 0 and one_shared_frame:
                x = _first_block_over_shared_frame(
                    block, cond[:, 0], frames[:, 0], positions[0], layer_cache
                )  # [B, K+N, W]
                continue
            if i == 0:
                q, k, v = self._project_first_block(block, cond, frames, positions)
            else:
                q, k, v = block.project(x, rope)  # 3×[B, heads, T·(K+N), head_dim]
            if i == last:
                # only the patch tokens' outputs are read: the condition tokens end at their
                # keys/values
                patch_mask = None if mask is None else _patch_tokens(mask, T, K, dim=0)
                # patch_mask: [T·N, (t0+T)·(K+N)]
                x = block.attend(
                    _patch_tokens(x, T, K),
                    _patch_tokens(q, T, K, dim=2),
                    k,
                    v,
                    patch_mask,
                    layer_cache,
                )
            else:
                x = block.attend(x, q, k, v, mask, layer_cache)
        if cache is not None:
            cache.steps += T
        x = x.unflatten(1, (T, N))  # [B, T, N, W]
        return linear(self.predictor_norm(x), self.predictor_proj)  # [B, T, N, D_enc]

    def plain_forward(
        self,
        tokens: torch.Tensor,
        actions: torch.Tensor,
        states: torch.Tensor,
        extrinsics: torch.Tensor | None = None,
        *,
        grid: tuple[int, int],
    ) -> torch.Tensor:
        """What :meth:`forward` computes (without a cache), written without its shortcuts: embed the
        condition and frame tokens of every step, interleave them step by step, run every block on
        every token under the block-causal mask, and read the patch tokens off the last one.

        Shapes as in :meth:`forward`: ``tokens [B or 1, T, N, D_enc]``, ``actions [B, T, A]``,
        ``states [B, T, P]``, ``extrinsics [B, T, 6]`` → ``[B, T, N, D_enc]``.
        """
        cfg = self.config
        B, T = actions.shape[:2]
        N = tokens.shape[2]
        cond = [self.action_encoder(actions), self.state_encoder(states)]  # 2×[B, T, W]
        if cfg.use_extrinsics:
            cond.append(self.extrinsics_encoder(extrinsics))
        K = len(cond)
        cond = torch.stack(cond, dim=2)  # [B, T, K, W]
        frames = self.predictor_embed(tokens).expand(B, -1, -1, -1)  # [B, T, N, W]
        x = torch.cat([cond, frames], dim=2).flatten(1, 2)  # [B, T·(K+N), W]
        positions = self._positions(0, T, K, *grid, x.device).flatten(0, 1)  # [T·(K+N), 3]
        rope = RotaryTables.from_positions(positions, cfg.width // cfg.num_heads, x.dtype)
        mask = self._mask(0, T, K + N, x.device)  # [T·(K+N), T·(K+N)] or None
        for block in self.predictor_blocks:
            x = block(x, rope, mask)
        x = x.unflatten(1, (T, K + N))[:, :, K:]  # [B, T, N, W]
        return self.predictor_proj(self.predictor_norm(x))  # [B, T, N, D_enc]

    @staticmethod
    def _project_first_block(
        block: Block, cond: torch.Tensor, frames: torch.Tensor, positions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """First-block queries, keys and values ``[B, heads, T·(K+N), head_dim]`` of the condition
        tokens ``cond [B, T, K, W]`` and frame tokens ``frames [1 or B, T, N, W]``
        (``positions [T, K+N, 3]``).

        Before attention each token is processed alone, so the two groups are projected separately:
        frames shared by all samples (planning from one observation) go through LayerNorm, qkv and
        rotation once and are broadcast. Per-sample frames take the same route, so that a shared
        frame and the same frame repeated for every sample are computed alike."""
        own, seen = _project_groups(block, cond, frames, positions)
        # own: 3×[B, h, T·K, hd]; seen: 3×[1 or B, h, T·N, hd]
        return tuple(
            position_major.concat_steps([c, f], steps=cond.shape[1]) for c, f in zip(own, seen)
        )  # 3×[B, h, T·(K+N), hd] in step order

    def _positions(
        self, t0: int, T: int, K: int, rows: int, cols: int, device: torch.device
    ) -> torch.Tensor:
        """Positions ``[T, K+N, 3]``: condition tokens at (t, 0, 0); patches at
        (t, row·g/rows, col·g/cols), g = configured grid height."""
        g = self.config.grid_height
        patches = grid_positions(1, rows, cols, device=device)  # [N, 3]
        patches = patches * torch.tensor([0.0, g / rows, g / cols], device=device)
        per_step = torch.cat([torch.zeros(K, 3, device=device), patches], dim=0)  # [K+N, 3]
        steps = torch.arange(t0, t0 + T, device=device, dtype=torch.float32)  # [T]
        pos = per_step.unsqueeze(0).repeat(T, 1, 1)  # [T, K+N, 3]
        pos[..., 0] = steps[:, None]
        return pos

    def _mask(self, t0: int, T: int, per_step: int, device: torch.device) -> torch.Tensor | None:
        """Block-causal boolean mask ``[T·per_step, (t0+T)·per_step]``; None when a single step is
        processed (it may attend to everything before it and to itself)."""
        if T == 1:
            return None
        key = (t0, T, per_step, str(device))
        mask = self._masks.get(key)
        if mask is None:
            q_step = torch.arange(t0, t0 + T, device=device).repeat_interleave(per_step)
            k_step = torch.arange(t0 + T, device=device).repeat_interleave(per_step)
            mask = k_step.unsqueeze(0) <= q_step.unsqueeze(1)
            self._masks[key] = mask
        return mask


def _project_groups(
    block: Block, cond: torch.Tensor, frames: torch.Tensor, positions: torch.Tensor
) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """A block's queries, keys and values of the condition tokens ``cond [B, T, K, W]`` and, apart,
    of the frame tokens ``frames [1 or B, T, N, W]`` (``positions [T, K+N, 3]``): before attention
    each token is processed alone, so a frame shared by all samples is projected once.
    Returns ``3×[B, h, T·K, hd]`` and ``3×[1 or B, h, T·N, hd]``."""
    K, head_dim = cond.shape[2], block.attn.head_dim
    own = block.project(
        cond.flatten(1, 2),
        RotaryTables.from_positions(positions[:, :K].flatten(0, 1), head_dim, cond.dtype),
    )
    seen = block.project(
        frames.flatten(1, 2),
        RotaryTables.from_positions(positions[:, K:].flatten(0, 1), head_dim, cond.dtype),
    )
    return own, seen


def _first_block_over_shared_frame(
    block: Block,
    cond: torch.Tensor,
    frame: torch.Tensor,
    positions: torch.Tensor,
    cache: LayerCache | None,
) -> torch.Tensor:
    """The first block's output ``[B, K+N, W]`` for a sequence of one step: the condition tokens
    ``cond [B, K, W]`` of each sample and the frame tokens ``frame [1, N, W]`` that all samples
    share (``positions [K+N, 3]``); ``cache``, if given, receives the step's keys and values.

    A frame query attends to the N shared frame keys and to the sample's K condition keys. The
    shared part of its softmax (the scores ``s_ff``, their maximum ``m``, the sum ``z`` of
    ``exp(s_ff − m)`` and the weighted values ``u``) is computed once; per sample only the K scores
    on the condition keys are new, and the output is the exact softmax average

        ``(e^(m−M) u + Σ_c e^(s_fc−M) v_c) / (e^(m−M) z + Σ_c e^(s_fc−M))``,  ``M = max(m, s_fc)``.

    The output projection is linear, so it is applied to ``u`` once and to the K condition values
    per sample, and the two are mixed with the same weights. Per sample this costs O(N·K·width)
    instead of O(N·(N+K)·width + N·width²); the MLP still runs on every token of every sample.
    """
    B, K, W = cond.shape
    attn = block.attn
    heads, head_dim = attn.num_heads, attn.head_dim
    scale = head_dim**-0.5
    (q_c, k_c, v_c), (q_f, k_f, v_f) = _project_groups(
        block, cond.unsqueeze(1), frame.unsqueeze(1), positions.unsqueeze(0)
    )  # 3×[B, h, K, hd] and 3×[1, h, N, hd]
    if cache is not None:
        cache.keys = position_major.concat_steps([k_c, k_f])  # [B, h, K+N, hd]
        cache.values = position_major.concat_steps([v_c, v_f])
    weight = attn.proj.weight.view(W, heads, head_dim).transpose(0, 1)  # [h, W_out, hd]

    # condition queries: softmax over their own keys and the shared frame keys; the products with
    # the shared keys and values run once per head over all samples' queries (a product per
    # sample would first copy the shared operand B times)
    N = frame.shape[1]

    def per_head(t: torch.Tensor) -> torch.Tensor:
        """``[B, h, K, d]`` → ``[h, K·B, d]`` (a view of position-major condition tokens)."""
        return t.permute(1, 2, 0, 3).reshape(heads, K * B, t.shape[-1])

    def per_sample(t: torch.Tensor) -> torch.Tensor:
        """``[h, K·B, d]`` → ``[B, h, K, d]`` (a view)."""
        return t.view(heads, K, B, -1).permute(2, 0, 1, 3)

    s_cf = per_sample(per_head(q_c) @ k_f[0].transpose(-1, -2))  # [B, h, K, N]
    scores = torch.cat([q_c @ k_c.transpose(-1, -2), s_cf], dim=-1).mul(scale)  # [B, h, K, K+N]
    p = scores.softmax(-1)
    out_c = p[..., :K] @ v_c + per_sample(per_head(p[..., K:]) @ v_f[0])  # [B, h, K, hd]
    x_c = linear(out_c.transpose(1, 2).reshape(B, K, W), attn.proj, residual=cond)  # [B, K, W]

    # frame queries: the shared part once (scores laid out keys first, [h, keys, N]) ...
    s_ff = (k_f[0] @ q_f[0].transpose(-1, -2)).mul(scale)  # [h, N keys, N queries]
    m = s_ff.amax(1, keepdim=True)  # [h, 1, N]
    e_ff = (s_ff - m).exp()
    z = e_ff.sum(1, keepdim=True)  # [h, 1, N]
    u_proj = (e_ff.transpose(1, 2) @ v_f[0]) @ weight.transpose(1, 2)
    # u_proj: [h, N, W], the projected softmax numerator (not normalised)
    # ... then per sample the scores on its condition keys and the mixing weights
    s_fc = per_sample(per_head(k_c) @ q_f[0].transpose(-1, -2)).transpose(0, 1).mul(scale)
    # s_fc: [h, B, K, N]
    top = torch.maximum(m.unsqueeze(1), s_fc.amax(2, keepdim=True))  # [h, B, 1, N]
    w_u = (m.unsqueeze(1) - top).exp()  # [h, B, 1, N]
    w_c = (s_fc - top).exp()  # [h, B, K, N]
    norm = w_u * z.unsqueeze(1) + w_c.sum(2, keepdim=True)
    w_u, w_c = w_u / norm, w_c / norm
    v_own = per_sample(per_head(v_c) @ weight.transpose(1, 2)).reshape(B, heads * K, W)
    # v_own: [B, h·K, W], each condition value projected by its head's slice of the projection
    shared = (w_u[:, :, 0].permute(2, 1, 0) @ u_proj.transpose(0, 1)).transpose(0, 1)
    # shared: [N, B, h] @ [N, h, W] → [B, N, W]
    own = w_c.permute(1, 3, 0, 2).reshape(B, N, heads * K) @ v_own  # [B, N, W]
    x_f = frame + attn.proj.bias + shared  # [B, N, W] without the own part
    if torch.is_grad_enabled():  # autograd takes no out=
        x = torch.cat([x_c, x_f + own], dim=1)  # [B, K+N, W]
    else:  # the sum is written where the block's tokens are gathered, saving a copy of them
        x = x_c.new_empty(B, K + N, W)
        x[:, :K] = x_c
        torch.add(x_f, own, out=x[:, K:])
    return block.mlp(block.norm2(x), residual=x)


def _patch_tokens(x: torch.Tensor, T: int, K: int, dim: int = 1) -> torch.Tensor:
    """The patch tokens of a step-major token axis ``dim`` of ``T·(K+N)`` entries → ``T·N`` entries
    (a view when ``T = 1``)."""
    per_step = x.shape[dim] // T
    return x.unflatten(dim, (T, per_step)).narrow(dim + 1, K, per_step - K).flatten(dim, dim + 1)
