"""Results of an ablation study, from the finished runs of its current variants.

- ``runs.csv`` — one row per run;
- ``results.csv`` — one row per variant: mean, median and IQM of the final score, the best score
  and the episodes to the threshold, each with its 95 % bootstrap interval (``*_low``/``*_high``);
- ``improvement.csv`` — P(A > B) of the final score for every ordered pair of variants;
- ``relative.csv`` — with ``reference`` variants: each variant's final-score IQM ÷ the best of
  theirs (``esenas_core.studies.relative``);
- ``results.md`` — the same as tables; ``curves.png`` — IQM learning curves with 95 % bands.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from esenas_core.api import fields
from esenas_core.api.errors import EsenasError, RunError
from esenas_core.runs.pareto import front_rows, plot_fronts, read_evaluations
from esenas_core.runs.report import read_metrics
from esenas_core.studies.identity import config_sha256
from esenas_core.studies.relative import write_relative
from esenas_core.studies.spec import Study, StudyRun
from esenas_core.studies.stats import Estimate, curve_band, estimates, improvement

RUN_COLUMNS = [
    "variant", "seed", "final_score", "best_score", "episodes", "env_steps", "wall_time_s",
    "episodes_to_threshold", "best_edges", "best_live_edges", "best_multiplications",
    "best_live_multiplications", "best_params_in_use",
    "config_sha256", "run_dir",
]  # fmt: skip
METRICS = {  # column → what it is, for the tables' headings
    "final_score": "final score: exact-eval mean return at θ, last iteration",
    "best_score": "best score: return of the run's best exact evaluation (by the search space's"
    " selection score: the return, unless the space scores size too)",
    "episodes_to_threshold": "episodes until the exact-eval mean first reached the threshold",
}
STATS = ("mean", "median", "iqm")
SIZE_KEYS = ("edges", "live_edges", "multiplications", "live_multiplications", "params_in_use")
COST_KEYS = ("episodes", "env_steps", "wall_time_s", "best_edges", "best_live_edges")


def run_row(
    item: StudyRun, threshold: float | None, out: Path, m: dict[str, np.ndarray]
) -> dict[str, Any]:
    reached: Any = np.flatnonzero(m["score_mean"] >= threshold) if threshold is not None else []
    size = _best_size(item.run_dir / "best" / "architecture.json")
    return {
        "variant": item.variant.name,
        "seed": item.seed,
        "final_score": float(m["score_mean"][-1]),
        "best_score": _last_finite(m["best_score"]),
        "episodes": int(m["episodes"][-1]),
        "env_steps": int(m["env_steps"][-1]),
        "wall_time_s": float(m["wall_time"][-1]),
        "episodes_to_threshold": int(m["episodes"][reached[0]]) if len(reached) else math.nan,
        "best_edges": size.get("edges", math.nan),
        "best_live_edges": size.get("live_edges", math.nan),
        "best_multiplications": size.get("multiplications", math.nan),
        "best_live_multiplications": size.get("live_multiplications", math.nan),
        "best_params_in_use": size.get("params_in_use", math.nan),
        "config_sha256": config_sha256(item.config.to_dict()),
        "run_dir": str(item.run_dir.relative_to(out)),
    }


def _best_size(path: Path) -> dict[str, float]:
    """The best architecture's size counts (SIZE_KEYS); NaN where
    the run recorded none; a damaged file is one line naming it."""
    try:
        size = fields.table(json.loads(path.read_text(encoding="utf-8")), "").get("size", {})
        return {
            k: fields.integer(v, f"size.{k}")
            for k, v in fields.table(size, "size").items()
            if k in SIZE_KEYS
        }
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: {exc}") from None


def _last_finite(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else math.nan


def variant_stats(
    study: Study, rows: Sequence[dict[str, Any]]
) -> dict[str, dict[str, dict[str, Estimate]]]:
    """variant → metric → statistic → estimate (variants without finished runs left out)."""
    out: dict[str, dict[str, dict[str, Estimate]]] = {}
    metrics = [m for m in METRICS if m != "episodes_to_threshold" or study.threshold is not None]
    for v in study.variants:
        rs = [r for r in rows if r["variant"] == v.name]
        if rs:
            out[v.name] = {
                m: estimates([r[m] for r in rs], study.bootstrap_seed, f"{v.name}/{m}")
                for m in metrics
            }
    return out


def improvements(study: Study, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], Estimate]:
    """(A, B) → P(A > B) of the final score, for every ordered pair of variants with runs."""
    scores = {
        v.name: [r["final_score"] for r in rows if r["variant"] == v.name] for v in study.variants
    }
    names = [n for n, s in scores.items() if s]
    out: dict[tuple[str, str], Estimate] = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            e = improvement(scores[a], scores[b], study.bootstrap_seed, f"{a}>{b}")
            out[a, b] = e
            out[b, a] = Estimate(1 - e.value, 1 - e.high, 1 - e.low, e.n)
    return out


def _fmt(e: Estimate, digits: int = 1) -> str:
    if e.n == 0 or math.isnan(e.value):
        return "—"
    ci = "" if math.isnan(e.low) else f" [{e.low:.{digits}f}, {e.high:.{digits}f}]"
    return f"{e.value:.{digits}f}{ci}"


def write_results(
    study: Study,
    planned: Sequence[StudyRun],
    out: Path,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    rows, metrics = [], {}
    for p in planned:
        if not p.finished:
            continue
        try:
            m = read_metrics(p.run_dir)
            rows.append(run_row(p, study.threshold, out, m))
            metrics[p.run_dir] = m
        except (EsenasError, OSError, ValueError, KeyError, IndexError) as exc:
            log(f"{p.label}: left out of the tables: cannot read its results ({exc})")
    _write_csv(out / "runs.csv", RUN_COLUMNS, rows)
    stats = variant_stats(study, rows)
    pairs = improvements(study, rows)
    columns = ["variant", "runs"]
    table = []
    for name, by_metric in stats.items():
        rs = [r for r in rows if r["variant"] == name]
        row: dict[str, Any] = {"variant": name, "runs": len(rs)}
        for metric, by_stat in by_metric.items():
            for stat, e in by_stat.items():
                for suffix, value in (("", e.value), ("_low", e.low), ("_high", e.high)):
                    row[f"{metric}_{stat}{suffix}"] = value
            if metric == "episodes_to_threshold":
                row["threshold_reached_runs"] = by_stat["mean"].n
        for key in (*COST_KEYS, "best_multiplications", "best_live_multiplications"):
            values = np.array([r[key] for r in rs], dtype=np.float64)
            row[f"{key}_mean"] = (
                float(values[~np.isnan(values)].mean()) if np.any(~np.isnan(values)) else math.nan
            )
        table.append(row)
        columns += [c for c in row if c not in columns]
    _write_csv(out / "results.csv", columns, table)
    _write_csv(
        out / "improvement.csv",
        ["a", "b", "p_a_beats_b", "low", "high"],
        [
            {"a": a, "b": b, "p_a_beats_b": e.value, "low": e.low, "high": e.high}
            for (a, b), e in pairs.items()
        ],
    )
    fronts = write_fronts(study, planned, metrics, out)
    ratios = write_relative(study, rows, out)
    (out / "results.md").write_text(
        _markdown(study, rows, stats, pairs, fronts, ratios), encoding="utf-8"
    )
    plot_curves(study, planned, metrics, out / "curves.png")
    return rows


def write_fronts(
    study: Study, planned: Sequence[StudyRun], metrics: dict[Path, Any], out: Path
) -> dict[str, list[dict[str, Any]]]:
    """pareto.csv and pareto.png: each variant's front over the evaluations of all its runs."""
    series, fronts, table = {}, {}, []
    for v in study.variants:
        parts = [
            (p.seed, ev)
            for p in planned
            if p.variant == v and p.run_dir in metrics
            for ev in [read_evaluations(p.run_dir)]
            if ev is not None
        ]
        if not parts:
            continue
        pooled = {k: np.concatenate([ev[k] for _, ev in parts]) for k in parts[0][1]}
        seeds = np.concatenate([np.full(ev["return"].size, seed) for seed, ev in parts])
        series[v.name] = (pooled["return"], pooled["multiplications"])
        fronts[v.name] = front_rows(v.name, pooled, seed=seeds)
        table += fronts[v.name]
    if series:  # runs that record their evaluations (evaluations.csv)
        columns = ["variant", "multiplications", "return", "seed", "iteration"]
        _write_csv(out / "pareto.csv", columns, table)
        plot_fronts(series, out / "pareto.png", f"study {study.name}: size against reward")
    return fronts


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)


