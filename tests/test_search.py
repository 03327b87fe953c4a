"""esenas as a library (esenas_core.search): ask/tell equals the trainer's loop bit for bit,
save/load continues exactly, bad tells change nothing, stopping rules, objectives, studies."""

from __future__ import annotations

import math
from pathlib import Path

import attrs
import numpy as np
import pytest
from conftest import make_trainer, small_config, untimed

from esenas_core import Search, TellError, optimize, run_study
from esenas_core.api.errors import ConfigError, RunError
from esenas_core.api.plugins import Registries
from esenas_core.runs.config import build_config


def hybrid(**sections) -> dict:
    """A seconds-fast config on the synthetic ``hybrid`` task."""
    base = {
        "iterations": 5,
        "task": {"name": "hybrid", "obs_dim": 3, "act_dim": 2, "active": 3},
        "search_space": {"name": "edges", "edges": {"hidden": [4], "k": 10}},
        "es": {"num_perturbations": 8, "exact_evals": 2, "sigma": 0.1, "learning_rate": 0.05},
    }
    return small_config(**{**base, **sections})


def rows_of_train(registries: Registries, config: dict) -> list[dict]:
    trainer = make_trainer(registries, config)
    trainer.train()
    return untimed(trainer.history)


def ask_tell_rows(search: Search, returns: bool = False) -> list[dict]:
    rows = []
    while not search.done:
        asked = search.ask()
        results = search.evaluate(asked)
        told = [r.finished.reward if r.ok else math.nan for r in results] if returns else results
        row = search.tell(asked, told)
        if row is not None:
            rows.append(row)
    search.close()
    return untimed(rows)


@pytest.mark.parametrize(
    "config",
    [
        small_config(iterations=3),  # CartPole: observation statistics, env steps
        hybrid(es={"estimator": "forward_fd", "exact_evals": 3, "optimizer": "adam"}),
    ],
    ids=["cartpole", "hybrid-forward-fd"],
)
def test_ask_tell_equals_the_trainer_bit_for_bit(registries: Registries, config: dict) -> None:
    expected = rows_of_train(registries, config)
    assert ask_tell_rows(Search(config, registries=registries)) == expected


def test_telling_bare_returns_equals_telling_results(registries: Registries) -> None:
    """On a task whose episodes see no observations, returns alone carry everything."""
    config = hybrid()
    expected = ask_tell_rows(Search(config, registries=registries))
    assert ask_tell_rows(Search(config, registries=registries), returns=True) == expected


def test_asked_holds_what_the_workers_evaluate(registries: Registries) -> None:
    search = Search(hybrid(), registries=registries)
    asked = search.ask()
    assert search.ask() is asked  # asking again before the tell: the same requests
    es = search.config.es
    assert len(asked) == 2 * es.num_perturbations + es.exact_evals
    assert asked.signs.tolist() == [1, -1] * es.num_perturbations + [0] * es.exact_evals
    params = asked.parameters()
    theta = search.theta
    np.testing.assert_array_equal(params[-1], theta)  # exact evaluations at θ
    np.testing.assert_allclose(params[0] + params[1], 2 * theta, rtol=0, atol=1e-15)  # a pair
    assert not asked.genomes.flags.writeable
    actions = asked.policies()(np.ones((len(asked), 3)))
    assert actions.shape == (len(asked), 2)
    search.close()


def test_save_and_load_mid_run_continue_bit_for_bit(registries: Registries, tmp_path) -> None:
    config = small_config(iterations=4, controller={"name": "regularized_evolution"})
    whole = ask_tell_rows(Search(config, registries=registries))
    first = Search(config, registries=registries)
    for _ in range(2):
        first.tell(first.ask(), first.evaluate(first.ask()))
    first.ask()
    with pytest.raises(TellError, match="tell it first"):
        first.save(tmp_path / "saved")
    first.tell(first.ask(), first.evaluate(first.ask()))
    first.save(tmp_path / "saved")
    first.close()
    later = Search.load(tmp_path / "saved", registries=registries)
    assert later.iteration == 3
    assert untimed(first.rows) + ask_tell_rows(later) == whole


def _state(search: Search) -> tuple:
    s = search.trainer.state
    return (s.theta.tobytes(), s.iteration, s.episodes, repr(search.trainer.exp.controller.state()))


