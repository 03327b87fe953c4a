"""Compiled (numba) kernels: the forward pass of ``LayeredNetwork`` (one call per environment
step), and the noise-table gradient sum (``combine_slices``, esenas_core.engine.noise).

Why compiled: a policy step of a small network is a few thousand multiply-adds, so with numpy its
cost is the per-call overhead of ~10 numpy operations. Those run right after a MuJoCo step has
evicted the CPU caches, so each costs several times its in-cache time. One compiled call touches
little code: measured in the rollout loop on HalfCheetah (docs/benchmarks.md), the forward pass
went from ≈ 7 µs to ≈ 1 µs per env-step.

Layout (built by ``esenas_core.networks.nets``): every row b of ``params`` holds, per target layer,
its (n_t × (1 + in_t)) matrix flattened row-major: for each target node its bias, then its weights
from the layer's in_t source nodes. ``layout[t] = (offset in params, first source node, in_t, first
target node, n_t)`` in the global node numbering [inputs, hidden 1, …, outputs]. Each row is
computed on its own by the same loops, so its result does not depend on the other rows of the batch.
A call takes few arguments (``pack_meta``) and allocates its own output.

Nonlinearities are coded by their index in ``OP_CODES``. ``tanh`` (also the output squashing)
is a rational approximation (Eigen's, max abs. error 2.6e-7 — float32 precision, which is the
precision these networks are evaluated in), so that the compiler can vectorize it.
"""

from __future__ import annotations

import math

import numba
import numpy as np

OP_CODES = (
    "tanh",
    "relu",
    "exp",
    "identity",
    "sin",
    "sigmoid",
    "abs",
    "cos",
    "square",
    "step",
    "reciprocal",
)
MIXED = -1  # ``uniform`` code of networks whose hidden nodes have their own ops


def pack_meta(layout: np.ndarray, uniform: int, nodes: int, slots: int = 0) -> np.ndarray:
    """The kernels' int64 ``meta``: [uniform op, nodes, edge slots, layers, layout rows…]
    (few arguments: each one costs the call ≈ 0.1 µs, several times that with cold caches)."""
    head = np.array([uniform, nodes, slots, len(layout)], dtype=np.int64)
    return np.concatenate([head, np.asarray(layout, dtype=np.int64).ravel()])


_CLAMP = 7.90531110763549805
# No fast-math: sums are not reordered (a vectorized dot product would add in an order that
# depends on the SIMD width), multiply-adds are not contracted to FMAs and divisions stay
# divisions, so every CPU computes the same bits (docs/algorithm.md#determinism).
FAST = False


@numba.njit(cache=True, nogil=True, fastmath=FAST, inline="always")
def tanh(x):  # pragma: no cover (compiled)
    x = _CLAMP if x > _CLAMP else (-_CLAMP if x < -_CLAMP else x)  # selects: vectorizes, keeps NaN
    x2 = x * x
    p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13
    p = p * x2 + -8.60467152213735e-11
    p = p * x2 + 5.12229709037114e-08
    p = p * x2 + 1.48572235717979e-05
    p = p * x2 + 6.37261928875436e-04
    p = p * x2 + 4.89352455891786e-03
    q = x2 * 1.19825839466702e-06 + 1.18534705686654e-04
    q = q * x2 + 2.26843463243900e-03
    q = q * x2 + 4.89352518554385e-03
    return p * x / q


@numba.njit(cache=True, nogil=True, inline="always")
def apply_op(code, x):  # pragma: no cover (compiled)
    """The op ``OP_CODES[code]`` at x (same definitions as ``esenas_core.networks.nets.OPS``)."""
    if code == 0:
        return tanh(x)
    if code == 1:
        return x if x > 0.0 else 0.0
    if code == 2:
        return math.exp(min(max(x, -10.0), 10.0))
    if code == 3:
        return x
    if code == 4:
        return math.sin(x)
    if code == 5:
        return 0.5 * (1.0 + tanh(0.5 * x))
    if code == 6:
        return abs(x)
    if code == 7:
        return math.cos(x)
    if code == 8:
        return x * x
    if code == 9:
        return 1.0 if x >= 0.0 else 0.0
    return 1.0 / x if abs(x) >= 0.1 else 10.0  # reciprocal, bounded by 10 in magnitude


