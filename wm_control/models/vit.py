"""The V-JEPA 2 video ViT: tubelet Conv3d patch embedding, pre-norm RoPE blocks, final LayerNorm.

Parameter names follow Meta's release (``patch_embed.proj``, ``blocks.{i}.norm1``,
``blocks.{i}.attn.qkv``, ``blocks.{i}.attn.proj``, ``blocks.{i}.norm2``, ``blocks.{i}.mlp.fc1``,
``blocks.{i}.mlp.fc2``, ``norm``) so official checkpoints load through a plain key map.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import fused, position_major
from .config import EncoderConfig
from .linear import linear
from .rope import RotaryTables, grid_positions


SHORT_ATTENTION = 64  # key length up to which CPU attention runs as two batched matmuls


def attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, attn_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """``softmax(q kᵀ / √d) v`` ``[B, h, Lq, d]`` for ``q [B, h, Lq, d]``, ``k, v [B, h, L, d]``
    (any strides) and a boolean ``attn_mask [Lq, L]`` (True = may attend) or None.

    On many tiny sequences (the predictor's 18 tokens per step) SDPA's CPU kernel hardly gains from
    a second thread; two batched matmuls scale with threads, so short CPU sequences take them. Their
    scores are laid out keys first: CPU softmax over a short last dimension is ~1.6× slower than
    over the one before it. Long sequences and GPUs use SDPA.
    """
    if q.device.type != "cpu" or k.shape[-2] > SHORT_ATTENTION:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
    scores = k @ q.transpose(-1, -2) * q.shape[-1] ** -0.5  # [B, h, L, Lq]
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask.t(), float("-inf"))
    return scores.softmax(-2).transpose(-1, -2) @ v  # [B, h, Lq, d]


@dataclass
class LayerCache:
    """Rotated keys and values ``[B, heads, L_past, head_dim]`` of tokens already processed by one
    layer."""

    keys: torch.Tensor | None = None
    values: torch.Tensor | None = None


class RopeAttention(nn.Module):
    """Multi-head self-attention with 3D RoPE on queries and keys (see :func:`attention`)."""

    def __init__(self, width: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = width // num_heads
        self.qkv = nn.Linear(width, 3 * width, bias=True)
        self.proj = nn.Linear(width, width, bias=True)

    def project(
        self, x: torch.Tensor, rope: RotaryTables
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys (rotated) and values ``[B, heads, L, head_dim]`` of the tokens
        ``x [B, L, width]`` (position-major views for many samples in CPU inference, where two
        steps of L tokens fit the matmul attention: :mod:`.position_major`; longer sequences
        attend through SDPA, which gains nothing from that layout)."""
        if position_major.applies(x, rope, SHORT_ATTENTION):
            return position_major.project(x, self.qkv.weight, self.qkv.bias, rope, self.num_heads)
        B, L, _ = x.shape
        qkv = linear(x, self.qkv).view(B, L, 3, self.num_heads, self.head_dim)
        qk = rope.rotate(qkv[:, :, :2])  # [B, L, 2, h, hd]: queries and keys rotated in one pass
        # views [B, h, L, hd], token-major in memory (attention takes any strides)
        q, k, v = qk[:, :, 0], qk[:, :, 1], qkv[:, :, 2]  # 3×[B, L, h, hd]
        return q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)

    def mix(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        cache: LayerCache | None = None,
    ) -> torch.Tensor:
        """Attention of the queries ``q [B, heads, Lq, head_dim]`` over the keys/values
        ``k, v [B, heads, L, head_dim]`` (and the cached ones before them), the heads' outputs
        concatenated before the output projection ``proj``: ``[B, Lq, width]``. ``attn_mask``
        boolean ``[Lq, L_past + L]`` (True = may attend) or None for full attention. With a
        ``cache`` the keys/values are appended to it."""
        B, _, Lq, _ = q.shape
        if cache is not None:
            if cache.keys is not None:  # in the new keys' layout
                k = position_major.concat_steps([cache.keys, k])  # [B, h, L_past + L, hd]
                v = position_major.concat_steps([cache.values, v])
            cache.keys, cache.values = k, v
        out = attention(q, k, v, attn_mask)  # [B, h, Lq, hd]
        return out.transpose(1, 2).reshape(B, Lq, -1)


