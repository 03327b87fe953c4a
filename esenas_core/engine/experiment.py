"""An experiment: the plugins of a ``RunConfig``, built and cross-checked before anything runs."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence

import attrs
import numpy as np

from esenas_core.api.errors import ConfigError, PluginError
from esenas_core.api.estimator import Estimator
from esenas_core.api.interfaces import Backend, Controller, SearchSpace, Task, TaskSpec
from esenas_core.api.memory import BYTES_PER_PARAMETER, over_half
from esenas_core.api.options import unstructure
from esenas_core.api.plugins import Entry, Registries, call_plugin
from esenas_core.api.records import EstimatorSpec, WorkerSpec
from esenas_core.engine.runconfig import RunConfig
from esenas_core.engine.seeding import STREAM_CONTROLLER, STREAM_INIT, derive_seed


@attrs.define
class Experiment:
    """Task, search space, controller, estimator and (not yet started) backend of one run."""

    config: RunConfig
    registries: Registries
    task: Task
    spec: TaskSpec
    space: SearchSpace
    controller: Controller
    backend: Backend
    worker_spec: WorkerSpec
    estimator: Estimator
    estimator_spec: EstimatorSpec

    @classmethod
    def build(cls, config: RunConfig, registries: Registries) -> Experiment:
        """Raises ``ConfigError`` for anything that does not fit (unknown env id, k too large,
        sizes this machine's memory cannot hold…)."""
        try:
            experiment = cls._build(config, registries)
        except MemoryError as exc:  # e.g. numpy refusing a 77 TiB supernet at once
            raise ConfigError(
                f"the config needs more memory than this machine has ({exc})"
            ) from None
        _check_memory(experiment)
        return experiment

    @classmethod
    def _build(cls, config: RunConfig, registries: Registries) -> Experiment:
        where = config.source
        estimator_entry = registries["estimator"].get(config.estimator.name)
        # the sampling (rollouts per direction, baseline) is the estimator's, however the
        # RunConfig was made (build_config sets it; a hand-made ESConfig may not have)
        config = attrs.evolve(config, es=config.es.for_estimator(estimator_entry.cls))
        task = registries.create("task", config.task.name, config.task.options, where=where)
        spec = call_plugin(task.spec, "task", config.task.name, where)
        space = registries.create(
            "search_space", config.search_space.name, config.search_space.options, spec, where=where
        )
        controller = registries.create(
            "controller",
            config.controller.name,
            config.controller.options,
            space.decisions,
            derive_seed(config.seed, STREAM_CONTROLLER),
            where=where,
        )
        if space.objectives > 1 and not controller.accepts_vectors:
            raise ConfigError(
                f"[controller] {config.controller.name} takes scalar rewards, but search space"
                f" {config.search_space.name!r} reports {space.objectives} objectives; choose a"
                " controller that accepts reward vectors or a single objective"
            )
        backend = registries.create(
            "backend", config.backend.name, config.backend.options, where=where
        )
        task_entry = registries["task"].get(config.task.name)
        space_entry = registries["search_space"].get(config.search_space.name)
        estimator_spec = EstimatorSpec(estimator_entry.cls, config.estimator.options, config.es)
        estimator = call_plugin(estimator_spec.build, "estimator", config.estimator.name, where)
        worker_spec = WorkerSpec(
            task=config.task.name,
            task_options=unstructure(config.task.options),
            search_space=config.search_space.name,
            search_space_options=unstructure(config.search_space.options),
            task_cls=task_entry.cls,
            search_space_cls=space_entry.cls,
            requires=plugin_requirements([task_entry, space_entry, estimator_entry]),
        )
        return cls(
            config,
            registries,
            task,
            spec,
            space,
            controller,
            backend,
            worker_spec,
            estimator,
            estimator_spec,
        )

    def initial_params(self) -> np.ndarray:
        """θ₀ from the search space's ``init_params``; a non-finite or misshapen θ₀ is one line
        naming the search space (not a later error about σ and η)."""
        name = self.config.search_space.name
        rng = np.random.default_rng(derive_seed(self.config.seed, STREAM_INIT))
        theta = call_plugin(self.space.init_params, "search_space", name, "", rng)
        shape = (self.space.num_params,)
        if not isinstance(theta, np.ndarray) or theta.shape != shape or theta.dtype.kind != "f":
            got = f"{getattr(theta, 'dtype', type(theta).__name__)} {getattr(theta, 'shape', '')}"
            raise PluginError(
                f"[search_space] {name}: init_params() returned {got.strip()}; it must return"
                f" a float array of shape {shape} (num_params)"
            )
        bad = int(np.count_nonzero(~np.isfinite(theta)))
        if bad:
            raise PluginError(
                f"[search_space] {name}: init_params() returned {bad} non-finite value(s) of"
                f" {theta.size}"
            )
        return theta


def plugin_requirements(entries: Sequence[Entry]) -> tuple[tuple[str, str, str | None], ...]:
    """(module, distribution, version) of each entry's class; version None where the plugin is
    not from an installed distribution (``ESENAS_PLUGINS`` modules, ``extra=`` objects)."""
    out = []
    for entry in entries:
        try:
            version: str | None = importlib.metadata.version(entry.source)
        except (importlib.metadata.PackageNotFoundError, ValueError):
            version = None
        if entry.cls.__module__ != "__main__":  # a script's own classes travel by value (dask)
            out.append((entry.cls.__module__, entry.source, version))
    return tuple(dict.fromkeys(out))


def _check_memory(exp: Experiment) -> None:
    """Refuse, before anything runs, an iteration that cannot fit in half of this machine's
    memory: θ with the optimizer's moments and the gradient, plus every request of an iteration
    (its genome and bookkeeping)."""
    es = exp.config.es
    rollouts = es.num_perturbations * es.members + es.exact_evals
    genome_bytes = 8 * exp.space.decisions.length
    need = BYTES_PER_PARAMETER * exp.space.num_params + rollouts * (genome_bytes + 1024)
    if es.noise == "table":
        if es.noise_table_size < exp.space.num_params:
            raise ConfigError(
                f"[es] noise_table_size = {es.noise_table_size} is shorter than θ"
                f" ({exp.space.num_params} parameters): a direction is a slice of the table"
            )
        need += 4 * es.noise_table_size
    total = over_half(need)
    if total:
        raise ConfigError(
            f"one iteration needs ≈ {need / 2**30:.3g} GiB ({rollouts} rollouts,"
            f" {exp.space.num_params} parameters), more than half of this machine's"
            f" {total / 2**30:.3g} GiB; lower es.num_perturbations / es.exact_evals or the"
            " network size"
        )
