"""ES gradient estimation: fitness shaping, antithetic and forward finite differences, top-k.

Antithetic (m valid pairs, shaped rewards s):   g = 1/(m σ) Σ_i ½ (s_i⁺ − s_i⁻) ε_i
Forward FD (n valid rollouts, f_0 at θ):         g = 1/(n σ) Σ_i (s_i − s_0) ε_i
(shaping is applied to [f_1..f_n, f_0] together, as in the original's z-score incl. f_0).

Each ε_i is regenerated from its seed, or read from a shared noise table
(esenas_core.engine.noise): no (m, d) matrix is ever stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from esenas_core.api.records import NoiseSpec
from esenas_core.engine import noise as directions


def zscore(values: np.ndarray) -> np.ndarray:
    """(x − mean) / std with the population std; all zeros when std = 0 (no signal)."""
    values = np.asarray(values, dtype=np.float64)
    std = values.std() if values.size else 0.0
    if not np.isfinite(std) or std == 0.0:
        return np.zeros_like(values)
    return (values - values.mean()) / std


def centered_rank(values: np.ndarray) -> np.ndarray:
    """Ranks mapped linearly onto [−0.5, 0.5] (OpenAI-ES); invariant to monotone transforms.

    Tied values share their average rank, so equal returns get equal weights: a pair with
    f⁺ = f⁻ contributes nothing, and when every return ties (a saturated reward) the gradient is
    zero instead of a random walk driven by the order of the ties.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return np.zeros_like(values)
    flat = values.ravel()
    order = np.argsort(flat, kind="stable")
    sorted_values = flat[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], flat.size]
    average = (starts + ends - 1) / 2.0  # mean of the positions each run of ties occupies
    ranks = np.empty(flat.size)
    ranks[order] = np.repeat(average, ends - starts)
    return (ranks / (flat.size - 1) - 0.5).reshape(values.shape)


def no_shaping(values: np.ndarray) -> np.ndarray:
    """Raw rewards."""
    return np.asarray(values, dtype=np.float64)


SHAPINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "zscore": zscore,
    "centered_rank": centered_rank,
    "none": no_shaping,
}


def top_k_pairs(f_plus: np.ndarray, f_minus: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k pairs with the largest max(f⁺, f⁻) (ARS V2-t); all pairs when k ≤ 0."""
    m = len(f_plus)
    if k <= 0 or k >= m:
        return np.arange(m)
    score = np.maximum(f_plus, f_minus)
    return np.sort(np.argsort(-score, kind="stable")[:k])


def antithetic_weights(
    f_plus: np.ndarray, f_minus: np.ndarray, sigma: float, shaping: str = "zscore"
) -> np.ndarray:
    """Per-pair weights w_i such that g = Σ_i w_i ε_i."""
    f_plus = np.asarray(f_plus, dtype=np.float64)
    f_minus = np.asarray(f_minus, dtype=np.float64)
    if f_plus.shape != f_minus.shape or f_plus.ndim != 1:
        raise ValueError(f"f_plus and f_minus differ: {f_plus.shape}, {f_minus.shape}")
    m = f_plus.shape[0]
    if m == 0:
        return np.zeros(0)
    shaped = SHAPINGS[shaping](np.concatenate([f_plus, f_minus]))
    return 0.5 * (shaped[:m] - shaped[m:]) / (m * sigma)


def forward_fd_weights(
    f: np.ndarray, f0: float, sigma: float, shaping: str = "zscore"
) -> np.ndarray:
    """Per-rollout weights w_i such that g = Σ_i w_i ε_i, relative to f_0 = f(θ)."""
    f = np.asarray(f, dtype=np.float64)
    n = f.shape[0]
    if n == 0:
        return np.zeros(0)
    shaped = SHAPINGS[shaping](np.concatenate([f, [f0]]))
    return (shaped[:n] - shaped[n]) / (n * sigma)


def combine(
    weights: np.ndarray, seeds: Sequence[int], dim: int, noise: NoiseSpec | None = None
) -> np.ndarray:
    """Σ_i w_i ε(seed_i): each direction regenerated from its seed, or read from the noise table
    (``noise``, esenas_core.engine.noise; default: seeded)."""
    return directions.combine(noise or NoiseSpec(), weights, seeds, dim)


def ranked(values: np.ndarray, utilities: np.ndarray) -> np.ndarray:
    """``utilities[r]`` for the value of rank r (0: the largest), tied values sharing the mean
    utility of the ranks they occupy: rank-based rules (SNES' utilities, CMA-ES' recombination
    weights) then do not depend on the order of equal returns."""
    values = np.asarray(values, dtype=np.float64).ravel()
    utilities = np.asarray(utilities, dtype=np.float64)
    if values.size != utilities.size:
        raise ValueError(f"{values.size} values for {utilities.size} utilities")
    order = np.argsort(-values, kind="stable")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], values.size]
    sums = np.add.reduceat(utilities, starts) if values.size else np.zeros(0)
    out = np.empty(values.size)
    out[order] = np.repeat(sums / (ends - starts), ends - starts)
    return out
