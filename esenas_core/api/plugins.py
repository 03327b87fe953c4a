"""Plugin manager factory and the typed registries the core owns.

Nothing is loaded at import time. ``get_plugin_manager()`` adds the hook specs, registers the
built-in plugin modules (through the same ``register()`` as any third-party plugin), loads the
entry points of group ``esenas`` and checks that every hook implementation matches a spec.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import pluggy

from esenas_core.api import hookspecs
from esenas_core.api.errors import EsenasWarning, PluginError
from esenas_core.api.options import structure
from esenas_core.api.plugin_calls import call_hook, call_plugin, one_line
from esenas_core.api.plugin_rules import refuse_wrappers, who
from esenas_core.api.registry import KINDS, BrokenPlugin, Entry, Registry

__all__ = [
    "KINDS",
    "BrokenPlugin",
    "Entry",
    "PluginManager",
    "Registries",
    "Registry",
    "call_hook",
    "call_plugin",
    "get_plugin_manager",
    "get_registries",
]

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
    "esenas_plugins.tasks.classic",
    "esenas_plugins.tasks.hybrid",
    "esenas_plugins.tasks.function",
    "esenas_plugins.estimators.antithetic",
    "esenas_plugins.estimators.forward_fd",
    "esenas_plugins.estimators.ars",
    "esenas_plugins.estimators.pgpe",
    "esenas_plugins.estimators.snes",
    "esenas_plugins.estimators.sep_cma",
    "esenas_plugins.loggers.tensorboard",
    "esenas_plugins.loggers.mlflow",
)

DISABLE_ENV = "ESENAS_DISABLE_PLUGINS"


class PluginManager(pluggy.PluginManager):
    """pluggy's manager plus where each plugin came from and which ones are broken."""

    def __init__(self) -> None:
        super().__init__("esenas")
        self.sources: dict[str, str] = {}  # plugin name → distribution
        self.broken: list[BrokenPlugin] = []
        self.disabled: tuple[str, ...] = ()

    def source_of(self, plugin: object) -> str:
        name = self.get_name(plugin) or ""
        return self.sources.get(name, _source_of(name))

    def mark_broken(self, name: str, source: str, reason: str) -> None:
        self.broken.append(BrokenPlugin(name, source, reason))


