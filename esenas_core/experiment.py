"""An experiment: the plugins of a ``RunConfig``, built and cross-checked before anything runs."""

from __future__ import annotations

import attrs
import numpy as np

from esenas_core.config import RunConfig
from esenas_core.errors import ConfigError
from esenas_core.interfaces import Backend, Controller, SearchSpace, Task, TaskSpec
from esenas_core.options import unstructure
from esenas_core.plugins import Registries
from esenas_core.rollouts import WorkerSpec
from esenas_core.seeding import STREAM_CONTROLLER, STREAM_INIT, derive_seed


@attrs.define
class Experiment:
    """Task, search space, controller and (not yet started) backend of one run."""

    config: RunConfig
    registries: Registries
    task: Task
    spec: TaskSpec
    space: SearchSpace
    controller: Controller
    backend: Backend
    worker_spec: WorkerSpec

    @classmethod
    def build(cls, config: RunConfig, registries: Registries) -> Experiment:
        """Raises ``ConfigError`` for anything that does not fit (unknown env id, k too large…)."""
        task = registries.create("task", config.task.name, config.task.options)
        spec = task.spec()
        space = registries.create(
            "search_space", config.search_space.name, config.search_space.options, spec
        )
        controller = registries.create(
            "controller",
            config.controller.name,
            config.controller.options,
            space.decisions,
            derive_seed(config.seed, STREAM_CONTROLLER),
        )
        if space.objectives > 1 and not controller.accepts_vectors:
            raise ConfigError(
                f"[controller] {config.controller.name} takes scalar rewards, but search space"
                f" {config.search_space.name!r} reports {space.objectives} objectives; choose a"
                " controller that accepts reward vectors or a single objective"
            )
        backend = registries.create("backend", config.backend.name, config.backend.options)
        worker_spec = WorkerSpec(
            task=config.task.name,
            task_options=unstructure(config.task.options),
            search_space=config.search_space.name,
            search_space_options=unstructure(config.search_space.options),
        )
        return cls(config, registries, task, spec, space, controller, backend, worker_spec)

    def initial_params(self) -> np.ndarray:
        return self.space.init_params(
            np.random.default_rng(derive_seed(self.config.seed, STREAM_INIT))
        )
