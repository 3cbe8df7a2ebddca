"""OGBench cube evaluation protocols: (a) stable-worldmodel's start/goal pairs on expert
trajectories, (b) OGBench's five tasks; and the oracle and random agents that act in them.
One environment per protocol for the module (making one takes 12-25 s)."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

import envs  # noqa: F401  (registers the ids)
from envs.config import EnvConfig
from envs.episode import run_episode
from envs.ogbench_agents import OGBenchGoalOracle, OGBenchRandomAgent
from envs.ogbench_cube import SUCCESS_DISTANCE
from envs.ogbench_protocol import (
    TrajectoryGoalProtocol,
    draw_start_step,
    make_protocol_env,
    record_expert_trajectory,
    task_of_seed,
)
from wm_control.cli.main import config_dir

PROTOCOL = TrajectoryGoalProtocol()


def _config() -> EnvConfig:
    path = config_dir() / "env" / "ogbench_cube_single.yaml"
    values = OmegaConf.to_container(OmegaConf.load(path))
    return EnvConfig(**values)


@pytest.fixture(scope="module")
def env_a():
    env = make_protocol_env(_config(), "trajectory_goals")
    yield env
    env.close()


@pytest.fixture(scope="module")
def env_b():
    env = make_protocol_env(_config(), "ogbench_tasks")
    yield env
    env.close()


def test_protocol_a_settings_are_stable_worldmodels_and_checked():
    settings = (PROTOCOL.goal_offset_steps, PROTOCOL.eval_budget, PROTOCOL.trajectory_steps)
    assert settings == (25, 50, 200)
    # step_idx <= length - offset - 1 with 201 states: starts 0..175, goals 25..200
    assert PROTOCOL.start_steps == range(176)
    assert PROTOCOL.budget_actions(5) == 10  # 50 OGBench control steps = 10 actions of 5
    with pytest.raises(ValueError, match="eval_budget: expected a multiple of the action block"):
        TrajectoryGoalProtocol(eval_budget=52).budget_actions(5)
    with pytest.raises(ValueError, match="TrajectoryGoalProtocol.goal_offset_steps"):
        TrajectoryGoalProtocol(goal_offset_steps=0)
    with pytest.raises(ValueError, match="TrajectoryGoalProtocol.p_random_action"):
        TrajectoryGoalProtocol(p_random_action=1.5)


def test_start_steps_are_seeded_uniform_draws_over_the_valid_range():
    starts = np.array([draw_start_step(PROTOCOL, seed) for seed in range(3000)])
    assert [draw_start_step(PROTOCOL, s) for s in range(5)] == list(starts[:5])  # seeded
    assert starts.min() == 0 and starts.max() == 175  # both ends of the range are drawn
    counts = np.bincount(starts, minlength=176)
    assert abs(starts.mean() - 87.5) < 3 and counts.max() < 40  # uniform, not clustered


def test_episode_starts_on_the_expert_trajectory_and_the_goal_is_25_steps_later(env_a):
    task = env_a.unwrapped
    observation, info = env_a.reset(seed=7)
    episode = env_a.episode
    assert info["protocol"] == {"start_step": episode.start_step, "goal_step": episode.goal_step}
    assert episode.goal_step - episode.start_step == 25
    assert episode.start_step == draw_start_step(PROTOCOL, 7)
    assert env_a.spec.max_episode_steps == 10 and task.block == 5
    # one goal image; the planner carries a held cube to the goal's hand position before letting go
    assert len(task.goal_images()) == 1 and task.subgoal_jaws == ("pick",)
    assert task.subgoal_steps == (10,)
    qpos, qvel = task.simulator_state()
    goal_image = task.goal_images()[0].copy()
    target_position, target_quaternion = task.cube_target
    # the same expert trajectory, recorded again from the scene of seed 7
    task.reset(seed=7)
    trajectory = record_expert_trajectory(task, 7, episode.goal_step, PROTOCOL)
    assert len(trajectory.qpos) == episode.goal_step + 1
    np.testing.assert_array_equal(qpos, trajectory.qpos[episode.start_step])
    np.testing.assert_array_equal(qvel, trajectory.qvel[episode.start_step])
    # the goal image is the render of the goal state; the cube target is the goal's cube pose
    goal_qpos, goal_qvel = trajectory.qpos[episode.goal_step], trajectory.qvel[episode.goal_step]
    render = task.render_configuration(goal_qpos, goal_qvel)
    np.testing.assert_array_equal(goal_image, render)
    cube = task.scene._model.joint("object_joint_0").qposadr[0]
    np.testing.assert_allclose(target_position, goal_qpos[cube : cube + 3])
    np.testing.assert_allclose(target_quaternion, goal_qpos[cube + 3 : cube + 7])
    # the expert moved the cube toward OGBench targets (not a still scene)
    first, last = trajectory.qpos[0][cube : cube + 3], trajectory.qpos[-1][cube : cube + 3]
    travelled = np.linalg.norm(last - first)
    assert travelled > 0.02 or episode.goal_step < 60
    # the observation is the start state's render
    np.testing.assert_array_equal(observation["pixels"], task.render_configuration(qpos, qvel))


def test_same_seed_same_episode_other_seed_other_episode(env_a):
    env_a.reset(seed=3)
    first, image = env_a.episode, env_a.unwrapped.goal_images()[0]
    env_a.reset(seed=3)
    np.testing.assert_array_equal(first.start_qpos, env_a.episode.start_qpos)
    np.testing.assert_array_equal(image, env_a.unwrapped.goal_images()[0])
    env_a.reset(seed=4)
    assert not np.array_equal(first.goal_qpos, env_a.episode.goal_qpos)


def test_a_seed_reset_again_skips_the_expert_and_plays_bit_for_bit_as_the_first(monkeypatch):
    """The protocol env keeps the episode it drew for a seed: a second reset to it does not run the
    expert again, and the same actions then give the same pixels, states, rewards and endings as
    on an env that drew the episode itself."""
    import envs.ogbench_protocol as protocol

    drawn, record = [], protocol.record_expert_trajectory
    monkeypatch.setattr(
        protocol,
        "record_expert_trajectory",
        lambda env, seed, *rest: drawn.append(seed) or record(env, seed, *rest),
    )
    actions = np.random.default_rng(0).uniform(-1, 1, (6, 5)).astype(np.float32)

    def play(env, seed):
        observation, info = env.reset(seed=seed)
        played = [(observation["pixels"], observation["state"], info["protocol"])]
        for action in actions:
            observation, reward, terminated, truncated, _ = env.step(action)
            played.append((observation["pixels"], observation["state"], reward, terminated))
        return played, env.unwrapped.goal_images()[0]

    fresh = make_protocol_env(_config(), "trajectory_goals")
    reused = make_protocol_env(_config(), "trajectory_goals")
    try:
        first, first_goal = play(fresh, 5)
        play(reused, 5)
        play(reused, 6)
        again, again_goal = play(reused, 5)
    finally:
        fresh.close()
        reused.close()
    assert drawn == [5, 5, 6]  # the fresh env's draw, then one per seed on the reused env
    np.testing.assert_array_equal(first_goal, again_goal)
    assert len(first) == len(again) == len(actions) + 1
    for one, other in zip(first, again):
        for a, b in zip(one, other):
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b)
            else:
                assert a == b


def test_success_is_ogbenchs_test_of_the_cube_against_the_goal(env_a):
    task = env_a.unwrapped
    env_a.reset(seed=5)
    goal_qpos, goal_qvel = env_a.episode.goal_qpos, env_a.episode.goal_qvel
    # starting at the goal state: OGBench's test passes at the first control step
    _, info = task.reset_to(goal_qpos, goal_qvel * 0, goal_qpos, goal_qvel)
    _, _, terminated, _, info = env_a.step(np.zeros(5, np.float32))
    assert info["success"] and terminated and info["goal_distance"] <= SUCCESS_DISTANCE
    # the cube 5 cm beside its goal: not a success; 3 cm: a success (OGBench's 4 cm)
    cube = task.scene._model.joint("object_joint_0").qposadr[0]
    for offset, expected in ((0.05, False), (0.03, True)):
        start = goal_qpos.copy()
        start[cube + 1] += offset
        start[cube + 2] = goal_qpos[cube + 2]
        task.reset_to(start, goal_qvel * 0, goal_qpos, goal_qvel)
        _, _, _, _, info = env_a.step(np.zeros(5, np.float32))
        assert info["success"] is expected, (offset, info["goal_distance"])
        assert info["success"] == bool(task.scene._success)  # OGBench's own flag


def test_oracle_reaches_protocol_a_goals_and_random_does_not(env_a):
    budget = env_a.spec.max_episode_steps
    oracle = OGBenchGoalOracle(env_a, seed=0)
    results = [run_episode(env_a, oracle, seed=s, max_steps=budget) for s in (1000, 1001)]
    assert all(r.success for r in results)
    for r in results:  # the episode ends at the control step of success
        assert r.final_goal_distance <= SUCCESS_DISTANCE and len(r.steps) <= budget
    random_agent = OGBenchRandomAgent(env_a, seed=0)
    results = [run_episode(env_a, random_agent, seed=s, max_steps=budget) for s in (1000, 1001)]
    assert not any(r.success for r in results) and all(len(r.steps) == budget for r in results)
    # a new uniform action at every control step: the block's mean is not one of its actions
    actions = np.stack([s.action for s in results[0].steps])
    assert np.abs(actions).max() < 0.9 and actions.std() > 0.1


def test_protocol_b_plays_ogbenchs_five_tasks_by_seed(env_b):
    assert [task_of_seed(s) for s in range(1000, 1007)] == [1, 2, 3, 4, 5, 1, 2]
    assert env_b.spec.max_episode_steps == 40  # OGBench's 200 control steps
    task = env_b.unwrapped
    for seed in (1000, 1003):
        _, info = env_b.reset(seed=seed)
        assert task.task_id == task_of_seed(seed) == info["task_id"]
        (goal,), (image,) = task.goal_configurations(), task.goal_images()
        np.testing.assert_array_equal(image, info["goal"])  # OGBench's own goal image of the task
        # a render of the goal state (OGBench renders before its last substep's positions settle)
        render = task.render_configuration(goal.qpos, goal.qvel).astype(int)
        assert np.abs(render - image).mean() < 0.5
    result = run_episode(env_b, OGBenchGoalOracle(env_b, seed=0), seed=1003, max_steps=40)
    assert result.success and result.final_goal_distance <= SUCCESS_DISTANCE


def test_protocol_b_subgoals_come_from_the_oracle_and_leave_the_start_as_it_was(env_b):
    """With ``task_subgoals`` the episode gets four sub-goals from OGBench's oracle solving it
    (open jaws around the cube, jaws closed on it, cube carried high, cube held at its target)
    before OGBench's goal, with a schedule that fits the budget; the episode itself starts and
    moves exactly as without them."""
    with_subgoals = make_protocol_env(_config(), "ogbench_tasks", task_subgoals=True)
    try:
        task, plain = with_subgoals.unwrapped, env_b.unwrapped
        for seed in (1000, 1003):
            observation, info = with_subgoals.reset(seed=seed)
            expected, _ = env_b.reset(seed=seed)
            assert info["subgoals"] is True
            np.testing.assert_array_equal(observation["state"], expected["state"])
            np.testing.assert_array_equal(observation["pixels"], expected["pixels"])
            goals, images = task.goal_configurations(), task.goal_images()
            assert len(goals) == len(images) == 5
            assert goals[-1] is plain.goal_configurations()[0] or np.array_equal(
                goals[-1].qpos, plain.goal_configurations()[0].qpos
            )
            cube = info["object_position"]  # [3] m, at rest on the table
            around, grasped, carried, placed = (g.state for g in goals[:4])
            assert around[4] < 0.05 and grasped[4] >= 0.5 and placed[4] >= 0.5  # jaws
            assert np.linalg.norm(grasped[:2] - cube[:2]) < 0.03 and grasped[2] < 0.06
            assert carried[2] > grasped[2] + 0.05  # lifted
            target, _ = task.cube_target
            assert np.linalg.norm(placed[:2] - target[:2]) < 0.05
            for goal, image in zip(goals[:4], images[:4]):
                render = task.render_configuration(goal.qpos, goal.qvel)
                np.testing.assert_array_equal(image, render)
            assert sum(task.subgoal_steps) == with_subgoals.spec.max_episode_steps == 40
            assert task.subgoal_jaws == ("open", "closed", "closed", "closed", "open")
            action = np.array([0.5, -0.3, 0.2, 0.1, 0.4], np.float32)
            moved, *_ = with_subgoals.step(action)
            moved_plain, *_ = env_b.step(action)
            np.testing.assert_allclose(moved["state"], moved_plain["state"], atol=1e-6)
        env_b.reset(seed=1001)
        assert plain.goal_configurations()[:-1] == [] and plain.subgoal_steps is None
    finally:
        with_subgoals.close()


def test_protocol_envs_refuse_the_wrong_mode_and_no_seed(env_a, env_b):
    from envs.ogbench_protocol import TrajectoryGoalEpisodes

    with pytest.raises(ValueError, match="expected a seed"):
        env_a.reset()
    with pytest.raises(ValueError, match="data-collection mode"):
        TrajectoryGoalEpisodes(env_b.env, PROTOCOL)  # the task-mode env of protocol (b)
    expected = r"ogbench.jaws: expected one of \['pick', 'carry', 'search'\]"
    with pytest.raises(ValueError, match=expected):
        make_protocol_env(_config(), "trajectory_goals", jaws="closed")


def test_eval_setting_ogbench_jaws_sets_protocol_a_jaw_schedule():
    """`eval ... ogbench.jaws=search` gives protocol (a)'s goal the paper planner's searched jaws;
    the default picks (grasps under the goal's hand, then carries), and each setting reaches the
    task's jaw schedule."""
    from wm_control.cli.eval_tasks import task_factory

    settings = OmegaConf.to_container(OmegaConf.load(config_dir() / "eval.yaml"))["ogbench"]
    assert settings["jaws"] == "pick"
    for jaws in ("search", "pick"):
        env = task_factory("ogbench_cube_single", _config(), {**settings, "jaws": jaws})()
        try:
            env.reset(seed=3)
            assert env.unwrapped.subgoal_jaws == (jaws,)
        finally:
            env.close()


def test_eval_setting_ogbench_task_subgoals_reaches_protocol_b():
    """`eval ... ogbench.task_subgoals=true` builds protocol (b) with the oracle's sub-goals; the
    default builds it without; protocol (a) takes the same settings."""
    from wm_control.cli.eval_tasks import task_factory

    settings = OmegaConf.to_container(OmegaConf.load(config_dir() / "eval.yaml"))["ogbench"]
    assert settings["task_subgoals"] is False
    for value in (False, True):
        ogbench = {**settings, "task_subgoals": value}
        env = task_factory("ogbench_cube_single_tasks", _config(), ogbench)()
        try:
            assert env.subgoals is value
        finally:
            env.close()
    env = task_factory("ogbench_cube_single", _config(), {**settings, "task_subgoals": True})()
    env.close()


def test_diagnosis_replays_the_episodes_expert_and_its_held_actions_reach_the_goal(env_a):
    """bench/diagnose_trajectory_goals.py reads the expert's actions of an episode by running the
    expert again: it must be the very expert the episode was drawn from (replayed from the reset
    scene, its actions pass through the episode's start state), and here its actions, held per
    block and played open-loop from the start, reach the goal."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from diagnose_trajectory_goals import (
        expert_block_actions,
        expert_control_actions,
        play_open_loop,
        reaches_goal,
    )
    from envs.ogbench_protocol import play_recorded

    seed, start = 1, draw_start_step(PROTOCOL, 1)
    recorded = iter(expert_control_actions(env_a, seed))
    env_a.env.reset(seed=seed)
    replayed = play_recorded(env_a.unwrapped, lambda raw: next(recorded), start + 1)
    env_a.reset(seed=seed)
    np.testing.assert_allclose(replayed[start][0], env_a.episode.start_qpos, atol=1e-9)
    actions = expert_block_actions(env_a, seed)
    assert actions.shape == (PROTOCOL.goal_offset_steps // env_a.unwrapped.block, 5)
    env_a.reset(seed=seed)
    # seed 1: the cube carried 25 cm and set down, open-loop from held actions
    assert reaches_goal(env_a, actions)
    env_a.reset(seed=seed)
    reached, frame = play_open_loop(env_a, actions[:2])  # two blocks: not there yet
    env_a.reset(seed=seed)
    for action in actions[:2]:
        observation, *_ = env_a.step(action.astype(np.float32))
    assert not reached and np.array_equal(frame, observation["pixels"])  # the last real frame


def test_phase_analysis_sorts_episodes_by_what_the_cube_does(env_a, tmp_path):
    """bench/protocol_a_phases.py sorts protocol (a)'s episodes by the cube's state at start and
    goal (read from the simulator), and counts each run's solved episodes per kind."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from protocol_a_phases import _solved, episode_kind, episode_phase, read_runs

    table, lifted = np.array([0.4, 0.0, 0.02]), np.array([0.4, 0.0, 0.12])
    assert episode_kind(table, table + [0.03, 0.0, 0.0]) == "already there"
    assert episode_kind(table, lifted) == "pick up"
    assert episode_kind(lifted, table + [0.1, 0.0, 0.0]) == "set down"
    assert episode_kind(lifted, lifted + [0.1, 0.0, 0.0]) == "carry"
    assert episode_kind(table, table + [0.1, 0.0, 0.0]) == "slide"
    # seed 1: the held cube carried 25 cm and set down, the goal's hand 2 cm from it
    one = episode_phase(env_a, 1)
    assert one.kind == "set down" and 0.24 < one.cube_moves < 0.26 and one.goal_hand_xy < 0.03
    # seed 2: the cube on the table 18 cm from the hand, lifted in the goal's hand
    two = episode_phase(env_a, 2)
    assert two.kind == "pick up" and 0.17 < two.start_hand_xy < 0.19 and two.goal_hand_xy < 0.01

    episodes = tmp_path / "episodes.csv"
    header = (
        "task,agent,seed,success,final_goal_distance,final_ee_distance,seconds_per_action,steps"
    )
    rest = ",0.1,0.1,0.2,10\n"
    episodes.write_text(
        f"{header}\nogbench_cube_single,planner,1,True{rest}"
        f"ogbench_cube_single,planner,2,False{rest}ogbench_cube_single,random,1,False{rest}"
    )
    with pytest.raises(SystemExit, match="PATH@AGENT"):
        read_runs([str(episodes)])
    runs = read_runs([f"mine={episodes}@planner"])
    assert runs == {"mine": {1: True, 2: False}}
    assert _solved(runs["mine"], [1, 2, 3]) == "1 of 2"


def test_cube_signal_plays_the_expert_with_and_without_the_grasp():
    """bench/cube_signal.py: on a pick-up (seed 2) the expert's held motion lifts the cube and the
    same motion with the jaws held open leaves it on the table; the cube's share of the energy
    (goal pose, cube left) is below the start frame's, and the empty hand ends farther from the
    goal than the expert."""
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "bench"))
    from bench_planner_configs import config_file
    from cube_signal import jaws_open, last_frame, seed_energies
    from diagnose_trajectory_goals import TABLE_HEIGHT, expert_block_actions, protocol_env

    from wm_control.model_source import ModelSource

    env = protocol_env()
    expert = expert_block_actions(env, 2)  # [5, 5]

    def cube_height(actions: np.ndarray) -> float:
        last_frame(env, 2, actions)
        return float(env.unwrapped.scene.compute_ob_info()["privileged/block_0_pos"][2])

    assert cube_height(expert) > TABLE_HEIGHT + 0.05
    assert cube_height(jaws_open(expert)) < TABLE_HEIGHT
    model = ModelSource.from_dict(config_file("model", "ogbench_cube")).load(root)
    cube_left, start, real_expert, real_open, *imagined = seed_energies(env, model, 2)
    assert 0.0 < cube_left < start and real_open > real_expert
    assert len(imagined) == 2 and all(np.isfinite(imagined))


