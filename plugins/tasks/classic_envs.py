"""gymnasium's classic-control environments as arrays (``VectorEnv``s of the ``classic`` task).

Each one transcribes gymnasium's ``step`` and ``reset`` (gymnasium/envs/classic_control) operation
by operation, with the same constants, the same order of floating-point operations and the same
dtypes (float32 observations; MountainCarContinuous keeps its state in float32 after the first
step; Acrobot starts from a float32 state). Elementwise numpy arithmetic is correctly rounded, so
it matches gymnasium's scalar arithmetic bit for bit; the transcendental functions and scalar
``x ** 2`` (the C library's ``pow``) go through ``esenas_core.fixedmath``, which calls the C
library's scalar functions, as numpy's scalars do on CPUs without AVX-512 (docs/tasks.md#classic).

Each episode's start state is drawn exactly as gymnasium's ``reset(seed=s)`` draws it: a fresh
``np.random.Generator(PCG64(s))`` (``gymnasium.utils.seeding.np_random``) and its ``uniform``,
computed for the whole batch by ``esenas_core.seeded_doubles``.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from esenas_core import TaskSpec, VectorEnv, fixedmath, seeded_doubles

cos, sin = fixedmath.cos, fixedmath.sin


def _sq(x: np.ndarray) -> np.ndarray:
    """``x ** 2`` of a numpy float64 scalar, elementwise (the C library's ``pow``)."""
    return fixedmath.power(x, 2.0)


def _draws(
    seeds: np.ndarray, low: Any, high: Any, size: tuple[int, ...] | None = None
) -> np.ndarray:
    """(B, …) start draws: row i is ``np_random(seeds[i]).uniform(low, high, size)``.

    ``Generator.uniform`` computes ``low + (high - low) * u`` from the generator's next doubles
    u (``esenas_core.seeded_doubles`` draws them for the whole batch), here once for the batch
    (tests/test_classic.py checks it against gymnasium)."""
    low_a, high_a = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    shape = np.broadcast_shapes(low_a.shape, high_a.shape) if size is None else size
    u = seeded_doubles(seeds, int(np.prod(shape))).reshape((len(seeds), *shape))
    return low_a + (high_a - low_a) * u


def _f32(*columns: np.ndarray) -> np.ndarray:
    """Observations as gymnasium returns them (float32), widened to float64 for the policy."""
    return np.stack(columns, axis=1).astype(np.float32).astype(np.float64)


class Pendulum(VectorEnv):
    max_speed, max_torque, dt, g, m, l = 8, 2.0, 0.05, 10.0, 1.0, 1.0  # noqa: E741

    def spec(self) -> TaskSpec:
        return TaskSpec(3, 1, action_low=(-2.0,), action_high=(2.0,))

    def reset(self, seeds: np.ndarray) -> dict:
        state = _draws(seeds, -np.array([np.pi, 1.0]), np.array([np.pi, 1.0]))
        th, thdot = state[:, 0], state[:, 1]
        sin_th = sin(th)
        return {"th": th, "sin": sin_th, "thdot": thdot, "obs": _f32(cos(th), sin_th, thdot)}

    def observe(self, state: dict) -> np.ndarray:
        return state["obs"]

    def step(self, state: dict, actions: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray]:
        from .classic_kernels import pendulum_step  # numba: imported when first used

        th, sin_th, thdot, reward, obs = pendulum_step(
            state["th"], state["sin"], state["thdot"],
            np.ascontiguousarray(actions[:, 0], dtype=np.float64),
            2.0, float(self.g), float(self.m), float(self.l), float(self.dt),
            float(self.max_speed), float(self.max_torque),
        )  # fmt: skip
        state = {"th": th, "sin": sin_th, "thdot": thdot, "obs": obs}
        return state, reward, np.zeros(len(th), dtype=bool)


class CartPole(VectorEnv):
    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    total_mass = masspole + masscart
    polemass_length = masspole * length
    theta_threshold_radians = 12 * 2 * math.pi / 360
    x_threshold = 2.4

    def spec(self) -> TaskSpec:
        return TaskSpec(4, 2, discrete=True)

    def reset(self, seeds: np.ndarray) -> dict:
        return {"s": _draws(seeds, -0.05, 0.05, (4,))}

    def observe(self, state: dict) -> np.ndarray:
        return state["s"].astype(np.float32).astype(np.float64)

    def step(self, state: dict, actions: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray]:
        s = state["s"]
        x, x_dot, theta, theta_dot = s[:, 0], s[:, 1], s[:, 2], s[:, 3]
        force = np.where(actions == 1, self.force_mag, -self.force_mag)
        costheta, sintheta = cos(theta), sin(theta)
        temp = (force + self.polemass_length * np.square(theta_dot) * sintheta) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * np.square(costheta) / self.total_mass)
        )
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass
        x = x + self.tau * x_dot
        x_dot = x_dot + self.tau * xacc
        theta = theta + self.tau * theta_dot
        theta_dot = theta_dot + self.tau * thetaacc
        terminated = (
            (x < -self.x_threshold)
            | (x > self.x_threshold)
            | (theta < -self.theta_threshold_radians)
            | (theta > self.theta_threshold_radians)
        )
        s = np.stack((x, x_dot, theta, theta_dot), axis=1)
        return {"s": s}, np.ones(len(x)), terminated


