"""Where the names of earlier esenas versions went: imports of a moved module or name fail with
a message that names the new place (docs/plugins.md, "Porting a plugin").

Modules are looked up here only when no module of that name exists (the finder sits last on
``sys.meta_path``), so nothing that imports today pays for it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

_TOP = "from esenas_core import"
_BACKENDS = "from esenas_core.backends import"

#: old module → where its public names are now
MOVED_MODULES: dict[str, str] = {
    # 0.1: one flat package
    "esenas_core.actions": f"{_TOP} ActionMap, to_env_actions",
    "esenas_core.controller_utils": (
        f"{_TOP} FeedbackCounter; rng_state/set_rng_state/check_feedback are gone: the"
        " Controller base class owns self.rng, self.counter and the state's JSON round trip"
    ),
    "esenas_core.decisions": f"{_TOP} Choice, DecisionSpace, Mask, Subset",
    "esenas_core.errors": f"{_TOP} ConfigError, EsenasError, GenomeError, PluginError, ...",
    "esenas_core.hookspecs": f"{_TOP} hookimpl",
    "esenas_core.interfaces": (
        f"{_TOP} Architecture, Controller, Network, NoOptions, SearchSpace, Task, TaskSpec"
        f" (Backend too; jobs and requests: {_BACKENDS} Job, RolloutRequest, RolloutResult)"
    ),
    "esenas_core.supernet": f"{_TOP} LayeredOptions, LayeredSpace, OP_NAMES, Supernet",
    "esenas_core.pyglove_bridge": f"{_TOP} dna_spec, dna_to_genome, genome_to_dna",
    "esenas_core.rollouts": (
        f"{_BACKENDS} Job, RolloutRequest, RolloutResult, WorkerSpec, evaluate_requests, ...;"
        f" {_TOP} EpisodeResult, episode_results"
    ),
    "esenas_core.nets": "the networks are internal; a search space builds them with Supernet",
    "esenas_core.kernels": "internal; plugins use esenas_core.fixedmath for exact math",
    "esenas_core.options": "internal; an Options class is a plain attrs class",
    "esenas_core.plugins": "internal; register plugins with an entry point and hookimpl",
    "esenas_core.config": "esenas_core.runs.config (load_config, build_config)",
    "esenas_core.trainer": "esenas_core.engine.trainer (Trainer)",
    "esenas_core.experiment": "esenas_core.engine.experiment (Experiment)",
    # 0.3: subpackages that moved in 0.4
    "esenas_core.api.checks": f"{_TOP} check_search_space, check_controller, ...",
    "esenas_core.api.check_utils": f"{_TOP} ConformanceError",
    "esenas_core.api.checks_controller": "esenas_core.checks.controller",
    "esenas_core.api.checks_runtime": "esenas_core.checks.runtime",
    "esenas_core.engine.checkpoint": "esenas_core.runs.checkpoint",
    "esenas_core.engine.recorder": (
        "esenas_core.engine.metrics (metrics_row, summary, TIMING_COLUMNS) and"
        " esenas_core.runs.recorder (FolderRecorder)"
    ),
    "esenas_core.runs.cli": "esenas_core.cli",
    "esenas_core.runs.cli_plugins": "esenas_core.cli.plugins",
    "esenas_core.runs.check_all": "esenas_core.cli.check",
}
for _old in (
    "ablation",
    "ablation_report",
    "ablation_stats",
    "study",
    "study_common",
    "study_exec",
    "study_worker",
    "study_pool",
    "study_dask",
    "study_state",
):
    for _prefix in ("esenas_core", "esenas_core.runs"):
        MOVED_MODULES[f"{_prefix}.{_old}"] = "esenas_core.studies (docs/concepts.md, layout)"

_BACKEND_NAMES = (
    "THREAD_VARS",
    "Job",
    "PoolBackend",
    "PoolOptions",
    "RolloutRequest",
    "RolloutResult",
    "WorkerSpec",
    "check_worker_plugins",
    "evaluate_packed",
    "evaluate_requests",
    "failed_chunk",
    "init_worker",
    "is_stale",
    "job_bytes",
    "pack_requests",
    "pack_results",
    "prepare",
    "start_barrier",
    "unpack_requests",
    "unpack_results",
    "worker_task",
)

#: old ``esenas_core.<name>`` → where it is now
MOVED_NAMES: dict[str, str] = {
    **{n: f"{_BACKENDS} {n}" for n in _BACKEND_NAMES},
    "split_chunks": "no longer public (no plugin needs it); PoolBackend chunks requests itself",
}

#: 0.1 ``Controller`` methods a subclass implemented → the 0.3 ones
CONTROLLER_METHODS: dict[str, str] = {
    "feedback": "learn",
    "state": "algorithm_state",
    "restore": "restore_algorithm",
    "stats": "algorithm_stats",
}


def moved_name(name: str) -> str | None:
    """The message for ``esenas_core.<name>`` if that name moved, else None."""
    if name not in MOVED_NAMES:
        return None
    return f"esenas_core.{name} moved: {MOVED_NAMES[name]} (docs/plugins.md, Porting a plugin)"


def moved_module(name: str) -> str | None:
    if name not in MOVED_MODULES:
        return None
    return (
        f"No module named {name!r}: it moved in a later esenas; use {MOVED_MODULES[name]}"
        " (docs/plugins.md, Porting a plugin)"
    )


class _MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Consulted after every other finder: an old module name fails with its new place."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        message = moved_module(fullname)
        if message is None:
            return None
        raise ModuleNotFoundError(message, name=fullname)


def install_module_finder() -> None:
    if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())
