"""Workers' replicas of θ: after the first job only scalars travel (esenas_core.engine.replica)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from conftest import make_trainer, small_config

from esenas_core.api.plugins import Registries
from esenas_core.backends import evaluate_requests, slim
from esenas_core.engine.replica import _REPLICAS, KEEP_UPDATES, STALE, resolve_theta
from esenas_core.engine.trainer import Trainer


@pytest.fixture(autouse=True)
def _no_replicas_left() -> Iterator[None]:
    """Every test starts and ends with this process holding no replica, even when it fails."""
    _REPLICAS.clear()
    yield
    _REPLICAS.clear()


def trainer(registries: Registries, optimizer: str = "adam", **sections) -> Trainer:
    es = {"optimizer": optimizer, "weight_decay": 0.01, "noise": "table", "noise_table_size": 2**16}
    data = small_config(iterations=12, es=es, **sections)
    data["task"] = {"name": "hybrid", "obs_dim": 4, "act_dim": 2}
    return make_trainer(registries, data)


def jobs_of(t: Trainer, iterations: int) -> list:
    """The job of each iteration (as the trainer hands it to its backend)."""
    seen = []
    evaluate = t.exp.backend.evaluate
    t.exp.backend.evaluate = lambda job, requests, timeout=None: (
        seen.append(job) or evaluate(job, requests, timeout)
    )
    for _ in range(iterations):
        t.step()
    return seen


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_replica_follows_the_driver_bitwise_from_scalars_alone(registries, optimizer) -> None:
    t = trainer(registries, optimizer)
    jobs = jobs_of(t, 8)
    first = jobs[0]
    assert resolve_theta(first)[0] is first.theta  # seeds the replica
    for job in jobs[1:]:
        light = slim(job)
        assert light.theta is None and light.sync.estimator_state is None
        theta, state = resolve_theta(light)
        assert theta is not None
        np.testing.assert_array_equal(theta, job.theta)  # the driver's θ, bit for bit
        assert state.keys() == job.sync.estimator_state.keys()
        for key, value in state.items():  # and the estimator's state (Adam's moments)
            np.testing.assert_array_equal(value, job.sync.estimator_state[key])


def test_a_replica_too_far_behind_or_with_other_bits_is_stale(registries) -> None:
    t = trainer(registries)
    jobs = jobs_of(t, KEEP_UPDATES + 3)
    full = jobs[0]
    resolve_theta(full)
    late = slim(jobs[KEEP_UPDATES + 2])  # its updates start after the replica's version
    assert resolve_theta(late) == (None, None)
    # re-seeded by a full job, then its bits are changed: the digest check catches it
    resolve_theta(jobs[1])
    _REPLICAS[jobs[1].sync.key].theta[0] += 1e-12
    nxt = slim(jobs[2])
    assert resolve_theta(nxt) == (None, None)


def test_a_stale_chunk_answers_stale_and_never_runs(registries) -> None:
    t = trainer(registries)
    job = jobs_of(t, 2)[1]
    _REPLICAS.clear()
    from esenas_core.engine.iteration import build_requests, genomes_needed

    es = t.cfg.es
    requests, _ = build_requests(es, t.exp.controller.propose(genomes_needed(es)), 0, 0, 0)
    results = evaluate_requests(slim(job), requests[:4])
    assert [r.error for r in results] == [STALE] * 4


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["processes", "dask"])
def test_bytes_per_iteration_do_not_grow_with_theta(registries, backend: str) -> None:
    sent = {}
    for hidden in ([4], [128, 128]):
        t = trainer(
            registries,
            backend={"name": backend, "workers": 2},
            search_space={"name": "edges", "hidden": hidden, "k": 8},
        )
        per_iteration, before = [], 0
        with t.exp.backend as b:
            for _ in range(4):
                t.step()
                per_iteration.append(b.job_bytes_sent - before)
                before = b.job_bytes_sent
        sent[t.exp.space.num_params] = per_iteration
    (small, few), (large, many) = sorted(sent.items())
    assert large > 50 * small
    assert many[0] > 8 * large  # the first iteration sends θ (8 bytes per float) ...
    assert max(many[1:]) < 1.2 * max(few[1:])  # ... later ones only scalars, whatever d
