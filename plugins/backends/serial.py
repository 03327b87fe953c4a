"""``serial``: evaluate every request in this process (the reference backend).

It calls the same worker function as every other backend, so results are identical. A running
episode cannot be interrupted in-process: the timeout is checked between batches of the task's
``batch_size``, and requests not started by then come back failed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from esenas_core import hookimpl
from esenas_core.backends import (
    Backend,
    Job,
    RolloutRequest,
    RolloutResult,
    evaluate_requests,
    failed_chunk,
    worker_task,
)


class SerialBackend(Backend):
    """In-process evaluation, one lockstep batch at a time."""

    name = "serial"

    def evaluate(
        self, job: Job, requests: Sequence[RolloutRequest], timeout: float | None = None
    ) -> list[RolloutResult]:
        if timeout is None:
            return evaluate_requests(job, requests)
        deadline = time.monotonic() + timeout
        results: list[RolloutResult] = []
        batch = worker_task(job.spec).batch_size
        for start in range(0, len(requests), batch):
            chunk = requests[start : start + batch]
            if time.monotonic() > deadline:
                results += failed_chunk(chunk, f"timeout: not started within {timeout} s")
            else:
                results += evaluate_requests(job, chunk)
        return results


@hookimpl
def esenas_register_backends(register):
    register(SerialBackend)
