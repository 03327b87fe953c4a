"""Live edges (on a path from an input to an output), the repair decoding of ``edges`` and ``ops``,
and the live-fan-in start of θ."""

from __future__ import annotations

import numpy as np
import pytest

from esenas_core import (
    Architecture,
    ConfigError,
    DecisionSpace,
    GenomeError,
    PrunedOptions,
    PrunedSpace,
    Subset,
    Supernet,
    TaskSpec,
)
from esenas_core.api.plugins import Registries
from esenas_core.networks.layered_repair import feasible_sizes


def edge(net: Supernet, src: int, dst: int) -> int:
    return int(np.flatnonzero((net.edge_list() == (src, dst)).all(axis=1))[0])


def test_live_edges_of_hand_built_architectures() -> None:
    # nodes: inputs 0, 1 | hidden 2, 3 | hidden 4 | output 5 (residual: any layer to a later one)
    net = Supernet([2, 2, 1, 1], residual=True)
    mask = np.zeros(net.num_edges, bool)
    path = [edge(net, 0, 2), edge(net, 2, 4), edge(net, 4, 5)]  # input → 2 → 4 → output
    dead_end = edge(net, 1, 3)  # 3 reaches no output
    no_input = edge(net, 3, 5)  # ... and sees no input except through 1→3: live once 3→5 is kept
    mask[[*path, dead_end]] = True
    live = net.liveness.live(mask)
    assert live[path].all() and not live[dead_end] and live.sum() == 3
    mask[no_input] = True  # 1 → 3 → 5 is now a path: both edges live
    assert net.liveness.live(mask)[[dead_end, no_input]].all()
    lonely = np.zeros(net.num_edges, bool)
    lonely[edge(net, 2, 4)] = True  # hidden → hidden only: no input, no output
    assert not net.liveness.live(lonely).any()
    batch = np.stack([mask, lonely])  # rows are independent
    assert net.liveness.live(batch).sum(axis=1).tolist() == [5, 0]


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("edges", {"hidden": [6, 6], "mode": "residual", "k": 20, "decoding": "plain"}),
        ("ops", {"hidden": [6, 6], "k": 20, "decoding": "plain"}),
        ("mask", {"hidden": [5, 5], "residual": True}),
    ],
)
def test_forward_without_dead_edges_equals_the_full_one(registries, name, options) -> None:
    spec = TaskSpec(obs_dim=5, act_dim=2)
    space = registries.create("search_space", name, options, spec)
    rng = np.random.default_rng(3)
    archs = [space.decode(g) for g in space.decisions.sample(rng, 16)]
    masks = np.stack([space.edge_mask(a) for a in archs])
    live = space.net.liveness.live(masks)
    assert (live.sum(axis=1) < masks.sum(axis=1)).any(), "some architecture has dead edges"
    params = rng.normal(size=(16, space.num_params))
    obs = rng.normal(size=(16, 5))
    full = space.network(params, archs)(obs)
    for row, arch in enumerate(archs):
        kept, weights, biases = space.compact(params[row], arch)
        assert (kept == live[row]).all() and np.all(weights[~kept] == 0.0)
        compact = Architecture(arch.genome, {**arch.parts, "edge_mask": kept})
        out = space.network_of(weights[None], biases[None], [compact])(obs[row : row + 1])
        np.testing.assert_allclose(out[0], full[row], rtol=1e-5, atol=1e-5)
    sizes = [space.describe(a) for a in archs]
    assert [s["live_edges"] for s in sizes] == live.sum(axis=1).tolist()
    assert all(s["live_multiplications"] == s["live_edges"] for s in sizes)


SPACES = [
    ("edges", {"hidden": [8, 8], "mode": "residual", "k": 30}),
    ("edges", {"hidden": [8, 8], "mode": "residual", "k": 40, "keep_linear": True}),
    ("edges", {"hidden": [8, 8], "mode": "aggregate", "k": 24}),
    ("edges", {"hidden": [5, 4], "mode": "independent", "k_per_layer": [7, 5, 3]}),
    ("ops", {"hidden": [8, 8], "k": 30}),
]


@pytest.mark.parametrize(("name", "options"), SPACES)
def test_repair_spends_every_edge_on_live_ones(registries, name, options) -> None:
    spec = TaskSpec(obs_dim=6, act_dim=2)
    plain = registries.create("search_space", name, {**options, "decoding": "plain"}, spec)
    space = registries.create("search_space", name, options, spec)
    genomes = space.decisions.sample(np.random.default_rng(0), 200)
    before = after = 0.0
    stayed = were_live = 0
    for g in genomes:
        kept, mask = plain.decode(g).parts["edge_mask"], space.decode(g).parts["edge_mask"]
        assert mask.sum() == kept.sum()  # the same budget ...
        for group in range(space.n_groups):  # ... per group (independent: per layer)
            assert mask[space.groups == group].sum() == kept[space.groups == group].sum()
        assert mask[space.fixed].all()
        assert space.net.liveness.live(mask)[mask].all()  # ... all of it live
        live_kept = space.net.liveness.live(kept)
        stayed, were_live = stayed + mask[live_kept].sum(), were_live + live_kept.sum()
        assert (space.decode(g).parts["edge_mask"] == mask).all()  # deterministic
        before += live_kept.sum() / kept.sum()
        after += space.describe(space.decode(g))["live_edges"] / mask.sum()
    assert after / len(genomes) == 1.0 and before / len(genomes) < 0.95
    # Live edges mostly stay: a few move where a budget is tight (per-layer budgets move more)
    assert stayed >= (0.8 if space.n_groups > 1 else 0.95) * were_live


