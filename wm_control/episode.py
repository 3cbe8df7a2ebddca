"""The goal-image MPC agent with its sub-goal and jaw schedules.

:class:`MPCAgent` follows the policy protocol of :mod:`envs.episode` and is played, like any other
agent, by :func:`envs.episode.run_episode` (the protocol and the runner live in ``envs`` because
the tasks' experts need them too and ``envs`` does not import ``wm_control``). Tasks are those of
``envs`` (``unwrapped.goal_images()``, ``unwrapped.goal_configurations()``, observations
``{"pixels": uint8 [H, W, 3], "state": float32 [7]}``, ``info["ee_position"]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .layouts import check_layouts, get_layout, task_layout
from .planning.action_spec import GRIPPER_DIMENSIONS, JAW_STATES, jaw_hold
from .planning.mpc import MPCController

if TYPE_CHECKING:
    from .grasp_lift import GraspLift
    from .object_locator import ObjectLocator

SCHEDULE_JAWS = (*JAW_STATES, "carry", "pick")
"""Entries of a jaw schedule: a jaw state for the planner's action box, ``"carry"`` or
``"pick"`` (both need the goal's state).

``"carry"`` holds the jaws closed while they hold something (closure >= :data:`CARRY_CLOSURE`)
and the hand is farther than :data:`CARRY_RADIUS` from the goal state's position, else searches
them. It keeps a held object in hand until it is where the goal's hand is, where a single goal
image with open jaws would otherwise have the planner let go at once.

``"pick"`` is ``"carry"`` after a grasp where the goal's jaws hold something (closure between
:data:`CARRY_CLOSURE` and :data:`PICK_EMPTY_CLOSURE`) and the hand starts with them open: the
planner first brings the open jaws above the grasp point, then down to the workspace floor
(where objects rest), closes them there, and then pursues the goal image. The grasp point is
where an :class:`~wm_control.object_locator.ObjectLocator` sees the object in the current frame,
if the agent has one. Without: under the hand where it starts low (coming down on the object,
:data:`PICK_DESCENDING`), else where the goal's hand grasped: a goal that shows an object just
lifted shows it close above where it was picked up, off by the drift of a fast lift that a
:class:`~wm_control.grasp_lift.GraspLift` fitted on the expert's data undoes (without one: under
the goal's hand). The world model's tokens place a small object too coarsely and it cannot yet
tell a grasped object from a missed one in imagination, so the grasp is placed, not searched
(:class:`GraspApproach`). With a locator, ``"pick"`` also sets a held object down where the
locator sees it in the goal image, where the goal's jaws are open and the current ones hold it
(:class:`PlaceApproach`), rather than carrying it to the goal's hand, which may have moved on."""

CARRY_CLOSURE = 0.3
"""Gripper closure (0 open .. 1 closed) from which ``"carry"`` counts the jaws as holding."""

CARRY_RADIUS = 0.02
"""Distance (m) of the hand to the goal state's position within which ``"carry"`` lets the planner
open the jaws."""

PICK_EMPTY_CLOSURE = 0.8
"""Gripper closure from which closed jaws hold nothing (OGBench's jaws stop at 0.56 on its cube
and close to 0.98 on nothing)."""

def jaws_hold(closure):
    """Whether jaws at ``closure`` (a number or an array) hold something: closed at least to
    :data:`CARRY_CLOSURE` and not as far as :data:`PICK_EMPTY_CLOSURE`, where they met nothing."""
    return (closure >= CARRY_CLOSURE) & (closure < PICK_EMPTY_CLOSURE)


PICK_HOVER = 0.05
"""Height (m) above the workspace floor at which ``"pick"`` brings the open jaws over the grasp."""

PICK_RADIUS = 0.012
"""Largest per-axis distance (m) of the hand to a ``"pick"`` waypoint that counts as there."""

PICK_DESCENDING = 0.16
"""Height (m) above the workspace floor below which open jaws at the goal's start are taken to be
coming down on the object (OGBench's oracle travels at 0.18 m and more): ``"pick"`` then grasps
under them rather than under the goal's hand, which the expert may have carried the object
toward its target since. Chosen on the pick-ups of protocol (a)'s tuning seeds 0-79."""


def goal_schedule(goals: int, steps: int, subgoal_steps: Sequence[int] | None) -> list[int]:
    """Index of the goal to pursue at each of ``steps`` steps (the last goal after the schedule)."""
    if goals == 1 or not subgoal_steps:
        return [goals - 1] * steps
    if len(subgoal_steps) != goals or any(n < 1 for n in subgoal_steps):
        raise ValueError(
            f"subgoal_steps: expected {goals} positive step counts (one per goal image), found "
            f"{list(subgoal_steps)}"
        )
    schedule = [i for i, n in enumerate(subgoal_steps) for _ in range(n)]
    return (schedule + [goals - 1] * steps)[:steps]


