"""Lean steps for gymnasium's v5 MuJoCo locomotion environments (Swimmer, HalfCheetah, Hopper,
Walker2d): the environment's own ``step`` without its per-call bookkeeping — the info dict (and
the norm it computes for it), property lookups, the action-shape check — doing the same
arithmetic in the same order on the same ``MjData``. So the same observation, reward and
termination bits as gymnasium's ``step`` (tests/test_mujoco_steps.py compares every step), at
0.69–0.96 of its time per step (docs/benchmarks.md#lean-mujoco-steps).

``lean_step(env)`` gives the lean ``step`` of an unwrapped environment, or None for any other
environment or class (a subclass, a render mode): those keep gymnasium's ``step``. Resets stay
gymnasium's. A lean step returns gymnasium's 5-tuple with an empty info dict (the lockstep loop
reads no info).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Step = Callable[[np.ndarray], tuple[np.ndarray, Any, bool, bool, dict]]


def lean_step(env: Any) -> Step | None:
    """The lean ``step`` of the unwrapped gymnasium environment ``env``, or None."""
    if getattr(env, "render_mode", None) is not None:
        return None
    try:
        import mujoco
        from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
        from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
        from gymnasium.envs.mujoco.swimmer_v5 import SwimmerEnv
        from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv
    except Exception:  # no mujoco wheel, or a gymnasium without these modules
        return None
    kind = type(env)
    excluded = bool(getattr(env, "_exclude_current_positions_from_observation", False))
    if kind is SwimmerEnv:  # x and y are left out of the observation
        return _running(env, mujoco, skip=2 if excluded else 0)
    if kind is HalfCheetahEnv:
        return _running(env, mujoco, skip=1 if excluded else 0)
    if kind is HopperEnv:
        return _balancing(env, mujoco, state_range=True)
    if kind is Walker2dEnv:
        return _balancing(env, mujoco, state_range=False)
    return None


def _running(env: Any, mujoco: Any, skip: int) -> Step:
    """Swimmer-v5 and HalfCheetah-v5: forward velocity minus the control cost, never
    terminated. (Swimmer's step computes the x and y velocities as one array: the x element is
    the same division.)"""
    model, data, frames = env.model, env.data, env.frame_skip
    qpos, qvel, ctrl = data.qpos, data.qvel, data.ctrl
    dt = env.dt
    forward, control = env._forward_reward_weight, env._ctrl_cost_weight
    mj_step, post = mujoco.mj_step, mujoco.mj_rnePostConstraint
    square, total, concatenate = np.square, np.add.reduce, np.concatenate

    def step(action: np.ndarray) -> tuple[np.ndarray, Any, bool, bool, dict]:
        before = qpos[0]
        ctrl[:] = action
        mj_step(model, data, nstep=frames)
        post(model, data)
        x_velocity = (qpos[0] - before) / dt
        observation = concatenate((qpos[skip:], qvel))
        reward = forward * x_velocity - control * total(square(action))
        return observation, reward, False, False, {}

    return step


def _balancing(env: Any, mujoco: Any, state_range: bool) -> Step:
    """Hopper-v5 and Walker2d-v5: forward velocity plus the healthy reward minus the control
    cost, terminated when unhealthy (if ``terminate_when_unhealthy``); velocities in the
    observation clipped to ±10."""
    model, data, frames = env.model, env.data, env.frame_skip
    qpos, qvel, ctrl = data.qpos, data.qvel, data.ctrl
    dt = env.dt
    forward, control = env._forward_reward_weight, env._ctrl_cost_weight
    healthy_reward, terminate = env._healthy_reward, env._terminate_when_unhealthy
    min_z, max_z = env._healthy_z_range
    min_angle, max_angle = env._healthy_angle_range
    min_state, max_state = env._healthy_state_range if state_range else (None, None)
    skip = 1 if env._exclude_current_positions_from_observation else 0
    mj_step, post = mujoco.mj_step, mujoco.mj_rnePostConstraint
    square, total, concatenate, clip = np.square, np.add.reduce, np.concatenate, np.clip

    def healthy() -> bool:
        z, angle = qpos[1:3]
        ok = min_z < z < max_z and min_angle < angle < max_angle
        if ok and state_range:
            state = concatenate((qpos, qvel))[2:]
            ok = bool(np.all(np.logical_and(min_state < state, state < max_state)))
        return ok

    def step(action: np.ndarray) -> tuple[np.ndarray, Any, bool, bool, dict]:
        # the first lines are _running's: a shared helper would cost a call per step
        before = qpos[0]
        ctrl[:] = action
        mj_step(model, data, nstep=frames)
        post(model, data)
        x_velocity = (qpos[0] - before) / dt
        observation = concatenate((qpos[skip:], clip(qvel, -10, 10)))
        is_healthy = healthy()
        reward = (forward * x_velocity + is_healthy * healthy_reward) - control * total(
            square(action)
        )
        return observation, reward, (not is_healthy) and terminate, False, {}

    return step
