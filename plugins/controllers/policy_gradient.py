"""``policy_gradient``: a factorized distribution over genomes trained with REINFORCE (or PPO).

Open-source PyGlove has no PPO, so the original's policy-gradient controller cannot run outside
Google; this one is numpy only. One distribution per decision group:
- ``Choice(n, count)``: independent categoricals (count × n logits);
- ``Mask(n)``: independent Bernoullis (n logits);
- ``Subset(n, k)``: Plackett–Luce over n item scores: the first k distinct items of i.i.d.
  draws from the scores' softmax, batched over all genomes (a row that keeps repeating its
  favourites finishes with the exponential race ≡ Gumbel top-k). The order in which items were
  drawn is remembered per proposed genome, and the update uses the log-probability of that
  ordered draw (a genome fed back without a known order uses the most likely order under the
  current scores).

Update every ``update_batch_size`` finished genomes: advantage A = r − b (b a moving average of
rewards, A optionally divided by its std), logits ← logits + lr · mean(A ∇log p) + entropy bonus
(exact for categoricals and Bernoullis; for Plackett–Luce the entropy of its first draw). With
``ppo_epochs > 0`` the update instead maximizes PPO's clipped surrogate over minibatches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from esenas_core import Choice, Controller, DecisionSpace, Mask, Subset, fixedmath, hookimpl

_gt0 = attrs.validators.gt(0.0)
_ge0 = attrs.validators.ge(0)


@attrs.frozen
class PolicyGradientOptions:
    """Options of the ``policy_gradient`` controller."""

    learning_rate: float = attrs.field(default=0.1, validator=_gt0)
    update_batch_size: int = attrs.field(default=64, validator=attrs.validators.ge(1))
    baseline_decay: float = attrs.field(
        default=0.9, validator=[attrs.validators.ge(0.0), attrs.validators.lt(1.0)]
    )
    normalize_advantages: bool = True
    entropy_coef: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))
    ppo_epochs: int = attrs.field(default=0, validator=_ge0)
    ppo_clip: float = attrs.field(default=0.2, validator=_gt0)
    minibatch_size: int = attrs.field(default=0, validator=_ge0)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - fixedmath.log(fixedmath.exp(x).sum(axis=-1, keepdims=True))


class _Subset:
    """Plackett–Luce over ``n`` scores; a sample is an ordered draw of k items."""

    def __init__(self, group: Subset) -> None:
        self.k = group.k
        self.logits = np.zeros(group.n)

    @property
    def logits(self) -> np.ndarray:
        return self._logits

    @logits.setter
    def logits(self, value: np.ndarray) -> None:
        self._logits = value
        shifted = value - value.max()
        self._shifted, self._weights = shifted, fixedmath.exp(shifted)  # cached until logits change
        self._total = self._weights.sum()
        self._alias_table: tuple[np.ndarray, np.ndarray] | None = None

    def sample(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``count`` ordered draws of k items without replacement (Plackett–Luce).

        The first k distinct items of i.i.d. draws from p ∝ w are exactly such a draw (a new
        item is drawn with probability ∝ w among the items not yet drawn). Draws go in rounds of
        2k per row, all rows at once; a row still short of k items after a few rounds (a peaked
        p repeats its favourites) finishes with the exponential race over its remaining items
        (≡ Gumbel top-k), which continues the same distribution given the items drawn so far."""
        n, k = self._weights.size, self.k
        never = np.iinfo(np.int32).max
        first = np.full((count, n), never, dtype=np.int32)  # index of each item's first draw
        prob, alias = self._alias()
        drawn, distinct = [], np.zeros(count, dtype=np.int64)
        short = np.arange(count)
        for r in range(4):  # rounds of 2k draws for the rows still short of k items
            at = np.broadcast_to(r * 2 * k + np.arange(2 * k, dtype=np.int32), (short.size, 2 * k))
            pick = rng.integers(n, size=at.shape)
            values = np.where(rng.random(at.shape) < prob[pick], pick, alias[pick])
            where = np.broadcast_to(short[:, None], at.shape)
            np.minimum.at(first, (where, values), at)
            new = first[where, values] == at  # this draw is its item's first in the row
            distinct[short] += new.sum(axis=1)
            drawn.append((where[new], values[new]))
            short = short[distinct[short] < k]
            if short.size == 0:
                break
        if len(drawn) == 1:  # rows ascending, each in draw order
            where, values = drawn[0]
        else:  # stable by row: rounds, and draws within a round, stay in order
            where, values = (np.concatenate(parts) for parts in zip(*drawn, strict=True))
            by_row = np.argsort(where, kind="stable")
            where, values = where[by_row], values[by_row]
        starts = np.concatenate([[0], np.cumsum(np.bincount(where, minlength=count))[:-1]])
        rank = np.arange(where.size) - starts[where]  # the item's place in its row's draw
        keep = rank < k
        order = np.zeros((count, k), dtype=np.int64)
        order[where[keep], rank[keep]] = values[keep]
        filled = np.minimum(distinct, k)
        if short.size:  # the race over the items each short row has not drawn yet
            keys = rng.standard_exponential((short.size, n)) / self._weights
            keys[first[short] < never] = np.inf
            for i, row in enumerate(short):
                need = k - filled[row]
                rest = np.argpartition(keys[i], need - 1)[:need]
                order[row, filled[row] :] = rest[np.argsort(keys[i, rest])]
        return np.sort(order, axis=1), order

    def _alias(self) -> tuple[np.ndarray, np.ndarray]:
        """Walker's alias table of p ∝ w (Vose's construction): item i is drawn as
        ``i if u < prob[i] else alias[i]`` for i uniform, u ~ U(0, 1): O(1) per draw."""
        if self._alias_table is None:
            n = self._weights.size
            scaled = self._weights * (n / self._total)
            prob, alias = np.ones(n), np.arange(n)
            small = list(np.flatnonzero(scaled < 1.0))
            large = list(np.flatnonzero(scaled >= 1.0))
            while small and large:
                s, g = small.pop(), large.pop()
                prob[s], alias[s] = scaled[s], g
                scaled[g] -= 1.0 - scaled[s]
                (small if scaled[g] < 1.0 else large).append(g)
            self._alias_table = (prob, alias)
        return self._alias_table

    def likely_order(self, values: np.ndarray) -> np.ndarray:
        return values[np.argsort(-self.logits[values], kind="stable")]

    def _totals_many(self, orders: np.ndarray) -> np.ndarray:
        drawn = np.cumsum(self._weights[orders], axis=1)
        return self._total - np.concatenate([np.zeros((len(orders), 1)), drawn[:, :-1]], axis=1)

    def logp_many(self, orders: np.ndarray) -> np.ndarray:
        """log p of each ordered draw (rows of ``orders``)."""
        return np.sum(self._shifted[orders] - fixedmath.log(self._totals_many(orders)), axis=1)

    def grad_sum(self, orders: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """Σ_b coef_b ∇ log p(orders_b): an item not drawn gets −e·Σ_l 1/T_l; the item drawn at
        step l gets −e·Σ_{j≤l} 1/T_j + 1 (it was available until then)."""
        e = self._weights
        inv = 1.0 / self._totals_many(orders)
        total_inv, cumulative = inv.sum(axis=1), np.cumsum(inv, axis=1)
        grad = -e * float(np.sum(coef * total_inv))  # no BLAS: the same bits on every CPU
        drawn = coef[:, None] * (e[orders] * (total_inv[:, None] - cumulative) + 1.0)
        np.add.at(grad, orders.ravel(), drawn.ravel())
        return grad

    def entropy_and_grad(self) -> tuple[float, np.ndarray]:
        logp = _log_softmax(self.logits)
        p = fixedmath.exp(logp)
        h = -float(np.sum(p * logp))
        return h, -p * (logp + h)


class _Choice:
    """``count`` independent categoricals over ``n`` options."""

    def __init__(self, group: Choice) -> None:
        self.logits = np.zeros((group.count, group.n))

    def sample(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        values = np.argmax(self.logits + rng.gumbel(size=(count, *self.logits.shape)), axis=2)
        return values, values

    def likely_order(self, values: np.ndarray) -> np.ndarray:
        return values

    def logp_many(self, values: np.ndarray) -> np.ndarray:
        logp = _log_softmax(self.logits)
        return logp[np.arange(values.shape[1])[None, :], values].sum(axis=1)

    def grad_sum(self, values: np.ndarray, coef: np.ndarray) -> np.ndarray:
        grad = -fixedmath.exp(_log_softmax(self.logits)) * coef.sum()
        positions = np.broadcast_to(np.arange(values.shape[1]), values.shape)
        np.add.at(grad, (positions.ravel(), values.ravel()), np.repeat(coef, values.shape[1]))
        return grad

    def entropy_and_grad(self) -> tuple[float, np.ndarray]:
        logp = _log_softmax(self.logits)
        p = fixedmath.exp(logp)
        h = -np.sum(p * logp, axis=1, keepdims=True)
        return float(h.mean()), -p * (logp + h) / self.logits.shape[0]


class _Mask:
    """Independent Bernoullis."""

    def __init__(self, group: Mask) -> None:
        self.logits = np.zeros(group.n)

    def sample(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        p = 1.0 / (1.0 + fixedmath.exp(-self.logits))
        values = (rng.random((count, self.logits.size)) < p).astype(np.int64)
        return values, values

    def likely_order(self, values: np.ndarray) -> np.ndarray:
        return values

    def logp_many(self, values: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + fixedmath.exp(-self.logits))
        logp = np.where(values == 1, fixedmath.log(p + 1e-300), fixedmath.log1p(-p + 1e-300))
        return logp.sum(axis=1)

    def grad_sum(self, values: np.ndarray, coef: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + fixedmath.exp(-self.logits))
        return np.sum(coef[:, None] * values, axis=0) - coef.sum() * p

    def entropy_and_grad(self) -> tuple[float, np.ndarray]:
        p = np.clip(1.0 / (1.0 + fixedmath.exp(-self.logits)), 1e-12, 1 - 1e-12)
        h = -(p * fixedmath.log(p) + (1 - p) * fixedmath.log1p(-p))
        return float(h.mean()), -p * (1 - p) * self.logits / self.logits.size


_DISTRIBUTIONS = {Subset: _Subset, Choice: _Choice, Mask: _Mask}


class PolicyGradientController(Controller):
    """REINFORCE / PPO over a factorized categorical, Bernoulli and Plackett–Luce distribution."""

    name = "policy_gradient"
    Options = PolicyGradientOptions

    def __init__(self, options: PolicyGradientOptions, decisions: DecisionSpace, seed: int) -> None:
        super().__init__(options, decisions, seed)
        self.dists = [_DISTRIBUTIONS[type(g)](g) for g in decisions.groups]
        self.baseline: float | None = None
        self.updates = 0
        self.buffer: list[tuple[list[np.ndarray], float, float]] = []  # (draws, logp_old, reward)
        self.proposed: dict[bytes, tuple[list[np.ndarray], float]] = {}

    def propose(self, n: int) -> np.ndarray:
        parts, draws = [], []
        for dist in self.dists:
            values, draw = dist.sample(self.rng, n)
            parts.append(values)
            draws.append(draw)
        genomes = (
            np.concatenate(parts, axis=1).astype(np.int64)
            if parts
            else np.zeros((n, 0), dtype=np.int64)
        )
        logps = self._logp_many(draws, n)
        for i, genome in enumerate(genomes):
            self.proposed[genome.tobytes()] = ([d[i] for d in draws], float(logps[i]))
        while len(self.proposed) > 50_000:  # genomes that were never fed back
            self.proposed.pop(next(iter(self.proposed)))
        return genomes

    def _logp_many(self, draws: list[np.ndarray], count: int) -> np.ndarray:
        """log p of ``count`` draws, given per distribution as an array of their rows."""
        total = np.zeros(count)
        for dist, values in zip(self.dists, draws, strict=True):
            total += dist.logp_many(values)
        return total

    def _stacked(self, batch: list[tuple[list[np.ndarray], float, float]]) -> list[np.ndarray]:
        """The batch's draws per distribution, as arrays of rows."""
        return [np.stack([draw[j] for draw, _, _ in batch]) for j in range(len(self.dists))]

    def learn(self, genomes: np.ndarray, rewards: np.ndarray) -> None:
        for genome, reward in zip(genomes, rewards, strict=True):
            known = self.proposed.get(genome.tobytes())
            if known is None:
                parts = self.decisions.split(genome)
                draw = [d.likely_order(v) for d, v in zip(self.dists, parts, strict=True)]
                known = (draw, float(self._logp_many([v[None] for v in draw], 1)[0]))
            self.buffer.append((known[0], known[1], float(reward)))
        while len(self.buffer) >= self.options.update_batch_size:
            batch = self.buffer[: self.options.update_batch_size]
            del self.buffer[: self.options.update_batch_size]
            self._update(batch)

    def _update(self, batch: list[tuple[list[np.ndarray], float, float]]) -> None:
        opts = self.options
        rewards = np.array([r for _, _, r in batch])
        baseline = rewards.mean() if self.baseline is None else self.baseline
        adv = rewards - baseline
        if opts.normalize_advantages and adv.std() > 0:
            adv = adv / adv.std()
        self.baseline = opts.baseline_decay * baseline + (1 - opts.baseline_decay) * rewards.mean()
        if opts.ppo_epochs == 0:
            self._step(batch, adv, np.ones(len(batch)))
        else:
            size = opts.minibatch_size or len(batch)
            for _ in range(opts.ppo_epochs):
                for lo in range(0, len(batch), size):
                    idx = (
                        self.rng.permutation(len(batch))[lo : lo + size]
                        if size < len(batch)
                        else np.arange(len(batch))
                    )
                    chosen = [batch[i] for i in idx]
                    old = np.array([lp for _, lp, _ in chosen])
                    ratio = fixedmath.exp(self._logp_many(self._stacked(chosen), len(chosen)) - old)
                    a = adv[idx]
                    clipped = ((a > 0) & (ratio > 1 + opts.ppo_clip)) | (
                        (a < 0) & (ratio < 1 - opts.ppo_clip)
                    )
                    self._step([batch[i] for i in idx], a, np.where(clipped, 0.0, ratio))
        self.updates += 1

    def _step(self, batch, adv: np.ndarray, weights: np.ndarray) -> None:
        """logits += lr · (mean_b A_b w_b ∇log p_b + entropy bonus), batched per distribution."""
        if not batch:
            return
        coef = np.asarray(adv, dtype=np.float64) * weights
        grads = [
            dist.grad_sum(values, coef)
            for dist, values in zip(self.dists, self._stacked(batch), strict=True)
        ]
        for g, dist in zip(grads, self.dists, strict=True):
            step = g / len(batch)
            if self.options.entropy_coef:
                step += self.options.entropy_coef * dist.entropy_and_grad()[1]
            dist.logits = dist.logits + self.options.learning_rate * step

    def algorithm_state(self) -> dict[str, Any]:
        return {
            "logits": [d.logits.tolist() for d in self.dists],
            "baseline": self.baseline,
            "updates": self.updates,
            "buffer": [[[v.tolist() for v in draw], lp, r] for draw, lp, r in self.buffer],
            "proposed": [
                [np.frombuffer(k, dtype=np.int64).tolist(), [v.tolist() for v in draw], lp]
                for k, (draw, lp) in self.proposed.items()
            ],
        }

    def restore_algorithm(self, state: Mapping[str, Any]) -> None:
        for dist, logits in zip(self.dists, state["logits"], strict=True):
            dist.logits = np.array(logits, dtype=np.float64)
        self.baseline = state["baseline"]
        self.updates = int(state["updates"])
        as_arrays = lambda draw: [np.array(v, dtype=np.int64) for v in draw]  # noqa: E731
        self.buffer = [(as_arrays(d), float(lp), float(r)) for d, lp, r in state["buffer"]]
        self.proposed = {
            np.array(g, dtype=np.int64).tobytes(): (as_arrays(d), float(lp))
            for g, d, lp in state["proposed"]
        }

    def algorithm_stats(self) -> dict[str, float]:
        entropies = [d.entropy_and_grad()[0] for d in self.dists]
        return {
            "entropy": float(np.mean(entropies)) if entropies else 0.0,
            "baseline": float("nan") if self.baseline is None else float(self.baseline),
            "updates": float(self.updates),
        }


@hookimpl
def esenas_register_controllers(register):
    register(PolicyGradientController)
