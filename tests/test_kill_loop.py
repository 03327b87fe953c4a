"""≥ 30 worker kills per pool backend in one run each: no hang, and the run equals the unfaulted
serial run bitwise (issue 25 §3). A worker is SIGKILLed at a seeded random moment of every
iteration: while the job is sent, while chunks run, while results come back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import (
    TESTS_DIR,
    cli_env,
    live_children,
    make_trainer,
    small_config,
    start_dask_cluster,
    untimed,
)

from esenas_core.api.plugins import Registries
from esenas_core.engine.trainer import Trainer

pytestmark = pytest.mark.slow

KILLS = 30
SECTIONS = {
    "task": {"name": "flaky", "fail_mod": 10**9, "sleep_s": 0.15},
    "es": {"num_perturbations": 8, "exact_evals": 2, "sigma": 0.1, "learning_rate": 0.05,
           "max_retries": 0},
}  # fmt: skip
HANG_S = 900  # the whole run; a hang fails here instead of blocking the suite


class Hang(Exception):
    pass


def _pool_workers(trainer: Trainer) -> list[int]:
    return [c.pid for c in live_children(has="multiprocessing-fork")]


def _trainer(registries: Registries, backend: dict[str, Any], iterations: int) -> Trainer:
    data = small_config(iterations=iterations, backend=backend, **SECTIONS)
    return make_trainer(registries, data)


def _rows(trainer: Trainer) -> list[dict]:
    return untimed(trainer.history)


def _run_with_kills(registries: Registries, backend: dict, victims, replace=None) -> None:
    rng = np.random.default_rng(0)
    iterations = KILLS + 15
    trainer = _trainer(registries, backend, iterations)
    killed: list[int] = []

    def kill_during_next(row: dict) -> None:
        pids = victims(trainer)
        if not pids:
            return
        pid = pids[int(rng.integers(len(pids)))]

        def kill() -> None:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                return
            if replace is not None:
                replace(pid)

        threading.Timer(float(rng.uniform(0.0, 0.4)), kill).start()

    def hang(signum: int, frame: Any) -> None:
        raise Hang(f"no end after {HANG_S} s ({len(trainer.history)} iterations)")

    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(HANG_S)
    try:
        trainer.train(kill_during_next)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert len(killed) >= KILLS, killed
    serial = _trainer(registries, {"name": "serial"}, iterations)
    serial.train()
    assert _rows(trainer) == _rows(serial)
    np.testing.assert_array_equal(trainer.theta, serial.theta)


def test_thirty_pool_worker_kills(registries: Registries) -> None:
    _run_with_kills(registries, {"name": "processes", "workers": 2}, _pool_workers)


def test_thirty_dask_worker_kills(registries: Registries, tmp_path: Path) -> None:
    """An external scheduler with two workers, as on a real cluster: a killed worker is
    replaced by a new ``dask worker`` process, as a cluster manager would."""
    env = cli_env(ESENAS_PLUGINS="esenas_test_plugins")
    with start_dask_cluster(tmp_path, env, workers=2) as (address, procs):
        command = [str(Path(sys.executable).parent / "dask"), "worker", address, "--nthreads",
                   "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"]  # fmt: skip

        def workers(_trainer: Trainer) -> list[int]:
            return [p.pid for p in procs[1:] if p.poll() is None]

        def replace(_pid: int) -> None:
            procs.append(subprocess.Popen(command, env=env, cwd=TESTS_DIR,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        backend = {"name": "dask", "address": address, "connect_timeout": 60.0}
        _run_with_kills(registries, backend, workers, replace)
