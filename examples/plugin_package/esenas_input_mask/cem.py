"""``cem``: the cross-entropy method with a diagonal Gaussian (Rubinstein 1999; de Boer et al.
2005, "A tutorial on the cross-entropy method"), an example estimator.

Each iteration samples θ + σ⊙z_k (one rollout per direction), keeps the elite (the best
``elite_fraction`` of the directions) and moves to the elite's mean and spread:

    θ ← θ + σ ⊙ mean_elite(z)        σ ← max(σ ⊙ std_elite(z), min_sigma)

Both are functions of Σ w_k z_k and Σ w_k z_k² with w_k = 1/elite: the two sums the engine
computes from the seeds, so workers replay the update from the weights alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from esenas_core import hookimpl
from esenas_core.estimators import PerCoordinateSigma, Sums, Update, Weights


@attrs.frozen
class CEMOptions:
    elite_fraction: float = attrs.field(
        default=0.25, validator=[attrs.validators.gt(0.0), attrs.validators.le(1.0)]
    )
    min_sigma: float = attrs.field(default=1e-3, validator=attrs.validators.gt(0.0))


class CEM(PerCoordinateSigma):
    """The cross-entropy method: move to the elite's mean and spread, a per-coordinate σ."""

    name = "cem"
    Options = CEMOptions
    members = 1  # one rollout θ + σ⊙z per direction

    def __init__(self, options: CEMOptions, es: Any) -> None:
        super().__init__(options, es)
        if self.elite(es.num_perturbations) < 2:
            raise ValueError(
                f"elite_fraction {options.elite_fraction} of es.num_perturbations"
                f" ({es.num_perturbations}) keeps fewer than 2 directions: no spread to fit"
            )

    def elite(self, n: int) -> int:
        return round(self.options.elite_fraction * n)

    def weights(
        self,
        rewards: np.ndarray,
        baseline: float | None,
        sigma: float,
        state: Mapping[str, np.ndarray],
    ) -> Weights:
        f = rewards[:, 0]
        k = max(1, min(self.elite(f.size), f.size))
        best = np.argsort(-f, kind="stable")[:k]  # ties: the earlier direction first
        w = np.full(k, 1.0 / k)
        return Weights(w, w, rows=best)

    def update(
        self, theta: np.ndarray, state: Mapping[str, np.ndarray], step: Update, sums: Sums
    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        sigma = state["sigma"]
        mean_z = sums.linear  # the elite's mean direction
        var_z = np.maximum(sums.squares - mean_z * mean_z, 0.0)  # and its variance
        new_sigma = np.maximum(sigma * np.sqrt(var_z), self.options.min_sigma)
        step_ = sigma * mean_z
        return theta + step_, {"sigma": new_sigma}, step_


@hookimpl
def esenas_register_estimators(register):
    register(CEM)
