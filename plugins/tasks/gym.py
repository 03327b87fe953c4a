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
from esenas_core.actions import normalize, to_env_actions
from esenas_core.rollouts import EpisodeResult


@attrs.frozen
class GymOptions:
    """Options of the ``gym`` task."""

    env_id: str = "CartPole-v1"
    env_kwargs: dict[str, Any] = attrs.field(factory=dict)
    max_episode_steps: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    lockstep: int = attrs.field(default=16, validator=attrs.validators.ge(1))


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
            results += self._lockstep(
                space.network(params[start:stop], architectures[start:stop]),
                env_seeds[start:stop],
                obs_mean,
                obs_std,
            )
        return results

    def _lockstep(
        self, net: Any, seeds: Sequence[int], mean: np.ndarray, std: np.ndarray
    ) -> list[EpisodeResult]:
        spec = self.spec()
        envs = self._env_pool(len(seeds))
        obs = np.stack([env.reset(seed=int(s))[0] for env, s in zip(envs, seeds, strict=True)])
        obs = obs.astype(np.float64)
        batch = len(seeds)
        active = np.ones(batch, dtype=bool)
        rewards = np.zeros(batch)
        steps = np.zeros(batch, dtype=np.int64)
        seen, seen_mask = [obs.copy()], [active.copy()]
        rows, sub = np.arange(batch), net
        while True:
            actions = to_env_actions(sub(normalize(obs[rows], mean, std)), spec)
            for row, action in zip(rows, actions, strict=True):
                o, r, terminated, truncated, _ = envs[row].step(action)
                obs[row] = o
                rewards[row] += float(r)
                steps[row] += 1
                if terminated or truncated:
                    active[row] = False
            if not active.any():
                break
            seen.append(obs.copy())
            seen_mask.append(active.copy())
            if active.sum() != rows.size:
                keep = active[rows]
                rows, sub = rows[keep], sub.take(np.flatnonzero(keep))
        return _episode_results(rewards, steps, np.stack(seen), np.stack(seen_mask))

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
    rewards: np.ndarray, steps: np.ndarray, seen: np.ndarray, mask: np.ndarray
) -> list[EpisodeResult]:
    """Per-episode (count, mean, M2) of the observations the policy saw: seen is (T, B, D)."""
    weights = mask[:, :, None].astype(np.float64)
    count = mask.sum(axis=0)
    mean = (seen * weights).sum(axis=0) / count[:, None]
    m2 = (((seen - mean[None]) ** 2) * weights).sum(axis=0)
    return [
        EpisodeResult(float(rewards[i]), int(steps[i]), int(count[i]), mean[i], m2[i])
        for i in range(rewards.shape[0])
    ]


@hookimpl
def esenas_register_tasks(register):
    register(GymTask)
