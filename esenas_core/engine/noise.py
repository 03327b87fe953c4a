"""Perturbation directions ε: regenerated from their seed, or slices of a shared noise table.

``es.noise = "seeded"`` (the default): ε = N(0, I_d) drawn by a generator seeded with the
perturbation seed. Exact Gaussians, but assembling the gradient Σ w_i ε_i regenerates every
direction: O(n·d) generator work in the aggregator (1.6 s at n = 1,024 pairs, d = 71,942).

``es.noise = "table"``: ε_i = T[o_i : o_i + d], a slice of one table T of ``es.noise_table_size``
float32 standard normals that every process builds from the fixed seed ``TABLE_SEED`` (OpenAI-ES,
Salimans et al. 2017). The offset o_i is the perturbation seed modulo (size − d + 1). Directions
are then memory reads; the gradient is one compiled pass over n slices (docs/distributed.md).
Each process holds the table once (``table_size × 4`` bytes: 128 MiB at the default 2^25).

``NoiseSpec`` (esenas_core.api.records) names the kind; the functions here make the directions.
Both are pure functions of (seed, d): driver and workers see the same directions on every backend.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from esenas_core.api.records import NoiseSpec
from esenas_core.engine.seeding import perturbation, perturbations

TABLE_SEED = 20_170_310  # fixed: the table is the same in every process, run and machine


def direction(spec: NoiseSpec, seed: int, dim: int) -> np.ndarray:
    """ε for one perturbation seed (float64)."""
    if spec.kind == "seeded":
        return perturbation(seed, dim)
    offset = int(offsets([seed], spec.table_size, dim)[0])
    return table(spec.table_size)[offset : offset + dim].astype(np.float64)


def directions(spec: NoiseSpec, seeds: Sequence[int], dim: int) -> list[np.ndarray]:
    """``[direction(spec, s, dim) for s in seeds]``, the seeded generators built together."""
    if spec.kind == "seeded":
        return list(perturbations(seeds, dim))
    return [direction(spec, int(s), dim) for s in seeds]


def combine(
    spec: NoiseSpec, weights: np.ndarray, seeds: Sequence[int] | np.ndarray, dim: int
) -> np.ndarray:
    """Σ_i w_i ε(seed_i) (float64)."""
    weights = np.asarray(weights, dtype=np.float64)
    if spec.kind == "seeded":
        grad = np.zeros(dim)
        used = [(w, int(seed)) for w, seed in zip(weights, seeds, strict=True) if w != 0.0]
        for (w, _), eps in zip(used, perturbations([s for _, s in used], dim), strict=True):
            grad += w * eps
        return grad
    if len(weights) != len(seeds):
        raise ValueError(f"{len(weights)} weights for {len(seeds)} seeds")
    from esenas_core.networks.kernels import combine_slices  # numba: imported when first needed

    out = np.zeros(dim)
    combine_slices(weights, offsets(seeds, spec.table_size, dim), table(spec.table_size), out)
    return out


def combine_squares(
    spec: NoiseSpec, weights: np.ndarray, seeds: Sequence[int] | np.ndarray, dim: int
) -> np.ndarray:
    """Σ_i w_i ε(seed_i)² (elementwise, float64): what per-coordinate σ rules need."""
    weights = np.asarray(weights, dtype=np.float64)
    if len(weights) != len(seeds):
        raise ValueError(f"{len(weights)} weights for {len(seeds)} seeds")
    out = np.zeros(dim)
    if spec.kind == "seeded":
        used = [(w, int(seed)) for w, seed in zip(weights, seeds, strict=True) if w != 0.0]
        for (w, _), eps in zip(used, perturbations([s for _, s in used], dim), strict=True):
            out += w * (eps * eps)
        return out
    from esenas_core.networks.kernels import combine_square_slices

    combine_square_slices(
        weights, offsets(seeds, spec.table_size, dim), table(spec.table_size), out
    )
    return out


def offsets(seeds: Sequence[int] | np.ndarray, size: int, dim: int) -> np.ndarray:
    """Table offsets of the perturbation seeds (seeds are 63-bit hashes already)."""
    if size < dim:
        raise ValueError(f"noise table of {size} floats is shorter than θ ({dim})")
    seeds = np.asarray(seeds, dtype=np.uint64)
    return (seeds % np.uint64(size - dim + 1)).astype(np.int64)


@functools.lru_cache(maxsize=2)
def table(size: int) -> np.ndarray:
    """The shared noise table of ``size`` float32 standard normals (built once per process)."""
    out = np.random.default_rng(TABLE_SEED).standard_normal(size, dtype=np.float32)
    out.flags.writeable = False
    return out
