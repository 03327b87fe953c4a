"""Batched layered networks shared by the built-in search spaces.

A batch holds B networks (one per rollout) with the same layer sizes but their own effective
weight matrices (supernet weights times an architecture's 0/1 mask, or gathered shared weights).
The forward pass is one batched matmul per layer, never a Python loop over edges or nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from esenas_core.interfaces import Network

ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
}


def block_shapes(sizes: Sequence[int]) -> list[tuple[int, int]]:
    """(n_in, n_out) of each consecutive-layer block."""
    return [(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]


class LayeredNetwork(Network):
    """B feed-forward networks: hidden nodes apply ``activation(x + bias)``, outputs ``tanh``."""

    def __init__(
        self,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        activation: str = "tanh",
    ) -> None:
        self.weights = list(weights)  # each (B, n_in, n_out)
        self.biases = list(biases)  # each (B, n_out)
        self.activation = activation
        self._act = ACTIVATIONS[activation]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        h = obs
        last = len(self.weights) - 1
        for layer, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = np.matmul(h[:, None, :], w)[:, 0, :] + b
            h = np.tanh(h) if layer == last else self._act(h)
        return h

    def take(self, rows: np.ndarray) -> LayeredNetwork:
        return LayeredNetwork(
            [w[rows] for w in self.weights], [b[rows] for b in self.biases], self.activation
        )
