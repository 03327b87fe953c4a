"""Plugins for the plugin-contract tests: a well-behaved pair registered only through
``get_plugin_manager(extra=...)``, and broken ones (each with the one defect its name says),
loaded through ``ESENAS_PLUGINS=contract_plugins``."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
from esenas_input_mask.hill import HillClimbing

from esenas_core import (
    Architecture,
    ConfigError,
    Controller,
    DecisionSpace,
    LayeredOptions,
    LayeredSpace,
    Subset,
    Supernet,
    TaskSpec,
    hookimpl,
)


class Hill(HillClimbing):
    """The example package's hill climbing under another name, so that only ``extra=`` makes it
    known (its own name comes through the package's entry point)."""

    name = "hill"


@attrs.frozen
class FirstLayerOptions(LayeredOptions):
    """Options of ``first_layer``."""

    hidden: tuple[int, ...] = (6,)
    k: int = attrs.field(default=10, validator=attrs.validators.ge(1))


class FirstLayerSpace(LayeredSpace):
    """k of the edges into the first hidden layer; the other layers are dense."""

    name = "first_layer"
    Options = FirstLayerOptions

    def __init__(self, options: FirstLayerOptions, task: TaskSpec) -> None:
        net = Supernet([task.obs_dim, *options.hidden, task.act_dim])
        self.first = net.blocks()[0][1]
        if options.k > self.first:
            raise ConfigError(f"k={options.k} exceeds the {self.first} edges into layer 1")
        decisions = DecisionSpace([Subset(self.first, options.k, label="first_layer")])
        super().__init__(options, task, net=net, decisions=decisions)

    def decode(self, genome: np.ndarray) -> Architecture:
        genome = self.decisions.validate(genome)
        mask = np.ones(self.net.num_edges, dtype=bool)
        mask[: self.first] = False
        mask[genome] = True
        return Architecture(genome=genome, parts={"edge_mask": mask})


class ExtraPlugin:
    """Registers ``hill`` and ``first_layer``: passed as ``extra=[ExtraPlugin()]`` only."""

    @hookimpl
    def esenas_register_controllers(self, register):
        register(Hill)

    @hookimpl
    def esenas_register_search_spaces(self, register):
        register(FirstLayerSpace)


# --- broken plugins ------------------------------------------------------------------------------


class ShortController(Controller):
    """Proposes one genome too few."""

    name = "short"

    def propose(self, n: int) -> np.ndarray:
        return self.decisions.sample(self.rng, max(0, n - 1))


class OutOfRangeController(Controller):
    """Proposes a value past the decision space's range."""

    name = "out_of_range"

    def propose(self, n: int) -> np.ndarray:
        genomes = self.decisions.sample(self.rng, n)
        genomes[:, -1] = 10**6
        return genomes


class FloatController(Controller):
    """Proposes float genomes."""

    name = "float_genomes"

    def propose(self, n: int) -> np.ndarray:
        return self.decisions.sample(self.rng, n).astype(np.float64)


class NonJsonController(Controller):
    """Its state holds a numpy array."""

    name = "non_json"

    def propose(self, n: int) -> np.ndarray:
        return self.decisions.sample(self.rng, n)

    def algorithm_state(self) -> dict[str, Any]:
        return {"last": np.arange(3)}


class CrashingController(Controller):
    """Its constructor raises a plain exception."""

    name = "crashing"

    def __init__(self, options: Any, decisions: DecisionSpace, seed: int) -> None:
        raise ZeroDivisionError("division by zero in the constructor")

    def propose(self, n: int) -> np.ndarray:
        raise NotImplementedError


class LazySpace(FirstLayerSpace):
    """``edge_weights`` ignores the architecture: every genome is the full network, while
    ``describe()`` reports only the kept edges."""

    name = "lazy"

    def edge_weights(self, params, architectures):
        return params[:, : self.net.num_edges]


class PickySpace(FirstLayerSpace):
    """Raises a ConfigError without any prefix."""

    name = "picky"

    def __init__(self, options: FirstLayerOptions, task: TaskSpec) -> None:
        raise ConfigError("k must be even")


@hookimpl
def esenas_register_controllers(register):
    for cls in (ShortController, OutOfRangeController, FloatController, NonJsonController):
        register(cls)
    register(CrashingController)


@hookimpl
def esenas_register_search_spaces(register):
    register(LazySpace)
    register(PickySpace)


@hookimpl
def esenas_run_start(config, run_dir):
    if config["name"] == "hook-crash":
        raise KeyError("missing")
