"""Statistics of a study over seeds: mean, median, IQM and P(A > B), with bootstrap CIs.

Following rliable (Agarwal et al., "Deep RL at the Edge of the Statistical Precipice", NeurIPS
2021): the interquartile mean (IQM) is the mean of the middle 50 % of runs
(``scipy.stats.trim_mean(x, 0.25)``, as rliable computes it: with fewer than 4 runs nothing is
trimmed and the IQM is the mean); intervals are percentile bootstrap intervals over runs, resampled
within each variant (rliable's stratified bootstrap, with one task per study). The probability of
improvement P(A > B) is the probability that a random run of A scores higher than a random run of
B, ties counting one half (the Mann–Whitney U statistic over n·m); its interval resamples A's and
B's runs independently.

The bootstrap is ``scipy.stats.bootstrap`` (``method="percentile"``), seeded from the study's
``bootstrap_seed`` and the name of what is estimated, so the same runs give the same intervals.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence

import attrs
import numpy as np

CONFIDENCE = 0.95
N_RESAMPLES = 10_000
N_RESAMPLES_CURVES = 2_000
MAX_BAND_POINTS = 200  # a curve's band is bootstrapped at ≤ 200 iterations, interpolated between


def iqm(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mean of the middle values after dropping ``int(0.25 n)`` from each end; the same numbers
    as ``scipy.stats.trim_mean(x, 0.25, axis)`` (rliable's IQM), with a plain sort (faster on
    the short rows a bootstrap makes)."""
    x = np.sort(np.asarray(x, dtype=np.float64), axis=axis)
    n = x.shape[axis]
    cut = int(0.25 * n)
    return np.take(x, np.arange(cut, n - cut), axis=axis).mean(axis=axis)


def _median(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(x, axis=axis)


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


STATISTICS: dict[str, Callable[..., np.ndarray]] = {"mean": _mean, "median": _median, "iqm": iqm}


@attrs.frozen
class Estimate:
    """A point estimate with its 95 % bootstrap interval (``nan`` where undefined) and n."""

    value: float
    low: float
    high: float
    n: int


def _rng(seed: int, label: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(label.encode("utf-8"))])


def _finite(values: Sequence[float]) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64).ravel()
    return x[np.isfinite(x)]


def estimates(values: Sequence[float], seed: int = 0, label: str = "") -> dict[str, Estimate]:
    """Mean, median and IQM of the finite values, each with its bootstrap interval (one set of
    resamples for the three)."""
    x = _finite(values)
    if x.size == 0:
        return {name: Estimate(math.nan, math.nan, math.nan, 0) for name in STATISTICS}
    points = {name: float(fn(x)) for name, fn in STATISTICS.items()}
    if x.size < 2:
        return {name: Estimate(p, math.nan, math.nan, 1) for name, p in points.items()}
    if np.all(x == x[0]):
        return {name: Estimate(p, p, p, x.size) for name, p in points.items()}

    def all_three(sample: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.stack([fn(sample, axis=axis) for fn in STATISTICS.values()])

    low, high = _bootstrap((x,), all_three, _rng(seed, label), N_RESAMPLES)
    return {
        name: Estimate(points[name], float(low[i]), float(high[i]), x.size)
        for i, name in enumerate(STATISTICS)
    }


def estimate(values: Sequence[float], statistic: str, seed: int = 0, label: str = "") -> Estimate:
    """``statistic`` (mean, median or iqm) of the finite values with its bootstrap interval."""
    return estimates(values, seed, label)[statistic]


def probability_of_improvement(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """P(X > Y) + ½ P(X = Y) over all pairs of runs (vectorized over leading axes)."""
    x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
    diff = x[..., :, None] - y[..., None, :]
    return ((diff > 0) + 0.5 * (diff == 0)).mean(axis=(-2, -1))


def improvement(a: Sequence[float], b: Sequence[float], seed: int = 0, label: str = "") -> Estimate:
    """P(A > B) with its bootstrap interval (A's and B's runs resampled independently)."""
    x, y = _finite(a), _finite(b)
    if x.size == 0 or y.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    point = float(probability_of_improvement(x, y))
    if x.size < 2 and y.size < 2:
        return Estimate(point, math.nan, math.nan, min(x.size, y.size))
    # scipy resamples run indices; the statistic looks the pairs up in a precomputed win table
    wins = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])

    def counts(idx: np.ndarray, axis: int, size: int) -> np.ndarray:
        idx = np.moveaxis(idx, axis, -1).astype(np.intp)
        lead = idx.shape[:-1]
        flat = idx.reshape(-1, idx.shape[-1]) + size * np.arange(int(np.prod(lead)))[:, None]
        return np.bincount(flat.ravel(), minlength=flat.shape[0] * size).reshape(*lead, size)

    def p_from_indices(i: np.ndarray, j: np.ndarray, axis: int = -1) -> np.ndarray:
        ci, cj = counts(i, axis, x.size), counts(j, axis, y.size)
        total = ci.sum(axis=-1) * cj.sum(axis=-1)
        return ((ci @ wins) * cj).sum(axis=-1) / total

    low, high = _bootstrap(
        (np.arange(x.size), np.arange(y.size)),
        p_from_indices,
        _rng(seed, f"{label}/P(A>B)"),
        N_RESAMPLES,
    )
    return Estimate(point, float(low), float(high), min(x.size, y.size))


