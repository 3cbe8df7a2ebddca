"""Integrates a stream of end-effector twists into per-step Δ actions (pure numpy).

MoveIt Servo's convention: a twist is a velocity that holds until the next one arrives, or until
``timeout`` s have passed (a silent commander means stop). The simulated arm steps at its control
rate; at each step it takes the displacement the held velocities produced since the previous step.
Rotations compose in the base frame: ``R_acc <- exp([ω] dt) R_acc``.
"""

from __future__ import annotations

import numpy as np

from .conversions import rotation_exp


class TwistIntegrator:
    """Piecewise-constant integration of (linear m/s [3], angular rad/s [3]) over time (s)."""

    def __init__(self, timeout: float) -> None:
        if not timeout > 0.0:
            raise ValueError(f"twist timeout: expected > 0 s, found {timeout!r}")
        self._timeout = float(timeout)
        self._linear = np.zeros(3)
        self._angular = np.zeros(3)
        self._expires = -np.inf
        self._cursor: float | None = None
        self._delta_xyz = np.zeros(3)
        self._delta_rot = np.eye(3)

    def _advance(self, now: float) -> None:
        if self._cursor is not None:
            dt = max(0.0, min(now, self._expires) - self._cursor)
            if dt > 0.0:
                self._delta_xyz = self._delta_xyz + self._linear * dt
                self._delta_rot = rotation_exp(self._angular * dt) @ self._delta_rot
        self._cursor = now if self._cursor is None else max(self._cursor, now)

    def add(self, linear: np.ndarray, angular: np.ndarray, now: float) -> None:
        """A twist received at ``now`` (s): it holds until the next one or ``now + timeout``."""
        linear = np.asarray(linear, dtype=np.float64)
        angular = np.asarray(angular, dtype=np.float64)
        if not (np.all(np.isfinite(linear)) and np.all(np.isfinite(angular))):
            raise ValueError(
                f"twist: expected finite values, found {linear.tolist()} {angular.tolist()}"
            )
        self._advance(now)
        self._linear, self._angular = linear, angular
        self._expires = now + self._timeout

    def stop(self, now: float) -> None:
        """Zero velocity from ``now`` on (what has been integrated so far is kept)."""
        self._advance(now)
        self._linear, self._angular = np.zeros(3), np.zeros(3)

    def take(self, now: float) -> tuple[np.ndarray, np.ndarray]:
        """Displacement since the last take: (Δxyz m [3], ΔR rotation matrix [3, 3]); then reset."""
        self._advance(now)
        delta_xyz, delta_rot = self._delta_xyz, self._delta_rot
        self._delta_xyz, self._delta_rot = np.zeros(3), np.eye(3)
        return delta_xyz, delta_rot