def test_grasp_one_step_compares_the_lift_with_the_cube_left_behind():
    """bench/grasp_one_step.py: on a pick-up (seed 2) it finds the step in which the expert lifts
    the cube; its counterfactual frame shows the same scene with the cube where it was (it differs
    from the real next frame, and by less than the whole step does), and the distances it reports
    are finite and non-negative."""
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "bench"))
    from bench_planner_configs import config_file
    from diagnose_trajectory_goals import protocol_env
    from grasp_one_step import distances, moving_steps

    from wm_control.model_source import ModelSource

    steps = moving_steps(protocol_env(), 2, 0.015)
    assert steps, "the expert of seed 2 lifts the cube"
    frame, _, _, real, left = steps[-1]
    changed = np.abs(real.astype(int) - left).sum(-1) > 0  # [H, W]
    assert 0 < changed.sum() <= 100  # the cube's pixels, at its two places, and nothing else
    assert np.abs(real.astype(int) - frame).sum() > np.abs(real.astype(int) - left).sum()
    model = ModelSource.from_dict(config_file("model", "ogbench_cube")).load(root)
    to_real, to_left, between = distances(model, steps[-1])
    assert min(to_real, to_left) >= 0 and between > 0 and np.isfinite([to_real, to_left]).all()


def test_codec_mask_finds_the_red_cube():
    """bench/codec_tokens.py measures the codec's error on the strongly coloured pixels: in a
    frame of the cube task these are the cube's, and few others."""
    import sys
    from pathlib import Path

    import gymnasium as gym

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from codec_tokens import coloured

    env = gym.make("wm_control/OGBenchCubeSingle-v0")
    try:
        observation, _ = env.reset(seed=0)
        mask = coloured(observation["pixels"][None])[0]  # [H, W]
        red = observation["pixels"][..., 0].astype(int) - observation["pixels"][..., 1:].max(-1)
    finally:
        env.close()
    cube = red > 60  # the red cube's pixels
    assert cube.sum() >= 4 and mask[cube].all()  # all in the mask ...
    assert mask.sum() <= 4 * cube.sum()  # ... which holds little else (a few pixels of the arm)