def test_a_bad_tell_is_one_line_and_changes_nothing(registries: Registries) -> None:
    config = hybrid(iterations=3)
    expected = ask_tell_rows(Search(config, registries=registries))
    search = Search(config, registries=registries)
    other = Search(config, registries=registries)
    with pytest.raises(TellError, match="call ask"):
        search.tell(other.ask(), [0.0])
    asked = search.ask()
    results = search.evaluate(asked)
    before = _state(search)
    bad_tells = {
        "5 results for": [0.0] * 5,
        "expected one result per request": "nope",
        "is a str": ["x"] * len(asked),
        "differ from": None,  # genomes changed below
        "indices are not": list(reversed(results)),
    }
    for message, told in bad_tells.items():
        target = asked
        if told is None:
            genomes = asked.genomes.copy()
            genomes[0] = 1 - genomes[0] if genomes.max() <= 1 else genomes[0]
            genomes[0, 0] = (genomes[0, 0] + 1) % max(2, int(genomes.max()) + 1)
            target, told = attrs.evolve(asked, genomes=genomes), results
        with pytest.raises(TellError, match=message) as info:
            search.tell(target, told)
        assert "\n" not in str(info.value)
        assert _state(search) == before
    rows = [search.tell(asked, results)]
    with pytest.raises(TellError, match="nothing is asked"):
        search.tell(asked, results)  # iteration 1 again
    while not search.done:
        a = search.ask()
        with pytest.raises(TellError, match=f"waits for iteration {a.iteration} "):
            search.tell(asked, results)  # an old iteration's results
        rows.append(search.tell(a, search.evaluate(a)))
    assert untimed(rows) == expected


def test_non_finite_returns_count_as_failures(registries: Registries) -> None:
    config = hybrid(iterations=1, es={"min_valid_fraction": 0.5})
    search = Search(config, registries=registries)
    asked = search.ask()
    returns = [r.finished.reward for r in search.evaluate(asked)]
    returns[0], returns[3], returns[5] = math.nan, math.inf, None
    row = search.tell(asked, returns)
    assert row is not None and row["failures"] == 3
    assert row["valid_units"] == search.config.es.num_perturbations - 3


def test_below_the_quorum_the_next_ask_is_the_retry(registries: Registries) -> None:
    config = hybrid(iterations=1, es={"max_retries": 1})
    search = Search(config, registries=registries)
    first = search.ask()
    assert search.tell(first, [None] * len(first)) is None
    retry = search.ask()
    assert (retry.iteration, retry.attempt) == (1, 1)
    assert not np.array_equal(retry.perturbation_seeds, first.perturbation_seeds)
    np.testing.assert_array_equal(retry.genomes, first.genomes)
    with pytest.raises(RunError, match="in each of 2 attempts"):
        search.tell(retry, [math.nan] * len(retry))


@pytest.mark.parametrize(
    ("stop", "rule"),
    [
        ({"episodes": 40}, "episodes"),
        ({"env_steps": 40}, "env_steps"),
        ({"target_score": -1e9}, "target_score"),
        ({"patience": 1}, "patience"),
        ({"wall_time_s": 1e-9}, "wall_time_s"),
    ],
)
def test_each_stopping_rule_ends_the_run(registries: Registries, stop: dict, rule: str) -> None:
    search = Search(hybrid(iterations=50, stop=stop), registries=registries)
    search.run()
    assert search.stopped_by is not None and search.stopped_by.startswith(rule)
    assert search.iteration < 50
    assert search.summary()["stopped_by"] == search.stopped_by
    with pytest.raises(RunError, match="stopped by"):
        search.ask()


def test_a_stopped_run_resumes_as_done_and_goes_on_when_the_rule_allows(
    registries: Registries, tmp_path: Path
) -> None:
    config = hybrid(iterations=20, stop={"episodes": 60})
    Search(config, run_dir=tmp_path / "run", registries=registries).run()
    assert (tmp_path / "run" / "final" / "weights.npz").exists()
    again = Search.resume(tmp_path / "run", registries=registries)
    assert again.done and again.stopped_by.startswith("episodes")
    loosened = build_config(config, registries).to_dict()
    loosened["stop"] = {"episodes": 10_000}
    wider = Search.resume(tmp_path / "run", loosened, registries=registries)
    assert not wider.done and wider.stopped_by is None
    wider.run()
    assert wider.iteration == 20 and wider.stopped_by is None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("episodes", -1),
        ("patience", -3),
        ("wall_time_s", -0.5),
        ("wall_time_s", math.inf),
        ("target_score", math.nan),
        ("env_steps", 1.5),
        ("patients", 3),
    ],
)
def test_a_bad_stopping_rule_is_one_line(registries: Registries, key: str, value) -> None:
    with pytest.raises(ConfigError, match=r"\[stop\]") as info:
        build_config(hybrid(stop={key: value}), registries)
    assert "\n" not in str(info.value)


