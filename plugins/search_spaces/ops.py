"""``ops``: residual edge choice plus a nonlinearity per hidden node (the original's
``OpEdgePolicy``, close to weight-agnostic networks).

Genome: k distinct residual edges (any layer to any later layer, input → output included), then
one op index per hidden node. The original listed ``step`` twice (doubling its prior) and skipped
the op of the first hidden node; here each op appears once and every hidden node applies its op
to (input + bias). Outputs use tanh, then scaling to the action bounds.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from esenas_core import Architecture, Choice, ConfigError, DecisionSpace, Subset, TaskSpec, hookimpl
from esenas_core.nets import OPS
from esenas_core.supernet import LayeredSpace, Supernet, positive_sizes

ALL_OPS = (
    "tanh", "relu", "exp", "identity", "sin", "sigmoid", "abs", "cos", "square", "step",
    "reciprocal",
)  # fmt: skip


@attrs.frozen
class OpsOptions:
    """Options of the ``ops`` search space."""

    hidden: tuple[int, ...] = attrs.field(default=(16, 16), validator=positive_sizes)
    k: int = attrs.field(default=32, validator=attrs.validators.ge(1))
    ops: tuple[str, ...] = ALL_OPS
    init_std: float = attrs.field(default=0.5, validator=attrs.validators.ge(0.0))


class OpsSearchSpace(LayeredSpace):
    """k residual edges plus one nonlinearity per hidden node."""

    name = "ops"
    Options = OpsOptions

    def __init__(self, options: OpsOptions, task: TaskSpec) -> None:
        super().__init__(options, task)
        where = "[search_space] ops"
        if not options.hidden:
            raise ConfigError(f"{where}: needs at least one hidden layer (ops act on hidden nodes)")
        unknown = [op for op in options.ops if op not in OPS]
        if unknown or not options.ops or len(set(options.ops)) != len(options.ops):
            raise ConfigError(
                f"{where}: ops must be distinct names among {', '.join(ALL_OPS)};"
                f" got {list(options.ops)}"
            )
        self.net = Supernet([task.obs_dim, *options.hidden, task.act_dim], residual=True)
        if options.k > self.net.num_edges:
            raise ConfigError(
                f"{where}: k={options.k} is larger than the number of candidate residual edges"
                f" ({self.net.num_edges}) for layer sizes {self.net.sizes}"
            )
        self.op_names = tuple(options.ops)
        self._decisions = DecisionSpace(
            [
                Subset(self.net.num_edges, options.k, label="edges"),
                Choice(len(self.op_names), count=self.net.num_hidden, label="node_ops"),
            ]
        )

    def decode(self, genome: np.ndarray) -> Architecture:
        genome = self._decisions.validate(genome)
        edges, ops = self._decisions.split(genome)
        mask = np.zeros(self.net.num_edges, dtype=bool)
        mask[edges] = True
        return Architecture(genome=genome, parts={"edge_mask": mask, "node_ops": ops.copy()})

    @property
    def max_edges_in_use(self) -> int:
        return self.options.k

    def edge_weights(self, params: np.ndarray, architectures: Sequence[Architecture]) -> np.ndarray:
        masks = np.stack([a.parts["edge_mask"] for a in architectures])
        return params[:, : self.net.num_edges] * masks

    def node_ops(self, architectures: Sequence[Architecture]) -> list[np.ndarray]:
        ops = np.stack([a.parts["node_ops"] for a in architectures])
        bounds = np.cumsum([0, *self.net.sizes[1:-1]])
        return [ops[:, bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]


@hookimpl
def esenas_register_search_spaces(register):
    register(OpsSearchSpace)
