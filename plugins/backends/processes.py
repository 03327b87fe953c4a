"""``processes``: a local pool of worker processes (spawned, one BLAS thread each).

Requests are split into contiguous chunks (``chunks_per_worker`` per worker); each chunk travels
with the job, so θ is sent once per chunk. Worker processes keep their environments and search
space cached between iterations. At the deadline, unfinished chunks come back failed and the pool
is restarted (a running episode cannot be cancelled otherwise); a worker that dies fails its chunk.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Sequence

import attrs
from esenas_plugins.backends._single_thread import init_worker

from esenas_core import Backend, hookimpl
from esenas_core.rollouts import (
    Job,
    RolloutRequest,
    RolloutResult,
    evaluate_requests,
    failed_chunk,
    split_chunks,
)


@attrs.frozen
class ProcessesOptions:
    """Options of the ``processes`` backend."""

    workers: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    chunks_per_worker: int = attrs.field(default=1, validator=attrs.validators.ge(1))


class ProcessesBackend(Backend):
    """Local process pool (``workers = 0``: one per core)."""

    name = "processes"
    Options = ProcessesOptions

    def __init__(self, options: ProcessesOptions) -> None:
        super().__init__(options)
        self.workers = options.workers or os.cpu_count() or 1
        self._pool: cf.ProcessPoolExecutor | None = None

    def _executor(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=init_worker,
            )
        return self._pool

    def evaluate(
        self, job: Job, requests: Sequence[RolloutRequest], timeout: float | None = None
    ) -> list[RolloutResult]:
        chunks = split_chunks(requests, self.workers * self.options.chunks_per_worker)
        pool = self._executor()
        futures = [pool.submit(evaluate_requests, job, chunk) for chunk in chunks]
        done, _ = cf.wait(futures, timeout=timeout)
        results: list[RolloutResult] = []
        restart = False
        for future, chunk in zip(futures, chunks, strict=True):
            if future not in done:
                results += failed_chunk(chunk, f"timeout: not finished within {timeout} s")
                restart = True
                continue
            try:
                results += future.result()
            except Exception as exc:  # a worker died (BrokenProcessPool) or could not unpickle
                results += failed_chunk(chunk, f"worker failed: {type(exc).__name__}: {exc}")
                restart = True
        if restart:
            self._kill()
        return results

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
