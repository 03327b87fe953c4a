"""``esenas report``: learning curves, a picture of the best architecture, a Markdown summary."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from esenas_core.config import load_config
from esenas_core.errors import RunError
from esenas_core.evaluate import load_best
from esenas_core.interfaces import Architecture
from esenas_core.pareto import front_rows, plot_fronts, read_evaluations
from esenas_core.plugins import Registries


def read_metrics(run_dir: Path) -> dict[str, np.ndarray]:
    path = Path(run_dir) / "metrics.csv"
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        raise RunError(f"{run_dir}: no metrics.csv (not a run directory?)") from None
    if not rows:
        raise RunError(f"{path}: no iterations recorded yet")
    return {k: np.array([float(r[k]) if r[k] != "" else math.nan for r in rows]) for k in rows[0]}


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
    """Nodes by layer, kept edges as lines (colour = shared weight, node colour = op)."""
    net = getattr(space, "net", None)
    if net is None:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = net.sizes
    pos = {}
    for layer, size in enumerate(sizes):
        for j in range(size):
            pos[int(net.starts[layer]) + j] = (layer, (j - (size - 1) / 2) / max(sizes))
    mask = space.edge_mask(arch)
    colours = arch.parts.get("colours")
    fig, ax = plt.subplots(figsize=(2.5 + 1.8 * len(sizes), 6))
    cmap = plt.get_cmap("tab20")
    for e, (src, dst) in enumerate(net.edge_list()):
        if mask[e]:
            (x0, y0), (x1, y1) = pos[int(src)], pos[int(dst)]
            colour = cmap(int(colours[e]) % 20) if colours is not None else "0.35"
            ax.plot([x0, x1], [y0, y1], color=colour, linewidth=0.6, alpha=0.7)
    ops = arch.parts.get("node_ops")
    xs, ys = zip(*pos.values(), strict=True)
    ax.scatter(xs, ys, s=18, color="black", zorder=3)
    if ops is not None:
        hidden = [n for n in pos if sizes[0] <= n < int(net.starts[-2])]
        for node, op in zip(hidden, ops, strict=True):
            x, y = pos[node]
            ax.annotate(
                space.op_names[int(op)],
                (x, y),
                fontsize=6,
                xytext=(3, 2),
                textcoords="offset points",
            )
    ax.set_xticks(range(len(sizes)))
    ax.set_xticklabels(["input", *[f"hidden {i + 1}" for i in range(len(sizes) - 2)], "output"])
    ax.set_yticks([])
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return True


def make_report(run_dir: Path, registries: Registries) -> Path:
    """Write ``run_dir/report/`` (learning_curves.png, architecture.png, pareto.png, summary.md)."""
    run_dir = Path(run_dir)
    metrics = read_metrics(run_dir)
    cfg = load_config(run_dir / "config.toml", [], registries)
    out = run_dir / "report"
    out.mkdir(exist_ok=True)
    env = getattr(cfg.task.options, "env_id", cfg.task.name)
    title = f"{cfg.name}: {env}, {cfg.search_space.name} / {cfg.controller.name}"
    plot_learning_curves(metrics, out / "learning_curves.png", title)
    lines = [
        f"# {cfg.name}",
        "",
        f"- task: {cfg.task.name} {env}",
        f"- search space: {cfg.search_space.name}, controller: {cfg.controller.name},"
        f" backend: {cfg.backend.name}, seed {cfg.seed}",
        f"- iterations: {len(metrics['iteration'])} of {cfg.iterations},"
        f" episodes: {int(metrics['episodes'][-1])}, env steps: {int(metrics['env_steps'][-1])},"
        f" wall time: {metrics['wall_time'][-1]:.1f} s",
        f"- score (exact-eval mean at θ): first {metrics['score_mean'][0]:.2f},"
        f" final {metrics['score_mean'][-1]:.2f},"
        f" best episode {np.nanmax(metrics['best_score']):.2f}",
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
    try:
        meta, _ = load_best(run_dir)
    except RunError:
        meta = None
    if meta is not None:
        task = registries.create("task", cfg.task.name, cfg.task.options)
        space = registries.create(
            "search_space", cfg.search_space.name, cfg.search_space.options, task.spec()
        )
        arch = space.decode(Architecture.from_json(meta["architecture"]).genome)
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
        lines += ["```json", json.dumps(meta["architecture"]["genome"]), "```", ""]
    (out / "summary.md").write_text("\n".join(lines), encoding="utf-8")
    return out
