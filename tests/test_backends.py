"""Backends with real processes on 127.0.0.1: identical results, external dask, faults."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from conftest import live_children, make_trainer, small_config, untimed

from esenas_core.api.plugins import Registries
from esenas_core.engine.experiment import Experiment
from esenas_core.engine.trainer import Trainer
from esenas_core.runs.config import build_config

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only

BACKENDS = {
    "serial": {"name": "serial"},
    "processes": {"name": "processes", "workers": 2},
    "dask": {"name": "dask", "workers": 2},
}


def run(registries: Registries, backend: dict, iterations: int = 3, **sections) -> Trainer:
    data = small_config(iterations=iterations, backend=backend, **sections)
    trainer = make_trainer(registries, data)
    trainer.train()
    return trainer


VARIANTS = {  # (backend, gym lockstep batch): chunkings and worker counts that must not matter
    "processes-2": (BACKENDS["processes"], 8),
    "dask-2": (BACKENDS["dask"], 8),
    "processes-1x1": ({"name": "processes", "workers": 1, "chunks_per_worker": 1}, 8),
    "processes-2x5": ({"name": "processes", "workers": 2, "chunks_per_worker": 5}, 8),
    "dask-1x3": ({"name": "dask", "workers": 1, "chunks_per_worker": 3}, 8),
    "serial-lockstep-3": (BACKENDS["serial"], 3),
}


@pytest.mark.parametrize(
    ("noise", "variants"),
    [("seeded", list(VARIANTS)), ("table", ["processes-2", "dask-2"])],
)
def test_identical_results_on_every_backend(
    registries: Registries, noise: str, variants: list[str]
) -> None:
    """θ, every metric and the observation statistics: bitwise the serial run's, whatever the
    backend, worker count, chunks per worker or lockstep batch (CartPole: episodes of different
    lengths)."""
    es = {"noise": noise, "noise_table_size": 2**16, "num_perturbations": 9, "exact_evals": 3}
    task = {"name": "gym", "env_id": "CartPole-v1", "max_episode_steps": 200}
    reference = run(registries, BACKENDS["serial"], es=es, task={**task, "lockstep": 8})
    for name in variants:
        backend, lockstep = VARIANTS[name]
        trainer = run(registries, backend, es=es, task={**task, "lockstep": lockstep})
        assert untimed(trainer.history) == untimed(reference.history), name
        np.testing.assert_array_equal(trainer.theta, reference.theta)
        np.testing.assert_array_equal(trainer.obs.mean, reference.obs.mean)
        np.testing.assert_array_equal(trainer.obs.m2, reference.obs.m2)


@pytest.mark.parametrize("backend", ["processes", "dask"])
def test_raising_rollouts_are_dropped_with_their_partner(registries: Registries, backend: str):
    options = {**BACKENDS[backend], "chunks_per_worker": 4}
    task = {"name": "flaky", "fail_mod": 3, "failure": "raise"}
    es = {"num_perturbations": 12, "min_valid_fraction": 0.2}
    trainer = run(registries, options, iterations=2, task=task, es=es)
    serial = run(registries, BACKENDS["serial"], iterations=2, task=task, es=es)
    assert sum(r["failures"] for r in trainer.history) > 0
    assert untimed(trainer.history) == untimed(serial.history)


def test_hanging_rollout_is_dropped_at_the_deadline(registries: Registries) -> None:
    start = time.monotonic()
    trainer = run(
        registries,
        {"name": "processes", "workers": 2, "chunks_per_worker": 8},
        iterations=2,
        task={"name": "flaky", "fail_mod": 5, "failure": "hang"},
        # rollouts take ≈ 0.1 s, a chunk ≈ 0.4 s: the 8 s deadline holds on a loaded machine;
        # worker start-up is not counted against it
        es={"num_perturbations": 8, "min_valid_fraction": 0.2, "iteration_timeout": 8.0},
    )
    assert time.monotonic() - start < 300  # the 600 s hang never blocks the run
    assert len(trainer.history) == 2
    assert sum(r["failures"] for r in trainer.history) > 0
    assert all(r["valid_units"] >= 2 for r in trainer.history)


@pytest.mark.parametrize("backend", ["processes", "dask"])
def test_iteration_timeout_does_not_count_worker_start_up(registries: Registries, backend: str):
    # every worker takes 6 s to build its task; each iteration's rollouts take well under 5 s
    trainer = run(
        registries,
        BACKENDS[backend],
        iterations=2,
        task={"name": "flaky", "fail_mod": 10**9, "startup_s": 6.0},
        es={"num_perturbations": 6, "iteration_timeout": 5.0},
    )
    assert [r["failures"] for r in trainer.history] == [0, 0]


PROBE = """
import sys
from distributed import Client
client = Client(sys.argv[1], timeout=10)
print(client.run(lambda: "code ran on a worker"))
"""


@pytest.mark.parametrize("tls", [True, False])
def test_only_this_process_can_use_the_local_cluster(registries: Registries, tls: bool) -> None:
    data = small_config(backend={"name": "dask", "workers": 1, "local_tls": tls})
    experiment = Experiment.build(build_config(data, registries), registries)
    with experiment.backend as backend:
        address = backend.cluster.scheduler_address
        probe = subprocess.run(
            [sys.executable, "-c", PROBE, address], capture_output=True, text=True, timeout=120
        )
    ran = probe.returncode == 0 and "code ran on a worker" in probe.stdout
    assert address.startswith("tls://" if tls else "tcp://127.0.0.1")
    assert ran is not tls, probe.stderr[-500:]


def _http_status(url: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.mark.parametrize("dashboard", [False, True])
def test_the_local_cluster_serves_no_pages_unless_asked(
    registries: Registries, dashboard: bool
) -> None:
    """Scheduler and worker HTTP pages (dashboard, info pages with logs, metrics) are readable by
    any local user: off unless ``dashboard = true``."""
    data = small_config(backend={"name": "dask", "workers": 1, "dashboard": dashboard})
    experiment = Experiment.build(build_config(data, registries), registries)
    with experiment.backend as backend:
        client = backend._connect()
        ports = [backend.cluster.scheduler.http_server.port]
        ports += list(client.run(lambda dask_worker: dask_worker.http_server.port).values())
        codes = {
            path: [_http_status(f"http://127.0.0.1:{port}{path}") for port in ports]
            for path in ("/info/main/workers.html", "/metrics", "/health")
        }
    if dashboard:
        assert codes["/info/main/workers.html"][0] == 200 and codes["/metrics"] == [200, 200]
    else:
        assert all(code == 404 for got in codes.values() for code in got), codes


# -- an external scheduler and workers, started like on a real cluster ---------------------------


def test_external_scheduler_by_address(registries: Registries, dask_cluster) -> None:
    address, _ = dask_cluster
    trainer = run(registries, {"name": "dask", "address": address})
    serial = run(registries, BACKENDS["serial"])
    assert untimed(trainer.history) == untimed(serial.history)


def test_sigkill_a_worker_mid_run(registries: Registries, dask_cluster) -> None:
    address, procs = dask_cluster
    victim = procs[2]

    def kill_soon(row: dict) -> None:
        if row["iteration"] == 1:
            threading.Timer(0.3, lambda: os.kill(victim.pid, signal.SIGKILL)).start()

    data = small_config(
        iterations=4,
        backend={"name": "dask", "address": address, "chunks_per_worker": 2},
        task={"name": "flaky", "fail_mod": 10**9, "sleep_s": 1.0},
        es={"num_perturbations": 8, "min_valid_fraction": 0.2},
    )
    trainer = make_trainer(registries, data)
    trainer.train(kill_soon)
    assert victim.poll() is not None  # it really died
    assert [r["iteration"] for r in trainer.history] == [1, 2, 3, 4]
    assert sum(r["failures"] for r in trainer.history) > 0
    assert np.all(np.isfinite(trainer.theta))
    # an iteration whose exact evaluations all died reports no score rather than a fake one
    assert all(np.isfinite(r["score_mean"]) or r["failures"] > 0 for r in trainer.history)


def assert_a_killed_worker_changes_nothing(
    registries: Registries, backend: dict, iterations: int, sleep_s: float, victims
) -> None:
    """Run with ``backend``; after iteration 1, SIGKILL the first pid ``victims(trainer)`` names
    (mid-iteration 2). The run must equal the unfaulted serial run bitwise, with no retry."""
    sections = {
        "task": {"name": "flaky", "fail_mod": 10**9, "sleep_s": sleep_s},
        "es": {"num_perturbations": 8, "exact_evals": 2, "sigma": 0.1, "learning_rate": 0.05},
    }
    data = small_config(iterations=iterations, backend=backend, **sections)
    trainer = make_trainer(registries, data)
    killed = []

    def kill_soon(row: dict) -> None:
        if row["iteration"] == 1:
            pids = victims(trainer)

            def kill() -> None:
                if pids:
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])

            threading.Timer(0.2, kill).start()

    trainer.train(kill_soon)
    serial = run(registries, BACKENDS["serial"], iterations=iterations, **sections)
    assert killed, "no worker was killed"
    assert [r["retries"] for r in trainer.history] == [0] * iterations
    assert untimed(trainer.history) == untimed(serial.history)
    np.testing.assert_array_equal(trainer.theta, serial.theta)


def test_a_killed_pool_worker_changes_nothing(registries: Registries) -> None:
    """SIGKILL one `processes` worker mid-iteration: its lost chunks run again with the same
    requests (no retry with fresh seeds)."""

    def pool_workers(_trainer: Trainer) -> list[int]:
        return [c.pid for c in live_children(has="multiprocessing", lacks="resource_tracker")]

    backend = {"name": "processes", "workers": 2}
    assert_a_killed_worker_changes_nothing(registries, backend, 4, 0.4, pool_workers)


def test_losing_the_only_dask_worker_changes_nothing(registries: Registries) -> None:
    """SIGKILL the LocalCluster's only worker mid-iteration: its nanny restarts it and the lost
    chunks run again with the same requests."""

    def dask_worker(trainer: Trainer) -> list[int]:
        return list(trainer.exp.backend.client.run(os.getpid).values())

    backend = {"name": "dask", "workers": 1}
    assert_a_killed_worker_changes_nothing(registries, backend, 3, 0.5, dask_worker)


UNGUARDED = """
from esenas_core import Search
config = {
    "iterations": 1, "task": {"name": "hybrid"},
    "search_space": {"name": "edges", "hidden": [4], "k": 6},
    "backend": {"name": "BACKEND", "workers": 2},
    "es": {"num_perturbations": 4, "exact_evals": 2},
}
with Search(config) as search:
    search.tell(search.ask(), search.evaluate(search.ask()))
print("finished")
"""


@pytest.mark.parametrize("backend", ["processes", "dask"])
def test_a_script_without_a_main_guard_stops_with_one_line_naming_it(tmp_path, backend) -> None:
    """Spawned workers import the main script; one that starts a run at its top level makes
    every worker die while starting. The driver stops with one line naming the script and the
    guard (``processes`` after a few fresh pools), instead of retrying chunks until the run
    fails on its quorum or a traceback from dask's nanny."""
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED.replace("BACKEND", backend))
    res = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert res.returncode == 1 and "finished" not in res.stdout
    last = res.stderr.strip().splitlines()[-1]
    expected = {
        "processes": "the 2 worker processes died while starting, 3 times in a row",
        "dask": "the local cluster's workers failed to start",
    }[backend]
    assert f"[backend] {backend}: {expected}" in last, res.stderr[-2000:]
    assert str(script) in last and 'if __name__ == "__main__":' in last
