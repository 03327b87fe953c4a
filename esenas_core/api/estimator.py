"""The fifth plugin interface: the ES estimator, which owns θ's search distribution.

An estimator decides three things, and the engine does the rest (requests, seeds, workers,
checkpoints):

- how a direction becomes parameters: rollout r evaluates θ + sign_r · ``scale(state, σ)`` ⊙ ε_r,
  with ε_r ~ N(0, I) regenerated from its seed, sign ±1 for ``members = 2`` (mirrored pairs) or
  +1 for ``members = 1``;
- how returns become scalars: ``weights`` maps the returns of the valid directions to one weight
  per direction (and, for rules that adapt a per-coordinate σ, one square weight per direction);
- how scalars become the new θ and state: ``update`` gets Σ_i w_i ε_i and Σ_i v_i ε_i² (the
  engine computes them from the seeds) and returns the new θ and state.

``update`` must be a deterministic function of (θ, state, the update's scalars, the two sums):
every worker replays it on its replica of θ from those scalars alone, so jobs stay small whatever
θ's size (docs/distributed.md). ``esenas_core.check_estimator`` checks this contract.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

import attrs
import numpy as np

from esenas_core.api import fixedmath
from esenas_core.api.interfaces import NoOptions
from esenas_core.api.records import Update


class Sums(Protocol):
    """The two direction sums an update may use (computed only when read)."""

    @property
    def linear(self) -> np.ndarray:
        """Σ_i weights_i ε(seed_i), shape (d,)."""

    @property
    def squares(self) -> np.ndarray:
        """Σ_i square_weights_i ε(seed_i)² (elementwise), shape (d,)."""


@attrs.frozen(eq=False)
class Weights:
    """What ``Estimator.weights`` returns: which of the valid directions the update uses
    (``rows``, indices into them; None: all, in order) and their weights."""

    linear: np.ndarray  # (k,) w_i of Σ w_i ε_i
    squares: np.ndarray | None = None  # (k,) v_i of Σ v_i ε_i², or None when unused
    rows: np.ndarray | None = None  # (k,) int, or None for all directions


class Estimator(abc.ABC):
    """How θ is perturbed and updated from the returns (``[estimator] name = ...``).

    ``__init__(options, es)`` gets the plugin's options and the run's ``[es]`` table
    (``esenas_core.engine.esconfig.ESConfig``: σ, learning rate, shaping, population); it raises
    ``ValueError`` for a combination it cannot run (the config is refused in one line naming it).
    """

    name: ClassVar[str]
    Options: ClassVar[type] = NoOptions
    #: rollouts per direction: 2 evaluates θ ± scale⊙ε (mirrored), 1 evaluates θ + scale⊙ε
    members: ClassVar[int] = 2
    #: True if ``weights`` needs f(θ) (the mean return of the iteration's exact evaluations)
    uses_baseline: ClassVar[bool] = False

    def __init__(self, options: Any, es: Any) -> None:
        self.options = options
        self.es = es

    def init_state(self, dim: int) -> dict[str, np.ndarray]:
        """The state before the first update (arrays only: a checkpoint saves it as .npz)."""
        return {}

    def check_state(self, state: Mapping[str, Any], dim: int) -> dict[str, np.ndarray]:
        """``state`` (read back from a checkpoint) as this estimator's state, or ``ValueError``
        naming the key that does not fit. The default compares keys, shapes and finiteness with
        ``init_state(dim)``."""
        expected = self.init_state(dim)
        if set(state) != set(expected):
            raise ValueError(
                f"estimator state keys {sorted(state)} differ from {self.name!r}'s"
                f" {sorted(expected)}"
            )
        out = {}
        for key, ref in expected.items():
            value = np.asarray(state[key])
            if value.shape != np.shape(ref):
                raise ValueError(
                    f"estimator_{key}: expected shape {np.shape(ref)}, got {value.shape}"
                )
            if value.dtype.kind not in "iuf" or not np.all(np.isfinite(value)):
                raise ValueError(f"estimator_{key}: expected finite numbers")
            out[key] = value.astype(np.asarray(ref).dtype, copy=True)
        return out

    def scale(self, state: Mapping[str, np.ndarray], sigma: float) -> float | np.ndarray:
        """What multiplies ε in a rollout: a float, or a (d,) array for a per-coordinate σ.
        ``sigma`` is ``es.sigma`` after its schedule (``sigma_decay``, ``sigma_min``)."""
        return sigma

    @abc.abstractmethod
    def weights(
        self,
        rewards: np.ndarray,
        baseline: float | None,
        sigma: float,
        state: Mapping[str, np.ndarray],
    ) -> Weights:
        """The update as scalars (driver only). ``rewards`` is (m, members) float64: the finite
        returns of the m valid directions, in seed order (column 0: +ε, column 1: −ε);
        ``baseline`` is f(θ) when ``uses_baseline``, else None."""

    @abc.abstractmethod
    def update(
        self,
        theta: np.ndarray,
        state: Mapping[str, np.ndarray],
        step: Update,
        sums: Sums,
    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """(new θ, new state, the step's direction for the metrics' ``grad_norm``). Deterministic
        in its inputs; it must not change them (replicas hold references)."""

    def stats(self, state: Mapping[str, np.ndarray], sigma: float) -> dict[str, float]:
        """The metrics row's ``sigma`` (the perturbation scale in use: the RMS of a per-coordinate
        σ), optionally its ``learning_rate`` (the step size in use; default ``es.learning_rate``
        after its schedule), and any numbers of the estimator's own, as ``estimator_<key>``
        columns (same keys every call)."""
        scale = np.asarray(self.scale(state, sigma), dtype=np.float64)
        if not scale.ndim:
            return {"sigma": float(scale)}
        return {"sigma": fixedmath.norm(scale) / math.sqrt(max(scale.size, 1))}


class PerCoordinateSigma(Estimator):
    """An estimator with a σ per coordinate in its state (``state["sigma"]``, starting at
    ``es.sigma``): rollouts are θ ± σ⊙ε (PGPE, SNES, the cross-entropy method). Subclasses add
    state with ``init_state`` (calling ``super()``) and implement ``weights`` and ``update``."""

    def init_state(self, dim: int) -> dict[str, np.ndarray]:
        return {"sigma": np.full(dim, float(self.es.sigma))}

    def check_state(self, state: Mapping[str, Any], dim: int) -> dict[str, np.ndarray]:
        out = super().check_state(state, dim)
        if not np.all(out["sigma"] > 0):
            raise ValueError("estimator_sigma: expected σ > 0 in every coordinate")
        return out

    def scale(self, state: Mapping[str, np.ndarray], sigma: float) -> np.ndarray:
        return state["sigma"]
