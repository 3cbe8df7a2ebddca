"""Parameters of the ``planner`` node: declarations (with descriptions) and validation.

The planning parameters (``solver``, ``cem_samples``, ``cem_iterations``, ``cem_elites``,
``horizon``, ``seed``, ``max_step``, ``gripper_limit``, ``search_yaw``, ``max_rotation``) map onto
``wm_control``'s planner config (:meth:`PlannerConfig.planning`), the one
``wm-control plan``/``eval``/``landscape`` use; it validates them, and its errors name the node's
parameters."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .params import ParamSpec
from .safety import SafetyLimits

COMMAND_MODES = ("twist", "pose")

PLANNING_FIELDS = {
    "solver": "solver",
    "cem_samples": "samples",
    "cem_iterations": "iterations",
    "cem_elites": "elites",
    "horizon": "horizon",
    "seed": "seed",
    "max_step": "max_step",
    "gripper_limit": "gripper_limit",
    "search_yaw": "search_yaw",
    "max_rotation": "max_rotation",
}
"""Node parameter → field of wm_control's planner config."""

PLANNER_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "checkpoint",
        "str",
        "",
        "World model checkpoint: a wm-control checkpoint directory or "
        ".safetensors file, a Meta .pt file or a Hugging Face directory.",
        read_only=True,
    ),
    ParamSpec(
        "device",
        "str",
        "",
        "Torch device for the world model ('' = cuda when available, else cpu).",
        read_only=True,
    ),
    ParamSpec(
        "torch_threads",
        "int",
        0,
        "CPU threads of torch (0 = one per physical core, as wm-control's "
        "threads=null). 1 is fastest for small models on busy CPUs.",
        0,
        1024,
        read_only=True,
    ),
    ParamSpec(
        "compile_model",
        "bool",
        False,
        "Run the world model's predictor blocks as compiled, fused kernels (wm-control's "
        "model.compile): about 1.2x faster planning on a GPU after a warm-up of about 10 s at "
        "the first plan; no faster on CPUs.",
        read_only=True,
    ),
    ParamSpec(
        "solver",
        "str",
        "icem",
        "Planning solver: cem (Meta's), icem, mppi or gd (wm-control's "
        "planner.solver). The defaults are wm-control's default planner "
        "(configs/planner/fast.yaml).",
        read_only=True,
    ),
    ParamSpec(
        "cem_samples",
        "int",
        80,
        "Samples per solver iteration (planner.samples; gd: starts).",
        1,
        100000,
        read_only=True,
    ),
    ParamSpec(
        "cem_iterations",
        "int",
        5,
        "Solver iterations per control step (planner.iterations; gd: Adam steps).",
        1,
        1000,
        read_only=True,
    ),
    ParamSpec(
        "cem_elites",
        "int",
        10,
        "Elites refitted per iteration, cem and icem (planner.elites; 2 .. cem_samples).",
        2,
        100000,
        read_only=True,
    ),
    ParamSpec("horizon", "int", 1, "Planning horizon in control steps.", 1, 100, read_only=True),
    ParamSpec("seed", "int", 0, "Random seed of the solver.", 0, 2**31 - 1, read_only=True),
    ParamSpec(
        "max_step",
        "float",
        0.075,
        "Largest planned translation per step and axis (m).",
        1e-4,
        1.0,
        read_only=True,
    ),
    ParamSpec(
        "gripper_limit",
        "float",
        0.75,
        "Largest planned gripper change per step.",
        0.0,
        1.0,
        read_only=True,
    ),
    ParamSpec(
        "search_yaw",
        "bool",
        True,
        "Plan the hand's yaw too (within +/-max_rotation), e.g. to turn the jaws to an "
        "object's faces; false keeps the orientation (Meta's planner).",
        read_only=True,
    ),
    ParamSpec(
        "max_rotation",
        "float",
        0.2,
        "Largest planned yaw change per step (rad), when search_yaw is true.",
        1e-4,
        3.14,
        read_only=True,
    ),
    ParamSpec(
        "control_rate",
        "float",
        4.0,
        "Planning/control rate (Hz); one planned action per period.",
        0.1,
        100.0,
        read_only=True,
    ),
    ParamSpec(
        "command_rate",
        "float",
        30.0,
        "Rate (Hz) at which the current command is republished "
        "(MoveIt Servo stops when commands stop).",
        1.0,
        1000.0,
        read_only=True,
    ),
    ParamSpec(
        "command_mode",
        "str",
        "twist",
        "'twist': TwistStamped on delta_twist_cmds; 'pose': PoseStamped target on target_pose.",
        read_only=True,
    ),
    ParamSpec(
        "command_frame",
        "str",
        "",
        "frame_id stamped on commands; must be the frame of ee_pose "
        "(the planner's velocities are expressed in it). '' = use ee_pose's frame_id.",
        read_only=True,
    ),
    ParamSpec(
        "publish_gripper",
        "bool",
        True,
        "Publish the planned gripper target on gripper/command.",
        read_only=True,
    ),
    ParamSpec(
        "workspace_min",
        "float_array",
        (0.2, -0.5, 0.0),
        "Lower corner of the allowed end-effector box [x, y, z] (m, command frame).",
    ),
    ParamSpec(
        "workspace_max",
        "float_array",
        (0.9, 0.5, 0.7),
        "Upper corner of the allowed end-effector box [x, y, z] (m, command frame).",
    ),
    ParamSpec("max_linear_speed", "float", 0.2, "Largest commanded linear speed (m/s).", 1e-4, 5.0),
    ParamSpec(
        "max_angular_speed", "float", 0.8, "Largest commanded angular speed (rad/s).", 1e-4, 10.0
    ),
    ParamSpec(
        "max_step_translation",
        "float",
        0.05,
        "Largest commanded translation per control step (m).",
        1e-5,
        1.0,
    ),
    ParamSpec(
        "max_step_rotation",
        "float",
        0.2,
        "Largest commanded rotation per control step (rad).",
        1e-5,
        3.14,
    ),
    ParamSpec(
        "max_gripper_step",
        "float",
        1.0,
        "Largest gripper change per control step (0..1).",
        1e-3,
        1.0,
    ),
    ParamSpec(
        "watchdog_timeout",
        "float",
        0.3,
        "Pause (zero velocity) when no camera image or pose arrived "
        "for this long (s, steady clock).",
        0.01,
        10.0,
        read_only=True,
    ),
    ParamSpec(
        "goal_image_paths",
        "str_array",
        ("",),
        "Goal image files (PNG/JPEG); several = a sub-goal "
        "sequence (e.g. grasp, lift, place). [''] = no file goal.",
    ),
    ParamSpec(
        "subgoal_steps",
        "int",
        0,
        "Control steps per sub-goal before moving to the next (0 = no step limit).",
        0,
        100000,
    ),
    ParamSpec(
        "subgoal_jaws",
        "str_array",
        ("",),
        "Jaws per sub-goal: open or closed (the gripper action "
        "held at -/+gripper_limit instead of planned) or search (planned); [''] or entries past "
        "the list = search.",
    ),
    ParamSpec(
        "subgoal_energy_threshold",
        "float",
        0.0,
        "A sub-goal is reached when the observed energy "
        "(the camera frame's distance to the goal image, status field observed_energy) stays below "
        "this for subgoal_energy_steps control steps: the next sub-goal starts, or after the last "
        "one the planner is done (zero command, state 'done'). 0 = never by energy.",
        0.0,
        1e6,
    ),
    ParamSpec(
        "subgoal_energy_steps",
        "int",
        2,
        "Consecutive control steps below "
        "subgoal_energy_threshold that count as reaching a sub-goal.",
        1,
        1000,
    ),
    ParamSpec(
        "wait_for_outcome",
        "bool",
        True,
        "Plan only on a camera image and a pose received after the last command ended, so that "
        "each plan sees the outcome of the action before it (the model's training data); false "
        "plans on the latest inputs at every control tick while the arm still moves.",
        read_only=True,
    ),
    ParamSpec(
        "autostart",
        "bool",
        False,
        "Start planning as soon as a goal, an image and a pose are "
        "available (once; after a pause or stop, only the start service resumes).",
        read_only=True,
    ),
)


