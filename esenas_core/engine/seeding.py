"""Deterministic seed derivation: every random stream is a pure function of (run seed, keys).

Nothing in esenas uses global RNG state. Workers regenerate perturbations from the seeds derived
here, so the same config and seed give the same numbers on every backend.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator, Sequence

import numba
import numpy as np

from esenas_core.api.seeded import pcg64_states

# Stream identifiers: the first key after the run seed.
STREAM_INIT = 0
STREAM_CONTROLLER = 1
STREAM_PERTURBATION = 2
STREAM_ENV = 3
STREAM_EVALUATE = 99  # `esenas evaluate`: episode i of seed s runs env seed derive_seed(s, 99, i)
STREAM_VIDEO = 98  # `esenas evaluate --video`: the recorded episode's env seed


def derive_seed(run_seed: int, *keys: int) -> int:
    """Return a 63-bit seed that depends only on ``run_seed`` and ``keys``."""
    seq = np.random.SeedSequence(entropy=int(run_seed), spawn_key=tuple(int(k) for k in keys))
    lo, hi = seq.generate_state(2, dtype=np.uint32)
    return int(lo) | (int(hi) & 0x7FFFFFFF) << 32


# numpy's SeedSequence (O'Neill's seed_seq), vectorized below over the last key
# (esenas_core.api.seeded holds the arithmetic).
_MASK = 0xFFFFFFFF
_POOL = 4


def _words(value: int) -> list[int]:
    """An integer as SeedSequence reads it: 32-bit words, lowest first ([0] for 0)."""
    value, out = int(value), []
    while True:
        out.append(value & _MASK)
        value >>= 32
        if not value:
            return out


def derive_seeds(run_seed: int, *keys: int, last: np.ndarray) -> np.ndarray:
    """``[derive_seed(run_seed, *keys, k) for k in last]`` as an int64 array, computed for all
    ``last`` at once with numpy's SeedSequence arithmetic (bitwise the same values)."""
    last = np.asarray(last, dtype=np.int64)
    if last.size and (last.min() < 0 or last.max() > _MASK):  # not one word each: the slow way
        return np.array([derive_seed(run_seed, *keys, int(k)) for k in last], dtype=np.int64)
    run = _words(run_seed)
    run += [0] * max(0, _POOL - len(run))  # numpy pads the run entropy when a spawn key follows
    words = np.array(run + [w for k in keys for w in _words(k)], dtype=np.uint64)
    return _derive_kernel(words, last.astype(np.uint64))


# numpy's SeedSequence constants (O'Neill's seed_seq): esenas_core.api.seeded has the same
# arithmetic over numpy arrays; this kernel runs it compiled, in 64-bit words masked to 32 bits.
_U64 = np.uint64
_M32 = _U64(0xFFFFFFFF)


@numba.njit(cache=True, nogil=True)
def _hashmix(value, h):  # (hashed value, next hash constant)
    value = (value ^ h) & _M32
    h = (h * _U64(0x931E8875)) & _M32
    value = (value * h) & _M32
    return value ^ (value >> _U64(16)), h


@numba.njit(cache=True, nogil=True)
def _mix(x, y):
    result = (_U64(0xCA01F9DD) * x - _U64(0x4973F715) * y) & _M32
    return result ^ (result >> _U64(16))


@numba.njit(cache=True, nogil=True)
def _derive_kernel(words: np.ndarray, last: np.ndarray) -> np.ndarray:
    """SeedSequence(entropy = words[:4…], spawn_key = (…, last[i])).generate_state(2) per i,
    as ``derive_seed`` packs it; ``words`` holds at least four 32-bit words."""
    pool = np.zeros(4, dtype=np.uint64)
    h = _U64(0x43B0D7E5)
    for i in range(4):
        pool[i], h = _hashmix(words[i], h)
    for src in range(4):
        for dst in range(4):
            if src != dst:
                hashed, h = _hashmix(pool[src], h)
                pool[dst] = _mix(pool[dst], hashed)
    for src in range(4, words.shape[0]):
        for dst in range(4):
            hashed, h = _hashmix(words[src], h)
            pool[dst] = _mix(pool[dst], hashed)
    out = np.empty(last.shape[0], dtype=np.int64)
    g0 = _U64(0x8B51F9DD)  # generate_state's hash constants of its first two words
    g1 = (g0 * _U64(0x58F38DED)) & _M32
    g2 = (g1 * _U64(0x58F38DED)) & _M32
    for k in range(last.shape[0]):
        # only pool[0] and pool[1] reach the two words; pool[2] and pool[3] advance the hash
        hashed, hk = _hashmix(last[k], h)
        p0 = _mix(pool[0], hashed)
        hashed, hk = _hashmix(last[k], hk)
        p1 = _mix(pool[1], hashed)
        low = (((p0 ^ g0) & _M32) * g1) & _M32
        low ^= low >> _U64(16)
        high = (((p1 ^ g1) & _M32) * g2) & _M32
        high ^= high >> _U64(16)
        out[k] = np.int64(low | ((high & _U64(0x7FFFFFFF)) << _U64(32)))
    return out


def perturbations(seeds: Sequence[int] | np.ndarray, dim: int) -> Iterator[np.ndarray]:
    """``perturbation(s, dim)`` for each seed in turn, the same arrays (read-only): the
    generators' states are computed for all seeds at once and loaded into one reused generator
    (a third of the cost of building a generator per seed), and the directions of the last
    iterations are kept (``_RECENT``): the serial backend draws a direction for the episodes and
    the aggregator the same one again for the gradient."""
    seeds = [int(s) for s in seeds]
    with _RECENT_LOCK:
        known = {s: _RECENT[(s, dim)] for s in seeds if (s, dim) in _RECENT}
    missing = list(dict.fromkeys(s for s in seeds if s not in known))
    fresh = dict(zip(missing, _draw(missing, dim), strict=True))
    if fresh and dim * 8 * len(fresh) <= _RECENT_BYTES:
        with _RECENT_LOCK:
            for s, eps in fresh.items():
                _RECENT[(s, dim)] = eps
            while len(_RECENT) * dim * 8 > _RECENT_BYTES:
                _RECENT.popitem(last=False)
    for s in seeds:
        yield known[s] if s in known else fresh[s]


_RECENT: collections.OrderedDict[tuple[int, int], np.ndarray] = collections.OrderedDict()
_RECENT_LOCK = threading.Lock()
_RECENT_BYTES = 32 * 2**20  # per process


def _draw(seeds: list[int], dim: int) -> Iterator[np.ndarray]:
    if not seeds:
        return
    hi, lo, inc_hi, inc_lo = pcg64_states(np.asarray(seeds, dtype=np.int64))
    bits = np.random.PCG64(0)
    gen = np.random.Generator(bits)
    for k in range(len(seeds)):
        bits.state = {
            "bit_generator": "PCG64",
            "state": {
                "state": (int(hi[k]) << 64) | int(lo[k]),
                "inc": (int(inc_hi[k]) << 64) | int(inc_lo[k]),
            },
            "has_uint32": 0,
            "uinteger": 0,
        }
        eps = gen.standard_normal(dim)
        eps.flags.writeable = False
        yield eps


def perturbation(seed: int, dim: int) -> np.ndarray:
    """The Gaussian direction ε ~ N(0, I_dim) for a perturbation seed (same on every machine)."""
    # default_rng(seed)'s generator, built without its argument dispatch (a third of the cost)
    return np.random.Generator(np.random.PCG64(seed)).standard_normal(dim)
