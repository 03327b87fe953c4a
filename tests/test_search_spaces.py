"""Conformance suite over every registered search space (built-in or external), plus specifics."""

from __future__ import annotations

import numpy as np
import pytest

from esenas_core import ConfigError, TaskSpec
from esenas_core.api.plugins import Registries, get_plugin_manager, get_registries
from esenas_core.checks import ConformanceError, check_search_space
from esenas_core.networks.pyglove_bridge import dna_spec, dna_to_genome, genome_to_dna

SPECS = [
    TaskSpec(obs_dim=5, act_dim=3, action_low=(-1.0,) * 3, action_high=(1.0,) * 3),
    TaskSpec(obs_dim=3, act_dim=2, discrete=True),
]
# Small option sets so every mode of every built-in is covered; other spaces use their defaults.
VARIANTS = {
    "edges": [
        {"hidden": [4, 3], "k": 9},
        {"hidden": [4, 3], "mode": "independent", "k_per_layer": [5, 4, 2]},
        {"hidden": [4, 3], "mode": "residual", "k": 12, "activation": "relu"},
        {"hidden": [], "k": 4},
    ],
    "partitions": [{"hidden": [4], "num_partitions": 5}, {"hidden": [], "num_partitions": 2}],
    "ops": [{"hidden": [4, 3], "k": 12}, {"hidden": [6], "k": 8, "ops": ["sin", "step", "abs"]}],
    "mask": [{"hidden": [4]}, {"hidden": [3, 3], "residual": True, "objective": "pareto"}],
    "dense": [{}, {"hidden": [4, 4], "activation": "relu"}],
}


def _cases():
    reg = get_registries()
    cases = []
    for name in reg["search_space"].names():
        for options in VARIANTS.get(name, [{}]):
            for s, spec in enumerate(SPECS):
                cases.append(pytest.param(name, options, spec, id=f"{name}-{options}-{s}"))
    return cases


@pytest.mark.parametrize(("name", "options", "spec"), _cases())
def test_conformance(name: str, options: dict, spec: TaskSpec) -> None:
    space = get_registries().create("search_space", name, options, spec)
    ran = check_search_space(space)
    if name in VARIANTS:  # the built-ins all have a per-edge reference
        assert "vectorized forward == per-edge reference" in ran


def test_checker_catches_a_broken_space() -> None:
    from esenas_plugins.search_spaces.edges import EdgesSearchSpace

    class Broken(EdgesSearchSpace):
        def edge_weights(self, params, architectures):
            return super().edge_weights(params, architectures)[::-1]  # rows swapped

    space = Broken(Broken.Options(hidden=(3,), k=4), SPECS[0])
    with pytest.raises(ConformanceError, match="batch row 0"):
        check_search_space(space)


def test_all_five_spaces_are_registered() -> None:
    names = Registries(get_plugin_manager())["search_space"].names()
    assert {"edges", "partitions", "ops", "mask", "dense"} <= set(names)


def create(name: str, spec: TaskSpec = SPECS[0], **options: object):
    return get_registries().create("search_space", name, options, spec)


def test_parameter_counts() -> None:
    spec = TaskSpec(obs_dim=17, act_dim=6)
    assert create("edges", spec, hidden=[32, 32], k=64).num_params == 1760 + 70
    residual = create("edges", spec, hidden=[32, 32], mode="residual", k=64)
    assert residual.net.num_edges == 17 * 32 + 49 * 32 + 81 * 6 == 2598
    assert create("partitions", spec, hidden=[32, 32]).num_params == 17 + 70
    ops = create("ops", spec, hidden=[32, 32], k=64)
    assert ops.num_params == 2598 + 70 and ops.decisions.length == 64 + 64
    assert create("mask", spec, hidden=[32, 32]).decisions.length == 1760
    assert create("dense", spec).num_params == 17 * 6 + 6  # linear policy


def test_independent_mode_keeps_k_per_layer() -> None:
    space = create("edges", hidden=[4, 3], mode="independent", k_per_layer=[5, 4, 2])
    arch = space.decode(space.decisions.sample(np.random.default_rng(0), 1)[0])
    mask = arch.parts["edge_mask"]
    assert [int(mask[lo : lo + n].sum()) for lo, n in space.net.blocks()] == [5, 4, 2]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "independent", "k_per_layer": [3]}, "needs k_per_layer with one entry per layer"),
        ({"mode": "independent", "k_per_layer": [99, 1, 1]}, r"k_per_layer\[0\]=99 is larger"),
        ({"k_per_layer": [1, 1, 1]}, "only used with mode 'independent'"),
        ({"mode": "residual", "k": 999}, "candidate edges .* with residual edges"),
    ],
)
def test_edges_mode_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        create("edges", hidden=[4, 3], **options)


