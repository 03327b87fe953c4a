"""Gradient estimators: an ``Estimator`` whose update is one step of ``es.optimizer`` (SGD or
Adam, esenas_core.engine.optimizers) on g = Σ_i w_i ε_i − λθ, with σ and the learning rate on
the ``[es]`` schedules. ``antithetic``, ``forward_fd`` and ``ars`` are such estimators; a
subclass implements ``weights`` only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from esenas_core.api.estimator import Estimator, Sums
from esenas_core.api.records import OptimizerSpec, Update
from esenas_core.engine import optimizers


class GradientEstimator(Estimator):
    """θ ← optimizer(θ, Σ_i w_i ε_i − λθ, η): the state is the optimizer's (Adam's moments)."""

    def __init__(self, options: Any, es: Any) -> None:
        super().__init__(options, es)
        self.optimizer = OptimizerSpec(es.optimizer, es.adam_beta1, es.adam_beta2)

    def init_state(self, dim: int) -> dict[str, np.ndarray]:
        return optimizers.init_state(self.optimizer, dim)

    def check_state(self, state: Mapping[str, Any], dim: int) -> dict[str, np.ndarray]:
        return optimizers.checked_state(self.optimizer, state, dim)

    def update(
        self, theta: np.ndarray, state: Mapping[str, np.ndarray], step: Update, sums: Sums
    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        grad = sums.linear
        if step.weight_decay:
            grad = grad - step.weight_decay * theta
        new_theta, new_state = optimizers.step(
            self.optimizer, theta, grad, step.learning_rate, state
        )
        return new_theta, new_state, grad
