"""Layered supernets: node layout, candidate edges, and a base class for search spaces over them.

Layers are ``[obs_dim, *hidden, act_dim]``. Nodes are numbered globally, layer by layer (inputs
first, outputs last). Candidate edges connect consecutive layers, or with ``residual=True`` any
layer to any later layer. Edges are numbered grouped by target layer t, then source layer
(ascending), source node, target node; so the edges into layer t form one contiguous slice that
reshapes straight into t's (in_t × n_t) weight matrix (in_t = sizes of its sources).
docs/search_spaces.md draws the numbering for a small net.

θ layout of every built-in network space: [edge weights or shared weights | one bias per hidden
and output node].
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Literal

import attrs
import numpy as np

from esenas_core.api.decisions import DecisionSpace
from esenas_core.api.errors import ConfigError
from esenas_core.api.interfaces import Architecture, SearchSpace, TaskSpec
from esenas_core.api.memory import BYTES_PER_PARAMETER, over_half
from esenas_core.networks.drawing import draw_layered
from esenas_core.networks.kernels import OP_CODES
from esenas_core.networks.liveness import Liveness
from esenas_core.networks.nets import OPS, LayeredNetwork

OP_NAMES = OP_CODES  # every nonlinearity a node can use (``LayeredSpace.op_names`` ⊆ this)

MAX_EDGES = 2**31  # 16 GiB of float64 weights


def positive_sizes(_inst: object, attr: Any, value: tuple[int, ...]) -> None:
    """attrs validator for layer-size lists such as ``hidden`` (every entry ≥ 1)."""
    if any(v < 1 for v in value):
        raise ValueError(f"every entry of {attr.name} must be >= 1, got {list(value)}")


BYTES_PER_EDGE = BYTES_PER_PARAMETER + 16  # its parameter's arrays; its row of the edge list


def _check_edges(sizes: list[int], edges: int) -> None:
    """Refuse, before anything is allocated, more candidate edges than supported or than half of
    this machine's memory holds (numpy would allocate the arrays lazily and the system would
    kill the process once they are written). Exact Python integers: no int64 overflow."""
    if edges > MAX_EDGES:
        raise ConfigError(
            f"layer sizes {sizes} give {edges} candidate edges; at most {MAX_EDGES} are"
            f" supported (θ alone would need {8 * edges / 2**30:.3g} GiB)"
        )
    need = BYTES_PER_EDGE * edges
    total = over_half(need)
    if total:
        raise ConfigError(
            f"layer sizes {sizes} give {edges} candidate edges, whose per-edge arrays need"
            f" ≈ {need / 2**30:.3g} GiB, more than half of this machine's {total / 2**30:.3g} GiB;"
            " use smaller hidden layers"
        )


class Supernet:
    """Node layout and candidate edges of a layered supernet."""

    def __init__(self, sizes: Sequence[int], residual: bool = False) -> None:
        self.sizes = [int(s) for s in sizes]
        self.residual = residual
        self.starts = np.cumsum([0, *self.sizes])  # global index of each layer's first node
        self.in_sizes = [
            int(self.starts[t]) if residual else self.sizes[t - 1]
            for t in range(1, len(self.sizes))
        ]
        counts = [i * n for i, n in zip(self.in_sizes, self.sizes[1:], strict=True)]
        _check_edges(self.sizes, sum(counts))
        self.edge_offsets = np.cumsum([0, *counts])
        self.num_edges = int(self.edge_offsets[-1])
        self.num_biases = sum(self.sizes[1:])
        self.num_hidden = sum(self.sizes[1:-1])

    def blocks(self) -> list[tuple[int, int]]:
        """(first edge, number of edges) of each target layer's slice."""
        return [
            (int(self.edge_offsets[t]), int(self.edge_offsets[t + 1] - self.edge_offsets[t]))
            for t in range(len(self.sizes) - 1)
        ]

    def edge_list(self) -> np.ndarray:
        """(num_edges, 2) global (source node, target node) of every candidate edge, in order."""
        out = np.empty((self.num_edges, 2), dtype=np.int64)
        for t, (lo, count) in enumerate(self.blocks(), start=1):
            first = 0 if self.residual else int(self.starts[t - 1])
            sources = np.arange(first, int(self.starts[t]), dtype=np.int64)
            targets = np.arange(int(self.starts[t]), int(self.starts[t + 1]), dtype=np.int64)
            out[lo : lo + count, 0] = np.repeat(sources, len(targets))
            out[lo : lo + count, 1] = np.tile(targets, len(sources))
        return out

    @functools.cached_property
    def liveness(self) -> Liveness:
        """Live-edge tests and repair over this supernet (``esenas_core.networks.liveness``)."""
        return Liveness(self.sizes, self.residual, self.edge_list())

    def weight_matrices(self, edge_weights: np.ndarray) -> list[np.ndarray]:
        """Split (B, num_edges) effective edge weights into per-layer (B, in_t, n_t) matrices."""
        batch = edge_weights.shape[0]
        return [
            edge_weights[:, lo : lo + count].reshape(batch, self.in_sizes[t], self.sizes[t + 1])
            for t, (lo, count) in enumerate(self.blocks())
        ]


