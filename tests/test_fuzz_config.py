"""Fuzzed configs: every mutated leaf either validates or is a one-line ConfigError, never a crash.

Each case takes a valid config, replaces one leaf (or adds an unknown key) with a value drawn
from types and extremes — NaN/inf, huge and negative integers, empty and odd strings, wrong
tables and lists — and builds the config and the experiment's plugins, as `esenas run` does before
it creates a run directory. Anything but success or an ``EsenasError`` (the CLI's one line and
exit 2) fails the test.
"""

from __future__ import annotations

import math

import pytest
from fuzzing import BASE, PATHS, mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esenas_core.api.errors import EsenasError
from esenas_core.api.plugins import Registries
from esenas_core.engine.experiment import Experiment
from esenas_core.runs.config import build_config

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only

VALUES = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0, 1, -1, 2**63, 10**12]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324]),
    st.text(max_size=12),
    st.sampled_from(["", " ", "../x", "a/b", "\x00", "tanh", "residual", "random", "serial"]),
    st.booleans(),
    st.lists(st.integers(min_value=-5, max_value=10**9), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(path=st.sampled_from(PATHS), value=VALUES)
def test_a_mutated_config_validates_or_is_a_config_error(
    registries: Registries, path: tuple, value: object
) -> None:
    data = mutate(path, value)
    try:
        config = build_config(data, registries, "fuzz.toml")
        experiment = Experiment.build(config, registries)
    except EsenasError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    experiment.task.close() if hasattr(experiment.task, "close") else None
    assert config.iterations >= 1


def test_the_unmutated_base_is_valid(registries: Registries) -> None:
    Experiment.build(build_config(BASE, registries), registries)


@pytest.mark.parametrize("path", PATHS[:3])
def test_mutate_touches_only_one_leaf(path: tuple) -> None:
    assert mutate(path, "x") != BASE
