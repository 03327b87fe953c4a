"""Live edges of a layered supernet, and the repair that spends a budget of edges on live ones.

An edge is *live* when it lies on a path from an input to an output: its source is reachable from
an input and its target reaches an output, both through kept edges. A dead edge changes no
action (it feeds a node whose value goes nowhere, or reads a node that sees no input — a constant
that a bias could hold), so sizes count live edges and the ``repair`` decoding moves dead choices.

Edges are numbered by target layer (``Supernet``), every source lying in an earlier layer, so one
pass in edge order finds what the inputs reach, and one pass in reverse order what reaches the
outputs.

``repair`` (compiled) keeps every live edge and re-spends the dead ones, one at a time in edge
order: each dead edge (its *anchor*) becomes the shortest chain of free candidate edges from a
reachable node to a node that reaches an output — one edge where one suffices, else a new path
through unused nodes. Among the shortest, the chain nearest the anchor wins (fewest changed
endpoints, then the smallest node distance, then the lowest edge index): a genome that differs
in one edge decodes to an architecture that differs in about one edge. Where no chain fits the
budget left, a *redundant* live edge (one whose removal leaves every other edge live) is freed.
The result keeps the same number of edges per group, all live; a failure is reported, never
hidden.
"""

from __future__ import annotations

import numba
import numpy as np

BIG = 1 << 40


@numba.njit(cache=True, nogil=True)
def _reach(src, dst, mask, n_nodes, n_in, out_start):
    reach = np.zeros(n_nodes, np.bool_)
    reach[:n_in] = True
    for e in range(src.size):
        if mask[e] and reach[src[e]]:
            reach[dst[e]] = True
    co = np.zeros(n_nodes, np.bool_)
    co[out_start:] = True
    for e in range(src.size - 1, -1, -1):
        if mask[e] and co[dst[e]]:
            co[src[e]] = True
    return reach, co


@numba.njit(cache=True, nogil=True)
def live_rows(src, dst, masks, n_nodes, n_in, out_start):
    """(B, E) live edges of (B, E) edge masks."""
    out = np.zeros(masks.shape, np.bool_)
    for b in range(masks.shape[0]):
        reach, co = _reach(src, dst, masks[b], n_nodes, n_in, out_start)
        for e in range(src.size):
            out[b, e] = masks[b, e] and reach[src[e]] and co[dst[e]]
    return out


@numba.njit(cache=True, nogil=True)
def _best_chain(src, dst, group, budget, mask, forbid, reach, co, anchor, use_budget, n_nodes):
    """Edges of the shortest chain of free edges from a reachable node to one that reaches an
    output (nearest ``anchor`` among the shortest); empty when there is none. ``use_budget``:
    only edges whose group has budget left (else any free candidate)."""
    cost = np.full(n_nodes, BIG, np.int64)
    score = np.zeros(n_nodes, np.int64)
    parent = np.full(n_nodes, -1, np.int64)
    a_src, a_dst = src[anchor], dst[anchor]
    for n in range(n_nodes):
        if reach[n]:
            cost[n] = 0
            score[n] = 0 if n == a_src else 1 + abs(n - a_src)
    best_e, best_len, best_score = -1, BIG, BIG
    for e in range(src.size):
        g = group[e]
        if mask[e] or g < 0 or forbid[e] or (use_budget and budget[g] <= 0):
            continue
        s, d = src[e], dst[e]
        if cost[s] >= BIG:
            continue
        length = cost[s] + 1
        if co[d]:  # a chain ends here
            end = score[s] + (0 if d == a_dst else 1 + abs(d - a_dst))
            if length < best_len or (length == best_len and end < best_score):
                best_e, best_len, best_score = e, length, end
        elif not reach[d]:  # a chain may pass through d
            if length < cost[d] or (length == cost[d] and score[s] < score[d]):
                cost[d], score[d], parent[d] = length, score[s], e
    if best_e < 0:
        return np.zeros(0, np.int64)
    chain = np.empty(best_len, np.int64)
    e = best_e
    for i in range(best_len - 1, -1, -1):
        chain[i] = e
        e = parent[src[e]]
    return chain


