"""Size against reward: the Pareto front, and best/ chosen by the search space's objective."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from conftest import esenas, small_config

from esenas_core.runs.pareto import front

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only


def test_front_keeps_exactly_the_non_dominated_points() -> None:
    returns = [5.0, 7.0, 6.0, 7.0, 1.0, float("nan"), 9.0]
    mults = [10, 20, 20, 30, 5, 1, 50]
    idx = front(returns, mults)
    assert idx.tolist() == [4, 0, 1, 6]  # (5, 1.0), (10, 5.0), (20, 7.0), (50, 9.0)
    rng = np.random.default_rng(0)  # against a brute-force dominance check
    r, m = rng.normal(size=200), rng.integers(1, 40, 200).astype(float)
    brute = {
        i
        for i in range(200)
        if not any(
            (r[j] >= r[i] and m[j] <= m[i]) and (r[j] > r[i] or m[j] < m[i]) for j in range(200)
        )
    }
    assert set(front(r, m).tolist()) == brute


def run_mask(tmp_path: Path, objective: str) -> Path:
    config = small_config(
        iterations=4,
        search_space={
            "name": "mask",
            "mask": {"hidden": [4], "objective": objective, "target_multiplications": 6},
        },
        es={"num_perturbations": 6, "exact_evals": 4, "sigma": 0.1, "learning_rate": 0.05},
    )
    (tmp_path / f"{objective}.toml").write_text(tomli_w.dumps(config))
    run = tmp_path / objective
    res = esenas("run", str(tmp_path / f"{objective}.toml"), "--run-dir", str(run), "--quiet")
    assert res.returncode == 0, res.stderr
    return run


def evaluations(run: Path) -> list[dict[str, float]]:
    with open(run / "evaluations.csv", newline="") as fh:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]


def test_best_is_chosen_by_the_scalarized_objective_not_by_return(tmp_path: Path) -> None:
    run = run_mask(tmp_path, "scalarized")
    rows = evaluations(run)
    assert len(rows) == 4 * 4
    best = json.loads((run / "best" / "architecture.json").read_text())
    top = max(rows, key=lambda r: r["objective"])
    assert best["objective"] == top["objective"] and best["score"] == top["return"]
    assert best["size"]["multiplications"] == top["multiplications"]
    # the objective really trades size for return: (R + 1000) / (m / 6) above the target, m the
    # live multiplications (edges on an input→output path)
    assert any(r["live_multiplications"] < r["multiplications"] for r in rows)
    for r in rows:
        ratio = r["live_multiplications"] / 6
        expected = (r["return"] + 1000) * (ratio**-1.0 if ratio > 1 else 1.0)
        assert np.isclose(r["objective"], expected)


def test_best_is_the_highest_return_under_the_reward_objective(tmp_path: Path) -> None:
    run = run_mask(tmp_path, "reward")
    rows = evaluations(run)
    best = json.loads((run / "best" / "architecture.json").read_text())
    assert best["score"] == max(r["return"] for r in rows)
    res = esenas("report", str(run))
    assert res.returncode == 0, res.stderr
    summary = (run / "report" / "summary.md").read_text()
    table = summary.split("## Size against reward", 1)[1]
    points = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line][
        1:
    ]
    listed = [(float(p.split("|")[1]), float(p.split("|")[2])) for p in points]
    live = [r["live_multiplications"] for r in rows]  # the front counts live multiplications
    idx = front([r["return"] for r in rows], live)
    assert listed == [(live[i], round(rows[i]["return"], 2)) for i in idx]
