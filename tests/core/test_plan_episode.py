"""`wm-control plan env=...`: MPC in a simulated task end to end, and the episode runner."""

import json

import cv2
import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the tasks)
from envs.episode import run_episode
from wm_control.cli.main import main
from wm_control.episode import MPCAgent, goal_schedule
from wm_control.planning import ActionSpec, CEMConfig, CEMPlanner, MPCController


SMALL = ["planner.samples=24", "planner.iterations=2", "planner.elites=4", "env.image_size=64"]


def test_plan_in_reach_writes_video_plot_and_summary(tmp_path, capsys):
    main(["plan", "env=reach", "episode.max_steps=3", *SMALL, f"hydra.run.dir={tmp_path}"])
    out = capsys.readouterr().out
    assert out.count("end effector to goal") == 3 and "s per action" in out
    assert (
        "pursued goal pose" not in out
    )  # Reach moves the end effector: one final distance, not two alike
    summary = json.loads((tmp_path / "episode.json").read_text())
    # Reach moves the end effector: its goal distance is the end effector's, to the single goal pose
    np.testing.assert_allclose(summary["goal_distances_m"], summary["ee_distances_m"], atol=0.01)
    assert summary["final_goal_distance_m"] == summary["goal_distances_m"][-1]
    assert summary["steps"] == 3 and len(summary["energies"]) == 3
    assert all(np.abs(np.array(summary["actions"])[:, :3]).max(0) <= 0.075 + 1e-6)
    video = cv2.VideoCapture(str(tmp_path / "episode.mp4"))
    frames = 0
    while video.read()[0]:
        frames += 1
    assert frames == 4  # start + one per step
    assert (tmp_path / "episode.png").read_bytes()[:4] == b"\x89PNG"


def test_goal_image_of_wrong_type_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    (tmp_path / "goal.txt").write_text("hello")
    with pytest.raises(ValueError, match="could not decode it as an image"):
        main(
            [
                "plan",
                "env=reach",
                f"goal={tmp_path / 'goal.txt'}",
                *SMALL,
                f"hydra.run.dir={tmp_path / 'r'}",
            ]
        )


