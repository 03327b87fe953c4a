"""Size against reward: the Pareto front of (return, multiplications per action).

Every run records each exact evaluation — its return, the search space's selection score, and
the evaluated architecture's edges and multiplications per action — in ``evaluations.csv``.
Sizes are live ones where the search space reports them (``live_multiplications``: edges on an
input→output path; a dead edge changes no action). The front is the set of evaluations that no
other beats on both counts (a higher return with at most as many multiplications, or as high a
return with fewer). ``esenas report`` draws a run's front (``report/pareto.png``);
``esenas ablate`` draws each variant's front over all its runs (``pareto.png``) and lists it in
``pareto.csv``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from esenas_core.runs.csvread import read_numeric_csv


def read_evaluations(run_dir: Path) -> dict[str, np.ndarray] | None:
    """evaluations.csv as float arrays per column, or None (no such file or no rows); a damaged
    file is one line naming it (``RunError``)."""
    try:
        columns = read_numeric_csv(
            Path(run_dir) / "evaluations.csv", required=("return", "multiplications")
        )
    except FileNotFoundError:
        return None
    if "live_multiplications" in columns:  # the honest size, where the space reports it
        columns["multiplications"] = columns["live_multiplications"]
    return columns if len(columns["return"]) else None


def front(returns: Sequence[float] | np.ndarray, mults: Sequence[float] | np.ndarray) -> np.ndarray:
    """Indices of the non-dominated points (maximize return, minimize multiplications), sorted
    by multiplications; NaN returns are ignored."""
    r, m = np.asarray(returns, dtype=float), np.asarray(mults, dtype=float)
    order = [i for i in np.lexsort((-r, m)) if np.isfinite(r[i])]
    keep, best = [], -math.inf
    for i in order:
        if r[i] > best:
            keep.append(i)
            best = r[i]
    return np.array(keep, dtype=np.int64)


def plot_fronts(
    series: Mapping[str, tuple[np.ndarray, np.ndarray]], target: Path, title: str
) -> None:
    """Per label, every evaluation as a faint dot and its front as a step line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (label, (returns, mults)) in enumerate(series.items()):
        ax.scatter(mults, returns, s=4, color=f"C{i}", alpha=0.15, linewidths=0)
        idx = front(returns, mults)
        if idx.size:
            ax.step(mults[idx], returns[idx], where="post", color=f"C{i}", label=label)
            ax.scatter(mults[idx], returns[idx], s=14, color=f"C{i}")
    every = np.concatenate([m for _, m in series.values()]) if series else np.zeros(0)
    every = every[np.isfinite(every) & (every > 0)]
    if every.size and every.max() / every.min() > 100:  # many decades of sizes: log scale
        ax.set_xscale("log")
    ax.set_xlabel("live multiplications per action (evaluated architecture)")
    ax.set_ylabel("episode return (exact evaluation)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if series:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)


def front_rows(label: str, evaluations: dict[str, np.ndarray], **extra: Any) -> list[dict]:
    idx = front(evaluations["return"], evaluations["multiplications"])
    return [
        {
            "variant": label,
            "multiplications": int(evaluations["multiplications"][i]),
            "return": float(evaluations["return"][i]),
            "iteration": int(evaluations["iteration"][i]),
            **{k: v[i] if isinstance(v, np.ndarray) else v for k, v in extra.items()},
        }
        for i in idx
    ]
