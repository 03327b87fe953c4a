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
