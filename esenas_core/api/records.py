"""The records a backend moves between the driver and its workers: the plugin contract.

They are data only. What the engine does with them lives in the engine: directions from a
``NoiseSpec`` (``esenas_core.engine.noise``), θ replicas from a ``ThetaSync``
(``esenas_core.engine.replica``), running a chunk of requests (``esenas_core.engine.rollouts``).
Only seeds and genomes travel per request; θ travels with a job, or is replaced by the updates
that bring the worker's replica of θ up to date (a slim job).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from esenas_core.api.episodes import EpisodeResult


@attrs.frozen
class NoiseSpec:
    """How perturbation directions are made (``es.noise``, ``es.noise_table_size``)."""

    kind: str = "seeded"
    table_size: int = 2**25


@attrs.frozen(eq=False)
class Update:
    """One update of θ and the estimator's state as scalars. The estimator's ``update`` sees
    Σ_i weights_i ε(seed_i) and, when ``square_weights`` is set, Σ_i square_weights_i ε(seed_i)²
    (per-coordinate σ rules); gradient estimators then step θ ← optimizer(θ, g − λθ, lr)."""

    version: int  # θ's version after this update (the iteration count)
    weights: np.ndarray
    seeds: np.ndarray
    learning_rate: float
    weight_decay: float
    square_weights: np.ndarray | None = None


@attrs.frozen
class OptimizerSpec:
    """The optimizer of a gradient estimator (``es.optimizer`` and Adam's betas)."""

    name: str
    beta1: float
    beta2: float


@attrs.frozen
class EstimatorSpec:
    """What a worker needs to build the run's estimator (the class the driver resolved, its
    options and the ``[es]`` table), to scale directions and replay updates exactly as the
    driver does."""

    cls: type[Any]
    options: Any
    es: Any  # esenas_core.engine.esconfig.ESConfig

    def build(self) -> Any:
        """The estimator (built here, not cached)."""
        return self.cls(self.options, self.es)


@attrs.frozen(eq=False)
class ThetaSync:
    """What a worker needs to keep its replica of θ: θ's version, the recent updates, the
    estimator, and either the estimator's state at that version (a full job, which carries θ)
    or θ's digest (a slim job)."""

    key: str  # the run's replica key (random per trainer)
    version: int
    updates: tuple[Update, ...]
    estimator: EstimatorSpec
    estimator_state: Mapping[str, Any] | None = None
    digest: str | None = None


@attrs.frozen
class WorkerSpec:
    """What a worker needs to build (and cache) the task and the search space: the plugin
    classes the driver resolved (so a worker builds exactly what the driver validated, however
    the plugins were registered) and their options.

    ``requires``: (module, distribution, version) of every plugin module the run needs; a
    backend with remote workers checks them there before the first iteration
    (``check_worker_plugins``)."""

    task: str
    task_options: dict[str, Any]
    search_space: str
    search_space_options: dict[str, Any]
    task_cls: type[Any]
    search_space_cls: type[Any]
    requires: tuple[tuple[str, str, str | None], ...] = ()

    def key(self) -> str:
        return json.dumps(
            [
                self.task,
                self.task_options,
                _qualified(self.task_cls),
                self.search_space,
                self.search_space_options,
                _qualified(self.search_space_cls),
            ],
            sort_keys=True,
        )

    def build(self) -> tuple[Any, Any]:
        """The task and the search space (built here, not cached)."""
        from esenas_core.api.options import structure

        task = self.task_cls(
            structure(self.task_cls.Options, self.task_options, f"[task] {self.task}")
        )
        space_options = structure(
            self.search_space_cls.Options,
            self.search_space_options,
            f"[search_space] {self.search_space}",
        )
        return task, self.search_space_cls(space_options, task.spec())


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@attrs.frozen(eq=False)
class Job:
    """Everything shared by the requests of one evaluation: sent once per worker.

    ``theta`` is None in a slim job (``esenas_core.backends.slim``): the worker then uses its
    replica of θ, kept up to date from ``sync``."""

    spec: WorkerSpec
    theta: np.ndarray | None
    sigma: float
    obs_mean: np.ndarray
    obs_std: np.ndarray
    noise: NoiseSpec = attrs.field(factory=NoiseSpec)
    sync: ThetaSync | None = None


@attrs.frozen(eq=False)
class RolloutRequest:
    """One episode: θ + sign·σ·ε(perturbation_seed) with architecture ``genome``."""

    index: int
    perturbation_seed: int
    sign: int  # +1, -1, or 0 for an exact evaluation at θ
    genome: np.ndarray
    env_seed: int


@attrs.frozen(eq=False)
class RolloutResult:
    """One request's outcome; ``error`` is set (and ``episode`` None) when it failed.

    ``ok``: finished, with a finite return and finite observation statistics (an episode that
    saw a NaN or infinite observation would ruin the merged normalization); computed once, where
    the result is made (on the worker)."""

    index: int
    episode: EpisodeResult | None
    error: str | None = None
    ok: bool = attrs.field(init=False)

    @ok.default
    def _ok(self) -> bool:
        e = self.episode
        return e is not None and _finite(e.reward) and _finite(e.obs_mean) and _finite(e.obs_m2)

    @property
    def finished(self) -> EpisodeResult:
        """The episode of a result that is ``ok`` (``ValueError`` for a failed one)."""
        if self.episode is None:
            raise ValueError(f"request {self.index} failed: {self.error}")
        return self.episode

    @classmethod
    def failed(cls, index: int, error: str) -> RolloutResult:
        return cls(index=index, episode=None, error=error)


def _finite(value: Any) -> bool:
    """Every entry finite (small arrays in Python: a thousand results per iteration)."""
    arr = np.asarray(value)
    if arr.size <= 64 and arr.dtype.kind == "f":
        return all(map(math.isfinite, arr.ravel().tolist()))
    return bool(np.isfinite(arr).all())
