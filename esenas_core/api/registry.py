"""What the plugin manager fills: the plugin kinds, one registry of name → class per kind (with
the checks a class must pass to be a plugin), and the plugins that could not be loaded.
esenas_core.api.plugins loads the plugins into these."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from esenas_core.api.errors import DuplicatePluginError, PluginError, UnknownPluginError
from esenas_core.api.estimator import Estimator
from esenas_core.api.interfaces import Backend, Controller, SearchSpace, Task
from esenas_core.api.options import did_you_mean
from esenas_core.api.plugin_rules import plugin_names, warn_old_controller, who

# kind → (hook name, base class)
KINDS: dict[str, tuple[str, type]] = {
    "search_space": ("esenas_register_search_spaces", SearchSpace),
    "controller": ("esenas_register_controllers", Controller),
    "backend": ("esenas_register_backends", Backend),
    "task": ("esenas_register_tasks", Task),
    "estimator": ("esenas_register_estimators", Estimator),
}


@attrs.frozen
class BrokenPlugin:
    """A plugin that could not be loaded or registered: it is left out and reported where it
    matters (``esenas plugins``, a config naming something it may provide)."""

    name: str  # module, entry-point or plugin-object name
    source: str  # distribution, "esenas" for the built-ins
    reason: str

    def describe(self) -> str:
        return f"plugin {self.name!r} ({self.source}) is broken: {self.reason}"


@attrs.frozen
class Entry:
    """One registered plugin class and where it came from."""

    kind: str
    name: str
    cls: type[Any]
    source: str  # distribution (package) name, e.g. "esenas" for the built-ins
    plugin: str = ""  # the plugin module (entry point or module name): --disable-plugin takes it


class Registry:
    """Name → plugin class for one kind."""

    def __init__(self, kind: str, broken: Sequence[BrokenPlugin] = ()) -> None:
        self.kind = kind
        self.entries: dict[str, Entry] = {}
        self.conflicts: dict[str, list[str]] = {}  # name → the sources that all registered it
        self.broken = broken  # plugins that failed to load: they may have provided a name

    def check(self, cls: type, source: str, plugin: str = "") -> Entry:
        """The entry for ``cls``, or ``PluginError`` saying why it cannot be a plugin."""
        base = KINDS[self.kind][1]
        name = getattr(cls, "name", None)
        if not isinstance(cls, type) or not issubclass(cls, base):
            raise PluginError(f"{source}: {cls!r} is not a subclass of esenas_core.{base.__name__}")
        if not isinstance(name, str) or not name:
            raise PluginError(f"{source}: {self.kind} class {cls.__name__} has no string `name`")
        options = getattr(cls, "Options", None)
        if not (isinstance(options, type) and attrs.has(options)):
            raise PluginError(f"{source}: {self.kind} {name!r}: Options must be an attrs class")
        if self.kind == "controller":
            warn_old_controller(cls, name, source)
        return Entry(self.kind, name, cls, source, plugin)

    def _duplicate(self, name: str, entry: Entry) -> str:
        others = self.conflicts.get(name) or [who(self.entries[name])]
        return (
            f"{self.kind} {name!r} is registered twice (by {', '.join(others)} and by"
            f" {who(entry)}); disable all but one with --disable-plugin"
            f" {' or --disable-plugin '.join(plugin_names([*others, who(entry)]))}"
        )

    def get(self, name: str) -> Entry:
        if name in self.conflicts:
            sources = self.conflicts[name]
            raise DuplicatePluginError(
                f"{self.kind} {name!r} is registered by {len(sources)} plugins"
                f" ({', '.join(sources)}); disable all but one with --disable-plugin"
                f" {' or --disable-plugin '.join(plugin_names(sources))}"
            )
        if name not in self.entries:
            known = ", ".join(sorted(self.entries)) or "none"
            broken = "".join(f"; {b.describe()}" for b in self.broken)
            raise UnknownPluginError(
                f"unknown {self.kind} {name!r}{did_you_mean(name, self.entries)}"
                f" (registered: {known}){broken}"
            )
        return self.entries[name]

    def names(self) -> list[str]:
        return sorted(self.entries)