@numba.njit(cache=True, nogil=True)
def _edge_id(topo, s, d):
    """The candidate edge s → d, or -1. ``topo``: [number of nodes N, of layers L, whether
    edges skip layers | per node its layer (N) | per layer its first node, its first incoming
    edge, its size (3 L)]."""
    n, layers, residual = topo[0], topo[1], topo[2] == 1
    ls, ld = topo[3 + s], topo[3 + d]
    if ld == 0 or ls >= ld or (not residual and ls != ld - 1):
        return -1
    base = 3 + n
    start, first, size = topo[base + ld], topo[base + layers + ld], topo[base + 2 * layers + ld]
    src0 = 0 if residual else topo[base + ld - 1]
    return first + (s - src0) * size + (d - start)


@numba.njit(cache=True, nogil=True)
def _near_edge(topo, group, budget, mask, forbid, reach, co, a_src, a_dst, use_budget, n_nodes):
    """The one-edge chain ``_best_chain`` would return, or -1 where there is none: the free edge
    from a reachable node to one that reaches an output with the smallest score, then index.
    Scores (source's distance + target's distance to the anchor's, each 0 when equal, else
    1 + |difference|) are tried in increasing order, so the cost is O(nodes) per score tried
    instead of O(edges)."""
    sources = np.flatnonzero(reach)
    top_s, top_d = 0, -1
    for s in sources:
        top_s = max(top_s, 0 if s == a_src else 1 + abs(s - a_src))
    for d in range(n_nodes):
        if co[d]:
            top_d = max(top_d, 0 if d == a_dst else 1 + abs(d - a_dst))
    for v in range(top_s + top_d + 1):
        best = -1
        for s in sources:
            r = v - (0 if s == a_src else 1 + abs(s - a_src))
            if r < 0 or r == 1:  # a target's distance is 0 or at least 2
                continue
            for side in range(2 if r > 1 else 1):
                d = a_dst if r == 0 else (a_dst - (r - 1) if side == 0 else a_dst + (r - 1))
                if d < 0 or d >= n_nodes or not co[d]:
                    continue
                e = _edge_id(topo, s, d)
                if e < 0 or mask[e] or group[e] < 0 or forbid[e]:
                    continue
                if use_budget and budget[group[e]] <= 0:
                    continue
                if best < 0 or e < best:
                    best = e
        if best >= 0:
            return best
    return -1


@numba.njit(cache=True, nogil=True)
def _free_redundant(src, dst, group, mask, need, n_in, out_start, n_nodes, forbid):
    """Free the highest-numbered live edge of group ``need`` whose removal leaves every other
    edge live; returns it, or -1."""
    outdeg = np.zeros(n_nodes, np.int64)
    indeg = np.zeros(n_nodes, np.int64)
    for e in range(src.size):
        if mask[e]:
            outdeg[src[e]] += 1
            indeg[dst[e]] += 1
    for e in range(src.size - 1, -1, -1):
        if not mask[e] or group[e] != need:
            continue
        s, d = src[e], dst[e]
        if (s < n_in or outdeg[s] >= 2) and (d >= out_start or indeg[d] >= 2):
            mask[e] = False
            forbid[e] = True
            return e
    return -1


