"""Lean MuJoCo steps (plugins/tasks/mujoco_steps.py) give gymnasium's own steps bit for bit:
observation, reward and termination, every step, on random reset seeds and actions, with the
environments' options changed too; and the ``gym`` task's episodes are the same with them."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from esenas_plugins.tasks.mujoco_steps import _builder, agrees, lean_step

from esenas_core.api.plugins import get_registries

pytestmark = pytest.mark.slow  # MuJoCo: `make test` only

CASES = [
    ("Swimmer-v5", {}),
    ("Swimmer-v5", {"exclude_current_positions_from_observation": False, "ctrl_cost_weight": 0.3}),
    ("HalfCheetah-v5", {}),
    ("HalfCheetah-v5", {"forward_reward_weight": 0.7, "reset_noise_scale": 0.5}),
    ("Hopper-v5", {}),
    ("Hopper-v5", {"terminate_when_unhealthy": False, "healthy_reward": 0.5}),
    (
        "Hopper-v5",
        {"healthy_z_range": (1.0, 1.3), "exclude_current_positions_from_observation": False},
    ),
    ("Walker2d-v5", {}),
    ("Walker2d-v5", {"terminate_when_unhealthy": False, "healthy_angle_range": (-0.5, 0.5)}),
]


def bits(x) -> bytes:
    return np.asarray(x, dtype=np.float64).tobytes()


@pytest.mark.parametrize(("env_id", "kwargs"), CASES)
def test_every_step_equals_gymnasium_s(env_id, kwargs) -> None:
    plain = gym.make(env_id, **kwargs).unwrapped
    lean_env = gym.make(env_id, **kwargs).unwrapped
    step = lean_step(lean_env)
    assert step is not None
    rng = np.random.default_rng(sum(map(ord, env_id)) + len(kwargs))
    shape = plain.action_space.shape
    steps = terminations = 0
    episode = 0
    while steps < 1500:  # Hopper and Walker2d fall within tens of steps under random actions
        episode += 1
        seed = int(rng.integers(2**31))
        a, _ = plain.reset(seed=seed)
        b, _ = lean_env.reset(seed=seed)
        assert bits(a) == bits(b)
        scale = (0.3, 1.0, 1.5)[episode % 3]  # gentle, full-range and out-of-range actions
        for _ in range(300):
            action = rng.uniform(-scale, scale, shape)
            want = plain.step(action)
            got = step(action.copy())
            assert bits(got[0]) == bits(want[0]), f"{env_id} observation, step {steps}"
            assert bits(got[1]) == bits(want[1]), f"{env_id} reward, step {steps}"
            assert bool(got[2]) == bool(want[2]) and got[3] is False is bool(want[3])
            steps += 1
            if want[2]:
                terminations += 1
                break
    if env_id in ("Hopper-v5", "Walker2d-v5") and kwargs.get("terminate_when_unhealthy", True):
        assert terminations > 0  # the case the balancing environments are for


def test_other_environments_and_rendering_keep_gymnasium_s_step() -> None:
    assert lean_step(gym.make("Ant-v5").unwrapped) is None
    assert lean_step(gym.make("Pendulum-v1").unwrapped) is None
    assert lean_step(gym.make("Hopper-v5", render_mode="rgb_array").unwrapped) is None


class LongerHopper(type(gym.make("Hopper-v5").unwrapped)):  # a subclass: not the same step
    pass


def test_a_subclass_keeps_its_own_step() -> None:
    env = gym.make("Hopper-v5").unwrapped
    env.__class__ = LongerHopper
    assert lean_step(env) is None


@pytest.mark.parametrize("env_id", ["Swimmer-v5", "Hopper-v5"])
def test_the_gym_task_gives_the_same_episodes_with_and_without_lean_steps(env_id) -> None:
    reg = get_registries()
    opts = {"env_id": env_id, "max_episode_steps": 120, "lockstep": 3}
    lean, plain = reg.create("task", "gym", opts), reg.create("task", "gym", opts)
    plain.lean_steps = False
    space = reg.create(
        "search_space", "edges", {"hidden": [8], "mode": "residual", "k": 40}, lean.spec()
    )
    rng = np.random.default_rng(1)
    count = 5
    params = 0.4 * rng.normal(size=(count, space.num_params))
    archs = [space.decode(g) for g in space.decisions.sample(rng, count)]
    dim = lean.spec().obs_dim
    mean, std = 0.1 * rng.normal(size=dim), rng.uniform(0.5, 2.0, dim)
    seeds = [7 * i + 3 for i in range(count)]
    got = lean.run_episodes(space, params, archs, seeds, mean, std)
    want = plain.run_episodes(space, params, archs, seeds, mean, std)
    for g, w in zip(got, want, strict=True):
        assert (g.steps, g.obs_count) == (w.steps, w.obs_count)
        assert bits(g.reward) == bits(w.reward)
        assert bits(g.obs_mean) == bits(w.obs_mean) and bits(g.obs_m2) == bits(w.obs_m2)
    if env_id == "Hopper-v5":
        assert min(e.steps for e in got) < 120  # early terminations were compared too


def test_the_probe_refuses_steps_one_bit_off_and_no_spec_means_gymnasium_s_step() -> None:
    env = gym.make("Hopper-v5")
    build = _builder(env.unwrapped)
    assert build is not None and agrees(env.spec, build)

    def one_ulp_off(e):
        step = build(e)

        def off(action):
            obs, reward, terminated, truncated, info = step(action)
            return obs, np.nextafter(reward, np.inf), terminated, truncated, info

        return off

    assert not agrees(env.spec, one_ulp_off)
    assert not agrees(env.spec, lambda e: lambda action: (None, 0.0, False, False, {}))
    bare = type(env.unwrapped)()  # made without gym.make: no spec to probe
    assert bare.spec is None and lean_step(bare) is None
