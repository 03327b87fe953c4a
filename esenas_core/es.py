"""ES gradient estimation: fitness shaping and the antithetic estimator.

    g = 1/(m σ) Σ_i ½ (s_i⁺ − s_i⁻) ε_i

where s = shaped rewards of the m valid pairs and ε_i is regenerated from its seed (no (m, d)
matrix is ever stored).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from esenas_core.seeding import perturbation


def zscore(values: np.ndarray) -> np.ndarray:
    """(x − mean) / std with the population std; all zeros when std = 0 (no signal)."""
    values = np.asarray(values, dtype=np.float64)
    std = values.std()
    if not np.isfinite(std) or std == 0.0:
        return np.zeros_like(values)
    return (values - values.mean()) / std


SHAPINGS = {"zscore": zscore}


def antithetic_weights(
    f_plus: np.ndarray, f_minus: np.ndarray, sigma: float, shaping: str = "zscore"
) -> np.ndarray:
    """Per-pair weights w_i such that g = Σ_i w_i ε_i."""
    f_plus = np.asarray(f_plus, dtype=np.float64)
    f_minus = np.asarray(f_minus, dtype=np.float64)
    if f_plus.shape != f_minus.shape or f_plus.ndim != 1:
        raise ValueError(
            f"f_plus and f_minus must be equal 1-D arrays: {f_plus.shape}, {f_minus.shape}"
        )
    m = f_plus.shape[0]
    if m == 0:
        return np.zeros(0)
    shaped = SHAPINGS[shaping](np.concatenate([f_plus, f_minus]))
    return 0.5 * (shaped[:m] - shaped[m:]) / (m * sigma)


def combine(weights: np.ndarray, seeds: Sequence[int], dim: int) -> np.ndarray:
    """Σ_i w_i ε(seed_i), regenerating each direction from its seed."""
    grad = np.zeros(dim)
    for w, seed in zip(weights, seeds, strict=True):
        if w != 0.0:
            grad += w * perturbation(seed, dim)
    return grad
