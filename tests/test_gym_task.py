"""The ``gym`` task's lockstep rollouts equal a plain gymnasium loop, episode by episode."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from esenas_core.api.actions import ActionMap
from esenas_core.api.plugins import get_registries

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only


def plain_episode(env_id, max_steps, space, params, arch, seed, mean, std):
    """What a user would write: one env through all of gym.make's wrappers, one net per step
    (the same network as the task's, for one rollout: the forward pass itself is checked
    against a per-edge reference by the search-space conformance suite)."""
    env = gym.make(env_id, max_episode_steps=max_steps) if max_steps else gym.make(env_id)
    net = space.network(params[None, :], [arch]).with_input_normalization(mean, std)
    act = ActionMap(space.task)
    obs, _ = env.reset(seed=seed)
    total, seen = 0.0, []
    while True:
        seen.append(np.asarray(obs, dtype=np.float64))
        action = act(net(np.asarray(obs, dtype=np.float64)[None, :]))[0]
        obs, reward, terminated, truncated, _ = env.step(action)
        total += float(reward)
        if terminated or truncated:
            return total, np.array(seen)


@pytest.mark.parametrize(
    ("env_id", "max_steps", "lockstep"),
    [
        ("CartPole-v1", 0, 3),  # discrete; episodes end at different steps (terminated)
        ("Pendulum-v1", 7, 4),  # box [-2, 2]: scaled actions; the time limit ends every episode
        ("Hopper-v5", 60, 8),  # MuJoCo, terminations and the time limit
    ],
)
def test_lockstep_matches_a_plain_gymnasium_loop(env_id, max_steps, lockstep):
    reg = get_registries()
    task = reg.create(
        "task", "gym", {"env_id": env_id, "max_episode_steps": max_steps, "lockstep": lockstep}
    )
    space = reg.create("search_space", "edges", {"hidden": [8], "k": 30}, task.spec())
    rng = np.random.default_rng(0)
    count = 7  # more than one lockstep batch, the last one partial
    theta = space.init_params(rng)
    params = theta[None, :] + 0.5 * rng.normal(size=(count, theta.size))
    archs = [space.decode(g) for g in space.decisions.sample(rng, count)]
    dim = task.spec().obs_dim
    mean, std = rng.normal(size=dim) * 0.1, rng.uniform(0.5, 2.0, dim)
    seeds = [11 * i + 5 for i in range(count)]

    episodes = task.run_episodes(space, params, archs, seeds, mean, std)
    lengths = set()
    for i, episode in enumerate(episodes):
        total, seen = plain_episode(
            env_id, max_steps, space, params[i], archs[i], seeds[i], mean, std
        )
        assert episode.steps == len(seen)
        lengths.add(episode.steps)
        np.testing.assert_allclose(episode.reward, total, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(episode.obs_mean, seen.mean(axis=0), rtol=1e-9, atol=1e-9)
        m2 = ((seen - seen.mean(axis=0)) ** 2).sum(axis=0)
        np.testing.assert_allclose(episode.obs_m2, m2, rtol=1e-7, atol=1e-9)
    if max_steps == 7:
        assert lengths == {7}
    elif env_id == "CartPole-v1":
        assert len(lengths) > 1  # the case this parametrization is for


class DoubleReward(gym.Wrapper):
    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, 2.0 * reward, terminated, truncated, info


def test_wrappers_other_than_gymnasium_bookkeeping_still_run():
    """Stepping beneath TimeLimit/OrderEnforcing/PassiveEnvChecker never skips another wrapper,
    wherever it sits in the chain."""
    reg = get_registries()
    task = reg.create("task", "gym", {"env_id": "CartPole-v1", "lockstep": 2})
    space = reg.create("search_space", "edges", {"hidden": [4], "k": 8}, task.spec())
    theta = space.init_params(np.random.default_rng(1))
    params = np.repeat(theta[None, :], 2, axis=0)
    archs = [space.decode(g) for g in space.decisions.sample(np.random.default_rng(2), 2)]
    plain = task.run_episodes(space, params, archs, [1, 2], np.zeros(4), np.ones(4))

    inner = gym.make("CartPole-v1")  # DoubleReward just above the raw env, beneath the others
    inner.env.env.env = DoubleReward(inner.env.env.env)
    task._envs[:] = [DoubleReward(gym.make("CartPole-v1")), inner]
    doubled = task.run_episodes(space, params, archs, [1, 2], np.zeros(4), np.ones(4))
    for a, b in zip(plain, doubled, strict=True):
        assert b.steps == a.steps > 3
        assert b.reward == 2 * a.reward


def test_episode_numbers_do_not_depend_on_the_lockstep_batch():
    """Backends chunk requests differently: every episode must come out with the same bits
    whichever episodes share its batch (Hopper: non-integer rewards, early terminations)."""
    reg = get_registries()
    base = {"env_id": "Hopper-v5", "max_episode_steps": 80}
    task = reg.create("task", "gym", base)
    space = reg.create("search_space", "edges", {"hidden": [8], "k": 40}, task.spec())
    rng = np.random.default_rng(3)
    theta = space.init_params(rng)
    count = 9
    params = theta[None, :] + 0.5 * rng.normal(size=(count, theta.size))
    archs = [space.decode(g) for g in space.decisions.sample(rng, count)]
    seeds = list(range(count))
    mean, std = np.zeros(11), np.ones(11)
    runs = []
    for lockstep in (1, 4, 9):
        task = reg.create("task", "gym", {**base, "lockstep": lockstep})
        runs.append(task.run_episodes(space, params, archs, seeds, mean, std))
    assert len({e.steps for e in runs[0]}) > 1  # early terminations happened
    for other in runs[1:]:
        for a, b in zip(runs[0], other, strict=True):
            assert (a.reward, a.steps) == (b.reward, b.steps)
            assert np.array_equal(a.obs_mean, b.obs_mean)
            assert np.array_equal(a.obs_m2, b.obs_m2)