class MountainCar(VectorEnv):
    min_position, max_position, max_speed, goal_position = -1.2, 0.6, 0.07, 0.5
    goal_velocity, force, gravity = 0, 0.001, 0.0025

    def spec(self) -> TaskSpec:
        return TaskSpec(2, 3, discrete=True)

    def reset(self, seeds: np.ndarray) -> dict:
        return {"pos": _draws(seeds, -0.6, -0.4), "vel": np.zeros(len(seeds))}

    def observe(self, state: dict) -> np.ndarray:
        return _f32(state["pos"], state["vel"])

    def step(self, state: dict, actions: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray]:
        position, velocity = state["pos"], state["vel"]
        velocity = velocity + ((actions - 1) * self.force + cos(3 * position) * (-self.gravity))
        velocity = np.clip(velocity, -self.max_speed, self.max_speed)
        position = np.clip(position + velocity, self.min_position, self.max_position)
        velocity = np.where((position == self.min_position) & (velocity < 0), 0.0, velocity)
        terminated = (position >= self.goal_position) & (velocity >= self.goal_velocity)
        return {"pos": position, "vel": velocity}, np.full(len(position), -1.0), terminated


class MountainCarContinuous(VectorEnv):
    min_action, max_action, min_position, max_position = -1.0, 1.0, -1.2, 0.6
    max_speed, goal_position, goal_velocity, power = 0.07, 0.45, 0, 0.0015

    def spec(self) -> TaskSpec:
        return TaskSpec(2, 1, action_low=(-1.0,), action_high=(1.0,))

    def reset(self, seeds: np.ndarray) -> dict:
        # float64 until the first step; gymnasium then keeps the state as float32
        return {"pos": _draws(seeds, -0.6, -0.4), "vel": np.zeros(len(seeds))}

    def observe(self, state: dict) -> np.ndarray:
        return _f32(state["pos"], state["vel"])

    def step(self, state: dict, actions: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray]:
        """gymnasium's step, whose arithmetic changes dtype with its operands: the state is
        float32 after the first step, and a value that Python's ``min``/``max`` or a clamp
        replaced by a Python float is a *weak* scalar, so numpy then adds (and compares) in
        float32. Each row tracks which of float64 / float32 its operands have."""
        pos, vel, action = state["pos"], state["vel"], actions[:, 0]
        first = pos.dtype == np.float64  # reset's state; float32 from the first step on
        force = np.where(self.min_action > action, self.min_action, action)  # Python's max()
        force = np.where(self.max_action < force, self.max_action, force)  # and min()
        term = force * self.power - 0.0025 * cos((3 * pos).astype(np.float64))
        # velocity + term: float32 where the state is float32 and force a Python float
        v32 = np.zeros(len(pos), dtype=bool) if first else force != action
        velocity = np.where(v32, _add32(vel, term), vel.astype(np.float64) + term)
        over = _cmp(operator.gt, velocity, self.max_speed, v32)
        velocity = np.where(over, self.max_speed, velocity)
        under = ~over & _cmp(operator.lt, velocity, -self.max_speed, v32)
        velocity = np.where(under, -self.max_speed, velocity)
        weak_v = over | under  # a Python float now
        v32 &= ~weak_v
        # position + velocity: float32 unless both are float64 (the first step: always float64)
        p32 = np.zeros(len(pos), dtype=bool) if first else v32 | weak_v
        position = np.where(p32, _add32(pos, velocity), pos.astype(np.float64) + velocity)
        over = _cmp(operator.gt, position, self.max_position, p32)
        position = np.where(over, self.max_position, position)
        under = ~over & _cmp(operator.lt, position, self.min_position, p32)
        position = np.where(under, self.min_position, position)
        p32 &= ~(over | under)
        at_wall = _cmp(operator.eq, position, self.min_position, p32) & (velocity < 0)
        velocity = np.where(at_wall, 0.0, velocity)
        terminated = _cmp(operator.ge, position, self.goal_position, p32) & (
            velocity >= self.goal_velocity
        )
        reward = np.where(terminated, 100.0, 0.0) - _sq(action) * 0.1
        state = {"pos": position.astype(np.float32), "vel": velocity.astype(np.float32)}
        return state, reward, terminated


