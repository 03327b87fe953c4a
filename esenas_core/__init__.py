"""esenas: Evolution Strategies for policy weights + neural architecture search (ES-ENAS)."""

from esenas_core.decisions import Choice, DecisionSpace, Mask, Subset
from esenas_core.errors import (
    ConfigError,
    DuplicatePluginError,
    EsenasError,
    EsenasWarning,
    GenomeError,
    PluginError,
    RunError,
    UnknownPluginError,
)
from esenas_core.hookspecs import hookimpl
from esenas_core.interfaces import (
    Architecture,
    Backend,
    Controller,
    Network,
    NoOptions,
    SearchSpace,
    Task,
    TaskSpec,
)

__version__ = "0.2.0"

__all__ = [
    "Architecture",
    "Backend",
    "Choice",
    "ConfigError",
    "Controller",
    "DecisionSpace",
    "DuplicatePluginError",
    "EsenasError",
    "EsenasWarning",
    "GenomeError",
    "Mask",
    "Network",
    "NoOptions",
    "PluginError",
    "RunError",
    "SearchSpace",
    "Subset",
    "Task",
    "TaskSpec",
    "UnknownPluginError",
    "__version__",
    "hookimpl",
]
