"""Perturbation directions from a seed or from the shared noise table (esenas_core.engine.noise)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_trainer, small_config

from esenas_core import ConfigError
from esenas_core.api.plugins import Registries
from esenas_core.api.records import NoiseSpec
from esenas_core.engine.experiment import Experiment
from esenas_core.engine.noise import combine, direction, offsets, table
from esenas_core.runs.config import build_config

SMALL = NoiseSpec("table", 2**16)


def test_a_table_direction_is_a_slice_of_the_table_at_the_seeds_offset() -> None:
    seed, dim = 123_456_789_012, 300
    start = int(offsets([seed], SMALL.table_size, dim)[0])
    assert 0 <= start <= SMALL.table_size - dim
    np.testing.assert_array_equal(
        direction(SMALL, seed, dim), table(SMALL.table_size)[start : start + dim]
    )
    assert direction(SMALL, seed, dim).dtype == np.float64
    assert not np.array_equal(direction(SMALL, seed, dim), direction(SMALL, seed + 1, dim))


def test_the_table_is_the_same_in_every_process_and_standard_normal() -> None:
    import subprocess
    import sys

    code = "from esenas_core.engine.noise import table; import sys; print(table(4096)[:5].tolist())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == str(table(4096)[:5].tolist())
    values = table(2**16)
    assert values.dtype == np.float32 and not values.flags.writeable
    assert abs(values.mean()) < 0.02 and abs(values.std() - 1.0) < 0.02


@pytest.mark.parametrize("count", [0, 1, 7, 8, 9, 64, 101])
@pytest.mark.parametrize("kind", ["seeded", "table"])
def test_combine_is_the_weighted_sum_of_the_directions(count: int, kind: str) -> None:
    spec = NoiseSpec(kind, 2**16)
    rng = np.random.default_rng(count)
    dim = 257
    weights = rng.standard_normal(count)
    seeds = rng.integers(0, 2**62, count)
    expected = np.zeros(dim)
    for w, s in zip(weights, seeds, strict=True):
        expected += w * direction(spec, int(s), dim)
    np.testing.assert_allclose(combine(spec, weights, seeds, dim), expected, rtol=1e-12, atol=1e-12)


def test_a_table_shorter_than_theta_is_a_config_error(registries: Registries) -> None:
    data = small_config(es={"noise": "table", "noise_table_size": 10})
    with pytest.raises(ConfigError, match="noise_table_size = 10 is shorter than θ"):
        Experiment.build(build_config(data, registries), registries)


def test_the_noise_option_changes_the_directions_a_run_uses(registries: Registries) -> None:

    thetas = []
    for noise in ("seeded", "table"):
        data = small_config(iterations=1, es={"noise": noise, "noise_table_size": 2**16})
        trainer = make_trainer(registries, data)
        trainer.train()
        thetas.append(trainer.theta)
    assert not np.array_equal(*thetas)
