"""``ars``: augmented random search V2-t (Mania, Guy & Recht 2018, "Simple random search of
static linear policies is competitive for reinforcement learning", NeurIPS).

Mirrored rollouts θ ± ν δ_k (ν = ``es.sigma``, with its schedule), observations normalized by
their running statistics (``es.obs_norm``, on by default), and the top b directions by
max(r_k⁺, r_k⁻) (``top_b``; 0 uses all n: ARS V2):

    θ ← θ + α/(b σ_R) Σ_{k ≤ b} (r_k⁺ − r_k⁻) δ_k

with σ_R the standard deviation of the 2b returns used and α = ``es.learning_rate`` (applied by
``es.optimizer``: ``sgd``, the paper's, unless set otherwise). The returns are not shaped
(``es.fitness_shaping`` is not read). The paper tunes b per environment (e.g. Hopper n = 8,
b = 4; HalfCheetah n = 32, b = 4); there is no universal default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from esenas_core import hookimpl
from esenas_core.estimators import GradientEstimator, Weights, top_k_pairs


@attrs.frozen
class ARSOptions:
    top_b: int = attrs.field(default=0, validator=attrs.validators.ge(0))


class ARS(GradientEstimator):
    """Augmented random search V2-t: top-b mirrored directions, steps scaled by the returns' std."""

    name = "ars"
    Options = ARSOptions
    members = 2

    def __init__(self, options: ARSOptions, es: Any) -> None:
        super().__init__(options, es)
        es.refuse_unused(self.name, "it keeps its top directions with top_b", ("top_k",))
        if options.top_b > es.num_perturbations:
            raise ValueError(
                f"top_b ({options.top_b}) must not exceed es.num_perturbations"
                f" ({es.num_perturbations}): it counts the directions kept"
            )

    def weights(
        self,
        rewards: np.ndarray,
        baseline: float | None,
        sigma: float,
        state: Mapping[str, np.ndarray],
    ) -> Weights:
        keep = top_k_pairs(rewards[:, 0], rewards[:, 1], self.options.top_b)
        used = rewards[keep]
        std = float(used.std()) if used.size else 0.0
        if not np.isfinite(std) or std == 0.0:
            return Weights(np.zeros(keep.size), rows=keep)
        return Weights((used[:, 0] - used[:, 1]) / (keep.size * std), rows=keep)


@hookimpl
def esenas_register_estimators(register):
    register(ARS)
