"""Packed requests and results (what the process pool sends) rebuild equal objects."""

from __future__ import annotations

import numpy as np

from esenas_core.backends import (
    EpisodeResult,
    RolloutRequest,
    RolloutResult,
    pack_requests,
    pack_results,
    unpack_requests,
    unpack_results,
)


def _same_results(a: list[RolloutResult], b: list[RolloutResult]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert (x.index, x.error, x.ok) == (y.index, y.error, y.ok)
        if x.episode is None:
            assert y.episode is None
            continue
        e, f = x.episode, y.episode
        np.testing.assert_array_equal(e.reward, f.reward)  # NaN equals NaN here
        assert (e.steps, e.obs_count) == (f.steps, f.obs_count)
        assert type(e.reward) is type(f.reward)
        np.testing.assert_array_equal(e.obs_mean, f.obs_mean)
        np.testing.assert_array_equal(e.obs_m2, f.obs_m2)
        assert e.obs_mean.dtype == f.obs_mean.dtype


def test_requests_round_trip() -> None:
    requests = [
        RolloutRequest(i, 2**62 + i, (1, -1, 0)[i % 3], np.arange(i % 4, 5 + i % 4), 2**63 - 1 - i)
        for i in range(7)
    ]
    for packed in (pack_requests(requests), pack_requests(requests[:0])):
        back = unpack_requests(packed)
        for r, s in zip(requests, back, strict=False):
            assert (r.index, r.perturbation_seed, r.sign, r.env_seed) == (
                s.index, s.perturbation_seed, s.sign, s.env_seed,
            )  # fmt: skip
            np.testing.assert_array_equal(r.genome, s.genome)
            assert r.genome.dtype == s.genome.dtype


def test_results_round_trip_with_failures_nan_and_foreign_types() -> None:
    rng = np.random.default_rng(0)
    plain = [
        RolloutResult(0, EpisodeResult(-3.5, 200, 200, rng.normal(size=3), rng.random(3))),
        RolloutResult.failed(1, "RuntimeError: injected"),
        RolloutResult(2, EpisodeResult(float("nan"), 7, 7, np.full(3, np.inf), np.zeros(3))),
    ]
    packed = pack_results(plain)
    assert "reward" in packed  # arrays, not objects
    _same_results(unpack_results(packed), plain)
    foreign = [  # a task returning float32 statistics or a numpy reward: sent as objects
        RolloutResult(0, EpisodeResult(np.float32(1.5), 3, 3, np.zeros(2, np.float32), np.ones(2))),
        RolloutResult(1, EpisodeResult(2.0, 3, 3, np.zeros(4), np.ones(4))),
    ]
    packed = pack_results(foreign)
    assert "results" in packed
    _same_results(unpack_results(packed), foreign)
    _same_results(unpack_results(pack_results([])), [])


def test_result_columns_read_as_the_objects_and_as_columns() -> None:
    from esenas_core.engine.packed import ResultColumns, concat_results
    from esenas_core.engine.told import Told

    rng = np.random.default_rng(1)
    results = [
        RolloutResult(
            i, EpisodeResult(float(rng.normal()), 5 + i, 5, rng.normal(size=3), rng.random(3))
        )
        for i in range(6)
    ]
    results[2] = RolloutResult.failed(2, "boom")
    results[4] = RolloutResult(4, EpisodeResult(float("inf"), 3, 3, np.zeros(3), np.zeros(3)))
    parts = [unpack_results(pack_results(results[:4])), unpack_results(pack_results(results[4:]))]
    assert all(isinstance(p, ResultColumns) for p in parts)
    joined = concat_results(parts)
    _same_results(list(joined), results)
    _same_results(list(joined[1:5]), results[1:5])
    a, b = Told.of(joined), Told.of(results)
    for field in ("reward", "ok", "steps"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.errors == b.errors == {2: "boom"}
    rows = np.flatnonzero(a.ok)
    np.testing.assert_array_equal(a.obs_mean[rows], b.obs_mean[rows])
    np.testing.assert_array_equal(a.obs_count[rows], b.obs_count[rows])
    mixed = concat_results([parts[0], [RolloutResult.failed(9, "x")]])
    assert isinstance(mixed, list) and len(mixed) == 5


def test_a_chunk_whose_every_rollout_failed_joins_the_others() -> None:
    from esenas_core.engine.packed import ResultColumns, concat_results

    rng = np.random.default_rng(2)
    done = [
        RolloutResult(i, EpisodeResult(1.0, 4, 4, rng.normal(size=4), rng.random(4)))
        for i in (0, 1)
    ]
    failed = [RolloutResult.failed(i, "RuntimeError: injected") for i in (2, 3)]
    parts = [unpack_results(pack_results(p)) for p in (done, failed, done[:1])]
    assert parts[1].columns["obs_mean"].shape == (2, 0)  # no episode: no observation size seen
    joined = concat_results(parts)
    assert isinstance(joined, ResultColumns)
    _same_results(list(joined), [*done, *failed, done[0]])
    other = [RolloutResult(5, EpisodeResult(1.0, 4, 4, np.zeros(2), np.zeros(2)))]  # two sizes
    mixed = concat_results([parts[0], unpack_results(pack_results(other))])
    assert isinstance(mixed, list) and len(mixed) == 3
