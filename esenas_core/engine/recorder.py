"""What a run writes as it goes: metrics rows, exact evaluations, ``best/``, ``final/``, and the
summary; the trainer decides what happened, this module writes it down."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from esenas_core.api.interfaces import SearchSpace
from esenas_core.engine.state import Best, RunState
from esenas_core.runs.config import RunConfig
from esenas_core.runs.rundir import RunDirectory

# The metrics columns that differ between identical runs (everything else is the same bits).
TIMING_COLUMNS = ("evaluate_time", "controller_time", "iteration_time", "wall_time")


class Recorder:
    """Writes a run's files into ``run_dir`` (nothing when it is None: in-memory runs)."""

    def __init__(self, run_dir: RunDirectory | None, cfg: RunConfig, space: SearchSpace) -> None:
        self.run_dir, self.cfg, self.space = run_dir, cfg, space

    def metrics(self, row: Mapping[str, Any]) -> None:
        if self.run_dir:
            self.run_dir.append_metrics(row)

    def evaluations(self, rows: list[Mapping[str, Any]]) -> None:
        """Rows of evaluations.csv: every finished exact evaluation (the Pareto front's input)."""
        if self.run_dir and rows:
            self.run_dir.append_evaluations(rows)

    def best(self, best: Best) -> None:
        """best/architecture.json + best/weights.npz: enough to replay the best policy."""
        if not self.run_dir or best.architecture is None:
            return
        arch = best.architecture
        self.run_dir.write_unit(
            "best",
            {"weights.npz": best.arrays()},
            {
                "architecture.json": {
                    "score": best.score,
                    "objective": best.objective,
                    "iteration": best.iteration,
                    "env_seed": best.env_seed,
                    "search_space": self.cfg.search_space.to_dict(),
                    "task": self.cfg.task.to_dict(),
                    "architecture": arch.to_json(),
                    "size": self.space.describe(arch),
                }
            },
        )

    def final(self, theta: np.ndarray, obs_mean: np.ndarray, obs_std: np.ndarray) -> None:
        """final/weights.npz: θ and the observation normalization after the last iteration."""
        if self.run_dir:
            self.run_dir.write_weights(
                "final", "weights.npz", theta=theta, obs_mean=obs_mean, obs_std=obs_std
            )


def summary(state: RunState, history: Sequence[Mapping[str, Any]], space: SearchSpace) -> dict:
    """First/final/best score, iterations, episodes, env steps, wall time, best size."""
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
        "final_score": last.get("score_mean", math.nan),
        "best_score": best.score,
        "best_iteration": best.iteration,
        "wall_time": last.get("wall_time", 0.0),
        "edges_mean": last.get("edges_mean", math.nan),
        "best_size": space.describe(best.architecture) if best.architecture else {},
    }


def metrics_row(
    state: RunState,
    scores: np.ndarray,
    perturbed: np.ndarray,
    sizes: Sequence[Mapping[str, int]],
    controller_stats: Mapping[str, float],
    **columns: Any,
) -> dict[str, Any]:
    """One metrics.csv row (``columns``: the iteration's own numbers, in order, then timings)."""
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
        "edges_mean": _mean([s["edges"] for s in sizes]),
        "multiplications_mean": _mean([s["multiplications"] for s in sizes]),
        **{f"controller_{k}": float(v) for k, v in controller_stats.items()},
        # timing columns (the only ones that differ between identical runs):
        **timings,
    }


def _mean(values: Any) -> float:
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()) if arr.size else math.nan
