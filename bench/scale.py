"""Paper and cluster scale: what the aggregator and the scheduler cost per iteration.

    python bench/scale.py [--quick] [--out bench/results/scale.json]

1. Aggregator pieces at n ∈ {150, 1024, 4096} antithetic pairs (+ 150 exact evaluations) and
   d ∈ {1830, 71942} (HalfCheetah-v5, ``dense`` hidden [32, 32] and [256, 256]): proposals and
   feedback of the three numpy controllers (on the ``edges`` space of hidden [32, 32], k = 64),
   request building, result bookkeeping (outcome, controller rewards, gradient weights), the
   gradient with ``es.noise = "seeded"`` and ``"table"``, the θ update with its digest, and
   pickling the full and the slim job. Median of repeats, ms.
2. Gradient against an episode, side by side: the gradient at n = 1024, d = 71,942 (table noise)
   and one 1000-step HalfCheetah episode of that policy (the gym task, as a worker runs it),
   alternated; the ratio of the medians.
3. Bytes: per worker and iteration, full job (first iteration) and slim job (later ones) plus
   that worker's share of the requests, at W = 2 and W = 1000.
4. Scheduler: a dask LocalCluster of W in-process workers (threads, ``processes=False``), each
   iteration broadcasting a slim job and running W·c no-op tasks; ms per iteration and per task.
5. Projection: iteration time at W = 100 and 1,000 workers for n = 1024 pairs + 150 exact
   evaluations on HalfCheetah-v5 (episodes, aggregator, scheduler), and the bottleneck.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import time
from typing import Any

import attrs
import numpy as np
from _results import write_result

from esenas_core.api.plugins import get_registries
from esenas_core.api.records import EstimatorSpec, ThetaSync, Update
from esenas_core.backends import EpisodeResult, Job, RolloutResult, slim
from esenas_core.engine.experiment import Experiment
from esenas_core.engine.iteration import (
    Outcome,
    build_requests,
    controller_feedback,
    genomes_needed,
    outcome,
)
from esenas_core.engine.noise import combine
from esenas_core.engine.replica import KEEP_UPDATES, digest
from esenas_core.runs.config import build_config

EXACT = 150
CONTROLLERS = {
    "random": {},
    "regularized_evolution": {"population_size": 100, "tournament_size": 10},
    "policy_gradient": {"update_batch_size": 64},
}


def experiment(hidden: list[int], n: int, noise: str = "table", **extra: Any) -> Experiment:
    reg = get_registries()
    data = {
        "name": "scale",
        "seed": 0,
        "iterations": 1,
        "task": {"name": "gym", "env_id": "HalfCheetah-v5", "lockstep": 1},
        "search_space": {"name": "dense", "hidden": hidden},
        "controller": {"name": "random"},
        "es": {"num_perturbations": n, "exact_evals": EXACT, "noise": noise, "optimizer": "adam"},
        **extra,
    }
    return Experiment.build(build_config(data, reg), reg)


def timed(fn, repeats: int) -> float:
    """Median ms of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def fake_results(exp: Experiment, count: int, rng: np.random.Generator) -> list[RolloutResult]:
    dim = exp.spec.obs_dim
    return [
        RolloutResult(i, EpisodeResult(float(r), 1000, 1000, np.zeros(dim), np.ones(dim)))
        for i, r in enumerate(rng.normal(size=count))
    ]


def controller_costs(n: int, repeats: int) -> dict[str, dict[str, float]]:
    """propose + feedback of ``n`` pairs + EXACT genomes on Subset(1760, 64), after warm-up."""
    reg = get_registries()
    data = {
        "name": "scale",
        "task": {"name": "gym", "env_id": "HalfCheetah-v5"},
        "search_space": {"name": "edges", "hidden": [32, 32], "k": 64},
        "es": {"num_perturbations": n, "exact_evals": EXACT},
    }
    out = {}
    for name, options in CONTROLLERS.items():
        data["controller"] = {"name": name, **options}
        exp = Experiment.build(build_config(data, reg), reg)
        ctrl, count = exp.controller, genomes_needed(exp.config.es)
        rng = np.random.default_rng(0)
        for _ in range(3):  # fill populations, start the policy's updates
            ctrl.feedback(ctrl.propose(count), rng.normal(size=count))
        genomes = ctrl.propose(count)
        out[name] = {
            "propose_ms": timed(lambda c=ctrl, k=count: c.propose(k), repeats),
            "feedback_ms": timed(
                lambda c=ctrl, g=genomes, r=rng: c.feedback(g, r.normal(size=len(g))), repeats
            ),
        }
    return out


