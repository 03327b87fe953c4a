"""``mask``: one boolean per candidate edge — a free number of edges (the original's
``EfficientNetPolicy``), optionally scored on reward *and* size.

``objective`` decides what the controller is told:
- ``reward``: the episode return;
- ``scalarized``: the original's (R + 1000)·r^α if r ≤ 1 else (R + 1000)·r^β, with
  r = multiplications / ``target_multiplications`` (defaults α = 0, β = −1);
- ``pareto``: the vector (R, −multiplications), for controllers that accept vectors.

Multiplications here are live ones: edges on a path from an input to an output (a dead edge
changes no action, so it costs nothing a compiled policy would keep).
"""

from __future__ import annotations

from typing import Literal

import attrs
import numpy as np

from esenas_core import (
    Architecture,
    DecisionSpace,
    LayeredOptions,
    LayeredSpace,
    Mask,
    Supernet,
    TaskSpec,
    hookimpl,
)


@attrs.frozen
class MaskOptions(LayeredOptions):
    """Options of the ``mask`` search space (and ``hidden``, ``activation``, ``init_std``)."""

    residual: bool = False
    objective: Literal["reward", "scalarized", "pareto"] = "reward"
    target_multiplications: int = attrs.field(default=64, validator=attrs.validators.ge(1))
    alpha: float = 0.0
    beta: float = -1.0


class MaskSearchSpace(LayeredSpace):
    """A boolean per candidate edge; optionally multi-objective (reward vs multiplications)."""

    name = "mask"
    Options = MaskOptions

    def __init__(self, options: MaskOptions, task: TaskSpec) -> None:
        net = Supernet([task.obs_dim, *options.hidden, task.act_dim], options.residual)
        super().__init__(
            options, task, net=net, decisions=DecisionSpace([Mask(net.num_edges, label="edges")])
        )

    @property
    def objectives(self) -> int:
        return 2 if self.options.objective == "pareto" else 1

    def decode(self, genome: np.ndarray) -> Architecture:
        genome = self.decisions.validate(genome)
        return Architecture(genome=genome, parts={"edge_mask": genome.astype(bool)})

    def controller_rewards(self, genomes: np.ndarray, rewards: np.ndarray) -> np.ndarray:
        opts = self.options
        if opts.objective == "reward":
            return rewards
        mults = self.net.liveness.live(genomes.astype(bool)).sum(axis=1).astype(np.float64)
        if opts.objective == "pareto":
            return np.stack([rewards, -mults], axis=1)
        ratio = mults / opts.target_multiplications
        exponent = np.where(ratio <= 1.0, opts.alpha, opts.beta)
        with np.errstate(divide="ignore"):
            return (rewards + 1000.0) * np.where(ratio > 0, ratio, 1.0) ** exponent


@hookimpl
def esenas_register_search_spaces(register):
    register(MaskSearchSpace)