def check_jaw_schedule(jaws: Sequence[str], goals: int) -> list[str]:
    """A jaw schedule as a list, validated against the number of goal images."""
    jaws = list(jaws)
    if len(jaws) != goals or any(j not in SCHEDULE_JAWS for j in jaws):
        raise ValueError(
            f"subgoal_jaws: expected {goals} entries (one per goal image) from "
            f"{list(SCHEDULE_JAWS)}, found {jaws}"
        )
    return jaws


def jaw_setting(value) -> list[str] | str | None:
    """A ``subgoal_jaws`` setting (a config value or a sequence): None (the task's own),
    ``"search"``, or a list (its entries are checked against the goal images at reset)."""
    if isinstance(value, str) and value != "search":
        raise ValueError(f"subgoal_jaws: expected a list, 'search' or None, found {value!r}")
    if value is None or isinstance(value, str):
        return value
    return [str(v) for v in value]


class MPCAgent:
    """Goal-image MPC as an agent: plans toward the task's goal images (or given ones), switching
    sub-goals on the schedule (``subgoal_steps``, by default the task's own), with a fresh warm
    start for each.

    ``subgoal_jaws`` says per goal image whether the planner holds the jaws ``"open"`` or
    ``"closed"`` (Δgripper held at the spec's bound), searches Δgripper (``"search"``, the paper's
    planner) or carries what the jaws hold to the goal's hand position (``"carry"``, see
    :data:`SCHEDULE_JAWS`; it needs the goal's state). ``None``: the task's own (``subgoal_jaws``
    of the task, when its goal images are used), else search; ``"search"``: search for every
    goal.

    With the task's own goal images, the controller also gets each goal's state
    (``goal_configurations()``), which it weighs by ``planner.goal_state_weight``; given
    ``goal_images`` come without states.

    ``goals``, ``subgoal`` and ``last_energy`` (this episode's goal images, the one pursued, the
    last plan's energy) are what :func:`envs.episode.run_episode` records per step.

    ``grasp_lift``: where ``"pick"`` grasps under a goal hand that has just lifted an object
    (see :class:`GraspApproach`); None grasps under the goal's hand. ``locator``: where ``"pick"``
    grasps, seen in the frame at which the grasp starts (it takes precedence over both).
    """

    def __init__(
        self,
        env,
        controller: MPCController,
        *,
        subgoal_steps: Sequence[int] | None = None,
        subgoal_jaws: Sequence[str] | str | None = None,
        goal_images: list[np.ndarray] | None = None,
        max_steps: int = 1000,
        grasp_lift: GraspLift | None = None,
        locator: ObjectLocator | None = None,
    ) -> None:
        task = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
        check_layouts(controller.model.layout.name, task_layout(env), task=task)
        self.env, self.controller = env, controller
        self.subgoal_steps, self.fixed_goals, self.max_steps = subgoal_steps, goal_images, max_steps
        self.subgoal_jaws = jaw_setting(subgoal_jaws)
        self.grasp_lift, self.locator = grasp_lift, locator
        self.jaws: list[str] = []  # per goal image, for this episode
        self._hand, self._closure = _hand_and_closure(controller.model.layout.name)
        self._held: str | None = None  # the jaw state the controller holds ("search": none)
        self.goals: list[np.ndarray] = []
        self.goal_states: list[np.ndarray] | None = None  # [P] per goal image, when known
        self.subgoal = 0
        self.last_energy: float | None = None
        self._schedule: list[int] = []
        self._step = 0
        self._grasp: GraspApproach | PlaceApproach | None = None  # "pick"'s, if any
        self._waypoint: int | None = None  # the grasp waypoint the controller plans toward

    def reset(self, seed: int | None = None) -> None:
        task = self.env.unwrapped
        self.goals = list(self.fixed_goals) if self.fixed_goals else task.goal_images()
        self.goal_states = None
        if not self.fixed_goals:
            self.goal_states = [np.asarray(c.state, np.float32) for c in task.goal_configurations()]
            if len(self.goal_states) != len(self.goals):
                raise ValueError(
                    f"{type(task).__name__}: expected one goal configuration per goal "
                    f"image ({len(self.goals)}), found {len(self.goal_states)}"
                )
        steps = self.subgoal_steps or getattr(task, "subgoal_steps", None)
        self._schedule = goal_schedule(len(self.goals), self.max_steps, steps)
        jaws = self.subgoal_jaws
        if jaws is None and not self.fixed_goals:
            jaws = getattr(task, "subgoal_jaws", None)
        if jaws is None or jaws == "search":
            jaws = ["search"] * len(self.goals)
        self.jaws = check_jaw_schedule(jaws, len(self.goals))
        for entry in ("carry", "pick"):
            if entry in self.jaws and self.goal_states is None:
                raise ValueError(
                    f"subgoal_jaws: '{entry}' needs the goal's state (the task's own goal "
                    "images), found goal images given without states"
                )
        if "pick" in self.jaws:
            self._floor()
        self._step, self.subgoal, self.last_energy = 0, -1, None

    def __call__(self, observation: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        goal = self._schedule[min(self._step, len(self._schedule) - 1)]
        state = observation["state"]
        if goal != self.subgoal:
            goal_state = None if self.goal_states is None else self.goal_states[goal]
            self.controller.set_goal(self.goals[goal], goal_state)
            self.controller.reset()
            self.subgoal, self._held, self._waypoint = goal, None, None
            self._grasp = None
            if self.jaws[goal] == "pick" and GraspApproach.needed(state, goal_state, self._closure):
                seen = None if self.locator is None else self.locator(observation["pixels"])[:2]
                self._grasp = GraspApproach(
                    state,
                    goal_state,
                    self._hand,
                    self._closure,
                    self._floor(),
                    lift=self.grasp_lift,
                    point=seen,
                )
            elif (
                self.jaws[goal] == "pick"
                and self.locator is not None
                and PlaceApproach.needed(state, goal_state, self._closure)
            ):
                seen = self.locator(self.goals[goal])[:2]  # where the goal shows the object
                self._grasp = PlaceApproach(
                    state, goal_state, self._hand, self._closure, self._floor(), seen
                )
        jaws = self.jaws[goal]
        if jaws == "pick":
            jaws = self._pick(state, goal)
        elif jaws == "carry":
            jaws = self._carry(state, self.goal_states[goal])
        if jaws != self._held:  # a new goal, or carry's choice changed (forgets the warm start)
            spec = self.controller.base_spec
            gripper = next(n for n in GRIPPER_DIMENSIONS if n in spec.names)
            limit = spec.high[spec.names.index(gripper)]
            self.controller.hold(jaw_hold(jaws, limit, spec.names))
            self._held = jaws
        decision = self.controller.act(observation["pixels"], state)
        self._step += 1
        self.last_energy = decision.energy
        return decision.action

    def _pick(self, state: np.ndarray, goal: int) -> str:
        """``"pick"``'s jaw state for this step; points the controller at the grasp's waypoint
        while there is one, and back at the goal image once the jaws have closed."""
        step = None if self._grasp is None else self._grasp.step(state)
        if step is None:
            if self._waypoint is not None:  # the grasp is over: pursue the goal image
                self.controller.clear_state_goal()
                self._waypoint = None
            return self._carry(state, self.goal_states[goal])
        jaws, index, waypoint = step
        if index != self._waypoint:
            self.controller.set_state_goal(waypoint)
            self._waypoint = index
        return jaws

    def _floor(self) -> float:
        workspace = getattr(self.env.unwrapped, "workspace", None)
        if workspace is None:
            raise ValueError(
                "subgoal_jaws: 'pick' grasps on the workspace floor, but "
                f"{type(self.env.unwrapped).__name__} declares no workspace box"
            )
        return float(workspace[0][2])

    def _carry(self, state: np.ndarray, goal_state: np.ndarray) -> str:
        """``"carry"``'s jaw state for this step: ``"closed"`` while the jaws hold something and
        the hand is away from the goal's position, else ``"search"``."""
        holding = state[self._closure] >= CARRY_CLOSURE
        away = np.linalg.norm(state[self._hand] - goal_state[self._hand]) > CARRY_RADIUS
        return "closed" if holding and away else "search"


class _JawApproach:
    """Waypoints for the hand ``[P]`` (``waypoints``): the first ``travel_steps`` with the jaws at
    ``travel``, then one step with them at ``final`` at the last of those, then the rest with them
    at ``final``. A waypoint counts as reached within :data:`PICK_RADIUS` per axis."""

    travel, final = "open", "closed"

    def __init__(self, waypoints: list[np.ndarray], travel_steps: int, hand: list[int]) -> None:
        self.waypoints, self.travel_steps, self.hand, self.phase = waypoints, travel_steps, hand, 0

    @staticmethod
    def over_point(goal_state, hand, closure, floor, xy, jaws) -> tuple[np.ndarray, np.ndarray]:
        """The goal's state ``[P]`` with the hand :data:`PICK_HOVER` above the floor over ``xy``
        (None: the goal hand's) and the closure ``jaws``, and the same on the floor."""
        above = np.asarray(goal_state, np.float32).copy()
        if xy is not None:
            above[hand[:2]] = np.asarray(xy, np.float32)
        above[hand[2]], above[closure] = floor + PICK_HOVER, jaws
        down = above.copy()
        down[hand[2]] = floor
        return above, down

    def _far(self, state: np.ndarray, index: int) -> bool:
        return np.abs(state[self.hand] - self.waypoints[index][self.hand]).max() > PICK_RADIUS

    def step(self, state: np.ndarray) -> tuple[str, int, np.ndarray] | None:
        """This step's jaw state, waypoint index and waypoint ``[P]``; None once done."""
        last = self.travel_steps - 1
        while self.phase < self.travel_steps:
            if self._far(state, self.phase):
                return self.travel, self.phase, self.waypoints[self.phase]
            self.phase += 1
        if self.phase == self.travel_steps:  # the one step that changes the jaws
            self.phase += 1
            return self.final, last, self.waypoints[last]
        while self.phase <= len(self.waypoints):
            index = self.phase - 1
            if self._far(state, index):
                return self.final, index, self.waypoints[index]
            self.phase += 1
        return None


class GraspApproach(_JawApproach):
    """``"pick"``'s grasp before a goal whose jaws hold something: two waypoints for the open
    jaws, above the grasp point (:data:`PICK_HOVER` over the floor) and down on the workspace
    floor, at the goal's yaw; then one step closing the jaws there. The grasp point is under the
    hand of ``state`` (the goal's start) where it is lower than :data:`PICK_DESCENDING` over the
    floor, else where ``lift`` says the goal's hand grasped (None: under the goal's hand); a
    given ``point`` ([2], x and y in m: where the object was seen) replaces them all.

    ``hand``/``closure``: indices of the hand position and the gripper closure in the state.
    """

    def __init__(
        self,
        state: np.ndarray,
        goal_state: np.ndarray,
        hand: list[int],
        closure: int,
        floor: float,
        lift: GraspLift | None = None,
        point: Sequence[float] | None = None,
    ) -> None:
        if point is None and state[hand[2]] < floor + PICK_DESCENDING:  # coming down on it
            point = np.asarray(state)[hand[:2]]
        elif point is None and lift is not None:
            point = lift.grasp_point(np.asarray(goal_state)[hand])
        above, down = self.over_point(goal_state, hand, closure, floor, point, 0.0)
        super().__init__([above, down], 2, hand)

    @staticmethod
    def needed(state: np.ndarray, goal_state: np.ndarray | None, closure: int) -> bool:
        """Whether the goal's jaws hold something and the current ones are open."""
        if goal_state is None:
            return False
        return bool(jaws_hold(goal_state[closure]) and state[closure] < CARRY_CLOSURE)


class PlaceApproach(_JawApproach):
    """``"pick"``'s set-down before a goal whose jaws are open while the current ones hold
    something, given where the goal image shows the object (``point`` [2], x and y in m, seen by
    an object locator): the held object is brought above that point (:data:`PICK_HOVER` over the
    floor) and down to the workspace floor at the goal's yaw, the jaws stay closed; one step
    opens them there; then the open hand rises back above the point before the goal image is
    pursued (leaving sideways at the floor would push the object off)."""

    travel, final = "closed", "open"

    def __init__(
        self,
        state: np.ndarray,
        goal_state: np.ndarray,
        hand: list[int],
        closure: int,
        floor: float,
        point: Sequence[float],
    ) -> None:
        above, down = self.over_point(goal_state, hand, closure, floor, point, state[closure])
        rise = above.copy()
        rise[closure] = 0.0
        super().__init__([above, down, rise], 2, hand)

    @staticmethod
    def needed(state: np.ndarray, goal_state: np.ndarray | None, closure: int) -> bool:
        """Whether the current jaws hold something and the goal's are open."""
        if goal_state is None:
            return False
        return bool(jaws_hold(state[closure]) and goal_state[closure] < CARRY_CLOSURE)


def _hand_and_closure(layout: str) -> tuple[list[int], int]:
    """Indices of the hand position (x, y, z) and of the gripper closure in a layout's state."""
    names = get_layout(layout).state_names
    return [names.index(axis) for axis in ("x", "y", "z")], names.index("gripper")
