"""``edges``: keep exactly k edges of a layered supernet (ES-ENAS edge pruning).

Mode ``aggregate`` (the original ``NumpyEdgeSparsityPolicy``): choose k distinct edges among all
edges between consecutive layers, as a *set* (the original's ``sublist_of`` treated permutations of
one set as different DNAs). θ is compact: one weight per candidate edge plus one bias per hidden and
output node (the original kept a dense T×T matrix over all nodes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs
import numpy as np

from esenas_core import Architecture, DecisionSpace, SearchSpace, Subset, TaskSpec, hookimpl
from esenas_core.errors import ConfigError
from esenas_core.nets import ACTIVATIONS, LayeredNetwork, block_shapes


def _positive_sizes(_inst: object, _attr: attrs.Attribute, value: tuple[int, ...]) -> None:
    if any(v < 1 for v in value):
        raise ValueError(f"every hidden layer size must be >= 1, got {list(value)}")


@attrs.frozen
class EdgesOptions:
    """Options of the ``edges`` search space."""

    hidden: tuple[int, ...] = attrs.field(default=(16, 16), validator=_positive_sizes)
    k: int = attrs.field(default=32, validator=attrs.validators.ge(1))
    mode: Literal["aggregate"] = "aggregate"
    activation: Literal["tanh", "relu"] = "tanh"
    init_std: float = attrs.field(default=0.5, validator=attrs.validators.ge(0.0))


class EdgesSearchSpace(SearchSpace):
    """Edge pruning over a layered supernet: a genome is a set of k candidate edges."""

    name = "edges"
    Options = EdgesOptions

    def __init__(self, options: EdgesOptions, task: TaskSpec) -> None:
        super().__init__(options, task)
        assert options.activation in ACTIVATIONS
        self.sizes = [task.obs_dim, *options.hidden, task.act_dim]
        self.blocks = block_shapes(self.sizes)
        self.num_edges = sum(a * b for a, b in self.blocks)
        if options.k > self.num_edges:
            raise ConfigError(
                f"[search_space] edges: k={options.k} is larger than the number of candidate edges"
                f" ({self.num_edges}) for layer sizes {self.sizes}"
            )
        self._decisions = DecisionSpace([Subset(self.num_edges, options.k, label="edges")])
        self._num_biases = sum(self.sizes[1:])

    @property
    def decisions(self) -> DecisionSpace:
        return self._decisions

    @property
    def num_params(self) -> int:
        return self.num_edges + self._num_biases

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        theta = np.zeros(self.num_params)
        theta[: self.num_edges] = rng.normal(0.0, self.options.init_std, self.num_edges)
        return theta

    def decode(self, genome: np.ndarray) -> Architecture:
        genome = self._decisions.validate(genome)
        mask = np.zeros(self.num_edges, dtype=bool)
        mask[genome] = True
        return Architecture(genome=genome, parts={"edge_mask": mask})

    def network(self, params: np.ndarray, architectures: Sequence[Architecture]) -> LayeredNetwork:
        batch = params.shape[0]
        masks = np.stack([a.parts["edge_mask"] for a in architectures])
        flat = params[:, : self.num_edges] * masks
        weights, biases, w_off, b_off = [], [], 0, self.num_edges
        for n_in, n_out in self.blocks:
            weights.append(flat[:, w_off : w_off + n_in * n_out].reshape(batch, n_in, n_out))
            biases.append(params[:, b_off : b_off + n_out])
            w_off += n_in * n_out
            b_off += n_out
        return LayeredNetwork(weights, biases, self.options.activation)

    def param_mask(self, architecture: Architecture) -> np.ndarray:
        return np.concatenate([architecture.parts["edge_mask"], np.ones(self._num_biases, bool)])

    def describe(self, architecture: Architecture) -> dict[str, int]:
        edges = int(architecture.parts["edge_mask"].sum())
        return {
            "edges": edges,
            "candidate_edges": self.num_edges,
            "multiplications": edges,
            "params_in_use": edges + self._num_biases,
        }


@hookimpl
def esenas_register_search_spaces(register):
    register(EdgesSearchSpace)
