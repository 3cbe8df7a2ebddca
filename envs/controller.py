"""Cartesian end-effector control of the arm by differential inverse kinematics.

Each control step the environment asks :class:`DifferentialIK` for the joint configuration that puts
the ``ee`` site at a target pose (damped least squares on the site Jacobian, iterated on a scratch
``MjData`` so the simulation state is untouched, with a null-space pull towards the rest posture
and joint limits enforced), then the joint position servos track a ramp to that configuration over
the physics substeps of the control step.

The arm has seven joints for a six-dimensional pose: the null-space pull decides the spare
freedom (the elbow), and it runs until it has settled, not only until the pose is reached. So the
joints are a function of the end-effector pose rather than of the path that led there, and a goal
image rendered for a pose shows the arm as the controller will hold it there (with a pull stopped
at the pose, two paths to one pose differed by 0.14 rad in a joint, and a planner settled up to
3 cm away from a goal pose whose elbow it could not match).
"""

from __future__ import annotations

import mujoco
import numpy as np

from envs.rotations import rotation_log
from envs.scene import ARM_JOINT_RANGES, HOME_QPOS


POSTURE_TOLERANCE = 1e-4
"""Largest joint step (rad) of the null-space pull at which a solve counts as converged."""


class DifferentialIK:
    """Damped-least-squares IK of the 7 arm joints for the pose of one site.

    Args:
        model: the compiled scene; the arm joints must be ``joint1`` .. ``joint7``.
        site: name of the controlled site.
        damping: DLS damping lambda (m); larger is smoother near singularities, slower to converge.
        max_iterations: Newton iterations per solve.
        tolerance: stop when the pose error norm (m and rad stacked) is below this and the
            null-space step below ``POSTURE_TOLERANCE``.
        nullspace_gain: fraction of the gap to the rest posture closed per iteration in the
            Jacobian's null space.
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        site: str = "ee",
        damping: float = 0.02,
        max_iterations: int = 50,
        tolerance: float = 2e-4,
        nullspace_gain: float = 0.3,
    ) -> None:
        self._model = model
        self._data = mujoco.MjData(model)
        self._site_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, site)
        if self._site_id < 0:
            raise ValueError(f"DifferentialIK: the model has no site named {site!r}")
        joint_ids = [
            mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, f"joint{i + 1}") for i in range(7)
        ]
        self.qpos_indices = np.array([model.jnt_qposadr[j] for j in joint_ids])
        self.dof_indices = np.array([model.jnt_dofadr[j] for j in joint_ids])
        self._damping_eye = damping**2 * np.eye(6)
        self._eye7 = np.eye(7)
        self._jac = np.zeros((6, 7))
        self._max_iterations = max_iterations
        self._tolerance = tolerance
        self._nullspace_gain = nullspace_gain
        margin = 1e-3
        self._low = ARM_JOINT_RANGES[:, 0] + margin
        self._high = ARM_JOINT_RANGES[:, 1] - margin
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))

    def site_pose(self, qpos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward kinematics: full ``qpos`` (nq,) -> site position (3,) and rotation (3, 3)."""
        self._data.qpos[:] = qpos
        mujoco.mj_kinematics(self._model, self._data)
        site = self._data.site(self._site_id)
        return site.xpos.copy(), site.xmat.reshape(3, 3).copy()

    def solve(
        self,
        qpos: np.ndarray,
        target_position: np.ndarray,
        target_rotation: np.ndarray,
    ) -> tuple[np.ndarray, float]:
        """Arm joint angles (7,) reaching the target pose, and the remaining pose error norm.

        Args:
            qpos: full configuration (nq,) to start from; non-arm entries are kept fixed.
            target_position: site position (3,) in the base frame (m).
            target_rotation: site rotation matrix (3, 3) in the base frame.
        """
        data = self._data
        data.qpos[:] = qpos
        q = data.qpos[self.qpos_indices].copy()
        jac = self._jac
        error = np.empty(6)
        error_norm = np.inf
        for _ in range(self._max_iterations):
            data.qpos[self.qpos_indices] = q
            mujoco.mj_kinematics(self._model, data)
            mujoco.mj_comPos(self._model, data)
            error[:3] = target_position - data.site_xpos[self._site_id]
            site_rotation = data.site_xmat[self._site_id].reshape(3, 3)
            error[3:] = rotation_log(target_rotation @ site_rotation.T)
            error_norm = float(np.sqrt(error @ error))
            mujoco.mj_jacSite(self._model, data, self._jacp, self._jacr, self._site_id)
            jac[:3] = self._jacp[:, self.dof_indices]
            jac[3:] = self._jacr[:, self.dof_indices]
            pinv = jac.T @ np.linalg.inv(jac @ jac.T + self._damping_eye)  # (7, 6)
            posture = (self._eye7 - pinv @ jac) @ (self._nullspace_gain * (HOME_QPOS - q))
            if error_norm < self._tolerance and float(np.abs(posture).max()) < POSTURE_TOLERANCE:
                break
            q = np.clip(q + pinv @ error + posture, self._low, self._high)
        return q, error_norm
