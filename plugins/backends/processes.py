"""``processes``: a local pool of worker processes (spawned, one BLAS thread each).

Requests are split into contiguous chunks (``chunks_per_worker`` per worker); each chunk travels
with the job. θ travels in full only until the workers hold replicas of it (a fresh pool's first
evaluation, or a worker that answers that its replica is stale); after that, jobs are slim: the
last updates as scalars (esenas_core.replica), whatever θ's length. Worker processes keep their
environments and search space cached between iterations. Workers are started and warmed
(imports, task and search space built, each in its own worker) before an evaluation's deadline
starts, so ``iteration_timeout`` counts rollouts, not start-up. At the deadline, unfinished
chunks come back failed and the pool is restarted (a running episode cannot be cancelled
otherwise). When a worker dies, every chunk not finished is run again with the same requests on
a fresh pool (up to ``MAX_RESUBMITS`` times), so a run with a killed worker computes the same
numbers as one without.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool

import attrs
from esenas_plugins.backends import _single_thread
from esenas_plugins.backends._single_thread import init_worker

from esenas_core import Backend, hookimpl
from esenas_core.rollouts import (
    Job,
    RolloutRequest,
    RolloutResult,
    WorkerSpec,
    evaluate_requests,
    failed_chunk,
    is_stale,
    job_bytes,
    prepare,
    split_chunks,
)


@attrs.frozen
class ProcessesOptions:
    """Options of the ``processes`` backend."""

    workers: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    chunks_per_worker: int = attrs.field(default=1, validator=attrs.validators.ge(1))


MAX_RESUBMITS = 3  # a chunk that kills its worker every time fails after 4 tries
START_TIMEOUT = 300.0  # seconds a fresh pool may take to start and warm up


def _warm(spec: WorkerSpec) -> None:
    """Warm-up task: build ``spec`` here, then wait until every worker has (so the pool's
    warm-up tasks run one per worker)."""
    prepare(spec)
    barrier = _single_thread.START_BARRIER
    if barrier is not None:
        try:
            barrier.wait(timeout=START_TIMEOUT)
        except Exception:
            pass


class ProcessesBackend(Backend):
    """Local process pool (``workers = 0``: one per core)."""

    name = "processes"
    Options = ProcessesOptions

    def __init__(self, options: ProcessesOptions) -> None:
        super().__init__(options)
        self.workers = options.workers or os.cpu_count() or 1
        self._pool: cf.ProcessPoolExecutor | None = None
        self._warmed: set[str] = set()  # specs the current pool's workers have built
        self._synced = False  # the pool's workers hold θ replicas: slim jobs suffice
        self.job_bytes_sent = 0  # pickled jobs sent with the chunks (benchmarks, tests)

    def label(self) -> str:
        return f"{self.workers} workers"

    def _executor(self, spec: WorkerSpec) -> tuple[cf.ProcessPoolExecutor, float]:
        """The pool, started and warmed for ``spec``; and the seconds that took."""
        start = time.monotonic()
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=init_worker,
                initargs=(os.getpid(), context.Barrier(self.workers)),
            )
            self._warmed = set()
            self._synced = False
        if spec.key() not in self._warmed:
            warm = [self._pool.submit(_warm, spec) for _ in range(self.workers)]
            cf.wait(warm, timeout=START_TIMEOUT)
            self._warmed.add(spec.key())  # a failed warm-up shows again in the evaluation
        return self._pool, time.monotonic() - start

    def evaluate(
        self, job: Job, requests: Sequence[RolloutRequest], timeout: float | None = None
    ) -> list[RolloutResult]:
        """Chunks run on the pool; chunks lost to a dying worker are run again (same requests,
        so the same numbers) on a fresh pool, up to ``MAX_RESUBMITS`` times."""
        chunks = split_chunks(requests, self.workers * self.options.chunks_per_worker)
        deadline = None if timeout is None else time.monotonic() + timeout
        results: dict[int, list[RolloutResult]] = {}
        pending = list(range(len(chunks)))
        slim = job.slim()  # θ stays on the workers (their replicas) once they hold it
        for _ in range(MAX_RESUBMITS + 1):
            pool, starting = self._executor(job.spec)
            if deadline is not None:
                deadline += starting  # start-up is not rollout time
            send = slim if self._synced else job
            self.job_bytes_sent += job_bytes(send) * len(pending)  # one per chunk
            try:
                futures = {i: pool.submit(evaluate_requests, send, chunks[i]) for i in pending}
            except BrokenProcessPool:  # a worker died while the pool started: a fresh pool
                self._kill()
                continue
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            done, _ = cf.wait(futures.values(), timeout=left)
            lost, restart = [], False
            self._synced = True
            for i, future in futures.items():
                if future not in done:
                    results[i] = failed_chunk(
                        chunks[i], f"timeout: not finished within {timeout} s"
                    )
                    restart = True
                    continue
                try:
                    results[i] = future.result()
                    if is_stale(results[i]):  # its worker has no replica of θ: the full job
                        lost.append(i)
                        self._synced = False
                except BrokenProcessPool:  # a worker died: every unfinished chunk is lost
                    lost.append(i)
                    restart = True
                except Exception as exc:  # e.g. a request that could not be unpickled
                    results[i] = failed_chunk(
                        chunks[i], f"worker failed: {type(exc).__name__}: {exc}"
                    )
                    restart = True
            if restart:
                self._kill()
            pending = lost
            if not pending:
                break
        for i in pending:
            results[i] = failed_chunk(
                chunks[i], f"worker died {MAX_RESUBMITS + 1} times running this chunk"
            )
        return [r for i in range(len(chunks)) for r in results[i]]

    def _kill(self) -> None:
        """Stop the pool now, stragglers included (ProcessPoolExecutor cannot cancel them)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


@hookimpl
def esenas_register_backends(register):
    register(ProcessesBackend)