def ratio_to_best(
    values: Sequence[float],
    references: Sequence[Sequence[float]],
    seed: int = 0,
    label: str = "",
) -> Estimate:
    """IQM of ``values`` divided by the largest IQM among ``references``, with its bootstrap
    interval: every variant's runs are resampled independently and the better reference is
    chosen again in every resample (a claim "within 10 % of the better baseline" must survive
    either baseline winning). Defined only when the point denominator is > 0 and some reference
    has all its runs > 0 (so that no resample divides by a number ≤ 0); ``nan`` otherwise."""
    x = _finite(values)
    refs = [_finite(r) for r in references]
    refs = [r for r in refs if r.size]
    if x.size == 0 or not refs:
        return Estimate(math.nan, math.nan, math.nan, 0)
    denominator = max(float(iqm(r)) for r in refs)
    if denominator <= 0 or not any(np.all(r > 0) for r in refs):
        return Estimate(math.nan, math.nan, math.nan, x.size)
    point = float(iqm(x)) / denominator
    if x.size < 2 and all(r.size < 2 for r in refs):
        return Estimate(point, math.nan, math.nan, x.size)

    def ratio(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        best = np.max(np.stack([iqm(r, axis=axis) for r in samples[1:]]), axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(best > 0, iqm(samples[0], axis=axis) / best, np.nan)

    low, high = _bootstrap((x, *refs), ratio, _rng(seed, f"{label}/ratio"), N_RESAMPLES)
    return Estimate(point, float(low), float(high), x.size)


def _bootstrap(
    data: tuple[np.ndarray, ...],
    fn: Callable[..., np.ndarray],
    rng: np.random.Generator,
    n_resamples: int,
    axis: int = -1,
) -> tuple[np.ndarray, np.ndarray]:
    from scipy.stats import bootstrap

    if any(d.shape[axis] < 2 for d in data):  # scipy needs two runs per sample
        data = tuple(np.concatenate([d, d], axis=axis) if d.shape[axis] < 2 else d for d in data)
    res = bootstrap(
        data,
        fn,
        n_resamples=n_resamples,
        vectorized=True,
        paired=False,
        axis=axis,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=rng,
    )
    return np.asarray(res.confidence_interval.low), np.asarray(res.confidence_interval.high)


def curve_band(
    scores: np.ndarray, seed: int = 0, label: str = ""
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IQM over runs (axis 0) at every iteration with its bootstrap interval.

    Every value lies within the range the runs reached at that iteration.
    """
    point = iqm(scores, axis=0)
    if scores.shape[0] < 2:
        return point, point.copy(), point.copy()
    length = scores.shape[1]
    at = np.unique(np.linspace(0, length - 1, min(length, MAX_BAND_POINTS)).round().astype(int))
    low, high = _bootstrap(
        (scores[:, at],), iqm, _rng(seed, f"{label}/curve"), N_RESAMPLES_CURVES, axis=0
    )
    steps = np.arange(length)
    low, high = np.interp(steps, at, low), np.interp(steps, at, high)
    lo, hi = np.nanmin(scores, axis=0), np.nanmax(scores, axis=0)
    flat = lo == hi  # scipy gives nan for a degenerate distribution
    low, high = np.where(flat, lo, low), np.where(flat, hi, high)
    return point, np.clip(low, lo, hi), np.clip(high, lo, hi)
