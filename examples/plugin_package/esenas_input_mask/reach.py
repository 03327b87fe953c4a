"""``reach``: a batched task in one file: a point mass pushed towards a target, B of them at once.

A ``VectorEnv`` is functional over a batch, as JAX environments are under ``vmap``:
``reset(seeds) -> state`` and ``step(state, actions) -> (state, rewards, terminated)``, with
``observe(state)`` giving the (B, obs_dim) observations. esenas' ``VectorTask`` owns the episode
loop (forward pass, time limit, dropping finished episodes, returns and observation statistics).
A JAX environment (gymnax, Brax, MJX) fits the same three methods: ``reset`` maps the seeds to
keys (``jax.random.key``) and calls its vmapped reset; ``step`` its vmapped step; each returns
numpy arrays (``np.asarray``). Each row must depend on its own seed and actions only.
"""

from __future__ import annotations

import attrs
import numpy as np

from esenas_core import TaskSpec, VectorEnv, VectorTask, hookimpl, seeded_doubles


@attrs.frozen
class ReachOptions:
    """Config keys of ``[task] name = "reach"``."""

    dims: int = attrs.field(default=2, validator=attrs.validators.ge(1))
    max_episode_steps: int = attrs.field(default=100, validator=attrs.validators.ge(1))
    batch: int = attrs.field(default=1024, validator=attrs.validators.ge(1))


class ReachEnv(VectorEnv):
    """Position p, velocity v, target g ~ U[-1, 1]^dims from the episode's seed. Action a ∈
    [-1, 1]^dims: v ← 0.9 v + 0.1 a, p ← p + 0.1 v. Reward −|g − p|; the episode ends when
    |g − p| < 0.05."""

    def __init__(self, dims: int, max_episode_steps: int) -> None:
        self.dims, self.max_episode_steps = dims, max_episode_steps

    def spec(self) -> TaskSpec:
        return TaskSpec(
            obs_dim=3 * self.dims,
            act_dim=self.dims,
            action_low=(-1.0,) * self.dims,
            action_high=(1.0,) * self.dims,
        )

    def reset(self, seeds: np.ndarray) -> dict[str, np.ndarray]:
        # row i: np.random.default_rng(seeds[i]).uniform(-1, 1, dims), for all rows at once
        goal = -1.0 + 2.0 * seeded_doubles(seeds, self.dims)
        zeros = np.zeros_like(goal)
        return {"p": zeros, "v": zeros.copy(), "g": goal}  # every array: batch first

    def observe(self, state: dict[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([state["p"], state["v"], state["g"] - state["p"]], axis=1)

    def step(
        self, state: dict[str, np.ndarray], actions: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        v = 0.9 * state["v"] + 0.1 * actions
        p = state["p"] + 0.1 * v
        gap = state["g"] - p
        distance = np.sqrt(np.sum(gap * gap, axis=1))  # per row: no mixing across the batch
        return {"p": p, "v": v, "g": state["g"]}, -distance, distance < 0.05


class ReachTask(VectorTask):
    name = "reach"
    Options = ReachOptions

    def make_env(self) -> VectorEnv:
        return ReachEnv(self.options.dims, self.options.max_episode_steps)

    @property
    def batch_size(self) -> int:
        return self.options.batch


@hookimpl
def esenas_register_tasks(register):
    register(ReachTask)
