"""``serial``: evaluate every request in this process (the reference backend).

It calls the same worker function as every other backend, so results are identical.
"""

from __future__ import annotations

from collections.abc import Sequence

from esenas_core import Backend, hookimpl
from esenas_core.rollouts import Job, RolloutRequest, RolloutResult, evaluate_requests


class SerialBackend(Backend):
    """In-process evaluation, one lockstep batch at a time."""

    name = "serial"

    def evaluate(self, job: Job, requests: Sequence[RolloutRequest]) -> list[RolloutResult]:
        return evaluate_requests(job, requests)


@hookimpl
def esenas_register_backends(register):
    register(SerialBackend)
