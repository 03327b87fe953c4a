"""``esenas ablate --scheduler ADDRESS``: each run of a study is one task on an existing dask
cluster (``dask scheduler`` + ``dask worker``, docs/distributed.md).

The task is ``esenas_core.studies.worker.run_on_dask_worker``: it trains the run in its folder,
which must be on storage that the workers and this process share. When a worker dies its nanny
restarts it and dask runs the task again, which continues from the run's last checkpoint; a task
that dask gives up on (``KilledWorker``) is resubmitted up to ``MAX_RESTARTS`` times.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from esenas_core.api.errors import EsenasError
from esenas_core.studies.identity import RunDecision


def check_address(address: str) -> None:
    """A one-line error for an address dask cannot mean (before anything starts)."""
    host = address.split("://", 1)[-1]
    if (
        "://" in address and not address.startswith(("tcp://", "tls://", "ucx://"))
    ) or not host.strip():
        raise EsenasError(f"--scheduler {address!r}: expected tcp://HOST:PORT or tls://HOST:PORT")


def connect(address: str, timeout: float = 30.0) -> Any:
    """A dask ``Client`` of the scheduler at ``address`` (TLS settings from dask's config)."""
    from distributed import Client

    check_address(address)
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise EsenasError(f"--scheduler {address}: cannot connect ({exc})") from None


def on_dask(todo: Sequence[RunDecision], client: Any, progress: Any, tally: Any) -> None:
    from esenas_core.studies.progress import MAX_RESTARTS, POLL_S, fail_run, record_run
    from esenas_core.studies.worker import run_on_dask_worker

    restarts = {s.run.run_dir: 0 for s in todo}

    def submit(s: RunDecision) -> Any:
        return client.submit(
            run_on_dask_worker,
            s.run.config.to_toml(),
            str(s.run.run_dir),
            pure=False,
            key=f"esenas-run-{s.run.run_dir.name}-{uuid.uuid4().hex[:8]}",
        )

    futures = {s.run.run_dir: (s, submit(s)) for s in todo}
    try:
        while futures:
            time.sleep(POLL_S)
            progress.poll([s for s, _ in futures.values()])
            for key, (s, fut) in list(futures.items()):
                if fut.status == "pending":
                    continue
                del futures[key]
                if fut.status == "finished":
                    summary = fut.result()
                    if not (s.run.run_dir / "final" / "weights.npz").exists():
                        fail_run(
                            progress,
                            tally,
                            s,
                            f"finished on a worker, but {s.run.run_dir} is not visible here:"
                            " run folders must be on storage the workers share",
                        )
                    else:
                        record_run(progress, tally, s, summary)
                    continue
                exc = fut.exception() if fut.status == "error" else None
                if isinstance(exc, EsenasError):
                    fail_run(progress, tally, s, str(exc))
                elif _lost_worker(exc) and restarts[key] < MAX_RESTARTS:
                    restarts[key] += 1
                    progress.line(
                        s,
                        f"lost its dask worker ({type(exc).__name__}); resubmitted, continues"
                        f" from its last checkpoint (restart {restarts[key]} of {MAX_RESTARTS})",
                        counts=False,
                    )
                    futures[key] = (s, submit(s))
                else:
                    fail_run(progress, tally, s, f"{type(exc).__name__}: {exc}")
    finally:
        for _, fut in futures.values():
            fut.cancel()


def _lost_worker(exc: BaseException | None) -> bool:
    from distributed.scheduler import KilledWorker

    return exc is None or isinstance(exc, KilledWorker)
