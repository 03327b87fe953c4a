"""The run's state as one record: what a checkpoint saves and loads, as data."""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from esenas_core.api.interfaces import Architecture
from esenas_core.engine.obsstats import ObsStats


@attrs.define
class Best:
    """The best exact evaluation seen — by the search space's selection score (the return unless
    the space scores size too) —: its architecture, θ, observation normalization and return."""

    score: float = -math.inf  # the episode return
    objective: float = -math.inf  # what ``best`` maximizes (``SearchSpace.selection_scores``)
    iteration: int = 0
    architecture: Architecture | None = None
    theta: np.ndarray | None = None
    obs_mean: np.ndarray | None = None
    obs_std: np.ndarray | None = None
    env_seed: int | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        """θ and the observation normalization of the best evaluation (one was recorded)."""
        if self.theta is None or self.obs_mean is None or self.obs_std is None:
            raise ValueError("no best evaluation recorded yet")
        return {"theta": self.theta, "obs_mean": self.obs_mean, "obs_std": self.obs_std}


@attrs.define
class RunState:
    """Everything a run needs to continue exactly.

    The trainer replaces ``theta``, ``estimator`` (the estimator's state: Adam's moments for a
    gradient estimator, a per-coordinate σ for others), ``obs`` (merged into a new value),
    ``best`` and the counters as it goes; ``Trainer.snapshot()`` adds the controller's state
    (the one part that lives in a plugin object), the first score and the wall time.
    Perturbation and environment seeds derive from (run seed, iteration), so no other random
    state exists: the controller's RNG is part of its state.
    """

    theta: np.ndarray
    obs: ObsStats
    best: Best = attrs.Factory(Best)
    iteration: int = 0
    episodes: int = 0
    env_steps: int = 0
    first_score: float | None = None  # set when resuming (the first metrics row is not kept)
    estimator: dict[str, np.ndarray] = attrs.Factory(dict)  # the estimator's state
    controller: dict[str, Any] = attrs.Factory(dict)  # the controller's ``state()``
    wall_time: float = 0.0  # seconds spent before this process took over
    last_score: float = math.nan  # the last iteration's exact-evaluation score at θ
    stopped_by: str | None = None  # the ``[stop]`` rule that ended the run (engine.stopping)
