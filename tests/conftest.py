"""Shared fixtures. Tests use real components: real gymnasium envs, real subprocesses."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from esenas_core.api.plugins import Registries, get_plugin_manager, get_registries
from esenas_core.engine.experiment import Experiment
from esenas_core.engine.metrics import without_timings
from esenas_core.engine.runconfig import RunConfig
from esenas_core.engine.trainer import Trainer
from esenas_core.runs.config import build_config
from esenas_core.runs.recorder import FolderRecorder
from esenas_core.runs.rundir import RunDirectory

TESTS_DIR = Path(__file__).parent
REPO = TESTS_DIR.parent


@pytest.fixture
def registries(monkeypatch: pytest.MonkeyPatch) -> Registries:
    """Registries with the test-only plugins (tests/esenas_test_plugins.py) loaded.

    Also sets ESENAS_PLUGINS so worker-side code (``get_registries()``) sees them too.
    """
    monkeypatch.setenv("ESENAS_PLUGINS", "esenas_test_plugins")
    monkeypatch.syspath_prepend(str(TESTS_DIR))
    get_registries.cache_clear()
    yield Registries(get_plugin_manager())
    get_registries.cache_clear()


def make_trainer(
    registries: Registries,
    config: Mapping[str, Any] | RunConfig,
    run_dir: RunDirectory | None = None,
) -> Trainer:
    """The trainer of ``config`` (a config table or a resolved ``RunConfig``), recording into
    ``run_dir`` if given (in memory otherwise)."""
    cfg = config if isinstance(config, RunConfig) else build_config(dict(config), registries)
    experiment = Experiment.build(cfg, registries)
    if run_dir is None:
        return Trainer(experiment)
    return Trainer(experiment, FolderRecorder(run_dir, cfg, experiment.space))


def live_children(
    parent: int | None = None, has: str = "", lacks: str = ""
) -> list[Any]:
    """The child processes of ``parent`` (default: this process) whose command line holds
    ``has`` and not ``lacks``; a child that exits while it is read (a worker killed a moment ago
    and being reaped) is left out rather than raising."""
    import psutil

    found = []
    for child in psutil.Process(parent).children():
        try:
            line = " ".join(child.cmdline())
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if has in line and not (lacks and lacks in line):
            found.append(child)
    return found


def untimed(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Metrics rows without their timing columns: what identical runs agree on bit for bit."""
    return [without_timings(row) for row in rows]


def small_config(**sections: Any) -> dict[str, Any]:
    """A tiny, fast CartPole config; keyword arguments replace or extend tables."""
    data: dict[str, Any] = {
        "name": "test",
        "seed": 3,
        "iterations": 3,
        "task": {"name": "gym", "gym": {"env_id": "CartPole-v1", "max_episode_steps": 60}},
        "search_space": {"name": "edges", "edges": {"hidden": [8], "k": 20}},
        "controller": {
            "name": "regularized_evolution",
            "regularized_evolution": {"population_size": 8, "tournament_size": 3},
        },
        "backend": {"name": "serial"},
        "es": {"num_perturbations": 6, "exact_evals": 2, "sigma": 0.1, "learning_rate": 0.05},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            merged = {**data[key], **value}
            own = merged.get(merged.get("name"))  # [kind.<plugin>]: a flat key given here wins
            if isinstance(own, dict) and merged.get("name") not in value:
                merged[merged["name"]] = {k: v for k, v in own.items() if k not in value}
            data[key] = merged
        else:
            data[key] = value
    return data


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for `esenas` subprocesses: the test plugins importable, no tty tricks."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


ESENAS = [sys.executable, "-m", "esenas_core.cli.main"]


def esenas(*args: str, timeout: float = 600, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """Run the real `esenas` CLI in a subprocess (test plugins loadable via ESENAS_PLUGINS)."""
    return subprocess.run(
        [*ESENAS, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=cli_env(ESENAS_PLUGINS="esenas_test_plugins"),
        timeout=timeout,
    )


def spawn_esenas(*args: str, capture: bool = False) -> subprocess.Popen:
    """Start the real `esenas` CLI in the background (test plugins loadable); with ``capture``
    its stdout and stderr are text pipes (``communicate()``), otherwise discarded."""
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        [*ESENAS, *args],
        cwd=REPO,
        env=cli_env(ESENAS_PLUGINS="esenas_test_plugins"),
        stdout=out,
        stderr=out,
        text=True,
    )


@contextlib.contextmanager
def start_dask_cluster(
    folder: Path, env: dict[str, str], workers: int, cwd: Path = TESTS_DIR
) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """`dask scheduler` + ``workers`` `dask worker` processes (no nanny) on 127.0.0.1, started
    with ``env`` in ``cwd``; yields (scheduler address, processes) and kills them all after."""
    bin_dir = Path(sys.executable).parent
    sched_file = folder / "scheduler.json"
    quiet = {"env": env, "cwd": cwd, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = [str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                 "--no-dashboard", "--scheduler-file", str(sched_file)]  # fmt: skip
    procs = [subprocess.Popen(scheduler, **quiet)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        worker = [str(bin_dir / "dask"), "worker", address, "--nthreads", "1", "--no-nanny",
                  "--no-dashboard", "--host", "127.0.0.1"]  # fmt: skip
        procs += [subprocess.Popen(worker, **quiet) for _ in range(workers)]
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=60)
        yield address, procs
    finally:
        for p in procs:
            p.kill()
            p.wait()


@pytest.fixture
def dask_cluster(tmp_path: Path):
    """`dask scheduler` + two `dask worker` processes (no nanny) on 127.0.0.1."""
    env = cli_env(
        ESENAS_PLUGINS="esenas_test_plugins",
        DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0",  # a killed worker's task fails at once
    )
    with start_dask_cluster(tmp_path, env, workers=2) as cluster:
        yield cluster
