"""Estimators as plugins: configs name them (and the old ``es.estimator`` spelling still works),
bad options are one line, and every estimator runs, saves, loads, asks/tells, resumes and serves
studies like the default (the checker itself: tests/test_estimator_checker.py)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from conftest import make_trainer, small_config, untimed
from test_estimator_checker import NEW, PlainGradient

from esenas_core import Search
from esenas_core.api.errors import ConfigError, RunError
from esenas_core.api.plugins import Registries
from esenas_core.api.registry import Entry
from esenas_core.engine import noise as directions
from esenas_core.estimators import Sums, Update
from esenas_core.runs.config import build_config


def hybrid(estimator: str, **es: Any) -> dict:
    """A seconds-fast config on the synthetic ``hybrid`` task with ``estimator``."""
    es_table = {"num_perturbations": 8, "exact_evals": 2, "sigma": 0.1, **es}
    return small_config(
        iterations=4,
        task={"name": "hybrid", "obs_dim": 3, "act_dim": 2, "active": 3},
        search_space={"name": "edges", "edges": {"hidden": [4], "k": 10}},
        estimator={"name": estimator},
        es=es_table,
    )


# -- configs ------------------------------------------------------------------------------------


def test_the_old_es_estimator_spelling_resolves_to_the_same_config(registries) -> None:
    old = hybrid("antithetic")
    del old["estimator"]
    old["es"]["estimator"] = "forward_fd"
    new = hybrid("forward_fd")
    a, b = build_config(old, registries), build_config(new, registries)
    assert a.to_dict() == b.to_dict()
    assert a.estimator.name == "forward_fd" and a.es.members == 1 and a.es.uses_baseline
    assert "estimator" not in a.to_dict()["es"]
    old["estimator"] = {"name": "pgpe"}
    with pytest.raises(ConfigError, match=r"es\.estimator = 'forward_fd' and estimator\.name"):
        build_config(old, registries)


@pytest.mark.parametrize(
    ("estimator", "es", "options", "message"),
    [
        (
            "sep_cma",
            {"num_perturbations": 3},
            {},
            r"\[estimator\] sep_cma: .*too small.*at least 4",
        ),
        ("snes", {"num_perturbations": 1}, {}, r"\[estimator\] snes: .*at least 2"),
        ("ars", {}, {"top_b": 9}, r"\[estimator\] ars: top_b \(9\) must not exceed .*\(8\)"),
        ("pgpe", {}, {"center_learning_rate": -0.1}, r"center_learning_rate"),
        ("pgpe", {}, {"stdev_max_change": 1.5}, r"stdev_max_change"),
        ("snes", {}, {"sigma_learning_rate": -1.0}, r"sigma_learning_rate"),
        ("pgpe", {"optimizer": "adam"}, {}, r"es.optimizer = 'adam' is not used by .*'pgpe'"),
        ("sep_cma", {"sigma_decay": 0.9}, {}, r"es.sigma_decay = 0.9 is not used"),
        ("ars", {"top_k": 2}, {}, r"es.top_k = 2 is not used by estimator 'ars'"),
        ("nope", {}, {}, r"unknown estimator 'nope'.*registered: .*antithetic"),
    ],
)
def test_bad_estimator_settings_are_one_line(registries, estimator, es, options, message) -> None:
    data = hybrid(estimator, **es)
    data["estimator"].update(options)
    with pytest.raises(ConfigError, match=message) as info:
        build_config(data, registries)
    assert "\n" not in str(info.value)


# -- runs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NEW)
def test_ask_tell_equals_the_trainer_and_save_load_continues(registries, name, tmp_path) -> None:
    config = hybrid(name, **({"optimizer": "adam"} if name == "ars" else {}))
    trainer = make_trainer(registries, config)
    trainer.train()
    whole = untimed(trainer.history)
    first = Search(config, registries=registries)
    for _ in range(2):
        asked = first.ask()
        first.tell(asked, first.evaluate(asked))
    first.save(tmp_path / name)
    first.close()
    later = Search.load(tmp_path / name, registries=registries)
    rows = untimed(first.rows)
    while not later.done:
        asked = later.ask()
        rows.append(untimed([later.tell(asked, later.evaluate(asked))])[0])
    later.close()
    assert rows == whole
    np.testing.assert_array_equal(later.theta, trainer.theta)


@pytest.mark.parametrize("name", ["pgpe", "snes", "sep_cma"])
def test_asked_parameters_use_the_per_coordinate_scale(registries, name) -> None:
    search = Search(hybrid(name), registries=registries)
    for _ in range(2):  # σ has adapted: no longer the same in every coordinate
        asked = search.ask()
        search.tell(asked, search.evaluate(asked))
    asked = search.ask()
    estimator, state = search.trainer.exp.estimator, search.trainer.state.estimator
    scale = estimator.scale(state, search.config.es.sigma)
    assert np.ptp(scale) > 0
    eps = directions.direction(
        search.config.es.noise_spec, int(asked.perturbation_seeds[0]), scale.size
    )
    np.testing.assert_array_equal(asked.parameters()[0], search.theta + scale * eps)
    search.close()


class NaNState(PlainGradient):
    name = "_nan_state"

    def init_state(self, dim: int) -> dict[str, np.ndarray]:
        return {"trace": np.zeros(dim)}

    def check_state(self, state, dim):
        return {k: np.asarray(v) for k, v in state.items()}

    def update(self, theta, state, step: Update, sums: Sums):
        return theta + 0.0, {"trace": np.full(theta.size, math.nan)}, sums.linear


def test_a_non_finite_estimator_state_stops_the_run_naming_it(registries: Registries) -> None:
    registries["estimator"].entries["_nan_state"] = Entry("estimator", "_nan_state", NaNState, "t")
    trainer = make_trainer(registries, hybrid("_nan_state"))
    with pytest.raises(RunError, match=r"\[estimator\] _nan_state: its state 'trace' became non-f"):
        trainer.step()


def test_a_checkpoint_of_esenas_0_3_with_optimizer_keys_continues(registries, tmp_path) -> None:
    """Checkpoints written before estimators were plugins store Adam's moments as optimizer_*."""
    config = hybrid("antithetic", optimizer="adam")
    trainer = make_trainer(registries, config)
    trainer.train()
    first = Search(config, registries=registries)
    for _ in range(2):
        asked = first.ask()
        first.tell(asked, first.evaluate(asked))
    first.save(tmp_path / "old")
    first.close()
    arrays = tmp_path / "old" / "checkpoint" / "arrays.npz"
    with np.load(arrays, allow_pickle=False) as data:
        renamed = {k.replace("estimator_", "optimizer_"): data[k] for k in data.files}
    assert {"optimizer_m", "optimizer_v", "optimizer_t"} <= set(renamed)
    np.savez(arrays, **renamed)
    later = Search.load(tmp_path / "old", registries=registries)
    while not later.done:
        asked = later.ask()
        later.tell(asked, later.evaluate(asked))
    later.close()
    np.testing.assert_array_equal(later.theta, trainer.theta)
    for key, value in trainer.state.estimator.items():
        np.testing.assert_array_equal(later.trainer.state.estimator[key], value)