@numba.njit(cache=True, nogil=True)
def repair(src, dst, group, mask, n_nodes, n_in, out_start, n_groups, topo, near=True):
    """Repair ``mask`` in place (see the module docstring); returns 0, or 1 where it cannot
    (2: a placement that left a choice dead, which the construction rules out).

    ``group[e]``: the budget group of a choosable edge, -1 for edges that are never moved
    (kept in every architecture, or not candidates)."""
    reach, co = _reach(src, dst, mask, n_nodes, n_in, out_start)
    anchors = np.empty(src.size, np.int64)
    n_anchor = 0
    budget = np.zeros(n_groups, np.int64)
    for e in range(src.size):
        if mask[e] and group[e] >= 0 and not (reach[src[e]] and co[dst[e]]):
            anchors[n_anchor] = e
            n_anchor += 1
            budget[group[e]] += 1
            mask[e] = False
    if n_anchor == 0:
        return 0
    reach, co = _reach(src, dst, mask, n_nodes, n_in, out_start)
    forbid = np.zeros(src.size, np.bool_)
    left = n_anchor
    i = 0
    while left > 0:
        anchor = anchors[min(i, n_anchor - 1)]
        i += 1
        one = -1
        if near:  # the same result as _best_chain's, found in O(nodes) per score
            one = _near_edge(
                topo,
                group,
                budget,
                mask,
                forbid,
                reach,
                co,
                src[anchor],
                dst[anchor],
                True,
                n_nodes,
            )
        if one >= 0:
            chain = np.full(1, one, np.int64)
        else:
            chain = _best_chain(
                src, dst, group, budget, mask, forbid, reach, co, anchor, True, n_nodes
            )
        fits = chain.size > 0
        if fits:
            spend = np.zeros(budget.size, np.int64)
            for e in chain:
                spend[group[e]] += 1
            for g in range(budget.size):
                if spend[g] > budget[g]:
                    fits = False
        if not fits:  # free redundant edges for the shortest chain over any free candidate
            chain = _best_chain(
                src, dst, group, budget, mask, forbid, reach, co, anchor, False, n_nodes
            )
            if chain.size == 0:
                return 1
            spend = np.zeros(budget.size, np.int64)
            for e in chain:
                spend[group[e]] += 1
            for e in chain:
                forbid[e] = True  # the freed edges must not be the chain's own
            for g in range(budget.size):
                while spend[g] > budget[g]:
                    freed = _free_redundant(
                        src, dst, group, mask, g, n_in, out_start, n_nodes, forbid
                    )
                    if freed < 0:
                        return 1
                    budget[g] += 1
                    left += 1
            for e in chain:
                forbid[e] = False
        for e in chain:
            mask[e] = True
            budget[group[e]] -= 1
            left -= 1
            reach[src[e]] = True
            reach[dst[e]] = True
            co[src[e]] = True
            co[dst[e]] = True
    reach, co = _reach(src, dst, mask, n_nodes, n_in, out_start)  # check: every choice is live
    for e in range(src.size):
        if mask[e] and group[e] >= 0 and not (reach[src[e]] and co[dst[e]]):
            return 2
    return 0


class Liveness:
    """Edge endpoints of a layered supernet (``esenas_core.networks.supernet``: layer sizes,
    whether edges skip layers), for ``live`` and ``repair`` (numpy in, numpy out)."""

    def __init__(self, sizes: list[int], residual: bool, edge_list: np.ndarray) -> None:
        self.src = np.ascontiguousarray(edge_list[:, 0], dtype=np.int64)
        self.dst = np.ascontiguousarray(edge_list[:, 1], dtype=np.int64)
        starts = np.cumsum([0, *sizes])
        self.n_nodes, self.n_in = int(starts[-1]), int(sizes[0])
        self.out_start = int(starts[-2])
        counts = [0] + [  # edges into each layer
            (int(starts[t]) if residual else sizes[t - 1]) * sizes[t] for t in range(1, len(sizes))
        ]
        self.topo = np.concatenate(
            [
                [self.n_nodes, len(sizes), int(residual)],
                np.repeat(np.arange(len(sizes)), sizes),
                starts[:-1],
                np.cumsum([0, *counts])[:-1],
                sizes,
            ]
        ).astype(np.int64)

    def live(self, masks: np.ndarray) -> np.ndarray:
        """Live edges of one (E,) or many (B, E) edge masks, same shape."""
        masks = np.asarray(masks, dtype=bool)
        rows = np.ascontiguousarray(masks.reshape(-1, self.src.size))
        out = live_rows(self.src, self.dst, rows, self.n_nodes, self.n_in, self.out_start)
        return out.reshape(masks.shape)

    def nodes(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(reached from an input, reaches an output) per node, for one (E,) edge mask."""
        mask = np.ascontiguousarray(mask, dtype=np.bool_)
        return _reach(self.src, self.dst, mask, self.n_nodes, self.n_in, self.out_start)

    def repair(
        self, mask: np.ndarray, group: np.ndarray, n_groups: int, near: bool = True
    ) -> np.ndarray | None:
        """A copy of ``mask`` with its dead choosable edges moved to live places (the same count
        per group), or None where that cannot be done. ``near=False``: without the O(nodes)
        search for one-edge chains (the same result, slower; for tests)."""
        out = np.array(mask, dtype=np.bool_)
        status = repair(
            self.src,
            self.dst,
            group,
            out,
            self.n_nodes,
            self.n_in,
            self.out_start,
            n_groups,
            self.topo,
            near,
        )
        return None if status else out