def test_repair_fuzz_over_random_supernets() -> None:
    rng = np.random.default_rng(7)
    for _ in range(400):
        obs, act = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        hidden = [int(rng.integers(1, 7)) for _ in range(int(rng.integers(0, 4)))]
        net = Supernet([obs, *hidden, act], residual=True)
        group = np.zeros(net.num_edges, np.int64)
        mask = np.zeros(net.num_edges, bool)
        k = int(rng.integers(1, net.num_edges + 1))
        mask[rng.choice(net.num_edges, k, replace=False)] = True
        out = net.liveness.repair(mask, group, 1)
        assert out is not None, (obs, hidden, act, k)
        assert out.sum() == k and net.liveness.live(out)[out].all()
        slow = net.liveness.repair(mask, group, 1, near=False)  # edge scans only
        assert slow is not None and (slow == out).all()


def test_budgets_that_cannot_be_live_are_refused_with_the_nearest_valid_one(registries) -> None:
    spec = TaskSpec(obs_dim=3, act_dim=2)
    with pytest.raises(ConfigError, match=r"k=7 cannot be spent on live edges.*smallest valid k"):
        registries.create(  # the 6 input→output edges are kept: 1 more edge cannot be live
            "search_space",
            "edges",
            {"hidden": [4], "mode": "residual", "k": 7, "keep_linear": True},
            spec,
        )
    one = TaskSpec(obs_dim=1, act_dim=1)  # 1 → [5] → 1: live edges come in pairs
    with pytest.raises(ConfigError, match=r"k=7 .*largest valid k below it is 6"):
        registries.create("search_space", "edges", {"hidden": [5], "k": 7}, one)
    with pytest.raises(ConfigError, match=r"largest valid k_per_layer\[0\] with the others"):
        registries.create(
            "search_space",
            "edges",
            {"hidden": [6], "mode": "independent", "k_per_layer": [18, 2]},
            spec,
        )
    plain = {"hidden": [6], "mode": "independent", "k_per_layer": [18, 2], "decoding": "plain"}
    assert registries.create("search_space", "edges", plain, spec).decisions.length == 20


def test_feasible_sizes() -> None:
    assert feasible_sizes([3, 6, 2], [18, 2]) is None  # 2 edges out: at most 2 live of 6 hidden
    assert feasible_sizes([3, 6, 2], [6, 2]) == [3, 2, 1] or feasible_sizes([3, 6, 2], [6, 2])
    sizes = feasible_sizes([4, 7, 3], [10, 5])
    assert sizes is not None
    for t, k in enumerate([10, 5]):
        assert max(sizes[t], sizes[t + 1]) <= k <= sizes[t] * sizes[t + 1]


class _Stuck(PrunedSpace):
    """A budget no repair can spend: one edge into a net whose every path needs two."""

    name = "stuck"
    Options = PrunedOptions

    def __init__(self, options: PrunedOptions, task: TaskSpec) -> None:
        net = Supernet([task.obs_dim, 3, task.act_dim])
        self.groups = np.zeros(net.num_edges, np.int64)
        super().__init__(
            options, task, net=net, decisions=DecisionSpace([Subset(net.num_edges, 1)])
        )

    def decode(self, genome: np.ndarray) -> Architecture:
        mask = np.zeros(self.net.num_edges, bool)
        mask[genome] = True
        return Architecture(genome, {"edge_mask": self.decode_edges(mask, genome)})


def test_a_genome_whose_repair_fails_is_an_error_naming_the_space() -> None:
    space = _Stuck(PrunedOptions(hidden=(3,), init_std=0.5), TaskSpec(obs_dim=2, act_dim=1))
    with pytest.raises(GenomeError, match=r"search space 'stuck': genome \[0\] cannot be repaired"):
        space.decode(np.array([0]))
    plain = _Stuck(PrunedOptions(init_std=0.5, decoding="plain"), TaskSpec(obs_dim=2, act_dim=1))
    assert plain.describe(plain.decode(np.array([0])))["live_edges"] == 0


def test_auto_start_scales_by_the_live_fan_in(registries: Registries) -> None:
    spec = TaskSpec(obs_dim=10, act_dim=3)
    options = {"hidden": [32, 32], "mode": "residual", "k": 120, "keep_linear": True}
    space = registries.create("search_space", "edges", options, spec)
    fan_in = space.live_fan_in()
    assert fan_in.shape == (3,) and (fan_in >= 1.0).all()
    theta = space.init_params(np.random.default_rng(0))
    assert np.all(theta[space.fixed] == 0.0)  # the kept linear part starts at 0, as ARS
    for (lo, count), f in zip(space.net.blocks(), fan_in, strict=True):
        weights = np.setdiff1d(np.arange(lo, lo + count), space.fixed)
        assert abs(theta[weights].std() * np.sqrt(f) - 1.0) < 0.15  # N(0, 1/fan-in)
    fixed = registries.create("search_space", "edges", {**options, "init_std": 0.5}, spec)
    theta = fixed.init_params(np.random.default_rng(0))
    assert abs(theta[: fixed.num_weights][theta[: fixed.num_weights] != 0].std() - 0.5) < 0.05


def test_the_mask_size_objective_counts_live_multiplications(registries: Registries) -> None:
    spec = TaskSpec(obs_dim=2, act_dim=1)
    space = registries.create("search_space", "mask", {"hidden": [2], "objective": "pareto"}, spec)
    net = space.net
    genome = np.zeros(net.num_edges, np.int64)
    genome[[edge(net, 0, 2), edge(net, 2, 4)]] = 1  # a path: 2 live edges
    genome[edge(net, 1, 3)] = 1  # dead: node 3 reaches no output
    scored = space.controller_rewards(genome[None, :], np.array([5.0]))
    assert scored.tolist() == [[5.0, -2.0]]
