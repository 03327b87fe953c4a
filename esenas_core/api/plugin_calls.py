"""Calling plugin code: whatever a plugin raises becomes one line naming the plugin."""

from __future__ import annotations

import os
from typing import Any

import pluggy

from esenas_core.api.errors import ConfigError, EsenasError, PluginError


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line, with where a non-esenas error was raised."""
    text = " ".join(str(exc).split()) or "(no message)"
    if isinstance(exc, EsenasError):
        return text
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        where = f" (at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno})"
        tb = tb.tb_next
    return f"{type(exc).__name__}: {text}{where}"


def call_hook(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> None:
    """Call every implementation of a lifecycle hook; one that raises stops the run with one
    line naming its plugin."""
    for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
        try:
            impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except EsenasError:
            raise
        except Exception as exc:
            source = pm.source_of(impl.plugin) if hasattr(pm, "source_of") else "?"
            raise PluginError(
                f"plugin {impl.plugin_name!r} ({source}): {hook_name} raised {one_line(exc)}"
            ) from None


def call_plugin(fn: Any, kind: str, name: str, where: str, *args: Any, entry: Any = None) -> Any:
    """``fn(*args)`` for plugin ``name`` of ``kind``: a ``ConfigError`` gets the config file and
    ``[kind] name:`` prefix if it lacks them; any other exception (but ``EsenasError`` and
    ``MemoryError``) becomes a one-line ``PluginError`` naming the plugin."""
    prefix = f"{where}: " if where else ""
    table = f"[{kind}] {name}"
    try:
        return fn(*args)
    except ConfigError as exc:
        text = str(exc)
        if not text.startswith((prefix or "[", "[")):
            text = f"{table}: {text}"
        if prefix and not text.startswith(prefix):
            text = prefix + text
        raise ConfigError(text) from None
    except (EsenasError, MemoryError):
        raise
    except Exception as exc:
        source = f" ({entry.source})" if entry is not None else ""
        what = "failed to start" if entry is not None else f"{getattr(fn, '__name__', fn)}()"
        raise PluginError(f"{prefix}{table}{source} {what}: {one_line(exc)}") from None
