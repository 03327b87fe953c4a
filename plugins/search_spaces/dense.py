"""``dense``: no architecture choice — plain ES over a fully connected network (the baseline).

``hidden = []`` gives a linear policy a = tanh(W s + b) scaled to the action bounds: ARS's policy
class (Mania et al. 2018) up to the squashing. Controllers see an empty decision space.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs
import numpy as np

from esenas_core import Architecture, DecisionSpace, TaskSpec, hookimpl
from esenas_core.supernet import LayeredSpace, Supernet, positive_sizes


@attrs.frozen
class DenseOptions:
    """Options of the ``dense`` search space."""

    hidden: tuple[int, ...] = attrs.field(default=(), validator=positive_sizes)
    activation: Literal["tanh", "relu"] = "tanh"
    init_std: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))


class DenseSearchSpace(LayeredSpace):
    """Every consecutive-layer edge, always: θ is the whole network."""

    name = "dense"
    Options = DenseOptions

    def __init__(self, options: DenseOptions, task: TaskSpec) -> None:
        super().__init__(options, task)
        self.net = Supernet([task.obs_dim, *options.hidden, task.act_dim])
        self._decisions = DecisionSpace([])
        self._all = np.ones(self.net.num_edges, dtype=bool)

    def decode(self, genome: np.ndarray) -> Architecture:
        genome = self._decisions.validate(genome)
        return Architecture(genome=genome, parts={})

    def edge_weights(self, params: np.ndarray, architectures: Sequence[Architecture]) -> np.ndarray:
        return params[:, : self.net.num_edges]

    def edge_mask(self, architecture: Architecture) -> np.ndarray:
        return self._all


@hookimpl
def esenas_register_search_spaces(register):
    register(DenseSearchSpace)