SPACES = {
    "edges": {"name": "edges", "edges": {"hidden": [4], "k": 10}},
    "partitions": {"name": "partitions", "partitions": {"hidden": [4], "num_partitions": 3}},
    "ops": {"name": "ops", "ops": {"hidden": [4], "k": 10}},
    "mask": {"name": "mask", "mask": {"hidden": [4]}},
    "dense": {"name": "dense", "dense": {"hidden": [4]}},
}


@pytest.mark.parametrize("space", list(SPACES))
@pytest.mark.parametrize("name", NEW)
def test_every_estimator_runs_with_every_search_space(registries, name: str, space: str) -> None:
    config = hybrid(name)
    config.update(iterations=2, search_space=SPACES[space])
    trainer = make_trainer(registries, config)
    trainer.train()
    assert trainer.iteration == 2 and np.all(np.isfinite(trainer.theta))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pgpe", "snes", "sep_cma"])
def test_per_coordinate_sigma_gives_the_same_bits_on_every_backend(registries, name) -> None:
    """The σ workers perturb with comes from their replica of the state: bitwise the serial
    run's on processes (several chunks per worker) and on dask (CartPole: episodes of different
    lengths, observation statistics)."""
    es = {"noise": "table", "noise_table_size": 2**16, "num_perturbations": 9, "exact_evals": 3}
    task = {"name": "gym", "env_id": "CartPole-v1", "max_episode_steps": 200}
    runs = []
    for backend in (
        {"name": "serial"},
        {"name": "processes", "workers": 2, "chunks_per_worker": 3},
        {"name": "dask", "workers": 2},
    ):
        data = small_config(iterations=4, backend=backend, es=es, task=task)
        data["estimator"] = {"name": name}
        trainer = make_trainer(registries, data)
        trainer.train()
        runs.append(trainer)
    for other in runs[1:]:
        assert untimed(other.history) == untimed(runs[0].history)
        np.testing.assert_array_equal(other.theta, runs[0].theta)
        for key, value in runs[0].state.estimator.items():
            np.testing.assert_array_equal(other.state.estimator[key], value)


