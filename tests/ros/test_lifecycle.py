"""Node processes and their launcher, with real processes and real signals: a dead launcher (SIGHUP
to its process group, as a closed terminal sends, or SIGKILL of the runner) leaves no arm driven;
start-up errors end in one line and a status, not a traceback; a failed simulation ends sim_arm."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rclpy
from rclpy.context import Context
from ros_helpers import Probe, spinning, wait_for

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its new parent) is dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # reaped while we read its stat
        return False


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.fixture
def launch_domain():
    """A ROS domain of the launched graph alone (the launch files take no namespace), and a context
    on it for the probe."""
    domain = (int(os.environ["ROS_DOMAIN_ID"]) + 17) % 200 + 1
    context = Context()
    rclpy.init(context=context, domain_id=domain)
    yield domain, context
    rclpy.try_shutdown(context=context)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["sighup_to_the_group", "sigkill_of_the_runner"])
def test_a_dead_launcher_leaves_no_arm_driven(launch_domain, tiny_checkpoint, tmp_path, how):
    domain, context = launch_domain
    env = {**os.environ, "ROS_DOMAIN_ID": str(domain), "OMP_NUM_THREADS": "1"}
    log = (tmp_path / "launch.log").open("w")  # a file, not a pipe an orphan could hold open
    # its own session and process group, as a terminal's foreground job has
    launcher = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "launch" / "sim_launch.py"),
            f"checkpoint:={tiny_checkpoint}",
            "image_size:=64",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    probe = Probe(context, "/")
    nodes: list[int] = []
    try:
        with spinning(context, probe):
            moving = lambda: any(np.any(v) for _, v in probe.twists_since(0.0))  # noqa: E731
            assert wait_for(moving, 120.0), (
                launcher.poll(),
                (tmp_path / "launch.log").read_text()[-3000:],
            )
            nodes = _children(launcher.pid)
            assert len(nodes) == 2, nodes
            hung_up = time.monotonic()
            if how == "sighup_to_the_group":
                os.killpg(launcher.pid, signal.SIGHUP)
            else:
                launcher.kill()
            assert wait_for(lambda: not any(_alive(pid) for pid in nodes), 20.0), (
                f"nodes still running {time.monotonic() - hung_up:.1f} s after the launcher died"
            )
            ended = time.monotonic() - hung_up
            time.sleep(1.0)  # anything still on the wire arrives
            late = [
                (round(t - hung_up, 2), v.round(3).tolist())
                for t, v in probe.twists_since(hung_up + 1.0)
                if np.any(v)
            ]
            assert not late, f"motion commands more than 1 s after the launcher died: {late[:5]}"
            assert probe.twists and not np.any(probe.twists[-1][1]), "the last command was not zero"
            print(f"{how}: nodes gone {ended:.2f} s after the launcher died; last command zero")
    finally:
        for pid in [launcher.pid, *nodes]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        launcher.wait(timeout=10)
        log.close()
    output = (tmp_path / "launch.log").read_text()
    if how == "sigkill_of_the_runner":
        assert "launcher (pid" in output and "is gone: stopping the node" in output, output[-3000:]
    else:
        assert launcher.returncode == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]


def _run_node(module: str, *ros_args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, "--ros-args", *ros_args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("-p", "max_linear_sped:=0.01"),
            "unknown parameter 'max_linear_sped' (did you mean 'max_linear_speed'?)",
        ),
        (("-p", "cem_sample:=5"), "unknown parameter 'cem_sample' (did you mean 'cem_samples'?)"),
        (("-p", "cem_samples:=0"), "cem_samples out of range"),
        (("-p", "workspace_min:=[0.9,0.0,0.0]"), "workspace_min < workspace_max"),
        ((), "checkpoint: expected the path of a world model checkpoint, found ''"),
    ],
)
def test_planner_start_up_errors_are_one_line(tiny_checkpoint, args, message):
    checkpoint = () if not args else ("-p", f"checkpoint:={tiny_checkpoint}")
    result = _run_node("wm_control_ros.planner", *checkpoint, "-p", "device:=cpu", *args)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert message in output and "[FATAL] cannot start the node" in output, output
    assert "Traceback" not in output and "AttributeError" not in output, output


def test_planner_with_a_missing_checkpoint_says_so(tmp_path):
    result = _run_node(
        "wm_control_ros.planner", "-p", f"checkpoint:={tmp_path / 'nope'}", "-p", "device:=cpu"
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2 and "does not exist" in output and "Traceback" not in output, (
        output
    )


def test_unknown_parameters_from_a_parameter_file_are_refused(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("sim_arm:\n  ros__parameters:\n    image_size: 32\n    publish_rat: 5.0\n")
    result = _run_node("wm_control_ros.sim_arm", "--params-file", str(params))
    output = result.stdout + result.stderr
    assert result.returncode == 2 and "unknown parameter 'publish_rat'" in output, output
    assert "Traceback" not in output and "AttributeError" not in output, output


def test_sim_arm_bad_env_id_is_one_line():
    result = _run_node("wm_control_ros.sim_arm", "-p", "env_id:=wm_control/Nope-v0")
    output = result.stdout + result.stderr
    assert result.returncode == 2 and "env_id: expected one of" in output, output
    assert "Traceback" not in output and "_stop" not in output, output


@pytest.mark.slow
def test_sim_arm_exits_when_its_simulation_fails(tmp_path):
    """A fault injected into the running simulation thread (its 5th step raises): the process ends
    with status 1 and names the error instead of staying up without a simulation."""
    script = (
        "import sys\n"
        "from wm_control_ros import sim_arm\n"
        "step = sim_arm.SimArmNode._step\n"
        "def failing(self, env, now):\n"
        "    if self.counters['steps'] >= 4:\n"
        "        raise RuntimeError('injected physics failure')\n"
        "    step(self, env, now)\n"
        "sim_arm.SimArmNode._step = failing\n"
        "sim_arm.main(sys.argv[1:])\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "--ros-args",
            "-p",
            "image_size:=32",
            "-p",
            "control_rate:=20.0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert (
        "stopping the node: simulation stopped: RuntimeError('injected physics failure')" in output
    ), output


@pytest.mark.slow
def test_sim_arm_refuses_a_task_of_another_layout():
    result = _run_node(
        "wm_control_ros.sim_arm",
        "-p",
        "env_id:=wm_control/OGBenchCubeSingle-v0",
        "-p",
        "image_size:=64",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2 and "acts in the 'ogbench' action layout" in output, output
    assert "Traceback" not in output, output


def test_planner_refuses_a_model_of_another_layout(tmp_path):
    import torch

    from wm_control import WorldModel
    from wm_control.models.config import EncoderConfig, PredictorConfig, WorldModelConfig

    torch.manual_seed(0)
    encoder = EncoderConfig(width=48, depth=1, num_heads=4, mlp_hidden=96, image_size=(64, 64))
    predictor = PredictorConfig(
        width=48,
        depth=1,
        num_heads=4,
        mlp_hidden=96,
        encoder_width=48,
        image_size=(64, 64),
        layout="ogbench",
        action_dim=5,
        state_dim=5,
    )
    WorldModel(WorldModelConfig(encoder=encoder, predictor=predictor)).save_pretrained(
        tmp_path / "cube"
    )
    result = _run_node(
        "wm_control_ros.planner", "-p", f"checkpoint:={tmp_path / 'cube'}", "-p", "device:=cpu"
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2 and "the model acts in the 'ogbench' layout" in output, output
    assert "Traceback" not in output, output
