"""Plugin manager factory and the typed registries the core owns.

Nothing is loaded at import time. ``get_plugin_manager()`` adds the hook specs, registers the
built-in plugin modules (through the same ``register()`` as any third-party plugin), loads the
entry points of group ``esenas`` and checks that every hook implementation matches a spec.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import pluggy

from esenas_core import hookspecs
from esenas_core.errors import DuplicatePluginError, PluginError, UnknownPluginError
from esenas_core.options import did_you_mean, structure

BUILTIN_PLUGINS: tuple[str, ...] = (
    "esenas_plugins.search_spaces.edges",
    "esenas_plugins.search_spaces.partitions",
    "esenas_plugins.search_spaces.ops",
    "esenas_plugins.search_spaces.mask",
    "esenas_plugins.search_spaces.dense",
    "esenas_plugins.controllers.random_search",
    "esenas_plugins.controllers.regularized_evolution",
    "esenas_plugins.controllers.policy_gradient",
    "esenas_plugins.controllers.pyglove_generator",
    "esenas_plugins.backends.serial",
    "esenas_plugins.backends.processes",
    "esenas_plugins.backends.dask",
    "esenas_plugins.tasks.gym",
    "esenas_plugins.tasks.hybrid",
    "esenas_plugins.loggers.tensorboard",
)

# kind → (hook name, base class name in esenas_core.interfaces)
KINDS: dict[str, tuple[str, str]] = {
    "search_space": ("esenas_register_search_spaces", "SearchSpace"),
    "controller": ("esenas_register_controllers", "Controller"),
    "backend": ("esenas_register_backends", "Backend"),
    "task": ("esenas_register_tasks", "Task"),
}


def get_plugin_manager(
    *, entry_points: bool = True, block: Iterable[str] = (), extra: Iterable[object] = ()
) -> pluggy.PluginManager:
    """specs → built-ins → ``$ESENAS_PLUGINS`` modules → ``extra`` → entry points → check.

    :param block: plugin names (built-in module names or entry-point names) not to load.
    :param extra: plugin objects (modules, classes or instances with hook implementations).

    ``ESENAS_PLUGINS`` (comma-separated module names, like ``PYTEST_PLUGINS``) loads plugins that
    are importable but not installed with an entry point; worker processes inherit it.
    """
    pm = pluggy.PluginManager("esenas")
    pm.add_hookspecs(hookspecs)
    for name in block:
        pm.set_blocked(name)
    for module_name in BUILTIN_PLUGINS:
        if not pm.is_blocked(module_name):
            pm.register(importlib.import_module(module_name), name=module_name)
    for module_name in filter(None, os.environ.get("ESENAS_PLUGINS", "").split(",")):
        module_name = module_name.strip()
        if not pm.is_blocked(module_name) and pm.get_plugin(module_name) is None:
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise PluginError(f"ESENAS_PLUGINS: cannot import {module_name!r}: {exc}") from None
            pm.register(module, name=module_name)
    for plugin in extra:
        pm.register(plugin)
    if entry_points:
        pm.load_setuptools_entrypoints("esenas")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r}: {exc}") from None
    return pm


@attrs.frozen
class Entry:
    """One registered plugin class and where it came from."""

    kind: str
    name: str
    cls: type
    source: str  # distribution (package) name, e.g. "esenas" for the built-ins


class Registry:
    """Name → plugin class for one kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.entries: dict[str, Entry] = {}

    def add(self, cls: type, source: str) -> None:
        from esenas_core import interfaces

        base = getattr(interfaces, KINDS[self.kind][1])
        name = getattr(cls, "name", None)
        if not isinstance(cls, type) or not issubclass(cls, base):
            raise PluginError(f"{source}: {cls!r} is not a subclass of esenas_core.{base.__name__}")
        if not isinstance(name, str) or not name:
            raise PluginError(f"{source}: {self.kind} class {cls.__name__} has no string `name`")
        if not attrs.has(cls.Options):
            raise PluginError(f"{source}: {self.kind} {name!r}: Options must be an attrs class")
        if name in self.entries:
            other = self.entries[name].source
            raise DuplicatePluginError(
                f"{self.kind} {name!r} is registered twice (by {other} and by {source})"
            )
        self.entries[name] = Entry(self.kind, name, cls, source)

    def get(self, name: str) -> Entry:
        if name not in self.entries:
            known = ", ".join(sorted(self.entries)) or "none"
            raise UnknownPluginError(
                f"unknown {self.kind} {name!r}{did_you_mean(name, self.entries)}"
                f" (registered: {known})"
            )
        return self.entries[name]

    def names(self) -> list[str]:
        return sorted(self.entries)


class Registries:
    """All registries plus the plugin manager (for lifecycle hooks)."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.by_kind = {kind: Registry(kind) for kind in KINDS}
        dists = {id(plugin): dist.project_name for plugin, dist in pm.list_plugin_distinfo()}
        for kind, (hook_name, _) in KINDS.items():
            for impl in getattr(pm.hook, hook_name).get_hookimpls():
                source = dists.get(id(impl.plugin), _source_of(impl.plugin_name))
                impl.function(register=functools.partial(self.by_kind[kind].add, source=source))
        self.loggers: dict[str, Any] = {}  # name → check() returning None or why it cannot run
        self.logger_sources: dict[str, str] = {}
        for impl in pm.hook.esenas_register_loggers.get_hookimpls():
            source = dists.get(id(impl.plugin), _source_of(impl.plugin_name))
            impl.function(register=functools.partial(self._add_logger, source=source))

    def _add_logger(self, name: str, check: Any = None, *, source: str) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"{source}: a logger name must be a non-empty string")
        if name in self.loggers:
            raise DuplicatePluginError(
                f"logger {name!r} is registered twice (by {self.logger_sources[name]} and by"
                f" {source})"
            )
        self.loggers[name] = check if callable(check) else (lambda: None)
        self.logger_sources[name] = source

    def __getitem__(self, kind: str) -> Registry:
        return self.by_kind[kind]

    def options(self, kind: str, name: str, data: Mapping[str, Any]) -> Any:
        """Structure an options table for plugin ``name`` of ``kind`` (errors name both)."""
        entry = self.by_kind[kind].get(name)
        return structure(entry.cls.Options, data, f"[{kind}] {name}")

    def create(self, kind: str, name: str, options: Mapping[str, Any] | Any, *args: Any) -> Any:
        """Instantiate plugin ``name`` with an options table (or a ready Options instance)."""
        entry = self.by_kind[kind].get(name)
        if isinstance(options, Mapping):
            options = self.options(kind, name, options)
        return entry.cls(options, *args)


def _source_of(plugin_name: str) -> str:
    return "esenas" if plugin_name.startswith("esenas_plugins.") else plugin_name


@functools.cache
def get_registries() -> Registries:
    """The registries of this process (plugin manager built once, on first use)."""
    return Registries(get_plugin_manager())
