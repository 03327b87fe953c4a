"""``regularized_evolution``: aging evolution (Real et al., "Regularized Evolution for Image
Classifier Architecture Search", AAAI 2019), on numpy genomes.

Population of the last ``population_size`` evaluated genomes (oldest removed first: aging).
Each proposal: while the population is not full, a uniform random genome; afterwards, the best of
``tournament_size`` individuals sampled (with replacement) from the population, mutated once (a
mutation respects its decision type: swap one edge of a Subset, redraw one Choice, flip one Mask
bit).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from esenas_core import Controller, hookimpl


@attrs.frozen
class RegularizedEvolutionOptions:
    """Options of the ``regularized_evolution`` controller."""

    population_size: int = attrs.field(default=50, validator=attrs.validators.ge(2))
    tournament_size: int = attrs.field(default=10, validator=attrs.validators.ge(1))

    def __attrs_post_init__(self) -> None:
        if self.tournament_size > self.population_size:
            raise ValueError(
                f"tournament_size ({self.tournament_size}) must not exceed"
                f" population_size ({self.population_size})"
            )


class RegularizedEvolution(Controller):
    """Tournament selection + mutation over an aging population."""

    name = "regularized_evolution"
    Options = RegularizedEvolutionOptions

    def __init__(self, options: RegularizedEvolutionOptions, decisions: Any, seed: int) -> None:
        super().__init__(options, decisions, seed)
        self.population: deque[tuple[np.ndarray, float]] = deque(maxlen=options.population_size)

    def propose(self, n: int) -> np.ndarray:
        if len(self.population) < self.options.population_size:
            return self.decisions.sample(self.rng, n)
        genomes = np.stack([g for g, _ in self.population])
        rewards = np.array([r for _, r in self.population])
        # n tournaments at once, sampled with replacement as in Real et al.'s reference code;
        # each winner (the first best of its tournament) is mutated once.
        picks = self.rng.integers(len(rewards), size=(n, self.options.tournament_size))
        winners = picks[np.arange(n), np.argmax(rewards[picks], axis=1)]
        return self.decisions.mutate_many(genomes[winners], self.rng)

    def learn(self, genomes: np.ndarray, rewards: np.ndarray) -> None:
        for genome, reward in zip(genomes, rewards, strict=True):
            self.population.append((genome.copy(), float(reward)))

    def algorithm_state(self) -> dict[str, Any]:
        return {"population": [[g.tolist(), r] for g, r in self.population]}

    def restore_algorithm(self, state: Mapping[str, Any]) -> None:
        self.population = deque(
            ((np.asarray(g, dtype=np.int64), float(r)) for g, r in state["population"]),
            maxlen=self.options.population_size,
        )

    def algorithm_stats(self) -> dict[str, float]:
        rewards = np.array([r for _, r in self.population])
        return {
            "population_size": float(len(rewards)),
            "population_best": float(rewards.max()) if rewards.size else float("nan"),
            "population_mean": float(rewards.mean()) if rewards.size else float("nan"),
        }


@hookimpl
def esenas_register_controllers(register):
    register(RegularizedEvolution)