def disabled_plugins(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Plugin names turned off by ``$ESENAS_DISABLE_PLUGINS`` (comma-separated) and ``extra``."""
    names = [n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",")]
    return tuple(dict.fromkeys(n for n in [*names, *extra] if n))


def get_plugin_manager(
    *, entry_points: bool = True, block: Iterable[str] = (), extra: Iterable[object] = ()
) -> PluginManager:
    """specs → built-ins → ``$ESENAS_PLUGINS`` modules → ``extra`` → entry points → check.

    :param block: plugin names not to load, added to ``$ESENAS_DISABLE_PLUGINS``. A name matches
        a built-in or ``$ESENAS_PLUGINS`` module name, an entry-point name, or a distribution
        name (which disables every plugin of that package).
    :param extra: plugin objects (modules, classes or instances with hook implementations).

    ``ESENAS_PLUGINS`` (comma-separated module names, like ``PYTEST_PLUGINS``) loads plugins that
    are importable but not installed with an entry point; worker processes inherit it.

    Nothing here raises for one bad plugin: a plugin that fails to import or to register, or
    whose hooks do not match a spec, is left out and recorded in ``pm.broken``.
    """
    pm = PluginManager()
    pm.add_hookspecs(hookspecs)
    pm.disabled = disabled_plugins(block)
    off = set(pm.disabled)
    for module_name in BUILTIN_PLUGINS:
        if module_name not in off and "esenas" not in off:
            _register(pm, module_name, "esenas", lambda m=module_name: importlib.import_module(m))
    for module_name in filter(None, os.environ.get("ESENAS_PLUGINS", "").split(",")):
        module_name = module_name.strip()
        if module_name not in off and pm.get_plugin(module_name) is None:
            _register(
                pm, module_name, module_name, lambda m=module_name: importlib.import_module(m)
            )
    for plugin in extra:
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        module = plugin.__name__ if inspect.ismodule(plugin) else plugin.__module__
        label = f"{module}.{name}"
        if not {name, module, label} & off:
            if pm.has_plugin(label):
                label = f"{label}-{id(plugin):x}"
            _register(pm, label, module, lambda p=plugin: p)
    if entry_points:
        for ep in importlib.metadata.entry_points(group="esenas"):
            dist = ep.dist.name if ep.dist is not None else ep.name
            if ep.name in off or dist in off or ep.module in off:
                continue
            if pm.get_plugin(ep.name) is None and not pm.is_blocked(ep.name):
                _register(pm, ep.name, dist, ep.load)
                plugin = pm.get_plugin(ep.name)
                if plugin is not None and not pm.get_hookcallers(plugin):
                    warnings.warn(
                        f"entry point {ep.name!r} ({dist}: {ep.value}) registers nothing: it has"
                        " no @hookimpl function of a hook esenas defines"
                        " (docs/plugins.md, section 5)",
                        EsenasWarning,
                        stacklevel=2,
                    )
    while True:
        try:
            pm.check_pending()
            break
        except pluggy.PluginValidationError as exc:
            name = pm.get_name(exc.plugin) or repr(exc.plugin)
            pm.mark_broken(name, pm.source_of(exc.plugin), str(exc))
            pm.unregister(exc.plugin)
    refuse_wrappers(pm)
    return pm


def _register(pm: PluginManager, name: str, source: str, load: Any) -> None:
    """Load and register one plugin; a failure marks it broken instead of raising."""
    try:
        plugin = load()
    except Exception as exc:
        pm.mark_broken(name, source, f"cannot import: {one_line(exc)}")
        return
    try:
        pm.register(plugin, name=name)
    except Exception as exc:
        pm.mark_broken(name, source, one_line(exc))
        return
    pm.sources[name] = source


class Registries:
    """All registries plus the plugin manager (for lifecycle hooks).

    A plugin whose registration hook raises, or registers something that is not a plugin, is
    left out whole and recorded in ``broken``; a name registered by two plugins is held by
    neither (using it is an error naming both)."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm: Any = pm  # a PluginManager (sources, broken, disabled) or pluggy's own
        self.broken: list[BrokenPlugin] = list(getattr(pm, "broken", []))
        self.by_kind = {kind: Registry(kind, self.broken) for kind in KINDS}
        self.loggers: dict[str, Any] = {}  # name → check() returning None or why it cannot run
        self.logger_sources: dict[str, str] = {}
        for impl in _registration_impls(pm):
            self._register_plugin(impl)

    def _register_plugin(self, impls: list[tuple[str, Any]]) -> None:
        """Run one plugin's registration hooks; commit what it registered only if all succeed."""
        plugin = impls[0][1].plugin
        source = self.pm.source_of(plugin) if isinstance(self.pm, PluginManager) else "?"
        staged: list[tuple[str, Any]] = []
        try:
            for hook_name, impl in impls:
                kind = _KIND_OF_HOOK[hook_name]
                if kind == "logger":

                    def add(name: Any, check: Any = None) -> None:
                        if not isinstance(name, str) or not name:
                            raise PluginError(f"{source}: a logger name must be a non-empty string")
                        staged.append(("logger", (name, check)))

                    impl.function(register=add)
                else:
                    registry = self.by_kind[kind]
                    impl.function(
                        register=lambda cls, r=registry: staged.append(
                            (r.kind, r.check(cls, source, impls[0][1].plugin_name))
                        )
                    )
        except Exception as exc:
            self._broken(impls[0][1].plugin_name, source, one_line(exc))
            return
        if not staged:
            hooks = ", ".join(hook for hook, _ in impls)
            warnings.warn(
                f"plugin {impls[0][1].plugin_name!r} ({source}) registers nothing: its {hooks}"
                " never called register()",
                EsenasWarning,
                stacklevel=2,
            )
        for kind, item in staged:
            if kind == "logger":
                self._add_logger(*item, source=source)
            else:
                self._add_entry(item)

    def _add_entry(self, entry: Entry) -> None:
        registry = self.by_kind[entry.kind]
        if entry.name in registry.entries or entry.name in registry.conflicts:
            message = registry._duplicate(entry.name, entry)
            first = registry.entries.pop(entry.name, None)
            sources = registry.conflicts.setdefault(entry.name, [who(first)] if first else [])
            sources.append(who(entry))
            self._broken(entry.plugin or entry.name, entry.source, message)
        else:
            registry.entries[entry.name] = entry

    def _broken(self, name: str, source: str, reason: str) -> None:
        self.broken.append(BrokenPlugin(name, source, reason))

    def _add_logger(self, name: str, check: Any = None, *, source: str) -> None:
        if name in self.loggers:
            self._broken(
                name,
                source,
                f"logger {name!r} is registered twice (by {self.logger_sources[name]} and by"
                f" {source})",
            )
            return
        self.loggers[name] = _safe_check(check) if callable(check) else (lambda: None)
        self.logger_sources[name] = source

    def __getitem__(self, kind: str) -> Registry:
        return self.by_kind[kind]

    def options(self, kind: str, name: str, data: Mapping[str, Any]) -> Any:
        """Structure an options table for plugin ``name`` of ``kind`` (errors name both)."""
        entry = self.by_kind[kind].get(name)
        return structure(entry.cls.Options, data, f"[{kind}] {name}")

    def create(
        self, kind: str, name: str, options: Mapping[str, Any] | Any, *args: Any, where: str = ""
    ) -> Any:
        """Instantiate plugin ``name`` with an options table (or a ready Options instance).

        Whatever the constructor raises becomes one line naming the plugin (and ``where``, the
        config file): a ``ConfigError`` gets the ``[kind] name:`` prefix if it lacks one, any
        other exception becomes a ``PluginError`` with its type and where it was raised.
        """
        entry = self.by_kind[kind].get(name)
        if isinstance(options, Mapping):
            options = self.options(kind, name, options)
        return call_plugin(entry.cls, kind, name, where, options, *args, entry=entry)


def _safe_check(check: Any) -> Any:
    """A logger's ``check()`` whose exceptions become its reason for not running."""

    def safe() -> str | None:
        try:
            return check()
        except Exception as exc:
            return f"its check failed: {one_line(exc)}"

    return safe


_KIND_OF_HOOK = {hook: kind for kind, (hook, _) in KINDS.items()}
_KIND_OF_HOOK["esenas_register_loggers"] = "logger"


def _registration_impls(pm: pluggy.PluginManager) -> list[list[Any]]:
    """Each plugin's registration hook implementations, plugins in registration order."""
    by_plugin: dict[int, list[tuple[str, Any]]] = {}
    order = {id(p): i for i, (_, p) in enumerate(pm.list_name_plugin())}
    for hook_name in _KIND_OF_HOOK:
        for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
            by_plugin.setdefault(id(impl.plugin), []).append((hook_name, impl))
    return [by_plugin[k] for k in sorted(by_plugin, key=lambda k: order.get(k, 0))]


def _source_of(plugin_name: str) -> str:
    return "esenas" if plugin_name.startswith("esenas_plugins.") else plugin_name


@functools.cache
def get_registries() -> Registries:
    """The registries of this process (plugin manager built once, on first use). Each broken
    plugin is reported once, as an ``EsenasWarning``."""
    registries = Registries(get_plugin_manager())
    for broken in registries.broken:
        warnings.warn(
            f"{broken.describe()}; it is left out (turn it off with --disable-plugin"
            f" {broken.name} or {DISABLE_ENV}={broken.name})",
            EsenasWarning,
            stacklevel=2,
        )
    return registries
