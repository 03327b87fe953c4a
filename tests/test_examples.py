"""Every example config is valid and trains end to end (shortened to 2 iterations)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, make_trainer

from esenas_core.api.plugins import get_registries
from esenas_core.runs.config import load_config

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only

EXAMPLES = sorted((REPO / "examples").glob("*.toml"))


def test_there_is_an_example_per_search_space() -> None:
    spaces = set()
    for path in EXAMPLES:
        cfg = load_config(path, [], get_registries())
        spaces.add(cfg.search_space.name)
    assert {"edges", "partitions", "ops", "mask", "dense"} <= spaces


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_trains(path: Path) -> None:
    overrides = ["iterations=2", "es.num_perturbations=4", "es.exact_evals=2"]
    cfg = load_config(path, overrides, get_registries())
    trainer = make_trainer(get_registries(), cfg)
    trainer.train()
    assert len(trainer.history) == 2
    assert np.isfinite(trainer.history[-1]["score_mean"])
    assert trainer.history[-1]["valid_units"] == 4


def _script(*args: str) -> str:
    import subprocess
    import sys

    from conftest import cli_env

    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=cli_env(), timeout=900
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_objective_example_finds_the_target_coordinates() -> None:
    out = _script(str(REPO / "examples" / "objective.py"))
    chosen, target = out.strip().splitlines()[-1].split("; the target's: ")
    assert chosen.removeprefix("coordinates chosen: ") == target, out


def test_the_optuna_example_tunes_and_prunes(tmp_path: Path) -> None:
    import tomli_w

    config = {
        "iterations": 12,
        "task": {"name": "hybrid", "obs_dim": 3, "act_dim": 2, "active": 3},
        "search_space": {"name": "edges", "hidden": [4], "k": 10},
        "es": {"num_perturbations": 8, "exact_evals": 2},
    }
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(config))
    out = _script(str(REPO / "examples" / "optuna_tuning.py"), str(path), "--trials", "12")
    best, pruned = out.strip().splitlines()[-1].rsplit("(", 1)
    assert best.startswith("best: ") and "'sigma'" in best and "'learning_rate'" in best
    assert int(pruned.split()[0]) >= 1, out  # the median pruner stopped at least one trial
