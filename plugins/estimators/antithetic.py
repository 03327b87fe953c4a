"""``antithetic``: mirrored pairs θ ± σε and the central-difference gradient (Salimans et al.
2017; the ES-ENAS default), optionally over the top-k pairs (``es.top_k``, ARS V2-t's selection).

g = 1/(m σ) Σ_i ½ (s_i⁺ − s_i⁻) ε_i with s the returns shaped by ``es.fitness_shaping``;
θ ← ``es.optimizer`` step on g − λθ.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from esenas_core import hookimpl
from esenas_core.estimators import GradientEstimator, Weights, antithetic_weights, top_k_pairs


class Antithetic(GradientEstimator):
    """Central differences over mirrored pairs θ ± σε, then es.optimizer (the ES-ENAS default)."""

    name = "antithetic"
    members = 2

    def weights(
        self,
        rewards: np.ndarray,
        baseline: float | None,
        sigma: float,
        state: Mapping[str, np.ndarray],
    ) -> Weights:
        keep = top_k_pairs(rewards[:, 0], rewards[:, 1], self.es.top_k)
        f_plus, f_minus = rewards[keep, 0], rewards[keep, 1]
        return Weights(
            antithetic_weights(f_plus, f_minus, sigma, self.es.fitness_shaping), rows=keep
        )


@hookimpl
def esenas_register_estimators(register):
    register(Antithetic)
