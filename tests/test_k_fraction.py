"""``k_fraction``: the pruned spaces' budget as a share of the candidate edges, so that one config
fits environments of every size."""

from __future__ import annotations

import pytest

from esenas_core import ConfigError, TaskSpec
from esenas_core.api.plugins import Registries

HOPPER = TaskSpec(obs_dim=11, act_dim=3)
ANT = TaskSpec(obs_dim=105, act_dim=8)
RESIDUAL = {"hidden": [32, 32], "mode": "residual", "keep_linear": True}


@pytest.mark.parametrize(
    ("spec", "candidates"),
    [
        (HOPPER, 1953),
        (TaskSpec(obs_dim=8, act_dim=2), 1680),
        (TaskSpec(obs_dim=17, act_dim=6), 2598),
        (ANT, 9096),
    ],
)
def test_a_fraction_keeps_that_share_of_the_candidates(registries, spec, candidates) -> None:
    frac = registries.create("search_space", "edges", {**RESIDUAL, "k_fraction": 0.1}, spec)
    assert frac.num_edges == candidates
    assert frac.max_edges_in_use == round(0.1 * candidates)
    fixed_k = registries.create("search_space", "edges", {**RESIDUAL, "k": frac.k}, spec)
    assert frac.decisions == fixed_k.decisions  # the same space as that k
    assert frac.num_params == fixed_k.num_params


def test_a_fraction_gives_the_same_architectures_as_the_k_it_stands_for(registries) -> None:
    import numpy as np

    frac = registries.create("search_space", "ops", {"hidden": [6, 6], "k_fraction": 0.25}, HOPPER)
    fixed_k = registries.create("search_space", "ops", {"hidden": [6, 6], "k": frac.k}, HOPPER)
    assert frac.k == round(0.25 * frac.net.num_edges)
    for genome in frac.decisions.sample(np.random.default_rng(0), 8):
        a, b = frac.decode(genome), fixed_k.decode(genome)
        assert (a.parts["edge_mask"] == b.parts["edge_mask"]).all()
        assert a.parts["edge_mask"].sum() == frac.k


def test_independent_mode_takes_the_fraction_of_every_layer(registries: Registries) -> None:
    opts = {"hidden": [16, 16], "mode": "independent", "k_fraction": 0.1}
    space = registries.create("search_space", "edges", opts, HOPPER)
    counts = [count for _, count in space.net.blocks()]
    assert counts == [11 * 16, 16 * 16, 16 * 3]
    assert space.k_per_layer == tuple(max(1, round(0.1 * c)) for c in counts) == (18, 26, 5)
    assert space.max_edges_in_use == 49


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_a_fraction_outside_0_1_is_refused(registries: Registries, value: float) -> None:
    with pytest.raises(ConfigError, match="k_fraction"):
        registries.create("search_space", "edges", {**RESIDUAL, "k_fraction": value}, HOPPER)


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [
        ("edges", {**RESIDUAL, "k": 195, "k_fraction": 0.1}, "either k=195 or k_fraction"),
        ("ops", {"hidden": [8], "k": 20, "k_fraction": 0.1}, "either k=20 or k_fraction"),
        (
            "edges",
            {"hidden": [8], "mode": "independent", "k_per_layer": [4, 4], "k_fraction": 0.1},
            "either k_per_layer",
        ),
    ],
)
def test_k_and_k_fraction_together_are_refused(registries, name, options, match) -> None:
    with pytest.raises(ConfigError, match=match):
        registries.create("search_space", name, options, HOPPER)


def test_a_fraction_below_the_kept_linear_share_names_the_smallest_one(registries) -> None:
    humanoid = TaskSpec(obs_dim=348, act_dim=17)  # 5,916 linear edges of 30,300 candidates
    with pytest.raises(ConfigError, match=r"k_fraction=0\.1 of 30300 .* at least 0\.1953\)"):
        registries.create("search_space", "edges", {**RESIDUAL, "k_fraction": 0.1}, humanoid)
    named = registries.create("search_space", "edges", {**RESIDUAL, "k_fraction": 0.1953}, humanoid)
    assert named.k == 5918 and named.decisions.groups[0].k == 2  # 5,916 kept + 2 chosen


def test_a_fraction_whose_k_cannot_be_live_says_where_k_came_from(registries) -> None:
    with pytest.raises(ConfigError, match=r"k=3 \(from k_fraction=0\.4 of 8 candidates\).*is 2"):
        registries.create(
            "search_space", "edges", {"hidden": [4], "k_fraction": 0.4}, TaskSpec(1, 1)
        )
