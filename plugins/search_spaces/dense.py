"""``dense``: no architecture choice — plain ES over a fully connected network (the baseline).

``hidden = []`` gives a linear policy a = tanh(W s + b) scaled to the action bounds: ARS's policy
class (Mania et al. 2018) up to the squashing. Controllers see an empty decision space.

``init_std = "auto"`` (the default): a linear policy starts at 0, as ARS; a network with hidden
layers starts with every weight into a layer drawn from N(0, 1/fan_in) (LeCun normal), so that
hidden pre-activations start near unit scale. Started at θ = 0, a tanh network passes ES almost no
signal through its hidden layers (the first layer's perturbations act on zero activations).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs
import numpy as np

from esenas_core import (
    Architecture,
    DecisionSpace,
    LayeredOptions,
    LayeredSpace,
    Supernet,
    TaskSpec,
    hookimpl,
    positive_sizes,
)


def _init_std(_inst: object, attr: attrs.Attribute, value: float | str) -> None:
    if value != "auto" and not (isinstance(value, float) and value >= 0.0):
        raise ValueError(f'{attr.name} must be "auto" or a number >= 0, got {value!r}')


@attrs.frozen
class DenseOptions(LayeredOptions):
    """Options of the ``dense`` search space."""

    hidden: tuple[int, ...] = attrs.field(default=(), validator=positive_sizes)
    init_std: float | Literal["auto"] = attrs.field(  # type: ignore[assignment]  # "auto": below
        default="auto", validator=_init_std
    )


class DenseSearchSpace(LayeredSpace):
    """Every consecutive-layer edge, always: θ is the whole network."""

    name = "dense"
    Options = DenseOptions

    def __init__(self, options: DenseOptions, task: TaskSpec) -> None:
        net = Supernet([task.obs_dim, *options.hidden, task.act_dim])
        super().__init__(options, task, net=net, decisions=DecisionSpace([]))
        self._all = np.ones(self.net.num_edges, dtype=bool)

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        if self.options.init_std != "auto":
            return super().init_params(rng)
        theta = np.zeros(self.num_params)
        if self.options.hidden:  # LeCun normal per layer; a linear policy starts at 0
            for t, (lo, count) in enumerate(self.net.blocks()):
                std = 1.0 / np.sqrt(self.net.in_sizes[t])
                theta[lo : lo + count] = rng.normal(0.0, std, count)
        return theta

    def decode(self, genome: np.ndarray) -> Architecture:
        genome = self.decisions.validate(genome)
        return Architecture(genome=genome, parts={})

    def edge_weights(self, params: np.ndarray, architectures: Sequence[Architecture]) -> np.ndarray:
        return params[:, : self.net.num_edges]  # every edge, always: no mask to multiply

    def edge_mask(self, architecture: Architecture) -> np.ndarray:
        return self._all


@hookimpl
def esenas_register_search_spaces(register):
    register(DenseSearchSpace)
