"""dask scaling and bytes per request (issue: distributed execution).

    python bench/dask_scaling.py [--iterations 3] [--out bench/results/dask_scaling.json]

1. Speed-up: the same ES-ENAS iterations (after one untimed warm-up iteration) on HalfCheetah-v5
   (edges, hidden [32, 32], k = 64, 8 antithetic pairs + 2 exact evaluations of 1000 steps) with
   the ``serial`` backend, ``dask`` on a 2-worker LocalCluster and the 2-process ``processes``
   pool, alternating, in one run. Same seeds, so all compute the same numbers (asserted).
2. Bytes: the pickled size of the requests of one iteration, per request, and of the job (θ & co.,
   sent once per worker), for two supernet sizes with the same number of kept edges.
"""

from __future__ import annotations

import argparse
import pickle
import time

import numpy as np
from _results import write_result

from esenas_core.config import build_config
from esenas_core.experiment import Experiment
from esenas_core.iteration import build_requests, genomes_needed
from esenas_core.plugins import get_registries
from esenas_core.rollouts import Job
from esenas_core.trainer import Trainer


def config(backend: dict, iterations: int, hidden: list[int] | None = None) -> dict:
    return {
        "name": "bench",
        "seed": 0,
        "iterations": iterations,
        "task": {"name": "gym", "env_id": "HalfCheetah-v5"},
        "search_space": {"name": "edges", "hidden": hidden or [32, 32], "k": 64},
        "controller": {"name": "random"},
        "backend": backend,
        "es": {"num_perturbations": 8, "exact_evals": 2},
    }


def timed_run(backend: dict, iterations: int) -> tuple[float, Trainer]:
    reg = get_registries()
    trainer = Trainer(Experiment.build(build_config(config(backend, iterations), reg), reg))
    with trainer.exp.backend:  # the cluster starts here, not timed
        trainer.step()  # warm-up, not timed: worker imports, environment creation
        start = time.perf_counter()
        for _ in range(iterations):
            trainer.step()
        return time.perf_counter() - start, trainer


def request_bytes(hidden: list[int]) -> dict:
    reg = get_registries()
    exp = Experiment.build(build_config(config({"name": "serial"}, 1, hidden), reg), reg)
    es = exp.config.es
    genomes = exp.controller.propose(genomes_needed(es))
    requests, _ = build_requests(es, genomes, 0, 0, 0)
    theta = exp.initial_params()
    job = Job(
        exp.worker_spec, theta, es.sigma, np.zeros(exp.spec.obs_dim), np.ones(exp.spec.obs_dim)
    )
    return {
        "hidden": hidden,
        "num_params": int(theta.size),
        "bytes_per_request": len(pickle.dumps(requests)) / len(requests),
        "job_bytes_once_per_worker": len(pickle.dumps(job)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default="bench/results/dask_scaling.json")
    args = parser.parse_args()
    serial, dask, procs = [], [], []
    for _ in range(args.rounds):
        t_serial, a = timed_run({"name": "serial"}, args.iterations)
        t_dask, b = timed_run({"name": "dask", "workers": 2}, args.iterations)
        t_procs, c = timed_run({"name": "processes", "workers": 2}, args.iterations)
        np.testing.assert_array_equal(a.theta, b.theta)
        np.testing.assert_array_equal(a.theta, c.theta)
        serial.append(t_serial)
        dask.append(t_dask)
        procs.append(t_procs)
        print(
            f"serial {t_serial:.1f} s, dask (2 workers) {t_dask:.1f} s,"
            f" processes (2) {t_procs:.1f} s",
            flush=True,
        )
    result = {
        "serial_s": serial,
        "dask_2_workers_s": dask,
        "processes_2_workers_s": procs,
        "speedup_dask": float(np.median(serial) / np.median(dask)),
        "speedup_processes": float(np.median(serial) / np.median(procs)),
        "bytes": [request_bytes([32, 32]), request_bytes([256, 256])],
    }
    write_result(result, args.out)


if __name__ == "__main__":
    main()
