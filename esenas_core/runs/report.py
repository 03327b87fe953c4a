"""``esenas report``: learning curves, a picture of the best architecture, a Markdown summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from esenas_core.api.errors import RunError
from esenas_core.api.interfaces import Architecture
from esenas_core.api.plugins import Registries, call_plugin
from esenas_core.runs.csvread import read_numeric_csv
from esenas_core.runs.evaluate import best_architecture, load_best, load_run_plugins
from esenas_core.runs.manifest import manifest_text, read_manifest
from esenas_core.runs.pareto import front_rows, plot_fronts, read_evaluations


def read_metrics(run_dir: Path) -> dict[str, np.ndarray]:
    path = Path(run_dir) / "metrics.csv"
    try:
        metrics = read_numeric_csv(path, required=_REQUIRED, integers=_COUNTS)
    except FileNotFoundError:
        raise RunError(f"{run_dir}: no metrics.csv (not a run directory?)") from None
    if not len(metrics["iteration"]):
        raise RunError(f"{path}: no iterations recorded yet")
    return metrics


_COUNTS = ("iteration", "episodes", "env_steps")
_REQUIRED = (*_COUNTS, "wall_time", "score_mean", "score_std", "best_score")


def plot_learning_curves(metrics: dict[str, np.ndarray], target: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, x_key, label in (
        (axes[0], "episodes", "episodes"),
        (axes[1], "wall_time", "wall time (s)"),
    ):
        x, mean, std = metrics[x_key], metrics["score_mean"], metrics["score_std"]
        ax.plot(x, mean, label="exact-eval mean at θ", color="C0")
        ax.fill_between(x, mean - std, mean + std, color="C0", alpha=0.25, label="± std")
        ax.plot(x, metrics["best_score"], label="best so far", color="C1", linestyle="--")
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("episode return")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)


def plot_architecture(space: Any, arch: Architecture, target: Path, title: str) -> bool:
    """The space's own picture of ``arch`` (``SearchSpace.draw``); False if it has none."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 2.5 + 1.8 * len(getattr(getattr(space, "net", None), "sizes", [0, 0, 0]))
    fig, ax = plt.subplots(figsize=(width, 6))
    try:
        drawn = call_plugin(space.draw, "search_space", space.name, "", arch, ax)
        if drawn:
            ax.set_title(title)
            fig.tight_layout()
            fig.savefig(target, dpi=110)
    finally:
        plt.close(fig)
    return bool(drawn)


def _stopped(run_dir: Path) -> list[str]:
    """The stopping rule that ended the run, from its checkpoint (none: ran to iterations)."""
    try:
        state = json.loads((run_dir / "checkpoint" / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    rule = state.get("stopped_by") if isinstance(state, dict) else None
    return [f"- stopped by: {rule}"] if isinstance(rule, str) else []


def make_report(run_dir: Path, registries: Registries) -> Path:
    """Write ``run_dir/report/`` (learning_curves.png, architecture.png, pareto.png, summary.md)."""
    run_dir = Path(run_dir)
    metrics = read_metrics(run_dir)
    cfg, task, space = load_run_plugins(run_dir, registries, imports=False)
    out = run_dir / "report"
    out.mkdir(exist_ok=True)
    env = call_plugin(task.label, "task", cfg.task.name, "") or cfg.task.name
    title = f"{cfg.name}: {env}, {cfg.search_space.name} / {cfg.controller.name}"
    plot_learning_curves(metrics, out / "learning_curves.png", title)
    lines = [
        f"# {cfg.name}",
        "",
        f"- task: {' '.join(dict.fromkeys([cfg.task.name, env]))}",
        f"- search space: {cfg.search_space.name}, controller: {cfg.controller.name},"
        f" backend: {cfg.backend.name}, seed {cfg.seed}",
        f"- iterations: {len(metrics['iteration'])} of {cfg.iterations},"
        f" episodes: {int(metrics['episodes'][-1])}, env steps: {int(metrics['env_steps'][-1])},"
        f" wall time: {metrics['wall_time'][-1]:.1f} s",
        f"- score (exact-eval mean at θ): first {metrics['score_mean'][0]:.2f},"
        f" final {metrics['score_mean'][-1]:.2f},"
        f" best episode {np.nanmax(metrics['best_score']):.2f}",
        *_stopped(run_dir),
        f"- made by: {manifest_text(read_manifest(run_dir))}",
        "",
        "![learning curves](learning_curves.png)",
        "",
    ]
    evaluations = read_evaluations(run_dir)
    if evaluations is not None:
        plot_fronts(
            {cfg.name: (evaluations["return"], evaluations["multiplications"])},
            out / "pareto.png",
            f"{title}: size against reward",
        )
        points = front_rows(cfg.name, evaluations)
        lines += [
            "## Size against reward",
            "",
            f"The Pareto front of the run's {len(evaluations['return'])} exact evaluations:"
            " no other evaluated architecture has a higher return with at most as many"
            " multiplications per action.",
            "",
            "| multiplications per action | return | iteration |",
            "| --- | --- | --- |",
            *(f"| {p['multiplications']} | {p['return']:.2f} | {p['iteration']} |" for p in points),
            "",
            "![size against reward](pareto.png)",
            "",
        ]
    meta = None
    if (run_dir / "best").exists() or (run_dir / "best.old").exists():
        meta, arrays = load_best(run_dir)  # a damaged best/ is one line naming the file
        arch = best_architecture(run_dir, meta, arrays, space, task.spec().obs_dim)
    if meta is not None:
        size = space.describe(arch)
        lines += [
            "## Best architecture",
            "",
            f"Score {meta['score']:.2f} at iteration {meta['iteration']}: "
            + ", ".join(f"{k} {v}" for k, v in size.items()),
            "",
        ]
        if plot_architecture(
            space, arch, out / "architecture.png", f"best architecture ({size['edges']} edges)"
        ):
            lines += ["![best architecture](architecture.png)", ""]
        label = call_plugin(space.label, "search_space", cfg.search_space.name, "", arch)
        lines += [
            f"Choices: {label}",
            "",
            "Genome:",
            "",
            "```json",
            json.dumps(meta["architecture"]["genome"]),
            "```",
            "",
        ]
    (out / "summary.md").write_text("\n".join(lines), encoding="utf-8")
    return out
