"""Run configuration: one TOML file → frozen attrs records, validated before anything runs.

Layout::

    name = "default"      # run name (default run directory: runs/<name>-<timestamp>)
    seed = 0
    iterations = 40

    [task]                 # one table per plugin kind; `name` picks the plugin,
    name = "gym"           # the other keys are that plugin's options
    env_id = "CartPole-v1"

    [controller]
    name = "regularized_evolution"
    [controller.random]    # options kept per plugin: used only when that plugin is selected
    [controller.regularized_evolution]
    population_size = 40

    [es]                   # the ES engine (esenas_core.engine.esconfig.ESConfig)
    sigma = 0.05

    [stop]                 # stopping rules (esenas_core.engine.stopping.StopConfig)
    patience = 20

Overrides use dotted keys with TOML values: ``--set es.sigma=0.1 --set controller.name=random``.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from esenas_core.api.errors import ConfigError, EsenasError, UnknownPluginError
from esenas_core.api.options import config_fields, did_you_mean, structure
from esenas_core.api.plugin_calls import one_line
from esenas_core.api.plugins import KINDS, Registries
from esenas_core.engine.esconfig import ESConfig
from esenas_core.engine.runconfig import PluginChoice, RunConfig
from esenas_core.engine.stopping import StopConfig

_ge0: Any = attrs.validators.ge(0)
_ge1 = attrs.validators.ge(1)


DEFAULT_PLUGINS = {
    "task": "gym",
    "search_space": "edges",
    "controller": "random",
    "backend": "serial",
    "estimator": "antithetic",
}
_TOP_KEYS = {
    "name": str,
    "seed": int,
    "iterations": int,
    "checkpoint_every": int,
    "loggers": list,
}


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; a missing file or bad TOML is a one-line ``ConfigError``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file (a TOML config is text)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


_BARE_WORD = re.compile(r"[^\[\]{}\"'=,]*")


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"es.sigma=0.1"`` → (["es", "sigma"], 0.1). Values are TOML; bare words are strings.

    A value that is not valid TOML is taken as a bare string only when it has none of TOML's
    brackets, quotes or commas: ``hidden=[16,`` is an error, not the string ``"[16,"``.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(
            f"--set {text!r}: expected KEY=VALUE with a dotted key, e.g. es.sigma=0.1"
        )
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError as exc:
        if not _BARE_WORD.fullmatch(raw):
            raise ConfigError(f"--set {text!r}: the value is not valid TOML ({exc})") from None
        value = raw
    return key.split("."), value


def set_dotted(data: dict[str, Any], key: str, value: Any, where: str) -> None:
    """Set ``data[a][b][c] = value`` for ``key = "a.b.c"`` (tables created as needed)."""
    path = key.split(".")
    if any(not part for part in path):
        raise ConfigError(f"{where}: {key!r} is not a dotted key")
    node = data
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{where}: {part!r} is not a table")
        node = child
    node[path[-1]] = value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """A copy of ``data`` with each ``KEY=VALUE`` override set (tables created as needed)."""
    out = copy.deepcopy(dict(data))
    for text in overrides:
        path, value = parse_override(text)
        set_dotted(out, ".".join(path), value, f"--set {text!r}")
    return out


@attrs.frozen
class Layer:
    """One source of config values: a file, a study's overrides or variant, the command line.

    ``build_config`` applies layers in order, a later one winning (docs/runs.md#precedence). An
    ``override`` layer may only set options of the plugin that runs: a value for another plugin
    would not be used, so it is refused rather than kept silently.
    """

    source: str
    data: Mapping[str, Any]
    override: bool = True


def override_layer(overrides: Iterable[str], source: str = "--set") -> Layer:
    """The command line's ``--set KEY=VALUE`` list as one layer (a key set twice: the last)."""
    return Layer(source, apply_overrides({}, overrides))


def build_config(
    data: Mapping[str, Any],
    registries: Registries,
    source: str = "config",
    overrides: Sequence[Layer] = (),
) -> RunConfig:
    """Validate a raw config dict, with ``overrides`` applied over it in order, into a
    ``RunConfig``; every error names the file (or layer), table and key."""
    layers = [
        _legacy_estimator(layer) for layer in (Layer(source, data, override=False), *overrides)
    ]
    sections = set(KINDS) | {"es", "stop"}
    top_data: dict[str, Any] = {}
    es_data: dict[str, Any] = {}
    stop_data: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.data.items():
            if key in _TOP_KEYS:
                top_data[key] = value
                continue
            if key not in sections:
                valid = sorted(set(_TOP_KEYS) | sections)
                raise ConfigError(
                    f"{layer.source}: unknown top-level key {key!r}{did_you_mean(key, valid)}"
                    f" (valid: {', '.join(valid)})"
                )
            if not isinstance(value, Mapping):
                raise ConfigError(f"{layer.source}: [{key}] must be a table, got {value!r}")
            if key == "es":
                es_data.update(value)
            elif key == "stop":
                stop_data.update(value)
    top = structure(_TopLevel, top_data, source)
    choices = {kind: _plugin_choice(kind, layers, registries) for kind in KINDS}
    es = structure(ESConfig, es_data, f"{source}: [es]")
    es = _estimator_es(choices["estimator"], es, registries, source)
    stop = structure(StopConfig, stop_data, f"{source}: [stop]")
    return RunConfig(
        name=top.name,
        seed=top.seed,
        iterations=top.iterations,
        checkpoint_every=top.checkpoint_every,
        es=es,
        loggers=_loggers(top.loggers, registries, source),
        stop=stop,
        source=source,
        **choices,
    )


def _legacy_estimator(layer: Layer) -> Layer:
    """``es.estimator`` (the spelling before estimators were plugins) as ``estimator.name``: a
    run's config.toml from then resolves to the same config, and a study reuses its runs."""
    es = layer.data.get("es")
    if not isinstance(es, Mapping) or "estimator" not in es:
        return layer
    data = dict(layer.data)
    es = dict(es)
    name = es.pop("estimator")
    table = data.get("estimator", {})
    if not isinstance(table, Mapping):
        return layer  # [estimator] is not a table: build_config says so
    if "name" in table and table["name"] != name:
        raise ConfigError(
            f"{layer.source}: es.estimator = {name!r} and estimator.name = {table['name']!r}"
            " disagree; es.estimator is the old spelling of estimator.name: keep one"
        )
    data["es"], data["estimator"] = es, {**table, "name": name}
    return attrs.evolve(layer, data=data)


def _estimator_es(
    choice: PluginChoice, es: ESConfig, registries: Registries, source: str
) -> ESConfig:
    """``es`` with the estimator's sampling (``members``, ``uses_baseline``); the estimator is
    built once here, so a combination it refuses is a ``ConfigError`` before anything runs."""
    cls = registries["estimator"].get(choice.name).cls
    es = es.for_estimator(cls)
    try:
        cls(choice.options, es)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: [estimator] {choice.name}: {exc}") from None
    except EsenasError:
        raise
    except Exception as exc:  # a plugin's bug, not the config's: still one line naming it
        raise ConfigError(
            f"{source}: [estimator] {choice.name} failed to start: {one_line(exc)}"
        ) from None
    return es


def _loggers(names: tuple[str, ...], registries: Registries, source: str) -> tuple[str, ...]:
    """Each name must be a registered logger whose requirements are installed."""
    for name in names:
        if name not in registries.loggers:
            known = ", ".join(sorted(registries.loggers)) or "none"
            raise ConfigError(
                f"{source}: loggers: unknown logger {name!r}"
                f"{did_you_mean(name, registries.loggers)} (registered: {known})"
            )
        problem = registries.loggers[name]()
        if problem:
            raise ConfigError(f"{source}: loggers: {name!r} {problem}")
    if len(set(names)) != len(names):
        raise ConfigError(f"{source}: loggers: a logger is listed twice: {list(names)}")
    return names


def _run_name(_inst: object, attr: attrs.Attribute, value: str) -> None:
    """A run name becomes a folder name (runs/<name>-<timestamp>): no paths, not empty."""
    if not value.strip() or "/" in value or "\\" in value or value in (".", "..") or "\0" in value:
        raise ValueError(
            f"{attr.name} must be a non-empty name without '/' or '\\' (it names the run's"
            f" folder), got {value!r}"
        )


@attrs.frozen
class _TopLevel:
    name: str = attrs.field(default="run", validator=_run_name)
    seed: int = attrs.field(default=0, validator=_ge0)
    iterations: int = attrs.field(default=20, validator=_ge1)
    checkpoint_every: int = attrs.field(default=10, validator=_ge0)
    loggers: tuple[str, ...] = ()


def _plugin_choice(kind: str, layers: Sequence[Layer], registries: Registries) -> PluginChoice:
    """The plugin of ``kind`` that runs and its options, from every layer (later ones win).

    In each layer an option may be flat (``[kind] key``: an option of whichever plugin runs) or
    per plugin (``[kind.plugin] key``); the same option in both spellings in one layer is refused.
    """
    registry = registries[kind]
    name, named_in = DEFAULT_PLUGINS[kind], layers[0].source
    for layer in layers:
        table = layer.data.get(kind, {})
        if "name" in table:
            name, named_in = table["name"], layer.source
    if not isinstance(name, str):
        raise ConfigError(f"{named_in}: [{kind}] name must be a string, got {name!r}")
    try:
        registry.get(name)
    except UnknownPluginError as exc:
        raise ConfigError(f"{named_in}: [{kind}] {exc}") from None
    options: dict[str, Any] = {}
    for layer in layers:
        table = layer.data.get(kind, {})
        per_plugin = {
            k: v for k, v in table.items() if k in registry.entries and isinstance(v, Mapping)
        }
        flat = {k: v for k, v in table.items() if k != "name" and k not in per_plugin}
        _hint_foreign_keys(kind, name, flat, registries, layer.source)
        own = dict(per_plugin.get(name, {}))
        both = sorted(set(flat) & set(own))
        if both:
            raise ConfigError(
                f"{layer.source}: {kind}.{both[0]} and {kind}.{name}.{both[0]} are the same"
                " option, given twice; keep one spelling"
            )
        for other, values in per_plugin.items():
            if other == name:
                continue
            if layer.override:
                key = next(iter(values), "")
                raise ConfigError(
                    f"{layer.source}: {kind}.{other}{'.' + key if key else ''} would not be used:"
                    f" the run's {kind} is {name!r}; set {kind}.name = {other!r} as well, or"
                    " drop it"
                )
            _check_kept(kind, other, values, registries, layer.source)
        options.update(own)
        options.update(flat)
    try:
        return PluginChoice(name, registries.options(kind, name, options))
    except ConfigError as exc:
        raise ConfigError(f"{layers[0].source}: {exc}") from None


def _check_kept(
    kind: str, name: str, values: Mapping[str, Any], registries: Registries, source: str
) -> None:
    """Options kept for a plugin that does not run now are still checked: a typo or a bad
    value there is an error today, not when someone switches to that plugin."""
    try:
        registries.options(kind, name, values)
    except ConfigError as exc:
        raise ConfigError(f"{source}: [{kind}.{name}] (kept, unused by this run): {exc}") from None


def _hint_foreign_keys(
    kind: str, name: str, flat: Mapping[str, Any], registries: Registries, source: str
) -> None:
    """A flat key that belongs to another plugin of this kind: say so, and how to keep it."""
    own = config_fields(registries[kind].get(name).cls.Options)
    for key, value in flat.items():
        if key in own:
            continue
        hint = did_you_mean(key, registries[kind].entries)
        if isinstance(value, Mapping) and hint:
            raise ConfigError(f"{source}: [{kind}.{key}] is not a registered {kind}{hint}")
        owners = [
            other
            for other, entry in registries[kind].entries.items()
            if other != name and key in config_fields(entry.cls.Options)
        ]
        if owners:
            raise ConfigError(
                f"{source}: [{kind}] {name}: {key!r} is an option of {owners[0]!r},"
                f" not of {name!r};"
                f" put it under [{kind}.{owners[0]}] to keep it while switching plugins"
            )


def config_differences(a: RunConfig, b: RunConfig, ignore: Iterable[str] = ()) -> list[str]:
    """Dotted keys whose values differ between two resolved configs."""

    def flat(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in d.items():
            key = f"{prefix}{k}"
            if isinstance(v, Mapping) and not (prefix and k == "env_kwargs"):
                out.update(flat(v, key + "."))
            else:
                out[key] = v
        return out

    fa, fb = flat(a.to_dict()), flat(b.to_dict())
    skip = set(ignore)
    return sorted(k for k in set(fa) | set(fb) if k not in skip and fa.get(k) != fb.get(k))


def load_config(path: str | Path, overrides: Iterable[str], registries: Registries) -> RunConfig:
    """Read a config file and validate it with the command line's ``--set`` list over it."""
    overrides = list(overrides)
    layers = [override_layer(overrides)] if overrides else []
    return build_config(read_toml(path), registries, str(path), layers)
