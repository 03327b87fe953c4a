"""``pgpe``: policy gradients with parameter-based exploration (Sehnke et al. 2010, "Parameter-
exploring policy gradients", Neural Networks 23(4)) with symmetric sampling, a per-coordinate σ
and the ClipUp optimizer for the centre (Toklu et al. 2020, "ClipUp: a simple and powerful
optimizer for distribution-based policy evolution", PPSN XVI), as EvoTorch's PGPE runs it.

Rollouts θ ± σ⊙ε_i (σ starts at ``es.sigma`` in every coordinate). With s the centred ranks of
all 2m returns, a_i = ½(s_i⁺ − s_i⁻) and b_i = ½(s_i⁺ + s_i⁻) − mean(s):

    g_μ = σ ⊙ Σ_i a_i ε_i / m           g_σ = σ ⊙ Σ_i b_i (ε_i² − 1) / m
    ClipUp: v ← momentum·v + α g_μ/‖g_μ‖, clipped to ‖v‖ ≤ max_speed;  θ ← θ + v
    σ ← clip(σ + η_σ g_σ, (1 − c)σ, (1 + c)σ)   with c = stdev_max_change

Defaults (ClipUp paper and EvoTorch): α = center_learning_rate = 0.15, max_speed = 2α,
momentum 0.9, η_σ = stdev_learning_rate = 0.1, c = 0.2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from esenas_core import fixedmath, hookimpl
from esenas_core.estimators import PerCoordinateSigma, Sums, Update, Weights, centered_rank

_pos = attrs.validators.gt(0.0)


@attrs.frozen
class PGPEOptions:
    center_learning_rate: float = attrs.field(default=0.15, validator=_pos)  # ClipUp's α
    max_speed: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))  # 0: 2α
    momentum: float = attrs.field(
        default=0.9, validator=[attrs.validators.ge(0.0), attrs.validators.lt(1.0)]
    )
    stdev_learning_rate: float = attrs.field(default=0.1, validator=_pos)
    stdev_max_change: float = attrs.field(
        default=0.2, validator=[attrs.validators.gt(0.0), attrs.validators.lt(1.0)]
    )


class PGPE(PerCoordinateSigma):
    """PGPE with symmetric sampling and a per-coordinate σ; ClipUp steps the centre."""

    name = "pgpe"
    Options = PGPEOptions
    members = 2

    def __init__(self, options: PGPEOptions, es: Any) -> None:
        super().__init__(options, es)
        es.refuse_unused(
            self.name, "it adapts σ per coordinate and steps θ with ClipUp: see [estimator.pgpe]"
        )
        self.max_speed = options.max_speed or 2.0 * options.center_learning_rate

    def init_state(self, dim: int) -> dict[str, np.ndarray]:
        return {**super().init_state(dim), "velocity": np.zeros(dim)}

    def weights(
        self,
        rewards: np.ndarray,
        baseline: float | None,
        sigma: float,
        state: Mapping[str, np.ndarray],
    ) -> Weights:
        m = rewards.shape[0]
        if m == 0:
            return Weights(np.zeros(0), np.zeros(0))
        s = centered_rank(rewards)  # (m, 2): ranks over all 2m returns
        a = 0.5 * (s[:, 0] - s[:, 1]) / m
        b = (0.5 * (s[:, 0] + s[:, 1]) - s.mean()) / m
        return Weights(a, b)

    def update(
        self, theta: np.ndarray, state: Mapping[str, np.ndarray], step: Update, sums: Sums
    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        opts, sigma = self.options, state["sigma"]
        assert step.square_weights is not None
        grad_mu = sigma * sums.linear
        grad_sigma = sigma * (sums.squares - math.fsum(step.square_weights.tolist()))
        norm = fixedmath.norm(grad_mu)
        velocity = opts.momentum * state["velocity"]
        if norm > 0.0:
            velocity = velocity + opts.center_learning_rate * (grad_mu / norm)
        speed = fixedmath.norm(velocity)
        if speed > self.max_speed:
            velocity = velocity * (self.max_speed / speed)
        change = opts.stdev_max_change
        new_sigma = np.clip(
            sigma + opts.stdev_learning_rate * grad_sigma,
            (1 - change) * sigma,
            (1 + change) * sigma,
        )
        return theta + velocity, {"sigma": new_sigma, "velocity": velocity}, grad_mu

    def stats(self, state: Mapping[str, np.ndarray], sigma: float) -> dict[str, float]:
        return {
            **super().stats(state, sigma),
            "learning_rate": self.options.center_learning_rate,
            "speed": fixedmath.norm(state["velocity"]),
        }


@hookimpl
def esenas_register_estimators(register):
    register(PGPE)
