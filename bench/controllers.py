"""Controller cost per genome: propose + feedback (issue: controllers).

    python bench/controllers.py [--out bench/results/controllers.json]

Built-ins on a HalfCheetah-size space (edges, hidden [32, 32]: Subset(1760, 64)), batches of 36
genomes (16 pairs + 4 exact evaluations, the default iteration) with feedback after each batch.
The ``pyglove`` adapter is measured on smaller spaces, where it is practical, and its DNA-spec
build time is reported.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _results import write_result

from esenas_core import DecisionSpace, Subset
from esenas_core.api.plugins import get_registries

BUILTIN = {
    "random": {},
    "regularized_evolution": {"population_size": 100, "tournament_size": 10},
    "policy_gradient": {"update_batch_size": 64},
}


def per_genome(name: str, options: dict, space: DecisionSpace, batches: int, batch: int) -> float:
    ctrl = get_registries().create("controller", name, options, space, 0)
    rng = np.random.default_rng(0)
    ctrl.feedback(ctrl.propose(batch), rng.normal(size=batch))  # warm up
    start = time.perf_counter()
    for _ in range(batches):
        genomes = ctrl.propose(batch)
        ctrl.feedback(genomes, rng.normal(size=batch))
    return (time.perf_counter() - start) / (batches * batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/results/controllers.json")
    args = parser.parse_args()
    big = DecisionSpace([Subset(1760, 64)])
    result = {"builtin_us_per_genome": {}, "pyglove": []}
    for name, options in BUILTIN.items():
        t = per_genome(name, options, big, batches=30, batch=36)
        result["builtin_us_per_genome"][name] = t * 1e6
        print(f"{name:24s} {t * 1e6:9.1f} µs/genome  (Subset(1760, 64))", flush=True)
    for n, k in [(48, 8), (200, 16), (400, 32)]:
        space = DecisionSpace([Subset(n, k)])
        start = time.perf_counter()
        ctrl = get_registries().create("controller", "pyglove", {}, space, 0)
        spec_s = time.perf_counter() - start
        del ctrl
        t = per_genome(
            "pyglove",
            {"kwargs": {"population_size": 20, "tournament_size": 5}},
            space,
            batches=3,
            batch=36,
        )
        row = {"space": f"Subset({n}, {k})", "spec_build_s": spec_s, "ms_per_genome": t * 1e3}
        result["pyglove"].append(row)
        print(
            f"pyglove regularized_evolution Subset({n}, {k}): spec {spec_s:.2f} s,"
            f" {t * 1e3:.1f} ms/genome",
            flush=True,
        )
    write_result(result, args.out)


if __name__ == "__main__":
    main()
