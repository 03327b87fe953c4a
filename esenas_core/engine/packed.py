"""Requests and results sent between processes as a few arrays instead of one object each.

A chunk of a thousand short episodes is a thousand ``RolloutRequest`` objects one way and a
thousand ``RolloutResult`` objects (each with two small arrays) the other: pickling them costs
more than a batched task takes to run the episodes (≈ 10 ms per thousand each way, measured on
Pendulum-v1 in bench/batched.py). Packed, a chunk is a handful of arrays whichever its length.
Unpacking rebuilds equal objects: the same numbers reach the aggregator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from esenas_core.api.episodes import EpisodeResult
from esenas_core.api.records import Job, RolloutRequest, RolloutResult
from esenas_core.engine.rollouts import evaluate_requests


def pack_requests(requests: Sequence[RolloutRequest]) -> dict[str, Any]:
    genomes = [np.asarray(r.genome) for r in requests]
    same_shape = len({(g.shape, g.dtype.str) for g in genomes}) <= 1
    return {
        "index": np.array([r.index for r in requests], dtype=np.int64),
        "perturbation_seed": [r.perturbation_seed for r in requests],  # Python ints: any size
        "sign": np.array([r.sign for r in requests], dtype=np.int64),
        "env_seed": [r.env_seed for r in requests],
        "genomes": np.stack(genomes) if same_shape and genomes else genomes,
    }


def unpack_requests(packed: dict[str, Any]) -> list[RolloutRequest]:
    return [
        RolloutRequest(int(i), p, int(s), g, e)
        for i, p, s, g, e in zip(
            packed["index"],
            packed["perturbation_seed"],
            packed["sign"],
            packed["genomes"],
            packed["env_seed"],
            strict=True,
        )
    ]


def pack_results(results: Sequence[RolloutResult]) -> dict[str, Any]:
    """Arrays of the episodes' fields when every episode has float64 statistics of one shape
    and a float reward (what the built-in tasks return); the objects themselves otherwise."""
    done = [r.episode for r in results if r.episode is not None]
    if not all(_plain(e) for e in done) or len({e.obs_mean.shape for e in done}) > 1:
        return {"results": list(results)}
    return {
        "index": np.array([r.index for r in results], dtype=np.int64),
        "error": [r.error for r in results],
        "has": np.array([r.episode is not None for r in results], dtype=bool),
        "reward": np.array([e.reward for e in done], dtype=np.float64),
        "steps": np.array([e.steps for e in done], dtype=np.int64),
        "obs_count": np.array([e.obs_count for e in done], dtype=np.int64),
        "obs_mean": np.array([e.obs_mean for e in done], dtype=np.float64),
        "obs_m2": np.array([e.obs_m2 for e in done], dtype=np.float64),
    }


def _plain(e: EpisodeResult) -> bool:
    return (
        type(e.reward) is float
        and type(e.steps) is int
        and type(e.obs_count) is int
        and all(
            isinstance(a, np.ndarray) and a.dtype == np.float64 and a.ndim == 1
            for a in (e.obs_mean, e.obs_m2)
        )
        and e.obs_mean.shape == e.obs_m2.shape
    )


def unpack_results(packed: dict[str, Any]) -> list[RolloutResult]:
    if "results" in packed:
        return list(packed["results"])
    out, k = [], 0
    for index, error, has in zip(packed["index"], packed["error"], packed["has"], strict=True):
        episode = None
        if has:
            episode = EpisodeResult(
                float(packed["reward"][k]),
                int(packed["steps"][k]),
                int(packed["obs_count"][k]),
                packed["obs_mean"][k],
                packed["obs_m2"][k],
            )
            k += 1
        out.append(RolloutResult(index=int(index), episode=episode, error=error))
    return out


def evaluate_packed(job: Job, packed: dict[str, Any]) -> dict[str, Any]:
    """``evaluate_requests`` between packed requests and packed results (runs on a worker)."""
    return pack_results(evaluate_requests(job, unpack_requests(packed)))
