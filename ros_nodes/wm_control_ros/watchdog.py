"""Freshness watchdog on a steady (monotonic) clock.

Each input stream (``camera``, ``pose``, ...) is fed when a message arrives; a stream is stale when
it never arrived or its last message is older than the timeout. Receive times are taken on the
local steady clock, never from message stamps (a robot's clock may differ from ours and wall time
can jump).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable


class Watchdog:
    """Tracks the age of named input streams.

    timeout: largest allowed age in s (> 0). clock: a monotonic clock in s (``time.monotonic``).
    """

    def __init__(
        self, streams: Iterable[str], timeout: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not timeout > 0.0:
            raise ValueError(f"watchdog timeout: expected > 0 s, found {timeout!r}")
        self._timeout = float(timeout)
        self._clock = clock
        self._last: dict[str, float | None] = {name: None for name in streams}
        if not self._last:
            raise ValueError("watchdog streams: expected at least one stream name, found none")

    @property
    def timeout(self) -> float:
        return self._timeout

    def feed(self, stream: str) -> None:
        """Record that ``stream`` delivered a message now."""
        if stream not in self._last:
            raise KeyError(
                f"watchdog stream: expected one of {sorted(self._last)}, found {stream!r}"
            )
        self._last[stream] = self._clock()

    def ages(self) -> dict[str, float]:
        """Age in s of each stream's last message (``inf`` if none arrived yet)."""
        now = self._clock()
        return {name: (float("inf") if t is None else now - t) for name, t in self._last.items()}

    def stale(self) -> dict[str, float]:
        """The streams older than the timeout, with their ages (empty when everything is fresh)."""
        return {name: age for name, age in self.ages().items() if age > self._timeout}

    def describe_stale(self) -> str:
        """Human-readable reason, e.g. ``"no camera for 0.41 s (timeout 0.30 s)"``."""
        parts = [
            f"no {name} {'yet' if age == float('inf') else f'for {age:.2f} s'}"
            for name, age in self.stale().items()
        ]
        return f"{', '.join(parts)} (timeout {self._timeout:.2f} s)" if parts else ""
