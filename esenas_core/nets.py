"""Batched layered networks shared by the built-in search spaces.

A batch holds B networks (one per rollout) with the same node layout but their own effective
weight matrices (supernet weights times an architecture's 0/1 mask, or gathered shared weights).
Target layer t reads either the previous layer (``residual=False``) or the concatenation of all
earlier layers (``residual=True``). The forward pass is one batched matmul per layer; per-node
nonlinearities are applied per op group — never a Python loop over edges or nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from esenas_core.interfaces import Network


def _safe_reciprocal(x: np.ndarray) -> np.ndarray:
    # 1/x, but 10 where |x| < 0.1 (the original returns 10 at 0); bounded by 10 in magnitude.
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
ACTIVATIONS = {name: OPS[name] for name in ("tanh", "relu")}


class LayeredNetwork(Network):
    """B feed-forward networks.

    :param weights: per target layer t = 1..L, an array (B, in_t, n_t).
    :param biases: per target layer, (B, n_t).
    :param activation: nonlinearity of every hidden node (when ``ops`` is None).
    :param ops: per hidden layer, (B, n_t) indices into ``op_names``: each node's nonlinearity.
    :param dtype: evaluation precision. float32 by default: numpy's stacked matmul of these small
        matrices is compute-bound, and float32 halves its cost (θ itself stays float64).
    Outputs always use tanh.
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
    ) -> None:
        self.dtype = dtype
        self.weights = [np.ascontiguousarray(w, dtype=dtype) for w in weights]
        # (B, 1, n): broadcast against the (B, 1, n) activations
        self.biases = [np.ascontiguousarray(b, dtype=dtype).reshape(len(b), 1, -1) for b in biases]
        self.activation = activation
        self.residual = residual
        self.ops = None if ops is None else list(ops)
        self.op_names = tuple(op_names)
        self._act = OPS[activation]
        self._groups = None if ops is None else [self._op_groups(o) for o in self.ops]

    def _op_groups(self, ops: np.ndarray) -> list[tuple[Callable, np.ndarray]]:
        flat = ops.ravel()
        return [(OPS[self.op_names[o]], np.flatnonzero(flat == o)) for o in np.unique(flat)]

    def _hidden(self, layer: int, pre: np.ndarray) -> np.ndarray:
        flat = pre.ravel()
        out = np.empty_like(flat)
        for fn, idx in self._groups[layer]:
            out[idx] = fn(flat[idx])
        return out.reshape(pre.shape)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        # Activations are kept as (B, 1, n) so each layer is one stacked matmul, done in place.
        layers = [obs.astype(self.dtype)[:, None, :]]
        last = len(self.weights) - 1
        for t, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = np.concatenate(layers, axis=2) if self.residual and t else layers[-1]
            pre = np.matmul(x, w)
            pre += b
            if t == last:
                np.tanh(pre, out=pre)
            elif self._groups is None:
                pre = self._act(pre)
            else:
                pre = self._hidden(t, pre)
            layers.append(pre)
        return layers[-1][:, 0, :]

    def with_input_normalization(self, mean: np.ndarray, std: np.ndarray) -> LayeredNetwork:
        """The same networks applied to (obs − mean) / std, folded into the weights and biases.

        Every layer that reads the input gets W'_i = W_i / std_i on its input rows and
        b' = b − Σ_i mean_i W'_i, so normalizing costs nothing per step.
        """
        n_in = len(mean)
        inv_std = 1.0 / np.asarray(std, dtype=np.float64)
        shift = np.asarray(mean, dtype=np.float64)
        weights, biases = [], []
        for t, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            w, b = w.astype(np.float64), b[:, 0, :].astype(np.float64)
            if t == 0 or self.residual:
                w[:, :n_in, :] *= inv_std[None, :, None]
                b = b - np.einsum("i,bij->bj", shift, w[:, :n_in, :])
            weights.append(w)
            biases.append(b)
        return LayeredNetwork(
            weights, biases, self.activation, self.residual, self.ops, self.op_names, self.dtype
        )

    def take(self, rows: np.ndarray) -> LayeredNetwork:
        return LayeredNetwork(
            [w[rows] for w in self.weights],
            [b[rows, 0, :] for b in self.biases],
            self.activation,
            self.residual,
            None if self.ops is None else [o[rows] for o in self.ops],
            self.op_names,
            self.dtype,
        )
