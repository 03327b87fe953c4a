"""Decision spaces: sampled and mutated genomes are always valid; invalid ones are rejected."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esenas_core import Choice, DecisionSpace, GenomeError, Mask, Subset


@st.composite
def spaces(draw: st.DrawFn) -> DecisionSpace:
    groups = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["subset", "choice", "mask"]))
        n = draw(st.integers(1, 60))
        if kind == "subset":
            groups.append(Subset(n, draw(st.integers(1, n))))
        elif kind == "choice":
            groups.append(Choice(n, draw(st.integers(1, 5))))
        else:
            groups.append(Mask(n))
    return DecisionSpace(groups)


@settings(max_examples=60, deadline=None)
@given(space=spaces(), seed=st.integers(0, 2**32), count=st.integers(0, 6))
def test_sampled_and_mutated_genomes_are_valid(space: DecisionSpace, seed: int, count: int) -> None:
    rng = np.random.default_rng(seed)
    genomes = space.sample(rng, count)
    assert genomes.shape == (count, space.length) and genomes.dtype == np.int64
    for genome in genomes:
        space.validate(genome)
        space.validate(space.mutate(genome, rng))


def test_subset_is_a_set_stored_sorted() -> None:
    space = DecisionSpace([Subset(10, 4)])
    space.validate(np.array([1, 3, 5, 9]))
    with pytest.raises(GenomeError, match="distinct and sorted"):
        space.validate(np.array([3, 1, 5, 9]))
    with pytest.raises(GenomeError, match="distinct and sorted"):
        space.validate(np.array([1, 1, 5, 9]))
    with pytest.raises(GenomeError, match=r"\[0, 10\)"):
        space.validate(np.array([1, 3, 5, 10]))


def test_wrong_length_type_and_values() -> None:
    space = DecisionSpace([Choice(3, 2), Mask(2)])
    with pytest.raises(GenomeError, match="length 4"):
        space.validate(np.array([0, 1, 0]))
    with pytest.raises(GenomeError, match="integers"):
        space.validate(np.array([0.0, 1.0, 0.0, 1.0]))
    with pytest.raises(GenomeError, match="0 or 1"):
        space.validate(np.array([0, 1, 0, 2]))


def test_subset_mutation_swaps_exactly_one_item() -> None:
    rng = np.random.default_rng(0)
    group = Subset(50, 10)
    genome = group.sample(rng, 1)[0]
    for _ in range(100):
        child = group.mutate(genome, rng)
        assert len(set(child) - set(genome)) == 1
        genome = child


def test_subset_sampling_is_uniform_over_items() -> None:
    counts = np.bincount(Subset(20, 5).sample(np.random.default_rng(1), 4000).ravel(), minlength=20)
    expected = 4000 * 5 / 20
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_k_larger_than_n_rejected() -> None:
    with pytest.raises(ValueError, match="k=5 is larger than n=3"):
        Subset(3, 5)
