"""Rules every plugin is held to when it registers, and how a conflict names its plugins."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from esenas_core.api.errors import EsenasWarning
from esenas_core.api.interfaces import Controller
from esenas_core.api.migration import CONTROLLER_METHODS


def refuse_wrappers(pm: Any) -> None:
    """esenas calls each hook implementation itself (so an error names its plugin), which runs
    no hook wrapper: a plugin with one (``wrapper=True`` / ``hookwrapper=True``) is left out as
    broken instead of being silently skipped."""
    for name, plugin in list(pm.list_name_plugin()):
        for caller in pm.get_hookcallers(plugin) or []:
            wrappers = [
                i
                for i in caller.get_hookimpls()
                if i.plugin is plugin and (i.hookwrapper or getattr(i, "wrapper", False))
            ]
            if wrappers:
                pm.mark_broken(
                    name,
                    pm.source_of(plugin),
                    f"{caller.name} is a hook wrapper (wrapper=True or hookwrapper=True); esenas"
                    " calls each implementation in turn and runs no wrappers: make it a plain"
                    " @hookimpl",
                )
                pm.unregister(plugin)
                break


def who(entry: Any) -> str:
    """``plugin-module (distribution)``: how a conflict names a registering plugin."""
    if entry.plugin and entry.plugin != entry.source:
        return f"{entry.plugin} ({entry.source})"
    return entry.source


def plugin_names(whos: Sequence[str]) -> list[str]:
    """The names --disable-plugin takes, from ``who`` labels."""
    return [w.split(" (")[0] for w in whos]


def warn_old_controller(cls: type, name: str, source: str) -> None:
    """A controller written for esenas 0.1 overrides the methods the base class now owns."""
    old = [m for m in CONTROLLER_METHODS if _overrides(cls, m)]
    new = [m for m in CONTROLLER_METHODS.values() if _overrides(cls, m)]
    if old and not new:
        renames = ", ".join(f"{m}() → {CONTROLLER_METHODS[m]}()" for m in old)
        warnings.warn(
            f"{source}: controller {name!r} overrides {', '.join(old)}, which the Controller base"
            f" class owns since esenas 0.3 (RNG, counters, JSON state); implement {renames}"
            " instead (docs/plugins.md, Porting a plugin)",
            EsenasWarning,
            stacklevel=2,
        )


def _overrides(cls: type, method: str) -> bool:
    return any(method in vars(k) for k in cls.__mro__ if k is not Controller and k is not object)
