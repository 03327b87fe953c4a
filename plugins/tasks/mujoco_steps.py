"""Lean steps for gymnasium's v5 MuJoCo locomotion environments (Swimmer, HalfCheetah, Hopper,
Walker2d): the environment's own ``step`` without its per-call bookkeeping — the info dict (and
the norm it computes for it), property lookups, the action-shape check — doing the same
arithmetic in the same order on the same ``MjData``. So the same observation, reward and
termination bits as gymnasium's ``step`` (tests/test_mujoco_steps.py compares every step), at
0.69–0.96 of its time per step (docs/benchmarks.md#lean-mujoco-steps).

``lean_step(env)`` gives the lean ``step`` of an unwrapped environment, or None for any other
environment or class (a subclass, a render mode, no spec) and wherever a probe finds that the
installed gymnasium computes otherwise: those keep gymnasium's ``step``. Resets stay
gymnasium's. A lean step returns gymnasium's 5-tuple with an empty info dict (the lockstep loop
reads no info).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

Step = Callable[[np.ndarray], tuple[np.ndarray, Any, bool, bool, dict]]


def lean_step(env: Any) -> Step | None:
    """The lean ``step`` of the unwrapped gymnasium environment ``env``, or None (then use
    ``env.step``). Once per process and environment spec, a probe checks that the lean steps give
    this gymnasium's bits (``agrees``); where they do not, gymnasium's ``step`` is kept."""
    build = _builder(env)
    if build is None or env.spec is None:
        return None
    key = (env.spec.id, repr(sorted(env.spec.kwargs.items())))
    if key not in _AGREES:
        _AGREES[key] = agrees(env.spec, build)
    return build(env) if _AGREES[key] else None


_AGREES: dict[tuple[str, str], bool] = {}
PROBE_STEPS = 60


def agrees(spec: Any, build: Callable[[Any], Step]) -> bool:
    """Whether ``build``'s steps give the bits of gymnasium's own ``step`` over PROBE_STEPS
    steps of two fresh environments made from ``spec`` (fixed reset seeds and actions; an
    episode that ends is reset). A gymnasium whose environments compute otherwise fails it."""
    import gymnasium as gym

    plain, lean = gym.make(spec).unwrapped, gym.make(spec).unwrapped
    try:
        step = build(lean)
        rng = np.random.default_rng(20261208)
        shape = plain.action_space.shape
        plain.reset(seed=7)
        lean.reset(seed=7)
        for t in range(PROBE_STEPS):
            action = rng.uniform(-1.0, 1.0, shape)
            want, got = plain.step(action), step(action.copy())
            same = (
                np.asarray(got[0], dtype=np.float64).tobytes()
                == np.asarray(want[0], dtype=np.float64).tobytes()
                and np.float64(got[1]).tobytes() == np.float64(want[1]).tobytes()
                and bool(got[2]) == bool(want[2])
            )
            if not same:
                return False
            if want[2]:
                plain.reset(seed=t)
                lean.reset(seed=t)
        return True
    except Exception:  # a gymnasium without the attributes the lean steps read
        return False
    finally:
        plain.close()
        lean.close()


def _builder(env: Any) -> Callable[[Any], Step] | None:
    """The lean-step builder for ``env``'s exact class, or None."""
    if getattr(env, "render_mode", None) is not None:
        return None
    return _builders().get(type(env))


@functools.cache
def _builders() -> dict[type, Callable[[Any], Step]]:
    """Class → lean-step builder, made once per process (empty without mujoco)."""
    try:
        import mujoco
        from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
        from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
        from gymnasium.envs.mujoco.swimmer_v5 import SwimmerEnv
        from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv
    except Exception:  # no mujoco wheel, or a gymnasium without these modules
        return {}
    return {
        SwimmerEnv: lambda e: _running(e, mujoco, skip=2 if _excluded(e) else 0),  # x and y
        HalfCheetahEnv: lambda e: _running(e, mujoco, skip=1 if _excluded(e) else 0),
        HopperEnv: lambda e: _balancing(e, mujoco, state_range=True),
        Walker2dEnv: lambda e: _balancing(e, mujoco, state_range=False),
    }


def _excluded(env: Any) -> bool:
    return bool(env._exclude_current_positions_from_observation)


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
