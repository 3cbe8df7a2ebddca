"""ROS 2 nodes of wm-control: ``planner`` (world-model MPC) and ``sim_arm`` (MuJoCo arm).

The nodes are thin adapters: message <-> array conversion lives in :mod:`.conversions`, command
safety in :mod:`.safety` and :mod:`.watchdog`, planning in :mod:`wm_control.planning`, the
simulation in :mod:`envs`.
"""
