"""A repair for per-layer edge budgets on a supernet without skip edges (``edges`` in mode
``independent``), used where the general repair (``liveness.repair``) finds no placement.

With ``k[t]`` edges into layer t+1 and ``a[t]`` live nodes in layer t, a structure whose every
edge is live exists exactly when max(a[t], a[t+1]) ≤ k[t] ≤ a[t]·a[t+1] for every t, with
1 ≤ a[t] ≤ n[t]: every live node needs an edge in and out, and a layer's edges run between
its live sources and live targets. ``feasible_sizes`` finds such sizes nearest the genome's own
(the nodes its chosen edges touch); ``build`` keeps the genome's edges among the chosen nodes,
covers every live node, and fills the rest of each budget with the free places nearest the
genome's other edges.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def feasible_sizes(
    sizes: Sequence[int], ks: Sequence[int], wanted: Sequence[int] | None = None
) -> list[int] | None:
    """Live node counts per layer that can hold the budgets ``ks`` (nearest ``wanted`` in sum
    of absolute differences; largest where tied), or None."""
    wanted = list(sizes) if wanted is None else list(wanted)
    layers = len(sizes)
    best: list[dict[int, tuple[int, list[int]]]] = [
        {a: (abs(a - wanted[0]), [a]) for a in range(1, sizes[0] + 1)}
    ]
    for t in range(1, layers):
        here: dict[int, tuple[int, list[int]]] = {}
        for a in range(1, sizes[t] + 1):
            options = [
                (cost + abs(a - wanted[t]), [*path, a])
                for p, (cost, path) in best[-1].items()
                if max(p, a) <= ks[t - 1] <= p * a
            ]
            if options:
                here[a] = min(options, key=lambda o: (o[0], [-v for v in o[1]]))
        if not here:
            return None
        best.append(here)
    return min(best[-1].values(), key=lambda o: (o[0], [-v for v in o[1]]))[1]


def nearest_budgets(sizes: Sequence[int], ks: Sequence[int]) -> str:
    """Which single entry of ``ks`` to change, and to what, for a live structure to exist."""
    for t, k in enumerate(ks):
        for v in [*range(k - 1, 0, -1), *range(k + 1, sizes[t] * sizes[t + 1] + 1)]:
            if feasible_sizes(sizes, [*ks[:t], v, *ks[t + 1 :]]) is not None:
                side = "largest" if v < k else "smallest"
                return f"the {side} valid k_per_layer[{t}] with the others unchanged is {v}"
    return "no single entry can be changed to make it valid"


def build(sizes: Sequence[int], ks: Sequence[int], mask: np.ndarray) -> np.ndarray | None:
    """An all-live edge mask with ``ks[t]`` edges into layer t+1, near ``mask``; None where no
    such mask exists. Edges are numbered by target layer, then source, then target node."""
    blocks, lo = [], 0
    for t in range(len(sizes) - 1):
        blocks.append((lo, sizes[t], sizes[t + 1]))
        lo += sizes[t] * sizes[t + 1]
    mats = [mask[lo : lo + n * m].reshape(n, m) for lo, n, m in blocks]
    use = [np.zeros(n, np.int64) for n in sizes]
    for t, mat in enumerate(mats):
        use[t] += mat.sum(axis=1)
        use[t + 1] += mat.sum(axis=0)
    wanted = [max(1, int((u > 0).sum())) for u in use]
    live = feasible_sizes(sizes, ks, wanted)
    if live is None:
        return None
    chosen = [np.sort(np.argsort(-u, kind="stable")[:a]) for u, a in zip(use, live, strict=True)]
    out = np.zeros_like(mask)
    for t, ((lo, n, m), mat) in enumerate(zip(blocks, mats, strict=True)):
        src, dst, k = chosen[t], chosen[t + 1], ks[t]
        keep = np.zeros((n, m), bool)
        keep[np.ix_(src, dst)] = mat[np.ix_(src, dst)]
        _cover(keep, src, dst)
        _trim(keep, src, dst, k)
        if keep.sum() != k:  # a cover that cannot shrink to k: the canonical minimum one
            keep[:] = False
            big, small = (src, dst) if src.size >= dst.size else (dst, src)
            for i, node in enumerate(big):
                pair = (node, small[i % small.size])
                keep[pair if big is src else pair[::-1]] = True
        _fill(keep, src, dst, k, mat)
        out[lo : lo + n * m] = keep.reshape(-1)
    return out


def _cover(keep: np.ndarray, src: np.ndarray, dst: np.ndarray) -> None:
    """Give every chosen source an edge out and every chosen target an edge in."""
    bare_s = [s for s in src if not keep[s, dst].any()]
    bare_d = [d for d in dst if not keep[src, d].any()]
    for s, d in zip(bare_s, bare_d, strict=False):
        keep[s, d] = True
    for s in bare_s[len(bare_d) :]:
        keep[s, dst[np.argmin(np.abs(dst - s))]] = True
    for d in bare_d[len(bare_s) :]:
        keep[src[np.argmin(np.abs(src - d))], d] = True


def _trim(keep: np.ndarray, src: np.ndarray, dst: np.ndarray, k: int) -> None:
    """Drop edges whose both ends keep another edge, last first, down to k."""
    for s in src[::-1]:
        for d in dst[::-1]:
            if keep.sum() <= k:
                return
            if keep[s, d] and keep[s].sum() >= 2 and keep[:, d].sum() >= 2:
                keep[s, d] = False


def _fill(keep: np.ndarray, src: np.ndarray, dst: np.ndarray, k: int, mat: np.ndarray) -> None:
    """Add free places among the chosen nodes up to k: nearest the genome's other edges first."""
    inside = np.zeros_like(keep)
    inside[np.ix_(src, dst)] = True
    free = np.argwhere(inside & ~keep)
    for s, d in np.argwhere(mat & ~keep):
        if keep.sum() >= k or free.size == 0:
            break
        dist = np.abs(free[:, 0] - s) + np.abs(free[:, 1] - d)
        i = int(np.argmin(dist))
        keep[tuple(free[i])] = True
        free = np.delete(free, i, axis=0)
    for s, d in free:
        if keep.sum() >= k:
            break
        keep[s, d] = True
