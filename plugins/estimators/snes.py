"""``snes``: separable natural evolution strategies (Schaul, Glasmachers & Schmidhuber 2011,
"High dimensions and heavy tails for natural evolution strategies", GECCO).

Rollouts θ + σ⊙z_k, one per direction (λ = ``es.num_perturbations``; the paper's default is
4 + ⌊3 ln d⌋), σ starting at ``es.sigma`` in every coordinate. With u_k the rank utilities
(max(0, ln(λ/2 + 1) − ln k) normalized to sum 1, minus 1/λ; k = 1 for the best return):

    θ ← θ + η_μ σ ⊙ Σ_k u_k z_k          σ ← σ ⊙ exp(η_σ/2 · Σ_k u_k (z_k² − 1))

Defaults (the paper's): η_μ = center_learning_rate = 1, η_σ = sigma_learning_rate =
(3 + ln d)/(5 √d) (0 selects it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from esenas_core import fixedmath, hookimpl
from esenas_core.estimators import PerCoordinateSigma, Sums, Update, Weights, ranked


@attrs.frozen
class SNESOptions:
    center_learning_rate: float = attrs.field(default=1.0, validator=attrs.validators.gt(0.0))
    sigma_learning_rate: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))


def utilities(n: int) -> np.ndarray:
    """The rank utilities of NES for n samples, best first (they sum to 0)."""
    if n == 0:
        return np.zeros(0)
    raw = np.array([max(0.0, math.log(n / 2 + 1) - math.log(k)) for k in range(1, n + 1)])
    return raw / math.fsum(raw.tolist()) - 1.0 / n


class SNES(PerCoordinateSigma):
    """Separable natural evolution strategies: rank utilities, a per-coordinate σ."""

    name = "snes"
    Options = SNESOptions
    members = 1

    def __init__(self, options: SNESOptions, es: Any) -> None:
        super().__init__(options, es)
        es.refuse_unused(
            self.name, "it adapts σ per coordinate with its own rates: see [estimator.snes]"
        )
        if es.num_perturbations < 2:
            raise ValueError(
                f"es.num_perturbations = {es.num_perturbations}: SNES ranks its samples and"
                " needs at least 2 (the paper's default is 4 + ⌊3 ln d⌋)"
            )

    def eta_sigma(self, dim: int) -> float:
        rate = self.options.sigma_learning_rate
        return rate or (3 + math.log(dim)) / (5 * math.sqrt(dim))

    def weights(
        self,
        rewards: np.ndarray,
        baseline: float | None,
        sigma: float,
        state: Mapping[str, np.ndarray],
    ) -> Weights:
        u = ranked(rewards[:, 0], utilities(rewards.shape[0]))
        return Weights(u, u)

    def update(
        self, theta: np.ndarray, state: Mapping[str, np.ndarray], step: Update, sums: Sums
    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        sigma, dim = state["sigma"], theta.shape[0]
        assert step.square_weights is not None
        grad_mu = sums.linear
        grad_sigma = sums.squares - math.fsum(step.square_weights.tolist())
        new_theta = theta + self.options.center_learning_rate * (sigma * grad_mu)
        new_sigma = sigma * fixedmath.exp(0.5 * self.eta_sigma(dim) * grad_sigma)
        return new_theta, {"sigma": new_sigma}, sigma * grad_mu

    def stats(self, state: Mapping[str, np.ndarray], sigma: float) -> dict[str, float]:
        return {**super().stats(state, sigma), "learning_rate": self.options.center_learning_rate}


@hookimpl
def esenas_register_estimators(register):
    register(SNES)
