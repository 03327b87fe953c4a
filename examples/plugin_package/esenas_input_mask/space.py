"""``input_mask``: a linear policy whose genome switches observation features on and off.

A search space in one file: an options class, a ``LayeredSpace`` subclass, a hook.
"""

from __future__ import annotations

import attrs
import numpy as np

from esenas_core import (
    Architecture,
    DecisionSpace,
    LayeredOptions,
    LayeredSpace,
    Mask,
    Supernet,
    TaskSpec,
    hookimpl,
)


@attrs.frozen
class InputMaskOptions(LayeredOptions):
    """Config keys of ``[search_space] name = "input_mask"``: only ``init_std`` (the policy is
    linear, so ``hidden`` and ``activation`` are fixed: ``init=False`` keeps them out of the
    config)."""

    hidden: tuple[int, ...] = attrs.field(default=(), init=False)
    activation: str = attrs.field(default="tanh", init=False)
    init_std: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))


class InputMaskSpace(LayeredSpace):
    """Linear policy a = tanh(W (m ⊙ s) + b): the genome m is one bit per observation feature."""

    name = "input_mask"
    Options = InputMaskOptions

    def __init__(self, options: InputMaskOptions, task: TaskSpec) -> None:
        super().__init__(
            options,
            task,
            net=Supernet([task.obs_dim, task.act_dim]),  # one weight layer
            decisions=DecisionSpace([Mask(task.obs_dim, label="inputs")]),
        )

    def decode(self, genome: np.ndarray) -> Architecture:
        genome = self.decisions.validate(genome)
        # An input feature switched off removes all of its outgoing edges.
        edges = np.repeat(genome.astype(bool), self.task.act_dim)
        return Architecture(
            genome=genome, parts={"inputs": genome.astype(bool), "edge_mask": edges}
        )


@hookimpl
def esenas_register_search_spaces(register):
    register(InputMaskSpace)
