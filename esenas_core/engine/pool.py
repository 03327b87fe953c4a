"""``PoolBackend``: what every backend with a pool of workers shares — chunking, the deadline
(start-up excluded), full or slim jobs (θ or its replica updates), and re-running chunks lost
with a worker; subclasses say how to start workers and run chunks on them."""

from __future__ import annotations

import abc
import os
import time
from collections.abc import Sequence

import attrs

from esenas_core.api.interfaces import Backend
from esenas_core.api.records import Job, RolloutRequest, RolloutResult, WorkerSpec
from esenas_core.engine import replica
from esenas_core.engine.packed import concat_results
from esenas_core.engine.rollouts import failed_chunk, split_chunks


def max_local_workers() -> int:
    """The most worker processes one machine runs: 8 per core, and at most one per 256 MiB of
    memory (each imports numpy, the task and the search space)."""
    cores = os.cpu_count() or 1
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        memory = 2**40
    return max(1, min(8 * cores, memory // 2**28))


def _workers(_inst: object, attr: attrs.Attribute, value: int) -> None:
    limit = max_local_workers()
    if value < 0 or value > limit:
        raise ValueError(
            f"'{attr.name}' must be 0 (one per core) to {limit} (8 per core and one per 256 MiB"
            f" of this machine), got {value}"
        )


@attrs.frozen
class PoolOptions:
    """Options every pool backend has (subclass it to add your own)."""

    workers: int = attrs.field(default=0, validator=_workers)
    chunks_per_worker: int = attrs.field(
        default=1, validator=[attrs.validators.ge(1), attrs.validators.le(4096)]
    )


class PoolBackend(Backend):
    """A backend whose workers run contiguous chunks of the requests.

    ``evaluate`` splits the requests into ``worker_count() × chunks_per_worker`` chunks, starts
    and warms the workers (``prepare``; not counted against the deadline), sends the full job
    until every worker holds θ (``holds_theta`` / ``mark_holding``) and the slim job after, and
    runs chunks again — with the same requests, so the same numbers — that ``run_chunks``
    reports lost (their worker died) or stale (their worker's replica of θ was unusable), up
    to ``MAX_RESUBMITS`` times.
    """

    MAX_RESUBMITS = 3  # a chunk that is lost every time fails after 4 tries
    gave_up = "worker lost {tries} times running this chunk"

    @abc.abstractmethod
    def prepare(self, spec: WorkerSpec, retry: bool) -> None:
        """Start workers (or wait for them on a ``retry`` after losses) and build ``spec``'s
        task and search space on each; the time it takes is not rollout time."""

    @abc.abstractmethod
    def worker_count(self) -> int:
        """How many workers are there to split requests across (≥ 1)."""

    @abc.abstractmethod
    def holds_theta(self) -> bool:
        """Do all current workers hold a replica of θ (so a slim job suffices)?"""

    @abc.abstractmethod
    def mark_holding(self) -> None:
        """The full job just reached every current worker."""

    @abc.abstractmethod
    def run_chunks(
        self,
        job: Job,
        chunks: list[list[RolloutRequest]],
        which: list[int],
        left: float | None,
        timeout: float | None,
        results: dict[int, Sequence[RolloutResult]],
    ) -> tuple[list[int], list[int]]:
        """Run ``chunks[i]`` for i in ``which`` within ``left`` seconds; put finished (or
        failed: timeout, worker error) chunks' results in ``results``; return the lost chunks
        and the stale ones (``is_stale``)."""

    def evaluate(
        self, job: Job, requests: Sequence[RolloutRequest], timeout: float | None = None
    ) -> Sequence[RolloutResult]:
        self.prepare(job.spec, retry=False)  # before the deadline starts
        chunks = split_chunks(requests, max(1, self.worker_count()) * self.chunks_per_worker)
        deadline = None if timeout is None else time.monotonic() + timeout
        results: dict[int, Sequence[RolloutResult]] = {}
        pending = list(range(len(chunks)))
        full = not self.holds_theta()
        slim = replica.slim(job)
        for attempt in range(self.MAX_RESUBMITS + 1):
            if attempt:  # chunks were lost: (re)start workers; that is not rollout time
                started = time.monotonic()
                self.prepare(job.spec, retry=True)
                full = full or not self.holds_theta()
                if deadline is not None:
                    deadline += time.monotonic() - started
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            lost, stale = self.run_chunks(
                job if full else slim, chunks, pending, left, timeout, results
            )
            if full:
                self.mark_holding()
            full = bool(stale)  # a worker's replica was unusable: the full job for those
            pending = sorted(lost + stale)
            if not pending:
                break
        for i in pending:
            results[i] = failed_chunk(chunks[i], self.gave_up.format(tries=self.MAX_RESUBMITS + 1))
        return concat_results([results[i] for i in range(len(chunks))])

    @property
    def chunks_per_worker(self) -> int:
        return int(getattr(self.options, "chunks_per_worker", 1))
