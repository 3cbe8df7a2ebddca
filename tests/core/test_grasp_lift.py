"""The grasp-lift map: which recorded frames count as a grasp and a lift, the trimmed fit, the file
it is kept in, and ``pick``'s use of it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wm_control.grasp_lift import FORMAT, GraspLift, lift_pairs

FLOOR = 0.02
HELD, OPEN, EMPTY = 0.56, 0.0, 0.98  # OGBench's closures: on the cube, open, closed on nothing
TRUE = np.array([[-0.04, 0.02], [0.01, 0.05], [0.2, -0.07], [0.015, -0.012]])  # [x, y, z, 1] -> dxy


def lifted_xy(grasp: np.ndarray, z: float, weights: np.ndarray) -> np.ndarray:
    """The hand's xy at height ``z`` whose grasp point under ``weights`` is ``grasp`` [2]:
    ``xy + [xy, z, 1] @ W = grasp`` solved for ``xy``."""
    return (grasp - z * weights[2] - weights[3]) @ np.linalg.inv(np.eye(2) + weights[:2])


def episode(grasp: np.ndarray, heights=(0.07, 0.13, 0.2), weights=TRUE) -> np.ndarray:
    """States ``[T, 5]``: the open hand above, down at ``grasp`` on the floor, the jaws closing on
    the cube, then rising through ``heights`` holding it."""
    states = [
        [*grasp, 0.25, 0.0, OPEN],
        [*grasp, FLOOR, 0.0, OPEN],
        [*grasp, FLOOR, 0.0, HELD],
    ]
    states += [[*lifted_xy(grasp, z, weights), z, 0.0, HELD] for z in heights]
    return np.array(states)


def grasps(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform([0.3, -0.3], [0.55, 0.3], (count, 2))


def test_the_fit_recovers_a_known_drift_despite_knocked_lifts() -> None:
    """20 lifts drifting by a known linear map, 2 of them knocked 10 cm off: the trimmed fit finds
    the map, and it sends a lifted hand back to its grasp."""
    points = grasps(20)
    episodes = [episode(p) for p in points]
    for knocked in (episodes[3], episodes[11]):
        knocked[3:, :2] += 0.1
    lift = GraspLift.fit(episodes, floor=FLOOR, frames=2)
    assert lift.lifts == 20 and lift.pairs == 40
    np.testing.assert_allclose(lift.weights, TRUE, atol=1e-9)
    clean = episodes[0]
    np.testing.assert_allclose(lift.grasp_point(clean[4, :3]), points[0], atol=1e-9)
    assert lift.residual < 1e-9 < lift.unfitted


def test_an_untrimmed_fit_would_be_pulled_off_by_the_knocked_lifts() -> None:
    """The counterpart of the test above: a plain least-squares fit of the same pairs is off (so
    the trimming is what recovers the map)."""
    points = grasps(20)
    episodes = [episode(p) for p in points]
    for knocked in (episodes[3], episodes[11]):
        knocked[3:, :2] += 0.1
    lifted, grasped, _ = lift_pairs(episodes, floor=FLOOR, frames=2)
    features = np.concatenate([lifted, np.ones((len(lifted), 1))], axis=1)
    plain = np.linalg.lstsq(features, grasped - lifted[:, :2], rcond=None)[0]
    assert np.abs(plain - TRUE).max() > 1e-3


def test_only_a_holding_hand_rising_from_the_floor_is_a_lift() -> None:
    grasp = np.array([0.4, 0.1])
    lift = episode(grasp)
    empty = lift.copy()
    empty[2:, 4] = EMPTY  # the jaws closed on nothing
    opened = lift.copy()
    opened[2:, 4] = OPEN  # never closed
    high = lift.copy()
    high[1:3, 2] = 0.05  # closed 3 cm over the floor
    still = lift.copy()
    still[3:, 2] = FLOOR + 0.005  # holding, not rising
    for states in (empty, opened, high, still):
        lifted, _, lifts = lift_pairs([states], floor=FLOOR, frames=2)
        assert lifts == 0 and len(lifted) == 0
    lifted, grasped, lifts = lift_pairs([lift], floor=FLOOR, frames=3)
    assert lifts == 1
    np.testing.assert_allclose(lifted, lift[3:6, :3])
    np.testing.assert_allclose(grasped, np.repeat(grasp[None], 3, axis=0))


def test_pairs_stop_where_the_jaws_let_go_or_the_hand_comes_down() -> None:
    let_go = episode(np.array([0.4, 0.1]))
    let_go[4:, 4] = OPEN
    lifted, _, _ = lift_pairs([let_go], floor=FLOOR, frames=3)
    assert len(lifted) == 1  # the first frame up only
    down = episode(np.array([0.4, 0.1]), heights=(0.07, 0.05, 0.2))
    lifted, _, _ = lift_pairs([down], floor=FLOOR, frames=3)
    assert len(lifted) == 1


def test_too_few_lifts_and_bad_states_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 8 grasp-and-lift events.*found 3"):
        GraspLift.fit([episode(p) for p in grasps(3)], floor=FLOOR)
    with pytest.raises(ValueError, match=r"expected states \[T, 5\].*found \(6, 7\)"):
        lift_pairs([np.zeros((6, 7))], floor=FLOOR, frames=2)
    with pytest.raises(ValueError, match="finite weights of shape"):
        GraspLift(np.full((4, 2), np.nan), 1, 1, 0.0, 0.0, {})
    lift = GraspLift(TRUE, 1, 1, 0.0, 0.0, {})
    with pytest.raises(ValueError, match=r"hand position \[3\]"):
        lift.grasp_point([0.4, 0.1])


def test_the_file_round_trips_and_a_foreign_file_is_refused(tmp_path) -> None:
    lift = GraspLift.fit([episode(p) for p in grasps(10)], floor=FLOOR, source={"note": "test"})
    path = lift.save(tmp_path / "lift.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lift.json"]  # no temporary left
    again = GraspLift.load(path)
    np.testing.assert_array_equal(again.weights, lift.weights)
    assert again.source == lift.source and again.pairs == lift.pairs
    values = json.loads(path.read_text())
    (tmp_path / "other.json").write_text(json.dumps({**values, "format": "something else"}))
    with pytest.raises(ValueError, match=f"expected format {FORMAT!r}"):
        GraspLift.load(tmp_path / "other.json")
    damaged = {key: value for key, value in values.items() if key != "weights"}
    (tmp_path / "damaged.json").write_text(json.dumps(damaged))
    with pytest.raises(ValueError, match="a damaged map"):
        GraspLift.load(tmp_path / "damaged.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ValueError, match="found None version None"):
        GraspLift.load(tmp_path / "list.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="expected a JSON file"):
        GraspLift.load(tmp_path / "broken.json")


def test_pick_grasps_where_the_lift_says_unless_the_hand_comes_down_low() -> None:
    from wm_control.episode import PICK_DESCENDING, PICK_HOVER, GraspApproach

    lift = GraspLift(TRUE, 1, 1, 0.0, 0.0, {})
    goal = np.array([0.42, 0.05, 0.15, 0.3, HELD], np.float32)  # the goal's hand holds the cube
    high = np.array([0.3, -0.2, FLOOR + PICK_DESCENDING + 0.05, 0.0, OPEN], np.float32)
    low = np.array([0.3, -0.2, FLOOR + PICK_DESCENDING - 0.05, 0.0, OPEN], np.float32)
    hand, closure = [0, 1, 2], 4
    where = GraspApproach(high, goal, hand, closure, FLOOR, lift).waypoints
    np.testing.assert_allclose(where[0][:2], lift.grasp_point(goal[:3]), atol=1e-6)
    np.testing.assert_allclose(where[1][:2], where[0][:2])
    assert where[0][2] == pytest.approx(FLOOR + PICK_HOVER) and where[1][2] == pytest.approx(FLOOR)
    assert np.abs(where[0][:2] - goal[:2]).max() > 0.01  # the lift moved it
    plain = GraspApproach(high, goal, hand, closure, FLOOR).waypoints
    np.testing.assert_allclose(plain[0][:2], goal[:2])
    coming_down = GraspApproach(low, goal, hand, closure, FLOOR, lift).waypoints
    np.testing.assert_allclose(coming_down[0][:2], low[:2])


def test_the_shipped_map_is_the_fit_of_the_markov_oracles_data() -> None:
    """The shipped map's record: fitted on a 100-episode ``oracle_noisy`` collection (OGBench's
    Markov oracle, the expert that makes protocol (a)'s goals), and it moves the grasp 2-4 cm
    outwards from a hand lifted 10 cm over the middle of the table (the drift it corrects)."""
    from wm_control.cli.image_inputs import REPO_ROOT

    lift = GraspLift.load(REPO_ROOT / "wm_control/pretrained/ogbench_cube/grasp_lift.json")
    (data,) = lift.source["datasets"]
    assert data["policy"] == "oracle_noisy" and data["episodes"] == 100
    assert lift.lifts > 500 and lift.residual < lift.unfitted
    hand = np.array([0.45, -0.2, 0.12])
    shift = lift.grasp_point(hand) - hand[:2]
    assert 0.02 < np.linalg.norm(shift) < 0.04 and shift[0] > 0  # away from the arm's base


@pytest.mark.slow
def test_the_command_fits_a_real_oracle_recording(ogbench_markov_recording, tmp_path) -> None:
    """`python -m wm_control.grasp_lift` on one real episode of OGBench's Markov oracle (the first
    of the shipped map's data: `collect policy=oracle_noisy seed=100000`): it finds the lifts in
    the recorded states, brings the lifted hands back to their grasps better than taking the hand
    as the grasp, records its data and command, and writes nothing else."""
    from wm_control.grasp_lift import main

    out = tmp_path / "maps" / "lift.json"
    main(["--data", str(ogbench_markov_recording), "--out", str(out)])
    assert sorted(p.name for p in out.parent.iterdir()) == ["lift.json"]
    lift = GraspLift.load(out)
    assert lift.lifts >= 8 and lift.residual < 0.5 * lift.unfitted
    (recording,) = lift.source["datasets"]
    assert recording["policy"] == "oracle_noisy" and recording["seed"] == 100000
    assert recording["episodes"] == 1 and lift.source["command"].endswith(str(out))
    hand = np.array([0.45, -0.2, 0.12])
    assert lift.grasp_point(hand)[0] > hand[0]  # the drift was towards the arm's base
