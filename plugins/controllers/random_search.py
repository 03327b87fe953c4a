"""``random``: uniform random search over the decision space (the NAS baseline)."""

from __future__ import annotations

import numpy as np

from esenas_core import Controller, hookimpl


class RandomController(Controller):
    """Every proposal is an independent uniform sample; feedback only updates statistics."""

    name = "random"
    accepts_vectors = True

    def propose(self, n: int) -> np.ndarray:
        return self.decisions.sample(self.rng, n)


@hookimpl
def esenas_register_controllers(register):
    register(RandomController)
