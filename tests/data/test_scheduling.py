"""Recording videos must not leave the process at real-time priority (the AV1 encoder sets it)."""

import os

from wm_control.cli.main import main


def test_collect_keeps_normal_scheduling(tmp_path):
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
    main(
        [
            "collect",
            "env=reach",
            "episodes=1",
            "env.image_size=32",
            f"output_dir={tmp_path / 'ds'}",
            "progress=false",
            f"hydra.run.dir={tmp_path / 'run'}",
        ]
    )
    assert (tmp_path / "ds").is_dir()
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
