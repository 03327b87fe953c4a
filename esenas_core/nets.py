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
    Outputs always use tanh and come back as a fresh float64 array.

    A forward pass runs once per environment step, so it is built to make few numpy calls: each
    layer's bias is folded into its matrix as row 0 (read against a constant 1), and activations
    are written in place into preallocated per-row buffers laid out ``[1, layer input]`` (or, for
    residual nets, one buffer ``[1, input, hidden 1, hidden 2, …]`` whose prefixes are the inputs
    of successive layers, so no concatenation either). A layer is one ``matmul`` plus one
    activation call. The buffers make an instance single-threaded: use one per thread.
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
        augmented = [
            np.concatenate([np.asarray(b)[:, None, :], np.asarray(w)], axis=1)
            for w, b in zip(weights, biases, strict=True)
        ]
        self._setup(augmented, activation, residual, ops, op_names, dtype)

    def _setup(self, augmented, activation, residual, ops, op_names, dtype) -> None:
        self.dtype = dtype
        # per target layer, (B, 1 + in_t, n_t): row 0 is the bias
        self.augmented = [np.ascontiguousarray(a, dtype=dtype) for a in augmented]
        self.activation = activation
        self.residual = residual
        self.ops = None if ops is None else list(ops)
        self.op_names = tuple(op_names)
        self._act = OPS[activation]
        self._groups = None if ops is None else [self._op_groups(o) for o in self.ops]
        batch = self.augmented[0].shape[0]
        self.n_in = self.augmented[0].shape[1] - 1
        outs = [a.shape[2] for a in self.augmented]
        if residual:
            buf = np.ones((batch, 1, 1 + self.n_in + sum(outs[:-1])), dtype=dtype)
            self._inputs = [buf[:, :, : a.shape[1]] for a in self.augmented]
            self._outputs = [
                buf[:, :, a.shape[1] : a.shape[1] + n]
                for a, n in zip(self.augmented[:-1], outs[:-1], strict=True)
            ]
        else:
            self._inputs = [np.ones((batch, 1, a.shape[1]), dtype=dtype) for a in self.augmented]
            self._outputs = [x[:, :, 1:] for x in self._inputs[1:]]
        self._obs_slot = self._inputs[0][:, 0, 1 : 1 + self.n_in]

    @classmethod
    def _from_augmented(cls, augmented, activation, residual, ops, op_names, dtype):
        net = cls.__new__(cls)
        net._setup(augmented, activation, residual, ops, op_names, dtype)
        return net

    def _op_groups(self, ops: np.ndarray) -> list[tuple[Callable, np.ndarray]]:
        flat = ops.ravel()
        return [(OPS[self.op_names[o]], np.flatnonzero(flat == o)) for o in np.unique(flat)]

    def _hidden(self, layer: int, pre: np.ndarray, out: np.ndarray) -> None:
        if self._groups is None:
            if self.activation == "tanh":
                np.tanh(pre, out=out)
            elif self.activation == "relu":
                np.maximum(pre, 0.0, out=out)
            else:
                out[...] = self._act(pre)
            return
        flat = pre.ravel()
        values = np.empty_like(flat)
        for fn, idx in self._groups[layer]:
            values[idx] = fn(flat[idx])
        out[...] = values.reshape(pre.shape)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        self._obs_slot[...] = obs
        last = len(self.augmented) - 1
        for t in range(last):
            self._hidden(t, np.matmul(self._inputs[t], self.augmented[t]), self._outputs[t])
        pre = np.matmul(self._inputs[last], self.augmented[last])
        return np.tanh(pre[:, 0, :], dtype=np.float64)

    @property
    def weights(self) -> list[np.ndarray]:
        """Per target layer, (B, in_t, n_t) (views without the bias row)."""
        return [a[:, 1:, :] for a in self.augmented]

    @property
    def biases(self) -> list[np.ndarray]:
        """Per target layer, (B, n_t)."""
        return [a[:, 0, :] for a in self.augmented]

    def with_input_normalization(self, mean: np.ndarray, std: np.ndarray) -> LayeredNetwork:
        """The same networks applied to (obs − mean) / std, folded into the weights and biases.

        Every layer that reads the input gets W'_i = W_i / std_i on its input rows and
        b' = b − Σ_i mean_i W'_i, so normalizing costs nothing per step.
        """
        n_in = len(mean)
        inv_std = 1.0 / np.asarray(std, dtype=np.float64)
        shift = np.asarray(mean, dtype=np.float64)
        augmented = []
        for t, a in enumerate(self.augmented):
            a = a.astype(np.float64)
            if t == 0 or self.residual:
                a[:, 1 : 1 + n_in, :] *= inv_std[None, :, None]
                a[:, 0, :] -= np.einsum("i,bij->bj", shift, a[:, 1 : 1 + n_in, :])
            augmented.append(a)
        return self._from_augmented(
            augmented, self.activation, self.residual, self.ops, self.op_names, self.dtype
        )

    def take(self, rows: np.ndarray) -> LayeredNetwork:
        return self._from_augmented(
            [a[rows] for a in self.augmented],
            self.activation,
            self.residual,
            None if self.ops is None else [o[rows] for o in self.ops],
            self.op_names,
            self.dtype,
        )
