"""``input_mask``: a linear policy whose genome switches observation features on and off.

A search space in one file: an options class, a ``LayeredSpace`` subclass, a hook.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from esenas_core import Architecture, DecisionSpace, Mask, TaskSpec, hookimpl
from esenas_core.supernet import LayeredSpace, Supernet


@attrs.frozen
class InputMaskOptions:
    """Config keys of ``[search_space] name = "input_mask"``."""

    init_std: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))


class InputMaskSpace(LayeredSpace):
    """Linear policy a = tanh(W (m ⊙ s) + b): the genome m is one bit per observation feature."""

    name = "input_mask"
    Options = InputMaskOptions

    def __init__(self, options: InputMaskOptions, task: TaskSpec) -> None:
        super().__init__(options, task)
        self.net = Supernet([task.obs_dim, task.act_dim])  # one weight layer
        self._decisions = DecisionSpace([Mask(task.obs_dim, label="inputs")])

    def decode(self, genome: np.ndarray) -> Architecture:
        genome = self._decisions.validate(genome)
        # An input feature switched off removes all of its outgoing edges.
        edges = np.repeat(genome.astype(bool), self.task.act_dim)
        return Architecture(
            genome=genome, parts={"inputs": genome.astype(bool), "edge_mask": edges}
        )

    def edge_weights(self, params: np.ndarray, architectures: Sequence[Architecture]) -> np.ndarray:
        masks = np.stack([a.parts["edge_mask"] for a in architectures])
        return params[:, : self.net.num_edges] * masks


@hookimpl
def esenas_register_search_spaces(register):
    register(InputMaskSpace)
