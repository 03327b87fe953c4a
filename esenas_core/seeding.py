"""Deterministic seed derivation: every random stream is a pure function of (run seed, keys).

Nothing in esenas uses global RNG state. Workers regenerate perturbations from the seeds derived
here, so the same config and seed give the same numbers on every backend.
"""

from __future__ import annotations

import numpy as np

# Stream identifiers: the first key after the run seed.
STREAM_INIT = 0
STREAM_CONTROLLER = 1
STREAM_PERTURBATION = 2
STREAM_ENV = 3


def derive_seed(run_seed: int, *keys: int) -> int:
    """Return a 63-bit seed that depends only on ``run_seed`` and ``keys``."""
    seq = np.random.SeedSequence(entropy=int(run_seed), spawn_key=tuple(int(k) for k in keys))
    lo, hi = seq.generate_state(2, dtype=np.uint32)
    return int(lo) | (int(hi) & 0x7FFFFFFF) << 32


def as_generator(seed: int | np.random.Generator) -> np.random.Generator:
    """Turn a seed (or an existing generator) into a ``np.random.Generator``."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(int(seed))


def perturbation(seed: int, dim: int) -> np.ndarray:
    """The Gaussian direction ε ~ N(0, I_dim) for a perturbation seed (same on every machine)."""
    return np.random.default_rng(seed).standard_normal(dim)
