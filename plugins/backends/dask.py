"""``dask``: a dask.distributed cluster — a LocalCluster by default, or an existing scheduler.

- ``address = ""``: ``LocalCluster(processes=True, threads_per_worker=1)`` on 127.0.0.1, one
  BLAS thread per worker, speaking TLS with temporary credentials made for this run
  (``local_tls``), so no other process can connect and run code on it, and serving no HTTP page
  (dashboard, info pages, logs: any local user could read them) unless ``dashboard = true``.
- ``address = "tcp://host:8786"`` (or ``tls://…`` with the ``tls_*`` files): an existing scheduler
  (``dask scheduler``; workers: ``dask worker ADDRESS`` with esenas installed; docs/distributed.md).

The job travels with each chunk's task (with θ until the workers hold replicas of it, then slim:
the last updates as scalars, esenas_core.engine.replica); workers keep environments and the
search space cached. At the deadline unfinished chunks are cancelled and come back failed. A
chunk lost with its worker — cancelled, or pending for ``connect_timeout`` s with no worker
running it — runs again with the same requests (identical numbers); one that kills workers
repeatedly fails (``KilledWorker``). With no worker connected, evaluation waits
``connect_timeout`` s for one, then stops the run (``RunError``). Starting or reaching the
cluster lives in ``dask_connect``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from collections.abc import Sequence
from typing import Any

import attrs

from esenas_core import PluginError, RunError, __version__, hookimpl
from esenas_core.backends import (
    Job,
    PoolBackend,
    PoolOptions,
    RolloutRequest,
    RolloutResult,
    WorkerSpec,
    check_worker_plugins,
    evaluate_requests,
    failed_chunk,
    is_stale,
    job_bytes,
    prepare,
)

from .dask_connect import check_options, connect

WORKER_COUNT_TTL = 5.0  # seconds
_GONE = {"closed", "closing", "failed", "closing_gracefully"}  # nanny states that never recover
START_TIMEOUT = 300.0  # seconds new workers may take to warm up (imports, task, search space)


@attrs.frozen
class DaskOptions(PoolOptions):
    """Options of the ``dask`` backend."""

    address: str = ""
    connect_timeout: float = attrs.field(default=30.0, validator=attrs.validators.gt(0.0))
    local_tls: bool = True
    dashboard: bool = False  # the LocalCluster's HTTP dashboard (readable by any local user)
    tls_ca_file: str = ""
    tls_client_cert: str = ""
    tls_client_key: str = ""


class DaskBackend(PoolBackend):
    """dask.distributed: LocalCluster or an existing scheduler."""

    name = "dask"
    Options = DaskOptions
    gave_up = "worker lost {tries} times"

    def __init__(self, options: DaskOptions) -> None:
        super().__init__(options)
        check_options(options)  # before any run directory exists
        self.client: Any = None
        self.cluster: Any = None
        self._count: tuple[list[str], float] | None = None  # (worker addresses, when asked)
        self._warmed: set[tuple[str, str]] = set()  # (worker address, spec key) built there
        self._holding: set[str] = set()  # workers that received a full job (hold θ replicas)
        self.job_bytes_sent = 0  # pickled jobs broadcast to workers (benchmarks, tests)

    def label(self) -> str:
        return self.options.address or f"{self.options.workers or os.cpu_count()} workers"

    def __enter__(self) -> DaskBackend:
        self._connect()
        return self

    def _connect(self) -> Any:
        if self.client is None:
            self.client, self.cluster = connect(self.options)
        return self.client

    def _workers(self) -> list[str]:
        """Addresses of the connected workers, asked at most every ``WORKER_COUNT_TTL`` s."""
        now = time.monotonic()
        if self._count is None or now - self._count[1] > WORKER_COUNT_TTL:
            workers = self._connect().scheduler_info().get("workers", {})
            self._count = (sorted(workers), now)
        return self._count[0]

    def _warm(self, spec: WorkerSpec) -> None:
        """Build ``spec`` on every worker that has not (a pinned task each), before the deadline."""
        from distributed import wait

        start = time.monotonic()
        key = spec.key()
        cold = [w for w in self._workers() if (w, key) not in self._warmed]
        if cold:
            self._check_plugins(spec, cold)
            pending = {
                w: self.client.submit(
                    prepare, spec, workers=[w], allow_other_workers=False, pure=False
                )
                for w in cold
            }
            end = start + START_TIMEOUT
            while pending and time.monotonic() < end:  # a failed warm-up shows in evaluation
                with contextlib.suppress(Exception):
                    wait(list(pending.values()), timeout=1.0)
                pending = {w: f for w, f in pending.items() if f.status == "pending"}
                if pending:  # a task pinned to a worker that is gone would wait forever
                    alive = self.client.scheduler_info().get("workers", {})
                    pending = {w: f for w, f in pending.items() if w in alive}
            self._warmed |= {(w, key) for w in cold}

    def _check_plugins(self, spec: WorkerSpec, workers: list[str]) -> None:
        """Workers must import the run's plugins at the driver's versions, or the run stops."""
        try:
            found = self.client.run(
                check_worker_plugins, spec.requires, workers=workers, on_error="return"
            )
            found = {w: r for w, r in found.items() if not isinstance(r, OSError | TimeoutError)}
            for answer in found.values():
                if isinstance(answer, BaseException):
                    raise answer
        except Exception as exc:  # e.g. a worker without esenas cannot even run the check
            raise PluginError(
                f"[backend] dask: workers cannot check the run's plugins"
                f" ({type(exc).__name__}: {exc}); install esenas {__version__} and the run's"
                " plugins on every worker"
            ) from None
        bad: dict[str, list[str]] = {}
        for worker, problems in found.items():
            for problem in problems:
                bad.setdefault(problem, []).append(worker)
        if bad:
            raise PluginError(
                "[backend] dask: workers do not match this process's plugins: "
                + "; ".join(f"{p} on {', '.join(sorted(w))}" for p, w in bad.items())
                + "; install the same versions on every worker"
            )

    def _heal(self) -> None:
        """Replace LocalCluster nannies that gave up (their worker killed while starting)."""
        cluster = self.cluster
        if cluster is None:
            return
        dead = [n for n, w in list(cluster.workers.items()) if w.status.name in _GONE]
        for name in dead:
            cluster.workers.pop(name, None)
            cluster.worker_spec.pop(name, None)
        if dead:
            self._count = None
            cluster.scale(self.options.workers or os.cpu_count() or 1)

    def prepare(self, spec: WorkerSpec, retry: bool) -> None:
        self._heal()
        if retry:  # chunks were lost with their worker: is any worker left?
            self._count = None
            self._await_workers()
        self._warm(spec)

    def worker_count(self) -> int:
        return len(self._workers())

    def holds_theta(self) -> bool:
        return set(self._workers()) <= self._holding

    def mark_holding(self) -> None:
        self._holding |= set(self._workers())  # every connected worker received the broadcast

    def run_chunks(
        self,
        job: Job,
        chunks: list[list[RolloutRequest]],
        which: list[int],
        left: float | None,
        timeout: float | None,
        results: dict[int, Sequence[RolloutResult]],
    ) -> tuple[list[int], list[int]]:
        """Run ``chunks[i]`` for i in ``which``; fill ``results``; return the lost ones and the
        stale ones (their worker had no usable replica of θ)."""

        client = self._connect()
        # The job goes with each task: a ``scatter(broadcast=True)`` to a worker killed meanwhile
        # can stall for minutes. Full jobs (θ) go out only until the workers hold replicas.
        self.job_bytes_sent += job_bytes(job) * len(which)  # one per chunk
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Ll]arge graph.*")
            futures = {
                i: client.submit(evaluate_requests, job, chunks[i], pure=False) for i in which
            }
        end = None if left is None else time.monotonic() + left
        stalled = self._wait(list(futures.values()), end)
        order = list(futures)
        values = self._gather(
            [k for k, i in enumerate(order) if futures[i].status == "finished"],
            [futures[i] for i in order],
        )
        lost, stale = [], []
        for k, i in enumerate(order):
            future = futures[i]
            if k in values and is_stale(values[k]):
                stale.append(i)
            elif k in values:
                results[i] = values[k]
            elif future.status in ("cancelled", "lost", "finished") or (
                stalled and future.status == "pending"
            ):
                lost.append(i)  # lost with its worker ("finished": its result was lost after)
            elif future.status == "error":
                exc = future.exception()
                results[i] = failed_chunk(chunks[i], f"worker failed: {type(exc).__name__}: {exc}")
            else:
                results[i] = failed_chunk(chunks[i], f"timeout: not finished within {timeout} s")
        stragglers = [
            f for f in futures.values() if f.status not in ("finished", "error", "cancelled")
        ]
        if stragglers:
            self._stop(stragglers)
        return lost, stale

    def _wait(self, futures: list[Any], end: float | None) -> bool:
        """Wait until ``end`` (None: none); True when stalled: none finished for ``connect_timeout``
        s and no worker runs any (a worker killed at the wrong moment can leave a task pending)."""
        from distributed import wait

        progress, last = time.monotonic(), -1
        while waiting := [f for f in futures if f.status == "pending"]:
            now = time.monotonic()
            if end is not None and now >= end:
                return False
            if len(waiting) != last:
                progress, last = now, len(waiting)
            elif now - progress > self.options.connect_timeout:
                running = {k for keys in self.client.processing().values() for k in keys}
                if not running & {f.key for f in waiting}:
                    return True
                progress = now
            try:
                wait(waiting, timeout=1.0 if end is None else max(0.0, min(1.0, end - now)),
                     return_when="FIRST_COMPLETED")  # fmt: skip
            except TimeoutError:
                continue
            except Exception:  # some were cancelled (their worker and its data lost): go on
                time.sleep(0.05)
        return False

    def _await_workers(self) -> None:
        """With no worker connected (all lost), wait up to ``connect_timeout`` s for one, then
        stop the run with one line (the last checkpoint is intact)."""
        end = time.monotonic() + self.options.connect_timeout
        while not self.client.scheduler_info().get("workers"):
            self._heal()
            if time.monotonic() > end:
                raise RunError(
                    f"[backend] dask: no worker connected for {self.options.connect_timeout:g}"
                    " s; resume with `esenas run --resume RUN_DIR` once workers are back"
                )
            time.sleep(0.25)
        self._count = None
        self._warmed.clear()
        self._holding.clear()

    def _gather(self, done: list[int], futures: list[Any]) -> dict[int, Any]:
        """Results of the finished ``futures[i]``, i in ``done``: one round trip for all."""
        try:
            return dict(zip(done, self.client.gather([futures[i] for i in done]), strict=True))
        except Exception:  # e.g. a worker died since: whichever can still be fetched
            values = {}
            for i in done:
                with contextlib.suppress(Exception):
                    values[i] = futures[i].result(timeout=self.options.connect_timeout)
            return values

    def _stop(self, stragglers: list[Any]) -> None:
        """Cancel stragglers and restart the workers running them (nothing else stops them)."""
        keys = {f.key for f in stragglers}
        busy = [w for w, running in self.client.processing().items() if keys & set(running)]
        self.client.cancel(stragglers)
        if busy:
            self._count = None  # restarted workers come back cold, maybe at new addresses
            self._holding.clear()
            try:
                self.client.restart_workers(busy, timeout=self.options.connect_timeout)
            except Exception as exc:  # e.g. workers without a nanny cannot be restarted
                logging.getLogger(__name__).warning("could not restart dask workers: %s", exc)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
            self._count = None
            self._holding.clear()
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None


@hookimpl
def esenas_register_backends(register):
    register(DaskBackend)
