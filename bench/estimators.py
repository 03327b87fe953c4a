"""What each estimator costs the aggregator, against one bare HalfCheetah episode, and what its
slim jobs weigh.

    python bench/estimators.py [--rounds 5] [--out bench/results/estimators.json]

1. Aggregator: ``ask()`` + ``tell()`` of a real ``Search`` (HalfCheetah-v5, ``dense`` hidden
   [256, 256]: d = 71,942; ``es.noise = "table"``; 150 exact evaluations; returns made up, so
   no episode runs) for every registered estimator at 2,048 rollouts per iteration (1,024
   mirrored pairs, or 2,048 single directions), alternated with one bare 1000-step HalfCheetah
   episode of a [256, 256] tanh policy (a gymnasium loop with numpy matmuls); the ratio of the
   medians, per estimator.
2. Bytes: the pickled slim job (what a worker holding θ receives) after three iterations, at
   d = 1,830 (hidden [32, 32]) and d = 71,942, for every estimator; and the full job for scale.
"""

from __future__ import annotations

import argparse
import itertools
import math
import pickle
import statistics
import time
from typing import Any

import gymnasium as gym
import numpy as np
from _results import write_result

from esenas_core import Search, get_registries
from esenas_core.backends import slim

ROLLOUTS = 2048
EXACT = 150


def config(estimator: str, hidden: list[int], members: int) -> dict[str, Any]:
    return {
        "name": "bench",
        "seed": 0,
        "iterations": 1000,
        "task": {"name": "gym", "env_id": "HalfCheetah-v5"},
        "search_space": {"name": "dense", "hidden": hidden},
        "controller": {"name": "random"},
        "estimator": {"name": estimator},
        "es": {
            "num_perturbations": ROLLOUTS // members,
            "exact_evals": EXACT,
            "noise": "table",
            "obs_norm": False,
        },
    }


def made_up_returns(count: int, rng: np.random.Generator) -> list[float]:
    return rng.normal(1000.0, 50.0, size=count).tolist()


def aggregator_ms(search: Search, rng: np.random.Generator) -> float:
    """One ask() + tell() with made-up returns (no episode runs), ms."""
    start = time.perf_counter()
    asked = search.ask()
    search.tell(asked, made_up_returns(len(asked), rng))
    return 1e3 * (time.perf_counter() - start)


def bare_episode_ms(env: gym.Env, weights: list[np.ndarray]) -> float:
    """One 1000-step HalfCheetah-v5 episode of a [256, 256] tanh policy, plain gymnasium."""
    start = time.perf_counter()
    obs, _ = env.reset(seed=1)
    steps = 0
    for _ in range(1000):
        h = obs
        for w, b in weights[:-1]:
            h = np.tanh(w @ h + b)
        w, b = weights[-1]
        obs, _, terminated, truncated, _ = env.step(np.tanh(w @ h + b))
        steps += 1
        if terminated or truncated:
            break
    assert steps == 1000
    return 1e3 * (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default="bench/results/estimators.json")
    args = parser.parse_args()
    registries = get_registries()
    names = registries["estimator"].names()
    rng = np.random.default_rng(0)
    env = gym.make("HalfCheetah-v5")
    sizes = [17, 256, 256, 6]
    policy = [
        (rng.normal(0, 1 / math.sqrt(a), (b, a)), np.zeros(b)) for a, b in itertools.pairwise(sizes)
    ]
    searches = {}
    for name in names:
        members = registries["estimator"].get(name).cls.members
        search = Search(config(name, [256, 256], members), registries=registries)
        for _ in range(3):  # warm-up: compile kernels, build the noise table, fill the updates
            aggregator_ms(search, rng)
        searches[name] = search
    bare_episode_ms(env, policy)
    times: dict[str, list[float]] = {name: [] for name in names}
    episodes: list[float] = []
    for _ in range(args.rounds):
        for name in names:
            episodes.append(bare_episode_ms(env, policy))
            times[name].append(aggregator_ms(searches[name], rng))
    episode = statistics.median(episodes)
    aggregator = {
        name: {
            "aggregator_ms": statistics.median(t),
            "over_episode": statistics.median(t) / episode,
        }
        for name, t in times.items()
    }
    job_bytes: dict[str, dict[str, int]] = {}
    for name in names:
        members = registries["estimator"].get(name).cls.members
        job_bytes[name] = {}
        for hidden in ([32, 32], [256, 256]):
            search = searches[name] if hidden == [256, 256] else None
            if search is None:
                search = Search(config(name, hidden, members), registries=registries)
                for _ in range(3):
                    aggregator_ms(search, rng)
            job = search.ask().job
            d = int(job.theta.size)
            job_bytes[name][f"slim_d{d}"] = len(pickle.dumps(slim(job), protocol=5))
            job_bytes[name][f"full_d{d}"] = len(pickle.dumps(job, protocol=5))
            search.close()
    write_result(
        {
            "rollouts_per_iteration": ROLLOUTS,
            "exact_evals": EXACT,
            "bare_episode_ms": episode,
            "aggregator": aggregator,
            "job_bytes": job_bytes,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
