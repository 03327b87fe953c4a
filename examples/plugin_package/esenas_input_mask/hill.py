"""``hill_climbing``: a controller in one file: an options class, a ``Controller`` subclass, a
hook. The base class owns the RNG, the feedback counters and the state's JSON round trip; this
file holds only the algorithm."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from esenas_core import Controller, DecisionSpace, hookimpl


@attrs.frozen
class HillClimbingOptions:
    """Config keys of ``[controller] name = "hill_climbing"``."""

    explore: float = attrs.field(
        default=0.1, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)]
    )


class HillClimbing(Controller):
    """Mutations of the best genome seen so far (uniform samples until the first feedback, and
    a share ``explore`` of uniform samples after)."""

    name = "hill_climbing"
    Options = HillClimbingOptions

    def __init__(self, options: HillClimbingOptions, decisions: DecisionSpace, seed: int) -> None:
        super().__init__(options, decisions, seed)
        self.best: np.ndarray | None = None
        self.best_reward = -np.inf

    def propose(self, n: int) -> np.ndarray:
        if self.best is None:
            return self.decisions.sample(self.rng, n)
        genomes = self.decisions.mutate_many(np.repeat(self.best[None], n, axis=0), self.rng)
        fresh = self.rng.random(n) < self.options.explore
        genomes[fresh] = self.decisions.sample(self.rng, int(fresh.sum()))
        return genomes

    def learn(self, genomes: np.ndarray, rewards: np.ndarray) -> None:
        i = int(np.argmax(rewards))  # rewards are finite here: the base class skipped the others
        if rewards[i] > self.best_reward:
            self.best, self.best_reward = genomes[i].copy(), float(rewards[i])

    def algorithm_state(self) -> dict[str, Any]:
        if self.best is None:
            return {"best": None, "best_reward": None}
        return {"best": self.best.tolist(), "best_reward": self.best_reward}

    def restore_algorithm(self, state: Mapping[str, Any]) -> None:
        if state["best"] is None:
            self.best, self.best_reward = None, -np.inf
        else:
            self.best = np.asarray(state["best"], dtype=np.int64)
            self.best_reward = float(state["best_reward"])

    def algorithm_stats(self) -> dict[str, float]:
        return {"best_reward": self.best_reward if self.best is not None else float("nan")}


@hookimpl
def esenas_register_controllers(register):
    register(HillClimbing)
