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
    """Arrays of the results' fields, one entry per result (failed ones: NaN, 0, zeros), when
    every episode has float64 statistics of one shape and a float reward (what the built-in
    tasks return); the objects themselves otherwise."""
    done = [r.episode for r in results if r.episode is not None]
    if not all(_plain(e) for e in done) or len({e.obs_mean.shape for e in done}) > 1:
        return {"results": list(results)}
    n = len(results)
    dim = done[0].obs_mean.shape[0] if done else 0
    reward, steps = np.full(n, np.nan), np.zeros(n, dtype=np.int64)
    obs_count = np.zeros(n, dtype=np.int64)
    obs_mean, obs_m2 = np.zeros((n, dim)), np.zeros((n, dim))
    has = np.zeros(n, dtype=bool)
    for i, r in enumerate(results):
        e = r.episode
        if e is not None:
            has[i] = True
            reward[i], steps[i], obs_count[i] = e.reward, e.steps, e.obs_count
            obs_mean[i], obs_m2[i] = e.obs_mean, e.obs_m2
    return {
        "index": np.array([r.index for r in results], dtype=np.int64),
        "error": [r.error for r in results],
        "has": has,
        "ok": np.array([r.ok for r in results], dtype=bool),  # computed where the result was made
        "reward": reward,
        "steps": steps,
        "obs_count": obs_count,
        "obs_mean": obs_mean,
        "obs_m2": obs_m2,
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


class ResultColumns(Sequence[RolloutResult]):
    """Results as the arrays a worker sent: read as ``RolloutResult`` objects on demand (equal
    to the worker's), or as columns by the trainer (``Told``) without making one."""

    FIELDS = ("index", "has", "ok", "reward", "steps", "obs_count", "obs_mean", "obs_m2")

    def __init__(self, columns: dict[str, Any]) -> None:
        self.columns = columns

    def __len__(self) -> int:
        return int(self.columns["index"].shape[0])

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            c = self.columns
            return ResultColumns({**{k: c[k][i] for k in self.FIELDS}, "error": c["error"][i]})
        c = self.columns
        episode = None
        if c["has"][i]:
            episode = EpisodeResult(
                float(c["reward"][i]),
                int(c["steps"][i]),
                int(c["obs_count"][i]),
                c["obs_mean"][i],
                c["obs_m2"][i],
            )
        return RolloutResult(index=int(c["index"][i]), episode=episode, error=c["error"][i])

    @classmethod
    def concat(cls, parts: Sequence[ResultColumns]) -> ResultColumns:
        """The parts in order. A part without a finished episode has statistics of width 0
        (``pack_results`` saw no observation size): widened with zeros to the others'."""
        dim = max((p.columns["obs_mean"].shape[1] for p in parts), default=0)
        columns: dict[str, Any] = {
            k: np.concatenate([_widened(p.columns[k], k, dim) for p in parts]) for k in cls.FIELDS
        }
        columns["error"] = [e for p in parts for e in p.columns["error"]]
        return cls(columns)


def _widened(column: np.ndarray, key: str, dim: int) -> np.ndarray:
    if key in ("obs_mean", "obs_m2") and column.shape[1] != dim:
        return np.zeros((column.shape[0], dim))
    return column


def _one_width(parts: Sequence[ResultColumns]) -> bool:
    """Whether the parts' finished episodes share one observation size."""
    return len({p.columns["obs_mean"].shape[1] for p in parts if p.columns["has"].any()}) <= 1


def unpack_results(packed: dict[str, Any]) -> Sequence[RolloutResult]:
    """What ``pack_results`` packed: the objects, or ``ResultColumns`` over the arrays."""
    if "results" in packed:
        return list(packed["results"])
    return ResultColumns(packed)


def concat_results(parts: Sequence[Sequence[RolloutResult]]) -> Sequence[RolloutResult]:
    """Chunks' results in order: columns stay columns; any other mix becomes a list."""
    if parts and all(isinstance(p, ResultColumns) for p in parts) and _one_width(parts):  # type: ignore[arg-type]
        return ResultColumns.concat(parts)  # type: ignore[arg-type]
    return [r for p in parts for r in p]


def evaluate_packed(job: Job, packed: dict[str, Any]) -> dict[str, Any]:
    """``evaluate_requests`` between packed requests and packed results (runs on a worker)."""
    return pack_results(evaluate_requests(job, unpack_requests(packed)))
