"""Process-group wiring for ``torchrun`` (one process per GPU, any number of nodes) and plain runs.

``torchrun --nproc_per_node=G -m wm_control.cli.main train ...`` sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`setup` reads them, joins the group
(NCCL on CUDA, gloo on CPU) and picks this process's device. Without them the run is a single
process and nothing is initialised.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    initialised_here: bool

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        if self.initialised_here and dist.is_initialized():
            dist.destroy_process_group()


def setup(device: str | None) -> DistributedContext:
    """Join the process group described by the environment (if any) and choose the device.

    ``device``: ``None`` picks ``cuda:<local rank>`` when CUDA is present, else CPU; an explicit
    ``"cpu"`` or ``"cuda"`` is honoured (``"cuda"`` becomes ``cuda:<local rank>``).
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    wanted = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if wanted == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("device=cuda but CUDA is not available; use device=cpu")
        chosen = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(chosen)
    else:
        chosen = torch.device(wanted)
    initialised = False
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if chosen.type == "cuda" else "gloo"
        # generous timeout: the main process may build the token cache while the others wait
        dist.init_process_group(
            backend=backend, rank=rank, world_size=world_size, timeout=timedelta(hours=2)
        )
        initialised = True
    return DistributedContext(
        rank=rank,
        world_size=world_size,
        local_rank=local_rank,
        device=chosen,
        initialised_here=initialised,
    )


def single_process(device: torch.device) -> DistributedContext:
    """The context of a run that is one process on ``device`` (nothing to join or wait for)."""
    return DistributedContext(
        rank=0, world_size=1, local_rank=0, device=device, initialised_here=False
    )


def average(values: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """The mean of ``values`` over all processes (a copy; unchanged for a single process)."""
    if not context.enabled:
        return values.clone()
    out = values.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / context.world_size
