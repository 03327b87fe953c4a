"""The compiled forward pass of LayeredNetwork: dense and sparse kernels against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from esenas_core.networks import kernels
from esenas_core.networks.nets import OPS, LayeredNetwork


def _random_net(rng, sizes, residual, density, batch, op_names=()):
    """Weights with exact zeros (density = share of nonzero weights) and biases, per layer."""
    starts = np.cumsum([0, *sizes])
    weights, biases = [], []
    for t in range(1, len(sizes)):
        width = int(starts[t]) if residual else sizes[t - 1]
        w = rng.normal(size=(batch, width, sizes[t]))
        w[rng.random(w.shape) >= density] = 0.0
        weights.append(w)
        biases.append(rng.normal(size=(batch, sizes[t])))
    weights[0][0] = 0.0  # a row whose inputs reach nothing
    ops = None
    if op_names:
        ops = [rng.integers(0, len(op_names), size=(batch, n)) for n in sizes[1:-1]]
    return weights, biases, ops


def _numpy_forward(weights, biases, residual, ops, op_names, activation, obs):
    """Float64 numpy evaluation of the same networks, with ``OPS`` for the nonlinearities."""
    layers = [obs]
    for t, (w, b) in enumerate(zip(weights, biases, strict=True)):
        x = np.concatenate(layers, axis=1) if residual else layers[-1]
        pre = np.einsum("bi,bij->bj", x, w) + b
        if t == len(weights) - 1:
            layers.append(np.tanh(pre))
        elif ops is None:
            layers.append(OPS[activation](pre))
        else:
            out = np.empty_like(pre)
            for k, name in enumerate(op_names):
                hit = ops[t] == k
                out[hit] = OPS[name](pre[hit])
            layers.append(out)
    return layers[-1]


CASES = [
    ([5, 7, 4, 3], False, "tanh", ()),
    ([5, 7, 4, 3], True, "relu", ()),
    ([4, 6, 2], True, "tanh", kernels.OP_CODES),
    ([6, 3], False, "tanh", ()),
]


@pytest.mark.parametrize(("sizes", "residual", "activation", "op_names"), CASES)
@pytest.mark.parametrize("sparse", [False, True])
def test_forward_matches_numpy(sizes, residual, activation, op_names, sparse) -> None:
    rng = np.random.default_rng(7)
    weights, biases, ops = _random_net(rng, sizes, residual, 0.3, 6, op_names)
    net = LayeredNetwork(
        weights, biases, activation, residual, ops, op_names, dtype=np.float64, sparse=sparse
    )
    obs = rng.normal(size=(6, sizes[0])) * 2.0
    expected = _numpy_forward(weights, biases, residual, ops, op_names, activation, obs)
    np.testing.assert_allclose(net(obs), expected, rtol=1e-6, atol=1e-6)
    # float32 (the default) agrees to float32 precision
    net32 = LayeredNetwork(weights, biases, activation, residual, ops, op_names, sparse=sparse)
    np.testing.assert_allclose(net32(obs), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("sparse", [False, True])
def test_rows_do_not_depend_on_the_batch(sparse) -> None:
    rng = np.random.default_rng(3)
    weights, biases, ops = _random_net(rng, [5, 8, 8, 2], True, 0.2, 7, kernels.OP_CODES)
    net = LayeredNetwork(weights, biases, "tanh", True, ops, kernels.OP_CODES, sparse=sparse)
    obs = rng.normal(size=(7, 5))
    full = net(obs)
    rows = np.array([6, 2, 3])
    assert np.array_equal(net.take(rows)(obs[rows]), full[rows])  # same bits
    for row in range(7):
        assert np.array_equal(net.take(np.array([row]))(obs[row : row + 1])[0], full[row])


@pytest.mark.parametrize("sparse", [False, True])
def test_input_normalization_is_folded(sparse) -> None:
    rng = np.random.default_rng(5)
    weights, biases, _ = _random_net(rng, [4, 5, 3], True, 0.5, 3)
    net = LayeredNetwork(weights, biases, "tanh", True, dtype=np.float64, sparse=sparse)
    mean, std = rng.normal(size=4), rng.uniform(0.5, 2.0, size=4)
    obs = rng.normal(size=(3, 4))
    folded = net.with_input_normalization(mean, std)
    assert folded.sparse == sparse
    np.testing.assert_allclose(folded(obs), net((obs - mean) / std), rtol=1e-9, atol=1e-12)


def test_weights_and_biases_round_trip() -> None:
    rng = np.random.default_rng(1)
    weights, biases, _ = _random_net(rng, [3, 4, 2], False, 1.0, 2)
    net = LayeredNetwork(weights, biases, dtype=np.float64)
    for mine, theirs in zip(net.weights + net.biases, weights + biases, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_tanh_approximation_error() -> None:
    x = np.linspace(-30.0, 30.0, 400_001)
    net = LayeredNetwork([np.ones((1, 1, 1))], [np.zeros((1, 1))], dtype=np.float64)
    values = np.array([net(np.array([[v]]))[0, 0] for v in x[::100]])
    assert np.max(np.abs(values - np.tanh(x[::100]))) < 3e-7
    assert np.all(np.abs(values) < 1.0)


def test_unknown_activation_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown activation"):
        LayeredNetwork([np.ones((1, 2, 1))], [np.zeros((1, 1))], activation="gelu")


@pytest.mark.parametrize("sparse", [False, True])
def test_nan_observations_give_nan_actions(sparse) -> None:
    # no fast-math assumption about NaN: a broken observation must not yield plausible actions
    weights = [np.ones((1, 3, 4)), np.ones((1, 4, 2))]
    net = LayeredNetwork(weights, [np.zeros((1, 4)), np.zeros((1, 2))], sparse=sparse)
    assert np.all(np.isnan(net(np.array([[0.1, np.nan, 0.2]]))))
    assert np.all(np.isfinite(net(np.array([[0.1, 0.3, 0.2]]))))


@pytest.mark.parametrize(("sizes", "residual", "activation", "op_names"), CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_batches_run_the_column_kernel_with_the_same_bits(
    sizes, residual, activation, op_names, dtype
) -> None:
    """From ``COLUMNS_FROM`` rows the batch is the inner loop; every row keeps its bits
    (non-finite inputs, every op, and rows taken out of the batch included)."""
    from esenas_core.networks.nets import COLUMNS_FROM

    rng = np.random.default_rng(11)
    batch = COLUMNS_FROM + 37
    weights, biases, ops = _random_net(rng, sizes, residual, 0.6, batch, op_names)
    net = LayeredNetwork(weights, biases, activation, residual, ops, op_names, dtype=dtype)
    assert net._kernel is kernels.forward_columns
    obs = rng.normal(size=(batch, sizes[0])) * 3.0
    obs[1, 0], obs[2, -1], obs[3, 0] = np.nan, np.inf, -np.inf
    by_row = np.concatenate([net.take(np.array([b]))(obs[b : b + 1]) for b in range(batch)])
    assert net.take(np.array([0]))._kernel is kernels.forward
    np.testing.assert_array_equal(net(obs), by_row)
    rows = rng.permutation(batch)[: COLUMNS_FROM + 3]
    np.testing.assert_array_equal(net.take(rows)(obs[rows]), by_row[rows])
