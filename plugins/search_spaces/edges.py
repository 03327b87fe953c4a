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

``k_fraction`` (0 = unused) sets k, or every layer's ``k_per_layer`` entry, to that fraction of
the candidates (rounded): one config for environments of any size.

``decoding = "repair"`` (default) moves chosen edges that would be dead to live places, so that
k chosen edges are k live edges (per layer, for ``independent``); ``"plain"`` keeps them as
chosen. ``init_std = "auto"`` (default) scales each layer's start by its live fan-in
(``esenas_core.networks.pruned``).

A choice of edges is a *set* (a sorted ``Subset``). θ is compact: one weight per candidate edge
plus one bias per hidden and output node. docs/algorithm.md lists where this differs from the
original implementation.
"""

from __future__ import annotations

import math
from typing import Literal

import attrs
import numpy as np

from esenas_core import (
    Architecture,
    ConfigError,
    DecisionSpace,
    PrunedOptions,
    PrunedSpace,
    Subset,
    Supernet,
    TaskSpec,
    hookimpl,
    positive_sizes,
)


@attrs.frozen
class EdgesOptions(PrunedOptions):
    """Options of the ``edges`` search space (and ``hidden``, ``activation``, ``init_std``,
    ``decoding``)."""

    mode: Literal["aggregate", "independent", "residual"] = "aggregate"
    k: int = attrs.field(default=32, validator=attrs.validators.ge(1))
    k_fraction: float = attrs.field(
        default=0.0, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)]
    )
    k_per_layer: tuple[int, ...] = attrs.field(default=(), validator=positive_sizes)
    keep_linear: bool = False


class EdgesSearchSpace(PrunedSpace):
    """Edge pruning over a layered supernet: a genome is a set of kept candidate edges."""

    name = "edges"
    Options = EdgesOptions

    def __init__(self, options: EdgesOptions, task: TaskSpec) -> None:
        net = Supernet([task.obs_dim, *options.hidden, task.act_dim], options.mode == "residual")
        self.sizes = net.sizes
        self.num_edges = net.num_edges
        self.groups = np.zeros(net.num_edges, dtype=np.int64)
        if options.mode == "independent":
            groups = self._independent_groups(options, net)
        else:
            if options.k_per_layer:
                raise ConfigError("k_per_layer is only used with mode 'independent'")
            self.k = self.budget(options, self.num_edges)
            if self.k > self.num_edges:
                raise ConfigError(
                    f"k={self.k} is larger than the number of candidate edges"
                    f" ({self.num_edges}) for layer sizes {self.sizes}"
                    + (" with residual edges" if net.residual else "")
                )
            groups = [Subset(self.num_edges, self.k, label="edges")]
        self.fixed = np.zeros(0, dtype=np.int64)  # edges kept in every architecture
        self.chosen = np.arange(self.num_edges)  # candidate index of each genome value
        if options.keep_linear:
            if options.mode != "residual":
                raise ConfigError(
                    "keep_linear needs mode 'residual' (the input→output edges are residual edges)"
                )
            lo = net.blocks()[-1][0]  # edges into the outputs start with the inputs' ones
            self.fixed = np.arange(lo, lo + task.obs_dim * task.act_dim)
            if self.k <= self.fixed.size:
                least = math.ceil(1e4 * (self.fixed.size + 0.5) / self.num_edges) / 1e4
                share = (
                    f" (k_fraction={options.k_fraction} of {self.num_edges} candidates; it must"
                    f" be at least {least:.4f})"
                    if options.k_fraction
                    else ""
                )
                raise ConfigError(
                    f"keep_linear keeps the {self.fixed.size} input→output edges;"
                    f" k={self.k}{share} leaves no edge to choose (k must exceed"
                    f" {self.fixed.size})"
                )
            self.chosen = np.setdiff1d(np.arange(self.num_edges), self.fixed)
            self.groups[self.fixed] = -1
            groups = [Subset(self.chosen.size, self.k - self.fixed.size, label="edges")]
        super().__init__(options, task, net=net, decisions=DecisionSpace(groups))
        if options.mode == "independent":
            self.check_layer_budgets(self.k_per_layer)
        else:
            low = self.fixed.size + 1
            self.check_budget("k", self.k, low, self.num_edges)

    def _independent_groups(self, options: EdgesOptions, net: Supernet) -> list[Subset]:
        blocks = net.blocks()
        ks = options.k_per_layer
        if options.k_fraction:
            if ks:
                raise ConfigError(
                    f"set either k_per_layer={list(ks)} or k_fraction={options.k_fraction},"
                    " not both (k_fraction sets every layer's budget)"
                )
            ks = tuple(self.budget(options, count) for _, count in blocks)
        self.k_per_layer = ks
        self.k = sum(ks)
        if len(ks) != len(blocks):
            raise ConfigError(
                f"mode 'independent' needs k_per_layer with one entry per layer after"
                f" the input ({len(blocks)} for layer sizes {self.sizes}), got {list(ks)}"
            )
        for t, ((lo, count), k) in enumerate(zip(blocks, ks, strict=True)):
            if k > count:
                raise ConfigError(
                    f"k_per_layer[{t}]={k} is larger than the {count} candidate edges"
                    f" into layer {t + 1} (size {self.sizes[t + 1]})"
                )
            self.groups[lo : lo + count] = t
        return [
            Subset(count, k, label=f"edges_into_layer_{t + 1}")
            for t, ((_, count), k) in enumerate(zip(blocks, ks, strict=True))
        ]

    def fallback_repair(self, mask: np.ndarray) -> np.ndarray | None:
        if self.options.mode != "independent":
            return None
        return self.repair_layers(mask, self.k_per_layer)

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
            mask[self.fixed] = True
        return Architecture(genome=genome, parts={"edge_mask": self.decode_edges(mask, genome)})

    @property
    def max_edges_in_use(self) -> int:
        return self.k


@hookimpl
def esenas_register_search_spaces(register):
    register(EdgesSearchSpace)
