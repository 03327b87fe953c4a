"""The one worker-side function every backend calls, and its helpers.

The records (``Job``, ``RolloutRequest``, ``RolloutResult``, ``WorkerSpec``) are the plugin
contract, in esenas_core.api.records. The worker rebuilds each perturbation ε from its seed, so
serial, process and dask backends compute identical numbers.
"""

from __future__ import annotations

import itertools
import traceback
from collections.abc import Sequence
from typing import Any

import numpy as np

from esenas_core.api.records import Job, RolloutRequest, RolloutResult, WorkerSpec
from esenas_core.engine import noise
from esenas_core.engine.replica import STALE, resolve_theta, scale_of


def check_worker_plugins(
    requires: Sequence[tuple[str, str, str | None]],
) -> list[str]:
    """Run on a worker: what is wrong with its copies of the run's plugin modules (empty: all
    importable, at the driver's distribution versions)."""
    import importlib
    import importlib.metadata

    problems = []
    for module, dist, version in requires:
        try:
            importlib.import_module(module)
        except Exception as exc:
            problems.append(f"{module} ({dist}) cannot be imported: {type(exc).__name__}: {exc}")
            continue
        if version is None:
            continue
        try:
            here = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            here = None
        if here != version:
            problems.append(f"{dist} is {here or 'not installed'} here, {version} on the driver")
    return problems


# Per-process cache: a worker keeps its environments and search space between jobs.
_WORKER_CACHE: dict[str, tuple[Any, Any]] = {}


def _build(spec: WorkerSpec) -> tuple[Any, Any]:
    key = spec.key()
    if key not in _WORKER_CACHE:
        _WORKER_CACHE[key] = spec.build()
    return _WORKER_CACHE[key]


def worker_task(spec: WorkerSpec) -> Any:
    """This process's (cached) task of ``spec``."""
    return _build(spec)[0]


def prepare(spec: WorkerSpec) -> None:
    """Build and cache ``spec``'s task and search space in this process (imports included), so a
    backend can start its workers before the first timed evaluation. Never raises: a task that
    cannot be built fails its rollouts later, with the error."""
    try:
        task, _ = _build(spec)
        task.spec()
    except Exception:
        pass


def perturbed_params(
    job: Job,
    theta: np.ndarray,
    requests: Sequence[RolloutRequest],
    scale: float | np.ndarray | None = None,
) -> np.ndarray:
    """Each request's parameters: θ + sign·scale⊙ε(perturbation seed), θ itself for sign 0.
    ``scale`` is the estimator's (``scale_of``); None: the one of a full job's own state."""
    if scale is None:
        scale = scale_of(job, job.sync.estimator_state if job.sync is not None else None)
    dim = theta.shape[0]
    params = np.repeat(theta[None, :], len(requests), axis=0)
    # an antithetic pair shares its direction: one per distinct seed, in order of first use
    seeds = list(dict.fromkeys(req.perturbation_seed for req in requests if req.sign))
    directions = dict(zip(seeds, noise.directions(job.noise, seeds, dim), strict=True))
    for row, req in enumerate(requests):
        if req.sign:
            params[row] += req.sign * scale * directions[req.perturbation_seed]
    return params


def _run(
    task: Any,
    space: Any,
    job: Job,
    theta: np.ndarray,
    scale: float | np.ndarray,
    requests: Sequence[RolloutRequest],
) -> list[RolloutResult]:
    decoded: dict[tuple, Any] = {}  # a pair shares its genome (es.pair_architecture)
    archs = []
    for req in requests:
        genome = np.asarray(req.genome)
        key = (genome.dtype.str, genome.shape, genome.tobytes())
        if key not in decoded:
            decoded[key] = space.decode(req.genome)
        archs.append(decoded[key])
    episodes = task.run_episodes(
        space,
        perturbed_params(job, theta, requests, scale),
        archs,
        [req.env_seed for req in requests],
        job.obs_mean,
        job.obs_std,
    )
    return [
        RolloutResult(index=r.index, episode=e) for r, e in zip(requests, episodes, strict=True)
    ]


def evaluate_requests(job: Job, requests: Sequence[RolloutRequest]) -> list[RolloutResult]:
    """Run ``requests`` in lockstep; never raises for a failing rollout.

    If the batch raises, each request is re-run alone so one bad rollout fails only itself.
    """
    theta, state = resolve_theta(job)
    if theta is None:  # a slim job and no usable replica: the backend resends the full job
        return failed_chunk(requests, STALE)
    task, space = _build(job.spec)
    try:
        scale = scale_of(job, state)
    except Exception:  # the estimator's scale failed: nothing of the chunk can run
        return failed_chunk(requests, _short_error())
    try:
        return _run(task, space, job, theta, scale, requests)
    except Exception:
        if len(requests) == 1:
            return [RolloutResult.failed(requests[0].index, _short_error())]
    results = []
    for req in requests:
        try:
            results.extend(_run(task, space, job, theta, scale, [req]))
        except Exception:
            results.append(RolloutResult.failed(req.index, _short_error()))
    return results


def split_chunks(requests: Sequence[RolloutRequest], chunks: int) -> list[list[RolloutRequest]]:
    """Contiguous, near-equal chunks (at most ``chunks``, none empty)."""
    chunks = max(1, min(chunks, len(requests)))
    bounds = np.linspace(0, len(requests), chunks + 1).astype(int)
    return [list(requests[lo:hi]) for lo, hi in itertools.pairwise(bounds) if hi > lo]


def failed_chunk(chunk: Sequence[RolloutRequest], error: str) -> list[RolloutResult]:
    return [RolloutResult.failed(r.index, error) for r in chunk]


def job_bytes(job: Job) -> int:
    """The job's pickled size: what sending it costs, θ included or not (requests are ≈ 70 bytes
    each whatever θ's length)."""
    import pickle

    return len(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))


def is_stale(results: Sequence[RolloutResult]) -> bool:
    """The chunk's worker had no usable θ replica: send the chunk again with the full job."""
    return bool(results) and results[0].error == STALE


def _short_error() -> str:
    lines = traceback.format_exc().strip().splitlines()
    return lines[-1] if lines else "unknown error"