def _add32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a + b`` in float32 arithmetic (numpy's float32 + a weak Python float), as float64."""
    return (a.astype(np.float32) + b.astype(np.float32)).astype(np.float64)


def _cmp(op: Any, a: np.ndarray, b: float, in32: np.ndarray) -> np.ndarray:
    """``op(a, b)``, compared in float32 on rows ``in32`` (a float32 value and a Python float
    compare in float32 under NEP 50)."""
    return np.where(in32, op(a.astype(np.float32), np.float32(b)), op(a, b))


class Acrobot(VectorEnv):
    dt = 0.2
    LINK_LENGTH_1 = LINK_LENGTH_2 = LINK_MASS_1 = LINK_MASS_2 = LINK_MOI = 1.0
    LINK_COM_POS_1 = LINK_COM_POS_2 = 0.5
    MAX_VEL_1, MAX_VEL_2 = 4 * np.pi, 9 * np.pi
    AVAIL_TORQUE = np.array([-1.0, 0.0, +1])

    def spec(self) -> TaskSpec:
        return TaskSpec(6, 3, discrete=True)

    def reset(self, seeds: np.ndarray) -> dict:
        return {"s": _draws(seeds, -0.1, 0.1, (4,)).astype(np.float32)}

    def observe(self, state: dict) -> np.ndarray:
        s = state["s"]
        if s.dtype == np.float32:  # the start state: gymnasium takes numpy's float32 sin and cos
            return _f32(np.cos(s[:, 0]), np.sin(s[:, 0]), np.cos(s[:, 1]), np.sin(s[:, 1]),
                        s[:, 2], s[:, 3])  # fmt: skip
        return _f32(cos(s[:, 0]), sin(s[:, 0]), cos(s[:, 1]), sin(s[:, 1]), s[:, 2], s[:, 3])

    def step(self, state: dict, actions: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray]:
        s = state["s"].astype(np.float64)
        y = [s[:, 0], s[:, 1], s[:, 2], s[:, 3], self.AVAIL_TORQUE[actions]]
        ns = self._rk4(y)
        ns[0] = _wrap(ns[0], -np.pi, np.pi)
        ns[1] = _wrap(ns[1], -np.pi, np.pi)
        ns[2] = _bound(ns[2], -self.MAX_VEL_1, self.MAX_VEL_1)
        ns[3] = _bound(ns[3], -self.MAX_VEL_2, self.MAX_VEL_2)
        terminated = -cos(ns[0]) - cos(ns[1] + ns[0]) > 1.0
        reward = np.where(terminated, 0.0, -1.0)
        return {"s": np.stack(ns, axis=1)}, reward, terminated

    def _rk4(self, y0: list[np.ndarray]) -> list[np.ndarray]:
        """gymnasium's ``rk4(self._dsdt, s_augmented, [0, self.dt])``, per component."""
        dt = self.dt - 0
        dt2 = dt / 2.0
        k1 = self._dsdt(y0)
        k2 = self._dsdt([a + dt2 * k for a, k in zip(y0, k1, strict=True)])
        k3 = self._dsdt([a + dt2 * k for a, k in zip(y0, k2, strict=True)])
        k4 = self._dsdt([a + dt * k for a, k in zip(y0, k3, strict=True)])
        return [y0[i] + dt / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]) for i in range(4)]

    def _dsdt(self, s_augmented: list[np.ndarray]) -> list[np.ndarray]:
        m1, m2 = self.LINK_MASS_1, self.LINK_MASS_2
        l1 = self.LINK_LENGTH_1
        lc1, lc2 = self.LINK_COM_POS_1, self.LINK_COM_POS_2
        I1 = I2 = self.LINK_MOI
        g = 9.8
        theta1, theta2, dtheta1, dtheta2, a = s_augmented
        d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * cos(theta2)) + I1 + I2
        d2 = m2 * (lc2**2 + l1 * lc2 * cos(theta2)) + I2
        phi2 = m2 * lc2 * g * cos(theta1 + theta2 - np.pi / 2.0)
        phi1 = (
            -m2 * l1 * lc2 * _sq(dtheta2) * sin(theta2)
            - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin(theta2)
            + (m1 * lc1 + m2 * l1) * g * cos(theta1 - np.pi / 2)
            + phi2
        )
        ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * _sq(dtheta1) * sin(theta2) - phi2) / (
            m2 * lc2**2 + I2 - _sq(d2) / d1
        )
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
        return [dtheta1, dtheta2, ddtheta1, ddtheta2, np.zeros_like(a)]


def _wrap(x: np.ndarray, m: float, big_m: float) -> np.ndarray:
    """gymnasium's ``wrap``: subtract / add the period until x lies in [m, M]."""
    diff = big_m - m
    x = x.copy()
    while (above := x > big_m).any():
        x[above] = x[above] - diff
    while (below := x < m).any():
        x[below] = x[below] + diff
    return x


def _bound(x: np.ndarray, m: float, big_m: float) -> np.ndarray:
    """gymnasium's ``bound``: ``min(max(x, m), M)`` with Python's ``max``/``min``."""
    x = np.where(m > x, m, x)
    return np.where(big_m < x, big_m, x)


ENVS: dict[str, type[VectorEnv]] = {
    "Pendulum-v1": Pendulum,
    "CartPole-v1": CartPole,
    "MountainCar-v0": MountainCar,
    "MountainCarContinuous-v0": MountainCarContinuous,
    "Acrobot-v1": Acrobot,
}
