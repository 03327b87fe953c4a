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

__version__ = "0.3.0"

# Imported on first use (they pull in the compiled network kernels and the checkers).
_LAZY = {
    "LayeredOptions": "esenas_core.supernet",
    "LayeredSpace": "esenas_core.supernet",
    "Supernet": "esenas_core.supernet",
    "ConformanceError": "esenas_core.checks",
    "check_backend": "esenas_core.checks",
    "check_controller": "esenas_core.checks",
    "check_search_space": "esenas_core.checks",
    "check_task": "esenas_core.checks",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'esenas_core' has no attribute {name!r}")


__all__ = [
    "Architecture",
    "Backend",
    "Choice",
    "ConfigError",
    "ConformanceError",
    "Controller",
    "DecisionSpace",
    "DuplicatePluginError",
    "EsenasError",
    "EsenasWarning",
    "GenomeError",
    "LayeredOptions",
    "LayeredSpace",
    "Mask",
    "Network",
    "NoOptions",
    "PluginError",
    "RunError",
    "SearchSpace",
    "Subset",
    "Supernet",
    "Task",
    "TaskSpec",
    "UnknownPluginError",
    "__version__",
    "check_backend",
    "check_controller",
    "check_search_space",
    "check_task",
    "hookimpl",
]
