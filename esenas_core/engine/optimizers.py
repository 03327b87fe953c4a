"""Update rules for θ (gradient *ascent* on reward): SGD and Adam, with state for checkpoints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


class SGD:
    """θ ← θ + η g."""

    def step(self, theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        return theta + lr * grad

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Nothing to restore."""


class Adam:
    """Adam (Kingma & Ba 2015) on the ascent direction g, bias-corrected."""

    def __init__(self, dim: int, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = np.zeros(dim)
        self.v = np.zeros(dim)
        self.t = 0

    def step(self, theta: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1 - self.beta2) * grad**2
        m_hat = self.m / (1 - self.beta1**self.t)
        v_hat = self.v / (1 - self.beta2**self.t)
        return theta + lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def state(self) -> dict[str, np.ndarray]:
        return {"m": self.m.copy(), "v": self.v.copy(), "t": np.array(self.t)}

    def restore(self, state: Mapping[str, Any]) -> None:
        """``ValueError`` naming the field (``optimizer_m`` …) for a state that does not fit."""
        shape = self.m.shape
        for key in ("m", "v", "t"):
            if key not in state:
                raise ValueError(f"optimizer_{key}: missing (the run used Adam)")
        m = np.asarray(state["m"], dtype=np.float64)
        v = np.asarray(state["v"], dtype=np.float64)
        if m.shape != shape or v.shape != shape:
            raise ValueError(f"optimizer_m/v: expected shape {shape}, got {m.shape}/{v.shape}")
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(v)) and np.all(v >= 0)):
            raise ValueError("optimizer_m/v: expected finite moments and v ≥ 0")
        t = np.asarray(state["t"])
        if t.shape != () or t.dtype.kind not in "iu" or int(t) < 0:
            raise ValueError(f"optimizer_t: expected a step count ≥ 0, got {t!r}")
        self.m, self.v, self.t = m.copy(), v.copy(), int(t)


def make_optimizer(name: str, dim: int, beta1: float, beta2: float) -> SGD | Adam:
    if name == "sgd":
        return SGD()
    if name == "adam":
        return Adam(dim, beta1, beta2)
    raise ValueError(f"unknown optimizer {name!r}")