@dataclass(frozen=True)
class PlannerConfig:
    """Validated planner parameters (see PLANNER_PARAMS for their meaning)."""

    checkpoint: str
    device: str
    torch_threads: int
    compile_model: bool
    solver: str
    cem_samples: int
    cem_iterations: int
    cem_elites: int
    horizon: int
    seed: int
    max_step: float
    gripper_limit: float
    search_yaw: bool
    max_rotation: float
    control_rate: float
    command_rate: float
    command_mode: str
    command_frame: str
    publish_gripper: bool
    workspace_min: tuple[float, ...]
    workspace_max: tuple[float, ...]
    max_linear_speed: float
    max_angular_speed: float
    max_step_translation: float
    max_step_rotation: float
    max_gripper_step: float
    watchdog_timeout: float
    goal_image_paths: tuple[str, ...]
    subgoal_steps: int
    subgoal_jaws: tuple[str, ...]
    subgoal_energy_threshold: float
    subgoal_energy_steps: int
    wait_for_outcome: bool
    autostart: bool

    def __post_init__(self) -> None:
        self.planning()
        if self.command_mode not in COMMAND_MODES:
            raise ValueError(
                f"command_mode: expected one of {COMMAND_MODES}, found {self.command_mode!r}"
            )
        for name in ("control_rate", "command_rate", "watchdog_timeout", "max_step"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name}: expected a finite number > 0, found {value!r}")
        if self.command_rate < self.control_rate:
            raise ValueError(
                f"command_rate: expected >= control_rate ({self.control_rate} Hz), found "
                f"{self.command_rate}"
            )
        from wm_control.planning.action_spec import (
            JAW_STATES,
        )  # torch: imported when a node is configured

        bad = [j for j in self.subgoal_jaws if j not in ("", *JAW_STATES)]
        if bad:
            raise ValueError(
                f"subgoal_jaws: expected entries from ['open', 'closed', 'search'], found {bad}"
            )
        if self.watchdog_timeout <= 0.0:
            raise ValueError(f"watchdog_timeout: expected > 0 s, found {self.watchdog_timeout}")
        self.safety_limits()  # validates the workspace box and the limits

    def planning(self) -> Any:
        """The ``wm_control.planning.config.PlannerConfig`` these parameters set (the others at its
        defaults, which ``configs/planner/fast.yaml`` shares); its errors name this node's
        parameters."""
        from wm_control.planning.config import (
            PlannerConfig as Planning,
        )  # torch: imported when configured

        values = {field: getattr(self, name) for name, field in PLANNING_FIELDS.items()}
        try:
            return Planning(**values)
        except ValueError as error:
            message = str(error)
            for name, field in PLANNING_FIELDS.items():
                message = message.replace(f"planner.{field}:", f"{name}:")
            raise ValueError(message) from None

    @property
    def control_period(self) -> float:
        """Seconds per control step."""
        return 1.0 / self.control_rate

    def jaw_hold(self, goal_index: int) -> dict[str, float]:
        """Action dimensions the planner holds while pursuing sub-goal ``goal_index`` (0-based)."""
        from wm_control.planning.action_spec import jaw_hold

        jaws = self.subgoal_jaws[goal_index] if goal_index < len(self.subgoal_jaws) else ""
        return jaw_hold(jaws or "search", self.gripper_limit)

    @property
    def goal_files(self) -> tuple[str, ...]:
        """The non-empty entries of goal_image_paths (the sub-goal sequence from files)."""
        return tuple(path for path in self.goal_image_paths if path)

    def safety_limits(self) -> SafetyLimits:
        return SafetyLimits(
            workspace_min=tuple(self.workspace_min),  # type: ignore[arg-type]
            workspace_max=tuple(self.workspace_max),  # type: ignore[arg-type]
            max_linear_speed=self.max_linear_speed,
            max_angular_speed=self.max_angular_speed,
            max_step_translation=self.max_step_translation,
            max_step_rotation=self.max_step_rotation,
            max_gripper_step=self.max_gripper_step,
        )