@numba.njit(cache=True, nogil=True, fastmath=FAST, inline="always")
def _activate(pre, last_layer, uniform, codes):  # pragma: no cover (compiled)
    """In place on one layer's pre-activations ``pre``; ``codes``: their per-node ops."""
    if last_layer or uniform == 0:
        for j in range(pre.shape[0]):
            pre[j] = tanh(pre[j])
    elif uniform == 1:
        for j in range(pre.shape[0]):
            pre[j] = 0.0 if pre[j] < 0.0 else pre[j]  # NaN stays NaN, as with np.maximum
    else:
        for j in range(pre.shape[0]):
            pre[j] = apply_op(uniform if uniform >= 0 else codes[j], pre[j])


@numba.njit(cache=True, nogil=True, fastmath=FAST)
def forward(params, meta, codes, obs):  # pragma: no cover (compiled)
    """(B, n_out) float64: network b at obs[b], dense weights. ``meta`` is ``pack_meta``'s."""
    uniform, nodes, layers = meta[0], meta[1], meta[3]
    last = layers - 1
    first_out = meta[4 + 5 * last + 3]
    out = np.empty((obs.shape[0], meta[4 + 5 * last + 4]))
    v = np.empty(nodes, params.dtype)
    for b in range(obs.shape[0]):
        w = params[b]
        for i in range(obs.shape[1]):
            v[i] = obs[b, i]
        for t in range(layers):
            off, src, width = meta[4 + 5 * t], meta[5 + 5 * t], meta[6 + 5 * t]
            dst, n = meta[7 + 5 * t], meta[8 + 5 * t]
            x = v[src : src + width]
            for j in range(n):
                row = off + j * (1 + width)
                weights = w[row + 1 : row + 1 + width]  # slices: indices known ≥ 0, so no
                acc = w[row]  # negative-index wraparound test per element, and it vectorizes
                for i in range(width):
                    acc += x[i] * weights[i]
                v[dst + j] = acc
            _activate(v[dst : dst + n], t == last, uniform, codes[b, dst : dst + n])
        for j in range(out.shape[1]):
            out[b, j] = v[first_out + j]
    return out


@numba.njit(cache=True, nogil=True, fastmath=FAST)
def forward_columns(params_t, meta, codes, obs):  # pragma: no cover (compiled)
    """``forward`` with the batch as the innermost loop, for large batches: ``params_t`` is
    ``params`` transposed (P, B). Every row b goes through the same operations in the same
    order as in ``forward`` (a node's bias, then one multiply-add per source node, then its
    nonlinearity), so the bits are ``forward``'s; only the loop over rows is inside, where it
    runs on whole SIMD registers (each lane an independent row: no reordered sums)."""
    uniform, nodes, layers = meta[0], meta[1], meta[3]
    last = layers - 1
    first_out = meta[4 + 5 * last + 3]
    batch = obs.shape[0]
    v = np.empty((nodes, batch), params_t.dtype)
    for i in range(obs.shape[1]):
        col = v[i]
        for b in range(batch):
            col[b] = obs[b, i]
    for t in range(layers):
        off, src, width = meta[4 + 5 * t], meta[5 + 5 * t], meta[6 + 5 * t]
        dst, n = meta[7 + 5 * t], meta[8 + 5 * t]
        for j in range(n):
            row = off + j * (1 + width)
            acc = v[dst + j]
            bias = params_t[row]
            for b in range(batch):
                acc[b] = bias[b]
            for i in range(width):
                x, w = v[src + i], params_t[row + 1 + i]
                for b in range(batch):
                    acc[b] += x[b] * w[b]
            if t == last or uniform == 0:
                for b in range(batch):
                    acc[b] = tanh(acc[b])
            elif uniform == 1:
                for b in range(batch):
                    acc[b] = 0.0 if acc[b] < 0.0 else acc[b]
            else:
                for b in range(batch):
                    acc[b] = apply_op(uniform if uniform >= 0 else codes[b, dst + j], acc[b])
    out = np.empty((batch, meta[4 + 5 * last + 4]))
    for j in range(out.shape[1]):
        col = v[first_out + j]
        for b in range(batch):
            out[b, j] = col[b]
    return out


@numba.njit(cache=True, nogil=True, fastmath=FAST)
def forward_sparse(floats, ints, meta, codes, obs):  # pragma: no cover (compiled)
    """``forward`` over edge lists. Row b: ``floats[b] = [bias by node | weight of each edge]``,
    ``ints[b] = [source of each edge | target of each edge | end of each layer's edges]``
    (``meta[2]`` slots per edge list); edges grouped by target layer, then ordered by target
    node, then source node."""
    uniform, nodes, slots, layers = meta[0], meta[1], meta[2], meta[3]
    last = layers - 1
    first_out = meta[4 + 5 * last + 3]
    out = np.empty((obs.shape[0], meta[4 + 5 * last + 4]))
    v = np.empty(nodes, floats.dtype)
    for b in range(obs.shape[0]):
        f, k = floats[b], ints[b]
        srcs, dsts, ends, weights = k[:slots], k[slots : 2 * slots], k[2 * slots :], f[nodes:]
        for i in range(obs.shape[1]):
            v[i] = obs[b, i]
        for i in range(obs.shape[1], nodes):
            v[i] = f[i]
        start = 0
        for t in range(layers):
            for e in range(start, ends[t]):
                v[dsts[e]] += weights[e] * v[srcs[e]]
            start = ends[t]
            first, n = meta[7 + 5 * t], meta[8 + 5 * t]
            _activate(v[first : first + n], t == last, uniform, codes[b, first : first + n])
        for j in range(out.shape[1]):
            out[b, j] = v[first_out + j]
    return out


