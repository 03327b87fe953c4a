"""``ops``: residual edge choice plus a nonlinearity per hidden node (the original's
``OpEdgePolicy``, close to weight-agnostic networks).

Genome: k distinct residual edges (any layer to any later layer, input → output included), then
one op index per hidden node. Each op appears once in ``ops``, and every hidden node applies its
op to (input + bias). Outputs use tanh, then scaling to the action bounds.

``k_fraction`` (0 = unused) sets k to that fraction of the candidate edges (rounded).

``decoding = "repair"`` (default) moves chosen edges that would be dead to live places, so that
k chosen edges are k live edges; ``"plain"`` keeps them as chosen. ``init_std = "auto"``
(default) scales each layer's start by its live fan-in (``esenas_core.networks.pruned``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs
import numpy as np

from esenas_core import (
    OP_NAMES,
    Architecture,
    Choice,
    ConfigError,
    DecisionSpace,
    PrunedOptions,
    PrunedSpace,
    Subset,
    Supernet,
    TaskSpec,
    hookimpl,
)


@attrs.frozen
class OpsOptions(PrunedOptions):
    """Options of the ``ops`` search space (and ``hidden``, ``init_std``, ``decoding``; each
    hidden node's op is chosen, so there is no ``activation``)."""

    activation: Literal["tanh", "relu"] = attrs.field(default="tanh", init=False)
    k: int = attrs.field(default=32, validator=attrs.validators.ge(1))
    k_fraction: float = attrs.field(
        default=0.0, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)]
    )
    ops: tuple[str, ...] = OP_NAMES


class OpsSearchSpace(PrunedSpace):
    """k residual edges plus one nonlinearity per hidden node."""

    name = "ops"
    Options = OpsOptions

    def __init__(self, options: OpsOptions, task: TaskSpec) -> None:
        if not options.hidden:
            raise ConfigError("needs at least one hidden layer (ops act on hidden nodes)")
        unknown = [op for op in options.ops if op not in OP_NAMES]
        if unknown or not options.ops or len(set(options.ops)) != len(options.ops):
            raise ConfigError(
                f"ops must be distinct names among {', '.join(OP_NAMES)}; got {list(options.ops)}"
            )
        net = Supernet([task.obs_dim, *options.hidden, task.act_dim], residual=True)
        self.k = self.budget(options, net.num_edges)
        if self.k > net.num_edges:
            raise ConfigError(
                f"k={self.k} is larger than the number of candidate residual edges"
                f" ({net.num_edges}) for layer sizes {net.sizes}"
            )
        self.op_names = tuple(options.ops)
        decisions = DecisionSpace(
            [
                Subset(net.num_edges, self.k, label="edges"),
                Choice(len(self.op_names), count=net.num_hidden, label="node_ops"),
            ]
        )
        self.groups = np.zeros(net.num_edges, dtype=np.int64)
        super().__init__(options, task, net=net, decisions=decisions)
        self.check_budget("k", self.k, 1, net.num_edges)

    def decode(self, genome: np.ndarray) -> Architecture:
        genome = self.decisions.validate(genome)
        edges, ops = self.decisions.split(genome)
        mask = np.zeros(self.net.num_edges, dtype=bool)
        mask[edges] = True
        mask = self.decode_edges(mask, genome)
        return Architecture(genome=genome, parts={"edge_mask": mask, "node_ops": ops.copy()})

    @property
    def max_edges_in_use(self) -> int:
        return self.k

    def node_ops(self, architectures: Sequence[Architecture]) -> list[np.ndarray]:
        ops = np.stack([a.parts["node_ops"] for a in architectures])
        bounds = np.cumsum([0, *self.net.sizes[1:-1]])
        return [ops[:, bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]


@hookimpl
def esenas_register_search_spaces(register):
    register(OpsSearchSpace)
