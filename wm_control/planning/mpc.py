"""Receding-horizon goal-image control: observe → encode → solve → first action → re-plan.

:class:`MPCController` wires a :class:`~wm_control.WorldModel` to a solver (CEM, iCEM, MPPI or
gradient descent; :mod:`wm_control.planning.solvers`); the same controller serves
``wm-control plan``, evaluation and the ROS planner node.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from ..energies import energy, state_energy
from ..world_model import Rollout, WorldModel
from .action_spec import ActionSpec
from .solvers import PlanResult, Solver, WarmStart, shift_warm_start
from .workspace import Workspace


@dataclass(frozen=True)
class MPCStep:
    """One control decision: ``action [A]`` to execute now, the plan ``[H, A]``, the energy of the
    plan, the lowest candidate energy per solver iteration, the wall time of encode + plan (s), and
    the observed energy: the current frame's own distance to the goal (encoder only, no imagination;
    what a done criterion can trust)."""

    action: np.ndarray
    plan: np.ndarray
    energy: float
    energies_per_iteration: list[float]
    planning_seconds: float
    observed_energy: float


class MPCController:
    """Goal-image MPC with a world model; holds the goal tokens and the warm start between steps.

    ``discount`` weights the energy of every imagined step (``None``: last step only);
    ``warm_start`` starts each plan from the previous one shifted by one step; ``workspace``: the
    box the arm's controller keeps position targets in (the state's first three entries are the
    end-effector position): the model imagines, and the controller returns, actions as the arm
    will carry them out (``None``: as planned); ``state_weight``: weight of the imagined state's
    distance to the goal's state (:func:`~wm_control.energies.state_energy`) in the energy, when a
    goal state is given with the goal image (0: the image alone, the paper's energy).
    :meth:`set_state_goal` plans toward a state alone (the image goal kept for the observed
    energy), e.g. a hand pose to reach before the goal image is pursued.
    """

    def __init__(
        self,
        model: WorldModel,
        planner: Solver,
        spec: ActionSpec,
        *,
        discount: float | None = None,
        warm_start: bool = True,
        workspace: Workspace | None = None,
        state_weight: float = 0.0,
    ) -> None:
        if model.predictor is None:
            raise ValueError(
                "MPCController: expected a world model with a predictor, found an encoder-only "
                "model"
            )
        if model.predictor.config.action_dim != spec.dim:
            raise ValueError(
                f"MPCController: the action spec has {spec.dim} dimensions but the predictor "
                f"expects {model.predictor.config.action_dim}"
            )
        self.model = model
        self.planner = planner
        self.base_spec = spec
        self.spec = spec  # base_spec with the held dimensions of hold()
        self.discount = discount
        self.use_warm_start = warm_start
        self.workspace = workspace
        if not (np.isfinite(state_weight) and state_weight >= 0):
            raise ValueError(f"MPCController: expected a state_weight >= 0, found {state_weight}")
        self.state_weight = float(state_weight)
        self._goal: torch.Tensor | None = None
        self._goal_state: torch.Tensor | None = None  # [P]
        self._state_goal: torch.Tensor | None = None  # [P], planned toward alone (set_state_goal)
        self._angular = torch.tensor(model.layout.angular_states, device=model.device)  # [P] bool
        self._warm: WarmStart | None = None

    @property
    def has_goal(self) -> bool:
        return self._goal is not None

    def reset(self) -> None:
        """Forget the warm start and restart the planner's random stream (keeps the goal)."""
        self._warm = None
        self.planner.reset()

    def hold(self, values: Mapping[str, float]) -> None:
        """Hold the named action dimensions at fixed values instead of searching them, from the
        next plan on (e.g. ``{"dgripper": 0.75}``); ``{}`` searches the full spec again. Forgets
        the warm start."""
        self.spec = self.base_spec.holding(values)
        self._warm = None

    def set_goal(
        self, image: np.ndarray | torch.Tensor, state: np.ndarray | torch.Tensor | None = None
    ) -> None:
        """Goal from a uint8 RGB image ``[H, W, 3]`` of any size, and optionally the goal's state
        ``[P]`` (used when ``state_weight > 0``)."""
        tokens = self.model.encode(image)  # [1, 1, N, D]
        if tokens.shape[:2] != (1, 1):
            raise ValueError(
                f"set_goal: expected one image [H, W, 3], found {tuple(np.shape(image))}"
            )
        self.set_goal_tokens(tokens[0, 0], state)

    def set_goal_tokens(
        self, tokens: torch.Tensor, state: np.ndarray | torch.Tensor | None = None
    ) -> None:
        """Goal from layer-normed tokens ``[N, D]`` (and optionally the goal's state ``[P]``)."""
        expected = (self.model.tokens_per_frame, self.model.token_dim)
        if tuple(tokens.shape) != expected:
            raise ValueError(
                f"set_goal_tokens: expected tokens {list(expected)}, found {list(tokens.shape)}"
            )
        if not torch.isfinite(tokens).all():
            raise ValueError(
                "set_goal_tokens: the goal embedding contains NaN or inf; check the goal image"
            )
        self._goal_state = None if state is None else self._goal_state_tensor(state)
        self._goal = tokens.to(self.model.device, self.model.dtype)
        self._state_goal = None
        self._warm = None

    def set_state_goal(self, state: np.ndarray | torch.Tensor) -> None:
        """Plan toward the state ``[P]`` alone: the energy is the imagined state's distance to it
        (:func:`~wm_control.energies.state_energy`), whatever ``state_weight``; the goal image
        and its state set before stay (the observed energy still compares the goal image), and
        :meth:`clear_state_goal` or :meth:`set_goal` returns to them. Forgets the warm start."""
        if self._goal is None:
            raise RuntimeError("MPCController.set_state_goal: set the goal image first (set_goal)")
        self._state_goal = self._goal_state_tensor(state)
        self._warm = None

    def clear_state_goal(self) -> None:
        """Plan toward the goal image (and its state) again after :meth:`set_state_goal`, without
        encoding the goal image anew. Forgets the warm start."""
        self._state_goal = None
        self._warm = None

    def _goal_state_tensor(self, state: np.ndarray | torch.Tensor) -> torch.Tensor:
        P = self.model.predictor.config.state_dim
        goal = torch.as_tensor(np.asarray(state, dtype=np.float32), device=self.model.device)
        if goal.shape != (P,) or not torch.isfinite(goal).all():
            raise ValueError(
                f"set_goal: expected a finite goal state [{P}] in the model's layout "
                f"({list(self.model.layout.state_names)}), found "
                f"{tuple(goal.shape)} {goal.tolist()}"
            )
        return goal

    def act(self, frame: np.ndarray | torch.Tensor, state: np.ndarray | torch.Tensor) -> MPCStep:
        """Plan from the current camera frame ``[H, W, 3]`` uint8 and state ``[P]``; return the
        first action. Runs under ``torch.inference_mode`` unless the solver differentiates the
        rollout."""
        with torch.inference_mode(not self.planner.differentiable):
            return self._act(frame, state)

    def _act(self, frame: np.ndarray | torch.Tensor, state: np.ndarray | torch.Tensor) -> MPCStep:
        if self._goal is None:
            raise RuntimeError("MPCController.act: no goal set; call set_goal(image) first")
        started = time.perf_counter()
        device, dtype = self.model.device, self.model.dtype
        state_t = torch.as_tensor(np.asarray(state, dtype=np.float32), device=device).to(dtype)
        if (
            state_t.shape != (self.model.predictor.config.state_dim,)
            or not torch.isfinite(state_t).all()
        ):
            raise ValueError(
                "MPCController.act: expected a finite state "
                f"[{self.model.predictor.config.state_dim}], found {tuple(state_t.shape)} "
                f"{state_t.tolist()}"
            )
        tokens0 = self.model.encode(frame)  # [1, 1, N, D]
        goal = self._goal  # this plan's goal, should set_goal be called meanwhile
        goal_state = self._goal_state if self.state_weight > 0 else None
        state_goal = self._state_goal

        def rollout_fn(actions: torch.Tensor) -> Rollout:  # [S, H, A] -> tokens [S, H, N, D]
            return self._imagine(tokens0, state_t, actions)

        def energy_fn(imagined: Rollout) -> torch.Tensor:  # -> [S]
            return self._planning_energy(imagined, goal, goal_state, state_goal)

        result: PlanResult = self.planner.plan(rollout_fn, energy_fn, self.spec, self._warm, device)
        if self.use_warm_start:
            self._warm = shift_warm_start(result, self.planner.initial(self.spec, device))
        plan = self._executed(result.actions, state_t).float().cpu().numpy()  # [H, A]
        return MPCStep(
            action=plan[0].copy(),
            plan=plan,
            energy=result.energy,
            energies_per_iteration=result.energy_per_iteration,
            planning_seconds=time.perf_counter() - started,
            observed_energy=float(
                energy(tokens0, goal)
            ),  # tokens0 [1, 1, N, D] read as [S=1, H=1, N, D]
        )

    def plan_energies(
        self,
        frame: np.ndarray | torch.Tensor,
        state: np.ndarray | torch.Tensor,
        plans: np.ndarray | torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The two terms of the planning energy of given action plans ``[S, H, A]`` from the
        frame ``[H, W, 3]`` and state ``[P]``, imagined as :meth:`act` imagines its candidates
        (one encode, one batched rollout): the image term ``[S]`` and, where the goal came with
        a state, the goal-state term ``[S]`` (unweighted; else None). For comparing plans from
        elsewhere (an expert's, say) with the planner's own."""
        imagined = self.imagine_plans(frame, state, plans)
        return self._energy_terms(imagined, self._goal, self._goal_state)

    def plan_energy(
        self,
        frame: np.ndarray | torch.Tensor,
        state: np.ndarray | torch.Tensor,
        plans: np.ndarray | torch.Tensor,
    ) -> torch.Tensor:
        """The planning energy ``[S]`` of given action plans ``[S, H, A]``, as :meth:`act` scores
        its candidates (the weighted sum of :meth:`plan_energies`' terms, or the state goal's
        distance after :meth:`set_state_goal`): for choosing among plans from elsewhere."""
        imagined = self.imagine_plans(frame, state, plans)
        goal_state = self._goal_state if self.state_weight > 0 else None
        return self._planning_energy(imagined, self._goal, goal_state, self._state_goal)

    def imagine_plans(
        self,
        frame: np.ndarray | torch.Tensor,
        state: np.ndarray | torch.Tensor,
        plans: np.ndarray | torch.Tensor,
    ) -> Rollout:
        """The rollout of given action plans ``[S, H, A]`` from the frame ``[H, W, 3]`` and state
        ``[P]`` as :meth:`act` imagines its candidates (one encode, one batched rollout, the
        actions as the arm carries them out), under ``torch.inference_mode``."""
        if self._goal is None:
            raise RuntimeError("MPCController.imagine_plans: no goal set; call set_goal first")
        device, dtype = self.model.device, self.model.dtype
        state_t = torch.as_tensor(np.asarray(state, dtype=np.float32), device=device).to(dtype)
        actions = torch.as_tensor(np.asarray(plans, dtype=np.float32), device=device)
        if actions.dim() != 3 or actions.shape[-1] != self.spec.dim:
            raise ValueError(
                f"MPCController.imagine_plans: expected plans [S, H, {self.spec.dim}], found "
                f"{tuple(actions.shape)}"
            )
        with torch.inference_mode():
            tokens0 = self.model.encode(frame)  # [1, 1, N, D]
            return self._imagine(tokens0, state_t, actions.to(dtype))

    def _executed(self, actions: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """``actions [S, H, A]`` as the arm carries them out from ``state [P]`` (the workspace
        box), or as planned without a workspace."""
        if self.workspace is None:
            return actions
        per_unit = self.model.layout.translation_per_unit  # m per action unit (DROID: 1)
        return self.workspace.executed(actions, state[:3], self.spec.names, per_unit)

    def _imagine(
        self, tokens0: torch.Tensor, state: torch.Tensor, actions: torch.Tensor
    ) -> Rollout:
        """The rollout of ``actions [S, H, A]`` as executed, from the encoded frame
        ``tokens0 [1, 1, N, D]`` and ``state [P]``: tokens ``[S, H, N, D]``, states
        ``[S, H, P]``."""
        executed = self._executed(actions, state).to(self.model.dtype)
        return self.model.rollout(tokens0, state.view(1, 1, -1), executed)

    def _planning_energy(
        self,
        imagined: Rollout,
        goal: torch.Tensor,
        goal_state: torch.Tensor | None,
        state_goal: torch.Tensor | None,
    ) -> torch.Tensor:
        """The energy ``[S]`` the solver minimises: the distance to ``state_goal`` alone where one
        is set, else the image term plus ``state_weight`` times the goal-state term."""
        if state_goal is not None:
            return state_energy(imagined.states, state_goal, self._angular, self.discount)
        image, distance = self._energy_terms(imagined, goal, goal_state)
        return image if distance is None else image + self.state_weight * distance

    def _energy_terms(
        self, imagined: Rollout, goal: torch.Tensor, goal_state: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Image term ``[S]`` (float32 or better) toward the goal tokens ``[N, D]`` and, given a
        goal state, the state term ``[S]``."""
        image = energy(imagined.tokens, goal, self.discount)
        if goal_state is None:
            return image, None
        return image, state_energy(imagined.states, goal_state, self._angular, self.discount)
