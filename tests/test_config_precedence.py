"""Config precedence: command line > study variant > study overrides > file, for every option of
every built-in plugin in both spellings (flat ``[kind] key`` and per plugin ``[kind.plugin] key``);
the same option in both spellings in one source is refused; an override of a plugin that does not
run is refused; variants that resolve to the same run are refused (issue 25 §1)."""

from __future__ import annotations

import itertools
import types
import typing
from pathlib import Path
from typing import Any

import attrs
import pytest
import tomli_w
from conftest import esenas

from esenas_core.api.errors import ConfigError
from esenas_core.api.options import config_fields
from esenas_core.api.plugins import KINDS, Registries, get_plugin_manager
from esenas_core.runs.config import Layer, build_config, load_config, override_layer
from esenas_core.studies.spec import load_study, plan

pytestmark = pytest.mark.slow  # subprocesses, worker pools, dask or MuJoCo: `make test` only

REGISTRIES = Registries(get_plugin_manager(entry_points=False))

CANDIDATES: dict[Any, list[Any]] = {
    bool: [True, False],
    int: [1, 2, 3, 5, 8, 40, 64, 1000],
    float: [0.25, 0.5, 0.75, 2.0],
    str: [
        "CartPole-v1", "Pendulum-v1", "tcp://127.0.0.1:8786", "a.pem", "b.pem", "tanh",
        "math:sqrt", "math:fabs",
    ],
    tuple: [[4], [6, 6], [3], ["tanh"], ["relu", "tanh"]],
    dict: [{}, {"a": 1}],
}


