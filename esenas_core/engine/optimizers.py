"""Update rules for θ (gradient *ascent* on reward) as pure functions, as evosax does: a step
maps (θ, gradient, learning rate, state) to (new θ, new state) and never changes its inputs.
The state is data (a dict of arrays: nothing for SGD; Adam's moments and step count), so a
checkpoint saves it and a worker's replica of θ replays it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from esenas_core.api.records import OptimizerSpec

EPS = 1e-8  # Adam's ε
NAMES = ("sgd", "adam")


def init_state(spec: OptimizerSpec, dim: int) -> dict[str, np.ndarray]:
    """The state before the first step."""
    if spec.name == "sgd":
        return {}
    if spec.name == "adam":
        return {"m": np.zeros(dim), "v": np.zeros(dim), "t": np.array(0)}
    raise ValueError(f"unknown optimizer {spec.name!r} (known: {', '.join(NAMES)})")


def step(
    spec: OptimizerSpec,
    theta: np.ndarray,
    grad: np.ndarray,
    lr: float,
    state: Mapping[str, np.ndarray],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """SGD: θ + η g. Adam (Kingma & Ba 2015) on the ascent direction g, bias-corrected."""
    if spec.name == "sgd":
        return theta + lr * grad, {}
    b1, b2 = spec.beta1, spec.beta2
    t = int(state["t"]) + 1
    m = b1 * state["m"] + (1 - b1) * grad
    v = b2 * state["v"] + (1 - b2) * grad**2
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    return theta + lr * m_hat / (np.sqrt(v_hat) + EPS), {"m": m, "v": v, "t": np.array(t)}


def checked_state(spec: OptimizerSpec, state: Mapping[str, Any], dim: int) -> dict[str, np.ndarray]:
    """``state`` (a checkpoint's) as this optimizer's state, or ``ValueError`` naming the field
    (``optimizer_m`` …) that does not fit."""
    if spec.name == "sgd":
        return {}
    shape = (dim,)
    for key in ("m", "v", "t"):
        if key not in state:
            raise ValueError(f"estimator_{key}: missing (the run used Adam)")
    m = np.asarray(state["m"], dtype=np.float64)
    v = np.asarray(state["v"], dtype=np.float64)
    if m.shape != shape or v.shape != shape:
        raise ValueError(f"estimator_m/v: expected shape {shape}, got {m.shape}/{v.shape}")
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(v)) and np.all(v >= 0)):
        raise ValueError("estimator_m/v: expected finite moments and v ≥ 0")
    t = np.asarray(state["t"])
    if t.shape != () or t.dtype.kind not in "iu" or int(t) < 0:
        raise ValueError(f"estimator_t: expected a step count ≥ 0, got {t!r}")
    return {"m": m.copy(), "v": v.copy(), "t": np.array(int(t))}
