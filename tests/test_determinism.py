"""The same config and seed give the same bits whatever the CPU dispatches to (issue 25 §2).

Each setting runs the same short runs in a fresh subprocess (tests/bits_probe.py) and must print
the same digests of θ, metrics and controller state as the host setting:
- numba compiled for a generic x86-64 CPU instead of this one (other SIMD width);
- numpy with every dispatched SIMD group beyond its baseline disabled (AVX2 / AVX-512 ufuncs);
- OpenBLAS forced to an old core's kernels (another summation order in ``@`` and ``dot``).
A dask run whose two workers compile for different CPUs must equal the serial run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import TESTS_DIR, cli_env, start_dask_cluster
from golden import config as golden_config

pytestmark = pytest.mark.slow

MUJOCO = {"name": "gym", "env_id": "HalfCheetah-v5", "max_episode_steps": 120}
ES = {"num_perturbations": 6, "exact_evals": 2, "sigma": 0.1, "learning_rate": 0.05}


def _run(task: dict, space: dict, controller: str = "random", **es: object) -> dict:
    return {
        "seed": 5,
        "iterations": 2,
        "task": task,
        "search_space": space,
        "controller": {"name": controller},
        "backend": {"name": "serial"},
        "es": {**ES, **es},
    }


CONFIGS = [
    golden_config(),
    _run(MUJOCO, {"name": "dense", "hidden": [32, 32]}),
    _run(MUJOCO, {"name": "edges", "hidden": [32, 32], "k": 64, "mode": "residual"},
         "regularized_evolution", optimizer="adam"),
    # classic control on `classic`: gymnasium's own envs call numpy's np.sin/np.cos, which have
    # AVX-512 versions (docs/algorithm.md#determinism); `classic` calls the C library's
    _run({"name": "classic", "env_id": "Pendulum-v1", "max_episode_steps": 60},
         {"name": "ops", "hidden": [8], "k": 24}, "policy_gradient"),
    _run({"name": "classic", "env_id": "Pendulum-v1", "max_episode_steps": 60},
         {"name": "mask", "hidden": [8]}, "policy_gradient", noise="table",
         noise_table_size=100_000),
    _run({"name": "classic", "env_id": "CartPole-v1", "max_episode_steps": 60},
         {"name": "partitions", "hidden": [8]}, "policy_gradient", fitness_shaping="centered_rank"),
    # 82 episodes per batch: the forward pass with the batch as the inner loop (vectorized)
    _run({"name": "classic", "env_id": "MountainCarContinuous-v0", "max_episode_steps": 50},
         {"name": "edges", "hidden": [16], "k": 40}, "regularized_evolution",
         num_perturbations=40),
]  # fmt: skip


def _numpy_dispatch_groups() -> str:
    from numpy._core import _multiarray_umath as umath

    found = umath.__cpu_features__
    groups = [g for g in umath.__cpu_dispatch__ if found.get(g) and g not in umath.__cpu_baseline__]
    return ",".join(groups)


def _digests(configs: list[dict], tmp: Path, **env: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, str(TESTS_DIR / "bits_probe.py"), json.dumps(configs)],
        capture_output=True, text=True, timeout=900, cwd=TESTS_DIR,
        env=cli_env(NUMBA_CACHE_DIR=str(tmp / "numba-cache"), **env),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def host_digests(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return _digests(CONFIGS, tmp_path_factory.mktemp("host"))


SETTINGS = {
    "numba-generic": {"NUMBA_CPU_NAME": "generic"},
    "numpy-baseline": {"NPY_DISABLE_CPU_FEATURES": _numpy_dispatch_groups()},
    "openblas-prescott": {"OPENBLAS_CORETYPE": "Prescott"},
}


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_same_bits_under_other_dispatch(
    setting: str, host_digests: list[str], tmp_path: Path
) -> None:
    env = {k: v for k, v in SETTINGS[setting].items() if v}
    assert _digests(CONFIGS, tmp_path, **env) == host_digests


def test_dask_workers_compiled_for_different_cpus_equal_serial(
    host_digests: list[str], tmp_path: Path
) -> None:
    """One dask worker compiles its kernels for this CPU, the other for a generic x86-64."""
    config = CONFIGS[1]
    env = cli_env(NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    generic = {**env, "NUMBA_CPU_NAME": "generic", "NUMBA_CACHE_DIR": str(tmp_path / "generic")}
    with start_dask_cluster(tmp_path, env, workers=1) as (address, procs):
        bin_dir = Path(sys.executable).parent
        procs.append(subprocess.Popen(
            [str(bin_dir / "dask"), "worker", address, "--nthreads", "1", "--no-nanny",
             "--no-dashboard", "--host", "127.0.0.1"],
            env=generic, cwd=TESTS_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))  # fmt: skip
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            infos = client.run(lambda: __import__("os").environ.get("NUMBA_CPU_NAME", "host"))
        assert sorted(infos.values()) == ["generic", "host"]
        dask = {**config, "backend": {"name": "dask", "address": address, "chunks_per_worker": 4}}
        assert _digests([dask], tmp_path) == [host_digests[1]]


def test_fixed_math_equals_the_c_library() -> None:
    """fixedmath's elementwise functions are the C library's, element by element."""
    import math

    from esenas_core import fixedmath

    x = np.random.default_rng(0).normal(0, 30, size=2000)
    for name in ("exp", "sin", "cos"):
        got = getattr(fixedmath, name)(np.clip(x, -700, 700))
        want = [getattr(math, name)(v) for v in np.clip(x, -700, 700)]
        assert got.tolist() == want, name
    pos = np.abs(x)
    assert fixedmath.log(pos).tolist() == [math.log(v) for v in pos]
    assert fixedmath.log1p(pos).tolist() == [math.log1p(v) for v in pos]
    assert fixedmath.norm(x) == math.sqrt(math.fsum(v * v for v in x))
