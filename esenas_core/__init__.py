"""esenas: Evolution Strategies for policy weights + neural architecture search (ES-ENAS).

This module is the public surface for plugins: everything a search space, controller, task or
backend needs is importable from ``esenas_core`` itself, and the built-in plugins import nothing
else (tests/test_layout.py checks it). Everything under ``esenas_core.*`` is the framework's
own machinery and may change between versions.
"""

# isort: off
import esenas_core._process  # noqa: F401 (first: Ctrl-C and numba settings before other imports)

# isort: on
from typing import TYPE_CHECKING

from esenas_core.api import fixedmath
from esenas_core.api.actions import ActionMap, to_env_actions
from esenas_core.api.controller_utils import FeedbackCounter
from esenas_core.api.decisions import Choice, DecisionSpace, Mask, Subset
from esenas_core.api.episodes import episode_results
from esenas_core.api.errors import (
    ConfigError,
    DuplicatePluginError,
    EsenasError,
    EsenasWarning,
    GenomeError,
    PluginError,
    RunError,
    UnknownPluginError,
)
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
from esenas_core.api.seeded import seeded_doubles
from esenas_core.api.vector import VectorEnv, VectorTask
from esenas_core.engine.packed import (
    evaluate_packed,
    pack_requests,
    pack_results,
    unpack_requests,
    unpack_results,
)
from esenas_core.engine.pool import PoolBackend, PoolOptions
from esenas_core.engine.rollouts import (
    EpisodeResult,
    Job,
    RolloutRequest,
    RolloutResult,
    WorkerSpec,
    check_worker_plugins,
    evaluate_requests,
    failed_chunk,
    is_stale,
    job_bytes,
    prepare,
    split_chunks,
    worker_task,
)
from esenas_core.engine.workers import THREAD_VARS, init_worker, start_barrier

if TYPE_CHECKING:  # imported on first use (below); type checkers see them here
    from esenas_core.api.check_utils import ConformanceError
    from esenas_core.api.checks import (
        check_backend,
        check_controller,
        check_search_space,
        check_task,
    )
    from esenas_core.networks.pyglove_bridge import dna_spec, dna_to_genome, genome_to_dna
    from esenas_core.networks.supernet import (
        OP_NAMES,
        LayeredOptions,
        LayeredSpace,
        Supernet,
        positive_sizes,
    )

__version__ = "0.3.0"

# Imported on first use: they pull in the compiled network kernels, PyGlove or the checkers.
_LAZY = {
    "LayeredOptions": "esenas_core.networks.supernet",
    "LayeredSpace": "esenas_core.networks.supernet",
    "OP_NAMES": "esenas_core.networks.supernet",
    "Supernet": "esenas_core.networks.supernet",
    "positive_sizes": "esenas_core.networks.supernet",
    "dna_spec": "esenas_core.networks.pyglove_bridge",
    "dna_to_genome": "esenas_core.networks.pyglove_bridge",
    "genome_to_dna": "esenas_core.networks.pyglove_bridge",
    "ConformanceError": "esenas_core.api.check_utils",
    "check_backend": "esenas_core.api.checks",
    "check_controller": "esenas_core.api.checks",
    "check_search_space": "esenas_core.api.checks",
    "check_task": "esenas_core.api.checks",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'esenas_core' has no attribute {name!r}")


__all__ = [
    "OP_NAMES",
    "THREAD_VARS",
    "ActionMap",
    "Architecture",
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
    "FeedbackCounter",
    "GenomeError",
    "Job",
    "LayeredOptions",
    "LayeredSpace",
    "Mask",
    "Network",
    "NoOptions",
    "PluginError",
    "PoolBackend",
    "PoolOptions",
    "RolloutRequest",
    "RolloutResult",
    "RunError",
    "SearchSpace",
    "Subset",
    "Supernet",
    "Task",
    "TaskSpec",
    "UnknownPluginError",
    "VectorEnv",
    "VectorTask",
    "WorkerSpec",
    "__version__",
    "check_backend",
    "check_controller",
    "check_search_space",
    "check_task",
    "check_worker_plugins",
    "dna_spec",
    "dna_to_genome",
    "episode_results",
    "evaluate_packed",
    "evaluate_requests",
    "failed_chunk",
    "fixedmath",
    "genome_to_dna",
    "hookimpl",
    "init_worker",
    "is_stale",
    "job_bytes",
    "log_once",
    "pack_requests",
    "pack_results",
    "positive_sizes",
    "prepare",
    "seeded_doubles",
    "split_chunks",
    "start_barrier",
    "to_env_actions",
    "unpack_requests",
    "unpack_results",
    "worker_task",
]
