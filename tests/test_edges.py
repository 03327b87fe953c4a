"""``edges`` (and ``dense``) specifics. The generic contract (genomes, decode, parameters,
batching, ``take``, seeding) is ``check_search_space``'s, run over every space in
tests/test_plugin_checks.py; here an oracle written independently of ``reference_forward``,
sizes, modes and errors."""

from __future__ import annotations

import numpy as np
import pytest
from esenas_plugins.search_spaces.edges import EdgesSearchSpace

from esenas_core import ConfigError, TaskSpec
from esenas_core.api.actions import to_env_actions
from esenas_core.api.plugins import Registries


def make_space(registries: Registries, spec: TaskSpec, **options: object) -> EdgesSearchSpace:
    return registries.create("search_space", "edges", options, spec)


def naive_forward(space: EdgesSearchSpace, theta: np.ndarray, genome: np.ndarray, x: np.ndarray):
    """Per-edge, per-node reference in plain Python (like the original's loop)."""
    sizes = space.sizes
    starts = np.cumsum([0, *sizes])  # global node index of each layer's first node
    values = {int(starts[0]) + i: float(x[i]) for i in range(sizes[0])}
    edge_list = []  # (global edge index, src node, dst node)
    e = 0
    for b in range(len(sizes) - 1):
        for i in range(sizes[b]):
            for j in range(sizes[b + 1]):
                edge_list.append((e, int(starts[b]) + i, int(starts[b + 1]) + j))
                e += 1
    kept = set(np.flatnonzero(space.decode(genome).parts["edge_mask"]).tolist())
    bias_index = space.num_edges
    act = np.tanh if space.options.activation == "tanh" else (lambda v: max(v, 0.0))
    for layer in range(1, len(sizes)):
        for j in range(sizes[layer]):
            node = int(starts[layer]) + j
            total = 0.0
            for idx, src, dst in edge_list:
                if dst == node and idx in kept:
                    total += theta[idx] * values[src]
            total += theta[bias_index]
            bias_index += 1
            values[node] = float(np.tanh(total)) if layer == len(sizes) - 1 else float(act(total))
    last = int(starts[-2])
    return np.array([values[last + j] for j in range(sizes[-1])])


@pytest.mark.parametrize("hidden", [(), (5,), (6, 4), (3, 7, 2)])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_forward_matches_per_edge_reference(registries, hidden, activation) -> None:
    spec = TaskSpec(obs_dim=4, act_dim=3, action_low=(-1.0,) * 3, action_high=(1.0,) * 3)
    space = make_space(registries, spec, hidden=list(hidden), k=7, activation=activation)
    rng = np.random.default_rng(len(hidden))
    batch = 5
    genomes = space.decisions.sample(rng, batch)
    params = rng.normal(size=(batch, space.num_params))
    obs = rng.normal(size=(batch, 4))
    out = space.network(params, [space.decode(g) for g in genomes])(obs)
    for b in range(batch):
        np.testing.assert_allclose(
            out[b],
            naive_forward(space, params[b], genomes[b], obs[b]),
            rtol=1e-4,
            atol=1e-5,  # float32 network vs float64 loop
        )


def test_parameter_count_is_compact(registries: Registries) -> None:
    spec = TaskSpec(obs_dim=17, act_dim=6)
    space = make_space(registries, spec, hidden=[32, 32], k=64)
    assert space.num_edges == 17 * 32 + 32 * 32 + 32 * 6 == 1760
    assert space.num_params == 1760 + 32 + 32 + 6
    arch = space.decode(space.decisions.sample(np.random.default_rng(0), 1)[0])
    assert space.describe(arch) == {
        "edges": 64,
        "live_edges": 64,  # decoding = "repair": every kept edge is on an input→output path
        "candidate_edges": 1760,
        "multiplications": 64,
        "live_multiplications": 64,
        "params_in_use": 64 + 70,
    }
    assert np.all(space.init_params(np.random.default_rng(0))[space.num_edges :] == 0.0)  # biases


