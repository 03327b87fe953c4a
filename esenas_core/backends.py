"""The public surface for backend authors: what moves a job and its requests to workers and
brings results back. Task, search-space and controller authors need nothing here (their surface
is ``esenas_core`` itself).

    from esenas_core import hookimpl
    from esenas_core.backends import Backend, Job, RolloutRequest, evaluate_requests

Every backend runs a chunk of requests on a worker through ``evaluate_requests(job, chunk)``
(or ``evaluate_packed`` over arrays), so results are identical on every backend. A backend with
a pool of workers subclasses ``PoolBackend`` (docs/plugins.md, "A backend").
"""

from esenas_core.api.episodes import EpisodeResult
from esenas_core.api.interfaces import Backend
from esenas_core.api.records import Job, RolloutRequest, RolloutResult, WorkerSpec
from esenas_core.engine.packed import (
    evaluate_packed,
    pack_requests,
    pack_results,
    unpack_requests,
    unpack_results,
)
from esenas_core.engine.pool import PoolBackend, PoolOptions
from esenas_core.engine.replica import slim
from esenas_core.engine.rollouts import (
    check_worker_plugins,
    evaluate_requests,
    failed_chunk,
    is_stale,
    job_bytes,
    prepare,
    worker_task,
)
from esenas_core.engine.workers import (
    THREAD_VARS,
    init_worker,
    start_barrier,
    start_failure_hint,
)

__all__ = [
    "THREAD_VARS",
    "Backend",
    "EpisodeResult",
    "Job",
    "PoolBackend",
    "PoolOptions",
    "RolloutRequest",
    "RolloutResult",
    "WorkerSpec",
    "check_worker_plugins",
    "evaluate_packed",
    "evaluate_requests",
    "failed_chunk",
    "init_worker",
    "is_stale",
    "job_bytes",
    "pack_requests",
    "pack_results",
    "prepare",
    "slim",
    "start_barrier",
    "start_failure_hint",
    "unpack_requests",
    "unpack_results",
    "worker_task",
]
