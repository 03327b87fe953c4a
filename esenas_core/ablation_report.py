"""Results of an ablation study: results.csv, results.md (mean ± std over seeds), curves.png."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from esenas_core.ablation import Planned, Study
from esenas_core.report import read_metrics

COLUMNS = [
    "variant", "seed", "final_score", "best_score", "episodes", "env_steps", "wall_time",
    "episodes_to_threshold", "edges", "multiplications",
]  # fmt: skip


def run_row(item: Planned, threshold: float | None) -> dict[str, Any]:
    m = read_metrics(item.run_dir)
    reached = np.flatnonzero(m["score_mean"] >= threshold) if threshold is not None else []
    return {
        "variant": item.variant.name,
        "seed": item.seed,
        "final_score": float(m["score_mean"][-1]),
        "best_score": float(np.nanmax(m["best_score"])),
        "episodes": int(m["episodes"][-1]),
        "env_steps": int(m["env_steps"][-1]),
        "wall_time": float(m["wall_time"][-1]),
        "episodes_to_threshold": int(m["episodes"][reached[0]]) if len(reached) else math.nan,
        "edges": float(m["edges_mean"][-1]),
        "multiplications": float(m["multiplications_mean"][-1]),
    }


def _mean_std(values: Sequence[float], fmt: str = "{:.1f}") -> str:
    arr = np.array(values, dtype=float)
    if np.all(np.isnan(arr)):
        return "not reached"
    missing = int(np.isnan(arr).sum())
    text = f"{fmt.format(np.nanmean(arr))} ± {fmt.format(np.nanstd(arr))}"
    return text + (f" ({missing} of {arr.size} not reached)" if missing else "")


def write_results(study: Study, planned: Sequence[Planned], out: Path) -> list[dict[str, Any]]:
    rows = [run_row(p, study.threshold) for p in planned if p.finished]
    with open(out / "results.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    head = [
        "variant",
        "seeds",
        "final score",
        "best score",
        "episodes",
        "wall time (s)",
        "edges",
        "multiplications",
    ]
    if study.threshold is not None:
        head.insert(5, f"episodes to {study.threshold:g}")
    lines = [
        f"# Study {study.name}",
        "",
        f"Seeds {list(study.seeds)}; mean ± std over seeds (finished runs only).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + " --- |" * len(head),
    ]
    for v in study.variants:
        rs = [r for r in rows if r["variant"] == v.name]
        if not rs:
            continue
        cells = [
            v.name,
            str(len(rs)),
            _mean_std([r["final_score"] for r in rs]),
            _mean_std([r["best_score"] for r in rs]),
            _mean_std([r["episodes"] for r in rs], "{:.0f}"),
            _mean_std([r["wall_time"] for r in rs]),
            _mean_std([r["edges"] for r in rs], "{:.0f}"),
            _mean_std([r["multiplications"] for r in rs], "{:.0f}"),
        ]
        if study.threshold is not None:
            cells.insert(5, _mean_std([r["episodes_to_threshold"] for r in rs], "{:.0f}"))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "![learning curves](curves.png)", ""]
    (out / "results.md").write_text("\n".join(lines), encoding="utf-8")
    plot_curves(study, planned, out / "curves.png")
    return rows


def plot_curves(study: Study, planned: Sequence[Planned], target: Path) -> None:
    """Exact-eval mean vs episodes per variant: mean over seeds with a ± std band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, v in enumerate(study.variants):
        runs = [read_metrics(p.run_dir) for p in planned if p.variant == v and p.finished]
        if not runs:
            continue
        length = min(len(r["score_mean"]) for r in runs)
        scores = np.array([r["score_mean"][:length] for r in runs])
        episodes = np.mean([r["episodes"][:length] for r in runs], axis=0)
        mean, std = np.nanmean(scores, axis=0), np.nanstd(scores, axis=0)
        ax.plot(episodes, mean, color=f"C{i}", label=f"{v.name} ({len(runs)} seeds)")
        ax.fill_between(episodes, mean - std, mean + std, color=f"C{i}", alpha=0.2)
    if study.threshold is not None:
        ax.axhline(
            study.threshold, color="0.5", linestyle=":", label=f"threshold {study.threshold:g}"
        )
    ax.set_xlabel("episodes")
    ax.set_ylabel("exact-eval mean return at θ")
    ax.set_title(f"study {study.name}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
