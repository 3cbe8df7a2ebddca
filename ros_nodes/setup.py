"""colcon (ament_python) build of the wm_control_ros package.

The launch files and robot configs live at the repository root (``../launch``,
``../configs/robot``); they are installed to ``share/wm_control_ros/{launch,configs/robot}`` so that
the launch files find their default parameter files next to them in both layouts.
"""

from glob import glob

from setuptools import setup

PACKAGE = "wm_control_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=[PACKAGE],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml", "README.md"]),
        (f"share/{PACKAGE}/launch", sorted(glob("../launch/*_launch.py"))),
        (f"share/{PACKAGE}/configs/robot", sorted(glob("../configs/robot/*.yaml"))),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="wm-control maintainers",
    maintainer_email="maintainers@wm-control.invalid",
    description="ROS 2 nodes of wm-control: world-model MPC planner and simulated MuJoCo arm.",
    license="MIT",
    entry_points={
        "console_scripts": [
            f"sim_arm = {PACKAGE}.sim_arm:main",
            f"planner = {PACKAGE}.planner:main",
        ],
    },
)
