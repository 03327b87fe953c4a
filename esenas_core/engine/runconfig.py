"""A run's resolved configuration as records: every plugin chosen and every option filled in.

The engine's own records, like ``ESConfig``; reading and layering TOML files into them lives in
esenas_core.runs.config.
"""

from __future__ import annotations

from typing import Any

import attrs
import tomli_w

from esenas_core.api.interfaces import NoOptions
from esenas_core.api.options import unstructure
from esenas_core.api.plugins import KINDS
from esenas_core.engine.esconfig import ESConfig
from esenas_core.engine.stopping import StopConfig


@attrs.frozen
class PluginChoice:
    """A selected plugin and its structured options."""

    name: str
    options: Any

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **unstructure(self.options)}


@attrs.frozen
class RunConfig:
    """A whole run, resolved: every plugin chosen and every option filled in."""

    name: str
    seed: int
    iterations: int
    checkpoint_every: int
    task: PluginChoice
    search_space: PluginChoice
    controller: PluginChoice
    backend: PluginChoice
    es: ESConfig
    estimator: PluginChoice = attrs.Factory(lambda: PluginChoice("antithetic", NoOptions()))
    loggers: tuple[str, ...] = ()
    stop: StopConfig = attrs.Factory(StopConfig)
    source: str = attrs.field(default="", eq=False)  # the file (or text) it was read from

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "seed": self.seed,
            "iterations": self.iterations,
            "checkpoint_every": self.checkpoint_every,
            "loggers": list(self.loggers),
        }
        for kind in KINDS:
            out[kind] = getattr(self, kind).to_dict()
        out["es"] = unstructure(self.es)
        out["stop"] = self.stop.to_dict()
        return out

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())
