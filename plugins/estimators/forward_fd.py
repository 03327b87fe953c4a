"""``forward_fd``: one rollout θ + σε per direction and the forward-difference gradient against
f(θ), the mean return of the iteration's exact evaluations (the original ES-ENAS' second
estimator).

g = 1/(n σ) Σ_i (s_i − s_0) ε_i, the shaping (``es.fitness_shaping``) applied to
[f_1 … f_n, f(θ)] together; θ ← ``es.optimizer`` step on g − λθ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from esenas_core import hookimpl
from esenas_core.estimators import GradientEstimator, Weights, forward_fd_weights


class ForwardFD(GradientEstimator):
    """Forward differences θ + σε against f(θ) (the exact evaluations' mean), then es.optimizer."""

    name = "forward_fd"
    members = 1
    uses_baseline = True

    def __init__(self, options: Any, es: Any) -> None:
        super().__init__(options, es)
        if es.top_k:
            raise ValueError(
                "es.top_k (top directions) needs mirrored pairs: use estimator 'antithetic'"
                " or 'ars' (its top_b option)"
            )

    def weights(
        self,
        rewards: np.ndarray,
        baseline: float | None,
        sigma: float,
        state: Mapping[str, np.ndarray],
    ) -> Weights:
        assert baseline is not None  # uses_baseline: the engine passes f(θ)
        return Weights(forward_fd_weights(rewards[:, 0], baseline, sigma, self.es.fitness_shaping))


@hookimpl
def esenas_register_estimators(register):
    register(ForwardFD)
