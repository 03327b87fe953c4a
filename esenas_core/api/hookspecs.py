"""Every esenas hook, grouped by phase. The docstrings are the hooks reference (docs/hooks.md).

A plugin implements hooks with ``@esenas_core.hookimpl`` and is found through the entry-point
group ``esenas`` (or registered directly on the plugin manager). The built-in plugins use exactly
the same hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("esenas")
hookimpl = pluggy.HookimplMarker("esenas")

# --- Registration: each hook receives ``register(plugin_class)``. -------------------------------


@hookspec
def esenas_register_search_spaces(register: Callable[[type], None]) -> None:
    """Register search-space classes (subclasses of ``esenas_core.SearchSpace``).

    :param register: call ``register(cls)`` once per class; ``cls.name`` is the config name
        (``[search_space] name = "..."``) and ``cls.Options`` its options class.
    """


@hookspec
def esenas_register_controllers(register: Callable[[type], None]) -> None:
    """Register architecture controllers (subclasses of ``esenas_core.Controller``).

    :param register: call ``register(cls)`` once per class; ``cls.name`` is the config name
        (``[controller] name = "..."``).
    """


@hookspec
def esenas_register_backends(register: Callable[[type], None]) -> None:
    """Register execution backends (subclasses of ``esenas_core.Backend``).

    :param register: call ``register(cls)`` once per class; ``cls.name`` is the config name
        (``[backend] name = "..."``).
    """


@hookspec
def esenas_register_tasks(register: Callable[[type], None]) -> None:
    """Register tasks: environments or objectives (subclasses of ``esenas_core.Task``).

    :param register: call ``register(cls)`` once per class; ``cls.name`` is the config name
        (``[task] name = "..."``).
    """


@hookspec
def esenas_register_estimators(register: Callable[[type], None]) -> None:
    """Register ES estimators: how θ is perturbed and updated from the returns (subclasses of
    ``esenas_core.Estimator``; ``esenas_core.estimators.GradientEstimator`` for a gradient step).

    :param register: call ``register(cls)`` once per class; ``cls.name`` is the config name
        (``[estimator] name = "..."``).
    """


@hookspec
def esenas_register_loggers(register: Callable[..., None]) -> None:
    """Register loggers: names a config can list in ``loggers = [...]``.

    :param register: call ``register(name, check)``; ``check()`` returns ``None`` when the
        logger can run here, or a short reason it cannot (e.g. a missing package: "needs
        tensorboardX: pip install 'esenas[tensorboard]'"), which the config check reports before
        anything runs. The logger itself implements the lifecycle hooks below and acts only for
        runs whose ``config["loggers"]`` lists its name.
    """


# --- Run lifecycle. ------------------------------------------------------------------------------


@hookspec
def esenas_run_start(config: Mapping[str, Any], run_dir: str) -> None:
    """Called once before the first iteration.

    :param config: the resolved configuration as a plain dict (as written to ``config.toml``).
    :param run_dir: the run directory's path.
    """


@hookspec
def esenas_iteration_end(row: Mapping[str, Any], run_dir: str) -> None:
    """Called after each iteration with its metrics row (the same values as in ``metrics.csv``).

    Use it to add loggers (TensorBoard, W&B, …) without touching the core.

    :param row: column name → value for this iteration.
    :param run_dir: the run directory's path.
    """


@hookspec
def esenas_run_end(summary: Mapping[str, Any], run_dir: str) -> None:
    """Called once after the last iteration (``iterations``, or the one after which a ``[stop]``
    rule held; not after a failure).

    :param summary: first/final/best score, iterations, episodes, wall time, ``stopped_by``.
    :param run_dir: the run directory's path.
    """
