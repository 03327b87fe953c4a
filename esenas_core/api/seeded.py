"""The first draws of ``np.random.Generator(PCG64(seed))`` for many seeds at once.

A batched task resets B episodes, each from its own seed, as ``reset(seed=s)`` of a gymnasium
environment does (``np_random(s)`` is ``Generator(PCG64(SeedSequence(s)))``). Building B
generators costs ≈ 15–30 µs each; :func:`seeded_doubles` computes the same doubles with numpy
integer arithmetic over the whole batch: SeedSequence's hashing of the seed (O'Neill's
``seed_seq``), PCG64's seeding from four 64-bit words of it, and its 128-bit LCG steps with the
XSL-RR output, carried in pairs of uint64 halves. tests/test_seeded.py compares it with numpy's
generators bit for bit.
"""

from __future__ import annotations

import numpy as np

_U32 = 0xFFFFFFFF
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_POOL = 4
_PCG_MULT = (2549297995355413924, 4865540595714422341)  # PCG64's 128-bit multiplier (hi, lo)


def seeded_doubles(seeds: np.ndarray | list[int], count: int) -> np.ndarray:
    """(B, count): row i is ``np.random.Generator(np.random.PCG64(seeds[i])).random(count)``.

    Seeds are integers in [0, 2⁶⁴) (what numpy accepts as one seed); ``ValueError`` otherwise.
    """
    raw = np.asarray(seeds)
    if raw.ndim != 1 or (raw.size and raw.dtype.kind not in "iu"):
        raise ValueError("seeded_doubles: seeds must be a 1-D array of integers")
    if raw.size and raw.dtype.kind == "i" and raw.min() < 0:
        raise ValueError("seeded_doubles: seeds must be >= 0")
    hi, lo, inc_hi, inc_lo = pcg64_states(raw)
    with np.errstate(over="ignore"):
        out = np.empty((raw.size, count))
        for k in range(count):
            hi, lo = _pcg_step(hi, lo, inc_hi, inc_lo)
            value = _xsl_rr(hi, lo)
            out[:, k] = (value >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    return out


def pcg64_states(seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(state hi, state lo, inc hi, inc lo) of ``PCG64(seed)`` for each seed (uint64 halves of
    its 128-bit state and increment, as ``PCG64(seed).state`` holds them)."""
    with np.errstate(over="ignore"):
        return _pcg64_seed(
            _generate_state(_seed_sequence_pool(np.asarray(seeds).astype(np.uint64)))
        )


def _seed_sequence_pool(words: np.ndarray) -> list[np.ndarray]:
    """SeedSequence(seed)'s entropy pool: its entropy is the seed's low and high 32 bits (a
    seed below 2³² is one word; the missing one hashes as 0 either way)."""
    low = (words & np.uint64(_U32)).astype(np.uint32)
    return entropy_pool([low, (words >> np.uint64(32)).astype(np.uint32)])


def entropy_pool(entropy: list[np.ndarray]) -> list[np.ndarray]:
    """numpy's ``SeedSequence.mix_entropy`` (O'Neill's ``seed_seq``) for arrays of seeds at
    once: ``entropy`` holds the 32-bit entropy words, each an array over the seeds."""
    zero = np.zeros(entropy[0].shape, dtype=np.uint32)
    hash_const = _INIT_A

    def hashmix(value: np.ndarray) -> np.ndarray:
        nonlocal hash_const
        value = value ^ np.uint32(hash_const)
        hash_const = (hash_const * _MULT_A) & _U32
        value = value * np.uint32(hash_const)
        return value ^ (value >> np.uint32(16))

    def mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        result: np.ndarray = np.uint32(_MIX_L) * x - np.uint32(_MIX_R) * y
        return result ^ (result >> np.uint32(16))

    pool = [hashmix(entropy[i] if i < len(entropy) else zero) for i in range(_POOL)]
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    for src in range(_POOL, len(entropy)):
        for dst in range(_POOL):
            pool[dst] = mix(pool[dst], hashmix(entropy[src]))
    return pool


def generate_words(pool: list[np.ndarray], count: int) -> list[np.ndarray]:
    """``SeedSequence.generate_state(count, np.uint32)`` from the pool, word by word."""
    hash_const = _INIT_B
    words = []
    for i in range(count):
        value = pool[i % _POOL] ^ np.uint32(hash_const)
        hash_const = (hash_const * _MULT_B) & _U32
        value = value * np.uint32(hash_const)
        words.append(value ^ (value >> np.uint32(16)))
    return words


def _generate_state(pool: list[np.ndarray]) -> list[np.ndarray]:
    """``generate_state(4, np.uint64)``: eight hashed 32-bit words, paired little-endian."""
    words32 = generate_words(pool, 8)
    return [
        words32[2 * k].astype(np.uint64) | (words32[2 * k + 1].astype(np.uint64) << np.uint64(32))
        for k in range(4)
    ]


def _pcg64_seed(
    s: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``pcg64_set_seed``: state 0, inc = (s2:s3 << 1) | 1, step, state += s0:s1, step."""
    inc_hi = (s[2] << np.uint64(1)) | (s[3] >> np.uint64(63))
    inc_lo = (s[3] << np.uint64(1)) | np.uint64(1)
    zero = np.zeros_like(s[0])
    hi, lo = _pcg_step(zero, zero, inc_hi, inc_lo)
    hi, lo = _add128(hi, lo, s[0], s[1])
    hi, lo = _pcg_step(hi, lo, inc_hi, inc_lo)
    return hi, lo, inc_hi, inc_lo


def _add128(a_hi, a_lo, b_hi, b_lo) -> tuple[np.ndarray, np.ndarray]:
    lo = a_lo + b_lo
    carry = (lo < a_lo).astype(np.uint64)
    return a_hi + b_hi + carry, lo


def _mul64(a: np.ndarray, b: int) -> tuple[np.ndarray, np.ndarray]:
    """The 128-bit product of uint64 ``a`` and the constant ``b``, as (hi, lo)."""
    mask = np.uint64(_U32)
    a0, a1 = a & mask, a >> np.uint64(32)
    b0, b1 = np.uint64(b & _U32), np.uint64(b >> 32)
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> np.uint64(32)) + (p01 & mask) + (p10 & mask)
    hi = p11 + (p01 >> np.uint64(32)) + (p10 >> np.uint64(32)) + (mid >> np.uint64(32))
    lo = (mid << np.uint64(32)) | (p00 & mask)
    return hi, lo


def _pcg_step(hi, lo, inc_hi, inc_lo) -> tuple[np.ndarray, np.ndarray]:
    """state ← state · MULT + inc (mod 2¹²⁸)."""
    m_hi, m_lo = _PCG_MULT
    prod_hi, prod_lo = _mul64(lo, m_lo)
    prod_hi = prod_hi + lo * np.uint64(m_hi) + hi * np.uint64(m_lo)
    return _add128(prod_hi, prod_lo, inc_hi, inc_lo)


def _xsl_rr(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """PCG's XSL-RR output: (hi ^ lo) rotated right by the state's top six bits."""
    value = hi ^ lo
    rot = hi >> np.uint64(58)
    return (value >> rot) | (value << ((np.uint64(64) - rot) & np.uint64(63)))