class _RecordingController(MPCController):
    """The real controller, remembering the goals it was given and its resets."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.goals, self.goal_states, self.resets = [], [], 0

    def set_goal(self, image, state=None):
        self.goals.append(image)
        self.goal_states.append(state)
        super().set_goal(image, state)

    def reset(self):
        self.resets += 1
        super().reset()


def _tiny_controller(model, kind=MPCController) -> MPCController:
    """A controller with a one-iteration CEM of 8 samples: cheap plans for schedule tests."""
    return kind(model, CEMPlanner(CEMConfig(samples=8, iterations=1, elites=2)), ActionSpec.droid())


def test_pick_place_follows_the_subgoal_schedule(reference):
    _, model = reference
    env = gym.make("wm_control/PickPlace-v2", image_size=32)
    try:
        controller = _tiny_controller(model, _RecordingController)
        agent = MPCAgent(env, controller, subgoal_steps=[2, 1, 1, 1, 1], max_steps=7)
        result = run_episode(env, agent, seed=1, max_steps=7)
        goals = env.unwrapped.goal_images()
        states = [c.state for c in env.unwrapped.goal_configurations()]
    finally:
        env.close()
    assert [s.subgoal for s in result.steps] == [0, 0, 1, 2, 3, 4, 4]
    assert len(controller.goals) == 5 and controller.resets == 5
    assert all(np.array_equal(a, b) for a, b in zip(controller.goals, goals))
    # each goal image comes with its configuration's state (weighed by planner.goal_state_weight)
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(controller.goal_states, states))
    assert len({tuple(s) for s in controller.goal_states}) == 5
    assert len(result.frames) == 8 and all(np.isfinite(s.energy) for s in result.steps)


def test_goal_schedule_validation():
    assert goal_schedule(1, 3, [4, 10, 4]) == [0, 0, 0]
    assert goal_schedule(3, 2, None) == [2, 2]  # no schedule: the final goal
    assert goal_schedule(3, 5, [1, 1, 1]) == [0, 1, 2, 2, 2]
    with pytest.raises(ValueError, match="expected 3 positive step counts"):
        goal_schedule(3, 5, [1, 1])


def test_agent_uses_the_task_schedule_unless_told(reference):
    _, model = reference
    env = gym.make("wm_control/Push-v2", image_size=32)
    try:
        controller = _tiny_controller(model)
        agent = MPCAgent(env, controller, max_steps=12)
        result = run_episode(env, agent, seed=0, max_steps=12)
    finally:
        env.close()
    assert env.unwrapped.subgoal_steps == (6, 3, 6, 25)
    assert [s.subgoal for s in result.steps] == [0] * 6 + [1] * 3 + [2] * 3


@pytest.mark.parametrize(
    "task, setting, expected",
    [
        ("Grasp", None, ["open", "open", "closed", "closed"]),  # the task's own
        ("Grasp", "search", ["search"] * 4),  # the paper's planner
        ("Push", ["search", "closed", "open", "closed"], ["search", "closed", "open", "closed"]),
        ("Reach", None, ["search"]),  # the jaws do not matter in Reach
    ],
)
def test_agent_holds_the_jaws_per_goal_image(reference, task, setting, expected):
    _, model = reference
    env = gym.make(f"wm_control/{task}-v2", image_size=32)
    try:
        controller = _tiny_controller(model)
        goals = env.unwrapped.subgoal_steps or (1,)
        steps = [1] * len(goals)
        agent = MPCAgent(
            env,
            controller,
            subgoal_steps=steps if len(steps) > 1 else None,
            subgoal_jaws=setting,
            max_steps=len(steps),
        )
        result = run_episode(env, agent, seed=0, max_steps=len(steps))
    finally:
        env.close()
    assert agent.jaws == expected
    held = {"open": -0.75, "closed": 0.75}
    for step, jaws in zip(result.steps, expected):
        if jaws in held:
            assert step.action[6] == pytest.approx(held[jaws])
    assert controller.spec.searched[6] == (expected[-1] == "search")


def test_goal_images_given_search_the_jaws_and_bad_schedules_are_refused(reference):
    _, model = reference
    env = gym.make("wm_control/Grasp-v2", image_size=32)
    try:
        controller = _tiny_controller(model)
        env.reset(seed=0)
        agent = MPCAgent(
            env, controller, goal_images=[env.unwrapped.goal_images()[-1]], max_steps=2
        )
        run_episode(env, agent, seed=0, max_steps=1)
        assert agent.jaws == ["search"]  # a user's goal image says nothing of the task's schedule
        with pytest.raises(
            ValueError, match=r"subgoal_jaws: expected 4 entries .* found \['open'\]"
        ):
            run_episode(env, MPCAgent(env, controller, subgoal_jaws=["open"]), seed=0, max_steps=1)
        with pytest.raises(ValueError, match="expected a list, 'search' or None, found 'closed'"):
            MPCAgent(env, controller, subgoal_jaws="closed")
    finally:
        env.close()


def test_plan_reports_the_jaws_it_held(tmp_path, capsys):
    main(
        [
            "plan",
            "env=grasp",
            "episode.max_steps=2",
            "episode.video=false",
            *SMALL,
            f"hydra.run.dir={tmp_path}",
        ]
    )
    summary = json.loads((tmp_path / "episode.json").read_text())
    assert summary["subgoal_jaws"] == ["open", "open", "closed", "closed"]
    assert np.allclose(
        np.array(summary["actions"])[:, 6], -0.75
    )  # the first goal image: jaws held open
    assert "jaws per goal image: open/open/closed/closed" in capsys.readouterr().out
    main(
        [
            "plan",
            "env=grasp",
            "episode.max_steps=1",
            "episode.video=false",
            "episode.subgoal_jaws=search",
            *SMALL,
            f"hydra.run.dir={tmp_path / 'search'}",
        ]
    )
    assert (
        json.loads((tmp_path / "search" / "episode.json").read_text())["subgoal_jaws"]
        == ["search"] * 4
    )
    assert "jaws per goal image: searched" in capsys.readouterr().out


def test_carry_holds_the_jaws_closed_on_what_they_hold_until_the_hand_is_at_the_goal(reference):
    """``"carry"``: jaws that hold something stay closed while the hand is away from the goal
    state's position; at the goal, or with open jaws, the planner searches them."""
    from wm_control.episode import CARRY_CLOSURE, CARRY_RADIUS

    _, model = reference
    env = gym.make("wm_control/Grasp-v2", image_size=32)
    try:
        controller = _tiny_controller(model)
        agent = MPCAgent(env, controller, subgoal_jaws=["carry"] * 4, subgoal_steps=[9, 1, 1, 1])
        observation, info = env.reset(seed=0)
        agent.reset(0)
        goal = agent.goal_states[0]
        away = observation["state"].copy()
        away[:3] = goal[:3] + [2 * CARRY_RADIUS, 0.0, 0.0]
        at_goal = away.copy()
        at_goal[:3] = goal[:3] + [CARRY_RADIUS / 2, 0.0, 0.0]
        for hand, closure, jaws in [
            (away, 1.0, "closed"),  # holding, away: carried closed
            (away, CARRY_CLOSURE + 0.05, "closed"),  # the hold's measured closure counts
            (at_goal, 1.0, "search"),  # at the goal: the planner may open them
            (away, CARRY_CLOSURE - 0.05, "search"),  # nothing held: searched
            (away, 1.0, "closed"),  # and back
        ]:
            state = hand.copy()
            state[6] = closure
            action = agent({**observation, "state": state}, info)
            assert controller.spec.searched[6] == (jaws == "search"), (closure, jaws)
            if jaws == "closed":
                assert action[6] == pytest.approx(0.75)
        with pytest.raises(ValueError, match="'carry' needs the goal's state"):
            given = MPCAgent(
                env, controller, subgoal_jaws=["carry"], goal_images=[agent.goals[-1]]
            )
            given.reset(0)
    finally:
        env.close()


