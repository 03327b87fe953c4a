"""``PrunedSpace``: a layered space whose genomes keep some of the candidate edges — decoded with
the live-edge repair, and started with LeCun scaling over the live fan-in.

Options (``PrunedOptions``, besides ``hidden``, ``activation``):
- ``decoding = "repair"`` (default): every chosen edge that would be dead (off every
  input→output path) is moved to a live place (``esenas_core.networks.liveness``), so the budget
  k buys k live edges; ``"plain"``: the chosen edges as they are, dead ones included.
- ``k_fraction`` (``edges``, ``ops``; 0 = unused): the budget as a fraction of the candidate
  edges (per layer for ``k_per_layer``), rounded to the nearest integer: one config for
  environments of any size (``budget``).
- ``init_std = "auto"`` (default): the weights into each layer start from N(0, 1/f), f = the
  mean number of live edges into a live node of that layer, over 32 architectures sampled from
  the decision space (a fixed sample: θ's start does not depend on the run's seed beyond its own
  draws) — what ``dense`` does with its full fan-in, for the edges a pruned network keeps.
  Edges kept in every architecture (``fixed``: ``keep_linear``'s input→output edges) start at 0,
  as ARS, and a network without hidden layers starts at 0. A number: N(0, init_std²) for every
  weight.

A subclass sets ``groups`` (per candidate edge, which budget group a choice belongs to; -1: never
moved), ``fixed`` (edges kept in every architecture) and calls ``decode_edges`` on the mask its
genome chooses.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

import attrs
import numpy as np

from esenas_core.api.errors import ConfigError, GenomeError
from esenas_core.networks import layered_repair
from esenas_core.networks.supernet import LayeredOptions, LayeredSpace

SAMPLES = 32  # architectures behind "auto" fan-ins and the budget check


def _init_std(_inst: object, attr: attrs.Attribute, value: float | str) -> None:
    if value != "auto" and not (isinstance(value, float) and value >= 0.0):
        raise ValueError(f'{attr.name} must be "auto" or a number >= 0, got {value!r}')


@attrs.frozen
class PrunedOptions(LayeredOptions):
    """``LayeredOptions`` plus ``decoding`` and an ``init_std`` that may be ``"auto"``."""

    init_std: float | Literal["auto"] = attrs.field(  # type: ignore[assignment]  # "auto"
        default="auto", validator=_init_std
    )
    decoding: Literal["repair", "plain"] = "repair"


class PrunedSpace(LayeredSpace):
    """Base of ``edges`` and ``ops``: see the module docstring."""

    groups: np.ndarray
    fixed: np.ndarray = np.zeros(0, dtype=np.int64)
    SAMPLES = SAMPLES

    @functools.cached_property
    def n_groups(self) -> int:
        return int(self.groups.max(initial=-1)) + 1

    def decode_edges(self, mask: np.ndarray, genome: np.ndarray) -> np.ndarray:
        """The edge mask an architecture keeps: ``mask`` itself (``decoding = "plain"``) or its
        repair; a genome whose repair fails is a ``GenomeError`` naming the space."""
        if self.options.decoding == "plain":
            return mask
        out = self._repaired(mask)
        if out is None:
            raise GenomeError(
                f"search space {self.name!r}: genome {genome.tolist()} cannot be repaired into"
                f" live edges for layer sizes {self.net.sizes} (decoding = 'plain' keeps dead"
                " edges)"
            )
        return out

    def _repaired(self, mask: np.ndarray) -> np.ndarray | None:
        out = self.net.liveness.repair(mask, self.groups, self.n_groups)
        return self.fallback_repair(mask) if out is None else out

    def sample_masks(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """(SAMPLES, E) masks: the ``fixed`` edges and k − len(fixed) edges drawn among the
        choosable ones (``groups >= 0``), for one budget group."""
        choosable = np.flatnonzero(self.groups >= 0)
        masks = np.zeros((SAMPLES, self.net.num_edges), dtype=bool)
        masks[:, self.fixed] = True
        for row in masks:
            row[rng.choice(choosable, k - self.fixed.size, replace=False)] = True
        return masks

    def fallback_repair(self, mask: np.ndarray) -> np.ndarray | None:
        """A second repair where the general one finds no placement (None: none)."""
        return None

    def repair_layers(self, mask: np.ndarray, ks: tuple[int, ...]) -> np.ndarray | None:
        """For a supernet without skip edges and ``ks[t]`` edges into layer t+1: an all-live
        mask with those budgets near ``mask`` (``esenas_core.networks.layered_repair``)."""
        return layered_repair.build(self.net.sizes, ks, mask)

    def check_layer_budgets(self, ks: tuple[int, ...]) -> None:
        """With ``decoding = "repair"``: refuse per-layer budgets that no all-live structure
        holds, naming the nearest valid value of one entry."""
        sizes = self.net.sizes
        if self.options.decoding != "repair" or layered_repair.feasible_sizes(sizes, ks):
            return
        raise ConfigError(
            f"k_per_layer={list(ks)} cannot be spent on live edges (edges on an input→output"
            f" path) for layer sizes {sizes}: {layered_repair.nearest_budgets(sizes, ks)}"
            " (decoding = 'plain' allows dead edges)"
        )

    @staticmethod
    def budget(options: Any, count: int) -> int:
        """``options.k`` or, when ``options.k_fraction`` > 0, that fraction of the ``count``
        candidates rounded to the nearest integer (at least 1): a fraction carries one config
        across environments of other sizes. Setting both is refused."""
        k, fraction = options.k, options.k_fraction
        if not fraction:
            return k
        if k != attrs.fields_dict(type(options))["k"].default:
            raise ConfigError(
                f"set either k={k} or k_fraction={fraction}, not both (k_fraction sets k)"
            )
        return max(1, round(fraction * count))

    def repairable(self, masks: np.ndarray) -> bool:
        """Whether every (E,) row of ``masks`` repairs into live edges."""
        return all(self._repaired(m) is not None for m in masks)

    def check_budget(
        self,
        what: str,
        k: int,
        low: int,
        high: int,
    ) -> None:
        """With ``decoding = "repair"``: refuse a budget ``k`` (option ``what``) whose sampled
        masks (``sample_masks``) cannot all be made live, naming the largest
        valid one in [low, k) (or the smallest in (k, high], where none is below)."""
        if self.options.decoding != "repair":
            return

        def ok(value: int, count: int = SAMPLES) -> bool:
            return self.repairable(self.sample_masks(value, np.random.default_rng(0))[:count])

        if ok(k):
            return

        def near(value: int) -> bool:  # the search for a valid budget: fewer samples each
            return ok(value, 4) and ok(value)

        below = next((v for v in range(k - 1, max(low, k - 256) - 1, -1) if near(v)), None)
        hint = (
            f"the largest valid {what} below it is {below}"
            if below is not None
            else f"the smallest valid {what} above it is "
            + str(next((v for v in range(k + 1, min(high, k + 256) + 1) if near(v)), "none"))
        )
        fraction = getattr(self.options, "k_fraction", 0.0)
        source = f" (from k_fraction={fraction} of {high} candidates)" if fraction else ""
        raise ConfigError(
            f"{what}={k}{source} cannot be spent on live edges (edges on an input→output path)"
            f" for layer sizes {self.net.sizes}: {hint} (decoding = 'plain' allows dead edges)"
        )

    def live_fan_in(self) -> np.ndarray:
        """Per target layer, the mean number of live, non-fixed edges into a live node over
        SAMPLES architectures of a fixed sample (1 where a layer has none)."""
        genomes = self.decisions.sample(np.random.default_rng(0), SAMPLES)
        masks = np.stack([self.edge_mask(self.decode(g)) for g in genomes])
        live = self.net.liveness.live(masks)
        live[:, self.fixed] = False
        out = np.ones(len(self.net.blocks()))
        net = self.net
        for t, (lo, count) in enumerate(net.blocks()):
            block = live[:, lo : lo + count].reshape(-1, net.in_sizes[t], net.sizes[t + 1])
            fan_in = block.sum(axis=1)
            if fan_in.any():
                out[t] = fan_in[fan_in > 0].mean()
        return out

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        if self.options.init_std != "auto":
            theta = super().init_params(rng)
        else:
            theta = np.zeros(self.num_params)
            if len(self.net.sizes) > 2:  # LeCun normal over live fan-ins; linear: start at 0
                for (lo, count), f in zip(self.net.blocks(), self.live_fan_in(), strict=True):
                    theta[lo : lo + count] = rng.normal(0.0, 1.0 / np.sqrt(f), count)
        theta[self.fixed] = 0.0
        return theta
