"""Stop a training run on Ctrl-C or SIGTERM without losing the updates since its last checkpoint.

A CPU run checkpoints every few thousand updates, hours apart; a Ctrl-C, a cluster's preemption
(SLURM sends SIGTERM before it kills) or a shell's ``kill`` would otherwise throw away everything
since the last one. While :class:`StopRequests` is active the first SIGINT or SIGTERM only
records the request: the loop finishes the update in hand, writes a checkpoint of it (atomic, as
every checkpoint) and raises :class:`TrainingStopped`, which the command line reports as
``interrupted`` (exit status 130) or ``terminated`` (143). A second Ctrl-C stops at once, the
newest complete checkpoint then being what ``resume=true`` continues from; a SIGTERM while the
checkpoint is written (torchrun's agent sends one to every worker when it is itself interrupted)
does not cut it short.

Under torchrun the processes may receive a signal at different updates, or only one of them may:
they agree on stopping through one all-reduce per update, so all of them stop after the same
update and meet at its checkpoint.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import torch
import torch.distributed as dist

from wm_control.training.distributed import DistributedContext

HANDLED = (signal.SIGINT, signal.SIGTERM)


class TrainingStopped(KeyboardInterrupt):
    """A run stopped on request after update ``step``, its checkpoint written to ``checkpoint``.

    A ``KeyboardInterrupt``, so code that stops on Ctrl-C stops on it too; ``signum`` is the
    signal that asked (``128 + signum`` is the exit status a shell expects)."""

    def __init__(self, signum: int, step: int, checkpoint: str) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name} after update {step}")
        self.signum, self.step, self.checkpoint = signum, step, checkpoint


class StopRequests:
    """Records SIGINT and SIGTERM while active (a context manager; the previous handlers are
    restored on exit). Outside the main thread, where Python cannot handle signals, it records
    nothing and the signals keep their usual effect."""

    def __init__(self, announce: bool = True) -> None:
        self.signum: int | None = None
        self._announce = announce
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            self._previous = {number: signal.getsignal(number) for number in HANDLED}
            for number in HANDLED:
                signal.signal(number, self._record)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def _record(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            if signum == signal.SIGINT:  # Ctrl-C again: stop now
                raise KeyboardInterrupt
            return  # a SIGTERM after a request: the checkpoint is on its way
        self.signum = signum
        if self._announce:
            print(
                f"\n{signal.Signals(signum).name}: stopping after this update and saving a "
                "checkpoint of it (Ctrl-C again stops at once)",
                file=sys.stderr,
                flush=True,
            )

    def agreed(self, ctx: DistributedContext) -> int | None:
        """The signal to stop on if any process recorded one (the same answer on every process:
        the largest signal number recorded, by an all-reduce under torchrun), else None."""
        if not ctx.enabled:
            return self.signum
        flag = torch.tensor([self.signum or 0], dtype=torch.int64)
        if dist.get_backend() == "nccl":
            flag = flag.to(ctx.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item()) or None
