"""Config: strict structuring, overrides, per-plugin tables, resolved-config round trip."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from conftest import small_config

from esenas_core import ConfigError
from esenas_core.api.plugins import Registries
from esenas_core.runs.config import (
    apply_overrides,
    build_config,
    load_config,
    override_layer,
    parse_override,
)


def test_defaults_fill_every_option(registries: Registries) -> None:
    cfg = build_config(small_config(), registries)
    assert cfg.search_space.options.hidden == (8,)
    assert cfg.search_space.options.mode == "aggregate"
    assert cfg.es.fitness_shaping == "zscore"
    assert cfg.controller.options.population_size == 8


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"search_space": {"kk": 3}}, "[search_space] edges: unknown key 'kk' (did you mean 'k'?)"),
        ({"search_space": {"k": 2.5}}, "[search_space] edges.k: expected an integer, got 2.5"),
        ({"search_space": {"k": "3"}}, "[search_space] edges.k: expected an integer, got '3'"),
        ({"search_space": {"k": 0}}, "[search_space] edges: 'k' must be >= 1: 0"),
        ({"search_space": {"mode": "agregate"}}, "'agregate' is not one of 'aggregate'"),
        ({"search_space": {"hidden": [8, "x"]}}, "edges.hidden[1]: expected an integer"),
        ({"es": {"sigma": -1.0}}, "[es]: 'sigma' must be > 0.0: -1.0"),
        ({"es": {"obs_norm": 1}}, "[es].obs_norm: expected true or false, got 1"),
        ({"es": {"sigmaa": 1.0}}, "unknown key 'sigmaa' (did you mean 'sigma'?)"),
        ({"controller": {"name": "randm"}}, "unknown controller 'randm' (did you mean 'random'?)"),
        ({"controler": {}}, "unknown top-level key 'controler' (did you mean 'controller'?)"),
        ({"iterations": 0}, "'iterations' must be >= 1: 0"),
        ({"es": 3}, "[es] must be a table"),
        (
            {"controller": {"name": "regularized_evolution", "tournament_size": 50}},
            "tournament_size (50) must not exceed population_size (8)",
        ),
        (
            {"controller": {"name": "regularized_evolution", "regularised_evolution": {}}},
            "[controller.regularised_evolution] is not a registered controller"
            " (did you mean 'regularized_evolution'?)",
        ),
    ],
)
def test_bad_values_name_table_and_key(registries: Registries, section: dict, message: str) -> None:
    data = small_config(**section)
    with pytest.raises(ConfigError) as info:
        build_config(data, registries, source="cfg.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("cfg.toml")


def test_float_option_accepts_integer(registries: Registries) -> None:
    cfg = build_config(small_config(es={"sigma": 1}), registries)
    assert cfg.es.sigma == 1.0 and isinstance(cfg.es.sigma, float)


@pytest.mark.parametrize(
    ("text", "path", "value"),
    [
        ("es.sigma=0.1", ["es", "sigma"], 0.1),
        ("controller.name=random", ["controller", "name"], "random"),
        ("search_space.hidden=[4, 4]", ["search_space", "hidden"], [4, 4]),
        ("es.obs_norm=false", ["es", "obs_norm"], False),
        ('task.env_id="Pendulum-v1"', ["task", "env_id"], "Pendulum-v1"),
        ("seed = 7", ["seed"], 7),
    ],
)
def test_parse_override(text: str, path: list[str], value: object) -> None:
    assert parse_override(text) == (path, value)


@pytest.mark.parametrize("text", ["es.sigma", "=3", "es..sigma=1"])
def test_malformed_override(text: str) -> None:
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_override(text)


def test_override_through_a_value_is_an_error() -> None:
    with pytest.raises(ConfigError, match="'seed' is not a table"):
        apply_overrides({"seed": 1}, ["seed.x=2"])


def test_per_plugin_tables_follow_the_selected_plugin(registries: Registries) -> None:
    data = small_config(
        controller={
            "name": "regularized_evolution",
            "regularized_evolution": {"population_size": 12},
        }
    )
    assert build_config(data, registries).controller.options.population_size == 12
    switched = apply_overrides(data, ["controller.name=random"])
    cfg = build_config(switched, registries)
    assert cfg.controller.name == "random"
    # A flat key is an option of the selected plugin: an override in it beats the file's table;
    # both spellings in one source are refused (tests/test_config_precedence.py).
    layer = override_layer(["controller.population_size=20"])
    assert build_config(data, registries, "f", [layer]).controller.options.population_size == 20
    both = apply_overrides(data, ["controller.population_size=20"])
    with pytest.raises(ConfigError, match="given twice"):
        build_config(both, registries)


def test_flat_key_of_another_plugin_says_where_it_belongs(registries: Registries) -> None:
    data = small_config(controller={"name": "random", "population_size": 10})
    with pytest.raises(
        ConfigError,
        match=r"'population_size' is an option of 'regularized_evolution',"
        r" not of 'random'; put it under"
        r" \[controller.regularized_evolution\]",
    ):
        build_config(data, registries)


def test_resolved_config_round_trips(registries: Registries, tmp_path: Path) -> None:
    cfg = build_config(small_config(), registries)
    path = tmp_path / "resolved.toml"
    path.write_text(cfg.to_toml())
    again = load_config(path, [], registries)
    assert again == cfg
    assert tomllib.loads(cfg.to_toml())["search_space"]["k"] == 20


def test_missing_file_and_bad_toml(registries: Registries, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml", [], registries)
    bad = tmp_path / "bad.toml"
    bad.write_text("[es\nsigma = 1")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(bad, [], registries)


@pytest.mark.slow
def test_non_finite_numbers_are_refused(tmp_path) -> None:
    from conftest import esenas

    for value in ("inf", "-inf", "nan"):
        path = tmp_path / "c.toml"
        path.write_text(f'[task]\nenv_id = "CartPole-v1"\n[es]\nlearning_rate = {value}\n')
        res = esenas("run", str(path), "--run-dir", str(tmp_path / "r"))
        assert res.returncode == 2, res.stderr
        assert "[es].learning_rate: expected a finite number" in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


@pytest.mark.slow
def test_a_step_that_overflows_theta_stops_the_run_with_one_line(tmp_path) -> None:
    import tomli_w
    from conftest import esenas, small_config

    config = small_config(
        iterations=5, es={"learning_rate": 1e308, "optimizer": "sgd", "sigma": 0.1}
    )
    (tmp_path / "c.toml").write_text(tomli_w.dumps(config))
    res = esenas("run", str(tmp_path / "c.toml"), "--run-dir", str(tmp_path / "r"), "--quiet")
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert "non-finite" in res.stderr or "perturbations succeeded" in res.stderr


def test_an_episode_with_non_finite_observations_is_a_failed_rollout() -> None:
    import numpy as np

    from esenas_core.backends import EpisodeResult, RolloutResult

    good = EpisodeResult(1.0, 3, 3, np.zeros(2), np.ones(2))
    bad_mean = EpisodeResult(1.0, 3, 3, np.array([0.0, np.nan]), np.ones(2))
    bad_m2 = EpisodeResult(1.0, 3, 3, np.zeros(2), np.array([np.inf, 1.0]))
    assert RolloutResult(0, good).ok
    assert not RolloutResult(0, bad_mean).ok and not RolloutResult(0, bad_m2).ok
