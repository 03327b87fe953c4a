"""esenas: Evolution Strategies for policy weights + neural architecture search (ES-ENAS).

Driving esenas from Python: ``Search`` (ask/tell over one run), ``optimize`` (any objective
over an architecture and θ); docs/python.md.

This module is also the public surface for plugins: everything a search space, controller or task
needs is importable from ``esenas_core`` itself; backend authors also use
``esenas_core.backends`` (jobs, requests, worker pools). The built-in plugins import nothing
else (tests/test_layout.py checks it). Everything else under ``esenas_core.*`` is the
framework's own machinery and may change between versions; ``esenas_core.api.migration`` says where
names of earlier versions went.
"""

# isort: off
import esenas_core._process  # noqa: F401 (first: Ctrl-C and numba settings before other imports)

# isort: on
from typing import TYPE_CHECKING

from esenas_core.api import fixedmath
from esenas_core.api.actions import ActionMap, to_env_actions
from esenas_core.api.controller_utils import FeedbackCounter
from esenas_core.api.decisions import Choice, DecisionSpace, Mask, Subset
from esenas_core.api.episodes import EpisodeResult, episode_results
from esenas_core.api.errors import (
    ConfigError,
    DuplicatePluginError,
    EsenasError,
    EsenasWarning,
    GenomeError,
    PluginError,
    RunError,
    TellError,
    UnknownPluginError,
)
from esenas_core.api.estimator import Estimator
from esenas_core.api.hookspecs import hookimpl
from esenas_core.api.interfaces import (
    Architecture,
    Backend,
    Controller,
    Network,
    NoOptions,
    SearchSpace,
    Task,
    TaskSpec,
)
from esenas_core.api.logs import log_once
from esenas_core.api.migration import install_module_finder, moved_name
from esenas_core.api.plugins import get_registries
from esenas_core.api.seeded import seeded_doubles
from esenas_core.api.vector import VectorEnv, VectorTask

if TYPE_CHECKING:  # imported on first use (below); type checkers see them here
    from esenas_core.checks import (
        check_backend,
        check_controller,
        check_estimator,
        check_search_space,
        check_task,
    )
    from esenas_core.checks.common import ConformanceError
    from esenas_core.networks.pruned import PrunedOptions, PrunedSpace
    from esenas_core.networks.pyglove_bridge import dna_spec, dna_to_genome, genome_to_dna
    from esenas_core.networks.supernet import (
        OP_NAMES,
        LayeredOptions,
        LayeredSpace,
        Supernet,
        positive_sizes,
    )
    from esenas_core.search import Asked, Search, load_study_results, optimize, run_study

__version__ = "0.3.0"

# Imported on first use: they pull in the compiled network kernels, PyGlove or the checkers.
_LAZY = {
    "Asked": "esenas_core.search",
    "Search": "esenas_core.search",
    "optimize": "esenas_core.search",
    "run_study": "esenas_core.search",
    "load_study_results": "esenas_core.search",
    "LayeredOptions": "esenas_core.networks.supernet",
    "LayeredSpace": "esenas_core.networks.supernet",
    "OP_NAMES": "esenas_core.networks.supernet",
    "PrunedOptions": "esenas_core.networks.pruned",
    "PrunedSpace": "esenas_core.networks.pruned",
    "Supernet": "esenas_core.networks.supernet",
    "positive_sizes": "esenas_core.networks.supernet",
    "dna_spec": "esenas_core.networks.pyglove_bridge",
    "dna_to_genome": "esenas_core.networks.pyglove_bridge",
    "genome_to_dna": "esenas_core.networks.pyglove_bridge",
    "ConformanceError": "esenas_core.checks",
    "check_backend": "esenas_core.checks",
    "check_controller": "esenas_core.checks",
    "check_estimator": "esenas_core.checks",
    "check_search_space": "esenas_core.checks",
    "check_task": "esenas_core.checks",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    moved = moved_name(name)
    if moved:  # ImportError: ``from esenas_core import X`` shows this message, not a generic one
        raise ImportError(moved, name="esenas_core")
    raise AttributeError(f"module 'esenas_core' has no attribute {name!r}")


install_module_finder()  # ``import esenas_core.<0.1-era module>`` names the new place


__all__ = [
    "OP_NAMES",
    "ActionMap",
    "Architecture",
    "Asked",
    "Backend",
    "Choice",
    "ConfigError",
    "ConformanceError",
    "Controller",
    "DecisionSpace",
    "DuplicatePluginError",
    "EpisodeResult",
    "EsenasError",
    "EsenasWarning",
    "Estimator",
    "FeedbackCounter",
    "GenomeError",
    "LayeredOptions",
    "LayeredSpace",
    "Mask",
    "Network",
    "NoOptions",
    "PluginError",
    "PrunedOptions",
    "PrunedSpace",
    "RunError",
    "Search",
    "SearchSpace",
    "Subset",
    "Supernet",
    "Task",
    "TaskSpec",
    "TellError",
    "UnknownPluginError",
    "VectorEnv",
    "VectorTask",
    "__version__",
    "check_backend",
    "check_controller",
    "check_estimator",
    "check_search_space",
    "check_task",
    "dna_spec",
    "dna_to_genome",
    "episode_results",
    "fixedmath",
    "genome_to_dna",
    "get_registries",
    "hookimpl",
    "load_study_results",
    "log_once",
    "optimize",
    "positive_sizes",
    "run_study",
    "seeded_doubles",
    "to_env_actions",
]
