"""check_estimator: every registered estimator passes it, and it catches broken estimators;
the estimators' shared arithmetic (tie-sharing ranks, square sums of directions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from esenas_core.api.plugins import get_registries
from esenas_core.checks.common import ConformanceError
from esenas_core.engine import noise as directions
from esenas_core.estimators import (
    Estimator,
    GradientEstimator,
    Sums,
    Weights,
    antithetic_weights,
    check_estimator,
    ranked,
)

NAMES = get_registries()["estimator"].names()
NEW = ["ars", "pgpe", "snes", "sep_cma"]


def test_the_built_in_estimators_are_registered() -> None:
    assert set(NAMES) >= {"antithetic", "forward_fd", *NEW}


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_estimator_passes_its_checker(name: str) -> None:
    cls = get_registries()["estimator"].get(name).cls
    ran = check_estimator(cls, workers=0)
    assert "update pure and replayed bit for bit" in ran


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_estimator_gives_the_same_bits_in_worker_processes(name: str) -> None:
    cls = get_registries()["estimator"].get(name).cls
    ran = check_estimator(cls, workers=2)
    assert "serial and 2 worker processes agree bit for bit" in ran


# -- the checker catches what it claims to ------------------------------------------------------


class PlainGradient(GradientEstimator):
    name = "_broken"

    def weights(self, rewards, baseline, sigma, state) -> Weights:
        return Weights(antithetic_weights(rewards[:, 0], rewards[:, 1], sigma))


class WrongSign(PlainGradient):
    def weights(self, rewards, baseline, sigma, state) -> Weights:
        return Weights(-super().weights(rewards, baseline, sigma, state).linear)


class InPlace(PlainGradient):
    def update(self, theta, state, step, sums):
        theta += 0.0 * sums.linear  # changes the caller's θ array (a new value, same bits)
        theta[0] += 1e-3
        return theta, dict(state), sums.linear


class Unseeded(PlainGradient):
    def update(self, theta, state, step, sums):
        new, st, g = super().update(theta, state, step, sums)
        return new + 1e-12 * np.random.default_rng().standard_normal(theta.size), st, g


class Forgetful(Estimator):
    """Keeps a step counter but reads it back as zero."""

    name = "_forgetful"

    def init_state(self, dim: int) -> dict[str, np.ndarray]:
        return {"steps": np.array(0)}

    def check_state(self, state: Mapping[str, Any], dim: int) -> dict[str, np.ndarray]:
        return {"steps": np.array(0)}

    def weights(self, rewards, baseline, sigma, state) -> Weights:
        return Weights(antithetic_weights(rewards[:, 0], rewards[:, 1], sigma))

    def update(self, theta, state, step, sums: Sums):
        steps = int(state["steps"]) + 1
        return theta + 0.01 * steps * sums.linear, {"steps": np.array(steps)}, sums.linear


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (WrongSign, "cosine with the finite-difference gradient"),
        (InPlace, "changed its inputs"),
        (Unseeded, "replayed from the update's scalars"),
        (Forgetful, "read back from .npz does not continue"),
    ],
)
def test_the_checker_catches_a_broken_estimator(cls: type, message: str) -> None:
    with pytest.raises(ConformanceError, match=message):
        check_estimator(cls, workers=0)


def test_ranked_shares_utilities_between_ties() -> None:
    u = np.array([0.5, 0.25, -0.25, -0.5])
    np.testing.assert_array_equal(ranked([3.0, 1.0, 3.0, 0.0], u), [0.375, -0.25, 0.375, -0.5])
    assert ranked([], np.zeros(0)).size == 0


@pytest.mark.parametrize("count", [0, 5, 8, 21])
@pytest.mark.parametrize("kind", ["seeded", "table"])
def test_the_square_sums_are_the_sums_of_squared_directions(kind: str, count: int) -> None:
    from esenas_core.api.records import NoiseSpec

    spec, dim = NoiseSpec(kind, 2**12), 37
    rng = np.random.default_rng(count)
    weights, seeds = rng.normal(size=count), rng.integers(0, 2**62, size=count)
    eps = directions.directions(spec, seeds.tolist(), dim)
    expected = sum((w * e * e for w, e in zip(weights, eps, strict=True)), np.zeros(dim))
    got = directions.combine_squares(spec, weights, seeds, dim)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got, directions.combine_squares(spec, weights, seeds, dim))
