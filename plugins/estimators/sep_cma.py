"""``sep_cma``: separable CMA-ES (Ros & Hansen 2008, "A simple modification in CMA-ES achieving
linear time and space complexity", PPSN X): CMA-ES with a diagonal covariance C, O(d) per
sample, with the learning rates of C raised by (d + 2)/3 as the paper prescribes.

Rollouts θ + σ √C ⊙ z_k, one per direction (λ = ``es.num_perturbations``; CMA-ES' default is
4 + ⌊3 ln d⌋), σ starting at ``es.sigma`` and C at 1. The μ = ⌊λ/2⌋ best directions get the
recombination weights w_i ∝ ln(μ + ½) − ln i (sum 1, μ_eff = 1/Σ w_i²). With Σ_w z = Σ w_i z_i:

    θ ← θ + σ √C ⊙ Σ_w z
    p_σ ← (1 − c_σ) p_σ + √(c_σ(2 − c_σ) μ_eff) Σ_w z
    σ ← σ exp(c_σ/d_σ (‖p_σ‖ / E‖N(0, I)‖ − 1))
    p_c ← (1 − c_c) p_c + h_σ √(c_c(2 − c_c) μ_eff) √C ⊙ Σ_w z
    C ← (1 − c_1 − c_μ) C + c_1 (p_c² + (1 − h_σ) c_c(2 − c_c) C) + c_μ C ⊙ Σ w_i z_i²

with Hansen's default constants for dimension d (``constants``). Every constant follows from d
and the weights, so workers replay the update from the weights and seeds alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from esenas_core import fixedmath, hookimpl
from esenas_core.estimators import Estimator, Sums, Update, Weights

MIN_POPULATION = 4  # μ = 2: the smallest population with recombination


@attrs.frozen
class Constants:
    mu_eff: float
    c_sigma: float
    d_sigma: float
    c_c: float
    c_1: float
    c_mu: float
    chi_n: float  # E‖N(0, I_d)‖


def constants(dim: int, weights: np.ndarray) -> Constants:
    """CMA-ES' default learning rates for dimension ``dim`` and recombination ``weights``
    (Hansen 2016, "The CMA evolution strategy: a tutorial", table 1), c_1 and c_μ scaled by
    (d + 2)/3 for the diagonal model (Ros & Hansen 2008)."""
    n = float(dim)
    mu_eff = 1.0 / math.fsum((weights * weights).tolist())
    c_sigma = (mu_eff + 2) / (n + mu_eff + 5)
    d_sigma = 1 + 2 * max(0.0, math.sqrt((mu_eff - 1) / (n + 1)) - 1) + c_sigma
    c_c = (4 + mu_eff / n) / (n + 4 + 2 * mu_eff / n)
    c_1 = 2 / ((n + 1.3) ** 2 + mu_eff)
    c_mu = min(1 - c_1, 2 * (mu_eff - 2 + 1 / mu_eff) / ((n + 2) ** 2 + mu_eff))
    scale = (n + 2) / 3
    c_1, c_mu = min(1.0, c_1 * scale), c_mu * scale
    if c_1 + c_mu > 1:
        c_mu = 1 - c_1
    chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
    return Constants(mu_eff, c_sigma, d_sigma, c_c, c_1, c_mu, chi_n)


def recombination_weights(mu: int) -> np.ndarray:
    raw = np.array([math.log(mu + 0.5) - math.log(i) for i in range(1, mu + 1)])
    return raw / math.fsum(raw.tolist())


class SepCMA(Estimator):
    """Separable CMA-ES: step-size adaptation and a diagonal covariance, O(d) per sample."""

    name = "sep_cma"
    members = 1

    def __init__(self, options: Any, es: Any) -> None:
        super().__init__(options, es)
        es.refuse_unused(self.name, "it adapts σ and a diagonal covariance itself")
        if es.num_perturbations < MIN_POPULATION:
            raise ValueError(
                f"es.num_perturbations = {es.num_perturbations} is too small for sep-CMA-ES:"
                f" it needs at least {MIN_POPULATION} (μ = λ/2 ≥ 2; CMA-ES' default is"
                " 4 + ⌊3 ln d⌋)"
            )

    def init_state(self, dim: int) -> dict[str, np.ndarray]:
        return {
            "sigma": np.array(float(self.es.sigma)),
            "C": np.ones(dim),
            "p_sigma": np.zeros(dim),
            "p_c": np.zeros(dim),
            "generation": np.array(0),
        }

    def check_state(self, state: Mapping[str, Any], dim: int) -> dict[str, np.ndarray]:
        out = super().check_state(state, dim)
        if not (float(out["sigma"]) > 0 and np.all(out["C"] > 0) and int(out["generation"]) >= 0):
            raise ValueError("estimator_sigma/C/generation: expected σ > 0, C > 0, generation ≥ 0")
        return out

    def scale(self, state: Mapping[str, np.ndarray], sigma: float) -> np.ndarray:
        return float(state["sigma"]) * np.sqrt(state["C"])

    def weights(
        self,
        rewards: np.ndarray,
        baseline: float | None,
        sigma: float,
        state: Mapping[str, np.ndarray],
    ) -> Weights:
        f = rewards[:, 0]
        mu = f.size // 2
        if mu == 0:
            return Weights(np.zeros(0), np.zeros(0), rows=np.zeros(0, np.int64))
        best = np.argsort(-f, kind="stable")[:mu]  # ties: the earlier direction first
        w = recombination_weights(mu)
        return Weights(w, w, rows=best)

    def update(
        self, theta: np.ndarray, state: Mapping[str, np.ndarray], step: Update, sums: Sums
    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        dim = theta.shape[0]
        if step.weights.size == 0:
            return theta, dict(state), np.zeros(dim)
        k = constants(dim, step.weights)
        sigma, C = float(state["sigma"]), state["C"]
        generation = int(state["generation"]) + 1
        sqrt_c = np.sqrt(C)
        z_w = sums.linear
        y_w = sqrt_c * z_w
        new_theta = theta + sigma * y_w
        p_sigma = (1 - k.c_sigma) * state["p_sigma"] + math.sqrt(
            k.c_sigma * (2 - k.c_sigma) * k.mu_eff
        ) * z_w
        norm = fixedmath.norm(p_sigma)
        new_sigma = sigma * math.exp(k.c_sigma / k.d_sigma * (norm / k.chi_n - 1))
        threshold = (1.4 + 2 / (dim + 1)) * k.chi_n
        h_sigma = float(norm / math.sqrt(1 - (1 - k.c_sigma) ** (2 * generation)) < threshold)
        p_c = (1 - k.c_c) * state["p_c"] + h_sigma * math.sqrt(k.c_c * (2 - k.c_c) * k.mu_eff) * y_w
        new_c = (
            (1 - k.c_1 - k.c_mu) * C
            + k.c_1 * (p_c * p_c + (1 - h_sigma) * k.c_c * (2 - k.c_c) * C)
            + k.c_mu * (C * sums.squares)
        )
        new_state = {
            "sigma": np.array(new_sigma),
            "C": new_c,
            "p_sigma": p_sigma,
            "p_c": p_c,
            "generation": np.array(generation),
        }
        return new_theta, new_state, sigma * y_w

    def stats(self, state: Mapping[str, np.ndarray], sigma: float) -> dict[str, float]:
        return {
            **super().stats(state, sigma),
            "learning_rate": 1.0,
            "step_size": float(state["sigma"]),
        }


@hookimpl
def esenas_register_estimators(register):
    register(SepCMA)
