"""The estimator's own tests: the public checker, its entry point, and a run that improves."""

import numpy as np
import pytest
from esenas_input_mask.cem import CEM

from esenas_core import ConfigError, get_registries, optimize
from esenas_core.estimators import check_estimator


def test_conformance() -> None:
    ran = check_estimator(CEM, workers=0)
    assert "update pure and replayed bit for bit" in ran


@pytest.mark.slow  # worker processes
def test_same_bits_in_worker_processes() -> None:
    assert "serial and 2 worker processes agree bit for bit" in check_estimator(CEM)


def test_found_through_its_entry_point() -> None:
    entry = get_registries()["estimator"].get("cem")
    assert entry.cls is CEM
    assert entry.source == "esenas-input-mask"


def config(**estimator) -> dict:
    return {
        "iterations": 30,
        "task": {"name": "function", "obs_dim": 6, "act_dim": 1, "function": ""},
        "search_space": {"name": "dense"},
        "estimator": {"name": "cem", **estimator},
        "es": {"num_perturbations": 32, "exact_evals": 1, "sigma": 0.5, "obs_norm": False},
    }


def test_it_minimizes_a_sphere() -> None:
    target = np.linspace(-1.0, 1.0, 7)
    search = optimize(lambda arch, theta: -float(np.sum((theta - target) ** 2)), config())
    first = search.rows[0]["score_mean"]
    assert first < -1.0 and search.best.score > first / 10, (first, search.best.score)


def test_too_small_an_elite_is_refused() -> None:
    with pytest.raises(ConfigError, match="keeps fewer than 2 directions"):
        optimize(lambda arch, theta: 0.0, config(elite_fraction=0.01))
