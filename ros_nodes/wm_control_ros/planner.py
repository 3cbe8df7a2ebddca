"""``planner`` node: the world-model MPC controller as a ROS 2 node.

Inputs: ``camera/image_raw`` (sensor_msgs/Image), ``ee_pose`` (geometry_msgs/PoseStamped),
``gripper/state`` (std_msgs/Float64, optional), ``goal_image`` (sensor_msgs/Image, transient local).
Outputs: ``delta_twist_cmds`` (geometry_msgs/TwistStamped) or ``target_pose`` (PoseStamped),
``gripper/command`` (std_msgs/Float64), ``planner/status`` (std_msgs/String, JSON).
Services (std_srvs/Trigger): ``~/start``, ``~/pause``, ``~/stop``, ``~/capture_goal``.

Encoding and CEM run in a worker thread; subscriptions, timers, services and the watchdog run on a
MultiThreadedExecutor and are never blocked by planning. Every command goes through the safety
filter; a stale input (watchdog), an error or shutdown publishes a zero command.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Float64, String
from std_srvs.srv import Trigger

from . import params
from .node_main import run_node
from .command_output import CommandOutput
from .controller import Controller, build_controller, planning_workspace
from .conversions import ImageConversionError, image_to_array, pose_msg_to_state
from .goals import GoalError, GoalSequence, load_goal_image
from .qos import COMMAND_QOS, GOAL_QOS, SENSOR_QOS
from .planner_config import PLANNER_PARAMS, PlannerConfig
from .safety import SafeCommand, UnsafeCommandError, limit_action
from .watchdog import Watchdog


@dataclass(frozen=True)
class Observation:
    """What a control tick hands the worker: the camera ``frame``, the model's ``state`` [7]
    (pose xyz + Euler, gripper 0 open .. 1 closed) and the run ``generation`` it was taken in."""

    frame: np.ndarray
    state: np.ndarray
    generation: int


@dataclass(frozen=True)
class PlanJob:
    """Everything one planning cycle works on, fixed when the worker takes the tick's observation:
    the observation, the goal image then current (``None`` if none), its ``goal_version`` (the
    controller loads a goal only when this changed) and ``goal_index`` (which sub-goal: its jaw
    hold), and ``reset`` (clear the controller's warm start first: a new run or a new sub-goal).
    Frozen, so that the unlocked planning step cannot change what the locked steps compare."""

    frame: np.ndarray
    state: np.ndarray
    generation: int
    goal: np.ndarray | None
    goal_version: int
    goal_index: int
    reset: bool


@dataclass(frozen=True)
class HeldCommand:
    """The last published command, republished at command_rate until it expires: ``command``
    (filtered), the ``state`` it was planned from (pose mode turns the deltas into targets from
    it), ``deadline`` (time.monotonic() after which it is stale: one control period after it
    was planned) and the run ``generation`` it belongs to (a halt or restart makes it stale)."""

    command: SafeCommand
    state: np.ndarray
    deadline: float
    generation: int

    def is_live(self, generation: int, now: float) -> bool:
        """Whether it may still be sent: planned in the current run and not expired."""
        return self.generation == generation and now < self.deadline


class PlannerNode(Node):
    """See the module docstring. ``controller_factory`` builds the controller from the config;
    ``watchdog_clock`` is the steady clock the input ages are measured on (tests step it by hand).

    Threads: the executor's callbacks and the planning worker share the node through ``_lock``
    (re-entrant). It protects the inputs (``_frame``, ``_pose``, ``_pose_frame``, ``_gripper``,
    ``_gripper_assumed``, the watchdog), the run state (``_state``, ``_reason``, ``_generation``,
    ``_autostart_pending``, ``_reset_pending``, ``_goals``), the command (``_held`` and every
    send on ``_output``, so that no command of a halted run follows its zero), the reports
    (``_counters``, ``_last_step``), the hand-over (``_in_flight``, ``_closing``) and the swap of
    ``config`` with ``_limits`` (``config`` alone is read without it: it is replaced whole). The
    controller and what it was configured with (``_planned_box``, ``_loaded_goal_version``)
    belong to the worker alone and are used without the lock, so planning never blocks the
    executor."""

    def __init__(
        self,
        *,
        node_name: str = "planner",
        parameter_overrides: dict[str, Any] | None = None,
        controller_factory: Callable[[PlannerConfig], Controller] = build_controller,
        watchdog_clock: Callable[[], float] = time.monotonic,
        **node_kwargs: Any,
    ) -> None:
        super().__init__(node_name, **node_kwargs)
        try:
            self._build(parameter_overrides, controller_factory, watchdog_clock)
        except BaseException:
            # Half built: no worker and no command yet. The base class's destroy_node releases the
            # ROS entities, so the context's shutdown does not destroy this node a second time.
            Node.destroy_node(self)
            raise

    def _build(
        self,
        parameter_overrides: dict[str, Any] | None,
        controller_factory: Callable[[PlannerConfig], Controller],
        watchdog_clock: Callable[[], float],
    ) -> None:
        params.declare(self, PLANNER_PARAMS, parameter_overrides)
        self.config: PlannerConfig = params.read_config(self, PlannerConfig, PLANNER_PARAMS)
        self._limits = self.config.safety_limits()
        self._lock = threading.RLock()
        self._goals = GoalSequence()
        if self.config.goal_files:
            self._goals.replace([load_goal_image(path) for path in self.config.goal_files])
        self._controller = controller_factory(self.config)
        self._watchdog = Watchdog(("camera", "pose"), self.config.watchdog_timeout, watchdog_clock)
        self._frame: np.ndarray | None = None
        self._pose: np.ndarray | None = None  # [6] xyz + Euler
        # time.monotonic() at which the last camera frame and pose arrived
        self._received = {"camera": -np.inf, "pose": -np.inf}
        self._pose_frame = ""
        self._gripper: float | None = None
        self._gripper_assumed = False  # planned without a gripper/state message (assumed open)
        self._state = "stopped"
        self._reason = "waiting for start" if not self.config.autostart else "autostart"
        self._autostart_pending = self.config.autostart
        self._generation = 0
        self._held: HeldCommand | None = None
        self._last_command_end = (-1, 0.0)  # (run generation, time.monotonic() it ended)
        self._counters = {"step": 0, "overruns": 0, "rejected_commands": 0, "rejected_goals": 0}
        self._last_step: dict[str, Any] = {}
        self._reset_pending = True
        self._loaded_goal_version = -1
        self._planned_box = (
            self.config.workspace_min,
            self.config.workspace_max,
        )  # the controller's

        self._output = CommandOutput(self, self.config.command_mode, self.config.publish_gripper)
        self._status_pub = self.create_publisher(String, "planner/status", COMMAND_QOS)

        # Inputs, services and timers: each group runs concurrently with the others.
        inputs = MutuallyExclusiveCallbackGroup()
        self.create_subscription(
            Image, "camera/image_raw", self._on_image, SENSOR_QOS, callback_group=inputs
        )
        self.create_subscription(
            PoseStamped, "ee_pose", self._on_pose, SENSOR_QOS, callback_group=inputs
        )
        self.create_subscription(
            Float64, "gripper/state", self._on_gripper, SENSOR_QOS, callback_group=inputs
        )
        self.create_subscription(
            Image,
            "goal_image",
            self._on_goal_image,
            GOAL_QOS,
            callback_group=MutuallyExclusiveCallbackGroup(),
        )
        services = MutuallyExclusiveCallbackGroup()
        for name, handler in (
            ("~/start", self._srv_start),
            ("~/pause", self._srv_pause),
            ("~/stop", self._srv_stop),
            ("~/capture_goal", self._srv_capture_goal),
        ):
            self.create_service(Trigger, name, handler, callback_group=services)
        safety = MutuallyExclusiveCallbackGroup()
        self.create_timer(
            min(0.05, self.config.watchdog_timeout / 4.0),
            self._check_watchdog,
            callback_group=safety,
        )
        self.create_timer(1.0 / self.config.command_rate, self._publish_held, callback_group=safety)
        self.create_timer(
            self.config.control_period, self._tick, callback_group=MutuallyExclusiveCallbackGroup()
        )
        self.create_timer(
            0.5, self._publish_status, callback_group=MutuallyExclusiveCallbackGroup()
        )
        self.add_on_set_parameters_callback(self._on_set_parameters)

        # set by a tick, cleared when the worker finished planning it: a tick that finds it set
        # counts an overrun instead of queueing a second observation
        self._in_flight: Observation | None = None
        self._job_ready = threading.Condition(self._lock)
        self._closing = False
        self._worker = threading.Thread(target=self._work, name="planner-worker", daemon=True)
        self._worker.start()

    # ------------------------------------------------------------------ inputs
    def _on_image(self, msg: Image) -> None:
        try:
            frame = image_to_array(msg)
        except ImageConversionError as error:
            self.get_logger().error(f"camera image rejected: {error}", throttle_duration_sec=2.0)
            return
        with self._lock:
            self._frame = frame
            self._received["camera"] = time.monotonic()
            self._watchdog.feed("camera")

    def _on_pose(self, msg: PoseStamped) -> None:
        frame_id = msg.header.frame_id
        if self.config.command_frame and frame_id and frame_id != self.config.command_frame:
            self.get_logger().error(
                f"ee_pose rejected: expected frame_id {self.config.command_frame!r} "
                f"(command_frame), found {frame_id!r}",
                throttle_duration_sec=2.0,
            )
            return
        try:
            pose = pose_msg_to_state(msg, 0.0)[:6]
        except ValueError as error:
            self.get_logger().error(f"ee_pose rejected: {error}", throttle_duration_sec=2.0)
            return
        if not np.all(np.isfinite(pose)):
            self.get_logger().error(
                f"ee_pose rejected: non-finite {pose.tolist()}", throttle_duration_sec=2.0
            )
            return
        with self._lock:
            self._pose, self._pose_frame = pose, frame_id
            self._received["pose"] = time.monotonic()
            self._watchdog.feed("pose")

    def _on_gripper(self, msg: Float64) -> None:
        if np.isfinite(msg.data):
            with self._lock:
                self._gripper = float(np.clip(msg.data, 0.0, 1.0))

    def _on_goal_image(self, msg: Image) -> None:
        try:
            goal = image_to_array(msg)
        except ImageConversionError as error:
            with self._lock:
                self._counters["rejected_goals"] += 1
            self.get_logger().error(f"goal image rejected: {error}")
            self._publish_status(event=f"goal rejected: {error}")
            return
        with self._lock:
            self._goals.replace([goal])
        self.get_logger().info(f"new goal image {goal.shape[1]}x{goal.shape[0]} from goal_image")
        self._publish_status(event="goal set from goal_image")

    def _on_set_parameters(self, parameters: list[Any]) -> Any:
        result, config = params.validate_update(self, PlannerConfig, PLANNER_PARAMS, parameters)
        if config is None:
            return result
        goals = None
        if any(p.name == "goal_image_paths" for p in parameters) and config.goal_files:
            try:
                goals = [load_goal_image(path) for path in config.goal_files]
            except GoalError as error:
                result.successful, result.reason = False, str(error)
                return result
        with self._lock:
            self.config, self._limits = config, config.safety_limits()
            if goals is not None:
                self._goals.replace(goals)
        return result

    # ------------------------------------------------------------------ state machine
    def _fresh_reason(self) -> str:
        """'' when camera and pose are fresh, else why not (caller holds the lock)."""
        return self._watchdog.describe_stale()

    def _halt(self, state: str, reason: str) -> None:
        """Zero command, new state (caller holds the lock)."""
        self._generation += 1
        self._held = None
        self._state, self._reason = state, reason
        self._publish_zero()
        if state in ("paused", "error"):
            self.get_logger().warning(f"{state}: {reason}")

    def _start(self) -> tuple[bool, str]:
        with self._lock:
            if self._goals.current is None:
                return (
                    False,
                    "no goal: publish goal_image, set goal_image_paths or call capture_goal",
                )
            stale = self._fresh_reason()
            if stale:
                return False, f"inputs not fresh: {stale}"
            if self._state != "running":
                if self._state in ("stopped", "done"):
                    self._goals.restart()
                self._generation += 1
                self._state, self._reason = "running", "started"
                self._reset_pending = True
            return True, "running"

    def _srv_start(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        response.success, response.message = self._start()
        self._publish_status(event=f"start: {response.message}")
        return response

    def _srv_pause(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        with self._lock:
            self._halt("paused", "pause requested")
        response.success, response.message = True, "paused"
        self._publish_status(event="pause")
        return response

    def _srv_stop(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        with self._lock:
            self._halt("stopped", "stop requested")
            self._goals.restart()
        response.success, response.message = True, "stopped"
        self._publish_status(event="stop")
        return response

    def _srv_capture_goal(
        self, request: Trigger.Request, response: Trigger.Response
    ) -> Trigger.Response:
        with self._lock:
            if self._frame is None or "camera" in self._watchdog.stale():
                response.success, response.message = False, "no fresh camera image to capture"
            else:
                self._goals.replace([self._frame.copy()])
                response.success, response.message = True, "goal set from the current camera image"
        self._publish_status(event=f"capture_goal: {response.message}")
        return response

    def _check_watchdog(self) -> None:
        with self._lock:
            stale = self._fresh_reason()
            if self._state == "running" and stale:
                self._halt("paused", f"watchdog: {stale}")
                self._publish_status(event="watchdog")
            elif self._autostart_pending and not stale and self._goals.current is not None:
                self._autostart_pending = False
                self._start()
                self._publish_status(event="autostart")

    # ------------------------------------------------------------------ planning
    def _tick(self) -> None:
        """Each control period: hand the worker the latest observation, unless it is still busy
        or (``wait_for_outcome``) the inputs do not yet show the last command's outcome."""
        with self._lock:
            if self._state != "running" or self._frame is None or self._pose is None:
                return
            if self._in_flight is not None:
                self._counters["overruns"] += 1
                return
            if self.config.wait_for_outcome and not self._outcome_observed():
                return
            if self._gripper is None:
                # No gripper/state (yet): the model's state needs one, and an open gripper is the
                # documented assumption; said once, and in every status message.
                if not self._gripper_assumed:
                    self._gripper_assumed = True
                    self.get_logger().warning(
                        "no gripper/state received: planning with the gripper assumed open (0.0); "
                        "publish gripper/state (0 open .. 1 closed)"
                    )
                gripper = 0.0
            else:
                gripper = self._gripper
            state = np.concatenate([self._pose, [gripper]]).astype(np.float32)
            self._in_flight = Observation(self._frame, state, self._generation)
            self._job_ready.notify()

    def _outcome_observed(self) -> bool:
        """Whether the camera frame and the pose arrived after the last command of this run ended
        (caller holds the lock). The model imagines each action from an observation taken before
        it and the next one after it; a plan from inputs taken while the last command still moved
        the arm (when planning takes longer than a control period, even before it moved at all)
        would repeat that command's correction, and the arm would overshoot and oscillate."""
        generation, end = self._last_command_end
        if generation != self._generation:
            return True
        return min(self._received.values()) >= end

    def _work(self) -> None:
        """The worker thread: one planning cycle per observation until the node closes. A failure
        of the current run halts it in "error" (zero command); one of a superseded run is only
        logged and reported, since a halt or restart already stopped what it planned for."""
        while True:
            with self._lock:
                while self._in_flight is None and not self._closing:
                    self._job_ready.wait()
                if self._closing:
                    return
                job = self._take_job(self._in_flight)  # type: ignore[arg-type]
            try:
                self._plan_once(job)
            except Exception as error:  # noqa: BLE001 - any planning failure must stop the arm
                with self._lock:
                    if job.generation == self._generation:
                        self._halt("error", f"planning failed: {type(error).__name__}: {error}")
                self.get_logger().error(f"planning failed: {error!r}")
                self._publish_status(event="error")
            finally:
                with self._lock:
                    self._in_flight = None

    def _take_job(self, observation: Observation) -> PlanJob:
        """The cycle for ``observation`` with the goal now current; consumes a pending reset
        (caller holds the lock, so goal, version, index and reset are one consistent snapshot)."""
        reset, self._reset_pending = self._reset_pending, False
        return PlanJob(
            observation.frame,
            observation.state,
            observation.generation,
            self._goals.current,
            self._goals.version,
            self._goals.index,
            reset,
        )

    def _plan_once(self, job: PlanJob) -> None:
        """One planning cycle: configure the controller and plan without the lock (inputs, timers
        and the watchdog go on meanwhile); then, under the lock, drop the plan if the run changed
        or went stale meanwhile, else filter it, publish it and advance the goal schedule."""
        self._prepare_controller(job)
        step = self._controller.act(job.frame, job.state)
        with self._lock:
            if not self._still_current(job):
                return  # paused, stopped or stale while planning: the plan is dropped
            command = self._filter(step, job)
            if command is None:
                return
            self._publish_command(command, job)
            self._record_step(step, command)
            self._advance_goals(self._last_step["observed_energy"])
        self._publish_status()

    def _prepare_controller(self, job: PlanJob) -> None:
        """Bring the controller up to date before planning (worker only, no lock): clear its warm
        start on ``job.reset``, apply a workspace set at run time, load a goal it has not seen
        with that sub-goal's jaw hold."""
        if job.reset:
            self._controller.reset()
        config = self.config
        box = (config.workspace_min, config.workspace_max)
        if box != self._planned_box:  # changed at run time
            self._controller.workspace = planning_workspace(config)
            self._planned_box = box
        if job.goal is not None and job.goal_version != self._loaded_goal_version:
            self._controller.set_goal(job.goal)
            self._controller.hold(self.config.jaw_hold(job.goal_index))
            self._loaded_goal_version = job.goal_version

    def _still_current(self, job: PlanJob) -> bool:
        """Whether the plan may still be used: same run, still running, inputs still fresh
        (caller holds the lock)."""
        return (
            job.generation == self._generation
            and self._state == "running"
            and not self._fresh_reason()
        )

    def _filter(self, step: Any, job: PlanJob) -> SafeCommand | None:
        """The planned action through the safety filter, or ``None`` if it was unsafe: then it is
        counted and the run paused with a zero command (caller holds the lock)."""
        try:
            return limit_action(
                np.asarray(step.action), job.state, self.config.control_period, self._limits
            )
        except UnsafeCommandError as error:
            self._counters["rejected_commands"] += 1
            self._halt("paused", f"unsafe command rejected: {error}")
            self._publish_status(event="unsafe command")
            return None

    def _publish_command(self, command: SafeCommand, job: PlanJob) -> None:
        """Send the command and hold it for one control period, so that _publish_held repeats it
        until the next plan or its deadline (caller holds the lock)."""
        self._held = HeldCommand(
            command, job.state, time.monotonic() + self.config.control_period, job.generation
        )
        self._last_command_end = (job.generation, self._held.deadline)
        self._output.send(command, job.state, self._frame_id())
        self._output.send_gripper(command)

    def _record_step(self, step: Any, command: SafeCommand) -> None:
        """Count the step and keep what the status reports of it (caller holds the lock)."""
        self._counters["step"] += 1
        self._last_step = {
            "energy": float(step.energy),
            "planning_seconds": float(step.planning_seconds),
            "limited": list(command.limited),
            "linear_velocity": command.linear_velocity.tolist(),
            "angular_velocity": command.angular_velocity.tolist(),
            "gripper_target": command.gripper_target,
        }
        self._last_step["observed_energy"] = float(step.observed_energy)

    def _advance_goals(self, observed: float) -> None:
        """Count the step on the current goal: a next sub-goal restarts the warm start; the final
        goal reached halts in "done" with a zero command (caller holds the lock)."""
        outcome = self._goals.after_step(
            observed,
            self.config.subgoal_steps,
            self.config.subgoal_energy_threshold,
            self.config.subgoal_energy_steps,
        )
        if outcome == "next":
            self._reset_pending = True
        elif outcome == "done":
            self._halt("done", f"final goal reached ({self._done_criterion(observed)})")
            self.get_logger().info(f"done: {self._reason}; holding still until start is called")

    def _done_criterion(self, observed: float) -> str:
        config = self.config
        if (
            config.subgoal_energy_threshold > 0.0
            and self._goals.steps_below >= config.subgoal_energy_steps
        ):
            return (
                f"observed energy {observed:.4f} < {config.subgoal_energy_threshold} for "
                f"{self._goals.steps_below} steps"
            )
        return f"{self._goals.steps_on_goal} steps on the last goal (subgoal_steps)"

    # ------------------------------------------------------------------ outputs
    def _frame_id(self) -> str:
        return self.config.command_frame or self._pose_frame

    def _publish_zero(self) -> None:
        self._output.send_zero(self._pose, self._limits, self._frame_id())

    def _publish_held(self) -> None:
        """Republish the current command at command_rate; zero once it expired."""
        with self._lock:
            if self._state != "running":
                return
            held = self._held
            if held is not None and held.is_live(self._generation, time.monotonic()):
                self._output.send(held.command, held.state, self._frame_id())
            else:
                self._held = None
                self._publish_zero()

    def _publish_status(self, event: str = "") -> None:
        with self._lock:
            status = {
                "state": self._state,
                "reason": self._reason,
                "event": event,
                "goal_index": self._goals.index,
                "num_goals": len(self._goals.images),
                "gripper_state": (
                    "measured"
                    if self._gripper is not None
                    else "assumed open (no gripper/state)"
                    if self._gripper_assumed
                    else "none yet"
                ),
                "input_ages": {
                    k: (None if v == float("inf") else round(v, 3))
                    for k, v in self._watchdog.ages().items()
                },
                **self._counters,
                **self._last_step,
            }
            self._status_pub.publish(String(data=json.dumps(status)))

    # ------------------------------------------------------------------ shutdown
    def close(self, reason: str = "shutdown") -> None:
        """Zero command (delivered before returning, up to 1 s), stop the worker. Idempotent."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._job_ready.notify_all()
            if self.context.ok():
                self._halt("stopped", reason)
                self._output.wait_delivered(1.0)
        self._worker.join(timeout=5.0)

    def destroy_node(self) -> None:
        """Zero command first (see close), then the ROS entities."""
        self.close()
        super().destroy_node()


GIL_SWITCH_INTERVAL = 0.0005
"""s; Python's default is 0.005. The planning worker gives up the GIL in every torch operation and
must win it back afterwards; while the executor threads run Python, each return waited up to the
whole interval. Measured in ``python launch/sim_launch.py`` on 2 cores (60 s each): the largest
camera/pose age seen by the node fell from 0.84 s to 0.08 s (the 0.5 s watchdog had paused the arm)
and planning with one torch thread from p90 1.57 s / max 4.13 s to 0.48 s / 0.67 s."""


def configure_process() -> None:
    """Process-wide settings of the planner node: planning buffers stay in the heap (see
    ``wm_control.runtime``) and the worker gets the GIL back quickly (``GIL_SWITCH_INTERVAL``)."""
    from wm_control.runtime import tune_cpu_allocator

    tune_cpu_allocator()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)


def main(args: list[str] | None = None) -> None:
    """Entry point of ``ros2 run wm_control_ros planner`` and ``wm-planner``."""
    configure_process()
    run_node(PlannerNode, lambda: MultiThreadedExecutor(num_threads=4), args)


if __name__ == "__main__":
    main()
