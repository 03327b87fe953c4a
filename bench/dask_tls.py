"""What TLS costs the dask LocalCluster (``local_tls = true``, the default, against false).

    python bench/dask_tls.py [--rounds 3] [--iterations 10] [--full-iterations 2]
                             [--out bench/results/dask_tls.json]

In each round, TLS then plain TCP (the order alternating between rounds), each on its own
2-worker LocalCluster started afresh, one at a time (two clusters side by side in one process
share its event loop and slow each other down):

1. Start-up: seconds to start the cluster and connect (``backend.__enter__``).
2. Latency: after one untimed iteration, iterations whose HalfCheetah episodes last one step (8
   antithetic pairs + 2 exact evaluations): an iteration's fixed cost (scatter θ, task round trips,
   results). Median ms per iteration over all rounds, and the ratio.
3. Real iterations: the same with 1000-step episodes; summed seconds and the ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _results import write_result
from dask_scaling import config

from esenas_core.api.plugins import get_registries
from esenas_core.engine.experiment import Experiment
from esenas_core.engine.trainer import Trainer
from esenas_core.runs.config import build_config

VARIANTS = {"tls": True, "tcp": False}


def trainer(tls: bool, iterations: int, steps: int | None) -> Trainer:
    reg = get_registries()
    data = config({"name": "dask", "workers": 2, "local_tls": tls}, iterations + 1)
    if steps is not None:
        data["task"]["max_episode_steps"] = steps
    return Trainer(Experiment.build(build_config(data, reg), reg))


def timed(tls: bool, iterations: int, steps: int | None) -> tuple[float, list[float]]:
    """Start-up seconds, and seconds per iteration after one untimed warm-up iteration."""
    t = trainer(tls, iterations, steps)
    start = time.perf_counter()
    with t.exp.backend:
        started = time.perf_counter() - start
        t.step()
        times = []
        for _ in range(iterations):
            start = time.perf_counter()
            t.step()
            times.append(time.perf_counter() - start)
    return started, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--full-iterations", type=int, default=2)
    parser.add_argument("--out", default="bench/results/dask_tls.json")
    args = parser.parse_args()
    starts: dict[str, list[float]] = {name: [] for name in VARIANTS}
    latency: dict[str, list[float]] = {name: [] for name in VARIANTS}
    full: dict[str, list[float]] = {name: [] for name in VARIANTS}
    names = list(VARIANTS)
    for r in range(args.rounds):
        for name in names[r % 2 :] + names[: r % 2]:
            started, times = timed(VARIANTS[name], args.iterations, 1)
            starts[name].append(started)
            latency[name] += times
            started, times = timed(VARIANTS[name], args.full_iterations, None)
            starts[name].append(started)
            full[name] += times
    median = {name: 1e3 * float(np.median(t)) for name, t in latency.items()}
    result = {
        "start_up_s": starts,
        "start_up_median_s": {name: float(np.median(t)) for name, t in starts.items()},
        "latency_ms_median_one_step_episodes": median,
        "latency_ratio_tls_over_tcp": median["tls"] / median["tcp"],
        "full_iteration_s_total": {name: float(np.sum(t)) for name, t in full.items()},
        "full_iteration_ratio_tls_over_tcp": float(np.sum(full["tls"]) / np.sum(full["tcp"])),
    }
    write_result(result, args.out)


if __name__ == "__main__":
    main()