class Crashes(PlainGradient):
    name = "_crashes"

    def __init__(self, options, es) -> None:
        raise KeyError("oops")


def test_an_estimator_that_crashes_on_start_is_one_line(registries: Registries) -> None:
    registries["estimator"].entries["_crashes"] = Entry("estimator", "_crashes", Crashes, "t")
    with pytest.raises(ConfigError, match=r"\[estimator\] _crashes failed to start: KeyError"):
        build_config(hybrid("_crashes"), registries)


def test_an_estimator_with_mutable_options_runs(registries: Registries) -> None:
    import attrs

    @attrs.define
    class MutableOptions:
        scale: float = 1.0

    class Mutable(PlainGradient):
        name = "_mutable"
        Options = MutableOptions

    registries["estimator"].entries["_mutable"] = Entry("estimator", "_mutable", Mutable, "t")
    trainer = make_trainer(registries, hybrid("_mutable"))
    trainer.train()
    assert trainer.iteration == 4


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pgpe", "sep_cma"])
def test_the_cli_runs_and_resumes_an_estimator_bit_for_bit(tmp_path, name: str) -> None:
    import csv

    import tomli_w
    from conftest import esenas

    data = hybrid(name)
    data.update(iterations=4, checkpoint_every=2)
    config = tmp_path / "run.toml"
    config.write_text(tomli_w.dumps(data))
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert esenas("run", str(config), "--run-dir", str(whole), "--quiet").returncode == 0
    out = esenas("run", str(config), "--run-dir", str(part), "--quiet", "--set", "iterations=2")
    assert out.returncode == 0, out.stderr
    out = esenas("run", "--resume", str(part), "--quiet", "--set", "iterations=4")
    assert out.returncode == 0, out.stderr

    def rows(run_dir):
        with open(run_dir / "metrics.csv", newline="") as fh:
            return untimed(csv.DictReader(fh))

    assert rows(part) == rows(whole)
    with np.load(part / "checkpoint" / "arrays.npz", allow_pickle=False) as npz:
        assert any(k.startswith("estimator_sigma") for k in npz.files)

    def theta(run_dir):
        with np.load(run_dir / "final" / "weights.npz", allow_pickle=False) as npz:
            return npz["theta"]

    np.testing.assert_array_equal(theta(part), theta(whole))
    bad = esenas("run", str(config), "--quiet", "--set", "es.optimizer=adam")
    assert bad.returncode == 2 and "is not used by estimator" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_a_study_compares_estimators(registries: Registries, tmp_path) -> None:
    from esenas_core import run_study

    base = hybrid("antithetic")
    base["iterations"] = 2
    spec = {
        "name": "estimators",
        "seeds": [0, 1],
        "base": base,
        "reference": ["antithetic"],
        "variants": {
            "antithetic": {},
            "pgpe": {"estimator.name": "pgpe"},
            "sep_cma": {"estimator.name": "sep_cma", "es.num_perturbations": 16},
        },
    }
    results = run_study(spec, tmp_path / "study", log=lambda _: None)
    assert results.failed == () and len(results.runs) == 6
    assert {v["variant"] for v in results.variants} == {"antithetic", "pgpe", "sep_cma"}
    log: list[str] = []
    again = run_study(spec, tmp_path / "study", log=log.append)  # every run reused
    assert "6 reused" in log[0], log[0]
    key = [(r["variant"], r["seed"], r["config_sha256"], r["final_score"]) for r in results.runs]
    assert [
        (r["variant"], r["seed"], r["config_sha256"], r["final_score"]) for r in again.runs
    ] == key


def test_a_hand_made_run_config_gets_the_estimator_s_sampling(registries: Registries) -> None:
    import attrs

    from esenas_core.engine.esconfig import ESConfig

    cfg = build_config(hybrid("forward_fd"), registries)
    plain = attrs.evolve(cfg, es=ESConfig(num_perturbations=8, exact_evals=2, sigma=0.1))
    assert plain.es.members == 2  # an ESConfig made by hand knows no estimator
    trainer = make_trainer(registries, plain)
    assert trainer.cfg.es.members == 1 and trainer.cfg.es.uses_baseline
    row = trainer.step()
    assert row["episodes"] == 8 + 2  # one rollout per direction, plus the exact evaluations