def test_k_larger_than_candidates_is_a_config_error(registries: Registries) -> None:
    with pytest.raises(
        ConfigError, match=r"k=500 is larger than the number of candidate edges \(96\)"
    ):
        make_space(registries, TaskSpec(obs_dim=4, act_dim=2), hidden=[16], k=500)


def test_actions_scaled_to_bounds() -> None:
    spec = TaskSpec(obs_dim=1, act_dim=2, action_low=(-3.0, 0.0), action_high=(3.0, 1.0))
    out = to_env_actions(np.array([[-1.0, 1.0], [0.0, 0.0]]), spec)
    np.testing.assert_allclose(out, [[-3.0, 1.0], [0.0, 0.5]])
    discrete = TaskSpec(obs_dim=1, act_dim=3, discrete=True)
    assert to_env_actions(np.array([[0.1, 0.9, -0.2]]), discrete).tolist() == [1]


def test_keep_linear_keeps_every_input_output_edge_and_chooses_the_rest(registries) -> None:
    spec = TaskSpec(obs_dim=4, act_dim=3)
    space = make_space(registries, spec, hidden=[5, 6], mode="residual", k=20, keep_linear=True)
    edges = space.net.edge_list()
    outputs = set(range(4 + 5 + 6, 4 + 5 + 6 + 3))
    linear = {i for i, (s, d) in enumerate(edges) if s < 4 and d in outputs}
    assert set(space.fixed.tolist()) == linear and len(linear) == 12
    group = space.decisions.groups[0]
    assert (group.n, group.k) == (space.num_edges - 12, 8)
    rng = np.random.default_rng(0)
    for _ in range(20):
        genome = space.decisions.sample(rng, 1)[0]
        mask = space.decode(genome).parts["edge_mask"]
        assert mask.sum() == 20 and mask[space.fixed].all()
        assert space.describe(space.decode(genome))["multiplications"] == 20
    theta = space.init_params(np.random.default_rng(1))
    assert np.all(theta[space.fixed] == 0.0) and np.any(theta[: space.num_edges] != 0.0)
    # the forward pass agrees with the per-edge reference
    arch = space.decode(space.decisions.sample(rng, 1)[0])
    theta = rng.normal(size=space.num_params)
    x = rng.normal(size=4)
    net = space.network(theta[None, :], [arch])
    np.testing.assert_allclose(
        net(x[None, :])[0], space.reference_forward(theta, arch, x), atol=1e-5
    )


def test_keep_linear_needs_residual_and_room_to_choose(registries: Registries) -> None:
    spec = TaskSpec(obs_dim=4, act_dim=3)
    with pytest.raises(ConfigError, match="keep_linear needs mode 'residual'"):
        make_space(registries, spec, hidden=[5], k=20, keep_linear=True)
    with pytest.raises(ConfigError, match="k must exceed 12"):
        make_space(registries, spec, hidden=[5], mode="residual", k=12, keep_linear=True)


def test_dense_auto_init_is_zero_for_linear_and_lecun_for_hidden(registries) -> None:
    spec = TaskSpec(obs_dim=50, act_dim=4)
    linear = registries.create("search_space", "dense", {}, spec)
    assert np.all(linear.init_params(np.random.default_rng(0)) == 0.0)
    hidden = registries.create("search_space", "dense", {"hidden": [400]}, spec)
    theta = hidden.init_params(np.random.default_rng(0))
    first = theta[: 50 * 400]
    second = theta[50 * 400 : 50 * 400 + 400 * 4]
    assert abs(first.std() - 1 / np.sqrt(50)) < 0.01 and abs(second.std() - 1 / np.sqrt(400)) < 0.01
    assert np.all(theta[hidden.num_weights :] == 0.0)  # biases
    fixed = registries.create("search_space", "dense", {"hidden": [8], "init_std": 0.3}, spec)
    assert abs(fixed.init_params(np.random.default_rng(0))[:400].std() - 0.3) < 0.05
    with pytest.raises(ConfigError):
        registries.create("search_space", "dense", {"init_std": "big"}, spec)
