"""The cost of one ask and one tell at n = 1,024 pairs, beside the evaluation and the gradient
(issue: esenas as a library).

    python bench/ask_tell.py [--iterations 60] [--out bench/results/ask_tell.json]

Drives ``Search`` on the ``function`` task (8 inputs, 2 outputs) with 1,024 antithetic pairs and
8 exact evaluations (2,056 requests), telling precomputed returns as an array, for two spaces:

- ``dense`` (no architecture choice: the controller proposes empty genomes), and
- ``edges`` over [8] with the ``random`` controller (1,032 genomes of 20 edges each).

Per iteration it times ``ask()`` and ``tell()`` and, inside them, the gradient (the estimator:
fitness shaping, the weights, Σ wᵢεᵢ and the optimizer step — ``Steps._update_theta``) and the
controller's part (the row's ``controller_time``: ``propose``, and the feedback — which genomes
and rewards, the space's ``controller_rewards``, ``learn``). The API's cost is ask + tell minus
those two; each is reported. The first 5 iterations are not timed (imports, compilation).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _results import write_result

import esenas_core.engine.steps as steps
from esenas_core import Search

SPACES = {
    "dense": {"name": "dense", "hidden": [8]},
    "edges": {"name": "edges", "hidden": [8], "k": 20},
}


def measure(space: dict, iterations: int, warmup: int = 5) -> dict[str, float]:
    spent = {"gradient": 0.0}
    update = steps.Steps._update_theta

    def timed_update(*args, **kwargs):
        tick = time.perf_counter()
        out = update(*args, **kwargs)
        spent["gradient"] += time.perf_counter() - tick
        return out

    steps.Steps._update_theta = timed_update  # type: ignore[method-assign]
    try:
        search = Search(
            {
                "iterations": iterations + warmup,
                "task": {"name": "function", "obs_dim": 8, "act_dim": 2},
                "search_space": space,
                "controller": {"name": "random"},
                "es": {"num_perturbations": 1024, "exact_evals": 8, "obs_norm": False},
            }
        )
        rng = np.random.default_rng(0)
        totals = {"ask": 0.0, "tell": 0.0, "gradient": 0.0, "controller": 0.0}
        for i in range(iterations + warmup):
            tick = time.perf_counter()
            asked = search.ask()
            asked_s = time.perf_counter() - tick
            returns = rng.normal(size=len(asked))  # the evaluation: not timed
            spent["gradient"] = 0.0
            tick = time.perf_counter()
            row = search.tell(asked, returns)
            told_s = time.perf_counter() - tick
            if i >= warmup and row is not None:
                totals["ask"] += asked_s
                totals["tell"] += told_s
                totals["gradient"] += spent["gradient"]
                totals["controller"] += row["controller_time"]
        search.close()
    finally:
        steps.Steps._update_theta = update  # type: ignore[method-assign]
    ms = {k: 1e3 * v / iterations for k, v in totals.items()}
    ms["api"] = ms["ask"] + ms["tell"] - ms["gradient"] - ms["controller"]
    return {f"{k}_ms": round(v, 4) for k, v in ms.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--out", default="bench/results/ask_tell.json")
    args = parser.parse_args()
    result = {
        "requests": 2 * 1024 + 8,
        **{name: measure(space, args.iterations) for name, space in SPACES.items()},
    }
    write_result(result, args.out)


if __name__ == "__main__":
    main()
