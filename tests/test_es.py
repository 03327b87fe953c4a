"""ES estimator, fitness shaping and observation statistics."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from esenas_core.engine.es import antithetic_weights, combine, zscore
from esenas_core.engine.obsstats import ObsStats
from esenas_core.engine.seeding import derive_seed, derive_seeds, perturbation


def quadratic(x: np.ndarray, center: np.ndarray) -> float:
    return -float(np.sum((x - center) ** 2))


def test_antithetic_gradient_points_along_true_gradient_on_quadratic() -> None:
    dim, pairs, sigma = 20, 400, 0.01
    rng = np.random.default_rng(0)
    center = rng.normal(size=dim)
    theta = np.zeros(dim)
    seeds = [derive_seed(1, 2, 0, 0, i) for i in range(pairs)]
    f_plus = np.array([quadratic(theta + sigma * perturbation(s, dim), center) for s in seeds])
    f_minus = np.array([quadratic(theta - sigma * perturbation(s, dim), center) for s in seeds])
    grad = combine(antithetic_weights(f_plus, f_minus, sigma), seeds, dim)
    true = -2.0 * (theta - center)
    cosine = grad @ true / (np.linalg.norm(grad) * np.linalg.norm(true))
    assert cosine > 0.9


def test_ascent_on_quadratic_reaches_the_optimum() -> None:
    dim, sigma, lr = 5, 0.05, 0.003
    center = np.arange(dim, dtype=float) / dim
    theta = np.zeros(dim)
    for it in range(200):
        seeds = [derive_seed(2, 2, it, 0, i) for i in range(20)]
        fp = np.array([quadratic(theta + sigma * perturbation(s, dim), center) for s in seeds])
        fm = np.array([quadratic(theta - sigma * perturbation(s, dim), center) for s in seeds])
        theta = theta + lr * combine(antithetic_weights(fp, fm, sigma), seeds, dim)
    assert np.linalg.norm(theta - center) < 0.1 * np.linalg.norm(center)


def test_zscore_guards_zero_std() -> None:
    assert np.all(zscore(np.full(6, 3.0)) == 0.0)
    assert np.all(antithetic_weights(np.ones(3), np.ones(3), 0.1) == 0.0)
    z = zscore(np.array([1.0, 2.0, 3.0]))
    assert abs(z.mean()) < 1e-12 and abs(z.std() - 1.0) < 1e-12


def test_perturbation_is_a_pure_function_of_its_seed() -> None:
    np.testing.assert_array_equal(perturbation(123, 10), perturbation(123, 10))
    assert not np.array_equal(perturbation(123, 10), perturbation(124, 10))
    assert derive_seed(0, 2, 1, 0, 5) != derive_seed(0, 2, 1, 0, 6)
    assert derive_seed(0, 2, 1, 0, 5) == derive_seed(0, 2, 1, 0, 5)


finite = st.floats(-1e3, 1e3, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    data=arrays(np.float64, st.tuples(st.integers(1, 40), st.integers(1, 4)), elements=finite),
    cuts=st.lists(st.integers(0, 40), max_size=4),
)
def test_merged_obs_stats_equal_one_batch(data: np.ndarray, cuts: list[int]) -> None:
    stats = ObsStats.empty(data.shape[1])
    bounds = sorted({0, data.shape[0], *[min(c, data.shape[0]) for c in cuts]})
    for lo, hi in itertools.pairwise(bounds):
        part = data[lo:hi]
        mean = part.mean(axis=0)
        stats = stats.merge(part.shape[0], mean, ((part - mean) ** 2).sum(axis=0))
    assert stats.count == data.shape[0]
    np.testing.assert_allclose(stats.mean, data.mean(axis=0), atol=1e-9, rtol=1e-9)
    np.testing.assert_allclose(stats.m2 / stats.count, data.var(axis=0), atol=1e-6, rtol=1e-7)


def test_obs_std_floor() -> None:
    stats = ObsStats.empty(2)
    stats = stats.merge(3, np.array([1.0, 2.0]), np.array([0.0, 12.0]))
    np.testing.assert_allclose(stats.std(0.01), [0.01, 2.0])


def test_vectorized_seeds_are_bitwise_the_seed_sequence_ones() -> None:
    last = np.r_[np.arange(0, 3000, 7), 2**32 - 1, 2**32, 2**40]  # the last two: several words
    for run_seed in (0, 3, 2**40 + 5, 2**63 - 1):
        for keys in ((2, 5, 0), (3, 0, 1), (1,), (2, 10**10, 0), ()):
            expected = [derive_seed(run_seed, *keys, int(k)) for k in last]
            assert derive_seeds(run_seed, *keys, last=last).tolist() == expected
            assert derive_seeds(run_seed, *keys, last=last[:400]).tolist() == expected[:400]


def test_merging_many_rows_at_once_gives_the_bits_of_merging_each() -> None:
    rng = np.random.default_rng(0)
    for trial in range(50):
        dim, n = int(rng.integers(1, 12)), int(rng.integers(1, 200))
        counts = rng.integers(0, 500, size=n) * (rng.random(n) > 0.1)
        means = rng.normal(size=(n, dim)) * rng.uniform(0.1, 1000)
        m2s = rng.uniform(0, 100, size=(n, dim))
        start = ObsStats(int(rng.integers(0, 10**6)), rng.normal(size=dim), rng.uniform(size=dim))
        one_by_one = start
        for c, m, s in zip(counts.tolist(), means, m2s, strict=True):
            one_by_one = one_by_one.merge(c, m, s)
        at_once = start.merge_many(counts, means, m2s)
        assert at_once.count == one_by_one.count, trial
        assert at_once.mean.tobytes() == one_by_one.mean.tobytes(), trial
        assert at_once.m2.tobytes() == one_by_one.m2.tobytes(), trial
    huge = ObsStats(2**52, np.zeros(1), np.zeros(1))  # products beyond 2^53: the loop itself
    assert huge.merge_many(np.array([3]), np.ones((1, 1)), np.ones((1, 1))).count == 2**52 + 3
