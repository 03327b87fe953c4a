"""``random``: uniform random search over the decision space (the NAS baseline)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from esenas_core import Controller, hookimpl
from esenas_core.controller_utils import FeedbackCounter, rng_state, set_rng_state


class RandomController(Controller):
    """Every proposal is an independent uniform sample; feedback only updates statistics."""

    name = "random"
    accepts_vectors = True

    def __init__(self, options: Any, decisions: Any, seed: int) -> None:
        super().__init__(options, decisions, seed)
        self.counter = FeedbackCounter()

    def propose(self, n: int) -> np.ndarray:
        return self.decisions.sample(self.rng, n)

    def feedback(self, genomes: np.ndarray, rewards: np.ndarray) -> None:
        self.counter.accept(genomes, rewards)

    def state(self) -> dict[str, Any]:
        return {"rng": rng_state(self.rng), "counter": self.counter.state()}

    def restore(self, state: Mapping[str, Any]) -> None:
        set_rng_state(self.rng, state["rng"])
        self.counter = FeedbackCounter.from_state(state["counter"])

    def stats(self) -> dict[str, float]:
        return self.counter.stats()


@hookimpl
def esenas_register_controllers(register):
    register(RandomController)
