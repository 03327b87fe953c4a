"""``seeded_doubles``: numpy's ``Generator(PCG64(seed)).random(n)`` for a batch of seeds."""

from __future__ import annotations

import numpy as np
import pytest

from esenas_core import seeded_doubles


def test_equals_numpys_generators_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    edges = np.array([0, 1, 2, 2**31 - 1, 2**32 - 1, 2**32, 2**63 - 1, 2**64 - 1], dtype=np.uint64)
    for seeds in (
        edges,
        rng.integers(0, 2**32, 2000),
        rng.integers(0, 2**63 - 1, 2000, dtype=np.int64),
        rng.integers(0, 2**64 - 1, 500, dtype=np.uint64),
    ):
        ours = seeded_doubles(seeds, 5)
        ref = np.array([np.random.Generator(np.random.PCG64(int(s))).random(5) for s in seeds])
        np.testing.assert_array_equal(ours, ref)


def test_empty_and_bad_seeds() -> None:
    assert seeded_doubles(np.array([], dtype=np.int64), 3).shape == (0, 3)
    assert seeded_doubles([7], 0).shape == (1, 0)
    for bad in ([-1], [1.5], [[1, 2]], ["a"]):
        with pytest.raises(ValueError):
            seeded_doubles(bad, 2)
