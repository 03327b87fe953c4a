"""``partitions``: weight sharing — every edge gets one of P colours (the original's
``NumpyWeightSharingPolicy``, "chromatic" networks).

All consecutive-layer edges exist; edges of one colour share one weight. θ holds the P shared
weights plus one bias per hidden and output node (P + biases parameters, whatever the network
size; the original default is P = 17).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from esenas_core import (
    Architecture,
    Choice,
    DecisionSpace,
    LayeredOptions,
    LayeredSpace,
    Supernet,
    TaskSpec,
    hookimpl,
)


@attrs.frozen
class PartitionsOptions(LayeredOptions):
    """Options of the ``partitions`` search space (and ``hidden``, ``activation``, ``init_std``)."""

    num_partitions: int = attrs.field(default=17, validator=attrs.validators.ge(1))


class PartitionsSearchSpace(LayeredSpace):
    """Weight sharing: a genome assigns each candidate edge one of P shared weights."""

    name = "partitions"
    Options = PartitionsOptions

    def __init__(self, options: PartitionsOptions, task: TaskSpec) -> None:
        net = Supernet([task.obs_dim, *options.hidden, task.act_dim])
        colours = Choice(options.num_partitions, count=net.num_edges, label="colours")
        super().__init__(options, task, net=net, decisions=DecisionSpace([colours]))

    @property
    def num_weights(self) -> int:
        return self.options.num_partitions

    def decode(self, genome: np.ndarray) -> Architecture:
        genome = self.decisions.validate(genome)
        return Architecture(genome=genome, parts={"colours": genome.copy()})

    def edge_weights(self, params: np.ndarray, architectures: Sequence[Architecture]) -> np.ndarray:
        colours = np.stack([a.parts["colours"] for a in architectures])
        return np.take_along_axis(params[:, : self.num_weights], colours, axis=1)

    def edge_groups(self, architecture: Architecture) -> np.ndarray:
        return architecture.parts["colours"]

    def edge_mask(self, architecture: Architecture) -> np.ndarray:
        return np.ones(self.net.num_edges, dtype=bool)

    def param_mask(self, architecture: Architecture) -> np.ndarray:
        used = np.zeros(self.num_weights, dtype=bool)
        used[architecture.parts["colours"]] = True
        return np.concatenate([used, np.ones(self.net.num_biases, bool)])


@hookimpl
def esenas_register_search_spaces(register):
    register(PartitionsSearchSpace)
