"""The public surface for estimator authors: what turns returns into a new θ (docs/plugins.md,
"An estimator"). Task, search-space and controller authors need nothing here.

    from esenas_core import hookimpl
    from esenas_core.estimators import GradientEstimator, Weights, centered_rank

An estimator subclasses ``Estimator`` (any update rule replayable from scalars) or
``GradientEstimator`` (a step of ``es.optimizer`` on Σ w_i ε_i: implement ``weights`` only) or
``PerCoordinateSigma`` (a σ per coordinate in the state);
``check_estimator`` checks it.
"""

from typing import TYPE_CHECKING, Any

from esenas_core.api.estimator import Estimator, PerCoordinateSigma, Sums, Weights
from esenas_core.api.records import Update
from esenas_core.engine.es import (
    SHAPINGS,
    antithetic_weights,
    centered_rank,
    forward_fd_weights,
    ranked,
    top_k_pairs,
    zscore,
)
from esenas_core.engine.esconfig import GRADIENT_KEYS, ESConfig
from esenas_core.engine.gradient import GradientEstimator

if TYPE_CHECKING:
    from esenas_core.checks.estimator import check_estimator


def __getattr__(name: str) -> Any:
    if name == "check_estimator":  # the checker runs whole training loops: imported when used
        from esenas_core.checks.estimator import check_estimator

        return check_estimator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "GRADIENT_KEYS",
    "SHAPINGS",
    "ESConfig",
    "Estimator",
    "GradientEstimator",
    "PerCoordinateSigma",
    "Sums",
    "Update",
    "Weights",
    "antithetic_weights",
    "centered_rank",
    "check_estimator",
    "forward_fd_weights",
    "ranked",
    "top_k_pairs",
    "zscore",
]