@numba.njit(cache=True, nogil=True)
def combine_slices(weights, starts, noise, out):  # pragma: no cover (compiled)
    """out += Σ_i weights[i] · noise[starts[i] : starts[i] + len(out)].

    Eight directions per pass over ``out`` (one load and store of ``out`` per eight slices read:
    the pass is bound by memory traffic), summed in a fixed order: the same on every call."""
    dim, n = out.shape[0], weights.shape[0]
    full = n - n % 8
    for b in range(0, full, 8):
        w0, w1, w2, w3 = weights[b], weights[b + 1], weights[b + 2], weights[b + 3]
        w4, w5, w6, w7 = weights[b + 4], weights[b + 5], weights[b + 6], weights[b + 7]
        t0 = noise[starts[b] : starts[b] + dim]
        t1 = noise[starts[b + 1] : starts[b + 1] + dim]
        t2 = noise[starts[b + 2] : starts[b + 2] + dim]
        t3 = noise[starts[b + 3] : starts[b + 3] + dim]
        t4 = noise[starts[b + 4] : starts[b + 4] + dim]
        t5 = noise[starts[b + 5] : starts[b + 5] + dim]
        t6 = noise[starts[b + 6] : starts[b + 6] + dim]
        t7 = noise[starts[b + 7] : starts[b + 7] + dim]
        for j in range(dim):
            out[j] += ((w0 * t0[j] + w1 * t1[j]) + (w2 * t2[j] + w3 * t3[j])) + (
                (w4 * t4[j] + w5 * t5[j]) + (w6 * t6[j] + w7 * t7[j])
            )
    for i in range(full, n):
        w = weights[i]
        t = noise[starts[i] : starts[i] + dim]
        for j in range(dim):
            out[j] += w * t[j]


@numba.njit(cache=True, nogil=True)
def combine_square_slices(weights, starts, noise, out):  # pragma: no cover (compiled)
    """out += Σ_i weights[i] · noise[starts[i] : starts[i] + len(out)]² (elementwise): the
    squares of ``combine_slices``'s slices, eight per pass over ``out`` and summed in a fixed
    order, as there."""
    dim, n = out.shape[0], weights.shape[0]
    full = n - n % 8
    for b in range(0, full, 8):
        w0, w1, w2, w3 = weights[b], weights[b + 1], weights[b + 2], weights[b + 3]
        w4, w5, w6, w7 = weights[b + 4], weights[b + 5], weights[b + 6], weights[b + 7]
        t0 = noise[starts[b] : starts[b] + dim]
        t1 = noise[starts[b + 1] : starts[b + 1] + dim]
        t2 = noise[starts[b + 2] : starts[b + 2] + dim]
        t3 = noise[starts[b + 3] : starts[b + 3] + dim]
        t4 = noise[starts[b + 4] : starts[b + 4] + dim]
        t5 = noise[starts[b + 5] : starts[b + 5] + dim]
        t6 = noise[starts[b + 6] : starts[b + 6] + dim]
        t7 = noise[starts[b + 7] : starts[b + 7] + dim]
        for j in range(dim):
            x0, x1 = np.float64(t0[j]), np.float64(t1[j])
            x2, x3 = np.float64(t2[j]), np.float64(t3[j])
            x4, x5 = np.float64(t4[j]), np.float64(t5[j])
            x6, x7 = np.float64(t6[j]), np.float64(t7[j])
            out[j] += ((w0 * (x0 * x0) + w1 * (x1 * x1)) + (w2 * (x2 * x2) + w3 * (x3 * x3))) + (
                (w4 * (x4 * x4) + w5 * (x5 * x5)) + (w6 * (x6 * x6) + w7 * (x7 * x7))
            )
    for i in range(full, n):
        w = weights[i]
        t = noise[starts[i] : starts[i] + dim]
        for j in range(dim):
            x = np.float64(t[j])
            out[j] += w * (x * x)