def gradient_weights(exp: Experiment, out: Outcome, seeds: list[int]) -> tuple[Any, Any]:
    """The run's estimator's weights and the seeds of the directions they use."""
    es = exp.config.es
    ok_seeds = np.asarray(seeds, dtype=np.int64)[out.unit_ok]
    w = exp.estimator.weights(out.rewards, None, es.sigma, {})
    return w.linear, ok_seeds if w.rows is None else ok_seeds[w.rows]


class _Sums:
    """A gradient already summed (the update's step alone is timed)."""

    def __init__(self, linear: np.ndarray) -> None:
        self.linear = linear


def aggregator_costs(hidden: list[int], n: int, repeats: int, seeded: bool) -> dict[str, float]:
    exp = experiment(hidden, n)
    es, rng = exp.config.es, np.random.default_rng(0)
    theta = exp.initial_params()
    genomes = exp.controller.propose(genomes_needed(es))
    requests, seeds = build_requests(es, genomes, 0, 0, 0)
    results = fake_results(exp, len(requests), rng)
    out_ = outcome(es, results)
    weights, used = gradient_weights(exp, out_, seeds)
    spec = exp.estimator_spec
    adam = EstimatorSpec(spec.cls, spec.options, attrs.evolve(es, optimizer="adam")).build()
    adam_state = adam.init_state(theta.size)
    updates = tuple(  # distinct arrays, as in a run (pickle would share one array)
        Update(v, weights.copy(), used.copy(), 0.01, 0.0) for v in range(1, KEEP_UPDATES + 1)
    )
    sync = ThetaSync("k", KEEP_UPDATES, updates, spec)  # SGD: no state
    obs = np.zeros(exp.spec.obs_dim)
    full = Job(exp.worker_spec, theta, es.sigma, obs, obs + 1, es.noise_spec, sync)
    slim_job = slim(full)  # θ's digest: counted in update_and_digest_ms
    table = es.noise_spec
    es_seeded = experiment(hidden, n, noise="seeded").config.es.noise_spec
    costs = {
        "num_params": int(theta.size),
        "build_requests_ms": timed(lambda: build_requests(es, genomes, 0, 1, 0), repeats),
        "bookkeeping_ms": timed(
            lambda: (
                gradient_weights(exp, outcome(es, results), seeds),
                controller_feedback(es, genomes, outcome(es, results)),
            ),
            repeats,
        ),
        "gradient_table_ms": timed(lambda: combine(table, weights, used, theta.size), repeats),
        "update_and_digest_ms": timed(
            lambda: digest(adam.update(theta, adam_state, updates[0], _Sums(theta * 0.0 + 1.0))[0]),
            repeats,
        ),
        "pickle_full_job_ms": timed(lambda: pickle.dumps(full, protocol=5), repeats),
        "pickle_slim_job_ms": timed(lambda: pickle.dumps(slim_job, protocol=5), repeats),
        "full_job_bytes": len(pickle.dumps(full, protocol=5)),
        "slim_job_bytes": len(pickle.dumps(slim_job, protocol=5)),
        "request_bytes": len(pickle.dumps(requests, protocol=5)) / len(requests),
    }
    if seeded:
        seeded_costs = timed(lambda: combine(es_seeded, weights, used, theta.size), 1)
        costs["gradient_seeded_ms"] = seeded_costs
    return costs


def gradient_vs_episode(rounds: int) -> dict[str, float]:
    """Gradient (n = 1024, d = 71,942, table) and one 1000-step episode, alternated."""
    exp = experiment([256, 256], 1024)
    es = exp.config.es
    theta = exp.initial_params() + 0.01
    genomes = exp.controller.propose(genomes_needed(es))
    requests, seeds = build_requests(es, genomes, 0, 0, 0)
    rng = np.random.default_rng(0)
    weights, used = gradient_weights(exp, outcome(es, fake_results(exp, len(requests), rng)), seeds)
    arch = exp.space.decode(genomes[0])
    obs = np.zeros(exp.spec.obs_dim)

    def episode() -> None:
        result = exp.task.run_episodes(exp.space, theta[None, :], [arch], [1], obs, obs + 1)[0]
        assert result.steps == 1000

    episode(), combine(es.noise_spec, weights, used, theta.size)  # warm-up: compile, caches
    grad, ep = [], []
    for _ in range(rounds):
        grad.append(timed(lambda: combine(es.noise_spec, weights, used, theta.size), 1))
        ep.append(timed(episode, 1))
    return {
        "gradient_ms": statistics.median(grad),
        "episode_ms": statistics.median(ep),
        "gradient_over_episode": statistics.median(grad) / statistics.median(ep),
    }


