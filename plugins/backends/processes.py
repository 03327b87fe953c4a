"""``processes``: a local pool of worker processes (spawned, one BLAS thread each).

Requests are split into contiguous chunks (``chunks_per_worker`` per worker); each chunk travels
with the job. θ travels in full only until the workers hold replicas of it (a fresh pool's first
evaluation, or a worker that answers that its replica is stale); after that, jobs are slim: the
last updates as scalars (esenas_core.engine.replica), whatever θ's length. Worker processes
keep their environments and search space cached between iterations. Workers are started and warmed
(imports, task and search space built, each in its own worker) before an evaluation's deadline
starts, so ``iteration_timeout`` counts rollouts, not start-up. At the deadline, unfinished
chunks come back failed and the pool is restarted (a running episode cannot be cancelled
otherwise). When a worker dies, every chunk not finished is run again with the same requests on
a fresh pool (up to ``PoolBackend.MAX_RESUBMITS`` times, esenas_core.engine.pool), so a run with a
killed worker computes the same numbers as one without.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import time
from concurrent.futures.process import BrokenProcessPool

import attrs

from esenas_core import RunError, hookimpl
from esenas_core.backends import (
    PoolBackend,
    PoolOptions,
    WorkerSpec,
    evaluate_packed,
    failed_chunk,
    init_worker,
    is_stale,
    job_bytes,
    pack_requests,
    prepare,
    start_barrier,
    start_failure_hint,
    unpack_results,
)


@attrs.frozen
class ProcessesOptions(PoolOptions):
    """Options of the ``processes`` backend."""


START_TIMEOUT = 300.0  # seconds a fresh pool may take to start and warm up
START_TRIES = 3  # pools in a row whose workers all die while starting: the run stops


def start_failure(workers: int, tries: int) -> str:
    """The one line a pool whose workers keep dying while starting stops the run with."""
    return (
        f"[backend] processes: the {workers} worker processes died while starting, {tries}"
        f" times in a row; {start_failure_hint()}"
    )


def _warm(spec: WorkerSpec) -> None:
    """Warm-up task: build ``spec`` here, then wait until every worker has (so the pool's
    warm-up tasks run one per worker)."""
    prepare(spec)
    barrier = start_barrier()
    if barrier is not None:
        try:
            barrier.wait(timeout=START_TIMEOUT)
        except Exception:
            pass


class ProcessesBackend(PoolBackend):
    """Local process pool (``workers = 0``: one per core)."""

    name = "processes"
    Options = ProcessesOptions
    gave_up = "worker died {tries} times running this chunk"

    def __init__(self, options: ProcessesOptions) -> None:
        super().__init__(options)
        self.workers = options.workers or os.cpu_count() or 1
        self._pool: cf.ProcessPoolExecutor | None = None
        self._warmed: set[str] = set()  # specs the current pool's workers have built
        self._synced = False  # the pool's workers hold θ replicas: slim jobs suffice
        self.job_bytes_sent = 0  # pickled jobs sent with the chunks (benchmarks, tests)
        self._start_failures = 0  # pools in a row whose workers died while starting

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
            try:
                warm = [self._pool.submit(_warm, spec) for _ in range(self.workers)]
                cf.wait(warm, timeout=START_TIMEOUT)
                died = any(f.done() and isinstance(f.exception(), BrokenProcessPool) for f in warm)
            except BrokenProcessPool:
                died = True
            if died:  # before any request ran: start a fresh pool, a few times at most
                self._kill()
                self._start_failures += 1
                if self._start_failures >= START_TRIES:
                    raise RunError(start_failure(self.workers, self._start_failures))
                return self._executor(spec)
            self._start_failures = 0
            self._warmed.add(spec.key())  # a failed warm-up shows again in the evaluation
        return self._pool, time.monotonic() - start

    def prepare(self, spec: WorkerSpec, retry: bool) -> None:
        self._executor(spec)

    def worker_count(self) -> int:
        return self.workers

    def holds_theta(self) -> bool:
        return self._synced

    def mark_holding(self) -> None:
        self._synced = True

    def run_chunks(self, job, chunks, which, left, timeout, results):
        """Chunks run on the pool; at the deadline or after a worker error the pool restarts
        (a running episode cannot be cancelled otherwise); chunks of a dead worker are lost."""
        pool, _ = self._executor(job.spec)
        self.job_bytes_sent += job_bytes(job) * len(which)  # one per chunk
        try:
            futures = {
                i: pool.submit(evaluate_packed, job, pack_requests(chunks[i])) for i in which
            }
        except BrokenProcessPool:  # a worker died while the pool started: a fresh pool
            self._kill()
            return list(which), []
        done, _ = cf.wait(futures.values(), timeout=left)
        lost, stale, restart = [], [], False
        for i, future in futures.items():
            if future not in done:
                results[i] = failed_chunk(chunks[i], f"timeout: not finished within {timeout} s")
                restart = True
                continue
            try:
                chunk = unpack_results(future.result())
            except BrokenProcessPool:  # a worker died: every unfinished chunk is lost
                lost.append(i)
                restart = True
                continue
            except Exception as exc:  # e.g. a request that could not be unpickled
                results[i] = failed_chunk(chunks[i], f"worker failed: {type(exc).__name__}: {exc}")
                restart = True
                continue
            if is_stale(chunk):  # its worker has no replica of θ: the full job again
                stale.append(i)
                self._synced = False
            else:
                results[i] = chunk
        if restart:
            self._kill()
        return lost, stale

    def _kill(self) -> None:
        """Stop the pool now, stragglers included (ProcessPoolExecutor cannot cancel them)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=True, cancel_futures=True)

    def __exit__(self, *exc: object) -> None:
        if not exc or exc[0] is None:
            self.close()
        else:  # Ctrl-C or an error: stop the workers now, not after their running chunks
            self._kill()

    def close(self) -> None:
        if self._pool is not None:
            try:
                self._pool.shutdown(wait=True, cancel_futures=True)
            except BaseException:  # Ctrl-C while waiting for the workers to exit: stop them
                self._kill()
                raise
            self._pool = None


@hookimpl
def esenas_register_backends(register):
    register(ProcessesBackend)
