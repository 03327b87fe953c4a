"""Batched tasks: B environments held as arrays and stepped together by one call.

A plugin writes a :class:`VectorEnv`, a functional environment over a batch (the shape JAX
environments such as gymnax and Brax have under ``vmap``: ``reset(seeds) -> state``,
``step(state, actions) -> (state, rewards, terminated)``), and a :class:`VectorTask` whose
``make_env`` builds it. The task's episode loop is written once, here:

- one forward pass per step for the whole batch (B different architectures and weights);
- the time limit (``max_episode_steps``) truncates every episode still running, as gymnasium's
  ``TimeLimit`` does;
- episodes that end early are dropped from the arrays once at least half of the batch has ended,
  so a batch never steps more than twice the steps its episodes take;
- returns and observation statistics come from ``esenas_core.api.episodes``, which the ``gym``
  task uses too: the same episode gives the same bits on either path, in any batch.

Every array in a state has the batch as its first axis; ``take(state, rows)`` keeps those rows
(override it for another layout). An episode's numbers must depend on its own row only (no
reductions across the batch): then results do not depend on batch size or chunking, which
``esenas check`` (``check_task``) verifies.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from esenas_core.api.actions import ActionMap
from esenas_core.api.episodes import EpisodeResult, episode_results
from esenas_core.api.errors import ConfigError
from esenas_core.api.interfaces import Task, TaskSpec
from esenas_core.api.memory import physical_memory

MEMORY_FRACTION = 0.25  # a batch's buffers may take at most this share of the machine's memory


class VectorEnv(abc.ABC):
    """B environments of one kind as arrays. Subclasses set ``max_episode_steps`` (≥ 1)."""

    max_episode_steps: int

    @abc.abstractmethod
    def spec(self) -> TaskSpec:
        """Observation and action sizes (one environment's)."""

    @abc.abstractmethod
    def reset(self, seeds: np.ndarray) -> Any:
        """The start states of ``len(seeds)`` episodes, episode ``i`` reset with ``seeds[i]``."""

    @abc.abstractmethod
    def observe(self, state: Any) -> np.ndarray:
        """The observations of ``state``: a (B, obs_dim) array."""

    @abc.abstractmethod
    def step(self, state: Any, actions: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray]:
        """(next state, rewards (B,), terminated (B,) bools) after ``actions``: (B, act_dim)
        floats in the action box, or (B,) integers for a discrete action space."""

    def take(self, state: Any, rows: np.ndarray) -> Any:
        """The sub-batch ``rows`` of ``state`` (a mapping of arrays whose first axis is the
        batch; other values are shared and kept)."""
        if not isinstance(state, Mapping):
            raise TypeError(f"{type(self).__name__}.take: override it for a non-mapping state")
        return {
            k: v[rows] if isinstance(v, np.ndarray) and v.ndim >= 1 else v for k, v in state.items()
        }


class VectorTask(Task):
    """A task whose episodes run as arrays: implement ``make_env``; ``batch_size`` episodes at
    most are stepped together (larger requests run in consecutive batches)."""

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self._env: VectorEnv | None = None

    @abc.abstractmethod
    def make_env(self) -> VectorEnv:
        """Build the batched environment (once per process; raise ``ConfigError`` if the
        options are unusable)."""

    @property
    def env(self) -> VectorEnv:
        if self._env is None:
            self._env = self.make_env()
        return self._env

    def spec(self) -> TaskSpec:
        env = self.env
        spec = env.spec()
        steps = getattr(env, "max_episode_steps", None)
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ConfigError(f"[task] {self.name}: max_episode_steps must be an int >= 1")
        need = buffer_bytes(self.batch_size, steps, spec.obs_dim)
        total = physical_memory()
        limit = MEMORY_FRACTION * total if total else None
        if limit is not None and need > limit:
            raise ConfigError(
                f"[task] {self.name}: a batch of {self.batch_size} episodes of up to {steps}"
                f" steps needs {need / 2**30:.1f} GiB of buffers, more than"
                f" {limit / 2**30:.1f} GiB ({MEMORY_FRACTION:.0%} of this machine's memory):"
                " lower the batch size"
            )
        return spec

    def run_episodes(
        self,
        space: Any,
        params: np.ndarray,
        architectures: Sequence[Any],
        env_seeds: Sequence[int],
        obs_mean: np.ndarray,
        obs_std: np.ndarray,
    ) -> list[EpisodeResult]:
        results: list[EpisodeResult] = []
        for start in range(0, len(env_seeds), self.batch_size):
            stop = start + self.batch_size
            net = space.network(params[start:stop], architectures[start:stop])
            results += rollout(
                self.env, net.with_input_normalization(obs_mean, obs_std), env_seeds[start:stop]
            )
        return results


def buffer_bytes(batch: int, steps: int, obs_dim: int) -> int:
    """Bytes of the observation and reward buffers of a batch (float64)."""
    return 8 * batch * steps * (obs_dim + 1)


def rollout(env: VectorEnv, net: Any, seeds: Sequence[int]) -> list[EpisodeResult]:
    """Run one episode per seed, stepping them together; one ``EpisodeResult`` each."""
    batch = len(seeds)
    if batch == 0:
        return []
    spec = env.spec()
    act = ActionMap(spec)
    limit = env.max_episode_steps
    state = env.reset(np.asarray(seeds, dtype=np.int64))
    obs = _observations(env, state, batch, spec.obs_dim)
    observations = np.zeros((limit, batch, spec.obs_dim))
    rewards = np.zeros((limit, batch))
    lengths = np.zeros(batch, dtype=np.int64)
    rows = np.arange(batch)  # the episode of each current row
    running = np.ones(batch, dtype=bool)
    full = True  # rows is still 0..batch-1 (plain slices instead of scatters)
    with np.errstate(all="ignore"):  # an episode's NaN/inf fails that episode, not the batch
        for t in range(limit):
            if full:
                observations[t] = obs
            else:
                observations[t, rows] = obs
            state, reward, terminated = env.step(state, act(net(obs)))
            reward, terminated = _checked(env, reward, terminated, len(rows))
            if full:
                rewards[t] = reward
            else:
                rewards[t, rows] = reward
            obs = _observations(env, state, len(rows), spec.obs_dim)
            ended = running if t + 1 == limit else running & terminated
            if not ended.any():
                continue
            lengths[rows[ended]] = t + 1
            running = running & ~ended
            live = int(running.sum())
            if live == 0:
                break
            if 2 * live <= len(rows):  # compact: at most twice the steps actually taken
                keep = np.flatnonzero(running)
                state, net = env.take(state, keep), net.take(keep)
                obs, rows, running, full = obs[keep], rows[keep], running[keep], False
    return episode_results(observations, rewards, lengths)


def _observations(env: VectorEnv, state: Any, batch: int, obs_dim: int) -> np.ndarray:
    obs = np.asarray(env.observe(state), dtype=np.float64)
    if obs.shape != (batch, obs_dim):
        raise ValueError(
            f"{type(env).__name__}.observe returned shape {obs.shape}, expected {(batch, obs_dim)}"
        )
    return obs


def _checked(
    env: VectorEnv, reward: Any, terminated: Any, batch: int
) -> tuple[np.ndarray, np.ndarray]:
    reward = np.asarray(reward, dtype=np.float64)
    terminated = np.asarray(terminated)
    if reward.shape != (batch,) or terminated.shape != (batch,) or terminated.dtype != bool:
        raise ValueError(
            f"{type(env).__name__}.step must return rewards of shape ({batch},) and terminated"
            f" bools of shape ({batch},); got {reward.shape} and {terminated.dtype}"
            f" {terminated.shape}"
        )
    return reward, terminated
