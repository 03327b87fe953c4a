"""Aggregator overhead as a share of an iteration (issue: benchmarks).

    python bench/overhead.py [--iterations 6] [--out bench/results/overhead.json]

Runs ES-ENAS on HalfCheetah-v5 (edges, hidden [32, 32], k = 64 of 1760, regularized evolution,
16 pairs + 4 exact evaluations of 1000 steps) on the ``serial`` backend and reads the metrics'
timing columns: everything outside ``backend.evaluate`` (proposing genomes, building requests,
regenerating perturbations for the gradient, the update, controller feedback, statistics) is the
aggregator's overhead.
"""

from __future__ import annotations

import argparse

import numpy as np
from _results import write_result

from esenas_core.api.plugins import get_registries
from esenas_core.engine.experiment import Experiment
from esenas_core.engine.trainer import Trainer
from esenas_core.runs.config import build_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--out", default="bench/results/overhead.json")
    args = parser.parse_args()
    data = {
        "name": "overhead",
        "seed": 0,
        "iterations": args.iterations,
        "task": {"name": "gym", "env_id": "HalfCheetah-v5"},
        "search_space": {"name": "edges", "hidden": [32, 32], "k": 64},
        "controller": {"name": "regularized_evolution", "population_size": 50},
        "backend": {"name": "serial"},
        "es": {"num_perturbations": 16, "exact_evals": 4},
    }
    reg = get_registries()
    trainer = Trainer(Experiment.build(build_config(data, reg), reg))
    trainer.train()
    rows = trainer.history[1:]  # the first iteration also creates the environments
    share = [1.0 - r["evaluate_time"] / r["iteration_time"] for r in rows]
    overhead_ms = [(r["iteration_time"] - r["evaluate_time"]) * 1e3 for r in rows]
    result = {
        "aggregator_share_median": float(np.median(share)),
        "aggregator_share_max": float(np.max(share)),
        "aggregator_ms_median": float(np.median(overhead_ms)),
        "iteration_s_median": float(np.median([r["iteration_time"] for r in rows])),
        "iterations_measured": len(rows),
        "num_params": int(trainer.theta.size),
    }
    write_result(result, args.out)


if __name__ == "__main__":
    main()