def test_optimize_a_python_objective_over_a_hybrid_space(registries: Registries) -> None:
    dim = 6
    target = np.array([0.5, 0.0, -0.3, 0.0, 0.0, 0.8])
    config = {
        "iterations": 30,
        "task": {"name": "function", "obs_dim": dim, "act_dim": 1},
        "search_space": {"name": "edges", "hidden": [], "k": 3, "init_std": 0.0},
        "controller": {"name": "regularized_evolution"},
        "es": {"num_perturbations": 16, "sigma": 0.1, "learning_rate": 0.05, "obs_norm": False},
    }
    search = Search(config, registries=registries)
    mask = search.space.param_mask
    calls = []

    def sphere(architecture, theta):
        calls.append(1)
        return float(np.sum((theta[:dim] * mask(architecture)[:dim] - target) ** 2))

    best = search.optimize(sphere, direction="minimize")
    assert len(calls) == search.summary()["episodes"]
    chosen = np.flatnonzero(mask(best.architecture)[:dim])
    assert chosen.tolist() == [0, 2, 5]
    assert -best.score < 0.05 < float(np.sum(target**2))

    def batched(architectures, thetas):
        return [sphere(a, t) for a, t in zip(architectures, thetas, strict=True)]

    again = optimize(batched, config, batched=True, direction="minimize")
    assert untimed(again.rows) == untimed(search.rows)


def test_a_study_from_a_dict(registries: Registries, tmp_path: Path) -> None:
    spec = {
        "name": "lr",
        "seeds": [0, 1],
        "base": hybrid(iterations=2),
        "grid": {"es.learning_rate": [0.01, 0.05]},
    }
    results = run_study(spec, tmp_path / "study", log=lambda _: None)
    assert results.failed == ()
    assert len(results.runs) == 4
    assert {v["variant"] for v in results.variants} == {"learning_rate=0.01", "learning_rate=0.05"}
    assert isinstance(results.variant("learning_rate=0.05")["final_score_iqm"], float)
    assert all(isinstance(r["seed"], int) for r in results.runs)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ("no_such_module_here:f", "cannot import 'no_such_module_here'"),
        ("math:no_such_name", "has no callable 'no_such_name'"),
        ("math.sqrt", "'package.module:name'"),
    ],
)
def test_a_bad_function_path_is_one_line_before_anything_runs(
    registries: Registries, tmp_path: Path, function: str, message: str
) -> None:
    config = {"task": {"name": "function", "function": function}, "iterations": 1}
    with pytest.raises(ConfigError, match=message) as info:
        Search(config, run_dir=tmp_path / "run", registries=registries)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "run").exists()


def test_the_function_task_without_a_path_says_how_to_evaluate(registries: Registries) -> None:
    config = {"task": {"name": "function", "function": ""}, "iterations": 1}
    search = Search(config, registries=registries)
    asked = search.ask()
    results = search.evaluate(asked)
    assert not any(r.ok for r in results)
    assert "esenas_core.optimize" in (results[0].error or "")


def test_a_study_respects_stopping_rules(registries: Registries, tmp_path: Path) -> None:
    spec = {"name": "stop", "seeds": [0, 1], "base": hybrid(iterations=10, stop={"episodes": 40})}
    first = run_study(spec, tmp_path / "study", log=lambda _: None)
    per_iteration = 2 * 8 + 2
    assert [r["episodes"] for r in first.runs] == [3 * per_iteration] * 2  # 54 ≥ 40
    again = run_study(spec, tmp_path / "study", log=lambda _: None)
    assert repr(again.runs) == repr(first.runs)  # (NaN cells: compared as text)


def test_study_results_as_a_dataframe() -> None:
    from conftest import REPO

    from esenas_core import load_study_results

    results = load_study_results(REPO / "docs" / "studies" / "pendulum")
    frame = results.dataframe("runs")
    assert len(frame) == 50 and set(frame["variant"]) == {v["variant"] for v in results.variants}
    assert frame["final_score"].dtype.kind == "f"
    with pytest.raises(ConfigError, match="expected one of runs"):
        results.dataframe("nope")
