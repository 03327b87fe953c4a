"""The training loop: determinism, failure handling, controller feedback, best tracking."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import make_trainer, small_config, untimed

from esenas_core import RunError
from esenas_core.api.plugins import Registries
from esenas_core.engine.es import antithetic_weights, combine
from esenas_core.engine.iteration import build_requests
from esenas_core.engine.trainer import Trainer
from esenas_core.runs.rundir import RunDirectory


def small_trainer(
    registries: Registries, run_dir: RunDirectory | None = None, **sections
) -> Trainer:
    return make_trainer(registries, small_config(**sections), run_dir)


def test_same_config_and_seed_give_identical_runs(registries: Registries) -> None:
    a = small_trainer(registries)
    a.train()
    b = small_trainer(registries)
    b.train()
    assert untimed(a.history) == untimed(b.history)
    np.testing.assert_array_equal(a.theta, b.theta)
    c = small_trainer(registries, seed=4)
    c.train()
    assert not np.array_equal(a.theta, c.theta)


@pytest.mark.parametrize("failure", ["raise", "nan"])
def test_failed_rollouts_are_dropped_with_their_partner(
    registries: Registries, failure: str
) -> None:
    sections = {
        "task": {"name": "flaky", "max_episode_steps": 60, "fail_mod": 3, "failure": failure},
        "es": {"num_perturbations": 12, "min_valid_fraction": 0.2},
    }
    trainer = small_trainer(registries, **sections)
    theta0 = trainer.theta.copy()
    genomes_probe = trainer.exp.controller.state()
    row = trainer.step()
    assert row["failures"] > 0
    assert row["valid_units"] < 12

    # Recompute the update from scratch: only pairs whose two members both succeeded count.
    fresh = small_trainer(registries, **sections)
    fresh.exp.controller.restore(genomes_probe)
    genomes = fresh.exp.controller.propose(12 + 2)
    requests, seeds = build_requests(fresh.cfg.es, genomes, fresh.cfg.seed, 0, row["retries"])
    from esenas_core.backends import Job

    job = Job(fresh.exp.worker_spec, theta0, 0.1, np.zeros(4), np.ones(4))
    results = fresh.exp.backend.evaluate(job, requests)
    ok = [i for i in range(12) if results[2 * i].ok and results[2 * i + 1].ok]
    assert len(ok) == row["valid_units"]
    # A failed member never leaks a value into the estimate.
    assert any(results[2 * i].ok != results[2 * i + 1].ok for i in range(12))
    fp = np.array([results[2 * i].episode.reward for i in ok])
    fm = np.array([results[2 * i + 1].episode.reward for i in ok])
    expected = theta0 + 0.05 * combine(
        antithetic_weights(fp, fm, 0.1), [seeds[i] for i in ok], theta0.size
    )
    np.testing.assert_allclose(trainer.theta, expected)
    # Controller feedback only for finished pairs and exact evaluations.
    exact_ok = sum(r.ok for r in results[24:])
    assert row["controller_feedback"] == len(ok) + exact_ok


def test_quorum_exhausted_stops_with_clear_error(registries: Registries) -> None:
    trainer = small_trainer(
        registries,
        task={"name": "flaky", "env_id": "CartPole-v1", "fail_mod": 1},
        es={"max_retries": 1},
    )
    with pytest.raises(
        RunError,
        match=r"iteration 1: fewer than 4 of 6 perturbations succeeded in each of 2"
        r" attempts; last error: RuntimeError: injected failure",
    ):
        trainer.step()


def test_retry_uses_fresh_seeds_and_is_counted(registries: Registries) -> None:
    trainer = small_trainer(
        registries,
        task={"name": "flaky", "env_id": "CartPole-v1", "max_episode_steps": 30, "fail_mod": 3},
        es={"num_perturbations": 8, "min_valid_fraction": 0.5, "max_retries": 10},
    )
    rows = [trainer.step() for _ in range(3)]
    assert sum(r["retries"] for r in rows) > 0
    assert all(r["valid_units"] >= 4 for r in rows)


def test_run_directory_contents(registries: Registries, tmp_path: Path) -> None:
    run_dir = RunDirectory.create(tmp_path / "run")
    trainer = small_trainer(registries, run_dir)
    trainer.train()
    trainer.save_final()
    lines = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert len(lines) == 1 + 3
    assert lines[0].startswith("iteration,episodes,env_steps,score_mean")
    best = json.loads((tmp_path / "run" / "best" / "architecture.json").read_text())
    assert best["score"] == trainer.best.score == max(r["best_score"] for r in trainer.history)
    assert best["size"]["edges"] == 20
    with np.load(tmp_path / "run" / "best" / "weights.npz", allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["theta"], trainer.best.theta)
    with np.load(tmp_path / "run" / "final" / "weights.npz", allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["theta"], trainer.theta)


def test_existing_run_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "metrics.csv").write_text("")
    from esenas_core import ConfigError

    with pytest.raises(ConfigError, match="already exists and is not empty"):
        RunDirectory.create(tmp_path / "x")


def test_observation_statistics_accumulate(registries: Registries) -> None:
    trainer = small_trainer(registries)
    trainer.step()
    assert trainer.obs.count == trainer.state.env_steps
    mean, std = trainer._normalization()
    assert np.all(std >= 0.01) and not np.allclose(mean, 0.0)
    off = small_trainer(registries, es={"obs_norm": False})
    off.step()
    mean, std = off._normalization()
    assert np.all(mean == 0.0) and np.all(std == 1.0)
