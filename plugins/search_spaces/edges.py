"""``edges``: keep k edges of a layered supernet (the original's ``NumpyEdgeSparsityPolicy``).

Modes (the original's ``edge_policy_sample_mode``):
- ``aggregate``: k distinct edges among all consecutive-layer edges (``aggregate_edges``);
- ``independent``: ``k_per_layer[t]`` edges among the edges into layer t+1, per layer
  (``independent_edges``);
- ``residual``: k distinct edges from any layer to any later layer (``residual_edges``).

``keep_linear = true`` (mode ``residual``) keeps every input→output edge in every architecture —
a linear policy, started at 0 as in ARS — and the controller chooses the other ``k − obs·act``
edges: the pruned network can always fall back on the linear policy and every chosen edge adds
to it, instead of the network having to find input→output paths with a few random edges.

A choice of edges is a *set* (a sorted ``Subset``). θ is compact: one weight per candidate edge
plus one bias per hidden and output node. docs/algorithm.md lists where this differs from the
original implementation.
"""

from __future__ import annotations

from typing import Literal

import attrs
import numpy as np

from esenas_core import (
    Architecture,
    ConfigError,
    DecisionSpace,
    LayeredOptions,
    LayeredSpace,
    Subset,
    Supernet,
    TaskSpec,
    hookimpl,
    positive_sizes,
)


@attrs.frozen
class EdgesOptions(LayeredOptions):
    """Options of the ``edges`` search space (and ``hidden``, ``activation``, ``init_std``)."""

    mode: Literal["aggregate", "independent", "residual"] = "aggregate"
    k: int = attrs.field(default=32, validator=attrs.validators.ge(1))
    k_per_layer: tuple[int, ...] = attrs.field(default=(), validator=positive_sizes)
    keep_linear: bool = False


class EdgesSearchSpace(LayeredSpace):
    """Edge pruning over a layered supernet: a genome is a set of kept candidate edges."""

    name = "edges"
    Options = EdgesOptions

    def __init__(self, options: EdgesOptions, task: TaskSpec) -> None:
        net = Supernet([task.obs_dim, *options.hidden, task.act_dim], options.mode == "residual")
        self.sizes = net.sizes
        self.num_edges = net.num_edges
        if options.mode == "independent":
            blocks = net.blocks()
            if len(options.k_per_layer) != len(blocks):
                raise ConfigError(
                    f"mode 'independent' needs k_per_layer with one entry per layer after"
                    f" the input ({len(blocks)} for layer sizes {self.sizes}),"
                    f" got {list(options.k_per_layer)}"
                )
            for t, ((_, count), k) in enumerate(zip(blocks, options.k_per_layer, strict=True)):
                if k > count:
                    raise ConfigError(
                        f"k_per_layer[{t}]={k} is larger than the {count} candidate edges"
                        f" into layer {t + 1} (size {self.sizes[t + 1]})"
                    )
            groups = [
                Subset(count, k, label=f"edges_into_layer_{t + 1}")
                for t, ((_, count), k) in enumerate(zip(blocks, options.k_per_layer, strict=True))
            ]
        else:
            if options.k_per_layer:
                raise ConfigError("k_per_layer is only used with mode 'independent'")
            if options.k > self.num_edges:
                raise ConfigError(
                    f"k={options.k} is larger than the number of candidate edges"
                    f" ({self.num_edges}) for layer sizes {self.sizes}"
                    + (" with residual edges" if net.residual else "")
                )
            groups = [Subset(self.num_edges, options.k, label="edges")]
        self.direct = np.zeros(0, dtype=np.int64)  # edges kept in every architecture
        self.chosen = np.arange(self.num_edges)  # candidate index of each genome value
        if options.keep_linear:
            if options.mode != "residual":
                raise ConfigError(
                    "keep_linear needs mode 'residual' (the input→output edges are residual edges)"
                )
            lo = net.blocks()[-1][0]  # edges into the outputs start with the inputs' ones
            self.direct = np.arange(lo, lo + task.obs_dim * task.act_dim)
            if options.k <= self.direct.size:
                raise ConfigError(
                    f"keep_linear keeps the {self.direct.size} input→output edges;"
                    f" k={options.k} leaves no edge to choose (k must exceed {self.direct.size})"
                )
            self.chosen = np.setdiff1d(np.arange(self.num_edges), self.direct)
            groups = [Subset(self.chosen.size, options.k - self.direct.size, label="edges")]
        super().__init__(options, task, net=net, decisions=DecisionSpace(groups))

    def decode(self, genome: np.ndarray) -> Architecture:
        genome = self.decisions.validate(genome)
        mask = np.zeros(self.num_edges, dtype=bool)
        if self.options.mode == "independent":
            for (lo, _), values in zip(
                self.net.blocks(), self.decisions.split(genome), strict=True
            ):
                mask[lo + values] = True
        else:
            mask[self.chosen[genome]] = True
            mask[self.direct] = True
        return Architecture(genome=genome, parts={"edge_mask": mask})

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        theta = super().init_params(rng)
        theta[self.direct] = 0.0  # the kept linear part starts at the zero policy, as ARS
        return theta

    @property
    def max_edges_in_use(self) -> int:
        if self.options.mode == "independent":
            return sum(self.options.k_per_layer)
        return self.options.k


@hookimpl
def esenas_register_search_spaces(register):
    register(EdgesSearchSpace)