class Mlp(nn.Module):
    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)  # exact (erf) GELU between the two

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        """``fc2(gelu(fc1(x)))`` ``[..., width]``, added to ``residual`` if given."""
        return linear(linear(x, self.fc1, gelu=True), self.fc2, residual=residual)


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(norm1(x))`` then ``x + mlp(norm2(x))``."""

    def __init__(self, width: int, num_heads: int, mlp_hidden: int, norm_eps: float = 1e-6) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=norm_eps)
        self.attn = RopeAttention(width, num_heads)
        self.norm2 = nn.LayerNorm(width, eps=norm_eps)
        self.mlp = Mlp(width, mlp_hidden)
        # run the per-token halves as compiled, fused kernels (models/fused.py); set by
        # WorldModel.use_compiled_blocks
        self.compiled = False

    def forward(
        self,
        x: torch.Tensor,
        rope: RotaryTables | torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        cache: LayerCache | None = None,
    ) -> torch.Tensor:
        """x ``[B, L, width]`` → ``[B, L, width]``. ``rope``: tables from
        :meth:`RotaryTables.from_positions` (computed once for all blocks) or positions ``[L, 3]`` /
        ``[B, L, 3]``. See :meth:`RopeAttention.mix` for the mask and the cache."""
        if not isinstance(rope, RotaryTables):
            rope = RotaryTables.from_positions(rope, self.attn.head_dim, x.dtype)
        return self.attend(x, *self.project(x, rope), attn_mask, cache)

    def project(
        self, x: torch.Tensor, rope: RotaryTables
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys and values ``[B, heads, L, head_dim]`` of the tokens ``x [B, L, width]``:
        the block's first half, which sees each token alone (so tokens may be projected in separate
        groups)."""
        if self.compiled:
            return fused.project(self, x, rope)
        return self.attn.project(self.norm1(x), rope)

    def attend(
        self,
        x: torch.Tensor,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        cache: LayerCache | None = None,
    ) -> torch.Tensor:
        """The rest of the block for the tokens whose queries ``q [B, heads, Lq, head_dim]`` are
        given: their input ``x [B, Lq, width]`` → output ``[B, Lq, width]``;
        ``k, v [B, heads, L, head_dim]`` of all new tokens (Lq may be fewer than L when only some
        outputs are needed)."""
        if self.compiled:
            return fused.tail(self, x, self.attn.mix(q, k, v, attn_mask, cache))
        x = linear(self.attn.mix(q, k, v, attn_mask, cache), self.attn.proj, residual=x)
        return self.mlp(self.norm2(x), residual=x)


class PatchEmbed3D(nn.Module):
    """Conv3d with kernel = stride = (tubelet, patch, patch): video ``[B, 3, T, H, W]`` →
    ``[B, L, width]``."""

    def __init__(self, width: int, patch_size: int, tubelet_size: int) -> None:
        super().__init__()
        kernel = (tubelet_size, patch_size, patch_size)
        self.proj = nn.Conv3d(3, width, kernel_size=kernel, stride=kernel)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.proj(video).flatten(2).transpose(1, 2)  # [B, width, T', H', W'] → [B, L, width]


class VisionTransformer(nn.Module):
    """V-JEPA 2 video encoder (no absolute position table; RoPE in every block)."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.patch_embed = PatchEmbed3D(config.width, config.patch_size, config.tubelet_size)
        self.blocks = nn.ModuleList(
            Block(config.width, config.num_heads, config.mlp_hidden, config.norm_eps)
            for _ in range(config.depth)
        )
        self.norm = nn.LayerNorm(config.width, eps=config.norm_eps)
        init_vit_weights(self, self.blocks)

    def forward(self, video: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Encode a normalised video.

        Args:
            video: ``[B, 3, T, H, W]`` float, T a multiple of the tubelet size, H and W multiples of
                the patch size.
            keep: optional ``[B, K]`` long indices of the tokens to process (time-row-column order);
                the others are dropped before the first block (masked pretraining).
        Returns:
            ``[B, L, width]`` (or ``[B, K, width]``) tokens after the final LayerNorm.
        """
        cfg = self.config
        _, channels, frames, height, width = video.shape
        if (
            channels != 3
            or frames % cfg.tubelet_size
            or height % cfg.patch_size
            or width % cfg.patch_size
        ):
            raise ValueError(
                f"encoder input: expected [B, 3, T, H, W] with T a multiple of {cfg.tubelet_size} "
                f"and H, W multiples of {cfg.patch_size}, found {tuple(video.shape)}"
            )
        x = self.patch_embed(video)  # [B, L, width]
        positions = grid_positions(
            frames // cfg.tubelet_size,
            height // cfg.patch_size,
            width // cfg.patch_size,
            device=video.device,
        )  # [L, 3]
        if keep is not None:
            x = torch.gather(x, 1, keep.unsqueeze(-1).expand(-1, -1, x.shape[-1]))  # [B, K, width]
            positions = positions[keep]  # [B, K, 3]
        rope = RotaryTables.from_positions(positions, cfg.width // cfg.num_heads, x.dtype)
        for block in self.blocks:
            x = block(x, rope)
        return self.norm(x)


def init_vit_weights(model: nn.Module, blocks: nn.ModuleList, std: float = 0.02) -> None:
    """Truncated-normal linear/conv weights, zero biases, unit LayerNorms, and the output
    projections of block ``i`` (1-based) divided by ``sqrt(2 i)`` as in the reference training."""
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv3d)):
            nn.init.trunc_normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    with torch.no_grad():
        for layer_id, block in enumerate(blocks, start=1):
            block.attn.proj.weight.div_((2.0 * layer_id) ** 0.5)
            block.mlp.fc2.weight.div_((2.0 * layer_id) ** 0.5)
