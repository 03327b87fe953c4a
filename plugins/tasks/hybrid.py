"""``hybrid``: synthetic objectives over θ and an architecture, for fast tests without RL noise.

reward(θ, architecture) = −F(θ ⊙ m − c)

where m = ``space.param_mask(architecture)`` (which coordinates of θ the architecture uses), c is a
fixed target drawn from ``target_seed`` with ``active`` non-zero coordinates, and F is a BBOB-style
function with its optimum at 0 (sphere, rastrigin, rosenbrock). Unused coordinates contribute
F's value at −c_j, so the best architecture is known: it uses every coordinate where c ≠ 0, and
then the best θ is c. This is the kind of hybrid (continuous × combinatorial) space that the
ES-ENAS paper's later version evaluates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs
import numpy as np

from esenas_core import (
    EpisodeResult,
    Task,
    TaskSpec,
    fixedmath,
    hookimpl,
)


def sphere(z: np.ndarray) -> np.ndarray:
    return np.sum(z**2, axis=-1)


def rastrigin(z: np.ndarray) -> np.ndarray:
    return np.sum(z**2 - 10.0 * fixedmath.cos(2.0 * np.pi * z) + 10.0, axis=-1)


def rosenbrock(z: np.ndarray) -> np.ndarray:
    x = z + 1.0  # optimum of the classic function is at 1: shifted to 0
    return np.sum(100.0 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1.0 - x[..., :-1]) ** 2, axis=-1)


FUNCTIONS = {"sphere": sphere, "rastrigin": rastrigin, "rosenbrock": rosenbrock}


@attrs.frozen
class HybridOptions:
    """Options of the ``hybrid`` task."""

    function: Literal["sphere", "rastrigin", "rosenbrock"] = "sphere"
    target_seed: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    active: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    target_scale: float = attrs.field(default=1.0, validator=attrs.validators.gt(0.0))
    noise_std: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))
    obs_dim: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    act_dim: int = attrs.field(default=2, validator=attrs.validators.ge(1))


class HybridTask(Task):
    """−F(θ ⊙ mask − target): a seconds-fast objective with a known best architecture."""

    name = "hybrid"
    Options = HybridOptions

    def spec(self) -> TaskSpec:
        """The sizes a network-based search space builds its supernet for."""
        return TaskSpec(obs_dim=self.options.obs_dim, act_dim=self.options.act_dim)

    def target(self, dim: int) -> np.ndarray:
        """The optimum c for a θ of length ``dim`` (deterministic in ``target_seed``)."""
        rng = np.random.default_rng(self.options.target_seed)
        active = self.options.active or dim
        c = np.zeros(dim)
        support = rng.choice(dim, size=min(active, dim), replace=False)
        c[support] = rng.normal(0.0, self.options.target_scale, support.size)
        return c

    def run_episodes(self, space, params, architectures, env_seeds, obs_mean, obs_std):
        masks = np.stack([space.param_mask(a) for a in architectures])
        values = -FUNCTIONS[self.options.function](params * masks - self.target(params.shape[1]))
        if self.options.noise_std:
            values = values + self._noise(env_seeds)
        empty = np.zeros(self.options.obs_dim)
        return [EpisodeResult(float(v), 1, 0, empty, empty) for v in values]

    def _noise(self, seeds: Sequence[int]) -> np.ndarray:
        return np.array(
            [np.random.default_rng(int(s)).normal(0.0, self.options.noise_std) for s in seeds]
        )


@hookimpl
def esenas_register_tasks(register):
    register(HybridTask)
