"""Batched layered networks shared by the built-in search spaces.

A batch holds B networks (one per rollout) with the same node layout but their own effective
weight matrices (supernet weights times an architecture's 0/1 mask, or gathered shared weights).
Target layer t reads either the previous layer (``residual=False``) or all earlier layers
(``residual=True``). The forward pass is one compiled call per step
(``esenas_core.networks.kernels``);
``OPS`` below are the numpy definitions of the nonlinearities, used by the slow per-edge
reference evaluation that the conformance checks compare against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from esenas_core.api import fixedmath
from esenas_core.api.interfaces import Network


def _safe_reciprocal(x: np.ndarray) -> np.ndarray:
    # 1/x, but 10 where |x| < 0.1: bounded by 10 in magnitude.
    out = np.full_like(x, 10.0)
    big = np.abs(x) >= 0.1
    out[big] = 1.0 / x[big]
    return out


OPS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "exp": lambda x: np.exp(np.clip(x, -10.0, 10.0)),
    "identity": lambda x: x,
    "sin": np.sin,
    "sigmoid": lambda x: 0.5 * (1.0 + np.tanh(0.5 * x)),
    "abs": np.abs,
    "cos": np.cos,
    "square": np.square,
    "step": lambda x: (x >= 0.0).astype(x.dtype),
    "reciprocal": _safe_reciprocal,
}


COLUMNS_FROM = 64  # batches of at least this many rows run kernels.forward_columns


class LayeredNetwork(Network):
    """B feed-forward networks.

    :param weights: per target layer t = 1..L, an array (B, in_t, n_t).
    :param biases: per target layer, (B, n_t).
    :param activation: nonlinearity of every hidden node (when ``ops`` is None).
    :param ops: per hidden layer, (B, n_t) indices into ``op_names``: each node's nonlinearity.
    :param dtype: evaluation precision: float32 by default (θ itself stays float64).
    :param sparse: evaluate over lists of the nonzero weights (``kernels.forward_sparse``) instead
        of dense matrices: faster where few of the candidate edges are in use. Spaces choose it
        from their options only (never from the weights at hand), so a network's result does not
        depend on which other rows share its batch.
    Outputs always use tanh and come back as a fresh float64 array.

    The forward pass is one call of the compiled ``kernels.forward`` (see there for the layout
    of ``params``): a step of the environment loop runs right after the simulator has evicted
    the caches, where every extra numpy call costs several times its in-cache time. An instance
    is read-only once built (safe to share between threads).
    """

    def __init__(
        self,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        activation: str = "tanh",
        residual: bool = False,
        ops: Sequence[np.ndarray] | None = None,
        op_names: Sequence[str] = (),
        dtype: type = np.float32,
        sparse: bool = False,
    ) -> None:
        from esenas_core.networks import (
            kernels,  # here, not at import: numba takes ≈ 0.4 s to import
        )

        weights = [np.asarray(w) for w in weights]
        batch = weights[0].shape[0]
        sizes = [int(weights[0].shape[1])] + [int(w.shape[2]) for w in weights]
        starts = np.cumsum([0, *sizes])
        layout, offset = [], 0
        for t, w in enumerate(weights):
            width, n = w.shape[1], w.shape[2]
            layout.append((offset, 0 if residual else starts[t], width, starts[t + 1], n))
            offset += n * (1 + width)
        params = np.concatenate(
            [
                np.concatenate([np.asarray(b)[:, :, None], np.swapaxes(w, 1, 2)], axis=2).reshape(
                    batch, -1
                )
                for w, b in zip(weights, biases, strict=True)
            ],
            axis=1,
        )
        if ops is None:
            if activation not in kernels.OP_CODES:
                raise ValueError(f"unknown activation {activation!r}")
            uniform, codes = kernels.OP_CODES.index(activation), None
        else:
            table = np.array([kernels.OP_CODES.index(name) for name in op_names], dtype=np.int8)
            codes = np.zeros((batch, int(starts[-1])), dtype=np.int8)
            for t, layer_ops in enumerate(ops):
                codes[:, starts[t + 1] : starts[t + 2]] = table[np.asarray(layer_ops)]
            uniform = kernels.MIXED
        self._setup(
            params, np.array(layout, dtype=np.int64), codes, uniform, residual, dtype, sparse
        )
        self.activation, self.op_names = activation, tuple(op_names)

    def _setup(self, params, layout, codes, uniform, residual, dtype, sparse) -> None:
        from esenas_core.networks import kernels

        self.dtype = dtype
        self.params = np.ascontiguousarray(params, dtype=dtype)
        self.layout = layout
        batch = self.params.shape[0]
        self.nodes = int(layout[-1, 3] + layout[-1, 4])
        self.codes = np.zeros((batch, 1), np.int8) if codes is None else codes
        self.uniform = uniform
        self.residual = residual
        self.n_in = int(layout[0, 2])
        self.n_out = int(layout[-1][4])
        self.sparse = sparse
        if sparse:
            floats, ints, slots = self._edge_lists()
            meta = kernels.pack_meta(layout, uniform, self.nodes, slots)
            self._kernel: Any = kernels.forward_sparse
            self._args: tuple[Any, ...] = (floats, ints, meta, self.codes)
        elif batch >= COLUMNS_FROM:  # the same bits, the batch as the inner loop (SIMD)
            meta = kernels.pack_meta(layout, uniform, self.nodes)
            params_t = np.ascontiguousarray(self.params.T)
            self._kernel, self._args = kernels.forward_columns, (params_t, meta, self.codes)
        else:
            meta = kernels.pack_meta(layout, uniform, self.nodes)
            self._kernel, self._args = kernels.forward, (self.params, meta, self.codes)

    def _edge_lists(self) -> tuple[np.ndarray, np.ndarray, int]:
        """``kernels.forward_sparse``'s (floats, ints) for the nonzero weights of every row,
        and the number of edge slots per row."""
        batch, layers = self.params.shape[0], len(self.layout)
        bias = np.zeros((batch, self.nodes), self.dtype)
        rows, srcs, dsts, ws, tags = [], [], [], [], []
        for t in range(layers):
            _, src0, _, dst0, n = (int(v) for v in self.layout[t])
            m = self._matrix(t)
            bias[:, dst0 : dst0 + n] = m[:, :, 0]
            b, j, i = np.nonzero(m[:, :, 1:])  # by row, then target node, then source node
            rows.append(b)
            srcs.append(src0 + i)
            dsts.append(dst0 + j)
            ws.append(m[b, j, 1 + i])
            tags.append(np.full(b.size, t))
        row, tag = np.concatenate(rows), np.concatenate(tags)
        order = np.lexsort((tag, row))  # stable: keeps target, source order within a layer
        row, tag = row[order], tag[order]
        counts = np.bincount(row * layers + tag, minlength=batch * layers).reshape(batch, layers)
        ends = np.cumsum(counts, axis=1)
        slots = max(int(ends[:, -1].max(initial=0)), 1)
        slot = np.arange(row.size) - np.concatenate([[0], np.cumsum(ends[:, -1])[:-1]])[row]
        weight = np.zeros((batch, slots), self.dtype)
        ints = np.zeros((batch, 2 * slots + layers), np.int32)
        weight[row, slot] = np.concatenate(ws)[order]
        ints[row, slot] = np.concatenate(srcs)[order]
        ints[row, slots + slot] = np.concatenate(dsts)[order]
        ints[:, 2 * slots :] = ends
        return np.concatenate([bias, weight], axis=1), ints, slots

    def _like(self, params, codes) -> LayeredNetwork:
        net = LayeredNetwork.__new__(LayeredNetwork)
        net._setup(params, self.layout, codes, self.uniform, self.residual, self.dtype, self.sparse)
        net.activation, net.op_names = self.activation, self.op_names
        return net

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self._kernel(*self._args, obs)

    def _matrix(self, t: int) -> np.ndarray:
        """(B, n_t, 1 + in_t): target layer t's biases (column 0) and weights."""
        offset, _, width, _, n = (int(v) for v in self.layout[t])
        return self.params[:, offset : offset + n * (1 + width)].reshape(-1, n, 1 + width)

    @property
    def weights(self) -> list[np.ndarray]:
        """Per target layer, (B, in_t, n_t)."""
        return [np.swapaxes(self._matrix(t)[:, :, 1:], 1, 2) for t in range(len(self.layout))]

    @property
    def biases(self) -> list[np.ndarray]:
        """Per target layer, (B, n_t)."""
        return [self._matrix(t)[:, :, 0] for t in range(len(self.layout))]

    def with_input_normalization(self, mean: np.ndarray, std: np.ndarray) -> LayeredNetwork:
        """The same networks applied to (obs − mean) / std, folded into the weights and biases.

        Every layer that reads the input gets W'_i = W_i / std_i on its input columns and
        b' = b − Σ_i mean_i W'_i, so normalizing costs nothing per step.
        """
        n_in = len(mean)
        inv_std = 1.0 / np.asarray(std, dtype=np.float64)
        shift = np.asarray(mean, dtype=np.float64)
        params = self.params.astype(np.float64)
        for offset, src, width, _, n in self.layout:
            if src != 0:
                continue
            block = params[:, offset : offset + n * (1 + width)].reshape(-1, n, 1 + width)
            block[:, :, 1 : 1 + n_in] *= inv_std
            block[:, :, 0] -= fixedmath.dot_rows(block[:, :, 1 : 1 + n_in], shift)  # no BLAS
        return self._like(params, self.codes)

    def take(self, rows: np.ndarray) -> LayeredNetwork:
        codes = self.codes if self.uniform >= 0 else self.codes[rows]  # MIXED: per-node ops
        return self._like(self.params[rows], codes)