def scheduler_costs(workers: int, chunks: int, iterations: int) -> dict[str, float]:
    from distributed import Client, LocalCluster

    def noop(job: Any, chunk: list[int]) -> list[int]:
        return chunk

    slim = {"job": np.zeros(600)}  # ≈ a slim job's size (5 kB)
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=False,
            dashboard_address=None,
            memory_limit=0,  # W threads share this process: no per-worker memory pausing
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(workers)
        tasks = workers * chunks
        times = []
        for it in range(iterations + 1):
            start = time.perf_counter()
            shared = client.scatter(slim, broadcast=True, hash=False)
            futures = [client.submit(noop, shared, [it, i], pure=False) for i in range(tasks)]
            client.gather(futures)
            if it:  # the first one is a warm-up
                times.append(time.perf_counter() - start)
        per_iteration = 1e3 * statistics.median(times)
    return {
        "workers": workers,
        "tasks_per_iteration": tasks,
        "ms_per_iteration": per_iteration,
        "ms_per_task": per_iteration / tasks,
    }


def projection(result: dict) -> list[dict[str, Any]]:
    """Iteration time at W workers, n = 1024 pairs + EXACT exact evaluations, d = 71,942."""
    episodes = 2 * 1024 + EXACT
    agg = result["aggregator"]["n=1024,d=71942"]
    ctrl = result["controllers"]["n=1024"]
    ep_s = result["gradient_vs_episode"]["episode_ms"] / 1e3
    sched = max(result["scheduler"], key=lambda s: s["workers"])
    rows = []
    for w in (100, 1000):
        rollouts = -(-episodes // w) * ep_s
        aggregator = (
            agg["build_requests_ms"]
            + agg["bookkeeping_ms"]
            + agg["gradient_table_ms"]
            + agg["update_and_digest_ms"]
            + agg["pickle_slim_job_ms"]
            + max(c["propose_ms"] + c["feedback_ms"] for c in ctrl.values())
        ) / 1e3
        scheduler = sched["ms_per_task"] * w / 1e3  # one chunk per worker
        total = rollouts + aggregator + scheduler
        parts = {"rollouts": rollouts, "aggregator": aggregator, "scheduler": scheduler}
        rows.append(
            {
                "workers": w,
                "episodes": episodes,
                "rollouts_s": rollouts,
                "aggregator_s": aggregator,
                "scheduler_s": scheduler,
                "iteration_s": total,
                "bottleneck": max(parts, key=parts.get),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and sizes")
    parser.add_argument("--out", default="bench/results/scale.json")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    sizes = [150, 1024] if args.quick else [150, 1024, 4096]
    result: dict[str, Any] = {"controllers": {}, "aggregator": {}}
    for n in sizes:
        result["controllers"][f"n={n}"] = controller_costs(n, repeats)
        print(f"controllers n={n}: {result['controllers'][f'n={n}']}", flush=True)
        for hidden in ([32, 32], [256, 256]):
            costs = aggregator_costs(hidden, n, repeats, seeded=not args.quick or n == 150)
            result["aggregator"][f"n={n},d={costs['num_params']}"] = costs
            print(f"aggregator n={n}, d={costs['num_params']}: {costs}", flush=True)
    result["gradient_vs_episode"] = gradient_vs_episode(3 if args.quick else 7)
    print(result["gradient_vs_episode"], flush=True)
    big = result["aggregator"]["n=1024,d=71942"]
    share = big["request_bytes"] * (2 * 1024 + EXACT)
    result["bytes_per_worker_per_iteration"] = {
        f"W={w}": {
            "first_iteration": big["full_job_bytes"] + share / w,
            "later_iterations": big["slim_job_bytes"] + share / w,
        }
        for w in (2, 1000)
    }
    result["scheduler"] = [
        scheduler_costs(w, 1, 5 if args.quick else 10) for w in ((50,) if args.quick else (50, 100))
    ]
    print(result["scheduler"], flush=True)
    result["projection"] = projection(result)
    write_result(result, args.out)


if __name__ == "__main__":
    main()