def _md_table(head: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    return lines + ["| " + " | ".join(cells) + " |" for cells in body]


def _markdown(
    study: Study,
    rows: Sequence[dict[str, Any]],
    stats: dict[str, dict[str, dict[str, Estimate]]],
    pairs: dict[tuple[str, str], Estimate],
    fronts: dict[str, list[dict[str, Any]]],
    ratios: Sequence[str] = (),
) -> str:
    seeds = ", ".join(map(str, study.seeds))
    lines = [
        f"# Study {study.name}",
        "",
        f"Seeds [{seeds}]; finished runs only. Each cell: estimate [95 % CI], a percentile"
        " bootstrap over the variant's runs (bootstrap_seed ="
        f" {study.bootstrap_seed}; docs/ablation.md says how to read them). IQM = mean of the"
        " middle 50 % of runs (the mean below 4 runs).",
        "",
    ]
    fewest = min((sum(r["variant"] == n for r in rows) for n in stats), default=0)
    if 0 < fewest < 5:
        lines += [
            f"**Only {fewest} run(s) for some variant**: a bootstrap over so few runs gives"
            " intervals close to the range of the runs, and P(A > B) moves in coarse steps;"
            " read differences as a direction, not a verdict (5+ seeds for a claim).",
            "",
        ]
    for metric, title in METRICS.items():
        if metric == "episodes_to_threshold":
            if study.threshold is None:
                continue
            title = f"{title} ({study.threshold:g}), over the runs that reached it"
        lines += [f"## {title[0].upper()}{title[1:]}", ""]
        digits = 0 if metric == "episodes_to_threshold" else 1
        head = ["variant", "runs", "mean", "median", "IQM"]
        body = []
        for name, by_metric in stats.items():
            n = sum(r["variant"] == name for r in rows)
            by_stat = by_metric[metric]
            runs = str(n) if metric != "episodes_to_threshold" else f"{by_stat['mean'].n} of {n}"
            body.append([name, runs, *(_fmt(by_stat[s], digits) for s in STATS)])
        lines += [*_md_table(head, body), ""]
    lines += ["## Cost and the best architecture's size (mean over runs)", ""]
    head = [
        "variant", "episodes", "env steps", "wall time (s)", "edges (best architecture)",
        "live edges = multiplications per action (best architecture)",
    ]  # fmt: skip
    body = []
    for name in stats:
        rs = [r for r in rows if r["variant"] == name]

        def mean(key: str, rs: list[dict[str, Any]] = rs) -> str:
            v = np.array([r[key] for r in rs], dtype=float)
            return (
                "—"
                if np.all(np.isnan(v))
                else f"{np.nanmean(v):.{1 if key == 'wall_time_s' else 0}f}"
            )

        body.append(
            [
                name,
                *(mean(k) for k in COST_KEYS),
            ]
        )
    lines += [*_md_table(head, body), ""]
    names = list(stats)
    if len(names) > 1:
        lines += [
            "## Probability of improvement P(row > column) of the final score [95 % CI]",
            "",
            "The chance that a random run of the row's variant ends higher than one of the"
            " column's (ties count ½). An interval that excludes 0.5 is a difference these seeds"
            " resolve.",
            "",
        ]
        body = [[a, *("—" if a == b else _fmt(pairs[a, b], 2) for b in names)] for a in names]
        lines += [*_md_table(["P(row > column)", *names], body), ""]
    lines += ratios
    lines += ["![learning curves: IQM with 95 % bootstrap bands](curves.png)", ""]
    if fronts:
        lines += [
            "## Size against reward",
            "",
            "Each variant's Pareto front over the exact evaluations of all its runs: the best"
            " return seen at each number of multiplications per action (more in pareto.csv).",
            "",
        ]
        body = []
        for name, points in fronts.items():
            shown = "; ".join(f"{p['multiplications']} → {p['return']:.1f}" for p in points[-6:])
            more = f" (and {len(points) - 6} smaller)" if len(points) > 6 else ""
            body.append([name, shown + more])
        lines += [*_md_table(["variant", "multiplications → best return"], body), ""]
        lines += ["![size against reward](pareto.png)", ""]
    return "\n".join(lines)


def plot_curves(
    study: Study,
    planned: Sequence[StudyRun],
    metrics: dict[Path, dict[str, np.ndarray]],
    target: Path,
) -> None:
    """Exact-eval mean vs episodes per variant: IQM over runs with its 95 % bootstrap band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, v in enumerate(study.variants):
        runs = [metrics[p.run_dir] for p in planned if p.variant == v and p.run_dir in metrics]
        if not runs:
            continue
        length = min(len(r["score_mean"]) for r in runs)
        scores = np.array([r["score_mean"][:length] for r in runs])
        episodes = np.mean([r["episodes"][:length] for r in runs], axis=0)
        mid, low, high = curve_band(scores, study.bootstrap_seed, v.name)
        ax.plot(episodes, mid, color=f"C{i}", label=f"{v.name} ({len(runs)} runs)")
        ax.fill_between(episodes, low, high, color=f"C{i}", alpha=0.2, linewidth=0)
    if study.threshold is not None:
        ax.axhline(
            study.threshold, color="0.5", linestyle=":", label=f"threshold {study.threshold:g}"
        )
    ax.set_xlabel("episodes")
    ax.set_ylabel("exact-eval mean return at θ (IQM over runs)")
    ax.set_title(f"study {study.name}: IQM with 95 % bootstrap CI")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # no finished run: nothing to label
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
