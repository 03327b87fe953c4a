"""θ replicas on workers: after a worker's first job, only scalars travel.

Every θ update is a pure function of scalars (``Update``: the directions' weights and seeds, the
learning rate, the weight decay) and of the previous θ and the estimator's state. The driver
applies it with :func:`apply_update`; so does every worker to its replica, with the same code and
the same inputs, so the replica stays bitwise equal to the driver's θ. A job then carries,
instead of θ (d floats), the last ``KEEP_UPDATES`` updates (a few floats per direction) and θ's
digest.

A worker whose replica is missing (a new or restarted worker), too far behind (it had no chunk
for ``KEEP_UPDATES`` iterations) or whose digest differs (a machine computing other bits) answers
:data:`STALE` for the chunk; the backend sends that chunk again with the full job (θ and the
estimator's state), which also re-seeds the replica. Backends choose: ``serial`` passes the full job
in memory; ``processes`` and ``dask`` send ``slim(job)`` once workers hold θ.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from esenas_core.api.records import EstimatorSpec, Job, NoiseSpec, ThetaSync, Update
from esenas_core.engine import noise as directions

KEEP_UPDATES = 2  # updates each slim job carries: a worker may skip an iteration's tasks
STALE = "stale θ replica: the full job is needed"  # a chunk's error when the replica is unusable
_MAX_REPLICAS = 4  # runs whose replicas one worker process keeps


def slim(job: Job) -> Job:
    """``job`` with θ's digest instead of θ and the estimator's state: its size does not depend
    on θ's length. Without ``sync`` (no replica possible) the job itself."""
    if job.sync is None or job.theta is None:
        return job
    sync = attrs.evolve(job.sync, estimator_state=None, digest=digest(job.theta))
    return attrs.evolve(job, theta=None, sync=sync)


def digest(theta: np.ndarray) -> str:
    """128-bit BLAKE2b of θ's bytes (≈ 0.5 ms at d = 71,942)."""
    return hashlib.blake2b(np.ascontiguousarray(theta).tobytes(), digest_size=16).hexdigest()


class Sums:
    """Σ_i w_i ε(seed_i) and Σ_i v_i ε(seed_i)² of an update, each computed when first read."""

    def __init__(self, update: Update, noise: NoiseSpec, dim: int) -> None:
        self._update, self._noise, self._dim = update, noise, dim

    @functools.cached_property
    def linear(self) -> np.ndarray:
        u = self._update
        return directions.combine(self._noise, u.weights, u.seeds, self._dim)

    @functools.cached_property
    def squares(self) -> np.ndarray:
        u = self._update
        if u.square_weights is None:
            raise ValueError("this update has no square weights (Weights.squares was None)")
        return directions.combine_squares(self._noise, u.square_weights, u.seeds, self._dim)


def estimator_of(spec: EstimatorSpec) -> Any:
    """This process's estimator for ``spec`` (built once; each time if its options are not
    hashable, e.g. a mutable ``attrs.define`` class)."""
    try:
        hash(spec)
    except TypeError:
        return spec.build()
    return _cached_estimator(spec)


@functools.lru_cache(maxsize=8)
def _cached_estimator(spec: EstimatorSpec) -> Any:
    return spec.build()


def apply_update(
    theta: np.ndarray,
    estimator: Any,
    state: Mapping[str, np.ndarray],
    update: Update,
    noise: NoiseSpec,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The new θ, the step's direction (the gradient, for gradient estimators) and the
    estimator's new state (driver and replicas run exactly this; nothing is changed in place)."""
    with np.errstate(over="ignore", invalid="ignore"):  # the driver checks θ is finite
        new_theta, new_state, direction = estimator.update(
            theta, state, update, Sums(update, noise, theta.shape[0])
        )
    return new_theta, direction, new_state


@attrs.define
class _Replica:
    """θ and the estimator's state at ``version``. Seeded from a full job by reference (jobs are
    never modified, updates make new arrays); the digest is taken only when a slim job needs it."""

    theta: np.ndarray
    version: int
    spec: EstimatorSpec
    state: Mapping[str, np.ndarray]
    digest: str | None = None

    def advance(self, update: Update, noise: NoiseSpec) -> None:
        estimator = estimator_of(self.spec)
        self.theta, _, self.state = apply_update(self.theta, estimator, self.state, update, noise)
        self.version, self.digest = update.version, None


_REPLICAS: OrderedDict[str, _Replica] = OrderedDict()
_LOCK = threading.Lock()  # a dask worker may run several tasks of one job at once


def resolve_theta(job: Job) -> tuple[Any, Any]:
    """θ and the estimator's state for a job: the job's own (a full job, which also seeds this
    process's replica), or the replica brought up to the job's version; (None, None) when the
    replica cannot be used (STALE). Without ``sync``: the job's θ and no state."""
    if job.sync is None:
        return job.theta, None
    with _LOCK:
        return _resolve(job.theta, job.sync, job.noise)


def _resolve(theta: np.ndarray | None, sync: ThetaSync, noise: NoiseSpec) -> tuple[Any, Any]:
    if theta is not None:
        known = _REPLICAS.get(sync.key)
        state = sync.estimator_state
        if state is not None and (known is None or known.version != sync.version):
            _remember(sync.key, _Replica(theta, sync.version, sync.estimator, state))
        return theta, state
    replica = _REPLICAS.get(sync.key)
    if replica is None:
        return None, None
    for update in sync.updates:
        if update.version == replica.version + 1:
            replica.advance(update, noise)
    if replica.version == sync.version and replica.digest is None:
        replica.digest = digest(replica.theta)  # once per version, not per update
    if replica.version != sync.version or replica.digest != sync.digest:
        del _REPLICAS[sync.key]  # behind, or other bits: the full job re-seeds it
        return None, None
    _REPLICAS.move_to_end(sync.key)
    return replica.theta, replica.state


def scale_of(job: Job, state: Any) -> float | np.ndarray:
    """What multiplies ε in this job's rollouts: σ, or the estimator's per-coordinate scale."""
    if job.sync is None or state is None:
        return job.sigma
    return estimator_of(job.sync.estimator).scale(state, job.sigma)


def _remember(key: str, replica: _Replica) -> None:
    _REPLICAS[key] = replica
    _REPLICAS.move_to_end(key)
    while len(_REPLICAS) > _MAX_REPLICAS:
        _REPLICAS.popitem(last=False)
