"""Compiled (numba) steps of the ``classic`` environments whose numpy form costs more than the
policy: each row in one pass, with gymnasium's operations in gymnasium's order.

No fast-math: sums are not reordered, multiply-adds are not fused, so each row's bits are those
of gymnasium's scalar code (``math.sin``/``cos``/``pow`` are the C library's, as numpy's scalars
use them on CPUs without AVX-512). ``two`` is passed at run time: with the constant 2.0 the
compiler would replace ``pow(x, 2.0)`` by ``x * x``, which is not always the C library's ``pow``.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def pendulum_step(
    th, sin_th, thdot, action, two, g, m, length, dt, max_speed, max_torque
):  # pragma: no cover
    """gymnasium's ``PendulumEnv.step`` per row: (new th, its sine, new thdot, reward,
    observation); ``sin_th``: sin(th), computed by the previous step for its observation."""
    n = th.shape[0]
    new_th, new_sin, new_thdot, reward = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    obs = np.empty((n, 3))
    gain, torque_gain = 3 * g / (2 * length), 3.0 / (m * length**2)
    for i in range(n):
        u = action[i]
        u = -max_torque if u < -max_torque else (max_torque if u > max_torque else u)  # np.clip
        angle = ((th[i] + math.pi) % (2 * math.pi)) - math.pi
        costs = math.pow(angle, two) + 0.1 * math.pow(thdot[i], two) + 0.001 * math.pow(u, two)
        speed = thdot[i] + (gain * sin_th[i] + torque_gain * u) * dt
        speed = -max_speed if speed < -max_speed else (max_speed if speed > max_speed else speed)
        new_thdot[i] = speed
        new_th[i] = th[i] + speed * dt
        reward[i] = -costs
        obs[i, 0] = np.float32(math.cos(new_th[i]))
        new_sin[i] = math.sin(new_th[i])
        obs[i, 1] = np.float32(new_sin[i])
        obs[i, 2] = np.float32(speed)
    return new_th, new_sin, new_thdot, reward, obs