def test_grasp_placement_plans_down_close_lift_and_plays_the_grasps_it_scores():
    """bench/grasp_placement.py: its imagined plans go down to each grasp point on the floor with
    open jaws, close them, then head for the goal's hand (as the layout integrates them); its
    offsets start at the goal hand's position; and on seed 20 (the goal holds the cube 10 cm up,
    2.9 cm from where it rests) the grasp under the goal's hand lifts it to the goal in the
    simulator and the report is consistent."""
    import sys
    from pathlib import Path

    import torch

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "bench"))
    from bench_planner_configs import config_file
    from diagnose_trajectory_goals import protocol_env
    from grasp_placement import grasp_plans, measure, offsets

    from wm_control.layouts import get_layout
    from wm_control.model_source import ModelSource
    from wm_control.planning.config import PlannerConfig

    square = offsets(0.01, 0.01)
    assert square.shape == (9, 2) and np.array_equal(square[0], [0.0, 0.0])
    assert np.all(np.diff(np.linalg.norm(square, axis=1)) >= 0)  # nearest the centre first
    state = np.array([0.40, -0.10, 0.07, 0.5, 0.0], np.float32)
    goal = np.array([0.42, -0.12, 0.15, 0.5, 0.56], np.float32)
    points = np.array([[0.41, -0.10], [0.39, -0.11]])
    plans = grasp_plans(state, points, goal, 0.02, 4)  # [2, 4, 5]
    states = [torch.from_numpy(np.repeat(state[None], 2, 0))]
    for t in range(4):
        states.append(get_layout("ogbench").integrate(states[-1], torch.from_numpy(plans[:, t])))
    np.testing.assert_allclose(states[1][:, :2].numpy(), points, atol=1e-6)  # over the point,
    np.testing.assert_allclose(states[1][:, 2].numpy(), 0.02, atol=1e-6)  # on the floor
    assert np.all(plans[:, 0, 4] < 0) and np.all(plans[:, 1:, 4] > 0)  # open, then closed
    assert np.all(plans[:, 1, :3] == 0)  # closing in place
    assert np.all(states[-1][:, 2].numpy() > states[2][:, 2].numpy())  # then lifting

    model = ModelSource.from_dict(config_file("model", "ogbench_cube")).load(root)
    controller = PlannerConfig(**config_file("planner", "paper")).controller(model)
    env = protocol_env()
    try:
        _, info = env.reset(seed=20)
        cube = np.asarray(info["object_position"][:2], np.float64)
        hand = np.asarray(env.unwrapped.goal_configurations()[-1].state[:2], np.float64)
        away = 0.04 * (hand - cube) / np.linalg.norm(hand - cube)  # 4 cm further from the cube
        grid = np.stack([np.zeros(2), cube - hand, away])  # the goal's hand, the cube, beyond
        row = measure(env, [controller], 20, grid, 4)
    finally:
        env.close()
    assert row["under_goal_hand_reaches"] and 2 < row["cube_from_goal_hand_cm"] < 4
    np.testing.assert_array_equal(row["reached"], [True, True, False])  # 6.9 cm off misses
    assert row["offsets_reaching"] == 2 and row["offsets"] == 3
    choice, to_cube = row["models"][0], np.linalg.norm(hand + grid - cube, axis=1)  # [3] m
    energies = choice["energies"]  # [3]
    chosen = int(energies.argmin())
    assert choice["choice_from_cube_cm"] == pytest.approx(100 * to_cube[chosen])
    assert choice["choice_reaches"] == row["reached"][chosen]
    assert choice["nearest_rank"] == 1 + int((energies < energies[1]).sum())  # the cube's own