@attrs.frozen
class LayeredOptions:
    """Options every ``LayeredSpace`` reads; a layered space's Options subclass this and add
    their own fields (all with defaults). Redefine a field to change its default, or with
    ``attrs.field(default=..., init=False)`` to drop it from the config (the ``ops`` space has no
    single ``activation``)."""

    hidden: tuple[int, ...] = attrs.field(default=(16, 16), validator=positive_sizes)
    activation: Literal["tanh", "relu"] = "tanh"
    init_std: float = attrs.field(default=0.5, validator=attrs.validators.ge(0.0))


class LayeredSpace(SearchSpace):
    """Base of the built-in network search spaces (and a good base for plugins).

    A subclass builds its ``Supernet`` and ``DecisionSpace`` in ``__init__`` and hands both to
    ``super().__init__(options, task, net=..., decisions=...)``; it implements ``decode``,
    whose ``Architecture`` carries ``parts["edge_mask"]`` (bool, one per candidate edge) unless
    it overrides ``edge_mask``. Optional: ``edge_weights`` (default: θ's edge weights times the
    mask), ``num_weights`` (default: one weight per candidate edge), ``node_ops`` with
    ``op_names``, ``edge_groups`` (shared-weight colours in pictures), ``max_edges_in_use``.

    θ is laid out as [``num_weights`` weights | one bias per hidden and output node]; the
    options are a ``LayeredOptions`` (hidden sizes, activation, init scale).
    """

    net: Supernet
    op_names: tuple[str, ...] = ()

    def __init__(
        self, options: Any, task: TaskSpec, *, net: Supernet, decisions: DecisionSpace
    ) -> None:
        if not isinstance(options, LayeredOptions):
            raise TypeError(
                f"{type(self).__name__}.Options must subclass esenas_core.LayeredOptions"
                f" (hidden, activation, init_std), got {type(options).__name__}"
            )
        super().__init__(options, task)
        self.net = net
        self._decisions = decisions

    @property
    def decisions(self) -> DecisionSpace:
        return self._decisions

    @property
    def num_weights(self) -> int:
        return self.net.num_edges

    @property
    def num_params(self) -> int:
        return self.num_weights + self.net.num_biases

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        theta = np.zeros(self.num_params)
        theta[: self.num_weights] = rng.normal(0.0, self.options.init_std, self.num_weights)
        return theta

    def edge_weights(self, params: np.ndarray, architectures: Sequence[Architecture]) -> np.ndarray:
        """(B, num_edges) effective weight of every candidate edge (0 where absent): by default
        θ's first ``num_edges`` entries times each architecture's ``edge_mask``."""
        masks = np.stack([self.edge_mask(a) for a in architectures])
        return params[:, : self.net.num_edges] * masks

    @property
    def max_edges_in_use(self) -> int | None:
        """The most candidate edges an architecture of this space can use (None: any number).

        Where it is at most a quarter of the candidates, networks are evaluated over lists of
        their edges instead of dense matrices (``LayeredNetwork(sparse=True)``).
        """
        return None

    def node_ops(self, architectures: Sequence[Architecture]) -> list[np.ndarray] | None:
        """Per hidden layer, (B, n_t) op indices into ``op_names``; None: one activation."""
        return None

    def edge_groups(self, architecture: Architecture) -> np.ndarray | None:
        """Per candidate edge, which shared weight it uses (None: every edge its own)."""
        return None

    def network(self, params: np.ndarray, architectures: Sequence[Architecture]) -> LayeredNetwork:
        edge_weights = self.edge_weights(params, architectures)
        return self.network_of(edge_weights, params[:, self.num_weights :], architectures)

    def network_of(
        self, edge_weights: np.ndarray, biases: np.ndarray, architectures: Sequence[Architecture]
    ) -> LayeredNetwork:
        """The networks of (B, num_edges) effective edge weights and (B, num_biases) biases."""
        weights = self.net.weight_matrices(edge_weights)
        split = np.cumsum(self.net.sizes[1:-1])
        return LayeredNetwork(
            weights,
            np.split(biases, split, axis=1),
            self.options.activation,
            self.net.residual,
            self.node_ops(architectures),
            self.op_names,
            sparse=(m := self.max_edges_in_use) is not None and 4 * m <= self.net.num_edges,
        )

    def compact(
        self, params: np.ndarray, architecture: Architecture
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The same policy over its live edges only: (live edge mask, effective edge weights
        with every dead edge at 0, biases with the dead edges' constants folded in).

        A node that no input reaches computes a constant; the edges it feeds to live nodes add
        that constant times their weight, which moves into the target's bias. Edges into nodes
        that reach no output change nothing. ``network_of`` on the result gives the same actions
        with ``live_multiplications`` multiplications per action."""
        mask = self.edge_mask(architecture)
        weights = self.edge_weights(params[None, :], [architecture])[0].astype(np.float64)
        biases = np.array(params[self.num_weights :], dtype=np.float64)
        reach = self.net.liveness.nodes(mask)[0]
        ops = self.node_ops([architecture])
        names = [self.op_names[int(o)] for layer in ops for o in layer[0]] if ops else []
        values = np.zeros(int(self.net.starts[-1]))  # the constants of unreached nodes
        edges, first = self.net.edge_list(), self.net.sizes[0]
        for t, (lo, count) in enumerate(self.net.blocks(), start=1):
            for e in range(lo, lo + count):
                src, dst = edges[e]
                if mask[e] and not reach[src]:
                    biases[dst - first] += weights[e] * values[src]
            for node in range(int(self.net.starts[t]), int(self.net.starts[t + 1])):
                if not reach[node]:
                    last = t == len(self.net.sizes) - 1
                    name = "tanh" if last else (names[node - first] if names else None)
                    total = np.array([biases[node - first]])
                    values[node] = OPS[name or self.options.activation](total)[0]
        live = self.net.liveness.live(mask)
        weights[~live] = 0.0
        return live, weights, biases

    def edge_mask(self, architecture: Architecture) -> np.ndarray:
        """Which candidate edges exist in ``architecture`` (bool, num_edges)."""
        return architecture.parts["edge_mask"]

    def param_mask(self, architecture: Architecture) -> np.ndarray:
        return np.concatenate([self.edge_mask(architecture), np.ones(self.net.num_biases, bool)])

    def describe(self, architecture: Architecture) -> dict[str, int]:
        """Sizes: ``edges`` kept (one multiplication each per action), ``live_edges`` — those on
        a path from an input to an output, the only ones that change an action — and the
        ``candidate_edges`` of the supernet."""
        mask = self.edge_mask(architecture)
        edges, live = int(mask.sum()), int(self.net.liveness.live(mask).sum())
        return {
            "edges": edges,
            "live_edges": live,
            "candidate_edges": self.net.num_edges,
            "multiplications": edges,
            "live_multiplications": live,
            "params_in_use": int(self.param_mask(architecture).sum()),
        }

    def label(self, architecture: Architecture) -> str:
        size = self.describe(architecture)
        text = f"{size['edges']} of {self.net.num_edges} candidate edges"
        if size["live_edges"] != size["edges"]:
            text += f" ({size['live_edges']} live)"
        edges = self.net.edge_list()[self.edge_mask(architecture)]
        if len(edges) <= 64:
            text += " (" + ", ".join(f"{s}→{d}" for s, d in edges) + ")"
        groups = self.edge_groups(architecture)
        if groups is not None:
            text += f"; {len(np.unique(groups))} shared weights"
        ops = self.node_ops([architecture])
        if ops is not None:
            names = [self.op_names[int(o)] for layer in ops for o in layer[0]]
            text += "; hidden node ops: " + ", ".join(names)
        return text

    def draw(self, architecture: Architecture, ax: Any) -> bool:
        """Nodes by layer, kept edges as lines (colour = shared weight), hidden nodes' ops."""
        draw_layered(self, architecture, ax)
        return True

    def reference_forward(
        self, params: np.ndarray, architecture: Architecture, obs: np.ndarray
    ) -> np.ndarray:
        """A slow per-edge, per-node evaluation (like the original loop), for conformance tests."""
        weights = self.edge_weights(params[None, :], [architecture])[0]
        ops = self.node_ops([architecture])
        act = self.options.activation
        values = np.zeros(int(self.net.starts[-1]))
        values[: self.net.sizes[0]] = obs
        edges = self.net.edge_list()
        bias = self.num_weights
        last = len(self.net.sizes) - 1
        for t in range(1, len(self.net.sizes)):
            for j in range(self.net.sizes[t]):
                node = int(self.net.starts[t]) + j
                total = params[bias]
                bias += 1
                for e, (src, dst) in enumerate(edges):
                    if dst == node and weights[e] != 0.0:
                        total += weights[e] * values[src]
                if t == last:
                    values[node] = np.tanh(total)
                else:
                    name = act if ops is None else self.op_names[ops[t - 1][0, j]]
                    values[node] = OPS[name](np.array([total]))[0]
        return values[int(self.net.starts[-2]) :]
