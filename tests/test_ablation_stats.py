"""The study statistics against an independent computation on a fixed score table.

Point estimates are checked against hand-written formulas. The intervals come from scipy's Monte
Carlo bootstrap; with 4–5 runs per variant the *exact* bootstrap distribution can be enumerated
(every one of the n^n equally likely resamples), so each endpoint is checked to sit at the 2.5 %
and 97.5 % quantiles of that exact distribution (up to Monte Carlo error).
"""

from __future__ import annotations

import csv
import itertools
import math

import attrs
import numpy as np
import pytest

from esenas_core.studies.stats import (
    N_RESAMPLES,
    curve_band,
    estimate,
    improvement,
    probability_of_improvement,
)

A = [12.0, 55.0, 31.0, 8.0, 40.0]
B = [20.0, 31.0, 5.0, 9.0]


def hand_iqm(values: list[float]) -> float:
    """rliable's IQM: drop the lowest and highest int(0.25 n) values, average the rest."""
    x = sorted(values)
    cut = int(0.25 * len(x))
    kept = x[cut : len(x) - cut]
    return sum(kept) / len(kept)


def hand_p_improvement(a: list[float], b: list[float]) -> float:
    wins = sum((x > y) + 0.5 * (x == y) for x in a for y in b)
    return wins / (len(a) * len(b))


def exact_distribution(values: list[float], statistic) -> np.ndarray:
    return np.array([statistic(list(r)) for r in itertools.product(values, repeat=len(values))])


def assert_quantile(exact: np.ndarray, endpoint: float, q: float, tol: float = 0.01) -> None:
    """``endpoint`` is a q-quantile of the exact distribution, up to Monte Carlo error."""
    below = np.mean(exact < endpoint - 1e-9)
    at_or_below = np.mean(exact <= endpoint + 1e-9)
    assert below - tol <= q <= at_or_below + tol, (endpoint, q, below, at_or_below)


STATS = {
    "mean": lambda v: sum(v) / len(v),
    "median": lambda v: float(np.median(v)),
    "iqm": hand_iqm,
}


@pytest.mark.parametrize("name", sorted(STATS))
@pytest.mark.parametrize("values", [A, B], ids=["A", "B"])
def test_point_estimates_and_intervals_match_the_exact_bootstrap(name, values) -> None:
    e = estimate(values, name, seed=7, label="x")
    assert e.value == pytest.approx(STATS[name](values), abs=1e-12)
    assert e.n == len(values)
    exact = exact_distribution(values, STATS[name])
    assert_quantile(exact, e.low, 0.025)
    assert_quantile(exact, e.high, 0.975)
    assert min(values) <= e.low <= e.value <= e.high <= max(values) or name == "median"


def test_iqm_trims_a_quarter_from_each_end() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 100.0, 5.0, 6.0, 7.0]  # n = 8: drop 2 from each end
    assert estimate(values, "iqm").value == pytest.approx((3 + 4 + 5 + 6) / 4)
    assert estimate([1.0, 2.0, 90.0], "iqm").value == pytest.approx(31.0)  # n < 4: the mean


def test_probability_of_improvement_matches_an_exact_two_sample_bootstrap() -> None:
    e = improvement(A, B, seed=3, label="A>B")
    assert e.value == pytest.approx(hand_p_improvement(A, B))
    # exact joint distribution: every resample of A against every resample of B
    ra = np.array(list(itertools.product(A, repeat=len(A))))
    rb = np.array(list(itertools.product(B, repeat=len(B))))
    exact = probability_of_improvement(ra[:, None, :], rb[None, :, :]).ravel()
    assert_quantile(exact, e.low, 0.025)
    assert_quantile(exact, e.high, 0.975)
    assert probability_of_improvement(np.array(A), np.array(A)) == pytest.approx(0.5)


def test_estimates_are_reproducible_and_depend_on_the_seed() -> None:
    many = list(np.random.default_rng(0).normal(size=12))  # enough runs for distinct quantiles
    assert estimate(many, "iqm", seed=1, label="v") == estimate(many, "iqm", seed=1, label="v")
    assert estimate(many, "iqm", seed=1, label="v") != estimate(many, "iqm", seed=2, label="v")
    assert improvement(A, B, seed=1) == improvement(A, B, seed=1)
    assert N_RESAMPLES >= 5000