def test_grasp_approach_reaches_above_then_down_then_closes_once():
    """``"pick"``'s grasp: open jaws above the grasp point, then on the floor, then one closing
    step there; only where the goal's jaws hold something and the current ones are open. The
    point is under the goal's hand, or under the start's where the start's hand is low."""
    from wm_control.episode import (
        CARRY_CLOSURE,
        PICK_DESCENDING,
        PICK_EMPTY_CLOSURE,
        PICK_HOVER,
        PICK_RADIUS,
        GraspApproach,
    )

    hand, closure, floor = [0, 1, 2], 4, 0.02
    goal = np.array([0.40, -0.10, 0.15, 1.2, 0.56], np.float32)  # OGBench: x y z yaw closure
    start = np.array([0.30, 0.10, 0.25, 0.0, 0.0], np.float32)
    assert GraspApproach.needed(start, goal, closure)
    for goal_closure, start_closure in [(0.0, 0.0), (PICK_EMPTY_CLOSURE, 0.0), (0.56, 0.56)]:
        other, now = goal.copy(), start.copy()
        other[closure], now[closure] = goal_closure, start_closure
        assert not GraspApproach.needed(now, other, closure)  # open goal, empty close, holding
    assert not GraspApproach.needed(start, None, closure)
    assert CARRY_CLOSURE <= goal[closure] < PICK_EMPTY_CLOSURE

    grasp = GraspApproach(start, goal, hand, closure, floor)
    jaws, index, above = grasp.step(start)
    assert (jaws, index) == ("open", 0)
    np.testing.assert_allclose(above, [0.40, -0.10, floor + PICK_HOVER, 1.2, 0.0], atol=1e-6)
    near = above.copy()
    near[0] += 2 * PICK_RADIUS
    assert grasp.step(near)[:2] == ("open", 0)  # not there yet
    near[0] = above[0] + PICK_RADIUS / 2
    jaws, index, down = grasp.step(near)
    assert (jaws, index) == ("open", 1)
    np.testing.assert_allclose(down, [0.40, -0.10, floor, 1.2, 0.0], atol=1e-6)
    assert grasp.step(near)[:2] == ("open", 1)  # still above the floor
    assert grasp.step(down)[:2] == ("closed", 1)  # on the floor: close once, there
    assert grasp.step(down) is None  # then the goal image

    low = start.copy()
    low[2] = floor + PICK_DESCENDING - 0.01  # coming down on the object: grasp under it
    _, _, above = GraspApproach(low, goal, hand, closure, floor).step(low)
    np.testing.assert_allclose(above, [0.30, 0.10, floor + PICK_HOVER, 1.2, 0.0], atol=1e-6)
    low[2] = floor + PICK_DESCENDING + 0.01
    _, _, above = GraspApproach(low, goal, hand, closure, floor).step(low)
    np.testing.assert_allclose(above[:2], goal[:2], atol=1e-6)


def test_pick_needs_the_goal_states_and_a_workspace_floor(reference):
    """``"pick"`` is refused, with the reason, for goal images given without states and for a
    task that declares no workspace box (its grasp goes down to the box's floor)."""
    _, model = reference
    env = gym.make("wm_control/Grasp-v2", image_size=32)
    try:
        controller = _tiny_controller(model)
        env.reset(seed=0)
        goals = env.unwrapped.goal_images()
        with pytest.raises(ValueError, match="'pick' needs the goal's state"):
            MPCAgent(env, controller, subgoal_jaws=["pick"], goal_images=goals[-1:]).reset(0)
        MPCAgent(env, controller, subgoal_jaws=["pick"] * len(goals)).reset(0)  # accepted
        env.unwrapped.workspace = None
        with pytest.raises(ValueError, match="'pick' grasps on the workspace floor, but Grasp"):
            MPCAgent(env, controller, subgoal_jaws=["pick"] * len(goals)).reset(0)
    finally:
        env.close()