def _pool(tp: Any) -> list[Any]:
    """Candidate values for an option of type ``tp``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return list(args)
    if origin in (typing.Union, types.UnionType):
        return [v for arg in args for v in _pool(arg)]
    return CANDIDATES[origin or tp]


def _values(kind: str, name: str, field: attrs.Attribute) -> tuple[Any, Any]:
    """Two values of the option that the plugin accepts and that structure differently."""
    options_cls = REGISTRIES[kind].get(name).cls.Options
    pool = _pool(typing.get_type_hints(options_cls)[field.name])
    accepted: list[tuple[Any, Any]] = []
    for value in pool:
        try:
            structured = getattr(REGISTRIES.options(kind, name, {field.name: value}), field.name)
        except ConfigError:
            continue
        if all(structured != s for _, s in accepted):
            accepted.append((value, structured))
    assert len(accepted) >= 2, f"{kind}.{name}.{field.name}: no two valid values among {pool}"
    return accepted[0][0], accepted[1][0]


OPTIONS = [
    (kind, name, field)
    for kind in KINDS
    for name, entry in sorted(REGISTRIES[kind].entries.items())
    for field in attrs.fields(entry.cls.Options)
    if field.name in config_fields(entry.cls.Options)
]
SPELLINGS = ("flat", "per_plugin")


def _table(kind: str, name: str, key: str, value: Any, spelling: str) -> dict[str, Any]:
    inner = {key: value} if spelling == "flat" else {name: {key: value}}
    return {kind: {"name": name, **inner}}


def _dotted(kind: str, name: str, key: str, spelling: str) -> str:
    return f"{kind}.{key}" if spelling == "flat" else f"{kind}.{name}.{key}"


def _resolved(cfg: Any, kind: str, key: str) -> Any:
    return getattr(getattr(cfg, kind).options, key)


def _structured(kind: str, name: str, key: str, value: Any) -> Any:
    return getattr(REGISTRIES.options(kind, name, {key: value}), key)


def test_every_builtin_option_is_covered() -> None:
    assert len(OPTIONS) >= 50
    for kind in KINDS:
        assert any(k == kind for k, _, _ in OPTIONS), kind


@pytest.mark.parametrize(("kind", "name", "field"), OPTIONS, ids=lambda x: getattr(x, "name", x))
def test_precedence_of_every_option(kind: str, name: str, field: attrs.Attribute, tmp_path: Path):
    key = field.name
    low, high = _values(kind, name, field)
    want_low, want_high = (_structured(kind, name, key, v) for v in (low, high))
    for file_sp, top_sp in itertools.product(SPELLINGS, SPELLINGS):
        data = _table(kind, name, key, low, file_sp)
        alone = build_config(data, REGISTRIES, "file.toml")
        assert _resolved(alone, kind, key) == want_low, (file_sp, "file")
        # the command line (--set) beats the file
        path = tmp_path / "c.toml"
        path.write_text(tomli_w.dumps(data))
        text = f"{_dotted(kind, name, key, top_sp)}={_toml(high)}"
        cfg = load_config(path, [text], REGISTRIES)
        assert _resolved(cfg, kind, key) == want_high, (file_sp, top_sp, "--set")
        # a study variant beats the file, and the study's overrides
        variant = Layer("variant", _table(kind, name, key, high, top_sp))
        middle = Layer("overrides", _table(kind, name, key, low, file_sp))
        cfg = build_config(data, REGISTRIES, "file.toml", [middle, variant])
        assert _resolved(cfg, kind, key) == want_high, (file_sp, top_sp, "variant")
    if key == name:  # `ops.ops`: [kind] ops = … and [kind.ops] cannot both be written
        return
    # one source, both spellings: refused with one line naming both
    both = {kind: {"name": name, key: low, name: {key: high}}}
    for make in (
        lambda: build_config(both, REGISTRIES, "file.toml"),
        lambda: build_config({}, REGISTRIES, "file.toml", [Layer("variant 'v'", both)]),
        lambda: build_config(
            {},
            REGISTRIES,
            "file.toml",
            [override_layer([f"{kind}.name={name}", f"{kind}.{key}={_toml(low)}",
                             f"{kind}.{name}.{key}={_toml(high)}"])],
        ),
    ):  # fmt: skip
        with pytest.raises(ConfigError) as err:
            make()
        message = str(err.value)
        assert f"{kind}.{key} and {kind}.{name}.{key}" in message and "\n" not in message


def _toml(value: Any) -> str:
    if isinstance(value, dict):  # an inline table
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return tomli_w.dumps({"v": value}).partition("=")[2].strip()


def test_an_override_for_a_plugin_that_does_not_run_is_refused() -> None:
    data = {"search_space": {"name": "mask", "hidden": [16, 16]}}
    with pytest.raises(ConfigError, match=r"search_space\.edges\.hidden would not be used"):
        build_config(data, REGISTRIES, "f", [override_layer(["search_space.edges.hidden=[32]"])])
    # kept per-plugin options in the file are allowed, but still checked
    kept = {"search_space": {"name": "mask", "edges": {"hidden": [4]}}}
    assert build_config(kept, REGISTRIES, "f").search_space.name == "mask"
    with pytest.raises(ConfigError, match=r"\[search_space.edges\] \(kept"):
        build_config({"search_space": {"name": "mask", "edges": {"hiden": [4]}}}, REGISTRIES, "f")


@pytest.mark.parametrize("raw", ["[16,", "[1, 2", "{a = 1", '"open', "1,2"])
def test_an_unparseable_set_value_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        override_layer([f"search_space.hidden={raw}"])


def _study(tmp_path: Path, variants: dict[str, dict[str, Any]], base: dict[str, Any]) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(tomli_w.dumps({"name": "s", "seeds": [0, 1], "base": base,
                                   "variants": variants}))  # fmt: skip
    return path


BASE = {
    "iterations": 1,
    "task": {"name": "gym", "env_id": "CartPole-v1", "max_episode_steps": 20},
    "search_space": {"name": "edges", "hidden": [8], "k": 4},
    "backend": {"name": "serial"},
    "es": {"num_perturbations": 2, "exact_evals": 1},
}


def test_study_variants_override_a_flat_base_key(tmp_path: Path) -> None:
    study = load_study(_study(tmp_path, {
        "small": {"search_space.edges.hidden": [4]},
        "large": {"search_space.edges.hidden": [32]},
    }, BASE))  # fmt: skip
    runs = plan(study, tmp_path / "out", REGISTRIES)
    hidden = {p.variant.name: p.config.search_space.options.hidden for p in runs}
    assert hidden == {"small": (4,), "large": (32,)}


def test_variants_that_resolve_to_the_same_run_are_refused(tmp_path: Path) -> None:
    path = _study(tmp_path, {
        "a": {"search_space.hidden": [8]},  # the base's own value
        "b": {"search_space.edges.k": 4},  # the base's own value, other spelling
        "c": {"search_space.edges.k": 5},
    }, BASE)  # fmt: skip
    with pytest.raises(ConfigError, match=r"variants .a. and .b. resolve to the same run"):
        plan(load_study(path), tmp_path / "out", REGISTRIES)
    res = esenas("ablate", str(path), "--out", str(tmp_path / "out"), "--quiet")
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and "'a' and 'b'" in res.stderr
    assert not (tmp_path / "out" / "runs").exists()


@pytest.mark.slow
def test_the_command_line_wins_and_config_toml_shows_what_ran(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps({**BASE, "search_space": {"name": "mask", "hidden": [16, 16]}}))
    run_dir = tmp_path / "run"
    res = esenas("run", str(path), "--set", "search_space.mask.hidden=[32,32]",
                 "--run-dir", str(run_dir), "--quiet")  # fmt: skip
    assert res.returncode == 0, res.stderr
    ran = load_config(run_dir / "config.toml", [], REGISTRIES)
    assert ran.search_space.options.hidden == (32, 32)
    for bad in ("search_space.mask.hidden=[16,", "search_space.edges.hidden=[8]"):
        res = esenas("run", str(path), "--set", bad, "--run-dir", str(tmp_path / "x"))
        assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
        assert not (tmp_path / "x").exists()
