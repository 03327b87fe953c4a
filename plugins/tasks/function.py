"""``function``: a Python objective f(architecture, θ) → float as a task, with no environment.

``obs_dim`` and ``act_dim`` size the supernet the search space builds (a linear space over
``obs_dim`` inputs and one output has ``obs_dim`` weights plus a bias: θ is the point, the
architecture picks its coordinates). The objective is maximized.

Two ways to evaluate it:
- from Python, ``esenas_core.optimize(f, config)`` / ``Search.optimize(f)`` call ``f`` in the
  driving process; ``function`` below is then unused;
- ``function = "package.module:name"`` names an importable callable, which any backend's
  workers import and call (``batched = true``: ``f(architectures, thetas)`` → n returns). The
  default, ``sphere`` below, is −‖θ‖²: something to try the task with; ``function = ""``
  leaves the task without one (only ``optimize`` can evaluate then).

A NaN or infinite return fails its evaluation, as a non-finite episode return does.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from esenas_core import ConfigError, EpisodeResult, Task, TaskSpec, hookimpl


def _import_path(_inst: object, attr: attrs.Attribute, value: str) -> None:
    if value and (value.count(":") != 1 or not all(value.split(":"))):
        raise ValueError(f"{attr.name} must be 'package.module:name', got {value!r}")


@attrs.frozen
class FunctionOptions:
    """Options of the ``function`` task."""

    obs_dim: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    act_dim: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    function: str = attrs.field(
        default="esenas_plugins.tasks.function:sphere", validator=_import_path
    )
    batched: bool = False


def sphere(architecture: Any, theta: np.ndarray) -> float:
    """The default objective: −‖θ‖² (its maximum 0 at θ = 0, whatever the architecture)."""
    return -float(np.dot(theta, theta))


def load_function(path: str) -> Callable[..., Any]:
    """The callable ``package.module:name`` (``ConfigError`` naming what is missing)."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"[task] function: cannot import {module_name!r}: {exc}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ConfigError(f"[task] function: {module_name!r} has no callable {attr!r}")
    return fn


class FunctionTask(Task):
    """f(architecture, θ) as the reward of a one-step episode."""

    name = "function"
    Options = FunctionOptions

    def spec(self) -> TaskSpec:
        if self.options.function:
            load_function(self.options.function)  # a wrong path fails before anything runs
        return TaskSpec(obs_dim=self.options.obs_dim, act_dim=self.options.act_dim)

    @property
    def batch_size(self) -> int:
        return 1024

    def run_episodes(self, space, params, architectures, env_seeds, obs_mean, obs_std):
        if not self.options.function:
            raise ConfigError(
                "[task] function: no function = 'package.module:name' to call here; from Python,"
                " esenas_core.optimize(f, config) evaluates f in the driving process"
            )
        fn = load_function(self.options.function)
        if self.options.batched:
            values: Sequence[Any] = np.asarray(fn(list(architectures), params), dtype=np.float64)
        else:
            values = [fn(a, p) for a, p in zip(architectures, params, strict=True)]
        if len(values) != len(params):
            raise ValueError(f"{self.options.function} returned {len(values)} values for"
                             f" {len(params)} evaluations")  # fmt: skip
        empty = np.zeros(self.options.obs_dim)
        return [EpisodeResult(float(v), 1, 0, empty, empty) for v in values]


@hookimpl
def esenas_register_tasks(register):
    register(FunctionTask)