def test_degenerate_inputs() -> None:
    one = estimate([4.0], "mean")
    assert one.value == 4.0 and math.isnan(one.low) and one.n == 1
    same = estimate([2.0, 2.0, 2.0], "iqm")
    assert (same.value, same.low, same.high) == (2.0, 2.0, 2.0)
    none = estimate([math.nan, math.inf], "mean")
    assert none.n == 0 and math.isnan(none.value)
    assert estimate([1.0, math.nan, 3.0], "mean").n == 2  # non-finite runs are left out


def test_curve_band_never_leaves_the_observed_range() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(0, 100, size=(3, 40)).cumsum(axis=1)
    scores[:, 5] = 7.0  # every run equal at one iteration
    mid, low, high = curve_band(scores, seed=0, label="c")
    lo, hi = scores.min(axis=0), scores.max(axis=0)
    assert np.all(low >= lo) and np.all(high <= hi) and np.all(low <= mid) and np.all(mid <= high)
    assert low[5] == high[5] == 7.0


def test_ratio_to_best_reference_against_the_exact_bootstrap() -> None:
    """IQM(X) ÷ max(IQM(B), IQM(C)), each variant resampled independently and the better
    reference chosen per resample: the interval's endpoints are the exact distribution's
    2.5 % / 97.5 % quantiles (4 × 4 × 3 runs: 256 · 256 · 27 resamples enumerated)."""
    from esenas_core.studies.stats import ratio_to_best

    x, b, c = [30.0, 12.0, 44.0, 25.0], [20.0, 31.0, 5.0, 9.0], [18.0, 26.0, 22.0]
    e = ratio_to_best(x, [b, c], seed=3, label="x")
    assert e.value == pytest.approx(hand_iqm(x) / max(hand_iqm(b), hand_iqm(c)))
    assert e.n == 4
    ix, ib, ic = (exact_distribution(v, hand_iqm) for v in (x, b, c))
    exact = (ix[:, None, None] / np.maximum(ib[None, :, None], ic[None, None, :])).ravel()
    assert_quantile(exact, e.low, 0.025)
    assert_quantile(exact, e.high, 0.975)


def test_ratio_to_best_is_undefined_without_a_positive_reference() -> None:
    from esenas_core.studies.stats import ratio_to_best

    assert math.isnan(ratio_to_best([1.0, 2.0], [[-3.0, 4.0], [0.0, 5.0]]).value)
    assert math.isnan(ratio_to_best([1.0, 2.0], [[-3.0, -4.0]]).value)
    assert math.isnan(ratio_to_best([], [[3.0, 4.0]]).value)
    fine = ratio_to_best([1.0, 2.0], [[-3.0, 4.0], [2.0, 5.0]])  # one reference all > 0
    assert fine.value == pytest.approx(1.5 / 3.5)


def test_relative_table_names_the_point_best_reference(tmp_path) -> None:
    from esenas_core.studies.relative import write_relative
    from esenas_core.studies.spec import study_from_dict

    study = study_from_dict(
        {
            "base": {},
            "seeds": [0, 1, 2],
            "variants": {n: {"seed": 0} for n in ("lin", "deep", "pruned")},
            "reference": ["lin", "deep"],
        },
        "s.toml",
        tmp_path,
    )
    scores = {"lin": [10.0, 12.0, 14.0], "deep": [20.0, 22.0, 30.0], "pruned": [18.0, 19.0, 23.0]}
    rows = [{"variant": v, "final_score": s} for v, ss in scores.items() for s in ss]
    lines = write_relative(study, rows, tmp_path)
    table = {r["variant"]: r for r in csv.DictReader(open(tmp_path / "relative.csv"))}
    assert table["pruned"]["reference"] == "deep"
    assert float(table["pruned"]["ratio"]) == pytest.approx(20.0 / 24.0)
    assert float(table["deep"]["ratio"]) == 1.0
    assert any(line.startswith("| pruned | 0.83 [") for line in lines)
    study = attrs.evolve(study, reference=())
    assert write_relative(study, rows, tmp_path) == []
    assert not (tmp_path / "relative.csv").exists()  # a table without references is gone


@pytest.mark.parametrize(
    ("reference", "message"),
    [(["nope"], "'nope' is not a variant"), (["lin", "lin"], "'lin' is listed twice")],
)
def test_a_bad_reference_is_one_config_error(tmp_path, reference, message) -> None:
    from esenas_core import ConfigError
    from esenas_core.studies.spec import study_from_dict

    data = {"base": {}, "variants": {"lin": {"seed": 0}}, "reference": reference}
    with pytest.raises(ConfigError, match=message):
        study_from_dict(data, "s.toml", tmp_path)