def test_ops_errors() -> None:
    with pytest.raises(ConfigError, match="ops must be distinct names"):
        create("ops", hidden=[4], k=3, ops=["tanh", "nope"])
    with pytest.raises(ConfigError, match="at least one hidden layer"):
        create("ops", hidden=[], k=3)


def test_residual_edges_reach_the_output_directly() -> None:
    space = create("edges", hidden=[4], mode="residual", k=1)
    edges = space.net.edge_list()
    input_to_output = [e for e, (s, d) in enumerate(edges) if s < 5 and d >= space.net.starts[-2]]
    assert input_to_output  # skip connections exist
    genome = np.array([input_to_output[0]])
    params = np.zeros((1, space.num_params))
    params[0, input_to_output[0]] = 2.0
    obs = np.zeros((1, 5))
    src, dst = edges[input_to_output[0]]
    obs[0, src] = 0.3
    out = space.network(params, [space.decode(genome)])(obs)
    expected = np.zeros(3)
    expected[dst - space.net.starts[-2]] = np.tanh(0.6)
    np.testing.assert_allclose(out[0], expected)


def test_partitions_share_weights() -> None:
    space = create("partitions", hidden=[], num_partitions=2)
    genome = np.array([0] * 15)  # every edge colour 0
    params = np.zeros((1, space.num_params))
    params[0, 0] = 0.5
    out = space.network(params, [space.decode(genome)])(np.ones((1, 5)))
    np.testing.assert_allclose(out, np.tanh(2.5) * np.ones((1, 3)))
    assert space.describe(space.decode(genome))["params_in_use"] == 1 + 3


def test_mask_objectives() -> None:
    genomes = np.array([[1] * 4 + [0] * 11, [1] * 15])
    rewards = np.array([10.0, 10.0])
    scalar = create("mask", hidden=[], objective="scalarized", target_multiplications=5)
    np.testing.assert_allclose(scalar.controller_rewards(genomes, rewards), [1010.0, 1010.0 / 3])
    pareto = create("mask", hidden=[], objective="pareto")
    np.testing.assert_allclose(pareto.controller_rewards(genomes, rewards), [[10, -4], [10, -15]])
    assert pareto.objectives == 2


def test_pareto_needs_a_vector_controller(registries: Registries) -> None:
    from conftest import small_config

    from esenas_core.engine.experiment import Experiment
    from esenas_core.runs.config import build_config

    data = small_config(search_space={"name": "mask", "objective": "pareto", "hidden": [4]})
    with pytest.raises(ConfigError, match="takes scalar rewards"):
        Experiment.build(build_config(data, registries), registries)
    data["controller"] = {"name": "random"}
    Experiment.build(build_config(data, registries), registries)


def test_to_pyglove_dna_numbers_are_genomes() -> None:
    space = create("ops", hidden=[3], k=4, ops=["tanh", "sin"])
    spec = dna_spec(space.decisions)
    for genome in space.decisions.sample(np.random.default_rng(2), 5):
        np.testing.assert_array_equal(dna_to_genome(genome_to_dna(genome, spec)), genome)


@pytest.mark.parametrize("residual", [False, True])
def test_edge_list_numbers_edges_by_target_layer_then_source_then_target(residual: bool) -> None:
    from esenas_core.networks.supernet import Supernet

    net = Supernet([3, 4, 2, 2], residual=residual)
    expected = []
    for t in range(1, 4):
        first = 0 if residual else int(net.starts[t - 1])
        sources = range(first, int(net.starts[t]))
        expected += [(s, d) for s in sources for d in range(net.starts[t], net.starts[t + 1])]
    assert net.edge_list().tolist() == [list(e) for e in expected]


@pytest.mark.parametrize("name", ["edges", "mask", "dense"])
def test_a_supernet_beyond_half_the_memory_is_refused_before_it_is_allocated(name: str) -> None:
    """Sizes whose per-edge arrays need just over half of this machine's memory are one
    ConfigError, raised before numpy allocates (lazily allocated arrays that are later written
    get the process killed instead of raising MemoryError)."""
    import resource

    from esenas_core.api.memory import physical_memory
    from esenas_core.networks.supernet import BYTES_PER_EDGE

    total = physical_memory()
    assert total
    width = total // 2 // BYTES_PER_EDGE // 5 + 1  # 5 inputs × width hidden: just over half
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    options = {"hidden": [width]} | ({"k": 10} if name == "edges" else {})
    with pytest.raises(ConfigError, match="candidate edges"):
        create(name, **options)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 256 * 1024
