"""Strict structuring of TOML tables into frozen attrs classes.

Unlike a lenient converter, a float is never truncated into an int and a string is never parsed
into a number: a mistyped value is an error that names the table and the key.

esenas keeps its own structurer rather than a cattrs converter: to give the same strictness and
one-line messages, a converter needs a hook per type, hooks for ``Literal`` and unions, and code
that walks its exception groups into one line — more code than this module, plus a dependency.
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from esenas_core.api.errors import ConfigError


def did_you_mean(name: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def coerce(tp: Any, value: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and normalize it (lists → tuples)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return coerce(option, value, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {value!r} does not match {_type_name(tp)}")
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item_type = args[0] if args else Any
        return tuple(coerce(item_type, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        if not -(2**63) <= value < 2**63:
            raise ConfigError(f"{where}: {value} does not fit in a 64-bit integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(value):  # TOML's inf and nan
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if tp is type(None):
        if value is not None:
            raise ConfigError(f"{where}: expected nothing, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported option type {_type_name(tp)}")


def config_fields(cls: type) -> dict[str, Any]:
    """The fields of the attrs class ``cls`` that are config keys (not one: ``init=False``, or
    ``metadata={"derived": True}``, a value the engine sets from other choices)."""
    return {f.name: f for f in attrs.fields(cls) if f.init and not f.metadata.get("derived")}


def structure(cls: type, data: Mapping[str, Any], where: str) -> Any:
    """Build the frozen attrs ``cls`` from ``data``; errors name ``where`` and the key."""
    attrs.resolve_types(cls)
    fields = config_fields(cls)
    for key in data:
        if key not in fields:
            valid = ", ".join(fields) or "none"
            raise ConfigError(
                f"{where}: unknown key {key!r}{did_you_mean(key, fields)} (valid keys: {valid})"
            )
    kwargs = {key: coerce(fields[key].type, value, f"{where}.{key}") for key, value in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def unstructure(obj: Any) -> dict[str, Any]:
    """A frozen attrs instance as a TOML-ready dict (tuples → lists)."""

    def plain(value: Any) -> Any:
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        return value

    keys = config_fields(type(obj))
    return {k: plain(v) for k, v in attrs.asdict(obj, recurse=False).items() if k in keys}
