"""A run's numbers: one metrics row per iteration and the run's summary (the trainer decides what
happened; a recorder, esenas_core.runs.recorder for run folders, writes it down)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from esenas_core.api.interfaces import SearchSpace
from esenas_core.engine.state import RunState

# The metrics columns that differ between identical runs (everything else is the same bits).
TIMING_COLUMNS = ("evaluate_time", "controller_time", "iteration_time", "wall_time")


def without_timings(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` without its timing columns: what two identical runs agree on bit for bit."""
    return {k: v for k, v in row.items() if k not in TIMING_COLUMNS}


def summary(
    state: RunState,
    history: Sequence[Mapping[str, Any]],
    space: SearchSpace,
    size_keys: Sequence[str] = (),
) -> dict:
    """First/final/best score, iterations, episodes, env steps, wall time, the best
    architecture's size and the last iteration's mean size (``size_keys``: what the search
    space's ``describe()`` reports)."""
    first = history[0] if history else {}
    last = history[-1] if history else {}
    best = state.best
    return {
        "iterations": state.iteration,
        "episodes": state.episodes,
        "env_steps": state.env_steps,
        "first_score": (
            state.first_score
            if state.first_score is not None
            else first.get("score_mean", math.nan)
        ),
        "final_score": last.get("score_mean", state.last_score),
        "best_score": best.score,
        "best_iteration": best.iteration,
        "wall_time": last.get("wall_time", state.wall_time),
        "size_mean": {k: last.get(f"{k}_mean", math.nan) for k in size_keys},
        "best_size": space.describe(best.architecture) if best.architecture else {},
        "stopped_by": state.stopped_by,  # the [stop] rule that ended the run, or None
    }


def metrics_row(
    state: RunState,
    scores: np.ndarray,
    perturbed: np.ndarray,
    sizes: Sequence[Mapping[str, int]],
    controller_stats: Mapping[str, float],
    **columns: Any,
) -> dict[str, Any]:
    """One metrics.csv row (``columns``: the iteration's own numbers, in order, then timings);
    ``sizes``: the exact evaluations' ``describe()``, averaged key by key (``edges_mean``, ...)."""
    timings = {k: columns.pop(k) for k in TIMING_COLUMNS if k in columns}
    return {
        "iteration": state.iteration,
        "episodes": state.episodes,
        "env_steps": state.env_steps,
        "score_mean": _mean(scores),
        "score_std": float(scores.std()) if scores.size else math.nan,
        "score_max": float(scores.max()) if scores.size else math.nan,
        "perturbed_mean": _mean(perturbed),
        "perturbed_max": float(perturbed.max()) if perturbed.size else math.nan,
        "best_score": state.best.score if np.isfinite(state.best.score) else math.nan,
        **columns,
        **{f"{k}_mean": _mean([s[k] for s in sizes]) for k in (sizes[0] if sizes else ())},
        **{f"controller_{k}": float(v) for k, v in controller_stats.items()},
        # timing columns (the only ones that differ between identical runs):
        **timings,
    }


def _mean(values: Any) -> float:
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()) if arr.size else math.nan
