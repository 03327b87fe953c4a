"""dask scaling and bytes per request (issue: distributed execution).

    python bench/dask_scaling.py [--iterations 8] [--latency-iterations 30]
                                 [--out bench/results/dask_scaling.json]

1. Speed-up: the same ES-ENAS iterations (after one untimed warm-up iteration) on HalfCheetah-v5
   (edges, hidden [32, 32], k = 64, 8 antithetic pairs + 2 exact evaluations of 1000 steps) with
   the ``serial`` backend, ``dask`` on a 2-worker LocalCluster and the 2-process ``processes``
   pool: three trainers side by side, one iteration of each in turn. Same seeds, so all compute
   the same θ after every iteration (asserted). The speed-up is the ratio of the summed times.
2. Latency: the median time of an iteration whose episodes last one step, per backend (its
   fixed cost per iteration: scatter, task round trips, fetching results).
3. Bytes: the pickled size of the requests of one iteration, per request, and of the job (θ & co.,
   sent once per worker), for two supernet sizes with the same number of kept edges.
"""

from __future__ import annotations

import argparse
import contextlib
import pickle
import time

import numpy as np
from _results import write_result

from esenas_core.api.plugins import get_registries
from esenas_core.backends import Job
from esenas_core.engine.experiment import Experiment
from esenas_core.engine.iteration import build_requests, genomes_needed
from esenas_core.engine.trainer import Trainer
from esenas_core.runs.config import build_config


def config(
    backend: dict, iterations: int, hidden: list[int] | None = None, perturbations: int = 8
) -> dict:
    return {
        "name": "bench",
        "seed": 0,
        "iterations": iterations,
        "task": {"name": "gym", "env_id": "HalfCheetah-v5"},
        "search_space": {"name": "edges", "hidden": hidden or [32, 32], "k": 64},
        "controller": {"name": "random"},
        "backend": backend,
        "es": {"num_perturbations": perturbations, "exact_evals": 2},
    }


def interleaved(
    backends: dict[str, dict], iterations: int, perturbations: int = 8
) -> dict[str, list[float]]:
    """The same iterations on every backend, one iteration of each in turn (the order rotating),
    so that this machine's slow and fast phases hit them alike. Returns seconds per iteration."""
    reg = get_registries()
    trainers = {
        name: Trainer(
            Experiment.build(build_config(config(b, iterations, None, perturbations), reg), reg)
        )
        for name, b in backends.items()
    }
    with contextlib.ExitStack() as stack:
        for trainer in trainers.values():
            stack.enter_context(trainer.exp.backend)  # clusters and pools start here, not timed
            trainer.step()  # warm-up, not timed: worker imports, environment creation
        times: dict[str, list[float]] = {name: [] for name in trainers}
        names = list(trainers)
        for i in range(iterations):
            for name in names[i % len(names) :] + names[: i % len(names)]:
                start = time.perf_counter()
                trainers[name].step()
                times[name].append(time.perf_counter() - start)
            thetas = [t.theta for t in trainers.values()]
            for theta in thetas[1:]:
                np.testing.assert_array_equal(thetas[0], theta)  # the same numbers everywhere
    return times


def latency(backends: dict[str, dict], iterations: int) -> dict[str, float]:
    """Median ms per iteration with one-step episodes: a backend's fixed cost per iteration."""
    reg = get_registries()
    result = {}
    for name, backend in backends.items():
        data = config(backend, iterations + 1)
        data["task"]["max_episode_steps"] = 1
        trainer = Trainer(Experiment.build(build_config(data, reg), reg))
        with trainer.exp.backend:
            trainer.step()  # warm-up
            times = []
            for _ in range(iterations):
                start = time.perf_counter()
                trainer.step()
                times.append(time.perf_counter() - start)
        result[name] = 1e3 * float(np.median(times))
    return result


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
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument(
        "--latency-iterations", type=int, default=30, help="one-step-episode iterations per backend"
    )
    parser.add_argument(
        "--perturbations", type=int, default=8, help="antithetic pairs per iteration (+ 2 exact)"
    )
    parser.add_argument(
        "--chunks-per-worker",
        type=int,
        default=1,
        help="chunks per worker of both parallel backends (> 1: the faster worker takes more)",
    )
    parser.add_argument("--out", default="bench/results/dask_scaling.json")
    args = parser.parse_args()
    backends = {
        "serial": {"name": "serial"},
        "dask": {"name": "dask", "workers": 2, "chunks_per_worker": args.chunks_per_worker},
        "processes": {
            "name": "processes",
            "workers": 2,
            "chunks_per_worker": args.chunks_per_worker,
        },
    }
    times = interleaved(backends, args.iterations, args.perturbations)
    total = {name: float(np.sum(t)) for name, t in times.items()}
    per_iteration = {
        name: [s / o for s, o in zip(times["serial"], t, strict=True)]
        for name, t in times.items()
        if name != "serial"
    }
    result = {
        "perturbations": args.perturbations,
        "chunks_per_worker": args.chunks_per_worker,
        "seconds_per_iteration": times,
        "speedup_dask": total["serial"] / total["dask"],
        "speedup_processes": total["serial"] / total["processes"],
        "speedup_dask_per_iteration_min_median_max": _spread(per_iteration["dask"]),
        "speedup_processes_per_iteration_min_median_max": _spread(per_iteration["processes"]),
        "latency_ms_per_iteration_one_step_episodes": latency(backends, args.latency_iterations),
        "bytes": [request_bytes([32, 32]), request_bytes([256, 256])],
    }
    write_result(result, args.out)


def _spread(values: list[float]) -> list[float]:
    return [float(np.min(values)), float(np.median(values)), float(np.max(values))]


if __name__ == "__main__":
    main()
