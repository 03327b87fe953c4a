"""``gym``: any gymnasium environment id (Box observations; Box or Discrete actions).

Episodes of one request chunk run in lockstep: up to ``lockstep`` environments step together and
one batched forward pass computes all their actions (finished episodes drop out of the batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import gymnasium as gym
import numpy as np

from esenas_core import ConfigError, Task, TaskSpec, hookimpl
from esenas_core.actions import ActionMap
from esenas_core.rollouts import EpisodeResult


@attrs.frozen
class GymOptions:
    """Options of the ``gym`` task."""

    env_id: str = "CartPole-v1"
    env_kwargs: dict[str, Any] = attrs.field(factory=dict)
    max_episode_steps: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    lockstep: int = attrs.field(default=32, validator=attrs.validators.ge(1))


class GymTask(Task):
    """Episodic return of a gymnasium environment."""

    name = "gym"
    Options = GymOptions

    def __init__(self, options: GymOptions) -> None:
        super().__init__(options)
        self._envs: list[gym.Env] = []
        self._spec: TaskSpec | None = None

    def _make(self) -> gym.Env:
        opts = self.options
        kwargs = dict(opts.env_kwargs)
        if opts.max_episode_steps:
            kwargs["max_episode_steps"] = opts.max_episode_steps
        try:
            return gym.make(opts.env_id, **kwargs)
        except gym.error.Error as exc:
            raise ConfigError(f"[task] gym: cannot make env_id {opts.env_id!r}: {exc}") from None
        except TypeError as exc:
            raise ConfigError(f"[task] gym: bad env_kwargs for {opts.env_id!r}: {exc}") from None

    def spec(self) -> TaskSpec:
        if self._spec is None:
            env = self._make()
            try:
                self._spec = _spec_of(env, self.options.env_id)
            finally:
                env.close()
        return self._spec

    def _env_pool(self, count: int) -> list[gym.Env]:
        while len(self._envs) < count:
            self._envs.append(self._make())
        return self._envs[:count]

    def run_episodes(self, space, params, architectures, env_seeds, obs_mean, obs_std):
        step = self.options.lockstep
        results: list[EpisodeResult] = []
        for start in range(0, len(env_seeds), step):
            stop = start + step
            net = space.network(params[start:stop], architectures[start:stop])
            results += self._lockstep(
                net.with_input_normalization(obs_mean, obs_std), env_seeds[start:stop]
            )
        return results

    def _lockstep(self, net: Any, seeds: Sequence[int]) -> list[EpisodeResult]:
        """Step ``len(seeds)`` environments together; one batched forward pass per step.

        This is the per-env-step hot path: per-row work is plain Python (lists, one stack per
        step), the rest is a handful of numpy calls per step for the whole batch.
        """
        envs = self._env_pool(len(seeds))
        act = ActionMap(self.spec())
        obs = np.stack([env.reset(seed=int(s))[0] for env, s in zip(envs, seeds, strict=True)])
        obs = obs.astype(np.float64)
        batch = len(seeds)
        rewards = [0.0] * batch
        active = np.ones(batch, dtype=bool)
        seen, seen_mask = [obs], [active.copy()]
        rows, sub = list(range(batch)), net
        step_fns = [env.step for env in envs]
        while True:
            x = obs if len(rows) == batch else obs[rows]
            actions = act(sub(x))
            new_obs, ended = [], []
            for row, action in zip(rows, actions, strict=True):
                o, r, terminated, truncated, _ = step_fns[row](action)
                new_obs.append(o)
                rewards[row] += float(r)
                if terminated or truncated:
                    ended.append(row)
            if len(rows) == batch:
                obs = np.array(new_obs, dtype=np.float64)  # a fresh array: `seen` keeps it as is
            else:
                obs = obs.copy()
                obs[rows] = new_obs
            if ended:
                active[ended] = False
                if not active.any():
                    break
                keep = [i for i, row in enumerate(rows) if active[row]]
                rows, sub = [rows[i] for i in keep], sub.take(np.array(keep))
            seen.append(obs)
            seen_mask.append(active.copy())
        return _episode_results(np.array(rewards), np.stack(seen), np.stack(seen_mask))

    def close(self) -> None:
        for env in self._envs:
            env.close()
        self._envs.clear()


def _spec_of(env: gym.Env, env_id: str) -> TaskSpec:
    obs_space, act_space = env.observation_space, env.action_space
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise ConfigError(
            f"[task] gym: {env_id} needs a flat Box observation space, got {obs_space}"
        )
    if isinstance(act_space, gym.spaces.Discrete):
        return TaskSpec(obs_dim=obs_space.shape[0], act_dim=int(act_space.n), discrete=True)
    if isinstance(act_space, gym.spaces.Box) and len(act_space.shape) == 1:
        return TaskSpec(
            obs_dim=obs_space.shape[0],
            act_dim=act_space.shape[0],
            action_low=tuple(float(x) for x in act_space.low),
            action_high=tuple(float(x) for x in act_space.high),
        )
    raise ConfigError(f"[task] gym: {env_id} has an unsupported action space {act_space}")


def _episode_results(
    rewards: np.ndarray, seen: np.ndarray, mask: np.ndarray
) -> list[EpisodeResult]:
    """Per-episode (count, mean, M2) of the observations the policy saw: seen is (T, B, D).

    An episode's steps equal the observations its policy saw (one action per observation).
    """
    weights = mask[:, :, None].astype(np.float64)
    count = mask.sum(axis=0)
    mean = (seen * weights).sum(axis=0) / count[:, None]
    m2 = (((seen - mean[None]) ** 2) * weights).sum(axis=0)
    return [
        EpisodeResult(float(rewards[i]), int(count[i]), int(count[i]), mean[i], m2[i])
        for i in range(rewards.shape[0])
    ]


@hookimpl
def esenas_register_tasks(register):
    register(GymTask)
