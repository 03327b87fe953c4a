"""θ replicas on workers: after a worker's first job, only scalars travel.

Every θ update is a pure function of scalars (``Update``: the directions' weights and seeds, the
learning rate, the weight decay) and of the previous θ and optimizer state. The driver applies
it with :func:`apply_update`; so does every worker to its replica, with the same code and the
same inputs, so the replica stays bitwise equal to the driver's θ. A job then carries, instead of
θ (d floats), the last ``KEEP_UPDATES`` updates (a few floats per direction) and θ's digest.

A worker whose replica is missing (a new or restarted worker), too far behind (it had no chunk
for ``KEEP_UPDATES`` iterations) or whose digest differs (a machine computing other bits) answers
:data:`STALE` for the chunk; the backend sends that chunk again with the full job (θ and the
optimizer state), which also re-seeds the replica. Backends choose: ``serial`` passes the full job
in memory; ``processes`` and ``dask`` send ``slim(job)`` once workers hold θ.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from esenas_core.api.records import Job, NoiseSpec, OptimizerSpec, ThetaSync, Update
from esenas_core.engine import noise as directions
from esenas_core.engine import optimizers

KEEP_UPDATES = 2  # updates each slim job carries: a worker may skip an iteration's tasks
STALE = "stale θ replica: the full job is needed"  # a chunk's error when the replica is unusable
_MAX_REPLICAS = 4  # runs whose replicas one worker process keeps


def slim(job: Job) -> Job:
    """``job`` with θ's digest instead of θ and the optimizer state: its size does not depend on
    θ's length. Without ``sync`` (no replica possible) the job itself."""
    if job.sync is None or job.theta is None:
        return job
    sync = attrs.evolve(job.sync, optimizer_state=None, digest=digest(job.theta))
    return attrs.evolve(job, theta=None, sync=sync)


def digest(theta: np.ndarray) -> str:
    """128-bit BLAKE2b of θ's bytes (≈ 0.5 ms at d = 71,942)."""
    return hashlib.blake2b(np.ascontiguousarray(theta).tobytes(), digest_size=16).hexdigest()


def apply_update(
    theta: np.ndarray,
    optimizer: OptimizerSpec,
    state: Mapping[str, np.ndarray],
    update: Update,
    noise: NoiseSpec,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The new θ, the gradient used and the optimizer's new state (driver and replicas run
    exactly this; nothing is changed in place)."""
    grad = directions.combine(noise, update.weights, update.seeds, theta.shape[0])
    if update.weight_decay:
        grad = grad - update.weight_decay * theta
    with np.errstate(over="ignore", invalid="ignore"):  # the driver checks θ is finite
        new_theta, new_state = optimizers.step(optimizer, theta, grad, update.learning_rate, state)
    return new_theta, grad, new_state


@attrs.define
class _Replica:
    """θ and the optimizer state at ``version``. Seeded from a full job by reference (jobs are
    never modified, updates make new arrays); the digest is taken only when a slim job needs it."""

    theta: np.ndarray
    version: int
    spec: OptimizerSpec
    state: Mapping[str, np.ndarray]
    digest: str | None = None

    def advance(self, update: Update, noise: NoiseSpec) -> None:
        self.theta, _, self.state = apply_update(self.theta, self.spec, self.state, update, noise)
        self.version, self.digest = update.version, None


_REPLICAS: OrderedDict[str, _Replica] = OrderedDict()
_LOCK = threading.Lock()  # a dask worker may run several tasks of one job at once


def resolve_theta(theta: np.ndarray | None, sync: ThetaSync | None, noise: NoiseSpec) -> Any:
    """θ for a job: the job's own (a full job, which also seeds this process's replica), or the
    replica brought up to the job's version; None when the replica cannot be used (STALE)."""
    if sync is None:
        return theta
    with _LOCK:
        return _resolve(theta, sync, noise)


def _resolve(theta: np.ndarray | None, sync: ThetaSync, noise: NoiseSpec) -> Any:
    if theta is not None:
        known = _REPLICAS.get(sync.key)
        if sync.optimizer_state is not None and (known is None or known.version != sync.version):
            _remember(sync.key, _Replica(theta, sync.version, sync.optimizer, sync.optimizer_state))
        return theta
    replica = _REPLICAS.get(sync.key)
    if replica is None:
        return None
    for update in sync.updates:
        if update.version == replica.version + 1:
            replica.advance(update, noise)
    if replica.version == sync.version and replica.digest is None:
        replica.digest = digest(replica.theta)  # once per version, not per update
    if replica.version != sync.version or replica.digest != sync.digest:
        del _REPLICAS[sync.key]  # behind, or other bits: the full job re-seeds it
        return None
    _REPLICAS.move_to_end(sync.key)
    return replica.theta


def _remember(key: str, replica: _Replica) -> None:
    _REPLICAS[key] = replica
    _REPLICAS.move_to_end(key)
    while len(_REPLICAS) > _MAX_REPLICAS:
        _REPLICAS.popitem(last=False)
